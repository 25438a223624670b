import keras
import numpy as np
import pytest

from course_utils import mc_dropout
from course_utils.mc_dropout import (MC_VERSION, N_BINS, MCAlphaDropout, calibration_bins,
                                     expected_calibration_error, mc_layers, mc_predict, reliability_diagram,
                                     to_mc_model)

L = keras.layers


def dropout_net(batch_norm=False, dropout=L.Dropout):
    keras.utils.set_random_seed(3)
    layers = [keras.Input((12,)), L.Dense(32, activation="relu")]
    if batch_norm:
        layers.append(L.BatchNormalization())
    layers += [dropout(0.3), L.Dense(16, activation="relu"), dropout(0.3), L.Dense(4, activation="softmax")]
    return keras.Sequential(layers)


X = np.random.default_rng(0).normal(size=(50, 12)).astype(np.float32)


def test_samples_differ_and_their_mean_converges():
    model = dropout_net()
    result = mc_predict(model, X, n_samples=4000, seed=1, return_samples=True, verbose=0)
    assert result.samples.shape == (4000, 50, 4)
    assert result.samples[0].tolist() != result.samples[1].tolist(), "dropout must differ between samples"
    assert result.std.mean() > 1e-3
    # The mean of many samples approaches the expectation; two independent halves agree,
    # and agree much better than two single samples do.
    halves = mc_predict(model, X, n_samples=2000, seed=2, verbose=0).mean, \
        mc_predict(model, X, n_samples=2000, seed=3, verbose=0).mean
    gap_means = np.abs(halves[0] - halves[1]).max()
    gap_single = np.abs(result.samples[0] - result.samples[1]).max()
    assert gap_means < 0.05 < gap_single
    np.testing.assert_allclose(result.mean, result.samples.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.std, result.samples.std(axis=0), rtol=1e-4, atol=1e-6)


def test_uncertainty_measures_equal_their_definitions():
    result = mc_predict(dropout_net(), X, n_samples=30, seed=4, return_samples=True, verbose=0)
    p = result.samples.astype(np.float64)
    mean = p.mean(axis=0)
    h_mean = -(mean * np.log(mean)).sum(axis=1)
    h_expected = (-(p * np.log(p)).sum(axis=2)).mean(axis=0)
    np.testing.assert_allclose(result.predictive_entropy, h_mean, rtol=1e-4)
    np.testing.assert_allclose(result.expected_entropy, h_expected, rtol=1e-4)
    np.testing.assert_allclose(result.mutual_information, h_mean - h_expected, atol=1e-5)
    assert (result.mutual_information > -1e-6).all()


def test_same_seed_same_result():
    model = dropout_net()
    a = mc_predict(model, X, n_samples=20, seed=7, verbose=0)
    b = mc_predict(model, X, n_samples=20, seed=7, verbose=0)
    c = mc_predict(model, X, n_samples=20, seed=8, verbose=0)
    np.testing.assert_array_equal(a.mean, b.mean)
    assert not np.array_equal(a.mean, c.mean)


def test_chunking_does_not_change_the_result():
    model = to_mc_model(dropout_net())
    whole = mc_predict(model, X, n_samples=10, seed=5, batch_size=50, verbose=0)
    chunked = mc_predict(model, X, n_samples=10, seed=5, batch_size=7, verbose=0)
    assert whole.mean.shape == chunked.mean.shape == (50, 4)
    # Different chunking draws different masks; both are unbiased estimates of one mean.
    assert np.abs(whole.mean - chunked.mean).max() < 0.5


def test_batch_norm_statistics_unchanged():
    model = dropout_net(batch_norm=True)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(X, np.arange(50) % 4, epochs=2, verbose=0)
    bn = next(layer for layer in model.layers if isinstance(layer, L.BatchNormalization))
    before = [v.numpy().copy() for v in bn.non_trainable_variables]
    mc_predict(model, X * 5 + 3, n_samples=20, verbose=0)  # data unlike training: BN in training mode would move
    for old, new in zip(before, bn.non_trainable_variables):
        np.testing.assert_array_equal(old, new.numpy())
    # The reference chapter's way, model(x, training=True), does move them in Keras 3:
    model(X * 5 + 3, training=True)
    assert not np.array_equal(before[0], bn.non_trainable_variables[0].numpy())


