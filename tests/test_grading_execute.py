"""GradingExecute's caps on what a cell's outputs may hold, fed messages as a kernel sends
them, and what a cell gets after the kernel is lost: no kernel, no sandbox."""

import time

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from course_grading.preprocessors import GradingExecute


@pytest.fixture
def execute():
    grader = GradingExecute(max_cell_output=1_000, max_cell_outputs=5, max_field=50)
    grader.reset_execution_trackers()
    grader.clear_before_next_output = False  # as nbclient sets it when a cell starts
    return grader


def message(msg_type, content):
    """An IOPub message as the kernel sends it, in answer to the cell's execute request."""
    return {"msg_type": msg_type, "header": {"msg_type": msg_type}, "parent_header": {"msg_id": "request"},
            "content": content}


def stream(text, name="stdout"):
    return message("stream", {"name": name, "text": text})


def display(data, metadata=None):
    return message("display_data", {"data": data, "metadata": metadata or {}, "transient": {}})


def error(evalue, traceback):
    return message("error", {"ename": "AssertionError", "evalue": evalue, "traceback": traceback})


def test_a_flood_is_cut_where_it_passes_the_cap_and_said_once(execute):
    cell, outs = new_code_cell("print(...)"), []
    for _ in range(4):
        execute.output(outs, stream("x" * 300), None, 0)
    assert [len(o.text) for o in outs] == [300, 300, 300]  # the fourth would pass 1,000 characters
    cell.outputs = outs
    execute._note_dropped(cell, 0)
    assert cell.outputs[-1].name == "stdout" and "1 more outputs (300 characters) dropped" in cell.outputs[-1].text


def test_what_was_dropped_from_stderr_is_said_on_stderr(execute):
    cell, outs = new_code_cell("..."), []
    execute.output(outs, stream("y" * 900), None, 0)
    execute.output(outs, stream("warning " * 50, name="stderr"), None, 0)
    cell.outputs = outs
    execute._note_dropped(cell, 0)
    assert cell.outputs[-1].name == "stderr", "a test cell that wrote to stderr must still fail"


def test_outputs_are_counted_as_well_as_measured(execute):
    outs = []
    for i in range(8):
        execute.output(outs, display({"text/plain": str(i)}), None, 1)
    assert len(outs) == 5


def test_an_error_is_always_kept_and_its_fields_cut(execute):
    outs = []
    execute.output(outs, stream("z" * 1_000), None, 2)
    execute.output(outs, error("e" * 500, ["line " * 40] * 300), None, 2)
    err = outs[-1]
    assert err.output_type == "error" and err.evalue.startswith("e" * 50) and "450 characters cut" in err.evalue
    assert len(err.traceback) == 100 and all(len(line) < 120 for line in err.traceback)


def test_oversized_metadata_is_dropped_and_the_data_kept(execute):
    outs = []
    execute.output(outs, display({"text/plain": "kept"}, metadata={"padding": "m" * 200}), None, 3)
    assert outs[0].data["text/plain"] == "kept" and outs[0].metadata == {}


def test_after_the_kernel_is_lost_each_code_cell_says_so_without_running(execute):
    execute.lost = "the kernel died in cell 3"
    code, markdown = new_code_cell("1 + 1"), new_markdown_cell("notes")
    assert execute.execute_cell(code, 4).outputs[0].ename == "KernelLost"
    assert "not run: the kernel died in cell 3" in code.outputs[0].evalue
    assert execute.execute_cell(markdown, 5) is markdown


def test_a_cells_timeout_never_runs_past_the_notebooks_wall_time(execute):
    execute.timeout = 600
    execute.deadline = time.monotonic() + 30
    assert 29 <= execute._get_timeout(new_code_cell("")) <= 30
    execute.deadline = time.monotonic() - 5
    assert execute._get_timeout(new_code_cell("")) == 1
