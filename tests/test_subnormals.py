import numpy as np

from course_utils import subnormals


def test_measure_runs_without_tensorflow_and_reports_every_case():
    """The timings must come from a process that never imported TensorFlow (which changes
    the threads' floating-point mode and competes for the cores): this test process has."""
    import tensorflow  # noqa: F401 (make sure the parent has it loaded)
    rng = np.random.default_rng(0)
    x, y = rng.random((300, 784), dtype=np.float32), rng.integers(0, 10, 300)
    result = subnormals.measure(x, y, epochs=1)
    assert result["tensorflow_loaded"] is False
    assert set(result["mlp"]) == {"normal", "subnormal", "flushed"}
    assert all(v > 0 for part in ("matmul", "mlp") for v in result[part].values())
