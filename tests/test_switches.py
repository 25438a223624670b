"""One reader for every COURSE_* switch: the same words mean on and off for each, and a value
that means neither is an error naming the variable."""

import pytest

from course_utils import datasets, fast
from course_utils.switches import switch


@pytest.mark.parametrize("value, on", [("1", True), ("on", True), ("Yes", True), (" TRUE ", True),
                                       ("", False), ("0", False), ("off", False), ("No", False), ("false", False)])
def test_the_words_for_on_and_off(value, on):
    assert switch("COURSE_X", {"COURSE_X": value}) is on


def test_unset_is_off():
    assert switch("COURSE_X", {}) is False


@pytest.mark.parametrize("value", ["maybe", "2", "enabled"])
def test_anything_else_names_the_variable_and_its_value(value):
    with pytest.raises(ValueError, match=f"COURSE_X='{value}': expected 1 \\(on\\) or 0 \\(off\\)"):
        switch("COURSE_X", {"COURSE_X": value})


def test_fast_mode_and_offline_read_the_same_words(monkeypatch):
    """COURSE_FAST=on once raised while COURSE_OFFLINE=on silently meant online."""
    monkeypatch.setenv("COURSE_FAST", "on")
    monkeypatch.setenv("COURSE_OFFLINE", "on")
    assert fast.is_fast() and datasets._offline()
    monkeypatch.setenv("COURSE_OFFLINE", "offline")
    with pytest.raises(ValueError, match="COURSE_OFFLINE='offline'"):
        datasets._offline()
