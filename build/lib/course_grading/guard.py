"""Runs inside the kernel that grades a submission: the tests run as the instructor wrote them.

A test cell runs in the same Python process as the student's code, so a student can make a
failing test pass by replacing what it runs through: ``np.testing.assert_allclose = lambda
*a, **k: None``, ``builtins.abs = lambda x: 0``, an exception handler that swallows
``AssertionError``, an IPython input or AST transformer that rewrites every later cell, a
display or exception hook, a trace function that jumps over the asserts. :func:`install`
runs when the kernel starts, before any student code, and

- snapshots the modules the tests rely on (:data:`GUARDED`) and IPython's transformers and
  hooks, and puts them back before and after every cell (IPython's ``pre_run_cell`` and
  ``post_run_cell`` events: the kernel transforms a cell's text before ``pre_run_cell``, so
  it must be clean when the cell before it ends);
- checks before each cell that its text was transformed as the clean transformers would
  have done it, and fails the cell otherwise (what runs is not what the instructor wrote);
- installs an audit hook that refuses new audit hooks and trace or profile functions
  (through them a student's code would see, and could change, every line a test runs).

What it undid or refused it writes to the kernel's own standard error (the grader's log of the
kernel, not a cell's output), one ``course-guard:`` line each; the grader marks the submission
for reading by hand (:func:`course_grading.sandbox.guard_reports`).

What it cannot stop: code in the same process can also unregister these callbacks, patch
IPython itself, or rewrite these snapshots; the grading report flags the lines that touch
them (``course_grading.autograde.suspicious_lines``).
"""

import importlib
import os
import sys
import types

#: Modules whose attributes are restored before and after every cell, snapshot at start.
GUARDED = ("builtins", "math", "numpy", "numpy.testing", "course_utils.answers")
#: The same, snapshot when first imported (they import Keras: too slow to load in every kernel).
#: The notebooks import them in their set-up cells, before any answer.
LATER = ("course_utils.initializers",)
#: Packages whose functions and modules, bound to a name in the notebook, the tests call: a
#: student who rebinds such a name (``drawn_like = lambda *a: True``) gets it back.
TRUSTED = ("course_utils", "numpy", "keras", "math", "tensorflow")
#: IPython's lists of transformers, each applied to every cell before it runs: the shell's,
#: and its input transformer manager's.
TRANSFORMERS = ("input_transformers_post", "ast_transformers")
MANAGER_TRANSFORMERS = ("cleanup_transforms", "line_transforms", "token_transformers")
#: Names the kernel itself sets in ``builtins`` for each cell it runs (IPython's builtin trap,
#: ipykernel's forwarded ``input``): not compared.
PER_CELL_BUILTINS = ("input", "raw_input", "get_ipython", "exit", "quit")
#: The interpreter's hooks and streams. (``sys.displayhook`` is IPython's while a cell runs and
#: put back by IPython after it, whatever the cell set.)
HOOKS = ("excepthook", "breakpointhook", "unraisablehook", "stdout", "stderr")
#: Shell methods a student could shadow with an instance attribute.
METHODS = ("showtraceback", "showsyntaxerror", "run_cell", "run_cell_async", "transform_cell", "transform_ast",
           "run_ast_nodes", "run_code")
#: Audit events refused: whoever installs one of these sees every line the tests run.
REFUSED = ("sys.addaudithook", "sys.settrace", "sys.setprofile", "sys.monitoring.register_callback")
PREFIX = "course-guard: "
_MISSING = object()


class Snapshot:
    """The attributes of some modules (and their ``sys.modules`` entries) at one moment."""

    def __init__(self, modules=GUARDED):
        self.saved = []
        for module in map(importlib.import_module, modules):
            self.add(module)

    def add(self, module):
        """Snapshot one more module, as it is now."""
        attributes = dict(vars(module))
        if module.__name__ == "builtins":
            for name in PER_CELL_BUILTINS:
                attributes.pop(name, None)
        self.saved.append((module, attributes))

    def restore(self):
        """Put back every attribute that existed at snapshot time (new ones are kept); returns
        the names put back."""
        changed = []
        for module, attributes in self.saved:
            if sys.modules.get(module.__name__) is not module:
                sys.modules[module.__name__] = module
                changed.append(module.__name__)
            current = vars(module)
            for name, value in attributes.items():
                if current.get(name, _MISSING) is not value:
                    setattr(module, name, value)
                    changed.append(f"{module.__name__}.{name}")
        return changed


