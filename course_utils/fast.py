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
    """Whether the environment asks for fast mode (``COURSE_FAST=1``; see
    :func:`course_utils.switches.switch` for the values it takes).

    Returns:
        A bool: True when ``COURSE_FAST`` is on, False when it is off or unset.

    Raises:
        ValueError: ``COURSE_FAST`` holds something that is neither on nor off.

    Example:
        >>> from course_utils import fast
        >>> fast.is_fast()  # with COURSE_FAST unset
        False
    """
    return switch(ENV_VAR)


def epochs(n, *, fast=1):
    """Number of epochs: ``n``, or ``min(n, fast)`` in fast mode.

    Args:
        n: the real number of epochs, a positive integer (an ``int`` or a NumPy integer).
        fast: the most epochs in fast mode, a positive integer (keyword only).

    Returns:
        An ``int``: ``n`` outside fast mode, ``min(n, fast)`` in it.

    Raises:
        ValueError: ``n`` or ``fast`` not a positive integer.

    Example:
        >>> from course_utils import fast
        >>> fast.epochs(30)  # 1 with COURSE_FAST=1
        30
        >>> history = model.fit(X_train, y_train, epochs=fast.epochs(30, fast=2))
    """
    n, fast = whole_number("n", n), whole_number("fast", fast)
    return min(n, fast) if is_fast() else n


def subset(*arrays, fast=2_000):
    """The arrays unchanged, or their first ``fast`` rows each in fast mode.

    The datasets come shuffled, so the first rows keep every class.

    Args:
        *arrays: one or more arrays (anything with ``len`` and slicing), all of the same
            length.
        fast: how many rows to keep of each in fast mode, a positive integer (keyword only).

    Returns:
        A single array when given one, else a tuple of them, so it unpacks like its input:
        the arrays themselves outside fast mode, ``a[:fast]`` of each in it.

    Raises:
        ValueError: no arrays, arrays of different lengths, or ``fast`` not a positive
            integer.

    Example:
        from course_utils import fast
        X_train, y_train = fast.subset(X_train, y_train, fast=2_000)
        X_test = fast.subset(X_test, fast=500)
    """
    if not arrays:
        raise ValueError("subset() needs at least one array.")
    fast = whole_number("fast", fast)
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"subset(): arrays have different lengths {sorted(lengths)}.")
    out = tuple(a[:fast] for a in arrays) if is_fast() else arrays
    return out[0] if len(out) == 1 else out


