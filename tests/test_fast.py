import numpy as np
import pytest

from course_utils import fast


@pytest.fixture(params=["0", "1"])
def mode(request, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", request.param)
    return request.param == "1"


def test_epochs_shrink_only_in_fast_mode(mode):
    assert fast.is_fast() is mode
    assert fast.epochs(30) == (1 if mode else 30)
    assert fast.epochs(30, fast=3) == (3 if mode else 30)
    assert fast.epochs(2, fast=5) == 2  # never more than asked for


def test_subset_takes_first_rows_in_fast_mode(mode):
    x, y = np.arange(100).reshape(50, 2), np.arange(50)
    xs, ys = fast.subset(x, y, fast=10)
    expected = 10 if mode else 50
    assert len(xs) == len(ys) == expected
    np.testing.assert_array_equal(xs, x[:expected])
    np.testing.assert_array_equal(ys, y[:expected])
    assert len(fast.subset(x, fast=10)) == expected  # one array in, one array out


def test_fast_mode_unset_is_full(monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    assert not fast.is_fast()


@pytest.mark.parametrize("call, message", [
    (lambda: fast.epochs(0), "n=0"),
    (lambda: fast.epochs(5, fast=-1), "fast=-1"),
    (lambda: fast.epochs(2.5), "n=2.5"),
    (lambda: fast.subset(), "at least one array"),
    (lambda: fast.subset(np.zeros(3), np.zeros(4)), "different lengths"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_environment_value_is_named(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="COURSE_FAST='maybe'"):
        fast.is_fast()
