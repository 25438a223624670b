"""Mutation tests of an assignment's tests: do they fail the mistakes students make, and
pass the right answers written differently?

nbgrader checks that a solution passes and a stub fails; that says nothing of a student who
writes ``mode="max"`` on a checkpoint that watches a loss. A *catalogue*,
``mutants/<assignment>.toml`` in the course folder, lists plausible answers, each the
solution with one edit in one answer cell::

    [[mutant]]
    name = "SGD with momentum where plain SGD is asked"
    cell = "q3-answer"
    replace = "keras.optimizers.SGD(learning_rate=learning_rate)"
    by = "keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)"
    loses = ["q3-tests"]

A wrong answer names the test cells (grade ids) that must lose their points, every other
cell keeping its own; a right answer (``loses = []``) must keep every point. A mutant leaves
out the notebook's ungraded full run (the cells of grade id ``final-run``, which no test
reads): it costs most of a submission's time and changes no grade. :func:`grade`
autogrades a batch of notebooks through :func:`course_grading.autograde.autograde` (each in
its sandbox, ``jobs`` at once) and returns each one's points per test cell; :func:`judge`
compares them with what the catalogue expects. ``course-grade mutants <assignment>`` does
both in a private copy of the course, so the gradebook is not touched.
"""

import copy
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_grading.autograde import autograde

_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\n?", flags=re.M)
_FIELDS = {"name", "cell", "replace", "by", "loses"}
#: Grade ids of the ungraded training runs that a mutant leaves out.
UNGRADED_RUNS = ("final-run",)


@dataclass(frozen=True)
class Mutant:
    """One plausible answer: the solution with ``replace`` changed to ``by`` in the answer
    cell ``cell``. ``loses``: the test cells that must lose their points (none: a right answer)."""
    name: str
    cell: str
    replace: str
    by: str
    loses: tuple = ()

    @property
    def right(self):
        return not self.loses


@dataclass
class Judged:
    """A graded mutant: its points per test cell, and whether they are what its catalogue says."""
    mutant: Mutant
    points: dict  # grade id -> (score, max score)

    @property
    def lost(self):
        return sorted(cell for cell, (score, top) in self.points.items() if score < top)

    @property
    def score(self):
        return sum(score for score, _ in self.points.values())

    @property
    def max_score(self):
        return sum(top for _, top in self.points.values())

    @property
    def as_expected(self):
        return self.lost == sorted(self.mutant.loses)

    def __str__(self):
        kind = "right" if self.mutant.right else "wrong"
        verdict = "ok" if self.as_expected else f"EXPECTED to lose {sorted(self.mutant.loses) or 'nothing'}"
        return (f"{kind:5} {self.score:g}/{self.max_score:g}  lost {', '.join(self.lost) or 'nothing':24} "
                f"{verdict:4}  {self.mutant.name}")


def load(path):
    """The mutants of a catalogue file, in its order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: naming the entry and the field, for a missing or unknown field, a name
            used twice, or ``replace`` equal to ``by``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path={str(path)!r}: no mutant catalogue there.")
    entries = tomllib.loads(path.read_text()).get("mutant", [])
    mutants, names = [], set()
    for number, entry in enumerate(entries, 1):
        missing, unknown = _FIELDS - {"loses"} - set(entry), set(entry) - _FIELDS
        if missing or unknown:
            raise ValueError(f"{path.name}, mutant {number} ({entry.get('name', '?')!r}): "
                             f"missing {sorted(missing)}, unknown {sorted(unknown)}")
        if entry["name"] in names:
            raise ValueError(f"{path.name}, mutant {number}: the name {entry['name']!r} is used twice")
        if entry["replace"] == entry["by"]:
            raise ValueError(f"{path.name}, mutant {number} ({entry['name']!r}): replace and by are the same text")
        names.add(entry["name"])
        mutants.append(Mutant(entry["name"], entry["cell"], entry["replace"], entry["by"], tuple(entry.get("loses", ()))))
    return mutants


def filled(solution, student, answers=None):
    """The student version ``student`` with the answer cells ``answers`` (grade ids; all by
    default) as the solution ``solution`` has them, without nbgrader's markers: a notebook as
    a student who found those answers submits it. Tests stay as released."""
    sources = {c.metadata.nbgrader["grade_id"]: _MARKER.sub("", c.source) for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    notebook = copy.deepcopy(student)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in sources and (answers is None or grade_id in answers):
            cell.source = sources[grade_id]
    return notebook


def mutated(solution, student, mutant):
    """The student version with every answer as in the solution, ``mutant``'s edit made and the
    ungraded runs (:data:`UNGRADED_RUNS`) left out.

    Raises:
        ValueError: when the answer cell does not hold ``mutant.replace`` exactly once.
    """
    notebook = filled(solution, student)
    cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == mutant.cell]
    if not cells:
        raise ValueError(f"mutant {mutant.name!r}: cell={mutant.cell!r} is no answer cell of the notebook")
    count = cells[0].source.count(mutant.replace)
    if count != 1:
        raise ValueError(f"mutant {mutant.name!r}: cell {mutant.cell} holds {mutant.replace!r} {count} times, "
                         "not once: the solution changed, update the catalogue")
    cells[0].source = cells[0].source.replace(mutant.replace, mutant.by)
    notebook.cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in UNGRADED_RUNS]
    return notebook


def student_id(number):
    """The gradebook's name for the ``number``-th mutant of a catalogue."""
    return f"mutant-{number:02d}"


def grade(api, assignment, notebooks, *, jobs=1):
    """Autograde ``notebooks`` (student id -> notebook) as submissions of ``assignment`` in the
    course of ``api``, each sandboxed, ``jobs`` at once. Returns student id -> {test cell's
    grade id: (score, max score)}, for the autograded cells (not those graded by hand).

    Raises:
        RuntimeError: naming the submissions that could not be graded.
    """
    from nbgrader.api import Gradebook

    for student, notebook in notebooks.items():
        folder = Path(api.coursedir.format_path(api.coursedir.submitted_directory, student, assignment))
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{assignment}.ipynb")
    results = autograde(api, assignment, list(notebooks), jobs=jobs)
    failed = [f"{r.student}: {r.error}" for r in results if r.error]
    if failed:
        raise RuntimeError(f"{assignment}: not graded: {'; '.join(failed)}")
    with Gradebook(api.coursedir.db_url) as gb:
        # Autograded cells only: a cell graded by hand has no score until an instructor gives one.
        return {student: {g.name: (g.score, g.max_score)
                          for nb in gb.find_submission(assignment, student).notebooks for g in nb.grades
                          if g.auto_score is not None}
                for student in notebooks}


def judge(mutants, points):
    """Each mutant with its points (``points``: as :func:`grade` returns, by :func:`student_id`)."""
    return [Judged(mutant, points[student_id(number)]) for number, mutant in enumerate(mutants, 1)]


def check(api, assignment, catalogue, *, jobs=1):
    """Release ``assignment`` in the course of ``api``, grade every mutant of the catalogue
    file ``catalogue`` and return them judged (:class:`Judged`, in the catalogue's order)."""
    from course_grading.pipeline import release

    mutants = load(catalogue)
    released = release(api, assignment)
    source = Path(api.coursedir.format_path(api.coursedir.source_directory, ".", assignment))
    solution = nbformat.read(source / f"{assignment}.ipynb", as_version=4)
    student = nbformat.read(released / f"{assignment}.ipynb", as_version=4)
    notebooks = {student_id(n): mutated(solution, student, m) for n, m in enumerate(mutants, 1)}
    return judge(mutants, grade(api, assignment, notebooks, jobs=jobs))
