"""Every function and class of course_utils that a notebook calls documents, Keras style,
each of its arguments (``Args:``), what it returns (``Returns:``, functions) and a short
example (``Example:``): what Shift-Tab shows a student in JupyterLab."""

import importlib
import inspect
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted([*ROOT.glob("lectures/*.ipynb"), *ROOT.glob("solutions/*/*.ipynb")])


def called_from_notebooks():
    """{"module.name": object} for each course_utils function or class a notebook's code names,
    as ``module.name`` after ``from course_utils import module``, or as imported by name."""
    found = {}
    for path in NOTEBOOKS:
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        for line in re.findall(r"^\s*from course_utils(\.\w+)? import ([\w, ()]+)", code, re.M):
            package, names = line
            for name in re.findall(r"\w+", names):
                if package:  # from course_utils.module import name
                    module = importlib.import_module(f"course_utils{package}")
                    found[f"{package[1:]}.{name}"] = getattr(module, name)
                else:  # from course_utils import module: then module.name in the code
                    module = importlib.import_module(f"course_utils.{name}")
                    for attribute in set(re.findall(rf"\b{name}\.(\w+)", code)):
                        if hasattr(module, attribute):
                            found[f"{name}.{attribute}"] = getattr(module, attribute)
    return {name: obj for name, obj in sorted(found.items())
            if callable(obj) and getattr(obj, "__module__", "").startswith("course_utils")}


CALLED = called_from_notebooks()


def section(doc, heading):
    """The lines under ``heading`` (e.g. ``Args:``) up to the next section or the end."""
    match = re.search(rf"^{heading}\s*$(.*?)(?=^\w[\w ]*:\s*$|\Z)", doc, re.M | re.S)
    return match.group(1) if match else None


def test_the_notebooks_call_helpers():
    assert len(CALLED) > 30 and "lr_finder.find_lr" in CALLED and "mc_dropout.mc_predict" in CALLED


@pytest.mark.parametrize("name", CALLED)
def test_each_helper_documents_its_arguments_its_result_and_an_example(name):
    obj = CALLED[name]
    doc = inspect.getdoc(obj) or ""
    signature = inspect.signature(obj)
    parameters = [p for p in signature.parameters.values()
                  if p.name not in ("self", "kwargs", "args") and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    if parameters:
        documented = section(doc, "Args:")
        assert documented is not None, f"{name}: no Args: section"
        undocumented = [p.name for p in parameters if not re.search(rf"^\s+{p.name}\b.*:", documented, re.M)]
        assert not undocumented, f"{name}: Args: does not name {undocumented}"
    if not inspect.isclass(obj):
        assert section(doc, "Returns:"), f"{name}: no Returns: section"
    assert section(doc, "Example:"), f"{name}: no Example: section"
