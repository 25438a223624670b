"""The learning-rate range test (LR finder), for Keras 3, leaving the model as it found it.

``find_lr`` trains the model for up to ``num_steps`` batches while raising the learning
rate from ``start_lr`` to ``end_lr`` (exponentially by default), records **each batch's
own loss** (Keras's ``logs["loss"]`` is the running mean of the epoch; the finder reads
the change in the loss tracker's total and count instead), and stops once the loss
diverges. Afterwards the model's weights, the optimizer's variables (iteration count,
slots) and its learning rate are restored exactly, also when the sweep is interrupted by
an exception or Ctrl-C.

Rate at step ``i`` of ``n``: exponential ``start * (end / start) ** (i / (n - 1))``,
linear ``start + (end - start) * i / (n - 1)``.

Two smoothings, for two jobs:

- **Stopping** happens during the sweep, so it can only look back: a bias-corrected
  exponential moving average, ``avg_i = beta * avg_{i-1} + (1 - beta) * loss_i`` reported
  as ``avg_i / (1 - beta ** (i + 1))``; the sweep stops once it exceeds ``diverge`` times
  its best or turns NaN.
- **The curve** (``smoothed``) and the suggestions read off it are computed after the
  sweep, when the whole curve is known: :func:`smooth`, a running median then a running
  mean, both centred on each batch. An EMA lags: with ``beta = 0.98`` it trails the loss
  by about ``beta / (1 - beta) = 49`` batches, which in a sweep of 430 batches over six
  decades is over half a decade of rate: the minimum and the steepest fall read off it
  come out at rates several times too high. A centred window has no lag.

Suggestions, as fastai makes them: ``steepest`` (where the smoothed loss falls fastest
against log rate), ``valley`` (fastai's: two-thirds of the way along the longest stretch
of decreasing loss), ``minimum / 10`` (a tenth of the rate at the lowest loss).

Example::

    result = find_lr(model, X_train, y_train, batch_size=128)
    result.plot()
    result.suggestions["valley"]
"""

import math
from dataclasses import dataclass, field

import keras
import numpy as np

from course_utils.arguments import whole_number


@dataclass
class LRFinderResult:
    """Rates tried, the loss of each batch, its smoothed version, and suggested rates.

    What :func:`find_lr` returns; ``result.plot()`` draws the curve. The three arrays have
    one entry per batch of the sweep that ran (fewer than ``num_steps`` when it stopped
    early).

    Args:
        lrs: the learning rate of each batch, a NumPy array.
        losses: each batch's own loss (not Keras's running mean of the epoch), a NumPy
            array; a diverged batch may hold NaN or inf.
        smoothed: the losses smoothed without lag by :func:`smooth` (a centred running
            median, then a centred running mean), a NumPy array.
        suggestions: suggested rates, as made by :func:`suggest`: a dict with the keys
            ``"valley"``, ``"steepest"`` and ``"minimum/10"``, or an empty dict when
            fewer than three smoothed losses are finite. Defaults to an empty dict.
        stopped_early: whether the sweep stopped because the loss diverged, before
            reaching ``num_steps``. Defaults to ``False``.

    Example:
        result = find_lr(model, X_train, y_train, batch_size=128)
        result.plot()
        print(result.suggestions["valley"], result.stopped_early)
    """
    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestions: dict = field(default_factory=dict)
    stopped_early: bool = False

    def plot(self, ax=None, *, log=True):
        """Smoothed loss against the rate (log axis), raw losses faint, suggestions marked."""
        import matplotlib.pyplot as plt
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        ax.plot(self.lrs, self.losses, color="C0", alpha=0.25, label="loss of each batch")
        ax.plot(self.lrs, self.smoothed, color="C0", label="smoothed loss")
        for (name, lr), colour in zip(self.suggestions.items(), ("C1", "C2", "C3")):
            i = int(np.argmin(np.abs(self.lrs - lr)))
            ax.plot(lr, self.smoothed[i], "o", color=colour, label=f"{name}: {lr:.2g}")
        if log:
            ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        finite = self.smoothed[np.isfinite(self.smoothed)]
        if finite.size:  # the tail may explode: keep the interesting part in view
            low, high = finite.min(), min(finite.max(), 4 * finite[0] if finite[0] > 0 else finite.max())
            ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        ax.set_title("Learning-rate range test")
        return ax


