"""What subnormal (denormal) floats cost on the processor at hand: seed 000, measured.

Whether arithmetic on subnormal operands is slow depends on the processor: many Intel
cores handle them with a microcode assist costing on the order of a hundred cycles, AMD's
Zen cores and Apple's M-series at full speed. TensorFlow sets flush-to-zero and
denormals-are-zero in the threads it runs, so its own arithmetic never meets one; NumPy
does not. Hence the NumPy timings run in fresh Python processes that never import
TensorFlow (whose idle worker threads would also compete for the cores): :func:`measure`
starts them (``python -m course_utils.subnormals``) and returns their results.

Measured by :func:`measure`:

- ``matmul``: a (256 x 784) @ (784 x 256) product with all weights normal (1e-30) or all
  subnormal (1e-40), best of 7 per process, with the BLAS limited to one thread and with
  its default thread count (its own process);
- ``decay``: the symptom itself. A NumPy 784-256-10 ReLU network trained with SGD and
  l2 weight decay, epoch by epoch: seconds, how many weights are subnormal, how many
  intermediate values of the epoch's last step are, and the hidden layer's largest
  weight. A weight that gets (almost) no gradient from the data shrinks by
  ``1 - 2 lr l2`` per step (:func:`steps_to_subnormal`) into the subnormal range and stays
  there (rounding stops a small subnormal from shrinking further). The same run again
  with subnormal weights flushed to zero after every step, as flush-to-zero would do to
  the weights (not to the intermediate values). Each run is repeated in ``repeats`` fresh
  processes, plain and flushed alternating, with the BLAS on one thread (threads that wait
  for each other suffer most from other programs on the machine); per epoch, the median,
  the fastest and the slowest time over the repeats: single timings on a shared machine
  jump by tens of per cent, and other programs can only make a timing slower.

:func:`keras_decay_run` trains the same network in Keras, where TensorFlow flushes, and
counts with :func:`census` what became of the weights.

Example::

    report = measure(x_train[:2000] / 255.0, y_train[:2000])
    print(verdict(report))
"""

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

from course_utils.arguments import whole_number

TINY = float(np.finfo(np.float32).tiny)  # smallest normal float32, 1.18e-38
TINY_NORMAL = 1e-30  # census: normal weights below this are "tiny normal"
LR, L2, BATCH_SIZE = 0.1, 0.5, 50  # the decay runs' SGD rate, l2 factor and batch size
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


def steps_to_subnormal(lr, l2, start=0.05):
    """SGD steps after which a weight of size ``start`` that only weight decay moves (it is
    multiplied by ``1 - 2 lr l2`` per step) is smaller than the smallest normal float32.

    Args:
        lr: the SGD learning rate.
        l2: the l2 factor of the regularizer (a loss term ``l2 * w^2``, gradient ``2 l2 w``).
        start: the weight's size when the decay begins.

    Returns:
        An int: the fewest steps ``n`` with ``start * (1 - 2 lr l2) ** n`` below ``TINY``
        (1.18e-38), worked out with logarithms, not step by step in float32.

    Raises:
        ValueError: unless ``1 - 2 lr l2`` lies strictly between 0 and 1.

    Example:
        from course_utils import subnormals

        subnormals.steps_to_subnormal(0.1, 0.01)                      # 42129 steps
        subnormals.steps_to_subnormal(subnormals.LR, subnormals.L2)   # 801 steps
    """
    factor = 1 - 2 * lr * l2
    if not 0 < factor < 1:
        raise ValueError(f"lr={lr!r}, l2={l2!r}: 1 - 2 lr l2 = {factor!r} must lie between 0 and 1.")
    return math.ceil(math.log(TINY / start) / math.log(factor))


