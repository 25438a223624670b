"""The gradebook on PostgreSQL, the option for a course with several graders.

A real server (Debian's ``postgresql``, installed by ``.ci/run``) is started by the tests on
127.0.0.1 and stopped after. The course's ``nbgrader_config.py`` takes the database from
``COURSE_GRADEBOOK_URL``; without it, SQLite in ``course/`` as always.
"""

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from course_grading import pipeline
from helpers import free_port, required

ROOT = Path(__file__).resolve().parent.parent
MACS = "ex06_counting_macs"
pytestmark = [pytest.mark.root, pytest.mark.sandbox, pytest.mark.usefixtures("grading_env", "sandbox_required")]


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of its own on 127.0.0.1; yields the URL of an empty database maker."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        required("no PostgreSQL server installed (Debian: apt install postgresql)")
    bin_dir = Path(bins[-1]).parent
    # The server refuses to run as root: as the postgres account where there is one.
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run_as:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            required("no postgres account to run the server as")
    data = Path(tempfile.mkdtemp(prefix="course-postgres-"))
    if run_as:
        os.chown(data, owner.pw_uid, owner.pw_gid)
    port = free_port()
    subprocess.run([*run_as, bin_dir / "initdb", "-D", data / "db", "-U", "grader", "--auth=trust"],
                   check=True, capture_output=True)
    subprocess.run([*run_as, bin_dir / "pg_ctl", "-D", data / "db", "-l", data / "server.log", "-w", "start",
                    "-o", f"-h 127.0.0.1 -p {port} -k {data}"], check=True, capture_output=True)
    made = iter(range(1000))

    def database():
        name = f"gradebook{next(made)}"
        subprocess.run([bin_dir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "grader", name],
                       check=True, capture_output=True)
        return f"postgresql://grader@127.0.0.1:{port}/{name}"

    yield database
    subprocess.run([*run_as, bin_dir / "pg_ctl", "-D", data / "db", "-m", "fast", "-w", "stop"], capture_output=True)
    shutil.rmtree(data, ignore_errors=True)


def course(root, monkeypatch, url=None):
    if url:
        monkeypatch.setenv("COURSE_GRADEBOOK_URL", url)
    else:
        monkeypatch.delenv("COURSE_GRADEBOOK_URL", raising=False)
    api = pipeline.copy_course(root, ROOT)
    assert api.coursedir.db_url == (url or f"sqlite:///{root}/course/gradebook.db")
    pipeline.release(api, MACS)
    return api


def submit(folder, students):
    """ex06's solution for the students named "full-*", its student version for the others."""
    for student in students:
        source = "solutions" if student.startswith("full") else "exercises"
        (folder / student).mkdir(parents=True)
        shutil.copy(ROOT / source / MACS / f"{MACS}.ipynb", folder / student)


def pipeline_run(api, tmp):
    """Collect, autograde, export and feedback for two students; the scores and the time."""
    start = time.perf_counter()
    submit(tmp, ["full-a", "stub-b"])
    pipeline.collect(api, MACS, tmp)
    from course_grading.autograde import autograde
    results = autograde(api, MACS, jobs=1)
    pipeline.export(api, tmp / "grades.csv")
    pages = pipeline.feedback(api, MACS)
    return {r.student: r.score for r in results}, len(pages), time.perf_counter() - start


def test_the_pipeline_on_postgresql_gives_what_sqlite_gives(postgres, tmp_path, monkeypatch):
    sqlite = pipeline_run(course(tmp_path / "sqlite", monkeypatch), tmp_path / "in-sqlite")
    url = postgres()
    on_postgres = pipeline_run(course(tmp_path / "postgres", monkeypatch, url), tmp_path / "in-postgres")
    assert sqlite[:2] == on_postgres[:2] == ({"full-a": 6, "stub-b": 0}, 2)
    assert not (tmp_path / "postgres" / "course" / "gradebook.db").exists(), "PostgreSQL, not a SQLite file"
    with Gradebook(url) as gb:
        assert gb.find_submission(MACS, "full-a").score == 6
    print(f"\npipeline for 2 submissions: SQLite {sqlite[2]:.1f} s, PostgreSQL {on_postgres[2]:.1f} s")


def test_two_graders_at_once_lose_nothing(postgres, tmp_path, monkeypatch):
    """Two instructors autograde different students at the same time, each with its own
    course-grade process, into one PostgreSQL gradebook."""
    url = postgres()
    root = tmp_path / "course"
    api = course(root, monkeypatch, url)
    students = ["full-1", "full-2", "stub-3", "stub-4", "full-5", "stub-6"]
    submit(tmp_path / "in", students)
    pipeline.collect(api, MACS, tmp_path / "in")
    grader = [sys.executable, "-m", "course_grading.cli", "--root", str(root), "autograde", "--jobs", "1", MACS]
    first = subprocess.Popen([*grader, *students[0::2]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    second = subprocess.Popen([*grader, *students[1::2]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = [first.communicate(timeout=600)[0], second.communicate(timeout=600)[0]]
    assert (first.returncode, second.returncode) == (0, 0), outputs
    with Gradebook(url) as gb:
        scores = {s: gb.find_submission(MACS, s).score for s in students}
        grades = sum(len(nb.grades) for s in students for nb in gb.find_submission(MACS, s).notebooks)
    assert scores == {s: 6 if s.startswith("full") else 0 for s in students}
    assert grades == 3 * len(students)
