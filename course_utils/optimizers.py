"""Keras optimizers whose momentum can follow a schedule of the step.

On Keras 3, ``SGD(momentum=...)`` stores a Python float that is baked into the train step
when it is traced: assigning ``optimizer.momentum`` from a callback afterwards changes
nothing that runs. These subclasses take either a float or a schedule (any
``LearningRateSchedule``, e.g. :class:`course_utils.schedules.OneCycleMomentum`) and
evaluate it from the iteration count *inside* the compiled step, so the momentum applied
at step t is ``schedule(t)``, with no Python per batch.

- :class:`SGD`: ``momentum``, with Keras's update rule
  ``m = momentum_t * m - lr_t * g; w = w + m`` (Nesterov: ``w = w + momentum_t * m - lr_t * g``).
- :class:`Adam` and :class:`AdamW`: ``beta_1``, as torch cycles ``betas[0]``:
  ``m = beta1_t * m + (1 - beta1_t) * g``, bias correction ``1 - beta1_t ** t`` with the
  current ``beta1_t``, as torch's Adam computes it.

The update steps are written out here because Keras's own read a Python float; they are
otherwise Keras's, line for line. All save and load with the model (``.keras``).

Example::

    steps = epochs * steps_per_epoch
    optimizer = SGD(learning_rate=OneCycle(0.05, steps), momentum=OneCycleMomentum(steps))
"""

import keras
from keras import ops

_Schedule = keras.optimizers.schedules.LearningRateSchedule


def _split(value, name):
    """``(float for Keras's constructor, schedule or None)``."""
    if isinstance(value, _Schedule):
        return 0.9, value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name}={value!r}: expected a float in [0, 1) or a LearningRateSchedule.")
    return float(value), None


def _current(constant, schedule, iterations, dtype):
    if schedule is None:
        return ops.cast(constant, dtype)
    return ops.cast(schedule(iterations), dtype)


def _serialize(config, key, schedule):
    if schedule is not None:
        config[key] = keras.optimizers.schedules.serialize(schedule)
    return config


def _deserialize(config, key):
    if isinstance(config.get(key), dict):
        config[key] = keras.optimizers.schedules.deserialize(config[key])
    return config


@keras.saving.register_keras_serializable(package="course_utils")
class SGD(keras.optimizers.SGD):
    """Keras's SGD, with ``momentum`` a float or a schedule of the step.

    With a schedule, the momentum applied at step t is ``schedule(t)``, evaluated from
    the iteration count inside the compiled step, with Keras's update rule
    ``m = momentum_t * m - lr_t * g; w = w + m`` (Nesterov:
    ``w = w + momentum_t * m - lr_t * g``). With a float it is exactly Keras's SGD. It
    saves and loads with the model (``.keras``), schedule included.

    Args:
        learning_rate: the learning rate, as Keras's: a float, or a
            ``LearningRateSchedule`` such as :class:`course_utils.schedules.OneCycle`.
            Defaults to 0.01.
        momentum: a float in [0, 1), or a ``LearningRateSchedule`` of the step such as
            :class:`course_utils.schedules.OneCycleMomentum`; the schedule is kept in
            ``momentum_schedule`` (and ``momentum`` holds 0.9, so that Keras makes the
            momentum slots). Defaults to 0.0, plain SGD.
        nesterov: whether to apply Nesterov momentum. Defaults to ``False``.
        **kwargs: the other arguments of ``keras.optimizers.SGD``, e.g. ``clipnorm``,
            ``clipvalue``, ``weight_decay`` or ``name``.

    Raises:
        ValueError: if ``momentum`` is neither a float in [0, 1) nor a
            ``LearningRateSchedule``.

    Example:
        steps = 25 * math.ceil(len(X_train) / 32)
        optimizer = SGD(learning_rate=OneCycle(0.05, steps), momentum=OneCycleMomentum(steps))
        model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                      metrics=["accuracy"])
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        constant, schedule = _split(momentum, "momentum")
        super().__init__(learning_rate=learning_rate, momentum=constant, nesterov=nesterov, **kwargs)
        self.momentum_schedule = schedule

    def update_step(self, gradient, variable, learning_rate):
        if self.momentum_schedule is None:
            return super().update_step(gradient, variable, learning_rate)
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        momentum = _current(self.momentum, self.momentum_schedule, self.iterations, variable.dtype)
        m = self.momentums[self._get_variable_index(variable)]
        self.assign(m, ops.subtract(ops.multiply(m, momentum), ops.multiply(gradient, learning_rate)))
        if self.nesterov:
            self.assign_add(variable, ops.subtract(ops.multiply(m, momentum), ops.multiply(gradient, learning_rate)))
        else:
            self.assign_add(variable, m)

    def get_config(self):
        return _serialize(super().get_config(), "momentum", self.momentum_schedule)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return super().from_config(_deserialize(dict(config), "momentum"), custom_objects)


class _ScheduledBeta1:
    """Adam's update step with ``beta_1`` read from a schedule at every step."""

    def update_step(self, gradient, variable, learning_rate):
        if self.beta_1_schedule is None:
            return super().update_step(gradient, variable, learning_rate)
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        local_step = ops.cast(self.iterations + 1, variable.dtype)
        beta_1 = _current(self.beta_1, self.beta_1_schedule, self.iterations, variable.dtype)
        beta_1_power = ops.power(beta_1, local_step)
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), local_step)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        if self.amsgrad:
            v_hat = self._velocity_hats[self._get_variable_index(variable)]
            self.assign(v_hat, ops.maximum(v_hat, v))
            v = v_hat
        self.assign_sub(variable, ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), self.epsilon)))

    def get_config(self):
        return _serialize(super().get_config(), "beta_1", self.beta_1_schedule)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return super().from_config(_deserialize(dict(config), "beta_1"), custom_objects)