def lr_to_subnormal(steps, l2, start=0.05):
    """The SGD learning rate at which weight decay alone takes a weight of size ``start``
    below the smallest normal float32 in ``steps`` steps: the inverse of :func:`steps_to_subnormal`.

    Args:
        steps: the number of SGD steps, positive.
        l2: the l2 factor of the regularizer (a loss term ``l2 * w^2``, gradient ``2 l2 w``).
        start: the weight's size when the decay begins.

    Returns:
        A float: the ``lr`` with ``start * (1 - 2 lr l2) ** steps == TINY`` (1.18e-38), that
        is ``(1 - (TINY / start) ** (1 / steps)) / (2 l2)``.

    Example:
        from course_utils import subnormals

        lr = subnormals.lr_to_subnormal(7_500, 0.01)   # about 0.56
        subnormals.steps_to_subnormal(lr, 0.01)        # 7501: 7500, up to rounding
    """
    return (1 - (TINY / start) ** (1 / steps)) / (2 * l2)


def census(arrays):
    """How many values of ``arrays`` are exactly 0, subnormal, tiny normal (below
    ``TINY_NORMAL``) and larger."""
    a = np.abs(np.concatenate([np.asarray(w, np.float32).ravel() for w in arrays]))
    zero = int(np.count_nonzero(a == 0))
    subnormal = int(np.count_nonzero(a < TINY)) - zero
    tiny = int(np.count_nonzero(a < TINY_NORMAL)) - zero - subnormal
    return {"zero": zero, "subnormal": subnormal, "tiny normal": tiny, "larger": a.size - zero - subnormal - tiny}


def matmul_seconds(weight_value, repeats=7):
    """Best of ``repeats`` (256 x 784) @ (784 x 256) products with every weight ``weight_value``."""
    x = np.random.default_rng(0).random((256, 784), dtype=np.float32)
    w = np.full((784, 256), weight_value, np.float32)
    return min(timeit.repeat(lambda: x @ w, number=1, repeat=repeats))


def _subnormal_count(*arrays):
    return sum(census([a])["subnormal"] for a in arrays)


def decay_run(x, y, *, epochs, lr=LR, l2=L2, flush=False, batch_size=BATCH_SIZE):
    """Train a NumPy 784-256-10 ReLU network (no biases) with SGD and l2; per epoch, its
    seconds, the number of subnormal weights (``subnormal``), of subnormal intermediate
    values of its last step (``intermediate``: pre-activations, logits, backpropagated
    errors, gradients) and the hidden layer's largest |weight| (``largest``). ``flush``
    sets subnormal weights to 0 after every step."""
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.05, (784, 256)).astype(np.float32)
    w2 = rng.normal(0, 0.05, (256, 10)).astype(np.float32)
    run = {"seconds": [], "subnormal": [], "intermediate": [], "largest": []}
    for _ in range(epochs):
        start = time.perf_counter()
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            a = xb @ w1
            h = np.maximum(a, 0)
            z = h @ w2
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1  # gradient of the cross-entropy with respect to z
            d = (p @ w2.T) * (h > 0)
            g2 = h.T @ p / len(yb) + 2 * l2 * w2
            g1 = xb.T @ d / len(yb) + 2 * l2 * w1
            w1 -= np.float32(lr) * g1
            w2 -= np.float32(lr) * g2
            if flush:
                for w in (w1, w2):
                    w[np.abs(w) < TINY] = 0
        run["seconds"].append(time.perf_counter() - start)  # the counts below are not timed
        run["subnormal"].append(_subnormal_count(w1, w2))
        run["intermediate"].append(_subnormal_count(a, z, d, g1, g2))
        run["largest"].append(float(np.abs(w1).max()))
    return run


