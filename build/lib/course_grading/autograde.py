"""Autograde every submission on its own, each in a sandbox, several at once.

:func:`autograde` calls ``NbGraderAPI.autograde`` for each student separately, so one
broken submission is reported by name and the others are graded. With ``jobs`` above 1
it grades that many submissions at once, each in a worker process of its own that keeps
to its share of the cores (its kernel's TensorFlow, OpenMP and BLAS thread pools sized to
it); the results are the same as one at a time. nbgrader itself grades one at a time
(its issue #174) and has no sandbox; the kernels here run in
:mod:`course_grading.sandbox`, or not at all unless the instructor says ``unconfined``.

:func:`suspicious_lines`: what neither the guard nor the sandbox can judge (code that
attacks the grader itself, or reaches for files and connections it does not have) is
flagged in the score table for an instructor to read.
"""

import copy
import multiprocessing
import os
import queue
import re
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat
from nbformat.warnings import MissingIDFieldWarning

from course_grading.archives import special_files
from course_grading.pipeline import breaches, check_assignment, guard_reports
from course_grading.sandbox import Sandbox, prepare_data, usable_cores

_SUSPICIOUS = re.compile(
    r"\bbuiltins\b|__builtins__|\b(np|numpy)\.testing\s*\.\s*\w+\s*=|get_ipython|sys\.modules|\bsetattr\s*\("
    r"|\bcustom_exc|showtraceback|\bos\._exit|\bsys\.exit|\bexec\s*\(|\beval\s*\(|\bctypes\b|\bgc\.get_|_guard\b"
    # What reaches the tests while they run: their frames, their text, the hooks they run through.
    r"|\bsettrace\b|\bsetprofile\b|addaudithook|_getframe|currentframe|\bf_back\b|\bf_(globals|locals|code)\b"
    r"|\binspect\.(stack|getsource|getframeinfo)|\blinecache\b|InteractiveShell|_transformers?\b|displayhook"
    r"|excepthook|history_manager|\b_i[hi]{0,2}\b|\bIn\s*\[|__import__|\bimportlib\b|\bthreading\b"
    # What the sandbox blocks, but an instructor wants to know was tried.
    r"|\bsolutions\b|\bgradebook\b|\bsubmitted\b|\bautograded\b|\bsocket\b|\burllib\b|\brequests\b"
    r"|\bsubprocess\b|\bos\.(fork|system|popen|spawn\w*)\b|\bmultiprocessing\b|\.ipynb\b"
)


def suspicious_lines(notebook):
    """Lines of a student's cells (answers and cells they added) that touch the grader's
    machinery (monkeypatching, exits, ``exec``, the IPython shell) or reach outside the
    sandbox (the course's folders, sockets, processes). For a human to read."""
    found = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or (meta and not meta.get("solution")):
            continue
        found += [line.strip() for line in cell.source.splitlines() if _SUSPICIOUS.search(line)]
    return found


