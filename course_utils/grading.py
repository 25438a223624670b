"""The instructors' grading pipeline: nbgrader's commands and API, hardened.

One command per step (``course-grade --help``), run from the course's top folder::

    course-grade release  ex01_deep_elu_net          # solutions/ -> exercises/
    course-grade collect  ex01_deep_elu_net subs.zip  # or a folder: <student>/<notebook>.ipynb
    course-grade autograde ex01_deep_elu_net         # every submission, one at a time
    course-grade export   grades.csv                 # nbgrader's CSV export
    course-grade feedback ex01_deep_elu_net          # HTML per student, no hidden test

``collect`` runs ``nbgrader zip_collect`` (archives are unpacked, loose files copied);
``autograde`` calls ``NbGraderAPI.autograde`` for each student separately, so one broken
submission is reported by name and the others are graded; ``export`` is nbgrader's
``CsvExportPlugin``; ``feedback`` is ``NbGraderAPI.generate_feedback``.

What nbgrader lacks, and ``nbgrader_config.py`` plugs in here:

- :class:`HideHiddenTests` (feedback): nbgrader's feedback shows hidden tests in full.
- :class:`GradingExecute` (autograde): a kernel that dies (``os._exit``, a crash) or stops
  answering after a timeout fails the grading of the whole notebook in nbgrader; here the
  cells run before it keep their results and the rest count as failed. It also starts each
  kernel with :mod:`course_utils.grading_guard`, which undoes monkeypatches of
  ``numpy``, ``numpy.testing``, ``math`` and ``builtins`` before every cell.
- :class:`LimitOutputSize` (autograde): nbgrader's ``LimitOutput`` counts lines, so one
  100 MB line goes through to the gradebook's notebook and the feedback page.
- :func:`suspicious_lines`: what the guard cannot stop (code that attacks the grader
  itself) is flagged in the autograde report for an instructor to read.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.notebooknode import NotebookNode
from nbformat.warnings import MissingIDFieldWarning
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from traitlets import Integer, List

GUARD = "import course_utils.grading_guard as _guard; _guard.install(); del _guard"


class HideHiddenTests(ClearHiddenTests):
    """Feedback without hidden tests: neither their source nor tracebacks that quote it.

    Removes the hidden region of every cell (as ``ClearHiddenTests`` does when releasing)
    and, in those cells, reduces an error's traceback to its type and message, which the
    instructor wrote for the student; the grades are unchanged.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and self._remove_hidden_test_region(cell):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class GradingExecute(Execute):
    """nbgrader's ``Execute`` that survives losing the kernel, in a guarded kernel.

    When the kernel dies or ignores the interrupt sent after a cell's timeout, the cell
    gets a ``KernelLost`` error, the kernel is shut down, and every later code cell gets a
    ``KernelLost`` error without running: test cells after the loss score 0, those before
    keep their points. nbgrader's own ``Execute`` raises instead, and the whole notebook
    goes ungraded.
    """

    extra_arguments = List(
        ["--HistoryManager.hist_file=:memory:", f"--IPKernelApp.exec_lines={GUARD}"],
        help="Kernel arguments: no history file, and the monkeypatch guard installed at start.",
    ).tag(config=True)

    def reset_execution_trackers(self):
        super().reset_execution_trackers()
        self.lost = None

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self.lost is not None:
            if cell.cell_type == "code":
                cell.outputs = [_error("KernelLost", f"not run: {self.lost}")]
            return cell
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except (DeadKernelError, CellTimeoutError) as error:
            if isinstance(error, DeadKernelError):
                self.lost = f"the kernel died in cell {cell_index}"
            else:
                self.lost = f"the kernel stopped answering in cell {cell_index} (timeout {self.timeout} s)"
            self.log.warning("%s: %s", self.lost, error)
            cell.outputs.append(_error("KernelLost", self.lost))
            if await ensure_async(self.km.is_alive()):
                await ensure_async(self.km.shutdown_kernel(now=True))
            return cell

    # nbclient binds the synchronous wrapper to its own coroutine: bind it to this one.
    execute_cell = run_sync(async_execute_cell)


