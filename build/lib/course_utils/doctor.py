"""``course-doctor``: can this machine run the course, and if not, what to do about it.

Prints one line per check: versions (Python, TensorFlow, Keras and its backend, NumPy);
the devices TensorFlow sees (CPU, NVIDIA GPU, Apple Metal) and whether XLA compiles; for
each dataset, the source the loaders would use and the stand-in cache's size; whether
JupyterLab and nbgrader's extensions are enabled; and the known bad states, each with its
fix. Exit code 0 when the course can run, 1 when a check failed.

Each check is a function returning :class:`Check` rows, so that tests can provoke the bad
states one by one: Keras 2 or ``tf_keras`` installed, ``TF_USE_LEGACY_KERAS`` set, two
TensorFlow distributions in one environment, a ``.venv`` made by another Python, no write
access to the cache.
"""

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

DISTRIBUTION = "training-deep-nets"
# Every name TensorFlow has been published under: two of them in one environment
# overwrite each other's files in site-packages/tensorflow.
TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-macos",
                            "tensorflow-intel", "tensorflow-aarch64", "tf-nightly", "tf-nightly-cpu")


@dataclass(frozen=True)
class Check:
    """One line of the report: ``status`` is ``"ok"``, ``"info"``, ``"warn"`` or ``"FAIL"``."""
    status: str
    what: str
    fix: str = ""

    def __str__(self):
        return f"{self.status:4}  {self.what}" + (f"\n      fix: {self.fix}" if self.fix else "")


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def supported_pythons():
    """The Python versions the course supports, oldest first, as ``(major, minor)`` pairs:
    the installed distribution's classifiers, whose one source is pyproject.toml."""
    prefix = "Programming Language :: Python :: "
    classifiers = importlib.metadata.metadata(DISTRIBUTION).get_all("Classifier") or []
    return sorted(tuple(map(int, c.removeprefix(prefix).split("."))) for c in classifiers
                  if c.startswith(prefix) and c.removeprefix(prefix).count(".") == 1)


def check_python(version_info=sys.version_info):
    version = ".".join(map(str, version_info[:3]))
    supported = supported_pythons()
    if tuple(version_info[:2]) in supported:
        return [Check("ok", f"Python {version} ({sys.executable})")]
    names = [f"{major}.{minor}" for major, minor in supported]
    return [Check("FAIL", f"Python {version}: the course needs {', '.join(names[:-1])} or {names[-1]}",
                  "install one of those and run ./bin/lab again (README, 'Set up')")]


def check_distributions(version=_version):
    """Versions of the course's main libraries, and TensorFlow installed exactly once."""
    found = {name: version(name) for name in TENSORFLOW_DISTRIBUTIONS}
    installed = sorted(f"{name} {v}" for name, v in found.items() if v)
    rows = []
    if len(installed) > 1:
        rows.append(Check("FAIL", f"two TensorFlow distributions in one environment: {', '.join(installed)}",
                          "recreate the environment: rm -rf .venv && ./bin/lab"))
    elif not installed:
        rows.append(Check("FAIL", "TensorFlow is not installed", "./bin/lab sets up .venv with it"))
    else:
        rows.append(Check("ok", f"TensorFlow: {installed[0]}"))
    keras = version("keras")
    if keras is None:
        rows.append(Check("FAIL", "Keras is not installed", "pip install 'keras>=3.15,<4' (./bin/lab does)"))
    elif int(keras.split(".")[0]) < 3:
        rows.append(Check("FAIL", f"Keras {keras}: the course is written for Keras 3",
                          "pip install 'keras>=3.15,<4' (or recreate .venv: rm -rf .venv && ./bin/lab)"))
    else:
        rows.append(Check("ok", f"Keras {keras}"))
    if version("tf-keras"):
        rows.append(Check("warn", f"tf_keras {version('tf-keras')} (Keras 2) is installed: with "
                                  "TF_USE_LEGACY_KERAS=1, tf.keras would be Keras 2",
                          "pip uninstall tf_keras (the course needs only Keras 3)"))
    numpy = version("numpy")
    rows.append(Check("ok" if numpy else "FAIL", f"NumPy {numpy}" if numpy else "NumPy is not installed"))
    return rows


def check_environment(environ=os.environ):
    legacy = environ.get("TF_USE_LEGACY_KERAS", "")
    if legacy.lower() in ("1", "true", "yes"):
        return [Check("FAIL", f"TF_USE_LEGACY_KERAS={legacy}: tf.keras is Keras 2, next to the course's Keras 3",
                      "unset TF_USE_LEGACY_KERAS (in your shell profile, or %env in the notebook)")]
    return [Check("ok", "TF_USE_LEGACY_KERAS not set")]


def course_venv(where=None):
    """The ``.venv`` of the course folder that holds ``where`` (default: the working folder),
    the folder with ``nbgrader_config.py`` and ``lectures/`` found upwards; else the
    environment this Python runs in. Found from where the student is, not from where the
    package is installed: a non-editable install (as on a hub) lives in ``site-packages``."""
    here = Path(where or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "lectures").is_dir():
            return folder / ".venv"
    return Path(sys.prefix)


