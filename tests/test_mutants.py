"""course_grading.mutants without a kernel: catalogues read and checked, answers filled in
and edited on a notebook file. The grading itself is tests/test_grading.py's."""

import nbformat
import pytest

from course_grading import mutants

SOLUTION = nbformat.v4.new_notebook(cells=[
    nbformat.v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                              metadata={"nbgrader": {"grade_id": "q1-answer", "solution": True, "grade": False}}),
    nbformat.v4.new_code_cell("assert f(2) == 4", metadata={"nbgrader": {"grade_id": "q1-tests", "grade": True,
                                                                         "solution": False, "points": 1}}),
    nbformat.v4.new_code_cell("history = train_for_an_hour()", metadata={"nbgrader": {"grade_id": "final-run",
                                                                                      "grade": False, "solution": False}}),
])
STUDENT = nbformat.reads(nbformat.writes(SOLUTION), as_version=4)
STUDENT.cells[0].source = "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"


def write(tmp_path, text):
    path = tmp_path / "catalogue.toml"
    path.write_text(text)
    return path


def test_a_catalogue_reads_as_mutants_in_order(tmp_path):
    path = write(tmp_path, '''
[[mutant]]
name = "doubles wrong"
cell = "q1-answer"
replace = "2 * x"
by = "x + x + 1"
loses = ["q1-tests"]

[[mutant]]
name = "right: x + x"
cell = "q1-answer"
replace = "2 * x"
by = "x + x"
''')
    wrong, right = mutants.load(path)
    assert (wrong.name, wrong.loses, wrong.right) == ("doubles wrong", ("q1-tests",), False)
    assert (right.loses, right.right) == ((), True)


@pytest.mark.parametrize("text, message", [
    ('[[mutant]]\nname = "a"\ncell = "q1-answer"\nreplace = "x"\n', r"mutant 1 \('a'\): missing \['by'\]"),
    ('[[mutant]]\nname = "a"\ncell = "c"\nreplace = "x"\nby = "y"\nlose = []\n', r"unknown \['lose'\]"),
    ('[[mutant]]\nname = "a"\ncell = "c"\nreplace = "x"\nby = "y"\n[[mutant]]\nname = "a"\ncell = "c"\n'
     'replace = "x"\nby = "z"\n', r"mutant 2: the name 'a' is used twice"),
    ('[[mutant]]\nname = "a"\ncell = "c"\nreplace = "x"\nby = "x"\n', "replace and by are the same text"),
])
def test_a_bad_catalogue_entry_is_named(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        mutants.load(write(tmp_path, text))


def test_a_missing_catalogue_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.toml"):
        mutants.load(tmp_path / "nothing.toml")


def test_filled_answers_are_the_solution_without_markers_and_tests_stay():
    notebook = mutants.filled(SOLUTION, STUDENT)
    assert notebook.cells[0].source == "def f(x):\n    return 2 * x\n"
    assert notebook.cells[1].source == "assert f(2) == 4"
    assert "raise NotImplementedError" in STUDENT.cells[0].source, "the student version is left as it was"


def test_a_mutant_edits_its_cell_once_or_says_the_solution_changed():
    edited = mutants.mutated(SOLUTION, STUDENT, mutants.Mutant("m", "q1-answer", "2 * x", "x + x"))
    assert edited.cells[0].source == "def f(x):\n    return x + x\n"
    assert [c.source for c in edited.cells[1:]] == ["assert f(2) == 4"], "the ungraded full run is left out"
    assert len(mutants.filled(SOLUTION, STUDENT).cells) == 3, "a filled notebook keeps it"
    with pytest.raises(ValueError, match=r"holds '3 \* x' 0 times.*update the catalogue"):
        mutants.mutated(SOLUTION, STUDENT, mutants.Mutant("m", "q1-answer", "3 * x", "x"))
    with pytest.raises(ValueError, match="cell='q9-answer' is no answer cell"):
        mutants.mutated(SOLUTION, STUDENT, mutants.Mutant("m", "q9-answer", "2 * x", "x"))


def test_a_mutant_is_judged_cell_by_cell():
    wrong = mutants.Mutant("m", "q1-answer", "a", "b", ("q1-tests",))
    [caught, missed] = mutants.judge([wrong, wrong], {
        mutants.student_id(1): {"q1-tests": (0, 2), "q2-tests": (2, 2)},
        mutants.student_id(2): {"q1-tests": (0, 2), "q2-tests": (0, 2)},  # a double penalty
    })
    assert caught.as_expected and caught.score == 2 and caught.max_score == 4
    assert not missed.as_expected and missed.lost == ["q1-tests", "q2-tests"]
    assert "EXPECTED to lose ['q1-tests']" in str(missed)
