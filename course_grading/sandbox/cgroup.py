"""One cgroup per grading kernel: its memory cap (swap included), process cap, CPU share and
kill switch, and the counters that say which cap it hit. cgroup v2 where the memory and pids
controllers are there, else v1's (hybrid hosts)."""

import errno
import os
import signal
import tempfile
import time
from pathlib import Path

PREFIX = "course-grading-"  # then the grader's process id: what a killed grader left is found


def usable_cores():
    """The cores this process may run on: its affinity where the system keeps one (Linux),
    else every core (macOS, where instructors edit and release assignments)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


PERIOD = 100_000  # microseconds: the CPU quota's period


class Cgroup:
    """A cgroup for one kernel: memory cap (swap included), process cap, CPU share, kill
    switch, counters.

    cgroup v2 where the memory and pids controllers are there, else v1's (hybrid hosts). The
    CPU share, where the host offers the controllers: at most ``len(cpus)`` cores' worth of
    time (``cpu.max``; v1's CFS quota), on those cores only (``cpuset``): a process can widen
    its own affinity, not its cgroup's.
    """

    def __init__(self, name, memory, processes, cpus=()):
        self.dirs = {}
        for controller, base in cgroup_bases().items():
            path = base / name
            path.mkdir()
            self.dirs[controller] = path
        self.v2 = "unified" in self.dirs
        cores = ",".join(map(str, cpus))
        quota = f"{len(cpus) * PERIOD}" if cpus else None
        if self.v2:
            path = self.dirs["unified"]
            (path / "memory.max").write_text(str(memory))
            (path / "memory.swap.max").write_text("0")
            (path / "pids.max").write_text(str(processes))
            if quota and (path / "cpu.max").exists():
                (path / "cpu.max").write_text(f"{quota} {PERIOD}")
            if cores and (path / "cpuset.cpus").exists():
                (path / "cpuset.cpus").write_text(cores)
        else:
            (self.dirs["memory"] / "memory.limit_in_bytes").write_text(str(memory))
            swap = self.dirs["memory"] / "memory.memsw.limit_in_bytes"
            if swap.exists():  # absent when the kernel does not account swap: then none is used
                swap.write_text(str(memory))
            (self.dirs["pids"] / "pids.max").write_text(str(processes))
            if quota and "cpu" in self.dirs:
                (self.dirs["cpu"] / "cpu.cfs_period_us").write_text(str(PERIOD))
                (self.dirs["cpu"] / "cpu.cfs_quota_us").write_text(quota)
            if "cpuset" in self.dirs:  # a v1 cpuset takes no process before it has cores and memory nodes
                parent = self.dirs["cpuset"].parent
                (self.dirs["cpuset"] / "cpuset.cpus").write_text(cores or (parent / "cpuset.cpus").read_text().strip())
                (self.dirs["cpuset"] / "cpuset.mems").write_text((parent / "cpuset.mems").read_text().strip())

    def cpu_throttled(self):
        """Microseconds the CPU quota held this cgroup back (0 without a CPU controller)."""
        if self.v2:
            return self.counter("unified", "cpu.stat", "throttled_usec")
        return self.counter("cpu", "cpu.stat", "throttled_time") // 1000 if "cpu" in self.dirs else 0

    @staticmethod
    def unavailable():
        try:
            bases = cgroup_bases()
        except OSError as error:
            return str(error)
        for base in bases.values():
            try:
                probe = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-probe-", dir=base))
                probe.rmdir()
            except OSError as error:
                return f"cannot create a cgroup under {base} ({error.strerror})"
        return None

    def procs_files(self):
        return [path / "cgroup.procs" for path in self.dirs.values()]

    def pids(self):
        found = set()
        for path in self.procs_files():
            try:
                found |= {int(line) for line in path.read_text().split()}
            except OSError:
                pass
        return found

    def counter(self, controller, file, key):
        path = self.dirs["unified" if self.v2 else controller] / file
        try:
            for line in path.read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
        except OSError:
            pass
        return 0

    def oom_kills(self):
        return self.counter("memory", "memory.events" if self.v2 else "memory.oom_control", "oom_kill")

    def refused_forks(self):
        return self.counter("pids", "pids.events", "max")

    def kill(self):
        """SIGKILL every process in it, until none is left (a fork bomb refills it)."""
        if self.v2 and (self.dirs["unified"] / "cgroup.kill").exists():
            (self.dirs["unified"] / "cgroup.kill").write_text("1")
        deadline = time.monotonic() + 10
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self):
        self.kill()
        for path in self.dirs.values():
            for _ in range(100):  # the killed processes leave the cgroup a moment after dying
                try:
                    path.rmdir()
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY:
                        raise
                    time.sleep(0.02)


def _own_cgroups():
    """{hierarchy: path} of this process, from /proc/self/cgroup."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else ["unified"]:
            own[controller] = path
    return own


def cgroup_bases():
    """Where this process may create kernel cgroups: {controller or "unified": folder}."""
    root = Path("/sys/fs/cgroup")
    own = _own_cgroups()
    unified = root if (root / "cgroup.controllers").exists() else root / "unified"
    if (unified / "cgroup.controllers").exists():
        available = (unified / "cgroup.controllers").read_text().split()
        if {"memory", "pids"} <= set(available):
            return {"unified": _delegated_v2(unified / own["unified"].lstrip("/"))}
    bases = {}
    for controller in ("memory", "pids", "cpu", "cpuset"):
        folder = root / controller
        if not (folder / "cgroup.procs").exists():
            if controller in ("cpu", "cpuset"):  # optional: without them, no CPU share
                continue
            raise OSError(f"neither cgroup v2 nor v1 offers the {controller} controller here")
        base = folder / own.get(controller, "/").lstrip("/")
        if os.access(base, os.W_OK) or controller in ("memory", "pids"):
            bases[controller] = base
    return bases


def _delegated_v2(own):
    """A v2 folder with memory and pids enabled for its children. A cgroup that holds
    processes cannot give its children controllers, so this process first moves into a
    leaf of its own (``grader``), as container runtimes do."""
    wanted = {"memory", "pids"} | ({"cpu", "cpuset"} & set((own / "cgroup.controllers").read_text().split()))
    enabled = (own / "cgroup.subtree_control").read_text().split()
    if wanted <= set(enabled):
        return own
    if (own / "cgroup.procs").read_text().split():
        leaf = own / "grader"
        leaf.mkdir(exist_ok=True)
        (leaf / "cgroup.procs").write_text(str(os.getpid()))
    (own / "cgroup.subtree_control").write_text(" ".join(f"+{name}" for name in sorted(wanted)))
    return own