def check_venv(venv=None):
    """The course's .venv (:func:`course_venv`), if there is one, was made by a Python that
    still exists and is still the version it was made with."""
    venv = course_venv() if venv is None else Path(venv)
    config = venv / "pyvenv.cfg"
    if not config.is_file():
        return [Check("info", f"no {venv.name} in {venv.parent.name}/ (./bin/lab creates it)")]
    values = dict(line.split("=", 1) for line in config.read_text().splitlines() if "=" in line)
    values = {k.strip(): v.strip() for k, v in values.items()}
    made_with, home = values.get("version") or values.get("version_info", "?"), values.get("home", "")
    fix = f"rm -rf {venv} && ./bin/lab (recreates it with a Python on PATH)"
    base = next((Path(home) / name for name in ("python3", "python") if (Path(home) / name).exists()), None)
    if base is None:
        return [Check("FAIL", f"{venv} was made by Python {made_with} in {home}, which no longer exists", fix)]
    now = subprocess.run([str(base), "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
                         capture_output=True, text=True).stdout.strip()
    if now.split(".")[:2] != made_with.split(".")[:2]:
        return [Check("FAIL", f"{venv} was made by Python {made_with}; {base} is now Python {now}", fix)]
    return [Check("ok", f"{venv} made by Python {made_with}, still there")]


def check_tensorflow():
    """Keras's backend, the devices TensorFlow sees, and one XLA compilation."""
    import keras
    import tensorflow as tf
    rows = [Check("ok" if keras.config.backend() == "tensorflow" else "FAIL",
                  f"Keras backend: {keras.config.backend()}",
                  "" if keras.config.backend() == "tensorflow" else "unset KERAS_BACKEND, or set it to tensorflow")]
    devices = tf.config.list_physical_devices()
    gpus = [d for d in devices if d.device_type == "GPU"]
    metal = _version("tensorflow-metal")
    names = ", ".join(f"{d.device_type} {d.name.rsplit(':', 1)[-1]}" for d in devices)
    rows.append(Check("ok", f"TensorFlow sees: {names}" + (" (Apple Metal)" if gpus and metal else "")))
    if not gpus and shutil.which("nvidia-smi"):
        rows.append(Check("warn", "an NVIDIA GPU is here (nvidia-smi) but TensorFlow does not see it",
                          "COURSE_GPU=1 ./bin/lab (installs tensorflow[and-cuda]); the course runs on the CPU meanwhile"))
    elif not gpus:
        rows.append(Check("info", "no GPU: the course runs on the CPU (fast mode: COURSE_FAST=1)"))
    try:
        value = tf.function(lambda x: x * 2 + 1, jit_compile=True)(tf.ones(3)).numpy().tolist()
        rows.append(Check("ok" if value == [3.0] * 3 else "FAIL", f"XLA compiles (jit_compile=True): {value}"))
    except Exception as err:  # any XLA failure is reported, not raised: the rest still runs
        rows.append(Check("warn", f"XLA does not compile here: {' '.join(str(err).split())[:200]}",
                          "leave jit_compile off (Keras's default on CPUs)"))
    return rows


def check_data():
    """For each dataset, the source the loaders would use (without downloading); the cache."""
    from course_utils import datasets
    rows = []
    for name in ("mnist", "fashion_mnist", "cifar10"):
        source = datasets.find_source(name, local_only=True)  # files here, not a download
        if source.real:
            rows.append(Check("ok", source.describe()))
        else:
            rows.append(Check("info", f"{source.title}: no local copy of the real data; online, Keras downloads "
                                      "it, offline the loaders use the synthetic stand-in"))
    return rows + check_cache(datasets.standin_cache_dir())


def check_cache(cache):
    size = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) if cache.is_dir() else 0
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache):
            pass
    except OSError as err:
        return [Check("FAIL", f"the stand-in cache {cache} is not writable ({err.strerror})",
                      "set COURSE_CACHE_DIR to a folder you can write to")]
    return [Check("ok", f"stand-in cache {cache}: {size / 1e6:.0f} MB, writable")]


def check_jupyter():
    """JupyterLab, and nbgrader's server and lab extensions, enabled."""
    jupyter = Path(sys.executable).parent / "jupyter"
    if not jupyter.exists():
        return [Check("FAIL", "JupyterLab is not installed in this environment", "./bin/lab sets it up")]
    server = subprocess.run([str(jupyter), "server", "extension", "list"], capture_output=True, text=True)
    lab = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True, text=True)
    rows = []
    for what, out, needle in (("server extension", server, "nbgrader"), ("lab extension", lab, "@jupyter/nbgrader")):
        text = out.stdout + out.stderr
        enabled = [line for line in text.splitlines() if needle in line and "enabled" in line.lower()]
        rows.append(Check("ok" if enabled else "FAIL", f"nbgrader's {what}: {'enabled' if enabled else 'not enabled'}",
                          "" if enabled else "pip install -e . again (nbgrader enables its extensions on install)"))
    return rows


def run_checks():
    rows = check_python() + check_distributions() + check_environment() + check_venv()
    if not any(r.status == "FAIL" for r in rows):  # importing a broken TensorFlow would only crash
        rows += check_tensorflow()
    return rows + check_data() + check_jupyter()


def main(argv=None):
    """Print every check; exit 1 if one failed."""
    if argv and argv != ["--json"]:
        print("usage: course-doctor [--json]", file=sys.stderr)
        return 2
    rows = run_checks()
    if argv == ["--json"]:
        print(json.dumps([r.__dict__ for r in rows], indent=1))
    else:
        print("\n".join(map(str, rows)))
        failed = sum(r.status == "FAIL" for r in rows)
        print(f"\n{'The course can run here.' if not failed else f'{failed} problem(s): see the fixes above.'}")
    return 1 if any(r.status == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