def test_weights_are_shared_not_copied():
    model = dropout_net()
    mc = to_mc_model(model)
    dense = [layer for layer in model.layers if isinstance(layer, L.Dense)]
    mc_dense = [layer for layer in mc.layers if isinstance(layer, L.Dense)]
    assert all(a is b for a, b in zip(dense, mc_dense))
    dense[0].kernel.assign(np.zeros(dense[0].kernel.shape))
    assert np.all(mc_dense[0].kernel.numpy() == 0)
    assert [type(layer) for layer in mc_layers(mc)] == [mc_dropout.MCDropout] * 2


@pytest.mark.parametrize("layer, shape", [
    (L.Dropout(0.5), (8,)), (L.AlphaDropout(0.5), (8,)), (L.GaussianDropout(0.5), (8,)),
    (L.SpatialDropout1D(0.5), (6, 8)), (L.SpatialDropout2D(0.5), (4, 4, 8)), (L.SpatialDropout3D(0.5), (3, 3, 3, 8))])
def test_every_dropout_kind_becomes_mc_and_stays_active(layer, shape):
    model = keras.Sequential([keras.Input(shape), layer])
    mc = to_mc_model(model)
    mc_layer, = mc_layers(mc)
    assert type(mc_layer) is MC_VERSION[type(layer)]
    x = np.ones((16, *shape), np.float32)
    assert not np.allclose(mc.predict(x, verbose=0), x), "active at inference"
    np.testing.assert_allclose(model.predict(x, verbose=0), x)  # the original is untouched


def test_nested_and_functional_models():
    inner = keras.Sequential([keras.Input((8,)), L.Dense(8), L.Dropout(0.4)], name="inner")
    inputs = keras.Input((8,))
    outputs = L.Dense(3, activation="softmax")(L.AlphaDropout(0.2)(inner(inputs)))
    model = keras.Model(inputs, outputs)
    mc = to_mc_model(model)
    assert sorted(type(l).__name__ for l in mc_layers(mc)) == ["MCAlphaDropout", "MCDropout"]
    result = mc_predict(model, np.ones((5, 8), np.float32), n_samples=10, verbose=0)
    assert result.mean.shape == (5, 3)


def test_mc_alpha_dropout_matches_keras_values():
    x = np.random.default_rng(1).normal(size=(64, 50)).astype("float32")
    ref = np.asarray(L.AlphaDropout(0.3, seed=11)(x, training=True))
    ours = np.asarray(MCAlphaDropout(0.3, seed=11)(x))
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-6)


def test_mc_model_saves_and_loads(tmp_path):
    mc = to_mc_model(dropout_net(dropout=L.AlphaDropout))
    mc.save(tmp_path / "mc.keras")
    loaded = keras.models.load_model(tmp_path / "mc.keras")
    assert [type(l).__name__ for l in mc_layers(loaded)] == ["MCAlphaDropout"] * 2
    assert not np.allclose(loaded.predict(X, verbose=0), loaded.predict(X, verbose=0))


def test_clear_errors():
    plain = keras.Sequential([keras.Input((4,)), L.Dense(2, activation="softmax")])
    with pytest.raises(ValueError, match="no dropout layer"):
        to_mc_model(plain)
    with pytest.raises(ValueError, match="no dropout layer"):
        mc_predict(plain, np.ones((2, 4)), verbose=0)
    with pytest.raises(ValueError, match="n_samples=0"):
        mc_predict(dropout_net(), X, n_samples=0)
    with pytest.raises(ValueError, match="batch_size=-3"):
        mc_predict(dropout_net(), X, batch_size=-3)


