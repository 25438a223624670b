import matplotlib
import pytest

from course_grading.sandbox import Sandbox, SandboxUnavailable
from helpers import required

matplotlib.use("Agg")  # tests draw figures but never show them


@pytest.fixture
def grading_env(monkeypatch):
    """Fast mode and no downloads in the kernels that nbgrader starts (they inherit it)."""
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("COURSE_OFFLINE", "1")


@pytest.fixture(scope="session")
def sandbox_required():
    """The grading sandbox (bubblewrap, a cgroup): CI must have it (.ci/run installs
    bubblewrap); elsewhere its tests are skipped, saying what is missing."""
    try:
        Sandbox().check()
    except SandboxUnavailable as error:
        required(f"no grading sandbox on this machine: {error}")
