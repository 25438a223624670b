import matplotlib
import pytest

matplotlib.use("Agg")  # tests draw figures but never show them


@pytest.fixture
def grading_env(monkeypatch):
    """Fast mode and no downloads in the kernels that nbgrader starts (they inherit it)."""
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("COURSE_OFFLINE", "1")
