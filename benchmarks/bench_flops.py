"""Benchmark: how long count_flops takes on a 100-layer model (goal: 50 ms or less).

Run with ``.venv/bin/python benchmarks/bench_flops.py``. Prints the median of repeated
counts for two 100-layer models, and its ratio to the goal, measured in this run.
"""

import statistics
import time

import keras

from course_utils.flops import count_flops

GOAL_S = 0.050
L = keras.layers


def deep_mlp():
    """The 100-layer SELU network of the course (300 units, then 99 x 100)."""
    layers = [keras.Input((28, 28)), L.Flatten(), L.Dense(300, activation="selu")]
    layers += [L.Dense(100, activation="selu") for _ in range(99)]
    return keras.Sequential(layers + [L.Dense(10, activation="softmax")], name="mlp_100")


def deep_cnn():
    """100 layers of convolutions, batch norm and activations on 32 x 32 x 3 images."""
    layers = [keras.Input((32, 32, 3))]
    for _ in range(33):
        layers += [L.Conv2D(16, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU()]
    layers += [L.GlobalAveragePooling2D()]
    return keras.Sequential(layers, name="cnn_100")


def main():
    for model in (deep_mlp(), deep_cnn()):
        count_flops(model)  # first call imports and warms caches
        times = []
        for _ in range(20):
            start = time.perf_counter()
            report = count_flops(model, batch_size=32)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"{model.name}: {len(report.rows)} layers, {report.total_macs:,} MACs per batch of 32; "
              f"count_flops median {median * 1e3:.1f} ms = {median / GOAL_S:.2f} x the 50 ms goal")


if __name__ == "__main__":
    main()
