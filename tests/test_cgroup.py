"""The kernel's cgroup, one test per cap, on plain processes (no kernel, no bubblewrap): the
cap holds, and the counter that the score table reads says it was hit."""

import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from course_grading.sandbox.cgroup import PREFIX, Cgroup, usable_cores
from helpers import required

pytestmark = [pytest.mark.root, pytest.mark.sandbox]


@pytest.fixture
def cgroup():
    """Cgroup(...) with a name of its own, removed after the test."""
    reason = Cgroup.unavailable()
    if reason:
        required(f"no cgroup can be made here: {reason}")
    made = []

    def make(**caps):
        made.append(Cgroup(f"{PREFIX}{os.getpid()}-test-{uuid.uuid4().hex[:8]}", **caps))
        return made[-1]

    yield make
    for group in made:
        if any(path.exists() for path in group.dirs.values()):
            group.remove()


def run_in(group, code, timeout=60):
    """Run ``code`` in a Python process that joins ``group`` before it starts."""
    def join():
        for procs in group.procs_files():
            procs.write_text(str(os.getpid()))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], preexec_fn=join, capture_output=True,
                          text=True, timeout=timeout)


def test_memory_past_the_cap_kills_the_process_and_is_counted(cgroup):
    group = cgroup(memory=64 * 2**20, processes=64)
    done = run_in(group, "hog = bytearray(512 * 2**20)\nprint('allocated')")
    assert done.returncode == -9 and "allocated" not in done.stdout
    assert group.oom_kills() >= 1


def test_processes_past_the_cap_are_refused_and_counted(cgroup):
    group = cgroup(memory=2**30, processes=20)
    done = run_in(group, """
        import os, time
        refused = 0
        children = []
        for _ in range(40):
            try:
                pid = os.fork()
            except OSError:
                refused += 1
                continue
            if pid == 0:
                time.sleep(2)
                os._exit(0)
            children.append(pid)
        print(len(children), refused)
        for pid in children:
            os.waitpid(pid, 0)
    """)
    started, refused = map(int, done.stdout.split())
    assert started < 20 and refused > 20
    assert group.refused_forks() >= 1


def test_a_process_cannot_widen_its_cores_past_its_cgroups(cgroup):
    group = cgroup(memory=2**30, processes=64, cpus=[usable_cores()[0]])
    if "cpuset" not in group.dirs and not (group.v2 and (group.dirs["unified"] / "cpuset.cpus").exists()):
        required("no cpuset controller to hold a kernel to its cores")
    done = run_in(group, """
        import os
        try:
            os.sched_setaffinity(0, range(os.cpu_count()))
        except OSError:
            pass
        print(sorted(os.sched_getaffinity(0)))
    """)
    assert done.stdout.strip() == str([usable_cores()[0]])


def test_the_cpu_quota_is_one_period_per_core(cgroup):
    """Where a host has no cpuset controller, the quota alone holds a kernel to its share:
    one core's worth of time in each 0.1 s period per core. (Measuring the share would
    depend on what else the machine runs; the cpuset test above measures the other half.)"""
    cores = usable_cores()[:2]
    quota = {1: "100000", 2: "200000"}[len(cores)]
    group = cgroup(memory=2**30, processes=64, cpus=cores)
    if group.v2 and (group.dirs["unified"] / "cpu.max").exists():
        assert (group.dirs["unified"] / "cpu.max").read_text().split() == [quota, "100000"]
    elif "cpu" in group.dirs:
        written = [(group.dirs["cpu"] / name).read_text().strip() for name in ("cpu.cfs_quota_us", "cpu.cfs_period_us")]
        assert written == [quota, "100000"]
    else:
        required("no cpu controller to cap a kernel's share of the cores")


def test_kill_leaves_no_process_and_remove_no_folder(cgroup):
    group = cgroup(memory=2**30, processes=64)
    sleeper = subprocess.Popen([sys.executable, "-c", "import os, time\nfor _ in range(5):\n    os.fork()\ntime.sleep(60)"],
                               preexec_fn=lambda: [p.write_text(str(os.getpid())) for p in group.procs_files()])
    deadline = time.monotonic() + 10
    while len(group.pids()) < 32 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(group.pids()) == 32
    group.remove()
    assert sleeper.wait(timeout=10) == -9
    assert not group.pids() and not any(path.exists() for path in group.dirs.values())
