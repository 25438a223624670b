"""Per-layer statistics that show vanishing and exploding gradients and dead units.

For every layer with an activation (``Dense``/convolutions with ``activation=``, and
activation layers) on one batch:

- activation ``mean`` and ``std`` over the batch and the units;
- ``saturated``: share of activations in the flat part of the function, where its
  derivative is under 0.05 (sigmoid: below 0.053 or above 0.947; tanh: |a| > 0.975;
  the negative plateau of ELU and SELU); 0 for functions without one;
- ``dead``: share of units that output exactly 0 for every sample of the batch (ReLU);
- ``slope``: root mean square of the activation's derivative over the batch and the
  units, worked out from the outputs (sigmoid ``a(1 - a)``, at most 0.25; tanh
  ``1 - a^2``; ReLU, ELU, SELU); NaN for functions it cannot be read from (softmax);
- ``gain``: ``std(kernel) * sqrt(fan_out)``, the factor by which multiplying by the
  kernel's transpose scales the root mean square of a gradient on its way back;
- ``grad_norm``: L2 norm of the gradient of the loss with respect to the layer's kernel.

On its way down, a gradient is multiplied at each layer by the kernel's transpose and by
the slope of the activation below, so from one layer to the next its size changes by about
``gain * slope``; :func:`gradient_factor` measures that change in the gradient norms.

fastai's ``ActivationStats`` records the first three per batch during training; it has no
gradients, and gradients are what vanish. :class:`StatsRecorder` records all of these
every few batches during ``fit``; :func:`layer_stats` takes one snapshot; the plots show
them per layer and over time.

Example::

    stats = layer_stats(model, X_valid[:256], y_valid[:256], output=False)
    plot_layer_stats({"sigmoid": stats})
    print(gradient_factor(stats, first=1))  # per layer, from the last hidden layer down to the second
"""

from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from course_utils.arguments import whole_number

_SELU_SCALE, _SELU_ALPHA = 1.0507009873554805, 1.6732632423543772
# Each activation's derivative, written with its output a = f(z).
_SLOPE = {
    "sigmoid": lambda a: a * (1 - a),
    "tanh": lambda a: 1 - a ** 2,
    "relu": lambda a: (a > 0).astype(np.float64),
    "elu": lambda a: np.where(a > 0, 1.0, a + 1),                                   # e^z = a + 1 below 0
    "selu": lambda a: np.where(a > 0, _SELU_SCALE, a + _SELU_SCALE * _SELU_ALPHA),  # λαe^z = a + λα below 0
}
# A unit is saturated where its slope is under 0.05 on a plateau: both of the sigmoid's and tanh's,
# the negative one of ELU and SELU. ReLU's zero slope is a dead unit, counted apart.
_SATURATING = ("sigmoid", "tanh", "elu", "selu")


@dataclass
class LayerStats:
    """Statistics of each watched layer on one batch (arrays ordered like ``names``)."""
    names: list
    mean: np.ndarray
    std: np.ndarray
    saturated: np.ndarray
    dead: np.ndarray
    grad_norm: np.ndarray
    slope: np.ndarray
    gain: np.ndarray


def watched_layers(model, output=True):
    """Layers whose output is an activation: with a non-linear ``activation``, or activation layers.

    ``output=False`` leaves out the model's output layer (a softmax: probabilities, not
    hidden units), so that a network of 30 hidden layers gives 30 rows.
    """
    layers = []
    for layer in model.layers:
        act = getattr(layer, "activation", None)
        name = getattr(act, "__name__", "")
        if isinstance(layer, (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU,
                              keras.layers.ELU, keras.layers.PReLU)) or (act is not None and name != "linear"):
            layers.append(layer)
    if not output and layers and layers[-1] is model.layers[-1]:
        layers = layers[:-1]
    if not layers:
        raise ValueError(f"model {model.name!r} has no layer with an activation to watch.")
    return layers


class _Probe:
    """The model's outputs plus every watched layer's output, and the loss gradients."""

    def __init__(self, model, output=True):
        if not model.built or model.inputs is None:
            raise ValueError(f"model {model.name!r} has no known input: start it with keras.Input(shape=...).")
        self.model = model
        self.layers = watched_layers(model, output)
        self.kernels = [getattr(layer, "kernel", None) for layer in self.layers]
        self.outputs = keras.Model(model.inputs, [layer.output for layer in self.layers] + [model.outputs[0]])

    def __call__(self, x, y=None):
        import tensorflow as tf
        x = ops.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            *acts, pred = self.outputs(x, training=False)
            loss = None if y is None else self._loss(y, pred)
        variables = [k for k in self.kernels if k is not None]
        grads = tape.gradient(loss, variables) if loss is not None else [None] * len(variables)
        grads_by_kernel = dict(zip(map(id, variables), grads))
        names, rows = [], []
        for layer, kernel, act in zip(self.layers, self.kernels, acts):
            a = ops.convert_to_numpy(act)
            fn = getattr(getattr(layer, "activation", None), "__name__", type(layer).__name__.lower())
            slopes = _SLOPE[fn](a.astype(np.float64)) if fn in _SLOPE else None
            saturated = (slopes < 0.05).mean() if fn in _SATURATING else 0.0
            dead = np.all(a.reshape(len(a), -1) == 0, axis=0).mean()
            slope = np.sqrt(np.mean(slopes ** 2)) if slopes is not None else np.nan
            g = grads_by_kernel.get(id(kernel)) if kernel is not None else None
            names.append(layer.name)
            rows.append((a.mean(), a.std(), saturated, dead,
                         np.nan if g is None else float(np.linalg.norm(ops.convert_to_numpy(g))),
                         slope, _gain(kernel)))
        return LayerStats(names, *(np.array(col, dtype=np.float64) for col in zip(*rows)))

    def _loss(self, y, pred):
        loss = getattr(self.model, "loss", None)
        if loss is None:
            raise ValueError("gradient norms need the loss: compile the model first (or pass y=None).")
        return ops.mean(keras.losses.get(loss)(y, pred))  # get() takes names and callables alike


