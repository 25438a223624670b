import keras
import numpy as np
import pytest

from course_utils import plots
from course_utils.diagnostics import (StatsRecorder, gradient_factor, layer_stats, plot_layer_stats,
                                     plot_stats_over_time)

L = keras.layers
X = np.random.default_rng(0).normal(size=(128, 20)).astype(np.float32)
Y = np.random.default_rng(1).integers(0, 3, 128)


def deep(activation, initializer, depth=12):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((20,))] + [L.Dense(32, activation=activation, kernel_initializer=initializer)
                                     for _ in range(depth)] + [L.Dense(3, activation="softmax")]
    model = keras.Sequential(layers)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def test_sigmoid_gradients_vanish_towards_the_input():
    stats = layer_stats(deep("sigmoid", "glorot_uniform"), X, Y)
    assert len(stats.names) == 13
    assert stats.grad_norm[0] < 1e-3 * stats.grad_norm[-1]
    relu = layer_stats(deep("relu", "he_normal"), X, Y)
    assert relu.grad_norm[0] > 0.05 * relu.grad_norm[-1]


def test_gradient_norm_by_hand():
    """One dense layer, MSE: d/dW mean((xW)^2) = 2 x^T (xW) / (n * units)."""
    model = keras.Sequential([keras.Input((3,)), L.Dense(2, activation="relu", use_bias=False, kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse")
    x = np.array([[1.0, 2.0, 0.5], [0.5, 1.0, 1.0]], np.float32)
    y = np.zeros((2, 2), np.float32)
    out = x @ np.ones((3, 2))                          # all positive: relu is the identity here
    grad = 2 * x.T @ out / out.size
    stats = layer_stats(model, x, y)
    assert stats.grad_norm[0] == pytest.approx(np.linalg.norm(grad), rel=1e-5)
    assert stats.mean[0] == pytest.approx(out.mean()) and stats.std[0] == pytest.approx(out.std())


def test_slope_and_gain_by_hand():
    """sigmoid(0) = 0.5 has slope 0.25, sigmoid(ln 3) = 0.75 has 0.1875; a kernel of std 0.5 with 4 outputs has gain 1."""
    kernel = np.array([[0.5, -0.5, 0.5, -0.5]], np.float32)  # std 0.5, fan_out 4
    model = keras.Sequential([keras.Input((1,)), L.Dense(4, activation="sigmoid",
                                                         kernel_initializer=keras.initializers.Constant(kernel))])
    x = np.array([[0.0], [2 * np.log(3)]], np.float32)  # z = 0 for every unit, then z = ±ln 3
    stats = layer_stats(model, x)
    assert stats.slope[0] == pytest.approx(np.sqrt((4 * 0.25 ** 2 + 4 * 0.1875 ** 2) / 8), rel=1e-5)
    assert stats.gain[0] == pytest.approx(1.0)


def test_gradient_factor_is_the_geometric_mean_of_the_ratios():
    stats = layer_stats(deep("sigmoid", "glorot_uniform"), X, Y, output=False)
    assert len(stats.names) == 12  # the softmax output left out
    stats.grad_norm[:] = [8.0, 4.0, 1.0] + [1.0] * 9
    assert gradient_factor(stats, first=0, last=2) == pytest.approx(np.sqrt(8))  # (8 / 1) ** (1/2): grows towards the input
    assert gradient_factor(stats, first=1, last=2) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="first=3, last=2"):
        gradient_factor(stats, first=3, last=2)


def test_sigmoid_factor_is_its_slope_and_relu_with_he_keeps_the_gradient():
    sigmoid = layer_stats(deep("sigmoid", "glorot_uniform", depth=16), X, Y, output=False)
    relu = layer_stats(deep("relu", "he_normal", depth=16), X, Y, output=False)
    # Layers 2-16: square kernels (32 x 32). The sigmoid's factor is at most its slope 0.25 times a gain of ~1.
    assert 0.15 < gradient_factor(sigmoid, first=1) < 0.3
    assert np.all(sigmoid.slope[1:] <= 0.25) and np.all(sigmoid.saturated[1:] == 0)
    assert 0.7 < gradient_factor(relu, first=1) < 1.4


def test_saturation_and_dead_units():
    model = keras.Sequential([keras.Input((2,)), L.Dense(4, activation="sigmoid", kernel_initializer="zeros",
                                                         bias_initializer=keras.initializers.Constant([10, -10, 0, 0])),
                              L.Dense(3, activation="relu", kernel_initializer="zeros",
                                      bias_initializer=keras.initializers.Constant([-1, 1, -1]))])
    stats = layer_stats(model, np.ones((5, 2), np.float32))
    assert stats.saturated[0] == pytest.approx(0.5)   # units at sigmoid(±10) saturate, sigmoid(0) does not
    assert stats.dead[1] == pytest.approx(2 / 3)      # two relu units always output 0
    assert np.isnan(stats.grad_norm).all()            # no labels, no gradients


def test_recorder_over_training_and_plots():
    model = deep("relu", "he_normal", depth=3)
    recorder = StatsRecorder(X[:64], Y[:64], every=2)
    model.fit(X, Y, batch_size=16, epochs=1, callbacks=[recorder], verbose=0)
    steps, grads = recorder.series("grad_norm")
    assert steps.tolist() == [0, 2, 4, 6, 8]
    assert grads.shape == (5, 4) and np.isfinite(grads).all()
    lines = plot_stats_over_time(recorder).get_lines()
    assert [line.get_label() for line in lines] == [f"layer {i}" for i in range(1, 5)]
    np.testing.assert_allclose(lines[2].get_ydata(), grads[:, 2])
    assert len(plot_layer_stats({"relu": recorder.history[-1]})) == 3


def test_errors():
    with pytest.raises(ValueError, match="every=0"):
        StatsRecorder(X, every=0)
    linear = keras.Sequential([keras.Input((2,)), L.Dense(2)])
    with pytest.raises(ValueError, match="no layer with an activation"):
        layer_stats(linear, np.ones((1, 2)))
    uncompiled = keras.Sequential([keras.Input((2,)), L.Dense(2, activation="relu")])
    with pytest.raises(ValueError, match="compile the model"):
        layer_stats(uncompiled, np.ones((1, 2)), np.ones((1, 2)))


def test_activation_plot_has_every_function():
    ax = plots.plot_activations()
    labels = [line.get_label() for line in ax.get_lines()][:len(plots.ACTIVATIONS)]
    assert labels == [name if isinstance(name, str) else "leaky_relu(negative_slope=0.3)" for name in plots.ACTIVATIONS]
    ax = plots.plot_activations(("sigmoid",), derivatives=True)
    assert max(ax.get_lines()[0].get_ydata()) == pytest.approx(0.25, rel=1e-3)  # sigmoid'(0) = 1/4


def test_activation_plot_draws_the_slope_it_is_given():
    # The LeakyReLU layer's slope (0.3) is not the function's default (0.2): the plot draws what it is asked.
    ax = plots.plot_activations(("leaky_relu", ("leaky_relu", {"negative_slope": 0.3})), z_range=(-2, 1),
                                derivatives=True)
    default, layer = (line.get_ydata() for line in ax.get_lines()[:2])
    assert default[0] == pytest.approx(0.2) and layer[0] == pytest.approx(0.3) and layer[-1] == pytest.approx(1)
    assert ax.get_lines()[1].get_label() == "leaky_relu(negative_slope=0.3)"
    with pytest.raises(ValueError, match="expected a name or a"):
        plots.plot_activations((("leaky_relu", 0.3),))
