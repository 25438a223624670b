"""Is a student's run on track? What the course's own solutions reach, next to the reference's.

The reference's figures (``course_utils.published``) were measured on the real CIFAR-10 at
full size; a run on the offline stand-in, or in fast mode, lands elsewhere, and a student
cannot tell a bug from a different data set. Each exercise's full run therefore prints its
figure next to the range the course's solution reached on the same data in the same mode,
over several seeds, measured by ``benchmarks/exercise_spread.py`` (the table below is its
output), and next to the reference's.

Example::

    from course_utils import on_track
    print(on_track.line("ex02 val_accuracy", 0.5123))
    # ex02 val_accuracy 0.5123; the course's solution on the stand-in, fast mode: 0.1802-0.2011 (3 seeds); ...
"""

from dataclasses import dataclass

from course_utils import datasets, fast, published


@dataclass(frozen=True)
class Spread:
    """What the course's solution reached for one figure, over seeds.

    Args:
        figure: the figure's name, ``"<exercise> <quantity>"`` (``"ex02 val_accuracy"``).
        data: ``"stand-in"`` or ``"CIFAR-10"``.
        fast: whether measured in fast mode (``COURSE_FAST=1``).
        low, high: the smallest and largest value over the seeds.
        seeds: the seeds run.
        measured: when and where (``"2026-12-02, 2 CPU cores"``).
    """
    figure: str
    data: str
    fast: bool
    low: float
    high: float
    seeds: tuple
    measured: str


#: The reference's figure behind each exercise's figure (``course_utils.published`` ids).
REFERENCE = {"ex01 val_accuracy": "C2", "ex02 val_accuracy": "C3", "ex03 val_accuracy": "C4",
             "ex04 val_accuracy": "C5", "ex04 mc_accuracy": "C5 MC", "ex05 val_accuracy": "C6"}

MEASURED = "2026-12-02, 2 CPU cores, benchmarks/exercise_spread.py"
#: The measured spreads (``benchmarks/exercise_spread.py``'s output).
SPREADS = [
    # Fast mode on the stand-in: the runs CI and the grader make.
    Spread('ex01 val_accuracy', 'stand-in', True, 0.4620, 0.4810, (0, 1, 2), MEASURED),  # 0.4620, 0.4740, 0.4810; 2026-12-02
    Spread('ex02 val_accuracy', 'stand-in', True, 0.5352, 0.5712, (0, 1, 2), MEASURED),  # 0.5712, 0.5520, 0.5352; 2026-12-02
    Spread('ex03 val_accuracy', 'stand-in', True, 0.5082, 0.5234, (0, 1, 2), MEASURED),  # 0.5178, 0.5082, 0.5234; 2026-12-02
    Spread('ex04 val_accuracy', 'stand-in', True, 0.5176, 0.5676, (0, 1, 2), MEASURED),  # 0.5176, 0.5516, 0.5676; 2026-12-02
    Spread('ex04 mc_accuracy', 'stand-in', True, 0.5176, 0.5664, (0, 1, 2), MEASURED),  # 0.5176, 0.5502, 0.5664; 2026-12-02
    Spread('ex05 val_accuracy', 'stand-in', True, 0.5132, 0.5222, (0, 1, 2), MEASURED),  # 0.5132, 0.5222, 0.5186; 2026-12-02
    # Full size on the stand-in: a student's run offline.
    Spread('ex01 val_accuracy', 'stand-in', False, 0.7516, 0.7982, (0, 1, 2), MEASURED),  # 0.7788, 0.7982, 0.7516; 2026-12-03
    Spread('ex02 val_accuracy', 'stand-in', False, 0.7796, 0.8050, (0, 1, 2), MEASURED),  # 0.8048, 0.7796, 0.8050; 2026-12-03
    Spread('ex03 val_accuracy', 'stand-in', False, 0.8396, 0.8492, (0, 1, 2), MEASURED),  # 0.8396, 0.8492, 0.8470; 2026-12-03
    Spread('ex05 val_accuracy', 'stand-in', False, 0.8360, 0.8496, (0, 1, 2), MEASURED),  # 0.8496, 0.8370, 0.8360; 2026-12-02
    Spread('ex04 val_accuracy', 'stand-in', False, 0.8384, 0.8522, (0, 1, 2), MEASURED),  # 0.8516, 0.8522, 0.8384; 2026-12-02
    Spread('ex04 mc_accuracy', 'stand-in', False, 0.8378, 0.8516, (0, 1, 2), MEASURED),  # 0.8502, 0.8516, 0.8378; 2026-12-02
]


def spread(figure, data, is_fast):
    """The :class:`Spread` of ``figure`` on ``data`` in that mode, or None if not measured.

    Raises:
        ValueError: for a figure no exercise prints.
    """
    if figure not in REFERENCE:
        raise ValueError(f"figure={figure!r}: expected one of {', '.join(map(repr, REFERENCE))}")
    return next((s for s in SPREADS if (s.figure, s.data, s.fast) == (figure, data, is_fast)), None)


def line(figure, value, *, data=None, is_fast=None):
    """One line: ``value`` of ``figure``, the course's solution's range on the same data in
    the same mode (or that it has not been measured there), and the reference's figure.

    Args:
        figure: a key of :data:`REFERENCE`, ``"<exercise> <quantity>"`` (``"ex02 val_accuracy"``).
        value: the run's figure, a number.
        data: ``"stand-in"`` or ``"CIFAR-10"`` (keyword only); by default the data the last
            ``datasets.load_cifar10()`` returned (the stand-in before any load).
        is_fast: the mode, a bool (keyword only); by default the current one
            (``fast.is_fast()``).

    Returns:
        A str: ``value`` to four decimals; the course's solution's range over its seeds on
        that data in that mode and whether ``value`` is within, below or above it (or that
        it has not been measured there yet); and the reference's published figure.

    Raises:
        ValueError: for a ``figure`` no exercise prints, or another ``data``.

    Example:
        >>> from course_utils import on_track
        >>> print(on_track.line("ex02 val_accuracy", 0.55, data="stand-in", is_fast=True))
        ex02 val_accuracy 0.5500; the course's solution on the stand-in, fast mode: 0.5352-0.5712 over 3 seeds (within); the reference, on the real CIFAR-10 at full size: 0.5398
    """
    if data is None:
        source = datasets.last_source("cifar10")
        data = "CIFAR-10" if source is not None and source.real else "stand-in"
    if data not in ("stand-in", "CIFAR-10"):
        raise ValueError(f"data={data!r}: expected 'stand-in' or 'CIFAR-10'")
    is_fast = fast.is_fast() if is_fast is None else is_fast
    where = f"on the {data}, {'fast mode' if is_fast else 'full size'}"
    found = spread(figure, data, is_fast)
    if found is None:
        course = f"the course's solution has not been measured {where} yet"
    else:
        verdict = "within" if found.low <= value <= found.high else ("below" if value < found.low else "above")
        course = (f"the course's solution {where}: {found.low:.4f}-{found.high:.4f} over {len(found.seeds)} seeds "
                  f"({verdict})")
    reference = published.figure(REFERENCE[figure])
    return f"{figure} {value:.4f}; {course}; the reference, on the real CIFAR-10 at full size: {reference.value}"
