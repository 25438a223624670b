import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import lr_finder
from course_utils.lr_finder import find_lr
from course_utils.schedules import OneCycle


def classifier(optimizer="adam"):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def toy_data(n=512):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 1).astype(np.int32)
    return x, y


def snapshot(model):
    return ([w.copy() for w in model.get_weights()],
            [np.array(v.numpy(), copy=True) for v in model.optimizer.variables],
            float(model.optimizer.learning_rate))


def assert_identical(a, b):
    (wa, oa, la), (wb, ob, lb) = a, b
    assert la == lb
    assert len(wa) == len(wb) and len(oa) == len(ob)
    for u, v in zip(wa + oa, wb + ob):
        np.testing.assert_array_equal(u, v)  # bit for bit


def test_sweep_records_rates_and_suggests():
    x, y = toy_data()
    model = classifier(keras.optimizers.SGD(0.01))
    result = find_lr(model, x, y, batch_size=32, start_lr=1e-4, end_lr=10, num_steps=60, verbose=0)
    expected = 1e-4 * (10 / 1e-4) ** (np.arange(60) / 59)
    np.testing.assert_allclose(result.lrs, expected[:len(result.lrs)])
    assert len(result.losses) == len(result.smoothed) == len(result.lrs) > 10
    assert set(result.suggestions) == {"valley", "steepest", "minimum/10"}
    assert all(1e-4 <= v <= 10 for v in result.suggestions.values())
    ax = result.plot()
    raw, smoothed, *marks = ax.get_lines()
    np.testing.assert_allclose(smoothed.get_ydata(), result.smoothed)
    assert ax.get_xscale() == "log" and sorted(m.get_label().split(":")[0] for m in marks) == sorted(result.suggestions)


def test_linear_mode():
    x, y = toy_data()
    result = find_lr(classifier(keras.optimizers.SGD(0.01)), x, y, start_lr=0.001, end_lr=0.1,
                     num_steps=10, mode="linear", verbose=0)
    np.testing.assert_allclose(result.lrs, np.linspace(0.001, 0.1, 10))


def test_stops_when_loss_explodes():
    x, y = toy_data()
    result = find_lr(classifier(keras.optimizers.SGD(0.01)), x, y, start_lr=1e-3, end_lr=1e6,
                     num_steps=200, verbose=0)
    assert result.stopped_early and len(result.losses) < 200


def test_records_each_batch_loss_not_the_running_mean():
    """y = w x, MSE, batches known in advance: every loss and update computed by hand."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    xs = [np.full((4, 1), v, np.float32) for v in (1.0, 2.0, 0.5, 3.0, 1.5)]
    data = tf.data.Dataset.from_tensor_slices([x for x in xs]).map(lambda x: (x, tf.zeros_like(x)))
    result = find_lr(model, data, start_lr=0.01, end_lr=0.05, num_steps=5, window=1, verbose=0)
    w, expected = 1.0, []
    for x, lr in zip(xs, result.lrs):
        v = float(x[0, 0])
        expected.append((w * v) ** 2)           # loss of this batch, before its update
        w -= lr * 2 * w * v * v                 # d/dw mean((w v)^2) = 2 w v^2
    np.testing.assert_allclose(result.losses, expected, rtol=1e-5)
    np.testing.assert_allclose(result.smoothed, expected, rtol=1e-5)  # window = 1: no smoothing


def test_state_restored_bit_for_bit():
    x, y = toy_data()
    model = classifier(keras.optimizers.Adam(0.003))
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)  # slots and iterations not at zero
    before = snapshot(model)
    find_lr(model, x, y, num_steps=30, verbose=0)
    assert_identical(before, snapshot(model))
    assert int(model.optimizer.iterations) == 8


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_state_restored_after_interruption(monkeypatch, error):
    x, y = toy_data()
    model = classifier(keras.optimizers.SGD(0.02, momentum=0.9))
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    before = snapshot(model)
    original = lr_finder._Recorder.on_train_batch_end

    def interrupt(self, batch, logs=None):
        original(self, batch, logs)
        if batch == 5:
            raise error("stopped in the middle of the sweep")
    monkeypatch.setattr(lr_finder._Recorder, "on_train_batch_end", interrupt)
    with pytest.raises(error):
        find_lr(model, x, y, num_steps=20, verbose=0)
    assert_identical(before, snapshot(model))


def test_valley_matches_fastai_example():
    # The longest decreasing run is 3.0, 2.9, ..., 1.0 (indices 0, 2-8): 8 long, ending at 8,
    # so fastai's max_start = 8 - 8 = 0, sections = 8 / 3, index 0 + int(2.67) + int(1.33) = 3.
    losses = np.array([3.0, 3.1, 2.9, 2.5, 2.0, 1.6, 1.3, 1.1, 1.0, 2.0, 5.0])
    assert lr_finder._valley(losses) == 3


@pytest.mark.parametrize("kwargs, message", [
    (dict(start_lr=1.0, end_lr=0.1), "start_lr=1.0 must be smaller than end_lr=0.1"),
    (dict(start_lr=0.1, end_lr=0.1), "start_lr=0.1 must be smaller"),
    (dict(start_lr=-1.0), "start_lr=-1.0"),
    (dict(num_steps=1), "num_steps=1"),
    (dict(mode="cosine"), "mode='cosine'"),
    (dict(beta=1.0), "beta=1.0"),
    (dict(diverge=0.5), "diverge=0.5"),
    (dict(window=4), "window=4"),
    (dict(window=0), "window=0"),
    (dict(batch_size=0), "batch_size=0"),
])
def test_bad_arguments(kwargs, message):
    x, y = toy_data(64)
    with pytest.raises(ValueError, match=message):
        find_lr(classifier(), x, y, verbose=0, **kwargs)


def test_schedule_optimizer_gets_a_clear_error():
    x, y = toy_data(64)
    model = classifier(keras.optimizers.SGD(OneCycle(0.1, 100)))
    with pytest.raises(ValueError, match="schedule.*OneCycle"):
        find_lr(model, x, y, verbose=0)


def test_uncompiled_model_gets_a_clear_error():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="not compiled"):
        find_lr(model, *toy_data(64), verbose=0)


def test_arrays_across_several_epochs_give_each_batch_loss():
    """6 identical rows, batches of 2: 3 batches per pass, 7 steps span 3 passes of Keras's
    own batching; every batch has loss w**2 and w shrinks by lr * 2w each step."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x, y = np.ones((6, 1), np.float32), np.zeros((6, 1), np.float32)
    result = find_lr(model, x, y, batch_size=2, start_lr=0.01, end_lr=0.1, num_steps=7, beta=0.0, verbose=0)
    w, expected = 1.0, []
    for lr in result.lrs:
        expected.append(w * w)
        w -= lr * 2 * w
    assert len(result.losses) == 7
    np.testing.assert_allclose(result.losses, expected, rtol=1e-5)


