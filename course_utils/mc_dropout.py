"""Monte Carlo dropout: predictive uncertainty from a trained dropout network.

Keep dropout active at inference, run each input through ``n_samples`` random subnetworks,
and read the spread of their predictions (Gal & Ghahramani, 2016). The reference chapter
does it with ``model(x, training=True)`` in a Python loop; that also switches batch
normalization to training mode (batch statistics, and Keras 3 updates its moving
averages), and each call pays Python's overhead. Here:

- ``MCDropout``, ``MCAlphaDropout``, ``MCGaussianDropout``, ``MCSpatialDropout1D/2D/3D``:
  Keras's dropout layers that stay active at inference; they save and load with the model.
- :func:`to_mc_model`: the same model with its dropout layers made MC; every other layer
  is the *same object*, so weights are shared, not copied, and batch normalization stays
  in inference mode.
- :func:`mc_predict`: all samples of a chunk of rows in one compiled call (the rows are
  repeated ``n_samples`` times along the batch axis), chunked to bound memory.

Uncertainty, for mean class probabilities ``p = mean_s p_s`` (natural logarithms):

- predictive entropy ``H[p] = -sum_k p_k log p_k`` (total uncertainty);
- expected entropy ``E_s H[p_s]`` (the noise each subnetwork sees: aleatoric);
- mutual information (BALD) ``H[p] - E_s H[p_s]`` (disagreement between subnetworks:
  epistemic, what more data would reduce).

Calibration: :func:`expected_calibration_error` (equal-width confidence bins) and
:func:`reliability_diagram`.

Example::

    result = mc_predict(model, X_test, n_samples=100, seed=42)
    result.mean.argmax(axis=1), result.mutual_information
"""

import weakref
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

_EPS = 1e-12  # log(0) guard in entropies


def _always_on(base, doc):
    """A subclass of ``base`` whose ``call`` ignores ``training`` and always drops."""

    def call(self, inputs, training=None):
        return base.call(self, inputs, training=True)

    name = "MC" + base.__name__
    cls = type(name, (base,), {"call": call, "__doc__": doc, "__module__": __name__})
    return keras.saving.register_keras_serializable(package="course_utils")(cls)


MCDropout = _always_on(keras.layers.Dropout, "``Dropout`` that also drops at inference.")


@keras.saving.register_keras_serializable(package="course_utils")
class MCAlphaDropout(keras.layers.AlphaDropout):
    """``AlphaDropout`` that also drops at inference.

    The same draws and the same values as Keras's layer (``a * x + b`` where kept,
    ``a * alpha' + b`` where dropped), computed as one select instead of Keras's chain of
    five element-wise products and sums: MC dropout draws hundreds of masks per input, and
    on a CPU that element-wise work costs as much as the matrix products.
    """

    def call(self, inputs, training=None):
        if self.rate <= 0:
            return inputs
        shape = ops.shape(inputs) if self.noise_shape is None else self._get_concrete_noise_shape(inputs, self.noise_shape)
        alpha_p = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
        a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        kept = ops.greater_equal(keras.random.uniform(shape, seed=self.seed_generator, dtype=inputs.dtype), self.rate)
        return ops.where(kept, inputs * a + b, a * alpha_p + b)


MCGaussianDropout = _always_on(keras.layers.GaussianDropout, "``GaussianDropout`` that also acts at inference.")
MCSpatialDropout1D = _always_on(keras.layers.SpatialDropout1D, "``SpatialDropout1D`` that also drops at inference.")
MCSpatialDropout2D = _always_on(keras.layers.SpatialDropout2D, "``SpatialDropout2D`` that also drops at inference.")
MCSpatialDropout3D = _always_on(keras.layers.SpatialDropout3D, "``SpatialDropout3D`` that also drops at inference.")

MC_VERSION = {
    keras.layers.Dropout: MCDropout, keras.layers.AlphaDropout: MCAlphaDropout,
    keras.layers.GaussianDropout: MCGaussianDropout, keras.layers.SpatialDropout1D: MCSpatialDropout1D,
    keras.layers.SpatialDropout2D: MCSpatialDropout2D, keras.layers.SpatialDropout3D: MCSpatialDropout3D,
}
_MC_LAYERS = tuple(MC_VERSION.values())


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def mc_layers(model):
    """The MC dropout layers of ``model``, nested models included."""
    return [layer for layer in _all_layers(model) if isinstance(layer, _MC_LAYERS)]


def to_mc_model(model):
    """``model`` with each dropout layer replaced by its MC version, weights shared.

    Sequential and functional models, nested ones too. Layers other than dropout are
    reused as they are (the same objects), so training either model trains both.
    """
    if not any(type(layer) in MC_VERSION or isinstance(layer, _MC_LAYERS) for layer in _all_layers(model)):
        raise ValueError(f"model {model.name!r} has no dropout layer: MC dropout needs one "
                         f"of {', '.join(cls.__name__ for cls in MC_VERSION)}.")

    def swap(layer):
        mc = MC_VERSION.get(type(layer))
        return mc.from_config(layer.get_config()) if mc else layer

    return keras.models.clone_model(model, clone_function=swap, recursive=True)


@dataclass
class MCPrediction:
    """What :func:`mc_predict` returns; arrays are NumPy, one row per input row."""
    mean: np.ndarray                 # (rows, classes): mean probabilities
    std: np.ndarray                  # (rows, classes): their standard deviation over samples
    predictive_entropy: np.ndarray   # (rows,)
    expected_entropy: np.ndarray     # (rows,)
    mutual_information: np.ndarray   # (rows,)
    samples: np.ndarray = None       # (n_samples, rows, classes) when asked for


