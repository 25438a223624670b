"""The course installs from binary wheels wherever students are.

For each cell of the matrix (Python 3.11-3.13 x Linux x86-64, Linux aarch64, macOS arm64;
Windows through WSL2 is the Linux x86-64 cell), uv resolves the student's dependency set
(pyproject.toml without extras) for that cell's interpreter and platform tags, binary wheels
only, against the package registry, and finds none of the hub's or the tests' packages in
it; the GPU extra is resolved on the Linux cells. Only this machine's
own cell is also installed and run (the rest of the suite): the others are resolved.
Python 3.10 is out: Keras 3.15, the release the course is tested on, requires 3.11.

Needs the package registry (PyPI), as CI has.
"""

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from course_utils.doctor import TENSORFLOW_DISTRIBUTIONS
from helpers import INSTRUCTORS_AND_TESTS, supported_pythons

pytestmark = pytest.mark.network
ROOT = Path(__file__).resolve().parent.parent
UV = Path(sys.executable).parent / "uv"
PYTHONS = supported_pythons()
PLATFORMS = {"Linux x86-64": "x86_64-manylinux_2_28", "Linux aarch64": "aarch64-manylinux_2_28",
             "macOS arm64": "aarch64-apple-darwin"}
CELLS = [(python, platform, None) for python in PYTHONS for platform in PLATFORMS]
CELLS += [(python, platform, "gpu") for python in PYTHONS for platform in ("Linux x86-64", "Linux aarch64")]


def cell_id(cell):
    python, platform, extra = cell
    return f"py{python}-{platform.replace(' ', '-')}" + (f"-{extra}" if extra else "")


def resolve(cell):
    python, platform, extra = cell
    # The target's markers and tags come from --python-version and --python-platform; this
    # interpreter runs the resolver, and uv must not fetch one of its own.
    command = [str(UV), "pip", "compile", "--quiet", "--no-header", "--only-binary", ":all:",
               "--no-python-downloads", "--python", sys.executable,
               "--python-version", python, "--python-platform", PLATFORMS[platform], str(ROOT / "pyproject.toml")]
    if extra:
        command += ["--extra", extra]
    out = subprocess.run(command, capture_output=True, text=True, timeout=600)
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", out.stdout, re.M))
    return out.returncode, {name.lower().replace("_", "-"): version for name, version in pins.items()}, out.stderr


@pytest.fixture(scope="module")
def resolutions():
    """Every cell at once: each resolution waits on the registry, not on the cores."""
    with ThreadPoolExecutor(max_workers=len(CELLS)) as pool:
        return dict(zip(CELLS, pool.map(resolve, CELLS)))


@pytest.mark.parametrize("cell", CELLS, ids=[cell_id(c) for c in CELLS])
def test_resolves_to_binary_wheels(cell, resolutions):
    returncode, pins, stderr = resolutions[cell]
    assert returncode == 0, f"{cell_id(cell)} does not resolve:\n{stderr[-3000:]}"
    tensorflows = sorted(set(TENSORFLOW_DISTRIBUTIONS) & set(pins))
    assert tensorflows == ["tensorflow"], f"{cell_id(cell)}: TensorFlow distributions {tensorflows}"
    assert pins["tensorflow"].startswith("2.21.") and pins["keras"].split(".")[0] == "3"
    assert "tf-keras" not in pins, f"{cell_id(cell)} pulls in tf_keras (Keras 2)"
    cuda = sorted(name for name in pins if name.startswith("nvidia-"))
    assert bool(cuda) == (cell[2] == "gpu"), f"{cell_id(cell)}: CUDA packages {cuda}"
    tools = sorted(INSTRUCTORS_AND_TESTS & set(pins))
    assert not tools, f"{cell_id(cell)}: a student's install brings {tools}"
