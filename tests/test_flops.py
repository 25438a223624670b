"""course_utils.flops: every expected MAC count below is written out from the layer's
definition (output positions x what each position multiplies), not from the counter."""

import math
import warnings

import keras
import pytest
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

import numpy as np

from course_utils import flops
from course_utils.flops import (ACTIVATION_FLOPS, compare_throughput, count_flops, matmul_peak_gflops,
                                measure_throughput)

L = keras.layers


def seq(input_shape, *layers, name=None):
    return keras.Sequential([keras.Input(input_shape), *layers], name=name)


def macs_by_layer(model, batch_size=1):
    return {r.name: r.macs for r in count_flops(model, batch_size).rows}


def seed001_mlp():
    return seq((784,), L.Dense(512, activation="relu", name="d1"), L.Dropout(0.2),
               L.Dense(512, activation="relu", name="d2"), L.Dropout(0.2),
               L.Dense(10, activation="softmax", name="out"))


def seed001_cnn(filters=(32, 64)):
    return seq((28, 28, 1), L.Conv2D(filters[0], 3, activation="relu", name="c1"),
               L.Conv2D(filters[1], 3, activation="relu", name="c2"), L.MaxPooling2D(name="pool"),
               L.Dropout(0.25), L.Flatten(), L.Dense(10, activation="softmax", name="out"))


def test_seed001_mlp():
    model = seed001_mlp()
    assert model.count_params() == 669_706
    macs = macs_by_layer(model)
    assert macs["d1"] == 784 * 512
    assert macs["d2"] == 512 * 512
    assert macs["out"] == 512 * 10
    assert count_flops(model).total_macs == 784 * 512 + 512 * 512 + 512 * 10


def test_seed001_cnn_has_one_input_channel():
    model = seed001_cnn()
    assert model.count_params() == 110_986
    macs = macs_by_layer(model)
    assert macs["c1"] == 26 * 26 * 3 * 3 * 1 * 32   # MNIST is grayscale: 1 channel, not 3
    assert macs["c2"] == 24 * 24 * 3 * 3 * 32 * 64
    assert macs["out"] == 9216 * 10
    assert macs["pool"] == 0


def test_seed001_small_cnn():
    model = seed001_cnn((4, 4))
    assert model.count_params() == 5_958
    assert count_flops(model).total_macs == 26 * 26 * 9 * 4 + 24 * 24 * 9 * 4 * 4 + 576 * 10


def test_dense_flops_convention():
    model = seq((20,), L.Dense(10, activation="relu", name="d"))
    row, = count_flops(model).rows
    assert (row.macs, row.flops) == (200, 2 * 200 + 10 + 10)  # 2 per MAC, bias, relu
    row, = count_flops(seq((20,), L.Dense(10, use_bias=False, name="d"))).rows
    assert row.flops == 2 * 200


def test_dense_on_sequences_counts_every_position():
    model = seq((7, 20), L.Dense(5, name="d"))
    assert macs_by_layer(model)["d"] == 7 * 20 * 5