def find_lr(model, x, y=None, *, batch_size=32, start_lr=1e-7, end_lr=10.0, num_steps=100,
            mode="exponential", beta=0.98, diverge=4.0, window=None, verbose=1):
    """Run the range test on a compiled ``model``; return an :class:`LRFinderResult`.

    Trains ``model`` for up to ``num_steps`` batches, one learning rate per batch from
    ``start_lr`` to ``end_lr``, records each batch's own loss, and stops once the loss
    diverges (see the module's docstring). Afterwards the model's weights, the
    optimizer's variables (iteration count, slots) and its learning rate are restored
    exactly, also when the sweep is interrupted by an exception or Ctrl-C. An optimizer
    that is not built yet is built first.

    Args:
        model: a compiled Keras model (an optimizer and a loss), whose optimizer has a
            constant learning rate, not a ``LearningRateSchedule``: the finder sets the
            rate itself.
        x: the inputs, an array (shuffled by Keras each pass, as many passes as the steps
            need), or a ``tf.data.Dataset`` of ``(x, y)`` batches (repeated as needed).
        y: the targets, an array with as many rows as ``x``; ``None`` when ``x`` is a
            ``tf.data.Dataset``.
        batch_size: rows per batch when ``x`` is an array, an integer from 1 to
            ``len(x)``; unused with a dataset, whose batches are used as they are.
            Defaults to 32.
        start_lr: the rate of the first batch, a positive number smaller than
            ``end_lr``. Defaults to ``1e-7``.
        end_lr: the rate of the last batch (step ``num_steps - 1``). Defaults to 10.0.
        num_steps: the number of batches (and rates) of the sweep, an integer of at
            least 2. Defaults to 100.
        mode: how the rate rises, at step ``i`` of ``n``: ``"exponential"``,
            ``start * (end / start) ** (i / (n - 1))``, or ``"linear"``,
            ``start + (end - start) * i / (n - 1)``. Defaults to ``"exponential"``.
        beta: with ``diverge``, the stopping rule: the factor of the bias-corrected
            exponential moving average of the loss,
            ``avg_i = beta * avg_{i-1} + (1 - beta) * loss_i``, reported as
            ``avg_i / (1 - beta ** (i + 1))``; a number in [0, 1). Defaults to 0.98.
        diverge: the sweep stops once that average exceeds ``diverge`` times its best
            so far, or is not finite; a number greater than 1. Defaults to 4.0.
        window: the width, in batches, of the centred smoothing of the curve
            (:func:`smooth`), an odd positive integer. Defaults to ``None``, meaning
            ``2 * (num_steps // 40) + 1``, about a twentieth of the sweep (21 batches
            of 430).
        verbose: ``1`` shows a progress bar (the rate and the loss's moving average),
            ``0`` shows nothing. Defaults to 1.

    Returns:
        An :class:`LRFinderResult`: the rates tried (``lrs``), each batch's loss
        (``losses``), the smoothed curve (``smoothed``), the suggested rates
        (``suggestions``: ``"valley"``, ``"steepest"``, ``"minimum/10"``) and whether
        the loss diverged before the last step (``stopped_early``).

    Raises:
        ValueError: if ``model`` is not compiled, or its learning rate is a schedule;
            if the rates are not positive or ``start_lr >= end_lr``; if ``num_steps``,
            ``mode``, ``beta``, ``diverge``, ``window`` or ``batch_size`` is not as
            described above; if ``y`` is given with a dataset, or missing with an
            array, or has not as many rows as ``x``.

    Example:
        result = find_lr(model, X_train, y_train, batch_size=128, start_lr=1e-5, end_lr=10)
        result.plot()
        learning_rate = result.suggestions["valley"]
    """
    num_steps = whole_number("num_steps", num_steps, low=2)
    if window is None:
        window = 2 * (num_steps // 40) + 1
    _check(model, start_lr, end_lr, num_steps, mode, beta, diverge, window)
    lrs = _rates(start_lr, end_lr, num_steps, mode)
    fit_args = _fit_args(x, y, batch_size, num_steps)
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    saved_weights = [w.copy() for w in model.get_weights()]
    saved_optimizer = [np.array(v.numpy(), copy=True) for v in optimizer.variables]
    saved_lr = float(optimizer.learning_rate)
    recorder = _Recorder(lrs, beta, diverge, verbose)
    try:
        model.fit(callbacks=[recorder], verbose=0, **fit_args)
    finally:
        model.set_weights(saved_weights)
        for variable, value in zip(optimizer.variables, saved_optimizer):
            variable.assign(value)
        optimizer.learning_rate = saved_lr
        model.stop_training = False
    losses = np.array(recorder.losses)
    smoothed = smooth(losses, window)
    tried = lrs[:len(losses)]
    return LRFinderResult(tried, losses, smoothed, suggest(tried, smoothed), recorder.stopped_early)


def smooth(losses, window):
    """The per-batch losses smoothed without lag: a running median, then a running mean,
    each over ``window`` batches centred on the batch (mirrored at the two ends, so that
    an end does not invent a slope: no steepest fall is read off the edge of the sweep).

    Centred, so that a falling loss is not shown late (see the module's docstring). The
    median first, so that a spike, or the explosion at the end of the sweep, does not drag
    its neighbours up as a mean would; the mean then evens out the steps a median leaves.
    A NaN loss (a diverged batch) counts as an infinitely large one. ``window=1`` returns
    the losses unchanged.
    """
    losses = np.asarray(losses, dtype=float)
    if len(losses) == 0:
        return losses
    losses = np.where(np.isnan(losses), np.inf, losses)
    half = window // 2
    windows = np.lib.stride_tricks.sliding_window_view
    medians = np.median(windows(np.pad(losses, half, mode="reflect"), window), axis=1)
    return windows(np.pad(medians, half, mode="reflect"), window).mean(axis=1)


def suggest(lrs, smoothed):
    """``{"valley", "steepest", "minimum/10"}`` rates from a smoothed loss curve."""
    finite = np.isfinite(smoothed)
    lrs, smoothed = np.asarray(lrs)[finite], np.asarray(smoothed)[finite]
    if len(smoothed) < 3:
        return {}
    slope = np.gradient(smoothed, np.log(lrs))
    return {"valley": float(lrs[_valley(smoothed)]),
            "steepest": float(lrs[int(np.argmin(slope))]),
            "minimum/10": float(lrs[int(np.argmin(smoothed))] / 10)}


def _valley(losses):
    """fastai's valley: the longest decreasing subsequence, two-thirds along it.

    Written out because fastai is a PyTorch library; this is its algorithm, O(n^2).
    """
    n = len(losses)
    lds = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
        if lds[max_end] < lds[i]:
            max_end, max_start = i, i - lds[i]
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


class _Recorder(keras.callbacks.Callback):
    """Sets each batch's rate, records the batch's own loss, and stops the sweep when the
    loss's exponential moving average diverges (it can only look back: the sweep is running).

    Keras's loss tracker keeps a running ``total`` and ``count`` over the epoch; the loss
    of one batch is the change of total over the change of count. Reading them costs
    far less than resetting the tracker before every batch.
    """

    def __init__(self, lrs, beta, diverge, verbose):
        super().__init__()
        self.lrs, self.beta, self.diverge = lrs, beta, diverge
        self.losses = []
        self.average, self.best, self.stopped_early = 0.0, math.inf, False
        self.seen = (0.0, 0.0)
        self.progbar = keras.utils.Progbar(len(lrs), stateful_metrics=["lr", "loss EMA"]) if verbose else None

    def on_train_begin(self, logs=None):
        self.tracker = next(m for m in self.model.metrics if m.name == "loss")

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = (0.0, 0.0)  # Keras resets its trackers at each epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = float(self.lrs[len(self.losses)])

    def on_train_batch_end(self, batch, logs=None):
        total, count = (float(v.numpy()) for v in self.tracker.variables)
        loss = (total - self.seen[0]) / (count - self.seen[1])
        self.seen = (total, count)
        self.losses.append(loss)
        self.average = self.beta * self.average + (1 - self.beta) * loss
        trend = self.average / (1 - self.beta ** len(self.losses))
        step = len(self.losses)
        if self.progbar:
            self.progbar.update(step, [("lr", float(self.lrs[step - 1])), ("loss EMA", trend)])
        diverged = not math.isfinite(trend) or trend > self.diverge * self.best
        if diverged or step == len(self.lrs):
            self.stopped_early = diverged
            self.model.stop_training = True
            if self.progbar and diverged:
                self.progbar.update(len(self.lrs), finalize=True)
        self.best = min(self.best, trend)


def _rates(start_lr, end_lr, num_steps, mode):
    if mode == "exponential":
        return start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    return start_lr + (end_lr - start_lr) * np.arange(num_steps) / (num_steps - 1)


def _fit_args(x, y, batch_size, num_steps):
    """Arguments for ``fit`` that give at least ``num_steps`` batches.

    Arrays go to Keras as they are (its own batching and shuffling, no copy into a
    dataset), for as many epochs as the steps need; the recorder stops at ``num_steps``.
    """
    import tensorflow as tf
    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise ValueError("y must be None when x is a tf.data.Dataset of (x, y) batches.")
        return dict(x=x.repeat(), epochs=1, steps_per_epoch=num_steps, shuffle=False)
    if y is None:
        raise ValueError("y is needed when x is an array.")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}.")
    batch_size = whole_number("batch_size", batch_size, high=len(x))
    per_epoch = math.ceil(len(x) / batch_size)
    return dict(x=x, y=y, batch_size=batch_size, epochs=math.ceil(num_steps / per_epoch), shuffle=True)


def _check(model, start_lr, end_lr, num_steps, mode, beta, diverge, window):
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise ValueError(f"model {model.name!r} is not compiled: compile it with an optimizer and a loss first.")
    if isinstance(model.optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        raise ValueError(
            f"model.optimizer's learning rate is a schedule ({type(model.optimizer._learning_rate).__name__}): "
            "the finder needs to set the rate itself. Run it on the model compiled with a constant rate, "
            "then build the schedule from the suggestion.")
    if not (start_lr > 0 and end_lr > 0):
        raise ValueError(f"start_lr={start_lr!r}, end_lr={end_lr!r}: expected positive rates.")
    if start_lr >= end_lr:
        raise ValueError(f"start_lr={start_lr!r} must be smaller than end_lr={end_lr!r}.")
    whole_number("num_steps", num_steps, low=2)
    if mode not in ("exponential", "linear"):
        raise ValueError(f"mode={mode!r}: expected 'exponential' or 'linear'.")
    if not 0 <= beta < 1:
        raise ValueError(f"beta={beta!r}: expected a number in [0, 1).")
    if not diverge > 1:
        raise ValueError(f"diverge={diverge!r}: expected a number greater than 1.")
    whole_number("window", window, odd=True, why="a window centred on each batch")
