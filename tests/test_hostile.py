"""Hostile submissions through the instructors' commands: each graded with the right score,
none stopping the others, nothing lost from the gradebook.

The submissions are the solution of ``ex06_counting_macs`` (pure Python: its kernels start
fast) with one answer cell made hostile, and one of ``ex00_first_mlp`` for
``numpy.testing``. Points of ex06: questions 1, 2 and 3 are worth 2 each, and question 3's
functions use question 2's, which use question 1's.
"""

import csv
import io
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_utils import grading

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("grading_env")
MACS = "ex06_counting_macs"
MLP = "ex00_first_mlp"


def solution(assignment):
    return nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def with_answer(assignment, grade_id, change):
    nb = solution(assignment)
    answer = cell(nb, grade_id)
    answer.source = change(answer.source)
    return nb


def edited_test():
    nb = with_answer(MACS, "q1-answer", lambda s: s + "\n\ndef conv2d_macs(*args, **kwargs):\n    return 0\n")
    cell(nb, "q1-tests").source = "pass"
    return nb


def deleted_test():
    nb = with_answer(MACS, "q3-answer", lambda s: "def macs_per_parameter():\n    return {}\n")
    nb.cells.remove(cell(nb, "q3-tests"))
    return nb


STUBBORN = """
import time
while True:
    try:
        time.sleep(1)
    except KeyboardInterrupt:
        pass
"""