@pytest.mark.parametrize("layer, input_shape, expected", [
    (L.Conv2D(8, 3, strides=2, padding="same", name="x"), (32, 32, 3), 16 * 16 * 8 * 3 * 3 * 3),
    (L.Conv2D(4, 3, dilation_rate=2, name="x"), (20, 20, 2), 16 * 16 * 4 * 3 * 3 * 2),
    (L.Conv2D(8, 3, groups=2, name="x"), (10, 10, 4), 8 * 8 * 8 * 3 * 3 * (4 // 2)),
    (L.Conv1D(16, 5, name="x"), (100, 3), 96 * 16 * 5 * 3),
    (L.Conv3D(2, 3, name="x"), (6, 6, 6, 1), 4 * 4 * 4 * 2 * 27 * 1),
    (L.Conv2DTranspose(4, 3, strides=2, name="x"), (8, 8, 2), 8 * 8 * 2 * 3 * 3 * 4),
    (L.DepthwiseConv2D(3, depth_multiplier=2, name="x"), (10, 10, 3), 8 * 8 * 3 * 2 * 3 * 3),
    (L.SeparableConv2D(5, 3, name="x"), (10, 10, 3), 8 * 8 * 3 * 3 * 3 + 8 * 8 * 3 * 5),
    (L.BatchNormalization(name="x"), (6, 6, 3), 6 * 6 * 3),
])
def test_convolutions_and_batch_norm(layer, input_shape, expected):
    assert macs_by_layer(seq(input_shape, layer))["x"] == expected


@pytest.mark.parametrize("layer, input_shape, flops", [
    (L.MaxPooling2D(2, name="x"), (8, 8, 3), 4 * 4 * 3 * 4),
    (L.AveragePooling2D(3, strides=1, name="x"), (8, 8, 3), 6 * 6 * 3 * 9),
    (L.GlobalAveragePooling2D(name="x"), (8, 8, 3), 8 * 8 * 3),
    (L.ReLU(name="x"), (10,), 10 * ACTIVATION_FLOPS["relu"]),
    (L.Activation("sigmoid", name="x"), (10,), 10 * ACTIVATION_FLOPS["sigmoid"]),
    (L.LeakyReLU(negative_slope=0.2, name="x"), (10,), 10 * ACTIVATION_FLOPS["leaky_relu"]),
    (L.LayerNormalization(name="x"), (4, 5), 4 * 5 * 9),
    (L.Dropout(0.5, name="x"), (10,), 0),
    (L.AlphaDropout(0.5, name="x"), (10,), 0),
    (L.Flatten(name="x"), (4, 5), 0),
    (L.Reshape((20,), name="x"), (4, 5), 0),
])
def test_elementwise_layers(layer, input_shape, flops):
    row = next(r for r in count_flops(seq(input_shape, layer)).rows if r.name == "x")
    assert row.counted and row.flops == flops and row.macs in (0, 20)


def test_merges_embedding_and_nested_models():
    inputs = keras.Input((6,), dtype="int32")
    x = L.Embedding(100, 8, name="emb")(inputs)
    block = seq((6, 8), L.Dense(8, name="inner"), name="block")
    y = block(x)
    z = L.Add(name="add")([x, y, y])
    c = L.Concatenate(name="cat")([x, z])
    model = keras.Model(inputs, c)
    rows = {r.name: r for r in count_flops(model).rows}
    assert rows["emb"].flops == 0 and rows["cat"].flops == 0
    assert rows["block/inner"].macs == 6 * 8 * 8
    assert rows["add"].flops == 2 * 6 * 8  # three inputs: two additions per element


def test_unknown_layer_is_reported_not_zeroed():
    class Mystery(keras.layers.Layer):
        def call(self, x):
            return x * 2

    model = seq((10,), L.Dense(4, name="d"), Mystery(name="mystery"))
    with pytest.warns(UserWarning, match="mystery"):
        report = count_flops(model)
    assert report.not_counted == ["mystery"]
    assert "not counted" in str(report) and "not counted" in report._repr_html_()
    assert report.total_macs == 40


def test_counts_scale_with_batch_size():
    model = seed001_cnn()
    one, seven = count_flops(model, 1), count_flops(model, batch_size=7)
    assert seven.total_macs == 7 * one.total_macs
    assert seven.total_flops == 7 * one.total_flops
    assert seven.training_flops == 3 * seven.total_flops
    assert seven.total_params == one.total_params == 110_986


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size=0"):
        count_flops(seed001_mlp(), batch_size=0)
    with pytest.raises(TypeError, match="model="):
        count_flops("not a model")
    unbuilt = keras.Sequential([L.Dense(3)])
    with pytest.raises(ValueError, match="keras.Input"):
        count_flops(unbuilt)


def test_report_renders():
    report = count_flops(seed001_cnn())
    text = str(report)
    assert "c2" in text and f"{24 * 24 * 9 * 32 * 64:,}" in text
    assert "<table>" in report._repr_html_()
    ax = report.plot()
    assert len(ax.patches) == 3  # c1, c2, out: the layers with MACs


# --------------------------------------------------------------------------- TensorFlow's profiler

def profiler_flops(model, batch_size):
    """FLOPs of TensorFlow's own profiler on the frozen inference graph, by op name."""
    spec = tf.TensorSpec((batch_size, *model.inputs[0].shape[1:]), tf.float32)
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    graph = convert_variables_to_constants_v2(concrete).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profile = tf.compat.v1.profiler.profile(graph=graph, options=options)
    return profile.total_float_ops


@pytest.mark.parametrize("build", [seed001_mlp, seed001_cnn, lambda: seq(
    (16, 16, 3), L.Conv2D(8, 3, strides=2, padding="same", name="a"), L.AveragePooling2D(2, name="p"),
    L.Conv2D(4, 1, use_bias=False, name="b"), L.GlobalMaxPooling2D(name="g"), L.Dense(3, activation="softmax"))])
def test_matches_tensorflow_profiler(build):
    """The profiler counts 2 FLOPs per MAC, biases, pooling windows and softmax as we do; it
    counts nothing for ReLU (we count 1 per output element) nor for the max reduction of
    global max pooling (we count 1 per input element). Those are the only differences."""
    model = build()
    report = count_flops(model, batch_size=4)
    not_in_profiler = 0
    for layer, row in zip(model.layers, report.rows):
        if getattr(layer, "activation", None) is keras.activations.relu:
            not_in_profiler += 4 * math.prod(row.output_shape[1:])
        if isinstance(layer, L.GlobalMaxPooling2D):
            not_in_profiler += row.flops
    assert profiler_flops(model, 4) == report.total_flops - not_in_profiler


# --------------------------------------------------------------------------- throughput

def test_matmul_peak_is_positive_and_finite():
    peak = matmul_peak_gflops(n=256, repeats=3)
    assert 0.1 < peak < 1e6


def test_measure_throughput_reports_consistent_figures():
    model = seed001_mlp()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    x, y = np.zeros((256, 784), np.float32), np.zeros(256, np.int32)
    result = measure_throughput(model, x, y, batch_size=32, steps=5, peak_gflops=100.0)
    assert result.batch_size == 32 and result.peak_gflops == 100.0
    assert result.samples_per_second > 0
    flops_per_sample = 3 * count_flops(model).total_flops
    assert result.gflops == pytest.approx(flops_per_sample * result.samples_per_second / 1e9)
    assert result.fraction_of_peak == pytest.approx(result.gflops / 100.0)
    assert "samples/s" in str(result)
    assert int(model.optimizer.iterations) == 6, "one warm-up step, then the 5 timed steps"


def test_measure_throughput_bad_arguments():
    model = seed001_mlp()
    x, y = np.zeros((64, 784), np.float32), np.zeros(64, np.int32)
    with pytest.raises(ValueError, match="not compiled"):
        measure_throughput(model, x, y, batch_size=32, steps=2, peak_gflops=1.0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="steps=0"):
        measure_throughput(model, x, y, batch_size=32, steps=0, peak_gflops=1.0)
    with pytest.raises(ValueError, match="batch_size=128"):
        measure_throughput(model, x, y, batch_size=128, steps=2, peak_gflops=1.0)


def test_compare_throughput_alternates_the_models_and_repeats(monkeypatch):
    import course_utils.flops as flops
    order = []

    def fake(model, x, y, *, batch_size, steps, peak_gflops=None):
        order.append(model)
        return flops.Throughput(batch_size, float(len(order)), 1.0, peak_gflops)

    monkeypatch.setattr(flops, "measure_throughput", fake)
    calls = []
    results = compare_throughput({"a": "A", "b": "B"}, None, None, batch_size=8, steps=2, repeats=3, peak_gflops=10.0,
                                 progress=lambda: calls.append(len(order)))
    assert order == ["A", "B", "B", "A", "A", "B"]
    assert calls == [1, 2, 3, 4, 5, 6], "progress after each measurement"
    assert [r.samples_per_second for r in results["a"]] == [1.0, 4.0, 5.0]
    assert [r.samples_per_second for r in results["b"]] == [2.0, 3.0, 6.0]
    with pytest.raises(ValueError, match="repeats=0"):
        compare_throughput({"a": "A"}, None, None, batch_size=8, steps=2, repeats=0, peak_gflops=1.0)


def test_compare_throughput_trains_each_model_once_per_round():
    models = {}
    for jit in (False, True):
        models[jit] = seed001_mlp()
        models[jit].compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=jit)
    x, y = np.zeros((64, 784), np.float32), np.zeros(64, np.int32)
    results = compare_throughput(models, x, y, batch_size=32, steps=2, repeats=2, peak_gflops=100.0)
    assert all(len(r) == 2 and all(t.samples_per_second > 0 for t in r) for r in results.values())
    assert all(int(m.optimizer.iterations) == 2 * 3 for m in models.values()), "per round: one warm-up and 2 steps"


# --------------------------------------------------------------------------- more layers, by hand

@pytest.mark.parametrize("layer, input_shape, macs, flops", [
    (L.ZeroPadding2D(2, name="x"), (5, 5, 3), 0, 0),
    (L.Cropping2D(1, name="x"), (5, 5, 3), 0, 0),
    (L.Identity(name="x"), (7,), 0, 0),
    (L.RandomFlip(name="x"), (8, 8, 3), 0, 0),            # inactive at inference
    (L.RandomRotation(0.1, name="x"), (8, 8, 3), 0, 0),
    (L.Rescaling(1 / 255, offset=-1, name="x"), (4, 4, 3), 48, 96),
    (L.Normalization(mean=0.5, variance=0.25, name="x"), (4, 4, 3), 48, 96),
    (L.GroupNormalization(groups=2, name="x"), (3, 3, 4), 36, 36 * 9),
    (L.UnitNormalization(name="x"), (6,), 6, 18),
    (L.UpSampling2D(2, name="x"), (3, 3, 2), 0, 0),       # nearest: a copy
    (L.UpSampling2D(2, interpolation="bilinear", name="x"), (3, 3, 2), 6 * 6 * 2 * 4, 2 * 6 * 6 * 2 * 4),
    (L.Resizing(5, 7, interpolation="bicubic", name="x"), (3, 3, 2), 5 * 7 * 2 * 16, 2 * 5 * 7 * 2 * 16),
    (L.Activation("hard_silu", name="x"), (10,), 0, 10 * ACTIVATION_FLOPS["hard_silu"]),
])
def test_more_layers(layer, input_shape, macs, flops):
    row = next(r for r in count_flops(seq(input_shape, layer)).rows if r.name == "x")
    assert row.counted and (row.macs, row.flops) == (macs, flops)


def test_convnext_layer_scale_and_stochastic_depth():
    from keras.src.applications.convnext import LayerScale, StochasticDepth
    model = seq((4, 4, 8), LayerScale(1e-6, 8, name="scale"), StochasticDepth(0.1, name="drop"))
    rows = {r.name: r for r in count_flops(model).rows}
    assert (rows["scale"].macs, rows["scale"].flops) == (0, 4 * 4 * 8)  # one multiply per element
    assert rows["drop"].counted and rows["drop"].flops == 0


def test_multi_head_attention_by_hand():
    """T = 5 queries of 16 features attend over S = 7 positions of 12; 2 heads of 4 (keys)
    and 3 (values); output back to 16 features."""
    query, value = keras.Input((5, 16)), keras.Input((7, 12))
    out = L.MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3, name="mha")(query, value)
    row, = [r for r in count_flops(keras.Model([query, value], out)).rows if r.name == "mha"]
    projections = 5 * 16 * 2 * 4 + 7 * 12 * 2 * 4 + 7 * 12 * 2 * 3 + 5 * 2 * 3 * 16
    attention = 5 * 7 * 2 * 4 + 5 * 7 * 2 * 3     # scores, then the weighted sum of values
    biases = 5 * 2 * 4 + 7 * 2 * 4 + 7 * 2 * 3 + 5 * 16
    assert row.macs == projections + attention
    assert row.flops == 2 * row.macs + biases + ACTIVATION_FLOPS["softmax"] * 5 * 7 * 2


