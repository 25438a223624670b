"""bubblewrap's command line and the staging of a submission's files, read without starting
bubblewrap or a kernel: what the kernel is given, and what it is not."""

import os
import pwd
import sys
from pathlib import Path

import pytest

from course_grading.sandbox import Sandbox, bubblewrap

KERNEL = [sys.executable, "-m", "ipykernel_launcher", "-f", "/run/ipc/kernel.json"]


def options(args, flag):
    """The operands of each ``flag`` in ``args``, as tuples (bubblewrap's options take 1 or 2)."""
    width = {"--setenv": 2, "--ro-bind": 2, "--bind": 2, "--symlink": 2, "--size": 1, "--tmpfs": 1, "--perms": 1,
             "--dir": 1, "--chdir": 1, "--seccomp": 1, "--hostname": 1, "--cap-add": 1, "--proc": 1, "--dev": 1}[flag]
    return [tuple(args[i + 1:i + 1 + width]) for i, a in enumerate(args) if a == flag]


@pytest.fixture
def args(tmp_path):
    sandbox = Sandbox(disk=3 * 2**20, cpus=[0], fast=False)
    env = {"LANG": "C.UTF-8", "NBGRADER_EXECUTION": "autograde", "GITHUB_TOKEN": "secret", "COURSE_FAST": "1",
           "HOME": "/root", "AWS_SECRET_ACCESS_KEY": "secret"}
    user = pwd.getpwnam(sandbox.user)
    return bubblewrap.command(sandbox, KERNEL, tmp_path / "ipc", tmp_path / "files", env, user)


def test_the_kernel_gets_no_network_and_new_namespaces(args):
    assert args[0] == "bwrap"
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent", "--new-session",
                 "--clearenv"):
        assert flag in args, flag
    assert options(args, "--seccomp") == [("9",)]


def test_the_kernel_gets_only_the_variables_it_needs(args):
    env = dict(options(args, "--setenv"))
    assert "GITHUB_TOKEN" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["LANG"] == "C.UTF-8" and env["NBGRADER_EXECUTION"] == "autograde"
    # The sandbox's own settings, not the grader's: full size here, one core, no downloads.
    assert env["COURSE_FAST"] == "0" and env["TF_NUM_INTRAOP_THREADS"] == "1" and env["COURSE_OFFLINE"] == "1"
    assert env["HOME"] == bubblewrap.HOME and env["PATH"].startswith(str(Path(sys.executable).parent) + ":")


def test_the_submission_is_read_only_and_only_the_ipc_folder_writable(args, tmp_path):
    assert (str(tmp_path / "files"), bubblewrap.SUBMISSION) in options(args, "--ro-bind")
    assert options(args, "--bind") == [(str(tmp_path / "ipc"), str(tmp_path / "ipc"))]
    # The home folder and /tmp are the sandbox's own, of the disk cap's size.
    sizes, tmpfs = options(args, "--size"), options(args, "--tmpfs")
    assert tmpfs == [("/tmp",), (bubblewrap.HOME,)] and sizes == [(str(3 * 2**20),)] * 2
    assert options(args, "--chdir") == [(bubblewrap.HOME,)]
    read_only = {target for _, target in options(args, "--ro-bind")}
    prefix = os.path.realpath(sys.prefix)  # the course's environment, inside a bound folder or bound itself
    assert "/usr" in read_only and any(prefix == p or prefix.startswith(p + "/") for p in read_only)


def test_the_kernel_starts_through_the_launcher_on_its_cores(args):
    launch = args[args.index("--") + 1:]
    assert launch[:5] == [sys.executable, "-m", "course_grading.launch", bubblewrap.SUBMISSION, bubblewrap.HOME]
    assert launch[5] == "0"  # the cores it may use
    assert launch[-2:] == KERNEL[-2:]  # the connection file, as the kernel manager wrote it


def test_staging_copies_the_files_but_not_notebooks_links_or_checkpoints(tmp_path):
    folder, to = tmp_path / "submission", tmp_path / "staged"
    (folder / "data" / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / "data" / "weights.npy").write_bytes(b"\x93NUMPY")
    (folder / "notes.txt").write_text("mine")
    (folder / "ex.ipynb").write_text("{}")
    (folder / "data" / ".ipynb_checkpoints" / "ex-checkpoint.ipynb").write_text("{}")
    (folder / "solution.ipynb").symlink_to("/etc/passwd")
    (folder / "passwd").symlink_to("/etc/passwd")
    to.mkdir()
    bubblewrap.stage(folder, to)
    staged = sorted(str(p.relative_to(to)) for p in to.rglob("*") if p.is_file())
    assert staged == ["data/weights.npy", "notes.txt"]
    assert not any(p.is_symlink() for p in to.rglob("*"))
