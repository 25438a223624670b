"""The whole nbgrader pipeline, for every assignment in solutions/, through nbgrader's own API.

For each assignment: the student version generated from the solution equals the committed
one in exercises/ (else it is stale). Then one batch is autograded, sandboxed, two at a time:
the solution, submitted as is, gets every point; the untouched student version gets none, and
no single test cell passes on it; every plausible answer of the assignment's catalogue
(mutants/<assignment>.toml) is graded test cell by test cell as the catalogue says: a wrong
answer loses the points of its question and only those, a right one written differently
keeps them all. The feedback the solution and the stub receive holds no line of the hidden
tests.
"""

import os
import re
import warnings
from pathlib import Path

import nbformat
import pytest

from course_grading import cli, mutants, pipeline
from course_grading.sandbox import Sandbox, SandboxUnavailable
from helpers import hidden_lines, page_text

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("grading_env")
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())


@pytest.fixture(scope="module")
def course(tmp_path_factory, grading_env):
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


def catalogue(assignment):
    return mutants.load(ROOT / "mutants" / f"{assignment}.toml")


def cells(path):
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in nb.cells]


def test_there_are_assignments():
    assert ASSIGNMENTS, "solutions/ holds no assignment"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_catalogue_of_plausible_answers(assignment):
    """Each assignment's catalogue holds at least five wrong answers and two right ones, each
    an edit that still applies to the solution (kernel-less: this fails fast on a stale entry)."""
    plausible = catalogue(assignment)
    wrong = [m for m in plausible if not m.right]
    assert len(wrong) >= 5 and len(plausible) - len(wrong) >= 2, \
        f"{assignment}: {len(wrong)} wrong and {len(plausible) - len(wrong)} right answers"
    solution = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    student = nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    tests = {c.metadata.nbgrader["grade_id"] for c in student.cells if c.metadata.get("nbgrader", {}).get("grade")}
    for mutant in plausible:
        mutants.mutated(solution, student, mutant)
        assert set(mutant.loses) <= tests, f"{mutant.name}: loses names {set(mutant.loses) - tests}, no test cell"


def batch_cases():
    """(assignment, student) for every submission of every assignment's batch: the solution,
    the untouched stub and each plausible answer of the catalogue, grouped by assignment so
    that each batch is graded once, on one worker."""
    cases = []
    for assignment in ASSIGNMENTS:
        students = ["solution", "stub"] + [mutants.student_id(n) for n in range(1, len(catalogue(assignment)) + 1)]
        cases += [pytest.param(assignment, student, id=f"{assignment}-{student}",
                               marks=[pytest.mark.xdist_group(assignment), pytest.mark.slow, pytest.mark.sandbox])
                  for student in students]
    return cases


@pytest.fixture(scope="module")
def graded(course):
    """Each assignment generated from its solution and its whole batch autograded, once:
    ``graded(assignment)`` gives the points of each submission per test cell."""
    root, api = course
    done, failed = {}, {}

    def grade(assignment):
        if assignment in failed:  # graded once: its other tests say so without regrading
            raise failed[assignment]
        if assignment not in done:
            try:
                done[assignment] = _grade(assignment)
            except Exception as error:
                failed[assignment] = error
                raise
        return done[assignment]

    def _grade(assignment):
        result = api.generate_assignment(assignment)
        assert result["success"], result["log"]
        solution = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
        released = nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
        batch = {"solution": solution, "stub": released}
        batch |= {mutants.student_id(n): mutants.mutated(solution, released, m)
                  for n, m in enumerate(catalogue(assignment), 1)}
        return mutants.grade(api, assignment, batch, jobs=2)

    return grade