def test_self_attention_with_keyword_arguments():
    x = keras.Input((6, 8))
    out = L.MultiHeadAttention(num_heads=1, key_dim=8, use_bias=False, name="mha")(query=x, value=x, key=x)
    row, = [r for r in count_flops(keras.Model(x, out)).rows if r.name == "mha"]
    assert row.macs == 4 * 6 * 8 * 8 + 6 * 6 * 8 * 2
    assert row.flops == 2 * row.macs + ACTIVATION_FLOPS["softmax"] * 6 * 6


@pytest.mark.parametrize("layer, gates, elementwise", [
    (L.SimpleRNN(4, name="x"), 1, ACTIVATION_FLOPS["tanh"] * 4),
    # GRU: sigmoid z and r, tanh candidate, r * (U h), then z h + (1 - z) h~ (3): 4 per unit
    (L.GRU(4, reset_after=False, name="x"), 3, 4 * (2 * ACTIVATION_FLOPS["sigmoid"] + ACTIVATION_FLOPS["tanh"] + 4)),
    # LSTM: sigmoid i, f, o; tanh candidate and tanh(c); c = f c + i g (3), h = o tanh(c) (1)
    (L.LSTM(4, name="x"), 4, 4 * (3 * ACTIVATION_FLOPS["sigmoid"] + 2 * ACTIVATION_FLOPS["tanh"] + 4)),
])
def test_recurrent_layers_per_time_step(layer, gates, elementwise):
    row, = count_flops(seq((9, 3), layer)).rows   # 9 steps of 3 features, 4 units
    per_step_macs = gates * (3 * 4 + 4 * 4)
    assert row.macs == 9 * per_step_macs
    assert row.flops == 9 * (2 * per_step_macs + gates * 4 + elementwise)


