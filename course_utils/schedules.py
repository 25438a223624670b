"""Learning-rate and momentum schedules that Keras does not have: the 1cycle policy.

Keras's built-ins cover the book's other schedules, and the lectures use them directly:
power scheduling is ``InverseTimeDecay``, exponential scheduling ``ExponentialDecay``,
piecewise constant ``PiecewiseConstantDecay``, per-epoch rules ``LearningRateScheduler``,
and performance scheduling ``ReduceLROnPlateau``.

``OneCycle`` is a ``LearningRateSchedule``: Keras evaluates it inside the compiled train
step from the optimizer's iteration count, so it costs no Python per batch, unlike a
callback that sets the rate. It follows ``torch.optim.lr_scheduler.OneCycleLR`` step for
step (same parameters, same values), except that past ``total_steps`` it holds the final
rate instead of raising an error. ``OneCycleMomentum`` gives torch's ``cycle_momentum``,
for the optimizers of :mod:`course_utils.optimizers` that accept a momentum schedule.

Annealing, with ``pct`` going from 0 to 1 within a phase:

- ``cos``:    ``end + (start - end) / 2 * (1 + cos(pi * pct))``
- ``linear``: ``start + (end - start) * pct``

Phases, with ``initial = max_lr / div_factor`` and ``final = initial / final_div_factor``:

- two phases: initial -> max_lr over ``pct_start * total_steps - 1`` steps, then
  max_lr -> final until step ``total_steps - 1``;
- three phases: initial -> max_lr, max_lr -> initial (symmetric), then initial -> final.

The book's variant (rise linearly from max/10 to max over the first half, fall back to
max/10 over the second, then down to max/10000 over the last few percent) is close to
``OneCycle(max_lr, total_steps, pct_start=0.45, anneal_strategy="linear", div_factor=10,
final_div_factor=1000, three_phase=True)``: torch's two symmetric phases take 45 % each
and the final descent the last 10 %.

Example::

    steps = epochs * math.ceil(len(X_train) / batch_size)
    optimizer = course_utils.optimizers.SGD(
        learning_rate=OneCycle(0.05, steps), momentum=OneCycleMomentum(steps))
"""

import math

import keras
from keras import ops

from course_utils.arguments import whole_number


def anneal_cos(start, end, pct):
    """Cosine from ``start`` (pct = 0) to ``end`` (pct = 1)."""
    return end + (start - end) / 2.0 * (ops.cos(math.pi * pct) + 1.0)


def anneal_linear(start, end, pct):
    """Straight line from ``start`` (pct = 0) to ``end`` (pct = 1)."""
    return start + (end - start) * pct


_ANNEAL = {"cos": anneal_cos, "linear": anneal_linear}


def _check(total_steps, pct_start, anneal_strategy):
    total_steps = whole_number("total_steps", total_steps, low=2)
    if not isinstance(pct_start, (int, float)) or not 0 < pct_start < 1:
        raise ValueError(f"pct_start={pct_start!r}: expected a number strictly between 0 and 1.")
    if anneal_strategy not in _ANNEAL:
        raise ValueError(f"anneal_strategy={anneal_strategy!r}: expected 'cos' or 'linear'.")
    return total_steps


def _phase_ends(total_steps, pct_start, three_phase):
    """Last step of each phase, as torch's OneCycleLR computes them (floats)."""
    if three_phase:
        return [pct_start * total_steps - 1, 2 * pct_start * total_steps - 2, total_steps - 1]
    return [pct_start * total_steps - 1, total_steps - 1]


def _piecewise(step, ends, values, anneal):
    """Anneal from ``values[i]`` to ``values[i + 1]`` over phase i, inside the graph.

    Computed in float64 (torch computes in Python floats: near the end of a cosine phase,
    float32 would lose the small difference to the final value), returned as float32.
    ``step`` is clipped to the last step, so the value holds after ``total_steps``.
    """
    step = ops.minimum(ops.cast(step, "float64"), ends[-1])
    starts = [0.0] + ends[:-1]
    # From the last phase back: an earlier phase takes over wherever step <= its end.
    result = anneal(values[-2], values[-1], (step - starts[-1]) / (ends[-1] - starts[-1]))
    for i in reversed(range(len(ends) - 1)):
        value = anneal(values[i], values[i + 1], (step - starts[i]) / (ends[i] - starts[i]))
        result = ops.where(step <= ends[i], value, result)
    return ops.cast(result, "float32")


