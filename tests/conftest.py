import matplotlib
import pytest

from course_grading.sandbox import Sandbox, SandboxUnavailable
from helpers import required

matplotlib.use("Agg")  # tests draw figures but never show them


@pytest.fixture(scope="module")
def grading_env():
    """Fast mode and no downloads in the kernels that nbgrader starts (they inherit it), for
    a whole module: its batches are graded once, by module-scoped fixtures."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_FAST", "1")
        patch.setenv("COURSE_OFFLINE", "1")
        yield


@pytest.fixture(scope="session")
def sandbox_required():
    """The grading sandbox (bubblewrap, a cgroup): CI must have it (.ci/run installs
    bubblewrap); elsewhere its tests are skipped, saying what is missing."""
    try:
        Sandbox().check()
    except SandboxUnavailable as error:
        required(f"no grading sandbox on this machine: {error}")