def test_gru_reset_after_has_two_biases_and_bidirectional_counts_both_ways():
    gru, = count_flops(seq((9, 3), L.GRU(4, name="x"))).rows
    gru_before, = count_flops(seq((9, 3), L.GRU(4, reset_after=False, name="x"))).rows
    assert gru.flops - gru_before.flops == 9 * 3 * 4   # the recurrent kernel's own bias
    both, = count_flops(seq((9, 3), L.Bidirectional(L.LSTM(4), name="x"))).rows
    one, = count_flops(seq((9, 3), L.LSTM(4, name="x"))).rows
    assert (both.macs, both.flops) == (2 * one.macs, 2 * one.flops)


def test_time_distributed_counts_its_layer_once_per_step():
    row, = count_flops(seq((6, 10), L.TimeDistributed(L.Dense(3), name="x"))).rows
    assert row.macs == 6 * 10 * 3


# --------------------------------------------------------------------------- unknown input sizes

def variable_size_cnn():
    return seq((None, None, 3), L.Conv2D(4, 3, name="c"), L.GlobalAveragePooling2D(name="g"),
               L.Dense(2, name="d"), name="fcn")


def test_unknown_input_size_names_the_dimensions_and_input_shape():
    with pytest.raises(ValueError, match=r"model 'fcn'.*shape \(None, None, None, 3\).*dimension\(s\) 1, 2 "
                                         r"unknown.*input_shape=\(224, 224, 3\)"):
        count_flops(variable_size_cnn())


