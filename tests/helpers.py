"""What several tests share: notebooks as a student fills them in, what feedback pages
say, free ports, and how a test reacts to a missing tool."""

import html
import os
import re
import socket
import tomllib
from pathlib import Path

import nbformat
import pytest

from course_grading.mutants import filled

ROOT = Path(__file__).resolve().parent.parent


# What the hub and the tests need and a student's install must not bring, even indirectly.
INSTRUCTORS_AND_TESTS = frozenset({"jupyterhub", "psycopg", "psycopg-binary", "playwright", "uv", "pytest", "nbval",
                                   "pytest-xdist"})


def supported_pythons():
    """The Python versions pyproject.toml's classifiers name (their one source), oldest first."""
    prefix = "Programming Language :: Python :: "
    classifiers = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["classifiers"]
    versions = [c.removeprefix(prefix) for c in classifiers if c.startswith(prefix)]
    return sorted((v for v in versions if v.count(".") == 1), key=lambda v: tuple(map(int, v.split("."))))


def required(reason):
    """A tool or right a test needs is missing: CI must have it (.ci/run installs it), so
    there the test fails; elsewhere it is skipped, saying what is missing."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason, allow_module_level=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def solved(assignment, answers=None):
    """The student version of an assignment with the answer cells ``answers`` (grade ids;
    all of them by default) filled in as a student would: the solution's code without
    nbgrader's markers. Tests stay as released."""
    student = nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return filled(solution, student, answers)


def hidden_lines(notebook):
    """The non-trivial source lines between BEGIN and END HIDDEN TESTS of a notebook file."""
    lines, inside = [], False
    for cell in nbformat.read(notebook, as_version=4).cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 12:
                lines.append(line.strip())
    return lines


def page_text(page):
    """A feedback page's text: code is syntax-highlighted token by token, so compare this,
    not the markup."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
