"""The one check of the helpers' whole-number arguments (epochs, steps, batch sizes, counts).

A count a student computes with NumPy (``len(x) // 32`` on an array's shape, ``np.int64``)
is as good as a Python ``int``; ``True`` is not a count, nor is ``2.0``.
"""

import numbers


def whole_number(name, value, *, low=1, high=None, odd=False, why=""):
    """``value`` as a Python ``int``, if it is an integer from ``low`` to ``high`` (odd, if asked).

    Args:
        name: the argument's name, for the error message.
        value: what the caller passed: an ``int`` or a NumPy integer (not a ``bool``).
        low: the smallest value allowed.
        high: the largest value allowed, or None for no bound.
        odd: whether the value must be odd.
        why: a few words said after the expectation in the error, e.g. what the value is for.

    Returns:
        ``int(value)``.

    Raises:
        ValueError: naming the argument and its value, and saying what was expected.

    Example:
        >>> whole_number("epochs", numpy.int64(3))
        3
        >>> whole_number("epochs", 0)
        Traceback (most recent call last):
        ValueError: epochs=0: expected a positive integer.
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok:
        value = int(value)
        ok = value >= low and (high is None or value <= high) and (not odd or value % 2 == 1)
    if ok:
        return value
    if odd:
        expected = "an odd positive integer" if low == 1 else f"an odd integer of at least {low}"
    elif high is not None:
        expected = f"an integer from {low} to {high}"
    else:
        expected = "a positive integer" if low == 1 else f"an integer of at least {low}"
    raise ValueError(f"{name}={value!r}: expected {expected}{f' ({why})' if why else ''}.")
