"""Benchmark: what the learning-rate tools cost, measured in one run on this machine.

- epoch time with ``OneCycle`` inside the optimizer vs a constant rate (goal: <= 2 % more);
- epoch time with a Python callback that sets the rate at every batch, as the reference
  chapter's 1cycle does (reported);
- wall time of ``find_lr`` vs a plain training pass over the same number of batches
  (goal: <= 1.15x).

The model is the 300-100 SELU network at batch 128 on Fashion-MNIST (or its stand-in).
Variants are timed in turns over several rounds, so drift in the machine's speed affects
all of them alike, and each keeps its fastest round: noise on a shared machine only ever
adds time, so the minimum is the least disturbed measurement. Run: ``.venv/bin/python benchmarks/bench_schedules.py``.
"""

import math
import time

import keras
import tensorflow as tf

from course_utils import datasets
from course_utils.lr_finder import find_lr
from course_utils.schedules import OneCycle

BATCH, ROUNDS = 128, 10


def build(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((28, 28)), keras.layers.Flatten(),
        keras.layers.Dense(300, activation="selu", kernel_initializer="lecun_normal"),
        keras.layers.Dense(100, activation="selu", kernel_initializer="lecun_normal"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


class PythonOneCycle(keras.callbacks.Callback):
    """The reference chapter's approach: compute the rate in Python and set it every batch
    (with ``optimizer.learning_rate = ...``, since ``K.set_value`` is gone)."""

    def __init__(self, max_lr, total_steps):
        super().__init__()
        self.max_lr, self.half, self.step = max_lr, total_steps // 2, 0

    def on_train_batch_begin(self, batch, logs=None):
        low, high, i = self.max_lr / 10, self.max_lr, self.step % (2 * self.half)
        rate = low + (high - low) * (i / self.half if i < self.half else 2 - i / self.half)
        self.model.optimizer.learning_rate = rate
        self.step += 1


def main():
    (x, y), _ = datasets.load_fashion_mnist()
    x = datasets.Standardizer().fit(x).transform(x)
    steps = math.ceil(len(x) / BATCH)
    schedule = OneCycle(0.05, steps * (ROUNDS + 1))
    variants = {
        "constant rate": (build(keras.optimizers.SGD(0.01)), []),
        "OneCycle schedule": (build(keras.optimizers.SGD(schedule)), []),
        "Python callback per batch": (build(keras.optimizers.SGD(0.01)), [PythonOneCycle(0.05, steps * (ROUNDS + 1))]),
    }
    times = {name: [] for name in variants}
    for name, (model, callbacks) in variants.items():  # first epoch traces: not timed
        model.fit(x, y, batch_size=BATCH, epochs=1, callbacks=callbacks, verbose=0)
    for _ in range(ROUNDS):
        for name, (model, callbacks) in variants.items():
            start = time.perf_counter()
            model.fit(x, y, batch_size=BATCH, epochs=1, callbacks=callbacks, verbose=0)
            times[name].append(time.perf_counter() - start)
    base = min(times["constant rate"])
    for name, values in times.items():
        best = min(values)
        print(f"{name:26}: {best:6.2f} s per epoch ({steps} steps) = {best / base:.3f} x constant")

    # The schedule alone, inside a compiled function: its cost per training step, free of
    # the noise of whole epochs.
    @tf.function
    def evaluate(n):
        total = tf.constant(0.0)
        for step in tf.range(n):
            total += schedule(step)
        return total

    @tf.function
    def empty(n):
        total = tf.constant(0.0)
        for step in tf.range(n):
            total += tf.cast(step, tf.float32)
        return total

    n = 20_000
    evaluate(10), empty(10)
    per_step = []
    for fn in (evaluate, empty):
        start = time.perf_counter()
        fn(n)
        per_step.append((time.perf_counter() - start) / n)
    cost = per_step[0] - per_step[1]
    print(f"OneCycle evaluated in the graph: {cost * 1e6:.1f} us per step = "
          f"{cost / (base / steps):.2%} of a training step")

    # find_lr against a plain pass over the same number of batches of the same pipeline.
    num_steps = 400
    finder_times, plain_times = [], []
    model = build(keras.optimizers.SGD(0.01))
    find_lr(model, x, y, batch_size=BATCH, num_steps=num_steps, end_lr=1.0, diverge=1e9, verbose=0)  # trace
    plain = build(keras.optimizers.SGD(0.01))
    plain.fit(x, y, batch_size=BATCH, steps_per_epoch=num_steps, epochs=1, verbose=0)  # trace
    for _ in range(ROUNDS):
        start = time.perf_counter()
        find_lr(model, x, y, batch_size=BATCH, num_steps=num_steps, end_lr=1.0, diverge=1e9, verbose=0)
        finder_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        plain.fit(x, y, batch_size=BATCH, steps_per_epoch=num_steps, epochs=1, verbose=0)
        plain_times.append(time.perf_counter() - start)
    finder, plain_s = min(finder_times), min(plain_times)
    print(f"find_lr, {num_steps} batches       : {finder:6.2f} s; plain training pass {plain_s:6.2f} s "
          f"= {finder / plain_s:.3f} x")


if __name__ == "__main__":
    main()
