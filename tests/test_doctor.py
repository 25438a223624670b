"""course-doctor: passes here, and names each bad state that can be produced here, with its fix."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from course_utils import doctor


def statuses(rows):
    return [r.status for r in rows]


def test_doctor_passes_on_this_machine_and_reports_every_part():
    out = subprocess.run([sys.executable, "-m", "course_utils.doctor"], capture_output=True, text=True,
                         timeout=300, env={k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"})
    assert out.returncode == 0, out.stdout
    for part in ("Python 3.", "TensorFlow: tensorflow", "Keras 3.", "NumPy", "Keras backend: tensorflow",
                 "TensorFlow sees: CPU", "XLA compiles", "MNIST", "Fashion-MNIST", "CIFAR-10",
                 "stand-in cache", "nbgrader's server extension: enabled", "nbgrader's lab extension: enabled",
                 "The course can run here."):
        assert part in out.stdout, f"{part!r} missing from:\n{out.stdout}"


def test_unsupported_python_fails_with_the_versions_that_work():
    row, = doctor.check_python((3, 10, 14))
    assert row.status == "FAIL" and "3.11, 3.12 or 3.13" in row.what


def installed(**versions):
    return lambda name: versions.get(name)


def test_two_tensorflow_distributions_fail():
    rows = doctor.check_distributions(installed(**{"tensorflow": "2.21.0", "tensorflow-cpu": "2.21.0",
                                                   "keras": "3.15.1", "numpy": "2.4.6"}))
    assert rows[0].status == "FAIL" and "tensorflow 2.21.0, tensorflow-cpu 2.21.0" in rows[0].what
    assert "rm -rf .venv" in rows[0].fix


def test_keras_2_fails_and_tf_keras_warns():
    rows = doctor.check_distributions(installed(**{"tensorflow": "2.15.0", "keras": "2.15.0",
                                                   "tf-keras": "2.15.1", "numpy": "1.26.4"}))
    by_status = {r.status: r for r in rows if "eras" in r.what}
    assert "Keras 2.15.0" in by_status["FAIL"].what
    assert "tf_keras 2.15.1" in by_status["warn"].what and "pip uninstall tf_keras" in by_status["warn"].fix


def test_legacy_keras_variable_fails_with_its_fix():
    row, = doctor.check_environment({"TF_USE_LEGACY_KERAS": "1"})
    assert row.status == "FAIL" and "unset TF_USE_LEGACY_KERAS" in row.fix
    assert statuses(doctor.check_environment({})) == ["ok"]


def test_the_whole_doctor_fails_when_legacy_keras_is_set():
    out = subprocess.run([sys.executable, "-m", "course_utils.doctor"], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "TF_USE_LEGACY_KERAS": "1"})
    assert out.returncode == 1 and "FAIL  TF_USE_LEGACY_KERAS=1" in out.stdout


def make_venv(folder, home, version):
    folder.mkdir()
    (folder / "pyvenv.cfg").write_text(textwrap.dedent(f"""\
        home = {home}
        include-system-site-packages = false
        version = {version}
        """))
    return folder


def test_venv_of_a_python_that_is_gone_fails(tmp_path):
    row, = doctor.check_venv(make_venv(tmp_path / ".venv", tmp_path / "no-such-python" / "bin", "3.9.18"))
    assert row.status == "FAIL" and "3.9.18" in row.what and "no longer exists" in row.what
    assert "rm -rf" in row.fix


def test_venv_whose_python_changed_version_fails(tmp_path):
    bin_dir = os.path.dirname(sys.executable)
    row, = doctor.check_venv(make_venv(tmp_path / ".venv", bin_dir, "3.9.18"))
    assert row.status == "FAIL" and "is now Python 3." in row.what
    this = ".".join(map(str, sys.version_info[:3]))
    assert statuses(doctor.check_venv(make_venv(tmp_path / "fine", bin_dir, this))) == ["ok"]


def test_unwritable_cache_fails_with_its_fix(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # even root cannot create a folder inside a file
    row, = doctor.check_cache(blocker / "cache")
    assert row.status == "FAIL" and "COURSE_CACHE_DIR" in row.fix
    assert statuses(doctor.check_cache(tmp_path / "cache")) == ["ok"]


def test_the_venv_checked_is_the_course_folders_where_the_student_is(tmp_path, monkeypatch):
    """Found from the working folder, not from the package's own path (which is site-packages
    on a non-editable install, as on a hub)."""
    course = tmp_path / "course"
    (course / "lectures").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("")
    monkeypatch.chdir(course / "lectures")
    assert doctor.course_venv() == course.resolve() / ".venv"
    row, = doctor.check_venv()
    assert row.status == "info" and "no .venv in course/" in row.what
    monkeypatch.chdir(tmp_path)
    assert doctor.course_venv() == Path(sys.prefix)