def keras_decay_run(x, y, *, epochs, lr=LR, l2=L2, batch_size=BATCH_SIZE, seed=0):
    """:func:`decay_run`'s network and training in Keras (TensorFlow flushes subnormals).

    A ``Sequential`` of ``Dense(256, relu)`` and ``Dense(10, softmax)``, without biases,
    kernels drawn from ``RandomNormal(0, 0.05)`` and regularized with ``l2`` (a loss term
    ``l2 * sum(w^2)``, gradient ``2 l2 w``), trained with SGD on sparse categorical
    cross-entropy, in order (no shuffling). Sets Keras's global random seed to ``seed``.

    Args:
        x: the inputs, an array of shape (N, features), e.g. (N, 784) images in [0, 1];
            the network's input has ``x.shape[1]`` units.
        y: the integer class labels 0-9, shape (N,).
        epochs: the number of training epochs.
        lr: the SGD learning rate (``LR``, 0.1, by default).
        l2: the l2 factor of both kernels' regularizer (``L2``, 0.5, by default).
        batch_size: the number of samples per SGD step (``BATCH_SIZE``, 50, by default).
        seed: the seed of Keras's random generators and of the kernels' initializer.

    Returns:
        A dict of per-epoch lists, one entry per epoch: ``seconds`` (the epoch's time),
        the :func:`census` of all weights at the epoch's end (``zero``, ``subnormal``,
        ``tiny normal``, ``larger``: counts) and ``largest``, the hidden layer's largest
        |weight|.

    Example:
        from course_utils import subnormals

        x_small = (X_train[:2_000] / 255.0).reshape(-1, 784).astype("float32")
        run = subnormals.keras_decay_run(x_small, y_train[:2_000], epochs=36)
        max(run["subnormal"]), run["largest"][-1]
    """
    import keras

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            run["seconds"].append(time.perf_counter() - self.start)
            weights = self.model.get_weights()
            for key, count in census(weights).items():
                run[key].append(count)
            run["largest"].append(float(np.abs(weights[0]).max()))

    keras.utils.set_random_seed(seed)
    dense = dict(use_bias=False, kernel_initializer=keras.initializers.RandomNormal(0, 0.05, seed=seed),
                 kernel_regularizer=keras.regularizers.l2(l2))  # l2 adds l2 * sum(w^2): gradient 2 l2 w
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(256, activation="relu", **dense),
                              keras.layers.Dense(10, activation="softmax", **dense)])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(lr))
    run = {"seconds": [], "zero": [], "subnormal": [], "tiny normal": [], "larger": [], "largest": []}
    model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0, callbacks=[Record()])
    return run


def _matmuls(repeats):
    return {"normal": matmul_seconds(1e-30, repeats), "subnormal": matmul_seconds(1e-40, repeats)}


def _child(task, data, epochs, env=None, timeout=600):
    out = subprocess.run([sys.executable, "-m", "course_utils.subnormals", task, str(data), str(epochs)],
                         capture_output=True, text=True, timeout=timeout, check=True,
                         env=None if env is None else {**os.environ, **env})
    return json.loads(out.stdout)


