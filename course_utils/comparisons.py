"""Conclusions computed from the run: where this run stands against the book, and between methods.

A lecture that compares its figure with a published one, or ranks two methods, prints
one of these lines instead of writing the conclusion in its prose: a student's own run, on
any machine and in fast mode, then says what *it* found. Every function returns a
sentence (a ``str``); accuracies are compared in points (hundredths).

Example::

    from course_utils import comparisons
    print(comparisons.against_seeds([0.6776, 0.6204, 0.6432, 0.7248], "F5"))
    # over 4 seeds: 0.6204 to 0.7248, mean 0.6665 ± 0.0393; the published 0.7380 (F5) lies
    # above all 4 seeds, 1.8 std above their mean
"""

import numpy as np
from scipy import stats

from course_utils import published


def _published(reference):
    """(value, label) of a published id or of a plain number."""
    if isinstance(reference, str):
        value = published.value(reference)
        if isinstance(value, tuple):
            raise ValueError(f"reference={reference!r}: a range ({value}); compare with a single figure")
        return float(value), f"the published {_number(value)} ({reference})"
    return float(reference), f"the published {_number(reference)}"


def _number(value):
    """A proportion with four decimals (0.7380), as published; anything else as it is."""
    return f"{float(value):.4f}" if abs(float(value)) <= 1 else f"{float(value):g}"


def _values(name, values):
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError(f"{name}={values!r}: expected one or more finite numbers") from None
    if array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError(f"{name}={values!r}: expected one or more finite numbers")
    return array


def against_published(measured, reference):
    """One figure of this run against a published one.

    Args:
        measured: this run's figure (an accuracy, say): a number, or an array-like whose
            first value is taken.
        reference: a published id (``"F1"``) of a single figure, not a range, or a number.

    Returns:
        A str: ``"0.8372 against the published 0.8396 (F1): 0.24 points below"``; the gap
        is in points (hundredths), or ``"equal to it"`` when under 0.005 points.

    Raises:
        ValueError: for a ``measured`` that is not a finite number, or a ``reference``
            whose published value is a range.

    Example:
        >>> from course_utils import comparisons
        >>> print(comparisons.against_published(0.8372, "F1"))
        0.8372 against the published 0.8396 (F1): 0.24 points below
        >>> print(comparisons.against_published(0.8372, 0.84))
        0.8372 against the published 0.8400: 0.28 points below
    """
    measured = float(_values("measured", measured)[0])
    value, label = _published(reference)
    gap = 100 * (measured - value)
    where = "equal to it" if abs(gap) < 0.005 else f"{abs(gap):.2f} points {'above' if gap > 0 else 'below'}"
    return f"{measured:.4f} against {label}: {where}"


def against_seeds(values, reference):
    """Where a published figure falls among this run's seeds.

    Args:
        values: this run's figure, one per seed (a list or array of finite numbers).
        reference: a published id (``"F5"``) of a single figure, or a number.

    Returns:
        A str: a sentence with the seeds' range, mean and std, and whether the published
        figure lies inside the range (and how many seeds fall below it), or above or
        below every seed (and by how many stds from their mean).

    Raises:
        ValueError: for ``values`` that are empty or not finite numbers, or a
            ``reference`` whose published value is a range.

    Example:
        >>> from course_utils import comparisons
        >>> print(comparisons.against_seeds([0.6776, 0.6204, 0.6432, 0.7248], "F5"))
        over 4 seeds: 0.6204 to 0.7248, mean 0.6665 ± 0.0393; the published 0.7380 (F5) lies above all 4 seeds, 1.8 std above their mean
    """
    values = _values("values", values)
    value, label = _published(reference)
    n, mean, std = len(values), values.mean(), values.std()
    head = f"over {n} seed{'s' if n > 1 else ''}: {values.min():.4f} to {values.max():.4f}, mean {mean:.4f} ± {std:.4f}"
    if values.min() <= value <= values.max():
        where = f"lies within the seeds' range ({(values < value).sum()} of {n} seeds below it)"
    else:
        side = "above" if value > values.max() else "below"
        where = f"lies {side} all {n} seeds"
        if std > 0:
            where += f", {abs(value - mean) / std:.1f} std {side} their mean"
    return f"{head}; {label} {where}"


