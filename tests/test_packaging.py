"""The distribution a student installs: named for the course, and its dependencies without
extras (what `pip install training-deep-nets` or bin/lab brings) hold none of the hub's or
the tests' packages, directly or through another package."""

import importlib.metadata
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from course_grading import COURSE_ID
from course_utils.doctor import DISTRIBUTION
from helpers import INSTRUCTORS_AND_TESTS



def closure(distribution):
    """Every installed distribution ``distribution`` needs without extras, by canonical name,
    each with the chain of requirements that brings it."""
    seen, todo = {}, [(canonicalize_name(distribution), (distribution,))]
    while todo:
        name, chain = todo.pop()
        if name in seen:
            continue
        seen[name] = chain
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # only a marker-excluded or optional package is absent here
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append((canonicalize_name(requirement.name), chain + (requirement.name,)))
    return seen


def test_a_students_install_brings_no_instructor_or_test_package():
    needed = closure(DISTRIBUTION)
    assert {"tensorflow", "keras", "nbgrader", "jupyterlab", "scipy", "matplotlib"} <= set(needed)
    brought = {name: " -> ".join(needed[name]) for name in INSTRUCTORS_AND_TESTS & set(needed)}
    assert not brought, f"a student's install brings: {brought}"


def test_the_extras_hold_the_hub_and_the_tests():
    extras = {}
    for line in importlib.metadata.requires(DISTRIBUTION):
        requirement = Requirement(line)
        for extra in ("test", "hub", "gpu"):
            if requirement.marker and requirement.marker.evaluate({"extra": extra}) \
                    and not requirement.marker.evaluate({"extra": ""}):
                extras.setdefault(extra, set()).add(canonicalize_name(requirement.name))
    assert {"pytest", "nbval", "playwright", "uv", "pytest-xdist"} <= extras["test"]
    assert {"jupyterhub", "psycopg"} <= extras["hub"]
    if sys.platform == "linux":  # the CUDA libraries are Linux's only
        assert extras["gpu"] == {"tensorflow"}


def test_the_distribution_and_the_gradebook_are_named_for_the_course():
    assert DISTRIBUTION == COURSE_ID == "training-deep-nets"
    assert importlib.metadata.metadata(DISTRIBUTION)["Name"] == "training-deep-nets"
