"""Benchmark: mc_predict against the reference chapter's loop, and against the machine.

The F21 model (784-300-100-10, SELU, alpha dropout 0.2 before each dense layer) on 10,000
Fashion-MNIST test images (or the stand-in), 100 samples each, in one run:

- ``mc_predict`` (all samples of a chunk in one compiled call);
- the loop of 100 ``predict`` calls on the MC model (goal: ``mc_predict`` >= 10x faster);
- the reference chapter's loop of 100 ``model(X, training=True)`` calls (reported);
- the float32 matmul peak measured in the same process (goal: ``mc_predict`` >= 50 % of it,
  counting 2 FLOPs per multiply-add of the dense layers).

Weights do not change the cost, so the model is not trained. Each timing is the best of
a few runs (noise on a shared machine only adds time).
Run: ``.venv/bin/python benchmarks/bench_mc_dropout.py``.
"""

import timeit

import keras
import numpy as np

from course_utils import datasets
from course_utils.flops import count_flops, matmul_peak_gflops
from course_utils.mc_dropout import mc_predict, to_mc_model

N_SAMPLES = 100
L = keras.layers


def f21_model():
    keras.utils.set_random_seed(42)
    return keras.Sequential([
        keras.Input((28, 28)), L.Flatten(), L.AlphaDropout(0.2),
        L.Dense(300, activation="selu", kernel_initializer="lecun_normal"), L.AlphaDropout(0.2),
        L.Dense(100, activation="selu", kernel_initializer="lecun_normal"), L.AlphaDropout(0.2),
        L.Dense(10, activation="softmax")], name="f21_alpha_dropout")


def best_of(runs, fn):
    return min(timeit.repeat(fn, number=1, repeat=runs))


def main():
    (x_train, _), (x_test, _) = datasets.load_fashion_mnist()
    x = datasets.Standardizer().fit(x_train).transform(x_test)
    model = f21_model()
    mc_model = to_mc_model(model)
    flops = 2 * count_flops(model).total_macs * len(x) * N_SAMPLES

    peak = matmul_peak_gflops()
    mc_predict(mc_model, x[:100], N_SAMPLES, verbose=0)  # trace
    fast = best_of(3, lambda: mc_predict(mc_model, x, N_SAMPLES, verbose=0))
    mc_model.predict(x[:32], verbose=0)  # trace
    loop = best_of(1, lambda: np.stack([mc_model.predict(x, verbose=0) for _ in range(N_SAMPLES)]))
    book = best_of(1, lambda: np.stack([model(x, training=True) for _ in range(N_SAMPLES)]))

    print(f"float32 matmul peak          : {peak:7.1f} GFLOP/s")
    print(f"mc_predict                   : {fast:7.2f} s = {flops / fast / 1e9:6.1f} GFLOP/s "
          f"= {flops / fast / 1e9 / peak:.1%} of peak")
    print(f"100 x predict on the MC model: {loop:7.2f} s: mc_predict is {loop / fast:.1f}x faster")
    print(f"100 x model(X, training=True): {book:7.2f} s: mc_predict is {book / fast:.1f}x faster")


if __name__ == "__main__":
    main()