def _gain(kernel):
    """``std(W) * sqrt(fan_out)``, with Keras's fan_out: the receptive field times the filters."""
    if kernel is None:
        return np.nan
    w = ops.convert_to_numpy(kernel)
    fan_out = w.shape[-1] * int(np.prod(w.shape[:-2])) if w.ndim > 2 else w.shape[-1]
    return float(w.std() * np.sqrt(fan_out))


def layer_stats(model, x, y=None, output=True):
    """:class:`LayerStats` of ``model`` on the batch ``x`` (gradients too when ``y`` is given).

    One forward pass (``training=False``) over the whole batch; the statistics are those of
    the module's docstring, one row per layer with an activation (:func:`watched_layers`).

    Args:
        model: a built Keras model with a known input (started with
            ``keras.Input(shape=...)``); compiled, when ``y`` is given, for its loss.
        x: one batch of inputs, an array or tensor the model takes in one call.
        y: None, or the targets of ``x`` for the model's loss: then ``grad_norm`` holds
            the gradient norms, else NaN.
        output: whether the model's output layer is a row; ``output=False`` leaves it out
            (a softmax: probabilities, not hidden units).

    Returns:
        A :class:`LayerStats`: ``names``, the watched layers' names from the input side to
        the output side, and one float64 array per statistic, one entry per layer in that
        order: ``mean``, ``std``, ``saturated``, ``dead``, ``grad_norm``, ``slope`` and
        ``gain`` (NaN where a layer has no kernel, or ``slope`` cannot be read off).

    Raises:
        ValueError: if the model has no known input or no layer with an activation, or
            if ``y`` is given and the model is not compiled.

    Example:
        from course_utils.diagnostics import layer_stats

        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        stats = layer_stats(model, X_valid[:512], y_valid[:512], output=False)
        stats.names[0], stats.grad_norm[0], stats.grad_norm[-1]
    """
    return _Probe(model, output)(x, y)


def gradient_factor(stats, first=0, last=None):
    """How much the gradient norm changes per layer, on average, from layer ``last`` down to ``first``.

    The geometric mean of ``grad_norm[i] / grad_norm[i + 1]`` over ``first <= i < last``
    (0-based rows; ``last`` defaults to the last row), which is
    ``(grad_norm[first] / grad_norm[last]) ** (1 / (last - first))``: below 1 the gradient
    vanishes on its way to the input, above 1 it explodes. Compare layers whose kernels have
    the same shape: a layer's gradient norm also grows with its number of weights.

    Args:
        stats: a :class:`LayerStats` with gradient norms, from :func:`layer_stats` called
            with ``y``.
        first: the 0-based row nearest the input, where the factor's span ends.
        last: the 0-based row nearest the output, where it starts; None for the last row.

    Returns:
        A float: the average factor per layer (NaN if either norm is NaN, e.g. for
        ``stats`` taken without ``y``).

    Raises:
        ValueError: unless ``0 <= first < last < len(stats.grad_norm)``.

    Example:
        from course_utils.diagnostics import gradient_factor, layer_stats

        stats = layer_stats(model, X_valid[:512], y_valid[:512], output=False)
        print(f"{gradient_factor(stats, first=1):.3f}")  # from the last hidden layer down to the second
    """
    norms = np.asarray(stats.grad_norm, dtype=np.float64)
    last = len(norms) - 1 if last is None else last
    if not 0 <= first < last < len(norms):
        raise ValueError(f"first={first}, last={last}: expected 0 <= first < last < {len(norms)}.")
    return float((norms[first] / norms[last]) ** (1 / (last - first)))


