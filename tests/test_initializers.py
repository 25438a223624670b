"""course_utils.initializers: a layer's initialisation read from the weights it drew."""

import keras
import pytest

from course_utils.initializers import drawn_like, std_ratio


def dense(fan_in, units, initializer):
    layer = keras.layers.Dense(units, kernel_initializer=initializer)
    layer.build((None, fan_in))
    return layer


HE = keras.initializers.VarianceScaling(scale=2.0, mode="fan_in", distribution="truncated_normal")
LECUN = keras.initializers.VarianceScaling(scale=1.0, mode="fan_in", distribution="truncated_normal")


@pytest.mark.parametrize("initializer", ["he_normal", keras.initializers.HeNormal(), HE, "he_uniform"])
def test_he_written_any_way_draws_like_he(initializer):
    assert drawn_like(dense(100, 100, initializer), "he_normal")
    assert drawn_like(dense(3072, 100, initializer), "he_normal")


@pytest.mark.parametrize("initializer", ["lecun_normal", LECUN])
def test_lecun_written_any_way_draws_like_lecun(initializer):
    assert drawn_like(dense(3072, 100, initializer), "lecun_normal")


def test_glorot_is_told_from_he_and_from_lecun_where_their_spreads_differ():
    # sqrt(2 / 100) = 0.141 for He against sqrt(2 / 200) = 0.100 for Glorot on a square layer.
    square = dense(100, 100, "glorot_normal")
    assert not drawn_like(square, "he_normal")
    assert std_ratio(square, "he_normal") == pytest.approx(0.707, abs=0.02)
    # sqrt(1 / 3072) = 0.018 for LeCun against sqrt(2 / 3172) = 0.025 for Glorot.
    assert not drawn_like(dense(3072, 100, "glorot_normal"), "lecun_normal")
    assert not drawn_like(dense(3072, 100, "he_normal"), "lecun_normal")


def test_weights_off_centre_are_not_drawn_like_any_initializer():
    layer = dense(100, 100, "he_normal")
    layer.kernel.assign(layer.kernel + 0.05)
    assert not drawn_like(layer, "he_normal")


def test_a_kernel_too_small_to_judge_is_refused_by_name():
    with pytest.raises(ValueError, match=r"layer='small'.*100 weights"):
        layer = keras.layers.Dense(10, name="small")
        layer.build((None, 10))
        std_ratio(layer, "he_normal")
    with pytest.raises(ValueError, match="no kernel"):
        std_ratio(keras.layers.Flatten(), "he_normal")