# student -> (notebook or text, expected score of 6)
SUBMISSIONS = {
    "honest": (solution(MACS), 6),
    "loop": (with_answer(MACS, "q2-answer", lambda s: "while True:\n    pass\n" + s), 2),
    "stubborn-loop": (with_answer(MACS, "q2-answer", lambda s: STUBBORN + s), 2),
    "os-exit": (with_answer(MACS, "q2-answer", lambda s: "import os\nos._exit(1)\n" + s), 2),
    "sys-exit-after": (with_answer(MACS, "q3-answer", lambda s: s + "\nimport sys\nsys.exit(0)\n"), 6),
    "syntax-error": (with_answer(MACS, "q2-answer", lambda s: "def mlp_macs(:\n" + s), 2),
    "edited-test": (edited_test(), 0),
    "deleted-test": (deleted_test(), 4),
    "huge-output": (with_answer(MACS, "q1-answer",
                                lambda s: "print('x' * 20_000_000)\nfor i in range(200_000):\n    print(i)\n" + s), 6),
    "patch-builtins": (with_answer(MACS, "q3-answer", lambda s: (
        "import builtins\nbuiltins.abs = lambda x: 0\n\n"
        "def macs_per_parameter():\n    return {'MLP': 0.0, 'CNN': 0.0, 'CNN, 4 filters': 0.0}\n")), 4),
    "not-a-notebook": ("{ this is not a notebook", None),
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A private copy of the course with both assignments released and a short timeout."""
    root = tmp_path_factory.mktemp("course")
    grading.copy_course(root, ROOT)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write("\nc.Execute.timeout = 10\n")
    api = grading.course_api(root)
    for assignment in (MACS, MLP):
        grading.release(api, assignment)
    return root, api


def write_submissions(folder, assignment, submissions):
    for student, (content, _) in submissions.items():
        path = folder / student / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            nbformat.write(content, path)


def test_hostile_submissions_get_the_right_scores(course, tmp_path, capsys):
    root, api = course
    write_submissions(tmp_path, MACS, SUBMISSIONS)
    assert grading.main(["--root", str(root), "collect", MACS, str(tmp_path)]) == 0
    assert set(api.get_submitted_students(MACS)) == set(SUBMISSIONS)

    code = grading.main(["--root", str(root), "autograde", MACS])
    report = capsys.readouterr()
    assert code == 1, "a submission that could not be graded must make the command fail"
    assert "not-a-notebook" in report.err and "is not a valid notebook" in report.out

    with Gradebook(api.coursedir.db_url) as gb:
        scores = {s: gb.find_submission(MACS, s).score for s in SUBMISSIONS if SUBMISSIONS[s][1] is not None}
    expected = {s: points for s, (_, points) in SUBMISSIONS.items() if points is not None}
    assert scores == expected

    # The edited test cell ran in its original form; the deleted one was put back.
    autograded = Path(api.coursedir.format_path(api.coursedir.autograded_directory, "deleted-test", MACS))
    restored = cell(nbformat.read(autograded / f"{MACS}.ipynb", as_version=4), "q3-tests")
    assert "macs_per_parameter" in restored.source and restored.outputs
    edited = Path(api.coursedir.format_path(api.coursedir.autograded_directory, "edited-test", MACS))
    assert cell(nbformat.read(edited / f"{MACS}.ipynb", as_version=4), "q1-tests").source != "pass"
    # A 20 MB line and 200,000 lines do not reach the gradebook's copy.
    huge = Path(api.coursedir.format_path(api.coursedir.autograded_directory, "huge-output", MACS))
    assert (huge / f"{MACS}.ipynb").stat().st_size < 500_000
    # The lost kernels are said to be lost, in the cells that could not run.
    for student in ("os-exit", "stubborn-loop"):
        folder = Path(api.coursedir.format_path(api.coursedir.autograded_directory, student, MACS))
        text = (folder / f"{MACS}.ipynb").read_text()
        assert "KernelLost" in text, student
    # The report tells the instructor what to read by hand.
    flagged = [line for line in report.out.splitlines() if line.startswith("patch-builtins")]
    assert flagged and "builtins" in flagged[0]

    # Grades out as CSV, one row per graded student; feedback for everyone graded.
    out = tmp_path / "grades.csv"
    assert grading.main(["--root", str(root), "export", str(out)]) == 0
    rows = [row for row in csv.DictReader(io.StringIO(out.read_text())) if row["assignment"] == MACS]
    assert {row["student_id"]: float(row["raw_score"]) for row in rows} == expected
    assert grading.main(["--root", str(root), "feedback", MACS]) == 0
    pages = list((root / "course" / "feedback").glob(f"*/{MACS}/*.html"))
    assert {page.parent.parent.name for page in pages} == set(expected)


def test_monkeypatched_numpy_testing_does_not_pass_asserts(course, tmp_path):
    root, api = course
    # Question 1 wrong (divides by 256), with numpy.testing's check disabled; 2 and 3 right.
    nb = with_answer(MLP, "q1-answer", lambda s: (
        "import numpy.testing\nnumpy.testing.assert_allclose = lambda *args, **kwargs: None\n"
        "np.testing.assert_allclose = numpy.testing.assert_allclose\n\n"
        "def scale_pixels(x):\n    return np.asarray(x, dtype=np.float32) / np.float32(256)\n"))
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # nbgrader's zip collection: one zip, a folder per student
        zf.writestr(f"patch-testing/{MLP}.ipynb", nbformat.writes(nb))
    assert grading.collect(api, MLP, archive) == ["patch-testing"]
    [result] = grading.autograde(api, MLP, ["patch-testing"])
    assert (result.score, result.max_score, result.error) == (4, 6, None)
    assert any("numpy.testing" in line for line in result.flagged)


def test_guard_restores_patched_modules():
    import builtins
    import numpy as np

    from course_utils.grading_guard import Snapshot

    snapshot = Snapshot()
    original_abs, original_check = builtins.abs, np.testing.assert_allclose
    try:
        builtins.abs = lambda x: 0
        np.testing.assert_allclose = lambda *a, **k: None
        builtins.course_extra = 1
        snapshot.restore()
        assert builtins.abs is original_abs and np.testing.assert_allclose is original_check
        assert builtins.course_extra == 1, "names a student added are left alone"
    finally:
        builtins.abs, np.testing.assert_allclose = original_abs, original_check
        vars(builtins).pop("course_extra", None)


def test_suspicious_lines_only_reads_the_students_cells():
    nb = solution(MACS)
    assert grading.suspicious_lines(nb) == []
    cell(nb, "q1-answer").source += "\nimport builtins\n"
    nb.cells.append(nbformat.v4.new_code_cell("get_ipython().events.callbacks.clear()"))
    assert grading.suspicious_lines(nb) == ["import builtins", "get_ipython().events.callbacks.clear()"]


def test_commands_name_bad_arguments(course, tmp_path, capsys):
    root, api = course
    with pytest.raises(ValueError, match="assignment='ex99'"):
        grading.collect(api, "ex99", tmp_path)
    with pytest.raises(FileNotFoundError, match="source="):
        grading.collect(api, MACS, tmp_path / "missing.zip")
    with pytest.raises(ValueError, match="to=.*grades.txt"):
        grading.export(api, tmp_path / "grades.txt")
    assert grading.main(["--root", str(tmp_path), "export", "x.csv"]) == 2
    assert "no nbgrader_config.py" in capsys.readouterr().err
