"""course_utils.subnormals: what holds whichever processor runs the tests (the timings
themselves differ by two orders of magnitude between processors)."""

import math

import numpy as np
import pytest

from course_utils import subnormals


def images(n=300, seed=0):
    """Random images whose first quarter of pixels is always 0: the weights of those pixels
    get no gradient from the data, only weight decay."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784), dtype=np.float32)
    x[:, :196] = 0
    return x, rng.integers(0, 10, n)


def test_measure_runs_without_tensorflow_repeats_and_reports_every_case():
    """The timings must come from processes that never imported TensorFlow (which flushes
    subnormals in its threads and competes for the cores): this test process has."""
    import tensorflow  # noqa: F401 (make sure the parent has it loaded)
    x, y = images()
    calls = []
    report = subnormals.measure(x, y, epochs=2, repeats=3, progress=lambda: calls.append(1))
    assert report["tensorflow_loaded"] is False
    assert len(calls) == 1 + 3, "one call per process: the single-thread matmul, then each repeat"
    assert report["repeats"] == 3
    assert set(report["matmul"]) == {"1 thread", "default threads"}
    assert all(t > 0 for case in report["matmul"].values() for t in case.values())
    assert set(report["decay"]) == {"plain", "flushed"}
    for run in report["decay"].values():
        assert all(len(run[key]) == 2 for key in ("seconds", "seconds_min", "seconds_max", "subnormal",
                                                  "intermediate", "largest"))
        assert all(lo <= mid <= hi for lo, mid, hi in zip(run["seconds_min"], run["seconds"], run["seconds_max"]))
    assert report["processor"] == subnormals.processor_name() != ""


def test_the_epoch_time_is_the_median_over_the_repeats(monkeypatch):
    """Five single-thread processes report 1, 2, 3, 4 and 100 s for an epoch: the median is 3, the range 1-100."""
    def child(task, data, epochs, env=None, timeout=600):
        assert (env is None) == (task == "matmul"), "the decay runs on one BLAS thread, the threaded matmul not"
        if task == "matmul":
            return {"matmul": {"normal": 1.0, "subnormal": 1.0}, "tensorflow_loaded": False}
        order.append(task)
        seconds = [[1.0, 2.0, 3.0, 4.0, 100.0][len(order) - 1]]
        run = {"seconds": seconds, "subnormal": [0], "intermediate": [0], "largest": [0.1]}
        return {"matmul": {"normal": 1.0, "subnormal": 1.0}, "tensorflow_loaded": False,
                "decay": {"plain": run, "flushed": run}}
    order = []
    monkeypatch.setattr(subnormals, "_child", child)
    report = subnormals.measure(*images(10), epochs=1, repeats=5)
    assert order == ["plain,flushed", "flushed,plain"] * 2 + ["plain,flushed"], "the two runs alternate"
    plain = report["decay"]["plain"]
    assert (plain["seconds"], plain["seconds_min"], plain["seconds_max"]) == ([3.0], [1.0], [100.0])


def test_weight_decay_drives_unused_weights_into_the_subnormal_range_and_keeps_them_there():
    """lr 0.5 and l2 0.5 shrink an unused weight by half per step: from about 0.05 to below
    1.18e-38 in about 122 steps (6 per epoch here), then rounding keeps it subnormal."""
    x, y = images()
    assert subnormals.steps_to_subnormal(0.5, 0.5) == 122
    plain = subnormals.decay_run(x, y, epochs=30, lr=0.5, l2=0.5)
    counts = plain["subnormal"]
    assert counts[0] == 0, "weights start normal"
    assert counts[-1] >= 196 * 256 * 0.9, "most weights of the always-0 pixels end subnormal"
    first = next(i for i, n in enumerate(counts) if n > 0)
    assert 15 <= first <= 25 and min(counts[first + 3:]) >= counts[first + 2] > 0, "they enter, and stay"
    assert plain["largest"][-1] < plain["largest"][0]
    flushed = subnormals.decay_run(x, y, epochs=30, lr=0.5, l2=0.5, flush=True)
    assert flushed["subnormal"] == [0] * 30
    assert len(flushed["intermediate"]) == 30 and all(n >= 0 for n in flushed["intermediate"])


def test_keras_flushes_what_numpy_keeps():
    """The same decay in Keras: TensorFlow's flush-to-zero leaves no subnormal weight; the
    weights end as zeros or tiny normal numbers that stop shrinking, because an update
    lr * 2 l2 * w smaller than the smallest normal float is itself flushed to zero."""
    x, y = images()
    run = subnormals.keras_decay_run(x, y, epochs=30, lr=0.5, l2=0.5)
    assert len(run["seconds"]) == len(run["largest"]) == 30
    assert run["subnormal"] == [0] * 30
    assert run["zero"][-1] + run["tiny normal"][-1] >= 196 * 256 * 0.9
    assert subnormals.TINY <= run["largest"][-1] <= subnormals.TINY / (2 * 0.5 * 0.5) * 1.001


def test_steps_and_learning_rate_to_the_subnormal_range_are_inverse():
    assert subnormals.steps_to_subnormal(0.1, 0.01) == math.ceil(math.log(subnormals.TINY / 0.05) / math.log(0.998))
    lr = subnormals.lr_to_subnormal(7_500, 0.01)
    assert subnormals.steps_to_subnormal(lr, 0.01) in (7_500, 7_501)
    with pytest.raises(ValueError, match="between 0 and 1"):
        subnormals.steps_to_subnormal(100, 0.01)


def test_census_sorts_every_value():
    values = np.array([0, -0.0, 1e-40, -1e-42, 1e-35, -2e-31, 1e-3, 5], np.float32)
    assert subnormals.census([values[:3], values[3:]]) == {"zero": 2, "subnormal": 2, "tiny normal": 2, "larger": 2}


def report_with(normal, subnormal):
    timing = {"normal": normal, "subnormal": subnormal}
    return {"processor": "Test CPU", "matmul": {"1 thread": timing, "default threads": timing}}


def test_verdict_follows_the_measurement():
    slow = subnormals.verdict(report_with(1.3e-3, 0.214))   # 160x: a processor with assists
    assert "Test CPU" in slow and "164.6x (1 thread)" in slow and "it pays for subnormals" in slow
    fast = subnormals.verdict(report_with(1.3e-3, 1.35e-3))
    assert "1.0x (1 thread)" in fast and "at full speed" in fast


def test_bad_counts_are_named():
    with pytest.raises(ValueError, match="epochs=0"):
        subnormals.measure(*images(10), epochs=0)
    with pytest.raises(ValueError, match="repeats=0"):
        subnormals.measure(*images(10), repeats=0)