def test_ece_by_hand():
    # 4 predictions: confidences 0.9, 0.9 (one right, one wrong), 0.6 and 0.7 (both right).
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.3, 0.7]])
    y = np.array([0, 1, 1, 1])
    # 5 bins of width 0.2: bin [0.8, 1.0) holds 2 (conf 0.9, acc 0.5); bin [0.6, 0.8) holds
    # 2 (conf 0.65, acc 1.0). ECE = 2/4 * 0.4 + 2/4 * 0.35 = 0.375.
    assert expected_calibration_error(p, y, n_bins=5) == pytest.approx(0.375)
    assert expected_calibration_error(np.eye(3), [0, 1, 2], n_bins=10) == pytest.approx(0.0)
    ax = reliability_diagram(p, y, n_bins=5, label="toy")
    assert "ECE 0.375" in ax.get_legend().get_texts()[-1].get_text()


def test_calibration_bins_by_hand():
    # The predictions of test_ece_by_hand: bin [0.8, 1.0) over-confident by 0.4, bin
    # [0.6, 0.8) under-confident by 0.35, the other bins empty.
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.3, 0.7]])
    bins = calibration_bins(p, [0, 1, 1, 1], n_bins=5)
    np.testing.assert_allclose(bins.lower, [0, 0.2, 0.4, 0.6, 0.8])
    np.testing.assert_array_equal(bins.count, [0, 0, 0, 2, 2])
    np.testing.assert_allclose(bins.confidence[3:], [0.65, 0.9])
    np.testing.assert_allclose(bins.accuracy[3:], [1.0, 0.5])
    np.testing.assert_allclose(bins.gap[3:], [-0.35, 0.4])
    assert bins.ece == pytest.approx(0.375)
    # A confidence of exactly 1 falls in the last bin, not past it.
    assert calibration_bins(np.eye(3), [0, 1, 2], n_bins=4).count.tolist() == [0, 0, 0, 3]


def test_diagram_legend_and_printed_ece_agree_by_default():
    # One default bin count: the ECE a lecture prints is the one in its diagram's legend.
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(10) * 0.3, size=500)
    y = rng.integers(0, 10, size=500)
    ax = reliability_diagram(p, y, label="random")
    assert f"ECE {expected_calibration_error(p, y):.3f}" in ax.get_legend().get_texts()[-1].get_text()
    assert expected_calibration_error(p, y) == calibration_bins(p, y, n_bins=N_BINS).ece
    assert len(calibration_bins(p, y).count) == N_BINS


def test_ece_bad_input():
    with pytest.raises(ValueError, match="n_bins=0"):
        expected_calibration_error(np.eye(2), [0, 1], n_bins=0)
    with pytest.raises(ValueError, match="do not match 3 labels"):
        expected_calibration_error(np.eye(2), [0, 1, 1])


def test_repeated_calls_reuse_one_compiled_step():
    model = dropout_net()
    mc_predict(model, X, n_samples=5, verbose=0)
    mc_model = mc_dropout._MC_MODELS[model]
    step = mc_dropout._STEPS[mc_model][5, False]
    mc_predict(model, X[:10], n_samples=5, verbose=0)
    assert mc_dropout._MC_MODELS[model] is mc_model and mc_dropout._STEPS[mc_model][5, False] is step


@pytest.mark.parametrize("layer", [L.Dropout(0.5), L.AlphaDropout(0.3), L.GaussianDropout(0.3)])
def test_one_subnetwork_per_sample_shared_by_all_rows(layer):
    """Inside mc_predict each sample is one random subnetwork applied to every row: identical
    rows get identical outputs within a sample, different ones across samples, and each row's
    samples keep the layer's statistics (dropout is unbiased: mean 1 for inputs of 1)."""
    model = keras.Sequential([keras.Input((64,)), layer])
    x = np.ones((3, 64), np.float32)
    samples = mc_predict(model, x, n_samples=400, seed=0, return_samples=True, verbose=0).samples
    assert samples.shape == (400, 3, 64)
    np.testing.assert_array_equal(samples[:, 0], samples[:, 2])      # rows share the sample's mask
    assert not np.array_equal(samples[0, 0], samples[1, 0])          # samples differ
    plain = np.stack([np.asarray(layer(x, training=True)) for _ in range(400)])
    assert abs(samples.mean() - plain.mean()) < 0.02
    assert abs(samples.std() - plain.std()) < 0.03 * plain.std() + 0.01
