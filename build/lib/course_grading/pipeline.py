"""Release, collect, export and feedback: nbgrader's commands and API, for ``course-grade``.

``collect`` checks and lays out the submissions (:mod:`course_grading.archives`), then runs
``nbgrader zip_collect``;
``export`` is nbgrader's ``CsvExportPlugin`` with a column for the caps each submission
hit in its sandbox; ``feedback`` is ``NbGraderAPI.generate_feedback``. Autograding is
:mod:`course_grading.autograde`.
"""

import csv
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_grading import archives
from course_grading.preprocessors import METADATA


def course_api(root="."):
    """``NbGraderAPI`` of the course whose ``nbgrader_config.py`` is in ``root``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(root).resolve()
    if not (root / "nbgrader_config.py").is_file():
        raise FileNotFoundError(f"root={str(root)!r}: no nbgrader_config.py there; run from the course's top folder.")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def copy_course(to, root="."):
    """Copy the grading setup of the course in ``root`` (``nbgrader_config.py`` and the
    instructor versions) to the folder ``to``, with an empty gradebook folder: a private
    course to grade in without touching the real gradebook or ``exercises/``. Returns the
    copy's ``NbGraderAPI``."""
    root, to = Path(root), Path(to)
    source = course_api(root).coursedir
    to.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "nbgrader_config.py", to)
    shutil.copytree(root / source.source_directory, to / source.source_directory,
                    ignore=shutil.ignore_patterns(*source.ignore))
    api = course_api(to)
    if api.coursedir.db_url.startswith("sqlite:///"):
        Path(api.coursedir.db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return api


def release(api, assignment):
    """``nbgrader generate_assignment --force``: solutions/<assignment> -> exercises/."""
    check_assignment(api, assignment)
    result = api.generate_assignment(assignment, force=True)
    if not result["success"]:
        raise RuntimeError(f"generate_assignment {assignment} failed:\n{result['log']}")
    return Path(api.coursedir.format_path(api.coursedir.release_directory, ".", assignment))


@dataclass
class Collected:
    """The students whose submissions were collected, and what was refused (one line each)."""
    students: list
    refused: list = field(default_factory=list)


def collect(api, assignment, source):
    """Collect submissions laid out as ``<student>/<notebook>.ipynb`` from a folder or a zip file
    (or a folder of zip files): checked and laid out by :func:`course_grading.archives.lay_out`
    (only regular files, each from the right student), then ``nbgrader zip_collect``. Returns a
    :class:`Collected`."""
    check_assignment(api, assignment)
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"source={str(source)!r}: no such file or folder.")
    root = Path(api.coursedir.root)
    downloaded = root / api.config.ZipCollectApp.downloaded_directory / assignment
    archive = downloaded / "archive"
    # zip_collect reads everything under archive/: start from this source only.
    shutil.rmtree(downloaded, ignore_errors=True)
    archive.mkdir(parents=True)
    refused = archives.lay_out(source, archive)
    laid_out = sorted(p.name for p in archive.iterdir())
    if not laid_out:
        raise ValueError(f"source={str(source)!r}: no <student>/<notebook>.ipynb found in it"
                         + (f" ({'; '.join(refused)})" if refused else "."))
    regexp = r".*[/\\](?P<student_id>[^/\\]+)[/\\](?P<file_id>[^/\\]+\.ipynb)$"
    command = [sys.executable, "-m", "nbgrader", "zip_collect", assignment, "--force",
               f"--FileNameCollectorPlugin.named_regexp={regexp}"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader zip_collect {assignment} failed:\n{done.stderr[-3000:]}")
    submitted = set(api.get_submitted_students(assignment))
    return Collected(sorted(student for student in laid_out if student in submitted), refused)


def export(api, to):
    """nbgrader's CSV export of the whole gradebook to ``to``, plus a ``sandbox`` column:
    the caps each submission hit while graded (``out of memory; disk full``), or empty."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    to = Path(to)
    if to.suffix.lower() != ".csv":
        raise ValueError(f"to={str(to)!r}: expected a .csv file name.")
    with Gradebook(api.coursedir.db_url) as gb:
        CsvExportPlugin(to=str(to)).export(gb)
    with open(to, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows:
        for row in rows:
            row["sandbox"] = "; ".join(breaches(api, row["assignment"], row["student_id"]))
        with open(to, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return to


def breaches(api, assignment, student):
    """The caps a submission hit when last autograded, from its autograded notebooks."""
    return _report(api, assignment, student, "breaches")


def guard_reports(api, assignment, student):
    """What the grading kernel's guard undid or refused when the submission was last
    autograded (``restored numpy.testing.assert_allclose``), from its autograded notebooks."""
    return _report(api, assignment, student, "guard")


def _report(api, assignment, student, key):
    folder = Path(api.coursedir.format_path(api.coursedir.autograded_directory, student, assignment))
    found = set()
    for path in folder.glob("*.ipynb"):
        found |= set(nbformat.read(path, as_version=4).metadata.get(METADATA, {}).get(key, []))
    return sorted(found)


def feedback(api, assignment, student=None):
    """HTML feedback for each autograded student (hidden tests removed); returns the pages."""
    check_assignment(api, assignment)
    result = api.generate_feedback(assignment, student)
    if not result["success"]:
        raise RuntimeError(f"generate_feedback {assignment} failed:\n{result['log']}")
    folder = Path(api.coursedir.root) / api.coursedir.feedback_directory
    return sorted(folder.glob(f"*/{assignment}/*.html"))


def check_assignment(api, assignment):
    source = Path(api.coursedir.format_path(api.coursedir.source_directory, ".", assignment))
    if not source.is_dir():
        known = sorted(p.name for p in source.parent.iterdir() if p.is_dir())
        raise ValueError(f"assignment={assignment!r}: not in {source.parent.name}/ (known: {', '.join(known)}).")


