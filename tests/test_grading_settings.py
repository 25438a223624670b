"""course-grade's settings, without a kernel: what the grading kernels are told (fast or full
size), that grading leaves the caller's configuration alone, and that the commands run where
the system has no CPU affinity (macOS)."""

import os
import pwd
import sys

import pytest

from course_grading import autograde as autograde_module
from course_grading import cli
from course_grading.autograde import Graded, autograde
from course_grading.pipeline import course_api
from course_grading.sandbox import Sandbox, bubblewrap, usable_cores

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MACS = "ex06_counting_macs"


@pytest.fixture
def seen(monkeypatch):
    """Grade nothing: record the Sandbox settings each submission would be graded with."""
    settings = []

    def grade(api, assignment, student):
        sandbox = api.config.Sandbox
        settings.append({"student": student, "fast": sandbox.get("fast"), "unconfined": sandbox.get("unconfined")})
        return Graded(student, 1, 1)

    monkeypatch.setattr(autograde_module, "_grade", grade)
    return settings


def test_full_size_grading_is_full_size_under_an_exported_course_fast(monkeypatch, seen, capsys):
    monkeypatch.setenv("COURSE_FAST", "1")
    assert cli.main(["--root", ROOT, "autograde", MACS, "alice", "--full", "--unconfined", "--jobs", "1"]) == 0
    assert seen == [{"student": "alice", "fast": False, "unconfined": True}]
    assert os.environ["COURSE_FAST"] == "1"  # the grader's own environment is as it was
    assert "UNCONFINED" in capsys.readouterr().out


def test_grading_leaves_the_callers_configuration_as_it_was(seen):
    api = course_api(ROOT)
    before = {name: dict(section) for name, section in api.config.items()}
    autograde(api, MACS, ["bob"], fast=False, unconfined=True)
    assert seen[0]["fast"] is False and seen[0]["unconfined"] is True
    assert {name: dict(section) for name, section in api.config.items()} == before
    autograde(api, MACS, ["carol"], unconfined=True)
    assert seen[1]["fast"] is True


@pytest.mark.parametrize("fast, told", [(True, "1"), (False, "0")])
def test_the_kernel_is_told_the_sandboxs_mode_not_the_graders(tmp_path, fast, told):
    user = pwd.getpwuid(os.geteuid())
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", str(tmp_path / "kernel.json")]
    args = bubblewrap.command(Sandbox(fast=fast), kernel, tmp_path, tmp_path, {"COURSE_FAST": "1" if not fast else "0"},
                              user)
    values = {args[i + 1]: args[i + 2] for i, arg in enumerate(args) if arg == "--setenv"}
    assert values["COURSE_FAST"] == told
    assert Sandbox(fast=fast).switches() == {"COURSE_FAST": told}


def test_course_grade_runs_where_there_is_no_cpu_affinity(monkeypatch, capsys, tmp_path):
    """macOS has no os.sched_getaffinity: every command once failed while its options were made."""
    monkeypatch.delattr(os, "sched_getaffinity")
    assert usable_cores() == list(range(os.cpu_count()))
    assert cli.main(["--root", str(tmp_path), "release", MACS]) == 2
    assert "no nbgrader_config.py" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        cli.main(["autograde", "--help"])
    assert done.value.code == 0
    assert "default: the cores" in capsys.readouterr().out
