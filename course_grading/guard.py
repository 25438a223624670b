"""Runs inside the kernel that grades a submission: undoes a student's monkeypatches.

A test cell runs in the same Python process as the student's code, so a student can make
failing asserts pass by replacing what the tests call: ``np.testing.assert_allclose =
lambda *a, **k: None``, ``builtins.abs = lambda x: 0``, a custom exception handler that
swallows ``AssertionError``. :func:`install` snapshots the modules the tests rely on when
the kernel starts (before any student code) and restores them before every cell, through
IPython's ``pre_run_cell`` event. ``course_grading.preprocessors.GradingExecute`` starts every
grading kernel with it.

What it cannot stop: code in the same process can also unregister this hook, patch IPython
itself, or rewrite these snapshots. Those attacks target the grader by name; the grading
report flags notebooks whose solution cells touch these objects (``course_grading.autograde.
suspicious_lines``) for an instructor to read.
"""

import builtins
import math
import sys

import numpy
import numpy.testing

GUARDED = (builtins, math, numpy, numpy.testing)
_MISSING = object()


class Snapshot:
    """The attributes of some modules (and their ``sys.modules`` entries) at one moment."""

    def __init__(self, modules=GUARDED):
        self.saved = [(module, dict(vars(module))) for module in modules]

    def restore(self):
        """Put back every attribute that existed at snapshot time (new ones are kept)."""
        for module, attributes in self.saved:
            sys.modules[module.__name__] = module
            current = vars(module)
            for name, value in attributes.items():
                if current.get(name, _MISSING) is not value:
                    setattr(module, name, value)


def install(shell=None):
    """Snapshot now; restore the snapshot, IPython's error display and exception handling
    before every cell of ``shell`` (the running IPython shell by default)."""
    if shell is None:
        from IPython import get_ipython
        shell = get_ipython()
    snapshot = Snapshot()
    shell_class = type(shell)

    def before_cell(*_):
        snapshot.restore()
        shell.custom_exceptions = ()
        for name in ("showtraceback", "showsyntaxerror", "run_cell", "run_cell_async"):
            # An instance attribute shadows the class's method: the student replaced it.
            if name in vars(shell) and callable(getattr(shell_class, name, None)):
                delattr(shell, name)

    shell.events.register("pre_run_cell", before_cell)
    return snapshot