def ahead(a, b, names=("A", "B")):
    """Which of two methods is ahead, by how much, against the spread of seeds.

    The runs are paired: ``a[i]`` and ``b[i]`` come from the same seed.

    Args:
        a: the figure (higher is better, an accuracy) of the first method, one per seed.
        b: the same figure of the second method, one per seed, as many as ``a``.
        names: what to call the two methods, a pair ``(name of a, name of b)``.

    Returns:
        A str, the differences in points (hundredths): with one seed, the difference and
        that one seed cannot tell it from noise; with more, the mean difference and
        whether it is larger than its spread over seeds, how many seeds put the leader
        ahead, and a two-sided sign test.

    Raises:
        ValueError: for values that are not finite numbers, or ``a`` and ``b`` of
            different lengths.

    Example:
        >>> from course_utils import comparisons
        >>> print(comparisons.ahead([0.852, 0.861, 0.847, 0.858], [0.838, 0.850, 0.839, 0.845],
        ...                         names=("BN", "plain")))
        BN ahead of plain by 1.15 points on average over 4 seeds, larger than the seed-to-seed spread of the difference (0.26 points); BN ahead in 4 of 4 seeds (sign test p = 0.12)
    """
    a, b = _values("a", a), _values("b", b)
    if len(a) != len(b):
        raise ValueError(f"a has {len(a)} values and b {len(b)}: pair them, one per seed")
    diff = 100 * (a - b)
    first, second = names if diff.mean() >= 0 else names[::-1]
    gap = abs(diff.mean())
    if len(a) == 1:
        return (f"{first} ahead of {second} by {gap:.2f} points from one seed: one seed cannot tell a "
                "difference from noise")
    wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
    if diff.mean() < 0:
        wins, losses = losses, wins
    spread = diff.std(ddof=1)
    p = stats.binomtest(wins, wins + losses).pvalue if wins + losses else 1.0
    verdict = "larger than" if gap > spread else "within"
    return (f"{first} ahead of {second} by {gap:.2f} points on average over {len(a)} seeds, "
            f"{verdict} the seed-to-seed spread of the difference ({spread:.2f} points); {first} ahead in "
            f"{wins} of {len(a)} seeds (sign test p = {p:.2g})")


def ranking(results, seed_std):
    """Methods ranked by one figure each, with the ties that the seed spread leaves.

    Args:
        results: ``{name: figure}``, one run each (higher is better).
        seed_std: the std of that figure over seeds, measured for one of the methods:
            two runs closer than twice that are not told apart.

    Returns:
        A str, one line: the methods best first, grouped (``≈``) where neighbours are
        within ``2 * seed_std`` of the best of their group, the groups joined by ``>``.

    Raises:
        ValueError: for empty ``results`` or a ``seed_std`` that is not a finite number.

    Example:
        >>> from course_utils import comparisons
        >>> print(comparisons.ranking({"SGD": 0.8612, "Nadam": 0.8874, "RMSprop": 0.8851}, seed_std=0.002))
        Nadam 0.8874 ≈ RMSprop 0.8851 > SGD 0.8612  (≈: within twice the seed std, 0.0020, of the group's best: not told apart by this run)
    """
    if not results:
        raise ValueError("results={}: expected at least one method")
    seed_std = float(_values("seed_std", seed_std)[0])
    order = sorted(results, key=lambda name: -float(results[name]))
    groups, top = [[order[0]]], float(results[order[0]])
    for name in order[1:]:
        if top - float(results[name]) <= 2 * seed_std:
            groups[-1].append(name)
        else:
            groups.append([name])
            top = float(results[name])
    parts = [" ≈ ".join(f"{name} {float(results[name]):.4f}" for name in group) for group in groups]
    return (f"{' > '.join(parts)}  (≈: within twice the seed std, {seed_std:.4f}, of the group's best: "
            "not told apart by this run)")