@keras.saving.register_keras_serializable(package="course_utils")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """The 1cycle learning rate of ``torch.optim.lr_scheduler.OneCycleLR``, step for step.

    Evaluated by Keras inside the compiled train step from the optimizer's iteration
    count; past ``total_steps`` it holds the final rate instead of raising an error. The
    phases and the annealing formulas are in the module's docstring.

    Args:
        max_lr: the peak learning rate, a positive number.
        total_steps: steps of the whole cycle, usually ``epochs * steps_per_epoch``; an
            integer of at least 2.
        pct_start: share of the steps spent rising to ``max_lr``, strictly between 0
            and 1. Defaults to 0.3.
        anneal_strategy: ``"cos"`` or ``"linear"``. Defaults to ``"cos"``.
        div_factor: the rate starts at ``max_lr / div_factor``; positive. Defaults to
            25.0.
        final_div_factor: and ends at ``max_lr / div_factor / final_div_factor``;
            positive. Defaults to ``1e4``.
        three_phase: rise, fall back to the start, then descend to the final rate.
            Defaults to ``False``: rise, then descend to the final rate.
        name: the schedule's name, kept in its config. Defaults to ``"OneCycle"``.

    Raises:
        ValueError: if an argument is not as described above.

    Example:
        schedule = OneCycle(max_lr=0.05, total_steps=25 * 430)
        optimizer = keras.optimizers.SGD(learning_rate=schedule)
    """

    def __init__(self, max_lr, total_steps, pct_start=0.3, anneal_strategy="cos",
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, name="OneCycle"):
        total_steps = _check(total_steps, pct_start, anneal_strategy)
        if not max_lr > 0:
            raise ValueError(f"max_lr={max_lr!r}: expected a positive number.")
        for arg, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            if not value > 0:
                raise ValueError(f"{arg}={value!r}: expected a positive number.")
        self.max_lr, self.total_steps, self.pct_start = float(max_lr), total_steps, float(pct_start)
        self.anneal_strategy, self.three_phase, self.name = anneal_strategy, bool(three_phase), name
        self.div_factor, self.final_div_factor = float(div_factor), float(final_div_factor)

    @property
    def initial_lr(self):
        return self.max_lr / self.div_factor

    @property
    def final_lr(self):
        return self.initial_lr / self.final_div_factor

    def __call__(self, step):
        values = [self.initial_lr, self.max_lr, self.final_lr]
        if self.three_phase:
            values = [self.initial_lr, self.max_lr, self.initial_lr, self.final_lr]
        ends = _phase_ends(self.total_steps, self.pct_start, self.three_phase)
        return _piecewise(step, ends, values, _ANNEAL[self.anneal_strategy])

    def get_config(self):
        return dict(max_lr=self.max_lr, total_steps=self.total_steps, pct_start=self.pct_start,
                    anneal_strategy=self.anneal_strategy, div_factor=self.div_factor,
                    final_div_factor=self.final_div_factor, three_phase=self.three_phase, name=self.name)


