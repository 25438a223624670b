"""What subnormal (denormal) floats cost in NumPy: the experiment of seed 000, measured.

Timings run in a fresh Python process that never imports TensorFlow: TensorFlow changes
the floating-point mode (flush-to-zero) of threads it touches, and its idle worker threads
compete for the cores, so the same NumPy code timed in a notebook that has trained a Keras
model measures TensorFlow, not NumPy. :func:`measure` starts that process
(``python -m course_utils.subnormals``) and returns its results.

Measured:

- ``matmul``: a (100 x 784) @ (784 x 256) product with all weights normal (1e-30) or all
  subnormal (1e-40), seconds (best of 20);
- ``mlp``: seconds per epoch of a 784-256-10 ReLU network trained with SGD and l2 = 0.01 in
  NumPy on 2,000 images, with all weights normal; with the first-layer weights of the
  quarter of least-used pixels subnormal (where weight decay eventually takes them);
  and the same with subnormal weights flushed to zero after every step, as FTZ does.
"""

import json
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

TINY = np.finfo(np.float32).tiny  # smallest normal float32, 1.18e-38


def matmul_seconds(weight_value, repeats=20):
    x = np.random.default_rng(0).random((100, 784), dtype=np.float32)
    w = np.full((784, 256), weight_value, np.float32)
    return min(timeit.repeat(lambda: x @ w, number=1, repeat=repeats))


def mlp_epoch_seconds(x, y, *, subnormal, flush, epochs=3, lr=0.1, l2=0.01):
    """Best epoch time of a NumPy 784-256-10 ReLU network, SGD with l2 weight decay."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.05, (784, 256)).astype(np.float32)
    w2 = rng.normal(0, 0.05, (256, 10)).astype(np.float32)
    if subnormal:
        least_used = np.argsort(x.mean(axis=0))[:196]  # a quarter of the pixels
        w1[least_used] = np.float32(1e-40) * np.sign(w1[least_used])
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for i in range(0, len(x), 100):
            xb, yb = x[i:i + 100], y[i:i + 100]
            h = np.maximum(xb @ w1, 0)
            z = h @ w2
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1  # gradient of the cross-entropy with respect to z
            g2 = h.T @ p / len(yb) + 2 * l2 * w2
            g1 = xb.T @ ((p @ w2.T) * (h > 0)) / len(yb) + 2 * l2 * w1
            w1 -= np.float32(lr) * g1
            w2 -= np.float32(lr) * g2
            if flush:
                w1[np.abs(w1) < TINY] = 0
        times.append(time.perf_counter() - start)
    return min(times)


def _run(x, y, epochs):
    return {
        "tensorflow_loaded": "tensorflow" in sys.modules,  # must stay False: see the module doc
        "matmul": {"normal": matmul_seconds(1e-30), "subnormal": matmul_seconds(1e-40)},
        "mlp": {"normal": mlp_epoch_seconds(x, y, subnormal=False, flush=False, epochs=epochs),
                "subnormal": mlp_epoch_seconds(x, y, subnormal=True, flush=False, epochs=epochs),
                "flushed": mlp_epoch_seconds(x, y, subnormal=True, flush=True, epochs=epochs)},
    }


def measure(x, y, epochs=3, timeout=600):
    """Run the measurements in a fresh process on images ``x`` (N, 784, in [0, 1]) and labels ``y``."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        np.savez(data, x=np.asarray(x, np.float32).reshape(len(x), -1), y=np.asarray(y))
        out = subprocess.run([sys.executable, "-m", "course_utils.subnormals", str(data), str(epochs)],
                             capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(out.stdout)


if __name__ == "__main__":
    with np.load(sys.argv[1]) as f:
        print(json.dumps(_run(f["x"], f["y"], int(sys.argv[2]))))
