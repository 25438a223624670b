"""What subnormal (denormal) floats cost on the processor at hand: seed 000, measured.

Whether arithmetic on subnormal operands is slow depends on the processor: many Intel
cores handle them with a microcode assist costing on the order of a hundred cycles, AMD's
Zen cores and Apple's M-series at full speed. TensorFlow sets flush-to-zero and
denormals-are-zero in the threads it runs, so its own arithmetic never meets one; NumPy
does not. Hence timings run in a fresh Python process that never imports TensorFlow (whose
idle worker threads would also compete for the cores): :func:`measure` starts it
(``python -m course_utils.subnormals``) and returns its results.

Measured:

- ``matmul``: a (256 x 784) @ (784 x 256) product with all weights normal (1e-30) or all
  subnormal (1e-40), best of ``repeats``, with the BLAS limited to one thread (its own
  process) and with its default thread count;
- ``decay``: the symptom itself. A NumPy 784-256-10 ReLU network trained with SGD and
  l2 weight decay, epoch by epoch: seconds, and how many weights are subnormal. Weights
  that get no gradient from the data (those of pixels that are always 0) shrink by
  ``1 - 2 lr l2`` per step into the subnormal range and stay there (rounding stops a small
  subnormal from shrinking further). The same run again with subnormal weights flushed to
  zero after every step, as flush-to-zero would.

Example::

    report = measure(x_train[:2000] / 255.0, y_train[:2000])
    print(verdict(report))
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

TINY = np.finfo(np.float32).tiny  # smallest normal float32, 1.18e-38
SLOW = 2.0  # a subnormal product this many times slower than a normal one: the processor pays
_ONE_THREAD = {v: "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")}


def processor_name():
    """The processor's model name, as the operating system reports it."""
    if sys.platform == "darwin":
        out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware")) and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown processor"


def matmul_seconds(weight_value, repeats=7):
    """Best of ``repeats`` (256 x 784) @ (784 x 256) products with every weight ``weight_value``."""
    x = np.random.default_rng(0).random((256, 784), dtype=np.float32)
    w = np.full((784, 256), weight_value, np.float32)
    return min(timeit.repeat(lambda: x @ w, number=1, repeat=repeats))


def decay_run(x, y, *, epochs, lr=0.1, l2=0.5, flush=False, batch_size=50):
    """Train a NumPy 784-256-10 ReLU network with SGD and l2; per epoch, its seconds and the
    number of subnormal weights. ``flush`` sets subnormal weights to 0 after every step."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.05, (784, 256)).astype(np.float32)
    w2 = rng.normal(0, 0.05, (256, 10)).astype(np.float32)
    seconds, subnormal = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
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
                for w in (w1, w2):
                    w[np.abs(w) < TINY] = 0
        seconds.append(time.perf_counter() - start)
        subnormal.append(sum(int(np.count_nonzero((w != 0) & (np.abs(w) < TINY))) for w in (w1, w2)))
    return {"seconds": seconds, "subnormal": subnormal}


def _matmuls(repeats):
    return {"normal": matmul_seconds(1e-30, repeats), "subnormal": matmul_seconds(1e-40, repeats)}


def _child(task, data, epochs, env=None, timeout=600):
    out = subprocess.run([sys.executable, "-m", "course_utils.subnormals", task, str(data), str(epochs)],
                         capture_output=True, text=True, timeout=timeout, check=True,
                         env=None if env is None else {**os.environ, **env})
    return json.loads(out.stdout)


def measure(x, y, epochs=40, timeout=600):
    """All the measurements on images ``x`` (N, 784, in [0, 1]) and labels ``y``, each in a
    fresh process without TensorFlow. Returns ``processor``, ``tensorflow_loaded`` (False),
    ``matmul`` (``"1 thread"`` and ``"default threads"``, each ``normal`` and ``subnormal``
    seconds) and ``decay`` (``"plain"`` and ``"flushed"``, each ``seconds`` and
    ``subnormal`` per epoch)."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r}: expected a positive integer.")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        np.savez(data, x=np.asarray(x, np.float32).reshape(len(x), -1), y=np.asarray(y))
        single = _child("matmul", data, epochs, env=_ONE_THREAD, timeout=timeout)
        default = _child("all", data, epochs, timeout=timeout)
    return {"processor": processor_name(),
            "tensorflow_loaded": single["tensorflow_loaded"] or default["tensorflow_loaded"],
            "matmul": {"1 thread": single["matmul"], "default threads": default["matmul"]},
            "decay": default["decay"]}


def slowdowns(report):
    """Subnormal over normal matmul time, per thread setting."""
    return {threads: t["subnormal"] / t["normal"] for threads, t in report["matmul"].items()}


def verdict(report):
    """One sentence, decided by the measurement in ``report`` (from :func:`measure`)."""
    ratios = slowdowns(report)
    figures = " and ".join(f"{r:.1f}x ({threads})" for threads, r in ratios.items())
    head = f"On this processor ({report['processor']}) a matrix product with subnormal operands costs {figures} the normal one"
    if max(ratios.values()) >= SLOW:
        return (f"{head}: it pays for subnormals, so epochs slow down as weights decay into the "
                "subnormal range, and flushing them to zero removes the slowdown.")
    return (f"{head}: it handles subnormals at full speed, so the same decay costs no time here; "
            f"a processor that pays (a ratio of {SLOW:g} or more) would show the slowdown.")


if __name__ == "__main__":
    task, path, n_epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    result = {"matmul": _matmuls(repeats=7)}
    if task == "all":
        with np.load(path) as f:
            images, labels = f["x"], f["y"]
        result["decay"] = {name: decay_run(images, labels, epochs=n_epochs, flush=flush)
                           for name, flush in (("plain", False), ("flushed", True))}
    result["tensorflow_loaded"] = "tensorflow" in sys.modules  # must stay False: see the module doc
    print(json.dumps(result))
