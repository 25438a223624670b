import numpy as np

from course_utils import subnormals


def test_measure_runs_in_a_fresh_process_and_reports_every_case():
    rng = np.random.default_rng(0)
    x, y = rng.random((300, 784), dtype=np.float32), rng.integers(0, 10, 300)
    result = subnormals.measure(x, y, epochs=1)
    assert set(result) == {"matmul", "mlp"}
    assert set(result["mlp"]) == {"normal", "subnormal", "flushed"}
    assert all(v > 0 for part in result.values() for v in part.values())


def test_flushing_really_zeroes_subnormal_weights():
    """The flushed run must leave no subnormal weight behind: that is what FTZ means."""
    w = np.array([1e-40, -1e-39, 1e-30, 0.5], np.float32)
    w[np.abs(w) < subnormals.TINY] = 0
    assert w.tolist() == [0.0, 0.0, np.float32(1e-30), 0.5]
