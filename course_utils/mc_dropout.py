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
  repeated ``n_samples`` times along the batch axis, and each MC layer draws one mask
  per sample for all the rows: one random subnetwork per sample, so the random numbers
  cost next to nothing), chunked to bound memory.

Uncertainty, for mean class probabilities ``p = mean_s p_s`` (natural logarithms):

- predictive entropy ``H[p] = -sum_k p_k log p_k`` (total uncertainty);
- expected entropy ``E_s H[p_s]`` (the noise each subnetwork sees: aleatoric);
- mutual information (BALD) ``H[p] - E_s H[p_s]`` (disagreement between subnetworks:
  epistemic, what more data would reduce).

Calibration, over ``N_BINS`` equal-width confidence bins unless told otherwise, so that a
diagram's legend and a printed ECE are the same figure: :func:`calibration_bins` (the
table per bin), :func:`expected_calibration_error` and :func:`reliability_diagram`.

Example::

    result = mc_predict(model, X_test, n_samples=100, seed=42)
    result.mean.argmax(axis=1), result.mutual_information
"""

import contextlib
import weakref
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from course_utils.arguments import whole_number

_EPS = 1e-12  # log(0) guard in entropies


class _MCLayer:
    """Stays active at inference; draws one mask per MC sample when ``samples`` is set.

    Called normally, it drops like the Keras layer in training mode: an independent mask
    for every element. While :func:`mc_predict` traces its step it sets ``samples = n``:
    the batch then holds the rows ``n`` times over, sample-major, and the layer draws one
    mask per sample, shared by all the rows of that sample. That is one random subnetwork
    per sample applied to every row (Gal and Ghahramani's weight-sampling view of MC
    dropout): each row's samples have the same distribution as with per-element masks, but
    the random draws are per sample instead of per element, which makes them nearly free.
    """

    samples = None

    def call(self, inputs, training=None):
        if not self.samples or getattr(self, "noise_shape", None) is not None:
            return self._drop(inputs, ops.shape(inputs))
        shape = ops.shape(inputs)
        x = ops.reshape(inputs, (self.samples, -1, *shape[1:]))
        return ops.reshape(self._drop(x, self._shared_shape(ops.shape(x))), shape)

    def _shared_shape(self, shape):
        return (shape[0], 1, *shape[2:])  # one mask per sample, the same for every row

    def _kept(self, shape, dtype):
        return ops.greater_equal(keras.random.uniform(shape, seed=self.seed_generator, dtype=dtype), self.rate)


def _mc(base, drop, shared_shape=None):
    """The MC version of ``base``; ``drop(layer, x, noise_shape)`` applies one draw."""
    body = {"_drop": drop, "__module__": __name__,
            "__doc__": f"``{base.__name__}`` that also drops at inference (see ``_MCLayer``)."}
    if shared_shape:
        body["_shared_shape"] = shared_shape
    cls = type("MC" + base.__name__, (_MCLayer, base), body)
    return keras.saving.register_keras_serializable(package="course_utils")(cls)


def _dropout(layer, x, shape):
    if layer.rate <= 0:
        return x
    return ops.where(layer._kept(shape, x.dtype), x / (1 - layer.rate), ops.zeros_like(x))


def _alpha_dropout(layer, x, shape):
    """Keras's values (``a x + b`` kept, ``a alpha' + b`` dropped) as one select, not five ops."""
    if layer.rate <= 0:
        return x
    alpha_p = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
    a = ((1 - layer.rate) * (1 + layer.rate * alpha_p**2)) ** -0.5
    b = -a * alpha_p * layer.rate
    return ops.where(layer._kept(shape, x.dtype), x * a + b, a * alpha_p + b)


def _gaussian_dropout(layer, x, shape):
    if layer.rate <= 0:
        return x
    stddev = (layer.rate / (1.0 - layer.rate)) ** 0.5
    return x * keras.random.normal(shape, mean=1.0, stddev=stddev, seed=layer.seed_generator, dtype=x.dtype)


def _spatial_shape(self, shape):
    """One mask per sample and channel: the spatial axes and the rows share it."""
    if getattr(self, "data_format", "channels_last") == "channels_first":
        return (shape[0], 1, shape[2], *[1] * (len(shape) - 3))
    return (shape[0], *[1] * (len(shape) - 2), shape[-1])


def _spatial_dropout(layer, x, shape):
    if not layer.samples:  # an ordinary call: Keras's noise shape, one mask per example and channel
        shape = layer._get_noise_shape(x)
    return _dropout(layer, x, shape)


MCDropout = _mc(keras.layers.Dropout, _dropout)
MCAlphaDropout = _mc(keras.layers.AlphaDropout, _alpha_dropout)
MCGaussianDropout = _mc(keras.layers.GaussianDropout, _gaussian_dropout)
MCSpatialDropout1D = _mc(keras.layers.SpatialDropout1D, _spatial_dropout, _spatial_shape)
MCSpatialDropout2D = _mc(keras.layers.SpatialDropout2D, _spatial_dropout, _spatial_shape)
MCSpatialDropout3D = _mc(keras.layers.SpatialDropout3D, _spatial_dropout, _spatial_shape)

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


def mc_predict(model, x, n_samples=100, *, batch_size=None, seed=None, return_samples=False,
               max_rows=32_768, verbose="auto"):
    """MC dropout predictions of ``model`` (softmax outputs) on ``x``.

    Each chunk of ``batch_size`` input rows is repeated ``n_samples`` times and goes
    through the model in one compiled call (compiled once per model, ``n_samples`` and
    ``return_samples``); each MC layer draws one mask per sample, shared by the rows of
    the chunk. Batch normalization stays in inference mode.

    Args:
        model: a Keras model whose output is class probabilities (softmax). It may have
            plain dropout layers (``Dropout``, ``AlphaDropout``, ``GaussianDropout``,
            ``SpatialDropout1D/2D/3D``: they are made MC with :func:`to_mc_model`,
            weights shared, once per model) or MC ones (used as they are).
        x: the inputs, an array with one row per example (taken as ``np.asarray(x)``).
        n_samples: MC samples (random subnetworks) per row, a positive integer.
            Defaults to 100.
        batch_size: input rows per compiled call, a positive integer; a call runs
            ``batch_size * n_samples`` rows. Defaults to ``None``: as many rows as keep
            ``rows * n_samples`` within ``max_rows``, i.e.
            ``max(1, max_rows // n_samples)``.
        seed: an integer that makes the samples reproducible (it sets the state of each
            MC layer's seed generator), or ``None``. Defaults to ``None``.
        return_samples: whether to also return every sample's probabilities, in
            ``samples``. Defaults to ``False``.
        max_rows: the bound on ``rows * n_samples`` per call when ``batch_size`` is
            ``None``, to bound memory. Defaults to 32768.
        verbose: a progress bar shows when there is more than one chunk; ``0`` hides it.
            Defaults to ``"auto"``.

    Returns:
        An :class:`MCPrediction` of NumPy arrays, one row per row of ``x``: ``mean``
        (rows, classes), the mean probabilities ``p = mean_s p_s``; ``std`` (rows,
        classes), their standard deviation over the samples; ``predictive_entropy``
        ``H[p]``, ``expected_entropy`` ``E_s H[p_s]`` and ``mutual_information``
        ``H[p] - E_s H[p_s]`` (each (rows,), natural logarithms); and ``samples``,
        (n_samples, rows, classes) when ``return_samples`` is true, else ``None``.

    Raises:
        ValueError: if ``n_samples`` or ``batch_size`` is not a positive integer, or if
            ``model`` has no dropout layer.

    Example:
        result = mc_predict(model, X_test, n_samples=100, seed=42)
        y_pred = result.mean.argmax(axis=1)
        most_uncertain = np.argsort(result.mutual_information)[-10:]
    """
    n_samples = whole_number("n_samples", n_samples)
    x = np.asarray(x)
    if batch_size is None:
        batch_size = max(1, max_rows // n_samples)
    batch_size = whole_number("batch_size", batch_size)
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


@contextlib.contextmanager
def _one_mask_per_sample(mc_model, n_samples):
    """While tracing: the MC layers draw one mask per sample (see ``_MCLayer``)."""
    layers = mc_layers(mc_model)
    for layer in layers:
        layer.samples = n_samples
    try:
        yield
    finally:
        for layer in layers:
            layer.samples = None


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
        tiled = ops.tile(rows, (n_samples,) + (1,) * (len(rows.shape) - 1))  # all rows, n times
        with _one_mask_per_sample(mc_model, n_samples):
            probs = mc_model(tiled, training=False)            # batch norm in inference mode
        probs = ops.reshape(probs, (n_samples, m, -1))
        mean = ops.mean(probs, axis=0)
        std = ops.std(probs, axis=0)
        h_mean = -ops.sum(mean * ops.log(mean + _EPS), axis=-1)
        h_expected = ops.mean(-ops.sum(probs * ops.log(probs + _EPS), axis=-1), axis=0)
        out = (mean, std, h_mean, h_expected)
        return out + (probs,) if return_samples else out

    cached[n_samples, return_samples] = step
    return step


# --------------------------------------------------------------------------- calibration

N_BINS = 10  # one default for the table, the ECE and the diagram


@dataclass
class CalibrationBins:
    """Per equal-width confidence bin (arrays of length ``n_bins``; empty bins hold 0)."""
    lower: np.ndarray       # the bin's lower edge; it spans [lower, lower + 1 / n_bins)
    count: np.ndarray       # predictions whose confidence falls in the bin
    confidence: np.ndarray  # their mean top-class probability
    accuracy: np.ndarray    # the share of them that is right

    @property
    def gap(self):
        """Confidence minus accuracy: > 0 over-confident, < 0 under-confident."""
        return self.confidence - self.accuracy

    @property
    def ece(self):
        """``sum_b (n_b / N) |accuracy_b - confidence_b|``."""
        return float((self.count / self.count.sum() * np.abs(self.gap)).sum())


def calibration_bins(probabilities, y, n_bins=N_BINS):
    """:class:`CalibrationBins` of class probabilities ``(rows, classes)`` against labels ``y``.

    A prediction's confidence is its top-class probability, and it is right when its
    top class is the label. Confidences fall in equal-width bins over [0, 1]; a
    confidence of exactly 1 goes in the last bin.

    Args:
        probabilities: class probabilities, an array of shape ``(rows, classes)``, e.g.
            ``model.predict(X_test)`` or ``mc_predict(...).mean``.
        y: the integer class labels, one per row (flattened, so ``(rows, 1)`` works too).
        n_bins: the number of equal-width confidence bins, a positive integer.
            Defaults to ``N_BINS`` (10).

    Returns:
        A :class:`CalibrationBins`: arrays of length ``n_bins`` (empty bins hold 0) of
        each bin's lower edge (``lower``), number of predictions (``count``), mean
        confidence (``confidence``) and share of right predictions (``accuracy``), with
        the properties ``gap`` (confidence minus accuracy) and ``ece``.

    Raises:
        ValueError: if ``probabilities`` is not 2-D or has not one row per label, or if
            ``n_bins`` is not a positive integer.

    Example:
        bins = calibration_bins(model.predict(X_test), y_test)
        print(f"ECE {bins.ece:.3f}", bins.gap)
    """
    n_bins = whole_number("n_bins", n_bins)
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
    return CalibrationBins(np.arange(n_bins) / n_bins, count, conf, acc)


def expected_calibration_error(probabilities, y, n_bins=N_BINS):
    """ECE: ``sum_b (n_b / N) |accuracy_b - confidence_b|`` over equal-width confidence bins."""
    return calibration_bins(probabilities, y, n_bins).ece


def reliability_diagram(probabilities, y, n_bins=N_BINS, *, ax=None, label=None):
    """Accuracy against confidence per bin, with the diagonal of perfect calibration.

    Plots each non-empty bin's accuracy at the bin's centre. The legend's ECE is
    :func:`expected_calibration_error` with the same ``n_bins``.

    Args:
        probabilities: class probabilities, an array of shape ``(rows, classes)``.
        y: the integer class labels, one per row.
        n_bins: the number of equal-width confidence bins, a positive integer.
            Defaults to ``N_BINS`` (10).
        ax: the Matplotlib ``Axes`` to draw on, e.g. the one a first call returned, to
            compare models on one diagram. Defaults to ``None``: a new figure, with the
            diagonal of perfect calibration (drawn only then).
        label: the curve's name in the legend, followed by its ECE. Defaults to
            ``None``, shown as ``"model"``.

    Returns:
        The Matplotlib ``Axes`` drawn on.

    Raises:
        ValueError: as :func:`calibration_bins`, if ``probabilities`` and ``y`` do not
            match or ``n_bins`` is not a positive integer.

    Example:
        ax = reliability_diagram(model.predict(X_test), y_test, label="plain")
        reliability_diagram(mc_predict(model, X_test).mean, y_test, ax=ax, label="MC dropout")
    """
    import matplotlib.pyplot as plt
    bins = calibration_bins(probabilities, y, n_bins)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot([0, 1], [0, 1], "k:", label="perfect calibration")
    centers = bins.lower + 0.5 / n_bins
    used = bins.count > 0
    ax.plot(centers[used], bins.accuracy[used], "o-", label=f"{label or 'model'} (ECE {bins.ece:.3f})")
    ax.set_xlabel("confidence (top class probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("Reliability diagram")
    return ax