def measure(x, y, epochs=40, repeats=5, timeout=600, progress=None):
    """All the measurements on images ``x`` and labels ``y``, in ``1 + repeats`` fresh
    processes without TensorFlow (see the module's docstring).

    The first process times the matmuls with the BLAS's default thread count; each of the
    ``repeats`` others, with the BLAS on one thread, times the matmuls and runs the plain
    and the flushed decay run (:func:`decay_run`), in alternating order.

    Args:
        x: the images, (N, 784) in [0, 1] (each sample is flattened to float32, so
            (N, 28, 28) works as well).
        y: the integer labels 0-9, one per image.
        epochs: the number of epochs of each decay run, a positive integer.
        repeats: the number of one-thread processes, a positive integer.
        timeout: the seconds each process may take.
        progress: None, or a function of no arguments, called after each process
            (``1 + repeats`` calls), e.g. a ``keras.utils.Progbar``'s ``add(1)``.

    Returns:
        A dict: ``processor`` (its model name); ``tensorflow_loaded`` (False: whether a
        process had TensorFlow loaded); ``repeats``; ``matmul``, with ``"1 thread"`` and
        ``"default threads"``, each a dict of ``normal`` and ``subnormal`` seconds (one
        thread: the best over the repeats); and ``decay``, with ``"plain"`` and
        ``"flushed"``, each a dict of per-epoch lists: ``seconds`` (the median over the
        repeats), ``seconds_min`` and ``seconds_max`` (their range), and ``subnormal``,
        ``intermediate`` and ``largest`` (the runs are deterministic: the first one's).

    Raises:
        ValueError: if ``epochs`` or ``repeats`` is not a positive integer.
        subprocess.TimeoutExpired: if a process runs longer than ``timeout`` seconds.
        subprocess.CalledProcessError: if a process fails.

    Example:
        import keras
        from course_utils import subnormals

        x_small = (X_train[:2_000] / 255.0).reshape(-1, 784).astype("float32")
        bar = keras.utils.Progbar(1 + 3, unit_name="process")
        report = subnormals.measure(x_small, y_train[:2_000], epochs=36, repeats=3,
                                    progress=lambda: bar.add(1))
        report["matmul"]["1 thread"]   # {"normal": ..., "subnormal": ...} seconds
        print(subnormals.verdict(report))
    """
    epochs, repeats = whole_number("epochs", epochs), whole_number("repeats", repeats)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        np.savez(data, x=np.asarray(x, np.float32).reshape(len(x), -1), y=np.asarray(y))
        threaded = _child("matmul", data, epochs, timeout=timeout)
        if progress:
            progress()
        children = []
        for i in range(repeats):
            # Alternate which run goes first, so that a drift in the machine's load hits both.
            task = "plain,flushed" if i % 2 == 0 else "flushed,plain"
            children.append(_child(task, data, epochs, env=_ONE_THREAD, timeout=timeout))
            if progress:
                progress()
    decay = {}
    for name in ("plain", "flushed"):
        runs = [child["decay"][name] for child in children]
        seconds = np.array([run["seconds"] for run in runs])
        decay[name] = {"seconds": np.median(seconds, axis=0).tolist(), "seconds_min": seconds.min(axis=0).tolist(),
                       "seconds_max": seconds.max(axis=0).tolist(),
                       **{key: runs[0][key] for key in ("subnormal", "intermediate", "largest")}}
    single = {key: min(child["matmul"][key] for child in children) for key in ("normal", "subnormal")}
    return {"processor": processor_name(),
            "tensorflow_loaded": any(child["tensorflow_loaded"] for child in [threaded, *children]),
            "repeats": repeats,
            "matmul": {"1 thread": single, "default threads": threaded["matmul"]},
            "decay": decay}


def slowdowns(report):
    """Subnormal over normal matmul time, per thread setting."""
    return {threads: t["subnormal"] / t["normal"] for threads, t in report["matmul"].items()}


def verdict(report):
    """One sentence, decided by the measurement in ``report`` (from :func:`measure`).

    Args:
        report: the dict :func:`measure` returns; its ``processor`` and ``matmul`` entries
            are read.

    Returns:
        A str naming the processor and the subnormal-over-normal matmul time per thread
        setting, and saying that the processor pays for subnormals (a ratio of ``SLOW``,
        2, or more at either setting: a network whose weights decay into the subnormal
        range should slow down here) or handles them at full speed.

    Example:
        from course_utils import subnormals

        x_small = (X_train[:2_000] / 255.0).reshape(-1, 784).astype("float32")
        report = subnormals.measure(x_small, y_train[:2_000], epochs=36, repeats=3)
        print(subnormals.verdict(report))
    """
    ratios = slowdowns(report)
    figures = " and ".join(f"{r:.1f}x ({threads})" for threads, r in ratios.items())
    head = f"On this processor ({report['processor']}) a matrix product with subnormal operands costs {figures} the normal one"
    if max(ratios.values()) >= SLOW:
        return (f"{head}: it pays for subnormals, so a network whose weights decay into the "
                "subnormal range should slow down here.")
    return (f"{head}: it handles subnormals at full speed, so weights in the subnormal range "
            f"should cost no time here; a processor that pays (a ratio of {SLOW:g} or more) would slow down.")


if __name__ == "__main__":
    task, path, n_epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    result = {"matmul": _matmuls(repeats=7)}
    if task != "matmul":
        with np.load(path) as f:
            images, labels = f["x"], f["y"]
        result["decay"] = {name: decay_run(images, labels, epochs=n_epochs, flush=name == "flushed")
                           for name in task.split(",")}
    result["tensorflow_loaded"] = "tensorflow" in sys.modules  # must stay False: see the module doc
    print(json.dumps(result))
