"""A student's answer read as a plain value of the type asked for, before a test compares it.

``assert answer == 401_408`` asks the answer whether it equals 401,408, and an object can say
yes to everything: ``class Anything(int): __eq__ = lambda self, other: True`` passes every
such test, and ``isinstance(answer, int)`` as well. The exercises' tests therefore compare
``plain(answer, int)``: the answer itself when its type is exactly one of the plain types
that stand for ``int`` (Python's, or one of NumPy's integer types, which compare by value),
converted to Python's, and a failed test naming the type otherwise.

Example::

    from course_utils.answers import plain
    assert plain(dense_macs(784, 512), int) == 401_408
    plain(True, int)   # AssertionError: expected an int, got bool
    is_plain(True, int)  # False
"""

import numpy as np

_INTEGERS = (int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)
#: The types that stand for each kind of answer: their values compare as numbers (or text) do.
KINDS = {int: _INTEGERS, float: (float, np.float16, np.float32, np.float64, *_INTEGERS), str: (str,)}


def is_plain(value, kind):
    """Whether ``type(value)`` is exactly one of the plain types of ``kind`` (see :func:`plain`).

    Args:
        value: the student's answer.
        kind: ``int``, ``float`` (where an integer is a float too) or ``str``.

    Returns:
        A bool: True when ``type(value)`` is exactly one of the types in ``KINDS[kind]``
        (a subclass is not, nor is ``bool`` an int).

    Raises:
        ValueError: for a ``kind`` other than those three.

    Example:
        >>> is_plain(3, int)
        True
        >>> is_plain(True, int)
        False
        >>> is_plain(3, float)
        True
    """
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r}: expected one of {', '.join(k.__name__ for k in KINDS)}")
    return type(value) in KINDS[kind]


def plain(value, kind):
    """``value`` as a plain ``kind``, or a failed test saying what it is instead.

    Args:
        value: the student's answer.
        kind: ``int``, ``float`` (where an integer is a float too) or ``str``.

    Returns:
        ``kind(value)``: a Python ``int``, ``float`` or ``str``.

    Raises:
        AssertionError: when ``type(value)`` is not exactly one of the plain types of ``kind``
            (a subclass, which may compare in its own way, is not; nor is ``bool`` an int).
        ValueError: for a ``kind`` other than those three.

    Example:
        >>> import numpy as np
        >>> plain(np.int64(401_408), int)
        401408
        >>> assert plain(784 * 512, int) == 401_408
        >>> plain(True, int)
        Traceback (most recent call last):
        AssertionError: expected an int, got bool
    """
    if not is_plain(value, kind):
        raise AssertionError(f"expected {'an' if kind is int else 'a'} {kind.__name__}, got {type(value).__name__}")
    return kind(value)