@dataclass
class Graded:
    """The outcome of autograding one student's submission."""
    student: str
    score: float | None = None
    max_score: float | None = None
    error: str | None = None
    breaches: list = field(default_factory=list)
    flagged: list = field(default_factory=list)
    seconds: float | None = None  # wall time of its grading: kernel, cells and gradebook

    def __str__(self):
        """One row of the score table. What comes from the submission (its folder's name, its
        source lines, its error) is printed without control characters: an escape sequence
        would rewrite the instructor's terminal."""
        if self.error:
            return f"{printable(self.student):20} NOT GRADED  {printable(self.error)}"
        text = f"{printable(self.student):20} {self.score:6.2f} / {self.max_score:g}"
        if self.seconds is not None:
            text += f"  {self.seconds:5.1f} s"
        if self.breaches:
            text += f"   [{', '.join(self.breaches)}]"
        if self.flagged:
            text += f"   read by hand: {printable('; '.join(self.flagged[:3]))}"
        return text


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text):
    """``text`` with every control character (escape sequences, carriage returns, bidirectional
    overrides) shown as its escape, ``\\x1b``."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(text))


def autograde(api, assignment, students=None, *, fast=True, jobs=1, unconfined=False):
    """Autograde each student's submission on its own; returns a list of :class:`Graded`,
    in the students' order.

    A submission that cannot be graded (a file that is not a notebook, a missing notebook)
    is reported with the reason and the grading goes on.

    Args:
        api: the course's ``NbGraderAPI`` (:func:`course_grading.pipeline.course_api`); its
            configuration is left as it was: the grading uses a copy with the settings below.
        assignment: the assignment's name, e.g. ``"ex01_deep_elu_net"``.
        students: the students to grade (default: every submitted one).
        fast: fast mode in the grading kernels (``COURSE_FAST=1``: the notebooks' ungraded
            training shrunk), or full size; whatever this process's ``COURSE_FAST`` says.
        jobs: how many submissions are graded at once.
        unconfined: grade without a sandbox where none can be made.

    Returns:
        A list of :class:`Graded`, one per student, in the students' order.

    Raises:
        course_grading.sandbox.SandboxUnavailable: before grading anything, when no sandbox
            can be made and ``unconfined`` is not set.

    Example:
        >>> for graded in autograde(course_api("."), "ex06_counting_macs", jobs=2):
        ...     print(graded)
    """
    from keras.utils import Progbar

    check_assignment(api, assignment)
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs={jobs!r}: the number of submissions graded at once is a whole number, 1 or more.")
    api = _with_sandbox(api, fast=bool(fast), unconfined=bool(unconfined or api.config.Sandbox.get("unconfined")))
    sandbox = Sandbox(config=api.config)
    sandbox.check()
    if not sandbox.unconfined:
        prepare_data()
    students = sorted(students or api.get_submitted_students(assignment))
    jobs = max(1, min(jobs, len(students)))
    progress = Progbar(len(students), unit_name="submission")
    if jobs == 1:
        results = []
        for student in students:
            results.append(_grade(api, assignment, student))
            progress.add(1)
        return results

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no grader state leaks in
    tasks, done = context.Queue(), context.Queue()
    for student in students:
        tasks.put(student)
    workers = [context.Process(target=_work, args=(api.config, assignment, cpus, tasks, done),
                               daemon=True)
               for cpus in core_shares(jobs)]
    for worker in workers:
        tasks.put(None)
        worker.start()
    results = {}
    while len(results) < len(students):
        try:
            graded = done.get(timeout=5)
        except queue.Empty:
            if any(worker.is_alive() for worker in workers):
                continue
            break  # every worker is gone: what they had taken is reported, not waited for
        results[graded.student] = graded
        progress.add(1)
    for worker in workers:
        worker.join()
    lost = Graded("", error="its grading worker process died")
    return [results.get(student) or replace(lost, student=student) for student in students]


def core_shares(jobs):
    """The cores each of ``jobs`` workers keeps to: this process's cores dealt out evenly
    (all of them to each when there are more jobs than cores)."""
    cores = usable_cores()
    if jobs > len(cores):
        return [[] for _ in range(jobs)]
    return [cores[i::jobs] for i in range(jobs)]


def _with_sandbox(api, **settings):
    """A new ``NbGraderAPI`` of the same course, on a copy of ``api``'s configuration with these
    :class:`course_grading.sandbox.Sandbox` settings (``fast=False``, ``cpus=[0]``)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = copy.deepcopy(api.config)
    for name, value in settings.items():
        config.Sandbox[name] = value
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def _work(config, assignment, cpus, tasks, done):
    """A worker: grades the students it takes from ``tasks`` until it takes None, on the
    grader's configuration ``config``, its kernels kept to the cores ``cpus``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    api = _with_sandbox(NbGraderAPI(CourseDirectory(config=config), config=config), cpus=cpus)
    for student in iter(tasks.get, None):
        try:
            done.put(_grade(api, assignment, student))
        except Exception as error:  # a worker must answer for every student it took
            done.put(Graded(student, error=f"{type(error).__name__}: {error}"))


def _grade(api, assignment, student):
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    folder = Path(api.coursedir.format_path(api.coursedir.submitted_directory, student, assignment))
    invalid = _refused(folder) or _invalid_notebooks(folder)
    if invalid:
        return Graded(student, error=invalid)
    start = time.monotonic()
    with warnings.catch_warnings():  # nbgrader 0.9 trips it on every submission; the grades are saved
        warnings.filterwarnings("ignore", message="Object of type <Submitted", category=SAWarning)
        outcome = api.autograde(assignment, student, force=True)
    seconds = time.monotonic() - start
    if not outcome["success"]:
        last = [line for line in outcome["log"].splitlines() if "ERROR" in line or "Error" in line]
        return Graded(student, error=(last[-1] if last else "autograde failed").strip())
    with Gradebook(api.coursedir.db_url) as gb:
        submission = gb.find_submission(assignment, student)
        score, max_score = submission.score, submission.max_score
    flagged = [f"the guard {what}" for what in guard_reports(api, assignment, student)]
    flagged += [line for nb in sorted(folder.glob("*.ipynb")) for line in suspicious_lines(nbformat.read(nb, as_version=4))]
    return Graded(student, score, max_score, breaches=breaches(api, assignment, student), flagged=flagged,
                  seconds=seconds)


def _refused(folder):
    """nbgrader copies a submission as the grader (root, as a rule) and follows links: a
    notebook that is a link to ``solutions/`` would be graded as the instructor's, a named pipe
    would hang the copy. Those are refused before anything is copied."""
    return "; ".join(f"refused: {what}" for what in special_files(folder)) if os.path.lexists(folder) else ""


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
