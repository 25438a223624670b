"""Figures the lectures share: image grids, learning curves, activation functions.

Every function draws on matplotlib axes and returns them, so a lecture can add to a
figure or label it further.
"""

import matplotlib.pyplot as plt
import numpy as np

def show_images(x, y=None, class_names=None, *, n_rows=4, n_cols=10, title=None):
    """A grid of the first ``n_rows * n_cols`` images, each titled with its class name.

    Grayscale images (N, H, W) are drawn dark on light, as on paper; colour images
    (N, H, W, 3) as they are. With fewer images than cells, the last cells stay empty.

    Args:
        x: the images, an array of shape (N, H, W) (grayscale) or (N, H, W, 3) (colour).
        y: None (no titles), or one label per image: an integer class, or an array whose
            first element is it (e.g. CIFAR-10's labels of shape (N, 1)).
        class_names: None, or the class names indexed by label, e.g.
            ``datasets.MNIST_CLASSES``; without them the titles are the label numbers.
        n_rows: the number of rows of the grid.
        n_cols: the number of columns of the grid.
        title: None, or a title above the whole figure.

    Returns:
        The matplotlib axes, a NumPy array of shape (n_rows, n_cols), e.g. to colour the
        title of a wrong prediction.

    Raises:
        ValueError: if ``x`` is not of shape (N, H, W) or (N, H, W, 3).

    Example:
        import matplotlib.pyplot as plt
        from course_utils import datasets, plots

        (X_train, y_train), (X_test, y_test) = datasets.load_mnist()
        plots.show_images(X_train, y_train, datasets.MNIST_CLASSES, n_rows=4, n_cols=10,
                          title="The first 40 training images and their labels")
        plt.show()
    """
    x = np.asarray(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"x has shape {x.shape}: expected (N, H, W) or (N, H, W, 3) images.")
    n = min(len(x), n_rows * n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * 1.2, n_rows * 1.35), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(x[i], cmap="binary" if x.ndim == 3 else None, interpolation="nearest")
        if y is not None:
            label = int(np.ravel(y[i])[0])
            ax.set_title(class_names[label] if class_names else str(label), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return axes


def plot_learning_curves(history, *, metrics=("loss", "accuracy"), title=None, ax=None):
    """Training and validation curves from a Keras ``History`` (or its ``.history`` dict).

    Training curves are solid and validation curves dashed in the same colour. Keras
    averages training metrics over each epoch while it trains, but measures validation
    at the end of the epoch, so the training curve is shifted half an epoch to the
    left, where its average really applies.

    Args:
        history: what ``model.fit`` returns (a ``keras.callbacks.History``), or its
            ``.history`` dict of per-epoch lists.
        metrics: the names of the metrics to draw, all on one axis; those not in
            ``history`` are skipped, and each one's ``val_`` curve is drawn if present.
        title: None, or the axes' title.
        ax: the matplotlib axes to draw on, or None for a new figure.

    Returns:
        The matplotlib axes drawn on.

    Raises:
        ValueError: if ``history`` has none of ``metrics``.

    Example:
        import matplotlib.pyplot as plt
        from course_utils import plots

        history = model.fit(X_train, y_train, epochs=10, validation_data=(X_valid, y_valid))
        plots.plot_learning_curves(history, title="784-500-500-10 sigmoid MLP, Adam, batch 100")
        plt.show()
    """
    logs = getattr(history, "history", history)
    present = [m for m in metrics if m in logs]
    if not present:
        raise ValueError(f"history has none of metrics={metrics!r}; it has {sorted(logs)}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    for i, metric in enumerate(present):
        colour = f"C{i}"
        values = np.asarray(logs[metric])
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs - 0.5, values, "-", color=colour, marker=".", label=f"train {metric}")
        if f"val_{metric}" in logs:
            ax.plot(epochs, logs[f"val_{metric}"], "--", color=colour, marker=".", label=f"validation {metric}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(" / ".join(present))
    ax.grid(True, alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


# Leaky ReLU with the slope of Keras's LeakyReLU layer (0.3), the one the lectures' models
# use: the function keras.activations.leaky_relu defaults to 0.2.
ACTIVATIONS = ("sigmoid", "tanh", "relu", ("leaky_relu", {"negative_slope": 0.3}), "elu", "selu", "gelu", "swish",
               "mish")


def _activation(spec):
    """``(label, function)`` of a name (``"elu"``) or of a ``(name, keyword arguments)`` pair."""
    import keras
    name, kwargs = (spec, {}) if isinstance(spec, str) else spec
    if not isinstance(name, str) or not isinstance(kwargs, dict):
        raise ValueError(f"activation {spec!r}: expected a name or a (name, {{argument: value}}) pair, "
                         'such as ("leaky_relu", {"negative_slope": 0.3}).')
    fn = keras.activations.get(name)
    if not kwargs:
        return name, fn
    arguments = ", ".join(f"{key}={value:g}" if isinstance(value, (int, float)) else f"{key}={value!r}"
                          for key, value in kwargs.items())
    return f"{name}({arguments})", lambda z: fn(z, **kwargs)


def plot_activations(names=ACTIVATIONS, *, z_range=(-5, 5), derivatives=False, ax=None):
    """Keras's activation functions (or their derivatives) on one axis.

    Each of ``names`` is a Keras activation name, or a pair ``(name, keyword arguments)``
    for a function's settings: ``("leaky_relu", {"negative_slope": 0.3})`` is the slope of
    the ``LeakyReLU`` layer, where ``"leaky_relu"`` alone is the function's default, 0.2.
    Such a curve is labelled with its arguments.

    For the sigmoid, the saturating regions (derivative under 0.05) are shaded: there a
    unit's gradient all but vanishes.

    Args:
        names: the functions to draw, each a Keras activation name (``"relu"``) or a pair
            ``(name, keyword arguments)``; by default ``ACTIVATIONS``, nine functions
            from the sigmoid to Mish, Leaky ReLU with slope 0.3.
        z_range: ``(low, high)``, the interval of inputs ``z`` drawn (401 points).
        derivatives: whether to draw the derivatives (computed with TensorFlow's
            ``GradientTape``) instead of the functions.
        ax: the matplotlib axes to draw on, or None for a new figure.

    Returns:
        The matplotlib axes drawn on.

    Raises:
        ValueError: for an entry of ``names`` that is neither a name nor a
            ``(name, dict)`` pair, or that Keras does not know.

    Example:
        import matplotlib.pyplot as plt
        from course_utils import plots

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4))
        plots.plot_activations(("sigmoid", "tanh", "relu"), ax=ax1)
        plots.plot_activations(("sigmoid", "tanh", ("leaky_relu", {"negative_slope": 0.3})),
                               z_range=(-4, 3), derivatives=True, ax=ax2)
        plt.show()
    """
    import tensorflow as tf
    functions = [_activation(spec) for spec in names]
    z = np.linspace(*z_range, 401).astype(np.float32)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    for label, fn in functions:
        zt = tf.constant(z)
        with tf.GradientTape() as tape:
            tape.watch(zt)
            a = fn(zt)
        values = tape.gradient(a, zt) if derivatives else a
        ax.plot(z, np.asarray(values), label=label)
    if "sigmoid" in [label for label, _ in functions]:
        edge = float(np.log(0.9472 / 0.0528))  # sigmoid'(z) < 0.05 beyond |z| = 2.887
        for lo, hi in ((z_range[0], -edge), (edge, z_range[1])):
            ax.axvspan(lo, hi, color="grey", alpha=0.12)
        ax.text(z_range[0] + 0.2, 0.9 if not derivatives else 0.2, "sigmoid saturates", fontsize=8, color="grey")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel("z")
    ax.set_ylabel("derivative" if derivatives else "activation")
    ax.set_title("Derivatives of activation functions" if derivatives else "Activation functions")
    ax.grid(True, alpha=0.3)
    ax.legend(ncol=3, fontsize=8)
    return ax