def test_input_shape_counts_a_copy_and_leaves_the_model_alone():
    model = variable_size_cnn()
    weights = [w.copy() for w in model.get_weights()]
    report = count_flops(model, input_shape=(10, 12, 3))
    assert {r.name: r.macs for r in report.rows}["c"] == 8 * 10 * 4 * 3 * 3 * 3
    assert report.total_params == model.count_params()
    assert tuple(model.inputs[0].shape) == (None, None, None, 3)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))


@pytest.mark.parametrize("bad", [(10, 12), (10, 12, 4), [(10, 12, 3)] * 2, (10, -1, 3), "224x224"])
def test_bad_input_shape_is_named(bad):
    with pytest.raises(ValueError, match=r"input_shape="):
        count_flops(variable_size_cnn(), input_shape=bad)


def test_a_private_keras_layer_that_moved_costs_only_its_own_formula(monkeypatch):
    """A Keras release that moves a keras.src layer leaves that layer uncounted, said why,
    and everything else counted."""
    monkeypatch.setattr(flops, "_MISSING", {})
    stand_in = flops._private_layer("applications.no_such_module", "Moved")

    class Moved(keras.layers.Layer):  # the real layer, where this Keras keeps it
        def call(self, x):
            return x

    assert not isinstance(Moved(), stand_in)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), Moved(name="moved")])
    with pytest.warns(UserWarning, match=r"no formula for moved.*Moved is not at keras\.src\.applications\.no_such_module"):
        report = flops.count_flops(model)
    assert report.total_macs == 12 and report.not_counted == ["moved"]