class StatsRecorder(keras.callbacks.Callback):
    """Records :func:`layer_stats` on a fixed batch every ``every`` training batches.

    A Keras callback: it records once when training begins, then after every ``every``-th
    training batch (counted over all epochs). ``self.steps`` holds the step numbers and
    ``self.history`` one :class:`LayerStats` per record; ``self.series(field)`` gives
    ``(steps, values)``, values with one row per record and one column per layer;
    :func:`plot_stats_over_time` draws them.

    Args:
        x: the fixed batch of inputs, the same at every record.
        y: None, or the targets of ``x``: needed for the gradient norms (the model must be
            compiled, as for ``fit``); without them ``grad_norm`` is NaN.
        every: the number of training batches between two records, a positive integer.
        output: whether the model's output layer is a row, as in :func:`layer_stats`.

    Raises:
        ValueError: if ``every`` is not a positive integer.

    Example:
        from course_utils.diagnostics import StatsRecorder, plot_stats_over_time

        recorder = StatsRecorder(X_valid[:256], y_valid[:256], every=20, output=False)
        model.fit(X_train, y_train, epochs=1, callbacks=[recorder], verbose=0)
        steps, norms = recorder.series("grad_norm")  # norms: (records, layers)
        plot_stats_over_time(recorder)
    """

    def __init__(self, x, y=None, every=10, output=True):
        super().__init__()
        every = whole_number("every", every)
        self.x, self.y, self.every, self.output = x, y, every, output
        self.steps, self.history, self._step = [], [], 0

    def on_train_begin(self, logs=None):
        self._probe = _Probe(self.model, self.output)
        self._record()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every == 0:
            self._record()

    def _record(self):
        self.steps.append(self._step)
        self.history.append(self._probe(self.x, self.y))

    def series(self, field):
        """``(steps, values)``: values has one row per record and one column per layer."""
        return np.array(self.steps), np.array([getattr(s, field) for s in self.history])


def plot_layer_stats(runs, fields=("grad_norm", "std", "saturated"), axes=None):
    """One panel per statistic, layer depth on x, one line per run (``{label: LayerStats}``).

    Layers are numbered from 1 on the input side; the gradient norm is drawn on a log scale.

    Args:
        runs: a dict label -> :class:`LayerStats` (from :func:`layer_stats`), one line each.
        fields: the statistics drawn, one panel each: names of :class:`LayerStats` fields
            (``grad_norm``, ``std``, ``mean``, ``saturated``, ``dead``, ``slope``, ``gain``).
        axes: None for a new row of panels, or a sequence of matplotlib axes, one per field.

    Returns:
        The axes drawn on, one per field (a NumPy array of them when made here); the
        legend is on the first.

    Example:
        import matplotlib.pyplot as plt
        from course_utils.diagnostics import layer_stats, plot_layer_stats

        runs = {"sigmoid": layer_stats(sigmoid_net, X_valid[:512], y_valid[:512], output=False),
                "relu": layer_stats(relu_net, X_valid[:512], y_valid[:512], output=False)}
        plot_layer_stats(runs, fields=("grad_norm", "saturated", "slope"))
        plt.show()
    """
    import matplotlib.pyplot as plt
    titles = {"grad_norm": "gradient norm of the kernel", "std": "activation std",
              "mean": "activation mean", "saturated": "share saturated", "dead": "share of dead units",
              "slope": "slope of the activation (rms)", "gain": "gain of the weights"}
    if axes is None:
        _, axes = plt.subplots(1, len(fields), figsize=(5 * len(fields), 3.8), squeeze=False)
        axes = axes[0]
    for ax, field in zip(axes, fields):
        for label, stats in runs.items():
            ax.plot(np.arange(1, len(stats.names) + 1), getattr(stats, field), marker=".", label=label)
        ax.set_xlabel("layer (input side -> output side)")
        ax.set_title(titles.get(field, field))
        if field == "grad_norm":
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    axes[0].legend()
    return axes


def plot_stats_over_time(recorder, field="grad_norm", ax=None, layers=None):
    """Lines over training steps, one per layer (every layer, or the indices in ``layers``).

    Colours run from the input side to the output side; the lines are labelled
    ``layer 1``, ``layer 2``, ... (a legend only for 12 lines or fewer); the gradient
    norm is drawn on a log scale.

    Args:
        recorder: a :class:`StatsRecorder` that has recorded (passed to ``fit``).
        field: the statistic drawn, a :class:`LayerStats` field name (``grad_norm``,
            ``std``, ``mean``, ``saturated``, ``dead``, ``slope``, ``gain``).
        ax: the matplotlib axes to draw on, or None for a new figure.
        layers: None for every layer, or the 0-based indices of the layers drawn.

    Returns:
        The matplotlib axes drawn on.

    Example:
        import matplotlib.pyplot as plt
        from course_utils.diagnostics import StatsRecorder, plot_stats_over_time

        recorder = StatsRecorder(X_valid[:256], y_valid[:256], every=20, output=False)
        model.fit(X_train, y_train, epochs=1, callbacks=[recorder], verbose=0)
        plot_stats_over_time(recorder, layers=[0, 9, 19, 29])  # layers 1, 10, 20, 30
        plt.show()
    """
    import matplotlib.pyplot as plt
    steps, values = recorder.series(field)
    names = recorder.history[0].names
    picked = range(len(names)) if layers is None else layers
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    colours = plt.cm.viridis(np.linspace(0, 1, len(names)))
    for i in picked:
        ax.plot(steps, values[:, i], color=colours[i], label=f"layer {i + 1}")
    ax.set_xlabel("training step")
    ax.set_title(field.replace("_", " "))
    if field == "grad_norm":
        ax.set_yscale("log")
    if len(list(picked)) <= 12:
        ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    return ax