def entropy(probabilities, axis=-1):
    """``-sum p log p`` along ``axis`` (natural log), NumPy."""
    p = np.asarray(probabilities, np.float64)
    return -(p * np.log(p + _EPS)).sum(axis=axis)


def mc_predict(model, x, n_samples=100, *, batch_size=None, seed=None, return_samples=False,
               max_rows=32_768, verbose="auto"):
    """MC dropout predictions of ``model`` (softmax outputs) on ``x``.

    ``model`` may have plain dropout layers (they are made MC with :func:`to_mc_model`,
    weights shared) or MC ones. Each chunk of ``batch_size`` input rows is repeated
    ``n_samples`` times and goes through the model in one compiled call; by default a
    chunk holds as many rows as keep ``rows * n_samples`` within ``max_rows``. A
    progress bar shows when there is more than one chunk (``verbose=0`` hides it).
    ``seed`` makes the samples reproducible.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples={n_samples!r}: expected a positive integer.")
    x = np.asarray(x)
    if batch_size is None:
        batch_size = max(1, max_rows // n_samples)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}: expected a positive integer.")
    mc_model = model if mc_layers(model) else _mc_version(model)
    if seed is not None:
        for i, layer in enumerate(mc_layers(mc_model)):
            state = layer.seed_generator.state
            state.assign(np.array([seed, i], dtype=state.dtype))
    step = _compiled_step(mc_model, n_samples, return_samples)
    chunks = range(0, len(x), batch_size)
    progbar = keras.utils.Progbar(len(chunks), unit_name="chunk") if verbose and len(chunks) > 1 else None
    parts = []
    for i, start in enumerate(chunks):
        parts.append([np.asarray(t) for t in step(x[start:start + batch_size])])
        if progbar:
            progbar.update(i + 1)
    mean, std, h_mean, h_expected, *samples = (np.concatenate(p, axis=-2 if k == 4 else 0)
                                               for k, p in enumerate(zip(*parts)))
    return MCPrediction(mean, std, h_mean, h_expected, h_mean - h_expected,
                        samples[0] if return_samples else None)


_MC_MODELS = weakref.WeakKeyDictionary()  # plain model -> its MC version, made once


def _mc_version(model):
    if model not in _MC_MODELS:
        _MC_MODELS[model] = to_mc_model(model)
    return _MC_MODELS[model]


_STEPS = weakref.WeakKeyDictionary()  # model -> {(n_samples, return_samples): compiled step}


def _compiled_step(mc_model, n_samples, return_samples):
    """A tf.function: rows -> mean, std, entropy of the mean, mean entropy (, samples).

    Kept per model, so repeated calls do not trace again.
    """
    import tensorflow as tf
    cached = _STEPS.setdefault(mc_model, {})
    if (n_samples, return_samples) in cached:
        return cached[n_samples, return_samples]

    @tf.function(reduce_retracing=True)
    def step(rows):
        m = ops.shape(rows)[0]
        tiled = ops.repeat(rows, n_samples, axis=0)           # row 0 n times, then row 1 ...
        probs = mc_model(tiled, training=False)                # batch norm in inference mode
        probs = ops.reshape(probs, (m, n_samples, -1))
        mean = ops.mean(probs, axis=1)
        std = ops.std(probs, axis=1)
        h_mean = -ops.sum(mean * ops.log(mean + _EPS), axis=-1)
        h_expected = ops.mean(-ops.sum(probs * ops.log(probs + _EPS), axis=-1), axis=1)
        out = (mean, std, h_mean, h_expected)
        return out + (ops.transpose(probs, (1, 0, 2)),) if return_samples else out

    cached[n_samples, return_samples] = step
    return step


# --------------------------------------------------------------------------- calibration

def _bins(probabilities, y, n_bins):
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins={n_bins!r}: expected a positive integer.")
    p = np.asarray(probabilities, np.float64)
    y = np.asarray(y).ravel()
    if p.ndim != 2 or len(p) != len(y):
        raise ValueError(f"probabilities of shape {p.shape} do not match {len(y)} labels.")
    confidence = p.max(axis=1)
    correct = p.argmax(axis=1) == y
    # Equal-width bins over [0, 1]; a confidence of exactly 1 goes in the last bin.
    which = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    conf = np.bincount(which, confidence, n_bins) / np.maximum(count, 1)
    acc = np.bincount(which, correct, n_bins) / np.maximum(count, 1)
    return count, conf, acc


def expected_calibration_error(probabilities, y, n_bins=15):
    """ECE: ``sum_b (n_b / N) |accuracy_b - confidence_b|`` over equal-width confidence bins."""
    count, conf, acc = _bins(probabilities, y, n_bins)
    return float((count / count.sum() * np.abs(acc - conf)).sum())


def reliability_diagram(probabilities, y, n_bins=10, *, ax=None, label=None):
    """Accuracy against confidence per bin, with the diagonal of perfect calibration."""
    import matplotlib.pyplot as plt
    count, conf, acc = _bins(probabilities, y, n_bins)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot([0, 1], [0, 1], "k:", label="perfect calibration")
    centers = (np.arange(n_bins) + 0.5) / n_bins
    used = count > 0
    ece = expected_calibration_error(probabilities, y, n_bins)
    ax.plot(centers[used], acc[used], "o-", label=f"{label or 'model'} (ECE {ece:.3f})")
    ax.set_xlabel("confidence (top class probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("Reliability diagram")
    return ax

