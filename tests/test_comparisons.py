"""The published table and the sentences that set a run against it say what the numbers say."""

import pytest

from course_utils import comparisons, published


def test_the_published_table_holds_the_reference_figures_with_their_protocol():
    assert published.value("F5") == 0.7380
    assert published.value("F3") == (0.83, 1.00)
    assert "without momentum" in published.figure("F18").protocol
    assert "output layer has none" in published.figure("F23").protocol
    assert "Glorot" in published.figure("F6").protocol


def test_an_unknown_id_is_an_error_that_names_it():
    with pytest.raises(KeyError, match="id='F99'"):
        published.figure("F99")


def test_against_published_says_how_many_points_and_which_side():
    assert comparisons.against_published(0.8372, "F1") == \
        "0.8372 against the published 0.8396 (F1): 0.24 points below"
    assert comparisons.against_published(0.8424, 0.8398).endswith("0.26 points above")


def test_against_seeds_finds_a_published_figure_above_every_seed():
    # Lecture 02's ReLU seeds: mean 0.6665, population std 0.0393; (0.7380 - 0.6665) / 0.0393 = 1.82.
    line = comparisons.against_seeds([0.6776, 0.6204, 0.6432, 0.7248], "F5")
    assert "0.6204 to 0.7248, mean 0.6665 ± 0.0393" in line
    assert line.endswith("the published 0.7380 (F5) lies above all 4 seeds, 1.8 std above their mean")


def test_against_seeds_finds_a_published_figure_inside_the_range():
    line = comparisons.against_seeds([0.8288, 0.8134, 0.7934, 0.2616], "F4")
    assert line.endswith("lies within the seeds' range (3 of 4 seeds below it)")


def test_a_range_is_not_compared_with_one_number():
    with pytest.raises(ValueError, match="reference='F3'"):
        comparisons.against_published(0.9, "F3")


def test_ahead_with_one_seed_refuses_to_conclude():
    line = comparisons.ahead([0.8924], [0.8850], ("1cycle", "constant"))
    assert line == ("1cycle ahead of constant by 0.74 points from one seed: one seed cannot tell a difference "
                    "from noise")


def test_ahead_over_paired_seeds_gives_the_spread_and_a_sign_test():
    # 8 of 8 seeds ahead: two-sided sign test p = 2 / 2**8 = 0.0078.
    a = [0.99, 0.985, 0.99, 0.98, 0.995, 0.99, 0.985, 0.99]
    b = [x - d for x, d in zip(a, [0.01, 0.005, 0.008, 0.006, 0.004, 0.007, 0.005, 0.003])]
    line = comparisons.ahead(b, a, ("scratch", "transfer"))
    assert line.startswith("transfer ahead of scratch by 0.60 points on average over 8 seeds, larger than")
    assert line.endswith("transfer ahead in 8 of 8 seeds (sign test p = 0.0078)")


def test_ahead_says_when_the_gap_is_within_the_spread():
    line = comparisons.ahead([0.80, 0.90, 0.85], [0.86, 0.84, 0.85], ("A", "B"))
    assert "within the seed-to-seed spread" in line and "A ahead in 1 of 3 seeds" in line


def test_ahead_needs_one_value_per_seed_for_both():
    with pytest.raises(ValueError, match="a has 2 values and b 3"):
        comparisons.ahead([0.1, 0.2], [0.1, 0.2, 0.3])


def test_ranking_ties_what_the_seed_spread_cannot_separate():
    line = comparisons.ranking({"SGD": 0.8696, "Momentum": 0.8874, "Adamax": 0.8884, "Nadam": 0.8748}, 0.002)
    assert line.startswith("Adamax 0.8884 ≈ Momentum 0.8874 > Nadam 0.8748 > SGD 0.8696")


@pytest.mark.parametrize("bad", [[], [float("nan")], ["x"]])
def test_bad_values_are_named(bad):
    with pytest.raises(ValueError, match="values="):
        comparisons.against_seeds(bad, "F5")
