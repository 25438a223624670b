"""course_utils.on_track: a run's figure next to the course's measured range and the reference's."""

import pytest

from course_utils import on_track

MADE_UP = on_track.Spread("ex02 val_accuracy", "stand-in", True, 0.50, 0.60, (0, 1, 2), "a test")


@pytest.fixture
def spreads(monkeypatch):
    monkeypatch.setattr(on_track, "SPREADS", [MADE_UP])


@pytest.mark.parametrize("value, verdict", [(0.55, "within"), (0.5, "within"), (0.4321, "below"), (0.61, "above")])
def test_a_run_is_placed_against_the_solutions_range(spreads, value, verdict):
    text = on_track.line("ex02 val_accuracy", value, data="stand-in", is_fast=True)
    assert text == (f"ex02 val_accuracy {value:.4f}; the course's solution on the stand-in, fast mode: 0.5000-0.6000 "
                    f"over 3 seeds ({verdict}); the reference, on the real CIFAR-10 at full size: 0.5398")


def test_what_was_not_measured_says_so(spreads):
    assert ("the course's solution has not been measured on the CIFAR-10, full size yet"
            in on_track.line("ex02 val_accuracy", 0.5, data="CIFAR-10", is_fast=False))
    assert "has not been measured on the stand-in, full size" in on_track.line("ex02 val_accuracy", 0.5, data="stand-in",
                                                                                is_fast=False)


def test_every_exercise_figure_has_a_published_reference():
    assert set(on_track.REFERENCE) >= {spread.figure for spread in on_track.SPREADS}
    for figure in on_track.REFERENCE:
        assert "the reference" in on_track.line(figure, 0.5, data="stand-in", is_fast=True)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="figure='ex09 loss'"):
        on_track.line("ex09 loss", 0.5, data="stand-in", is_fast=True)
    with pytest.raises(ValueError, match="data='MNIST'"):
        on_track.line("ex02 val_accuracy", 0.5, data="MNIST", is_fast=True)
