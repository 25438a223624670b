"""The whole nbgrader pipeline, for every assignment in solutions/, through nbgrader's own API.

For each assignment: the student version generated from the solution equals the committed
one in exercises/ (else it is stale); the solution, submitted as is, gets every point; the
untouched student version gets none, and no single test cell passes on it; the feedback
both receive holds no line of the hidden tests.
"""

import os
import shutil
import warnings
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_grading import pipeline
from course_grading.sandbox import Sandbox, SandboxUnavailable
from helpers import hidden_lines, page_text

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("grading_env")
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course's nbgrader setup in a temporary folder: the real gradebook and
    exercises/ are never touched. Its kernels run in the sandbox, as the course's do."""
    root = tmp_path_factory.mktemp("course")
    pipeline.copy_course(root, ROOT)
    try:
        Sandbox().check()
    except SandboxUnavailable as error:
        if os.environ.get("CI"):
            raise
        # The pipeline is still worth checking where no sandbox can be made; the sandbox's
        # own tests (test_hostile.py) say they are skipped, and why.
        warnings.warn(f"grading unconfined: {error}")
        with open(root / "nbgrader_config.py", "a") as config:
            config.write("\nc.Sandbox.unconfined = True\n")
    api = pipeline.course_api(root)
    assert api.coursedir.root == str(root)
    return root, api


def cells(path):
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]


def submit(root, api, assignment, student, notebook):
    folder = root / "course" / "submitted" / student / assignment
    folder.mkdir(parents=True)
    shutil.copy(notebook, folder / f"{assignment}.ipynb")
    result = api.autograde(assignment, student)
    assert result["success"], result["log"]
    with Gradebook(api.coursedir.db_url) as gb:
        submission = gb.find_submission(assignment, student)
        grades = {g.name: (g.score, g.max_score) for nb in submission.notebooks for g in nb.grades}
        return submission.score, submission.max_score, grades


def test_there_are_assignments():
    assert ASSIGNMENTS, "solutions/ holds no assignment"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_pipeline(course, assignment):
    root, api = course
    result = api.generate_assignment(assignment)
    assert result["success"], result["log"]

    generated = root / "exercises" / assignment
    committed = ROOT / "exercises" / assignment
    regenerate = f"run `course-grade release {assignment}` in the course folder"
    assert sorted(p.name for p in generated.iterdir()) == sorted(p.name for p in committed.iterdir()), regenerate
    for notebook in generated.glob("*.ipynb"):
        student_cells = cells(committed / notebook.name)
        assert student_cells == cells(notebook), f"exercises/{assignment}/{notebook.name} is stale: {regenerate}"
        student_text = "\n".join(source for _, source, _ in student_cells)
        assert "HIDDEN TESTS" not in student_text and "BEGIN SOLUTION" not in student_text

    score, max_score, _ = submit(root, api, assignment, "solution", ROOT / "solutions" / assignment / f"{assignment}.ipynb")
    assert max_score > 0
    assert score == max_score, f"the solution scores {score} of {max_score}"
    # Every cell of the solution runs, the ungraded ones too (this is the notebook's CI run).
    graded = nbformat.read(root / "course" / "autograded" / "solution" / assignment / f"{assignment}.ipynb", as_version=4)
    errors = [(c.metadata.get("nbgrader", {}).get("grade_id"), o.ename, o.evalue)
              for c in graded.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"the solution notebook raised: {errors}"

    score, _, grades = submit(root, api, assignment, "stub", committed / f"{assignment}.ipynb")
    passing = [name for name, (points, _) in grades.items() if points > 0]
    assert not passing, f"test cells that pass on the untouched stub: {passing}"
    assert score == 0

    # Feedback: grades, but no line of any hidden test, for a passing and a failing student.
    hidden = hidden_lines(ROOT / "solutions" / assignment / f"{assignment}.ipynb")
    assert hidden, "the assignment has no hidden tests"
    # A line that students also see elsewhere (a seed, an import) gives nothing away.
    visible = {line.strip() for _, source, _ in cells(committed / f"{assignment}.ipynb") for line in source.splitlines()}
    hidden = [line for line in hidden if line not in visible]
    for student in ("solution", "stub"):
        result = api.generate_feedback(assignment, student)
        assert result["success"], result["log"]
        pages = list((root / "course" / "feedback" / student / assignment).glob("*.html"))
        assert pages
        text = page_text(pages[0])
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"hidden test lines in {student}'s feedback: {leaked[:3]}"
        assert "Score" in text or "score" in text
