"""The helpers' one check of whole-number arguments: NumPy integers are counts, booleans and
floats are not, and the error names the argument and its value."""

import json

import numpy as np
import pytest

from course_utils import fast, mc_dropout, schedules
from course_utils.arguments import whole_number


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_numpy_integers_are_counts(value):
    out = whole_number("epochs", value)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value, message", [
    (0, "epochs=0: expected a positive integer."),
    (True, "epochs=True: expected a positive integer."),
    (2.0, "epochs=2.0: expected a positive integer."),
    ("3", "epochs='3': expected a positive integer."),
    (np.int64(-1), "epochs=-1: expected a positive integer."),
])
def test_what_is_not_a_count_is_named(value, message):
    with pytest.raises(ValueError) as raised:
        whole_number("epochs", value)
    assert str(raised.value) == message


def test_bounds_and_oddness_say_what_was_expected():
    with pytest.raises(ValueError, match=r"^n_valid=10: expected an integer from 1 to 9\.$"):
        whole_number("n_valid", 10, high=9)
    with pytest.raises(ValueError, match=r"^total_steps=1: expected an integer of at least 2\.$"):
        whole_number("total_steps", 1, low=2)
    with pytest.raises(ValueError, match=r"^window=4: expected an odd positive integer \(centred\)\.$"):
        whole_number("window", 4, odd=True, why="centred")
    assert whole_number("window", np.int64(5), odd=True) == 5


def test_the_helpers_take_numpy_counts():
    steps = np.int64(100)  # e.g. epochs * (len(x) // batch_size) on an array's shape
    schedule = schedules.OneCycle(max_lr=0.1, total_steps=steps)
    assert json.dumps(schedule.get_config())  # plain JSON: the count came back as an int
    assert fast.epochs(np.int64(5), fast=np.int64(2)) in (2, 5)
    assert mc_dropout.calibration_bins(np.full((4, 2), 0.5), np.array([0, 1, 0, 1]), n_bins=np.int64(2))