@keras.saving.register_keras_serializable(package="course_utils")
class OneCycleMomentum(keras.optimizers.schedules.LearningRateSchedule):
    """Momentum cycled inversely to :class:`OneCycle`, as torch's ``cycle_momentum``.

    High momentum while the rate is low, low momentum at the peak of the rate: from
    ``max_momentum`` down to ``base_momentum`` during the rise, and back up during the fall
    (with three phases, it then stays at ``max_momentum``). Use the same ``total_steps``,
    ``pct_start``, ``anneal_strategy`` and ``three_phase`` as the learning-rate schedule.
    It is a schedule of the step like a learning rate, hence the base class: pass it as
    ``momentum`` (or ``beta_1``) to the optimizers of :mod:`course_utils.optimizers`,
    which evaluate it inside the compiled step (Keras's own take only a float).

    Args:
        total_steps: steps of the whole cycle, usually ``epochs * steps_per_epoch``; an
            integer of at least 2.
        base_momentum: the lowest momentum, reached at the peak of the rate. Defaults
            to 0.85.
        max_momentum: the highest momentum, at the start and the end of the cycle.
            Defaults to 0.95. The two must satisfy
            ``0 <= base_momentum <= max_momentum < 1``.
        pct_start: share of the steps spent falling to ``base_momentum`` (while the rate
            rises), strictly between 0 and 1. Defaults to 0.3.
        anneal_strategy: ``"cos"`` or ``"linear"``. Defaults to ``"cos"``.
        three_phase: fall, rise back to ``max_momentum``, then stay there. Defaults to
            ``False``.
        name: the schedule's name, kept in its config. Defaults to
            ``"OneCycleMomentum"``.

    Raises:
        ValueError: if an argument is not as described above.

    Example:
        steps = 25 * 430
        optimizer = course_utils.optimizers.SGD(
            learning_rate=OneCycle(0.05, steps), momentum=OneCycleMomentum(steps))
    """

    def __init__(self, total_steps, base_momentum=0.85, max_momentum=0.95, pct_start=0.3,
                 anneal_strategy="cos", three_phase=False, name="OneCycleMomentum"):
        total_steps = _check(total_steps, pct_start, anneal_strategy)
        if not 0 <= base_momentum <= max_momentum < 1:
            raise ValueError(f"base_momentum={base_momentum!r}, max_momentum={max_momentum!r}: "
                             "expected 0 <= base_momentum <= max_momentum < 1.")
        self.total_steps, self.pct_start, self.anneal_strategy = total_steps, float(pct_start), anneal_strategy
        self.base_momentum, self.max_momentum = float(base_momentum), float(max_momentum)
        self.three_phase, self.name = bool(three_phase), name

    def __call__(self, step):
        values = [self.max_momentum, self.base_momentum, self.max_momentum]
        if self.three_phase:
            values = [self.max_momentum, self.base_momentum, self.max_momentum, self.max_momentum]
        ends = _phase_ends(self.total_steps, self.pct_start, self.three_phase)
        return _piecewise(step, ends, values, _ANNEAL[self.anneal_strategy])

    def get_config(self):
        return dict(total_steps=self.total_steps, base_momentum=self.base_momentum,
                    max_momentum=self.max_momentum, pct_start=self.pct_start,
                    anneal_strategy=self.anneal_strategy, three_phase=self.three_phase, name=self.name)


class LogLearningRate(keras.callbacks.Callback):
    """Puts the optimizer's current learning rate in the logs, so ``History`` has it.

    Keras logs ``learning_rate`` only from ``LearningRateScheduler`` and
    ``ReduceLROnPlateau``; with a schedule inside the optimizer the history has none. This
    adds ``logs["learning_rate"]`` at the end of each epoch, and with ``per_batch=True``
    keeps every batch's rate in ``self.batch_rates`` (one Python read per batch).

    Args:
        per_batch: whether to also append, at the start of every training batch, the
            rate that batch uses to ``self.batch_rates`` (which is never cleared, so it
            runs on across calls to ``fit``). Defaults to ``False``.

    Example:
        log = LogLearningRate(per_batch=True)
        history = model.fit(X_train, y_train, epochs=10, callbacks=[log])
        history.history["learning_rate"]  # one rate per epoch
        plt.plot(log.batch_rates)          # one rate per batch
    """

    def __init__(self, per_batch=False):
        super().__init__()
        self.per_batch, self.batch_rates = per_batch, []

    def on_train_batch_begin(self, batch, logs=None):
        if self.per_batch:
            self.batch_rates.append(float(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