class Guard:
    """What :func:`install` keeps: the snapshots, and what was undone so far."""

    def __init__(self, shell, report=None):
        self.shell = shell
        self.modules = None  # the snapshot, taken between cells at the first event: before any student code
        self.later = list(LATER)
        self.pinned = {}  # name in the notebook -> the trusted object first bound to it
        # A descriptor of its own: the kernel's standard error may be replaced, closed or
        # redirected by the student's code, this copy stays where the grader reads it.
        self.report = report if report is not None else os.fdopen(os.dup(2), "w", buffering=1)
        self.told = set()

    def tell(self, what):
        """Report ``what`` to the grader, once."""
        if what not in self.told:
            self.told.add(what)
            try:
                self.report.write(f"{PREFIX}{what}\n")
                self.report.flush()
            except (OSError, ValueError):
                pass

    def audit(self, event, args):
        if event in REFUSED:
            self.tell(f"refused {event}")
            # For sys.addaudithook a RuntimeError means: not added, and nothing said.
            raise RuntimeError(f"{event} is not allowed while a notebook is graded")

    def take_snapshot(self):
        shell = self.shell
        self.modules = Snapshot()
        self.manager = shell.input_transformer_manager
        self.transformers = {(shell, name): list(getattr(shell, name)) for name in TRANSFORMERS}
        self.transformers.update({(self.manager, name): list(getattr(self.manager, name))
                                  for name in MANAGER_TRANSFORMERS})
        self.hooks = {name: getattr(sys, name) for name in HOOKS}
        self.shell_attrs = {name: getattr(shell, name)
                            for name in ("displayhook", "display_pub", "display_trap", "builtin_trap", "custom_exceptions")}

    def restore(self):
        """Put everything back as it was between cells before any student code ran; returns
        what had been changed."""
        if self.modules is None:
            self.take_snapshot()
            return []
        for name in [name for name in self.later if name in sys.modules]:
            self.modules.add(sys.modules[name])
            self.later.remove(name)
        changed = self.modules.restore()
        if self.shell.input_transformer_manager is not self.manager:
            self.shell.input_transformer_manager = self.manager
            changed.append("IPython's input_transformer_manager")
        for (owner, name), saved in self.transformers.items():
            current = getattr(owner, name)
            if type(current) is not list or current != saved:
                setattr(owner, name, list(saved))
                changed.append(f"IPython's {name}")
        changed += self._restore_pins()
        for name, value in self.hooks.items():
            if getattr(sys, name) is not value:
                setattr(sys, name, value)
                changed.append(f"sys.{name}")
        for name, value in self.shell_attrs.items():
            if getattr(self.shell, name) is not value:
                setattr(self.shell, name, value)
                changed.append(f"the shell's {name}")
        shell_class = type(self.shell)
        for name in METHODS:
            # An instance attribute shadows the class's method: the student replaced it.
            if name in vars(self.shell) and callable(getattr(shell_class, name, None)):
                delattr(self.shell, name)
                changed.append(f"the shell's {name}")
        return sorted(set(changed))

    def _restore_pins(self):
        """Rebound names of the notebook back to the trusted objects first bound to them; pin
        the new ones."""
        changed = []
        namespace = self.shell.user_ns
        for name, value in self.pinned.items():
            if namespace.get(name, _MISSING) is not value:
                namespace[name] = value
                changed.append(f"the notebook's {name}")
        for name, value in list(namespace.items()):
            if name not in self.pinned and not name.startswith("_") and _trusted(value):
                self.pinned[name] = value
        return changed

    def before_cell(self, info=None):
        for what in self.restore():
            self.tell(f"restored {what}")
        transformed = getattr(info, "transformed_cell", None)
        if transformed is not None and info.raw_cell and transformed != self._clean_transform(info.raw_cell):
            self.tell("a cell's text was transformed by code other than IPython's")
            # The cell about to run is not the one sent: fail it, as a test that did not run.
            raise RuntimeError("this cell's text was rewritten before it ran; it is not graded as written")

    def after_cell(self, result=None):
        for what in self.restore():
            self.tell(f"restored {what}")

    def _clean_transform(self, raw):
        try:
            return self.shell.transform_cell(raw)
        except Exception:  # the kernel fell back to the raw text in this case
            return raw


def _trusted(value):
    """Whether ``value`` is a module, function or class of a :data:`TRUSTED` package."""
    if isinstance(value, types.ModuleType):
        name = value.__name__
    elif isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
        name = getattr(value, "__module__", None) or ""
    else:
        return False
    return name.split(".")[0] in TRUSTED


def install(shell=None, report=None):
    """Snapshot now, guard every later cell of ``shell`` (the running IPython shell by
    default) and refuse audit hooks and trace functions from now on. Returns the :class:`Guard`.

    Args:
        shell: the IPython shell whose cells are graded.
        report: a text stream for the ``course-guard:`` lines (a copy of standard error's
            descriptor by default).
    """
    if shell is None:
        from IPython import get_ipython
        shell = get_ipython()
    guard = Guard(shell, report)
    shell.events.register("pre_run_cell", guard.before_cell)
    shell.events.register("post_run_cell", guard.after_cell)
    sys.addaudithook(guard.audit)  # last: no later hook can be added, this one included
    return guard
