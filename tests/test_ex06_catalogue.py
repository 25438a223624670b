"""Exercise 06's tests, hidden ones included, against plausible answers, question by question.

Each answer is the solution with one edit: a mistake a student makes (it must lose the points
of its question and of no other) or a correct alternative (it must keep every point). The
test cells run as plain Python on the functions, without a kernel: what they grade is
arithmetic, and a wrong answer to question 1 must not fail questions 2 and 3.
"""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "ex06_counting_macs" / "ex06_counting_macs.ipynb"
QUESTIONS = ("q1", "q2", "q3")
VALID = "(height - kernel_size) // strides + 1, (width - kernel_size) // strides + 1"
SAME = "math.ceil(height / strides), math.ceil(width / strides)"
# name: (question, text of the solution, replacement, questions that must fail)
CATALOGUE = {
    "same padding with floor": ("q1", SAME, "height // strides, width // strides", {"q1"}),
    "valid as (h - k + 1) // s": ("q1", VALID, "(height - kernel_size + 1) // strides, "
                                  "(width - kernel_size + 1) // strides", {"q1"}),
    "valid ignoring the stride": ("q1", VALID, "height - kernel_size + 1, width - kernel_size + 1", {"q1"}),
    "in_channels forgotten": ("q1", "kernel_size * kernel_size * in_channels)", "kernel_size * kernel_size)", {"q1"}),
    "dense layer counting its biases": ("q1", "int(n_inputs * n_units)", "int((n_inputs + 1) * n_units)", {"q1"}),
    "CNN without the pooling": ("q2", "12 * 12 * filters[1]", "24 * 24 * filters[1]", {"q2"}),
    "CNN on 3 input channels": ("q2", "conv2d_macs(28, 28, 1, filters[0], 3)", "conv2d_macs(28, 28, 3, filters[0], 3)",
                                {"q2"}),
    "ratio inverted": ("q3", '"MLP": mlp_macs() / 669_706', '"MLP": 669_706 / mlp_macs()', {"q3"}),
    "right: same padding as -(-h // s)": ("q1", SAME, "-(-height // strides), -(-width // strides)", set()),
    "right: valid with math.floor": ("q1", VALID, "math.floor((height - kernel_size) / strides) + 1, "
                                     "math.floor((width - kernel_size) / strides) + 1", set()),
}


def cells():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    answers = {q: re.sub(r"\s*### (BEGIN|END) SOLUTION", "", by_id[f"{q}-answer"]) for q in QUESTIONS}
    tests = {q: re.sub(r"### (BEGIN|END) HIDDEN TESTS", "", by_id[f"{q}-tests"]) for q in QUESTIONS}
    return answers, tests


def failing_questions(answers, tests):
    namespace, failed = {}, set()
    for q in QUESTIONS:
        exec(answers[q], namespace)
        try:
            exec(tests[q], namespace)
        except AssertionError:
            failed.add(q)
    return failed


def test_the_solution_passes_every_question():
    assert failing_questions(*cells()) == set()


@pytest.mark.parametrize("name", CATALOGUE)
def test_an_answer_loses_the_points_of_its_own_question_only(name):
    question, old, new, expected = CATALOGUE[name]
    answers, tests = cells()
    assert old in answers[question], f"{name}: the solution no longer contains {old!r}"
    answers[question] = answers[question].replace(old, new)
    assert failing_questions(answers, tests) == expected