# The lecture's sweep: six decades of rate in 430 batches, 71.5 batches a decade.
SWEEP = 1e-5 * (10 / 1e-5) ** (np.arange(430) / 429)
DECADES = np.log10(SWEEP)
FALL = 0.5 + 2.0 / (1 + np.exp((DECADES + 3) / 0.3))   # falls fastest at 1e-3
BOTTOM = 0.5 + 0.3 * (DECADES + 2) ** 2                # lowest at 1e-2


def noisy(curve, seed=0):
    """The curve with 10 % batch-to-batch noise, as a mini-batch's loss has."""
    return curve * np.exp(np.random.default_rng(seed).normal(0, 0.1, len(curve)))


def lagged(losses, beta=0.98):
    """fastai's bias-corrected EMA, which the finder's curve once was: it looks only back."""
    average, out = 0.0, []
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** (i + 1)))
    return np.array(out)


def test_smoothed_curve_follows_a_falling_loss_without_lag():
    losses = noisy(FALL)
    smoothed = lr_finder.smooth(losses, 21)
    falling = (DECADES > -4) & (DECADES < -2)
    assert np.abs(smoothed - FALL)[falling].max() < 0.15
    steepest = lr_finder.suggest(SWEEP, smoothed)["steepest"]
    assert abs(np.log10(steepest / 1e-3)) < 0.2  # within a fifth of a decade
    # The EMA trails by about 49 batches, two-thirds of a decade: far above the falling loss.
    assert np.abs(lagged(losses) - FALL)[falling].max() > 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_minimum_is_read_where_the_loss_is_lowest(seed):
    losses = noisy(BOTTOM, seed)
    minimum = lr_finder.suggest(SWEEP, lr_finder.smooth(losses, 21))["minimum/10"] * 10
    assert abs(np.log10(minimum / 1e-2)) < 0.2
    # Read off the lagged curve, the minimum comes out more than three times too high.
    assert np.log10(lr_finder.suggest(SWEEP, lagged(losses))["minimum/10"] * 10 / 1e-2) > 0.5


def test_spikes_and_the_explosion_do_not_drag_the_curve():
    losses = noisy(BOTTOM)
    losses[[150, 200, 230]] *= 30                     # three bad batches near the bottom
    losses[-40:] = np.geomspace(10, 1e6, 40)          # the sweep's explosion...
    losses[-1] = np.nan                               # ...ending in a diverged batch
    smoothed = lr_finder.smooth(losses, 21)
    assert np.all(np.abs(smoothed - BOTTOM)[120:260] < 0.1)  # a running mean would rise by 0.7
    assert abs(np.log10(SWEEP[np.argmin(smoothed)] / 1e-2)) < 0.2
    assert smoothed[-1] > 1e4  # the explosion still shows, the NaN read as a huge loss


def test_smooth_with_window_one_is_the_identity():
    losses = noisy(FALL)
    np.testing.assert_array_equal(lr_finder.smooth(losses, 1), losses)
    assert lr_finder.smooth([], 21).size == 0


def test_find_lr_smooths_with_the_default_window():
    x, y = toy_data()
    result = find_lr(classifier(keras.optimizers.SGD(0.01)), x, y, start_lr=1e-4, end_lr=1,
                     num_steps=80, diverge=1e9, verbose=0)
    np.testing.assert_allclose(result.smoothed, lr_finder.smooth(result.losses, 5))  # 2 * (80 // 40) + 1
