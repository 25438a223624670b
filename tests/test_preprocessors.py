"""The course's nbgrader preprocessors, each on a notebook file, without a kernel: the outputs
are written in as a kernel would send them."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_output
from nbgrader.utils import determine_grade

from course_grading.preprocessors import ErrorsFailTests, HideHiddenTests, LimitOutputSize, SanitizeFeedback
from course_grading.preprocessors.hidden_tests import REDACTED
from helpers import hidden_lines

ROOT = Path(__file__).resolve().parent.parent
MACS = ROOT / "solutions" / "ex06_counting_macs" / "ex06_counting_macs.ipynb"


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def error(message, name="AssertionError"):
    return new_output("error", ename=name, evalue=message, traceback=["Traceback (most recent call last): ...", f"{name}: {message}"])


def test_a_test_that_failed_scores_zero_whatever_it_displayed_first():
    nb = nbformat.read(MACS, as_version=4)
    faked = cell(nb, "q1-tests")  # the student's function displayed a result, then raised
    faked.outputs = [new_output("execute_result", data={"text/plain": "'ok'"}, execution_count=1), error("no")]
    warned = cell(nb, "q2-tests")
    warned.outputs = [new_output("execute_result", data={"text/plain": "'ok'"}, execution_count=2),
                      new_output("stream", name="stderr", text="a warning\n")]
    partial = cell(nb, "q3-tests")  # partial credit, as nbgrader gives it, and no failure
    partial.outputs = [new_output("execute_result", data={"text/plain": "0.5"}, execution_count=3)]
    assert determine_grade(faked) == (3, 3), "nbgrader alone: full marks for a test that raised"

    ErrorsFailTests().preprocess(nb, {})
    assert determine_grade(faked) == (0, 3) and [o.output_type for o in faked.outputs] == ["error"]
    assert determine_grade(warned) == (0, 2) and warned.outputs[0].name == "stderr"
    assert determine_grade(partial) == (0.5, 1)


def test_feedback_shows_nothing_of_the_hidden_tests():
    nb = nbformat.read(MACS, as_version=4)
    hidden = hidden_lines(MACS)
    leak = "\n".join(hidden[:3])
    tests = cell(nb, "q1-tests")
    tests.outputs = [new_output("stream", name="stdout", text="printed by the student's function while tested\n"),
                     error("in_channels multiplies the cost of every output value")]
    cell(nb, "q2-tests").outputs = [error(f"my exception quotes my caller:\n{leak}", name="RuntimeError")]
    answer = cell(nb, "q1-answer")
    answer.outputs = [new_output("stream", name="stdout", text="my own line\n")]
    # A cell the student added prints what an audit hook kept, re-indented; another a rich output.
    nb.cells.append(new_code_cell("print(kept)", outputs=[new_output("stream", name="stdout", text="  " + leak.replace(" ", "  "))]))
    nb.cells.append(new_code_cell("display(kept)", outputs=[new_output("display_data", data={"text/html": f"<pre>{hidden[-1]}</pre>"})]))
    nb.cells.append(new_code_cell("# ### BEGIN HIDDEN TESTS, my note\nprint(1)",
                                  outputs=[new_output("stream", name="stdout", text="1\n")]))

    HideHiddenTests().preprocess(nb, {})
    text = nbformat.writes(nb)
    assert not [line for line in hidden if line in text], "a hidden line reached the feedback"
    assert "BEGIN HIDDEN TESTS" not in tests.source and "plain(dense_macs(784, 512), int)" in tests.source
    message = "in_channels multiplies the cost of every output value"  # the instructor's, for the student
    assert [(o.output_type, o.evalue, o.traceback) for o in tests.outputs] == [("error", message, [f"AssertionError: {message}"])]
    assert cell(nb, "q2-tests").outputs[0].text == REDACTED
    assert nb.cells[-3].outputs[0].text == REDACTED and nb.cells[-2].outputs[0].text == REDACTED
    assert answer.outputs[0].text == "my own line\n", "outputs without hidden lines are left alone"
    assert nb.cells[-1].source.startswith("# ### BEGIN HIDDEN TESTS, my note"), "a student's marker text is shown as written"


def test_outputs_are_capped_and_keep_their_kind():
    nb = nbformat.read(MACS, as_version=4)
    tests = cell(nb, "q1-tests")
    tests.outputs = [new_output("stream", name="stderr", text="x" * 50_000),
                     new_output("display_data", data={"text/html": "<b>" * 400_000, "text/plain": "b"})]
    LimitOutputSize().preprocess(nb, {})
    stream, rich = tests.outputs
    assert stream.name == "stderr" and len(stream.text) < 20_100 and "30,000 more characters cut" in stream.text
    assert "text/html" not in rich.data and "1,200,000 characters removed" in rich.data["text/plain"]


def test_feedback_shows_a_submissions_markup_as_text():
    nb = nbformat.read(MACS, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell('Notes <script>run()</script> <img src="x" onerror="run()">\n'
                                                  '![a pixel](http://127.0.0.1:9/pixel.png) ![inline](data:image/png;base64,AA==)'))
    answer = cell(nb, "q1-answer")
    answer.outputs = [new_output("display_data", data={"text/html": "<b>bold</b><script>run()</script>",
                                                       "application/javascript": "run()", "text/plain": "x"})]
    SanitizeFeedback().preprocess(nb, {})
    notes = nb.cells[-1].source
    assert "<script>" not in notes and "&lt;script&gt;" in notes and '&lt;img src="x" onerror' in notes
    assert "[image not shown: a pixel]" in notes and "http://127.0.0.1" not in notes
    assert "![inline](data:image/png;base64,AA==)" in notes, "an image inside the page fetches nothing"
    data = answer.outputs[0].data
    assert "application/javascript" not in data and "<script>" not in data["text/html"] and "<b>bold</b>" in data["text/html"]
