import numpy as np
import pytest

from course_utils.answers import is_plain, plain


class Anything(int):
    """The answer that claims to equal every number (a fake pass of ``answer == expected``)."""

    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def test_plain_values_pass_through_as_python_types():
    assert plain(401_408, int) == 401_408 and type(plain(np.int64(7), int)) is int
    assert plain(np.float32(0.5), float) == 0.5 and type(plain(3, float)) is float
    assert plain("MLP", str) == "MLP"


@pytest.mark.parametrize("value, kind, named", [(Anything(5), int, "Anything"), (True, int, "bool"),
                                                 (1.0, int, "float"), (np.array(3), int, "ndarray"),
                                                 ("0.5", float, "str")])
def test_anything_else_fails_the_test_naming_its_type(value, kind, named):
    assert Anything(5) == 6, "the object this guards against"
    with pytest.raises(AssertionError, match=f"got {named}$"):
        plain(value, kind)
    assert not is_plain(value, kind)


def test_an_unknown_kind_is_named():
    with pytest.raises(ValueError, match="kind=<class 'list'>"):
        plain([1], list)
    with pytest.raises(ValueError, match="kind=<class 'list'>"):
        is_plain([1], list)
