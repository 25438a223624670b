"""course_utils.subnormals: what holds whichever processor runs the tests (the timings
themselves differ by two orders of magnitude between processors)."""

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


def test_measure_runs_without_tensorflow_and_reports_every_case():
    """The timings must come from processes that never imported TensorFlow (which flushes
    subnormals in its threads and competes for the cores): this test process has."""
    import tensorflow  # noqa: F401 (make sure the parent has it loaded)
    x, y = images()
    report = subnormals.measure(x, y, epochs=2)
    assert report["tensorflow_loaded"] is False
    assert set(report["matmul"]) == {"1 thread", "default threads"}
    assert all(t > 0 for case in report["matmul"].values() for t in case.values())
    assert set(report["decay"]) == {"plain", "flushed"}
    assert all(len(run["seconds"]) == len(run["subnormal"]) == 2 for run in report["decay"].values())
    assert report["processor"] == subnormals.processor_name() != ""


def test_weight_decay_drives_unused_weights_into_the_subnormal_range_and_keeps_them_there():
    """lr 0.5 and l2 0.5 shrink an unused weight by half per step: from about 0.05 to below
    1.18e-38 in about 122 steps (6 per epoch here), then rounding keeps it subnormal."""
    x, y = images()
    plain = subnormals.decay_run(x, y, epochs=30, lr=0.5, l2=0.5)["subnormal"]
    assert plain[0] == 0, "weights start normal"
    assert plain[-1] >= 196 * 256 * 0.9, "most weights of the always-0 pixels end subnormal"
    first = next(i for i, n in enumerate(plain) if n > 0)
    assert 15 <= first <= 25 and min(plain[first + 3:]) >= plain[first + 2] > 0, "they enter, and stay"
    flushed = subnormals.decay_run(x, y, epochs=30, lr=0.5, l2=0.5, flush=True)["subnormal"]
    assert flushed == [0] * 30


def report_with(normal, subnormal):
    timing = {"normal": normal, "subnormal": subnormal}
    return {"processor": "Test CPU", "matmul": {"1 thread": timing, "default threads": timing}}


def test_verdict_follows_the_measurement():
    slow = subnormals.verdict(report_with(1.3e-3, 0.214))   # 160x: a processor with assists
    assert "Test CPU" in slow and "164.6x (1 thread)" in slow and "it pays for subnormals" in slow
    fast = subnormals.verdict(report_with(1.3e-3, 1.35e-3))
    assert "1.0x (1 thread)" in fast and "at full speed" in fast


def test_bad_epochs_is_named():
    with pytest.raises(ValueError, match="epochs=0"):
        subnormals.measure(*images(10), epochs=0)