@keras.saving.register_keras_serializable(package="course_utils")
class Adam(_ScheduledBeta1, keras.optimizers.Adam):
    """Keras's Adam, with ``beta_1`` a float or a schedule of the step.

    With a schedule, ``beta_1`` is cycled as torch cycles ``betas[0]``: evaluated from
    the iteration count inside the compiled step,
    ``m = beta1_t * m + (1 - beta1_t) * g``, with the bias correction
    ``1 - beta1_t ** t`` computed with the current ``beta1_t``, as torch's Adam computes
    it. With a float it is exactly Keras's Adam. It saves and loads with the model
    (``.keras``), schedule included.

    Args:
        learning_rate: the learning rate, as Keras's: a float, or a
            ``LearningRateSchedule`` such as :class:`course_utils.schedules.OneCycle`.
            Defaults to 0.001.
        beta_1: a float in [0, 1), or a ``LearningRateSchedule`` of the step such as
            :class:`course_utils.schedules.OneCycleMomentum`; the schedule is kept in
            ``beta_1_schedule``. Defaults to 0.9.
        **kwargs: the other arguments of ``keras.optimizers.Adam``, e.g. ``beta_2``,
            ``epsilon``, ``amsgrad``, ``clipnorm`` or ``name``.

    Raises:
        ValueError: if ``beta_1`` is neither a float in [0, 1) nor a
            ``LearningRateSchedule``.

    Example:
        steps = 25 * math.ceil(len(X_train) / 32)
        optimizer = Adam(learning_rate=OneCycle(1e-3, steps), beta_1=OneCycleMomentum(steps))
        model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                      metrics=["accuracy"])
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, **kwargs):
        constant, schedule = _split(beta_1, "beta_1")
        super().__init__(learning_rate=learning_rate, beta_1=constant, **kwargs)
        self.beta_1_schedule = schedule


@keras.saving.register_keras_serializable(package="course_utils")
class AdamW(_ScheduledBeta1, keras.optimizers.AdamW):
    """Keras's AdamW, with ``beta_1`` a float or a schedule of the step.

    As :class:`Adam` (the same ``beta_1`` schedule, update step and bias correction
    ``1 - beta1_t ** t`` with the current ``beta1_t``), with Keras's decoupled weight
    decay. With a float ``beta_1`` it is exactly Keras's AdamW. It saves and loads with
    the model (``.keras``), schedule included.

    Args:
        learning_rate: the learning rate, as Keras's: a float, or a
            ``LearningRateSchedule`` such as :class:`course_utils.schedules.OneCycle`.
            Defaults to 0.001.
        weight_decay: the decoupled weight decay, as Keras's AdamW. Defaults to 0.004.
        beta_1: a float in [0, 1), or a ``LearningRateSchedule`` of the step such as
            :class:`course_utils.schedules.OneCycleMomentum`; the schedule is kept in
            ``beta_1_schedule``. Defaults to 0.9.
        **kwargs: the other arguments of ``keras.optimizers.AdamW``, e.g. ``beta_2``,
            ``epsilon``, ``amsgrad``, ``clipnorm`` or ``name``.

    Raises:
        ValueError: if ``beta_1`` is neither a float in [0, 1) nor a
            ``LearningRateSchedule``.

    Example:
        steps = 25 * math.ceil(len(X_train) / 32)
        optimizer = AdamW(learning_rate=OneCycle(1e-3, steps), weight_decay=1e-4,
                          beta_1=OneCycleMomentum(steps))
        model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                      metrics=["accuracy"])
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, **kwargs):
        constant, schedule = _split(beta_1, "beta_1")
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, beta_1=constant, **kwargs)
        self.beta_1_schedule = schedule
