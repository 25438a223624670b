"""Per-layer statistics that show vanishing and exploding gradients and dead units.

For every layer with an activation (``Dense``/convolutions with ``activation=``, and
activation layers) on one batch:

- activation ``mean`` and ``std`` over the batch and the units;
- ``saturated``: share of activations in the flat part of the function, where its
  derivative is under 0.05 (sigmoid: below 0.053 or above 0.947; tanh: |a| > 0.975;
  the negative plateau of ELU and SELU); 0 for functions without one;
- ``dead``: share of units that output exactly 0 for every sample of the batch (ReLU);
- ``grad_norm``: L2 norm of the gradient of the loss with respect to the layer's kernel.

fastai's ``ActivationStats`` records the first three per batch during training; it has no
gradients, and gradients are what vanish. :class:`StatsRecorder` records all of these
every few batches during ``fit``; :func:`layer_stats` takes one snapshot; the plots show
them per layer and over time.

Example::

    stats = layer_stats(model, X_valid[:256], y_valid[:256])
    plot_layer_stats({"sigmoid": stats})
"""

from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

# Where each activation's derivative drops below 0.05: the saturated (or flat) region.
_SATURATION = {
    "sigmoid": lambda a: (a < 0.0528) | (a > 0.9472),
    "tanh": lambda a: np.abs(a) > 0.9747,
    "elu": lambda a: a < -0.95,            # ELU(z) = e^z - 1 has slope e^z < 0.05 when a < -0.95
    "selu": lambda a: a < -1.7081,         # 1.0507 * 1.6733 * (e^z - 1), slope < 0.05
    "softmax": lambda a: np.zeros(a.shape, bool),
}


@dataclass
class LayerStats:
    """Statistics of each watched layer on one batch (arrays ordered like ``names``)."""
    names: list
    mean: np.ndarray
    std: np.ndarray
    saturated: np.ndarray
    dead: np.ndarray
    grad_norm: np.ndarray


def watched_layers(model):
    """Layers whose output is an activation: with a non-linear ``activation``, or activation layers."""
    layers = []
    for layer in model.layers:
        act = getattr(layer, "activation", None)
        name = getattr(act, "__name__", "")
        if isinstance(layer, (keras.layers.Activation, keras.layers.ReLU, keras.layers.LeakyReLU,
                              keras.layers.ELU, keras.layers.PReLU)) or (act is not None and name != "linear"):
            layers.append(layer)
    if not layers:
        raise ValueError(f"model {model.name!r} has no layer with an activation to watch.")
    return layers


class _Probe:
    """The model's outputs plus every watched layer's output, and the loss gradients."""

    def __init__(self, model):
        if not model.built or model.inputs is None:
            raise ValueError(f"model {model.name!r} has no known input: start it with keras.Input(shape=...).")
        self.model = model
        self.layers = watched_layers(model)
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
            saturated = _SATURATION.get(fn, lambda v: np.zeros(v.shape, bool))(a).mean()
            dead = np.all(a.reshape(len(a), -1) == 0, axis=0).mean()
            g = grads_by_kernel.get(id(kernel)) if kernel is not None else None
            names.append(layer.name)
            rows.append((a.mean(), a.std(), saturated, dead,
                         np.nan if g is None else float(np.linalg.norm(ops.convert_to_numpy(g)))))
        return LayerStats(names, *(np.array(col, dtype=np.float64) for col in zip(*rows)))

    def _loss(self, y, pred):
        loss = getattr(self.model, "loss", None)
        if loss is None:
            raise ValueError("gradient norms need the loss: compile the model first (or pass y=None).")
        return ops.mean(keras.losses.get(loss)(y, pred))  # get() takes names and callables alike


def layer_stats(model, x, y=None):
    """:class:`LayerStats` of ``model`` on the batch ``x`` (gradients too when ``y`` is given)."""
    return _Probe(model)(x, y)


class StatsRecorder(keras.callbacks.Callback):
    """Records :func:`layer_stats` on a fixed batch every ``every`` training batches.

    ``self.steps`` holds the step numbers and ``self.history`` one :class:`LayerStats`
    per record; :func:`plot_stats_over_time` draws them.
    """

    def __init__(self, x, y=None, every=10):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every={every!r}: expected a positive integer.")
        self.x, self.y, self.every = x, y, every
        self.steps, self.history, self._step = [], [], 0

    def on_train_begin(self, logs=None):
        self._probe = _Probe(self.model)
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
    """One panel per statistic, layer depth on x, one line per run (``{label: LayerStats}``)."""
    import matplotlib.pyplot as plt
    titles = {"grad_norm": "gradient norm of the kernel", "std": "activation std",
              "mean": "activation mean", "saturated": "share saturated", "dead": "share of dead units"}
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
    """Lines over training steps, one per layer (every layer, or the indices in ``layers``)."""
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
