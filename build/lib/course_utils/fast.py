"""Fast mode: one small, explicit API that shrinks training when ``COURSE_FAST=1``.

CI executes every notebook; on two CPU cores the full experiments would take hours.
Notebooks therefore write the *real* values and wrap them, so a reader sees what the
experiment is, and CI runs a smaller version of the same cell::

    from course_utils import fast
    X_train, y_train = fast.subset(X_train, y_train, fast=2_000)
    model.fit(X_train, y_train, epochs=fast.epochs(30))

Outside fast mode both calls return their input unchanged. Fast mode only ever makes a
cell cheaper: the model, the optimizer and what the cell demonstrates stay the same.
"""

from course_utils.arguments import whole_number
from course_utils.switches import switch

ENV_VAR = "COURSE_FAST"


def is_fast():
    """True when the environment asks for fast mode (``COURSE_FAST=1``; see
    :func:`course_utils.switches.switch` for the values it takes)."""
    return switch(ENV_VAR)


def epochs(n, *, fast=1):
    """Number of epochs: ``n``, or ``min(n, fast)`` in fast mode."""
    n, fast = whole_number("n", n), whole_number("fast", fast)
    return min(n, fast) if is_fast() else n


def subset(*arrays, fast=2_000):
    """The arrays unchanged, or their first ``fast`` rows each in fast mode.

    Returns a single array when given one, else a tuple, so it unpacks like its input.
    The datasets come shuffled, so the first rows keep every class.
    """
    if not arrays:
        raise ValueError("subset() needs at least one array.")
    fast = whole_number("fast", fast)
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"subset(): arrays have different lengths {sorted(lengths)}.")
    out = tuple(a[:fast] for a in arrays) if is_fast() else arrays
    return out[0] if len(out) == 1 else out


