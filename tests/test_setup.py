"""bin/setup.sh picks a supported Python or says which ones work (the failing paths stop
before touching .venv), and installs the extras it is asked for, adding a missing one to an
existing environment instead of starting again."""

import os
import shutil
import subprocess
from pathlib import Path

from helpers import supported_pythons

ROOT = Path(__file__).resolve().parent.parent


def supported_in_words():
    """The versions pyproject.toml's classifiers name, as the messages write them."""
    versions = supported_pythons()
    return ", ".join(versions[:-1]) + " or " + versions[-1]


def fake_python(folder, name, version):
    """An executable that answers like a Python of ``version`` to what setup.sh asks."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    major_minor = ".".join(version.split(".")[:2])
    path.write_text(f"""#!/bin/sh
if [ "$1" = --version ]; then echo "Python {version}"; exit 0; fi
case " $3 " in *" {major_minor} "*) exit 0;; *) exit 1;; esac
""")
    path.chmod(0o755)
    return path


def setup(env, script=ROOT / "bin" / "setup.sh", extras=()):
    return subprocess.run(["bash", "-c", f'source "{script}" "$@"', "setup", *extras], capture_output=True,
                          text=True, timeout=60, env=env)


def test_an_unsupported_python_given_is_refused_by_name(tmp_path):
    python = fake_python(tmp_path / "bin", "python3.10", "3.10.14")
    out = setup({**os.environ, "PYTHON": str(python)})
    assert out.returncode == 1
    assert f"PYTHON={python} is not Python {supported_in_words()} (it says: Python 3.10.14)" in out.stderr


def test_no_supported_python_on_path_says_which_work_and_how_to_get_one(tmp_path):
    fake_python(tmp_path / "bin", "python3", "3.9.18")
    # What the script needs besides a Python.
    for tool in ("bash", "sha256sum", "cut", "cat", "dirname", "sed", "sort", "tr", "awk"):
        (tmp_path / "bin" / tool).symlink_to(shutil.which(tool))
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"} | {"PATH": str(tmp_path / "bin")}
    out = setup(env)
    assert out.returncode == 1
    assert f"needs Python {supported_in_words()}" in out.stderr and "PYTHON=" in out.stderr


def recording_python(path, log):
    """A supported Python whose venv and pip only write down what they were asked to do."""
    path.write_text(f"""#!/bin/sh
case "$1" in
  --version) echo "Python 3.11.7";;
  -c) case "$2" in *"version_info[:3]"*) echo 3.11.7;; esac;;
  -m) echo "$*" >> "{log}"
      if [ "$2" = venv ]; then mkdir -p "$4/bin" && cp "$0" "$4/bin/python"; fi;;
esac
exit 0
""")
    path.chmod(0o755)
    return path


def test_extras_are_installed_once_and_a_missing_one_is_added(tmp_path):
    course = tmp_path / "course"
    (course / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "bin" / "setup.sh", course / "bin")
    shutil.copy(ROOT / "pyproject.toml", course)
    log = tmp_path / "log"
    python = recording_python(tmp_path / "python3.11", log)
    env = {**os.environ, "PYTHON": str(python)}
    script = course / "bin" / "setup.sh"

    def run(*extras):
        log.unlink(missing_ok=True)
        out = setup(env, script, extras)
        assert out.returncode == 0, out.stderr
        return log.read_text().splitlines() if log.exists() else []

    student = run()
    assert student[0] == f"-m venv --clear {course / '.venv'}"
    assert student[-1] == f"-m pip install --quiet -e {course}"  # the student's set: no extras
    assert run("test") == [f"-m pip install --quiet -e {course}[test]"]
    assert run("test", "hub") == [f"-m pip install --quiet -e {course}[hub,test]"]
    assert run("test", "hub") == [] and run() == []  # nothing to do: nothing installed again