def _error(name, message):
    return NotebookNode(output_type="error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


class LimitOutputSize(NbGraderPreprocessor):
    """Caps the size of every output: stream text, rich data and traceback lines.

    A truncated output says so and by how much, and keeps its kind: a huge stderr still
    fails its cell, a huge stdout still passes.
    """

    max_chars = Integer(20_000, help="characters kept of each text output or traceback line").tag(config=True)
    max_data = Integer(1_000_000, help="largest rich output (an image, HTML) kept, in characters").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                output.text = self._cut(output.text)
            elif output.output_type == "error":
                output.traceback = [self._cut(line) for line in output.traceback]
            elif "data" in output:
                for mime, value in list(output.data.items()):
                    size = len(value) if isinstance(value, str) else len(str(value))
                    if size > self.max_data:
                        del output.data[mime]
                        output.data["text/plain"] = f"[{mime} output of {size:,} characters removed by the grader]"
        return cell, resources

    def _cut(self, text):
        if len(text) <= self.max_chars:
            return text
        return text[:self.max_chars] + f"\n... {len(text) - self.max_chars:,} more characters cut by the grader ...\n"


_SUSPICIOUS = re.compile(
    r"\bbuiltins\b|__builtins__|\b(np|numpy)\.testing\s*\.\s*\w+\s*=|get_ipython|sys\.modules|\bsetattr\s*\("
    r"|\bcustom_exc|showtraceback|\bos\._exit|\bsys\.exit|\bexec\s*\(|\beval\s*\(|\bctypes\b|\bgc\.get_|_guard\b"
)


def suspicious_lines(notebook):
    """Lines of a student's cells (answers and cells they added) that touch the grader's
    machinery: monkeypatching, exits, ``exec``, the IPython shell. For a human to read."""
    found = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or (meta and not meta.get("solution")):
            continue
        found += [line.strip() for line in cell.source.splitlines() if _SUSPICIOUS.search(line)]
    return found


# --------------------------------------------------------------------------- commands

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
    shutil.copy(root / "nbgrader_config.py", to)
    shutil.copytree(root / source.source_directory, to / source.source_directory,
                    ignore=shutil.ignore_patterns(*source.ignore))
    api = course_api(to)
    Path(api.coursedir.db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return api


def release(api, assignment):
    """``nbgrader generate_assignment --force``: solutions/<assignment> -> exercises/."""
    _check_assignment(api, assignment)
    result = api.generate_assignment(assignment, force=True)
    if not result["success"]:
        raise RuntimeError(f"generate_assignment {assignment} failed:\n{result['log']}")
    return Path(api.coursedir.format_path(api.coursedir.release_directory, ".", assignment))


def collect(api, assignment, source):
    """Collect submissions laid out as ``<student>/<notebook>.ipynb`` from a folder or a zip
    file (or a folder of zip files) with ``nbgrader zip_collect``; returns the students."""
    _check_assignment(api, assignment)
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"source={str(source)!r}: no such file or folder.")
    root = Path(api.coursedir.root)
    downloaded = root / api.config.ZipCollectApp.downloaded_directory / assignment
    archive = downloaded / "archive"
    # zip_collect reads everything under archive/: start from this source only.
    shutil.rmtree(downloaded, ignore_errors=True)
    if source.is_dir():
        shutil.copytree(source, archive)
    else:
        archive.mkdir(parents=True)
        shutil.copy(source, archive)
    regexp = r".*[/\\](?P<student_id>[^/\\]+)[/\\](?P<file_id>[^/\\]+\.ipynb)$"
    command = [sys.executable, "-m", "nbgrader", "zip_collect", assignment, "--force",
               f"--FileNameCollectorPlugin.named_regexp={regexp}"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader zip_collect {assignment} failed:\n{done.stderr[-3000:]}")
    students = sorted(api.get_submitted_students(assignment))
    if not students:
        raise ValueError(f"source={str(source)!r}: no <student>/<notebook>.ipynb found in it.")
    return students


@dataclass
class Graded:
    """The outcome of autograding one student's submission."""
    student: str
    score: float | None = None
    max_score: float | None = None
    error: str | None = None
    flagged: list = field(default_factory=list)

    def __str__(self):
        if self.error:
            return f"{self.student:20} NOT GRADED  {self.error}"
        text = f"{self.student:20} {self.score:6.2f} / {self.max_score:g}"
        if self.flagged:
            text += f"   read by hand: {'; '.join(self.flagged[:3])}"
        return text


def autograde(api, assignment, students=None, *, fast=True):
    """Autograde each student's submission on its own; returns a list of :class:`Graded`.

    A submission that cannot be graded (a file that is not a notebook, a missing notebook)
    is reported with the reason and the grading goes on. ``fast`` sets ``COURSE_FAST=1`` in
    the grading kernels, which shrinks the notebooks' ungraded training runs.
    """
    _check_assignment(api, assignment)
    from keras.utils import Progbar
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    # nbgrader 0.9 trips this SQLAlchemy warning on every submission; the grades are saved.
    warnings.filterwarnings("ignore", message="Object of type <Submitted", category=SAWarning)
    students = sorted(students or api.get_submitted_students(assignment))
    if fast:
        os.environ["COURSE_FAST"] = "1"
    results = []
    progress = Progbar(len(students), unit_name="submission")
    for student in students:
        folder = Path(api.coursedir.format_path(api.coursedir.submitted_directory, student, assignment))
        invalid = _invalid_notebooks(folder)
        if invalid:
            results.append(Graded(student, error=invalid))
        else:
            outcome = api.autograde(assignment, student, force=True)
            if outcome["success"]:
                with Gradebook(api.coursedir.db_url) as gb:
                    submission = gb.find_submission(assignment, student)
                    flagged = [line for nb in folder.glob("*.ipynb")
                               for line in suspicious_lines(nbformat.read(nb, as_version=4))]
                    results.append(Graded(student, submission.score, submission.max_score, flagged=flagged))
            else:
                last = [line for line in outcome["log"].splitlines() if "ERROR" in line or "Error" in line]
                results.append(Graded(student, error=(last[-1] if last else "autograde failed").strip()))
        progress.add(1)
    return results


def _invalid_notebooks(folder):
    problems = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            with warnings.catch_warnings():  # cells without ids: nbformat adds them, nothing to report
                warnings.simplefilter("ignore", MissingIDFieldWarning)
                nbformat.validate(nbformat.read(path, as_version=4))
        except Exception as error:  # any reason a file is not a notebook: JSON, schema, encoding
            problems.append(f"{path.name} is not a valid notebook ({type(error).__name__}: {str(error)[:120]})")
    if not problems and not any(folder.glob("*.ipynb")):
        problems.append(f"no notebook in {folder}")
    return "; ".join(problems)


def export(api, to):
    """nbgrader's CSV export of the whole gradebook to ``to``."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    to = Path(to)
    if to.suffix.lower() != ".csv":
        raise ValueError(f"to={str(to)!r}: expected a .csv file name.")
    with Gradebook(api.coursedir.db_url) as gb:
        CsvExportPlugin(to=str(to)).export(gb)
    return to


def feedback(api, assignment, student=None):
    """HTML feedback for each autograded student (hidden tests removed); returns the pages."""
    _check_assignment(api, assignment)
    result = api.generate_feedback(assignment, student)
    if not result["success"]:
        raise RuntimeError(f"generate_feedback {assignment} failed:\n{result['log']}")
    folder = Path(api.coursedir.root) / api.coursedir.feedback_directory
    return sorted(folder.glob(f"*/{assignment}/*.html"))


def _check_assignment(api, assignment):
    source = Path(api.coursedir.format_path(api.coursedir.source_directory, ".", assignment))
    if not source.is_dir():
        known = sorted(p.name for p in source.parent.iterdir() if p.is_dir())
        raise ValueError(f"assignment={assignment!r}: not in {source.parent.name}/ (known: {', '.join(known)}).")


def main(argv=None):
    """``course-grade``: the grading steps as one command each."""
    parser = argparse.ArgumentParser(prog="course-grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="the course's top folder (default: here)")
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("release", help="generate the student version in exercises/").add_argument("assignment")
    step = steps.add_parser("collect", help="collect submissions from a folder or a zip file")
    step.add_argument("assignment")
    step.add_argument("source", help="folder or .zip holding <student>/<notebook>.ipynb")
    step = steps.add_parser("autograde", help="grade every collected submission")
    step.add_argument("assignment")
    step.add_argument("students", nargs="*", help="only these students")
    step.add_argument("--full", action="store_true", help="run the notebooks' training at full size")
    steps.add_parser("export", help="write all grades to a CSV file").add_argument("to")
    step = steps.add_parser("feedback", help="HTML feedback per student, without hidden tests")
    step.add_argument("assignment")
    step.add_argument("student", nargs="?")
    args = parser.parse_args(argv)
    # TensorFlow's C++ start-up log lines, in this process and the grading kernels.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    try:
        api = course_api(args.root)
        if args.step == "release":
            print(f"released to {release(api, args.assignment)}")
        elif args.step == "collect":
            students = collect(api, args.assignment, args.source)
            print(f"{len(students)} submissions collected: {', '.join(students)}")
        elif args.step == "autograde":
            results = autograde(api, args.assignment, args.students, fast=not args.full)
            print("\n".join(str(result) for result in results))
            failed = [r.student for r in results if r.error]
            if failed:
                print(f"{len(failed)} of {len(results)} submissions not graded: {', '.join(failed)}", file=sys.stderr)
                return 1
        elif args.step == "export":
            print(f"grades written to {export(api, args.to)}")
        elif args.step == "feedback":
            pages = feedback(api, args.assignment, args.student)
            print(f"{len(pages)} feedback pages under {Path(api.coursedir.feedback_directory)}")
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"course-grade {args.step}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
