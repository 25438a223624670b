"""The grading kernel's guard, in an IPython shell without a kernel, one attack a cell.

Each test runs its cells in a fresh Python process: the guard's audit hook, once installed,
stays for the life of the process, and would refuse trace functions to the test runner.
"""

import json
import subprocess
import sys
import textwrap

import pytest

SHELL = textwrap.dedent("""
    import io, json, sys
    from IPython.core.interactiveshell import InteractiveShell
    from course_grading import guard

    shown = []  # a kernel sends every traceback IPython shows as an error output: the test fails
    show = InteractiveShell.showtraceback
    InteractiveShell.showtraceback = lambda self, *args, **kwargs: (shown.append(1), show(self, *args, **kwargs))
    shell = InteractiveShell.instance()
    report = io.StringIO()
    guard.install(shell, report=report)
    shell.run_cell("pass")  # the instructor's first cell: the guard's snapshot is taken before it
    failed = []
    for cell in json.loads(sys.argv[1]):
        shown.clear()
        result = shell.run_cell(cell)
        failed.append(not result.success or bool(shown))
    print(json.dumps({"failed": failed, "reports": report.getvalue().splitlines()}))
""")


def run(*cells):
    """Each cell's failure (True: it raised, or the guard failed it) and the guard's reports."""
    done = subprocess.run([sys.executable, "-c", SHELL, json.dumps(cells)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["failed"], out["reports"]


def test_an_honest_notebook_runs_as_written_and_nothing_is_reported():
    failed, reports = run("import numpy as np\nfrom course_utils.answers import plain", "x = plain(np.int64(3), int)",
                          "def f():\n    return x\n", "assert f() == 3", "assert f() == 4")
    assert failed == [False, False, False, False, True]
    assert reports == []


@pytest.mark.parametrize("attack, undone", [
    ("import numpy.testing\nnumpy.testing.assert_array_equal = lambda *a, **k: None",
     "restored numpy.testing.assert_array_equal"),
    ("import builtins\nbuiltins.AssertionError = KeyError", "restored builtins.AssertionError"),
    ("import course_utils.answers\ncourse_utils.answers.plain = lambda value, kind: value",
     "restored course_utils.answers.plain"),
    ("plain = lambda value, kind: value", "restored the notebook's plain"),
    ("get_ipython().ast_transformers.append(__import__('ast').NodeTransformer())", "restored IPython's ast_transformers"),
])
def test_what_the_tests_run_through_is_put_back_before_they_run(attack, undone):
    test = ("import numpy.testing\nnumpy.testing.assert_array_equal(1, 2)\nassert False"
            if "testing" in attack else "assert plain(3.5, int) == 3.5")
    failed, reports = run("from course_utils.answers import plain", attack, test)
    assert failed == [False, False, True], "the test must fail as written"
    assert f"course-guard: {undone}" in reports


def test_an_input_transformer_does_not_rewrite_the_tests():
    """The IPython input transformer that made every later cell ``pass`` (6/6 for a stub)."""
    install = ("from IPython.core.interactiveshell import InteractiveShell\n"
               "InteractiveShell.instance().input_transformers_post.append(lambda lines: ['pass\\n'])")
    failed, reports = run(install, "assert False, 'the test'")
    assert failed == [False, True]
    assert "course-guard: restored IPython's input_transformers_post" in reports


def test_a_transformer_put_back_after_the_guard_fails_the_cell_it_rewrote():
    """A callback of the student's that runs after the guard's, at the end of each cell, and
    re-installs the transformer: the next cell's text is rewritten before the guard sees it, so
    the guard fails that cell rather than let it pass."""
    again = ("def again(result):\n"
             "    get_ipython().input_transformers_post[:] = [lambda lines: ['pass\\n']]\n"
             "get_ipython().events.register('post_run_cell', again)")
    failed, reports = run(again, "assert False, 'the test'")
    assert failed == [False, True]
    assert "course-guard: a cell's text was transformed by code other than IPython's" in reports


def test_audit_hooks_and_trace_functions_are_refused():
    """Through an audit hook or a trace function a submission sees each line the tests run."""
    failed, reports = run("import sys\nseen = []\nsys.addaudithook(lambda event, args: seen.append(event))",
                          "assert seen == [], seen", "sys.settrace(lambda *args: None)", "sys.setprofile(lambda *args: None)")
    assert failed == [False, False, True, True]
    assert {"course-guard: refused sys.addaudithook", "course-guard: refused sys.settrace",
            "course-guard: refused sys.setprofile"} <= set(reports)


def test_guard_restores_patched_modules():
    import builtins
    import numpy as np

    from course_grading.guard import Snapshot

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