@pytest.mark.parametrize("assignment, student", batch_cases())
def test_batch(course, graded, assignment, student):
    """The solution gets every point and raises nowhere; the stub passes no test cell; each
    plausible answer loses the points of the questions its catalogue entry names, and only those."""
    root, _ = course
    points = graded(assignment)[student]
    if student == "solution":
        assert points and all(score == top for score, top in points.values()), f"the solution loses points: {points}"
        # Every cell of the solution runs, the ungraded ones too (this is the notebook's CI run).
        nb = nbformat.read(root / "course" / "autograded" / "solution" / assignment / f"{assignment}.ipynb",
                           as_version=4)
        errors = [(c.metadata.get("nbgrader", {}).get("grade_id"), o.ename, o.evalue)
                  for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"the solution notebook raised: {errors}"
    elif student == "stub":
        passing = [name for name, (score, _) in points.items() if score > 0]
        assert not passing, f"test cells that pass on the untouched stub: {passing}"
    else:
        number = int(student.removeprefix("mutant-"))
        judged, = mutants.judge([catalogue(assignment)[number - 1]], {mutants.student_id(1): points})
        assert judged.as_expected, f"graded otherwise than mutants/{assignment}.toml says: {judged}"


@pytest.mark.parametrize("assignment", [pytest.param(a, marks=[pytest.mark.xdist_group(a), pytest.mark.slow,
                                                               pytest.mark.sandbox]) for a in ASSIGNMENTS])
def test_the_generated_student_version_is_the_committed_one(course, graded, assignment):
    root, _ = course
    graded(assignment)
    generated = root / "exercises" / assignment
    committed = ROOT / "exercises" / assignment
    regenerate = f"run `course-grade release {assignment}` in the course folder"
    assert sorted(p.name for p in generated.iterdir()) == sorted(p.name for p in committed.iterdir()), regenerate
    for notebook in generated.glob("*.ipynb"):
        student_cells = cells(committed / notebook.name)
        assert student_cells == cells(notebook), f"exercises/{assignment}/{notebook.name} is stale: {regenerate}"
        student_text = "\n".join(source for _, source, _ in student_cells)
        assert "HIDDEN TESTS" not in student_text and "BEGIN SOLUTION" not in student_text


@pytest.mark.parametrize("assignment, student", [
    pytest.param(a, s, id=f"{a}-{s}", marks=[pytest.mark.xdist_group(a), pytest.mark.slow, pytest.mark.sandbox])
    for a in ASSIGNMENTS for s in ("solution", "stub")])
def test_feedback_holds_no_hidden_test(course, graded, assignment, student):
    """Feedback: grades, but no line of any hidden test, for a passing and a failing student."""
    root, api = course
    graded(assignment)
    hidden = hidden_lines(ROOT / "solutions" / assignment / f"{assignment}.ipynb")
    assert hidden, "the assignment has no hidden tests"
    # A line that students also see elsewhere (a seed, an import) gives nothing away.
    visible = {line.strip() for _, source, _ in cells(ROOT / "exercises" / assignment / f"{assignment}.ipynb")
               for line in source.splitlines()}
    hidden = [line for line in hidden if line not in visible]
    result = api.generate_feedback(assignment, student)
    assert result["success"], result["log"]
    pages = list((root / "course" / "feedback" / student / assignment).glob("*.html"))
    assert pages
    text = page_text(pages[0])
    leaked = [line for line in hidden if line in text]
    assert not leaked, f"hidden test lines in {student}'s feedback: {leaked[:3]}"
    assert "Score" in text or "score" in text


@pytest.mark.slow
@pytest.mark.sandbox
def test_course_grade_mutants_says_which_answers_are_graded_otherwise(tmp_path, capsys, sandbox_required):
    """The instructors' command, on a catalogue of two: one graded as it says, one whose
    expectation is wrong on purpose (the ratio inverted loses question 3, not question 1)."""
    catalogue = tmp_path / "two.toml"
    catalogue.write_text('''
[[mutant]]
name = "same padding with floor"
cell = "q1-answer"
replace = "math.ceil(height / strides), math.ceil(width / strides)"
by = "height // strides, width // strides"
loses = ["q1-tests"]

[[mutant]]
name = "ratio inverted, expected wrongly"
cell = "q3-answer"
replace = '"MLP": mlp_macs() / 669_706'
by = '"MLP": 669_706 / mlp_macs()'
loses = ["q1-tests"]
''')
    code = cli.main(["--root", str(ROOT), "mutants", "ex06_counting_macs", "--catalogue", str(catalogue), "--jobs", "2"])
    report = capsys.readouterr()
    assert code == 1
    lines = [line for line in report.out.splitlines() if line.startswith("wrong")]
    assert len(lines) == 2 and lines[0].split()[1] == "3/6" and " ok " in lines[0], lines
    assert "lost q3-tests" in lines[1] and "EXPECTED to lose ['q1-tests']" in lines[1], lines
    assert "1 of 2 graded otherwise than the catalogue says: ratio inverted, expected wrongly" in report.err
    assert not (ROOT / "course" / "submitted" / "mutant-01").exists(), "graded in a private copy of the course"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_question_heading_states_its_points(assignment):
    """'## Question 2 (3 points)' above a question whose test cells are worth 3 (or whose answer,
    graded by hand, is): what students read is what the gradebook counts."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    stated = {}
    for cell in nb.cells:
        m = re.match(r"## Question (\d+) \((\d+) points?(, graded by hand)?\)", cell.source)
        if cell.cell_type == "markdown" and m:
            stated[f"q{m.group(1)}"] = int(m.group(2))
    graded = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            question = meta["grade_id"].split("-")[0]
            graded[question] = graded.get(question, 0) + meta["points"]
    assert stated and stated == graded, f"headings say {stated}, the grade cells count {graded}"
