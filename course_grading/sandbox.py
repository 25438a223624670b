"""Every grading kernel in a sandbox: namespaces (bubblewrap), caps (a cgroup), another user.

nbgrader runs each submission's notebook in a kernel it starts as the instructor, in the
course's folder, so the student's code could read ``solutions/``, classmates' submissions
and the gradebook, or take the machine's memory. :class:`SandboxedKernelManager` starts
that kernel with `bubblewrap <https://github.com/containers/bubblewrap>`_ so that it sees

- ``/home/student``, its working folder and home: a tmpfs of :attr:`Sandbox.disk` bytes
  holding a copy of the submission's files, but not its notebooks (the one being graded
  holds the hidden tests once nbgrader has restored them: the kernel gets the cells over
  the kernel protocol, never the file), and a private ``/tmp`` of the same size;
- read-only: the system's programs and libraries, the course's Python environment and
  packages, and the datasets (the system's data folders, ``COURSE_DATA_DIR``, Keras's
  cache, the stand-in cache);
- nothing else: no ``solutions/``, no ``course/`` (gradebook, other submissions), no
  home folder, no network (a network namespace of its own: 127.0.0.1 is its own, empty);

runs as an unprivileged user (:attr:`Sandbox.user`, ``nobody`` when grading as root), under a
seccomp filter of the system calls a kernel never needs (no new namespaces, no mounts, no
tracing; :mod:`course_grading.seccomp`), and in a cgroup of its own that caps its memory (swap included), its processes and its CPU; the time
per notebook is capped by :class:`course_grading.preprocessors.GradingExecute`. The
kernel talks to the grader over ZeroMQ's ``ipc`` transport: Unix sockets in a folder of
their own under ``/dev/shm``, bound into the sandbox, and the grader's alone once the kernel
is up (:meth:`SandboxedKernelManager.seal`). What the kernel writes to its standard output and
error comes over a pipe (:class:`KernelLog`). With ``cpus`` set (``--jobs``), the cgroup keeps
the kernel on those cores and to their time, whatever affinity its processes ask for.

:meth:`SandboxedKernelManager.breaches` says afterwards which caps the kernel hit: out of
memory (the cgroup's OOM killer fired), too many processes (a fork was refused), disk full.

Written by hand: bubblewrap is a command-line tool without a Python API, and
jupyter_client launches kernels only as plain subprocesses; container runtimes need a
daemon this course cannot assume. Where no sandbox can be made, :meth:`Sandbox.check`
raises :class:`SandboxUnavailable` saying why and what to install, unless the
instructor set :attr:`Sandbox.unconfined`.

Example, in ``nbgrader_config.py``::

    c.Sandbox.memory = 2 * 2**30     # 2 GiB per submission
    c.Sandbox.processes = 256
"""

import errno
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Instance, Integer, List, Unicode, default
from traitlets.config import LoggingConfigurable

from course_grading import seccomp

HOME = "/home/student"
# The system's top folders besides /usr: bound read-only, or linked into /usr (merged /usr).
SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SUBMISSION = "/run/submission"
# Variables a kernel may inherit from the grader: the course's switches and locale.
# Anything else (tokens, the instructor's paths) stays outside.
PASSED_ENV = ("COURSE_FAST", "NBGRADER_EXECUTION", "TF_CPP_MIN_LOG_LEVEL",
              "PYTHONHASHSEED", "LANG", "LC_ALL", "TZ")


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made here; the message says why and how to get one."""


def _size(n):
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


class Sandbox(LoggingConfigurable):
    """The caps and the identity of one grading kernel, set in ``nbgrader_config.py``."""

    memory = Integer(4 * 2**30, help="memory cap of one kernel and its processes, in bytes (no swap)").tag(config=True)
    processes = Integer(512, help="cap on processes and threads (TensorFlow starts a pool per core)").tag(config=True)
    disk = Integer(2**30, help="size of the writable home folder, and of /tmp, in bytes").tag(config=True)
    user = Unicode(help="the unprivileged user the kernel runs as when grading as root").tag(config=True)
    cpus = List(Integer(), help="the cores this kernel may use (all when empty); its thread pools are sized "
                                "to them").tag(config=True)
    unconfined = Bool(False, help="grade without a sandbox: the submission's code runs as the grader, with "
                                  "the grader's access (only when no sandbox can be made)").tag(config=True)

    @default("user")
    def _default_user(self):
        return "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    def validate(self):
        for name, low in (("memory", 64 * 2**20), ("processes", 16), ("disk", 2**20)):
            if getattr(self, name) < low:
                raise ValueError(f"Sandbox.{name}={getattr(self, name)!r}: below the least a kernel needs ({low}).")
        try:
            pwd.getpwnam(self.user)
        except KeyError:
            raise ValueError(f"Sandbox.user={self.user!r}: no such user on this machine.") from None
        if os.geteuid() != 0 and pwd.getpwnam(self.user).pw_uid != os.geteuid():
            raise ValueError(f"Sandbox.user={self.user!r}: only root can run kernels as another user.")
        known = os.sched_getaffinity(0)
        if not set(self.cpus) <= known:
            raise ValueError(f"Sandbox.cpus={self.cpus!r}: this process may only use cores {sorted(known)}.")

    def check(self):
        """Raise :class:`SandboxUnavailable` unless a sandbox can be made (or unconfined is
        set), and ``ValueError`` naming the setting that is wrong."""
        if self.unconfined:
            return
        reason = _unavailable()
        if reason:
            raise SandboxUnavailable(reason)
        self.validate()

    def describe(self):
        if self.unconfined:
            return "UNCONFINED: submissions ran as the grader, with the grader's access to every file"
        return (f"sandboxed (bubblewrap, user {self.user}, no network): memory {_size(self.memory)}, "
                f"{self.processes} processes, disk {_size(self.disk)}")


def _namespaces():
    """bubblewrap's namespace options. As root, no user namespace: the kernel drops to a
    real unprivileged user (:mod:`course_grading.launch`) and keeps only the capabilities
    that takes until then. Otherwise a user namespace, as the grader's own user."""
    unshare = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
               "--die-with-parent", "--new-session"]
    if os.geteuid() == 0:
        return unshare + ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_CHOWN"]
    return unshare + ["--unshare-user"]


@lru_cache
def _unavailable():
    """Why no sandbox can be made here, or None. Tried once per process."""
    how = ("Install bubblewrap (Debian/Ubuntu: apt install bubblewrap; Fedora: dnf install bubblewrap), "
           "or pass --unconfined to grade without a sandbox.")
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux (namespaces and cgroups); this is {sys.platform}. Grade on Linux, " \
               "or pass --unconfined to grade without a sandbox."
    if shutil.which("bwrap") is None:
        return f"bubblewrap (bwrap) is not installed. {how}"
    try:
        with tempfile.TemporaryFile() as probe:
            seccomp.write_filter(probe.fileno())
    except (seccomp.SeccompUnavailable, OSError) as error:
        return f"no seccomp filter for the kernel: {error}. Install libseccomp2, or pass --unconfined."
    reason = Cgroup.unavailable()
    if reason:
        return f"no cgroup to cap a kernel's memory and processes: {reason}. Grade as root (or in a systemd " \
               "scope with Delegate=yes), or pass --unconfined to grade without a sandbox."
    done = subprocess.run(["bwrap", *_namespaces(), "--ro-bind", "/", "/", "true"], capture_output=True, text=True)
    if done.returncode != 0:
        return (f"bubblewrap cannot make a sandbox: {done.stderr.strip()}. User namespaces may be "
                "off: sysctl kernel.unprivileged_userns_clone=1 (Debian), or "
                "kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04); or pass --unconfined.")
    return None


# --------------------------------------------------------------------------- cgroups

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
        for controller, base in _cgroup_bases().items():
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
            bases = _cgroup_bases()
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

    def peak_memory(self):
        path = self.dirs["unified"] / "memory.peak" if self.v2 else self.dirs["memory"] / "memory.max_usage_in_bytes"
        try:
            return int(path.read_text())
        except (OSError, ValueError):
            return None

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


def _cgroup_bases():
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


# --------------------------------------------------------------------------- the kernel's log

class KernelLog:
    """What a kernel writes to its own standard output and error (TensorFlow's C++ log
    lines, a failure to start, the guard's reports), read over a pipe as it comes.

    The grader keeps the pipe's read end: nothing in a folder the sandbox can write is opened
    by name (a student's code could swap a log file for a named pipe or a link to
    ``/dev/zero``). What it keeps is bounded whatever the kernel writes: the last
    :attr:`TAIL` bytes, and the first :attr:`REPORTS` lines of :mod:`course_grading.guard`.
    """

    TAIL = 3000
    REPORTS = 50

    def __init__(self):
        from course_grading.guard import PREFIX

        self._prefix = PREFIX.encode()
        self._read, self.write_end = os.pipe()
        self.tail = b""
        self.reports = []
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self):
        pending = b""
        while chunk := os.read(self._read, 65536):
            self.tail = (self.tail + chunk)[-self.TAIL:]
            pending = (pending + chunk)[-4 * self.TAIL:]
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.startswith(self._prefix) and len(self.reports) < self.REPORTS:
                    self.reports.append(line[len(self._prefix):][:200].decode(errors="replace"))
        os.close(self._read)

    def launched(self):
        """The kernel has the write end: close the grader's copy, so the pipe ends with it."""
        os.close(self.write_end)

    def close(self, timeout=10):
        """Wait for the kernel's last words (its processes are gone); returns the tail as text."""
        self._thread.join(timeout)
        return self.tail.decode(errors="replace")


# --------------------------------------------------------------------------- the kernel manager

class SandboxedKernelManager(AsyncKernelManager):
    """jupyter_client's kernel manager, launching the kernel in a :class:`Sandbox`.

    nbgrader's ``Execute`` passes the notebook's folder as ``cwd``; the sandbox gets a
    copy of that folder without its notebooks. Interrupts go over the control channel
    (``interrupt_mode = "message"``): a signal would reach bubblewrap, not the kernel.
    """

    sandbox = Instance(Sandbox)

    @default("sandbox")
    def _default_sandbox(self):
        return Sandbox(parent=self)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.cgroup = None
        self._folders = []
        self._report = []
        self.guard_reports = []
        self._log = None

    async def _async_pre_start_kernel(self, **kw):
        self.sandbox.check()
        if not self.sandbox.unconfined:
            _sweep()
            ipc = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-ipc-", dir=_SHM))
            self._folders.append(ipc)
            self.transport, self.ip = "ipc", str(ipc / "kernel")
            self.connection_file = str(ipc / "kernel.json")
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        self.kernel_spec.interrupt_mode = "message"
        return cmd, kw

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.sandbox.unconfined:
            kw["env"] = {**kw.get("env", os.environ), **self._thread_env()}
            self._log = KernelLog()
            kw.update(stdout=self._log.write_end, stderr=self._log.write_end)
            try:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                self._log.launched()
        ipc = Path(self.connection_file).parent
        files = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-files-"))
        self._folders.append(files)
        _stage(Path(kw.pop("cwd", None) or "."), files)
        user = pwd.getpwnam(self.sandbox.user)
        os.chown(ipc, user.pw_uid, user.pw_gid)  # the kernel makes its sockets there
        os.chmod(self.connection_file, 0o644)
        self.cgroup = Cgroup(ipc.name, self.sandbox.memory, self.sandbox.processes, self.sandbox.cpus)
        command = self._bwrap(kernel_cmd, ipc, files, kw.get("env", {}), user)
        rules = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-seccomp-")) / "filter.bpf"
        self._folders.append(rules.parent)
        with open(rules, "wb") as out:
            seccomp.write_filter(out.fileno())
        # The shell opens the seccomp filter for bubblewrap (--seccomp 9) and moves itself
        # into the cgroup before becoming bubblewrap, so that nothing the kernel starts is
        # ever outside it; umask 022, whatever the grader's, so that what bubblewrap makes
        # stays readable by the sandbox's user.
        join = ('umask 022; exec 9< "$1"; shift; '
                'for f; do [ "$f" = -- ] && break; echo $$ > "$f"; shift; done; shift; exec "$@"')
        cmd = ["/bin/sh", "-c", join, "sh", str(rules), *map(str, self.cgroup.procs_files()), "--", *command]
        # What the kernel writes to its file descriptors goes to a log of its own, not the
        # grader's terminal.
        self._log = KernelLog()
        kw.update(env={"PATH": "/usr/bin:/bin"}, cwd="/", stdout=self._log.write_end, stderr=self._log.write_end)
        try:
            await super()._async_launch_kernel(cmd, **kw)
        finally:
            self._log.launched()

    def _thread_env(self):
        if not self.sandbox.cpus:
            return {}
        n = str(len(self.sandbox.cpus))
        return {"TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": "1" if n == "1" else "2",
                "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n}

    def _bwrap(self, kernel_cmd, ipc, files, env, user):
        args = ["bwrap", *_namespaces(), "--seccomp", "9", "--clearenv", "--hostname", "sandbox"]
        for name in SYSTEM_DIRS:
            if os.path.islink(name):  # merged /usr: the link, not a second copy
                args += ["--symlink", os.readlink(name), name]
        # The writable places first: a course under /tmp or /home is bound on top of them.
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--size", str(self.sandbox.disk), "--tmpfs", "/tmp",
                 "--perms", "0755", "--dir", "/home",
                 "--size", str(self.sandbox.disk), "--tmpfs", HOME]
        paths = _read_only_paths()
        # The folders above each bind, readable by all (bubblewrap would make them 0700).
        parents = {str(a) for p in [*paths, SUBMISSION, str(ipc)] for a in Path(p).parents}
        for parent in sorted(parents - {"/", "/tmp", "/dev", "/home", HOME}):
            args += ["--perms", "0755", "--dir", parent]
        for path in paths:
            args += ["--ro-bind", path, path]
        args += ["--ro-bind", str(files), SUBMISSION,
                 "--bind", str(ipc), str(ipc),
                 "--chdir", HOME]
        variables = {name: env[name] for name in PASSED_ENV if name in env}
        # JPY_PARENT_PID=1: the kernel's parent is the sandbox's init, which it need not
        # watch, and it prints no "how to connect" banner. COURSE_OFFLINE=1: no network,
        # so no download attempt (:func:`prepare_data` fetched what there is to fetch).
        variables.update(self._thread_env(), HOME=HOME, USER="student", TMPDIR="/tmp", MPLBACKEND="Agg",
                         JPY_PARENT_PID="1", COURSE_OFFLINE="1",
                         PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                         **_data_env())
        for name, value in variables.items():
            args += ["--setenv", name, value]
        cpus = ",".join(map(str, self.sandbox.cpus))
        drop = f"{user.pw_uid}:{user.pw_gid}" if os.geteuid() == 0 else ""
        launch = [kernel_cmd[0], "-m", "course_grading.launch", SUBMISSION, HOME, cpus, drop]
        # kernel_cmd is "<python> -m ipykernel_launcher -f <connection file> ...".
        return [*args, "--", *launch, *kernel_cmd[3:]]

    def seal(self):
        """The kernel is up and its sockets are made: from now on its ``ipc`` folder (in the
        host's ``/dev/shm``, bound into the sandbox) is the grader's, read-only to the kernel's
        user, so that nothing can be written there past the sandbox's disk cap. As root only:
        otherwise the kernel runs as the grader's own user, and what it writes there is
        charged to its memory cap (``/dev/shm`` is memory)."""
        if self.cgroup is not None and os.geteuid() == 0:
            ipc = Path(self.connection_file).parent
            os.chown(ipc, 0, 0)
            os.chmod(ipc, 0o755)

    def breaches(self):
        """The caps this kernel hit so far: ``["out of memory", ...]``."""
        found = list(self._report)
        if self.cgroup is not None:
            if self.cgroup.oom_kills():
                found.append("out of memory")
            if self.cgroup.refused_forks():
                found.append("too many processes")
            if self._disk_full():
                found.append("disk full")
        return sorted(set(found))

    def _disk_full(self):
        """Whether the home folder or /tmp is (nearly) full, seen through a process that
        is still inside the sandbox."""
        mine = os.stat("/proc/self/ns/mnt").st_ino
        for pid in self.cgroup.pids():
            try:
                if os.stat(f"/proc/{pid}/ns/mnt").st_ino == mine:
                    continue
                for folder in (HOME, "/tmp"):
                    stats = os.statvfs(f"/proc/{pid}/root{folder}")
                    if stats.f_bavail * stats.f_frsize < max(2**20, self.sandbox.disk // 100):
                        return True
                return False
            except OSError:
                continue
        return False

    async def _async_shutdown_kernel(self, now=False, restart=False):
        if self.cgroup is not None and self._disk_full():  # seen from inside: before it stops
            self._report.append("disk full")
        await super()._async_shutdown_kernel(now=now, restart=restart)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if self.cgroup is not None:
            self._report = self.breaches()  # the counters go with the cgroup
            self.cgroup.remove()  # every process of the kernel gone: its log's pipe ends
            self.cgroup = None
        if self._log is not None:
            text = self._log.close()
            self.guard_reports = list(self._log.reports)
            self._log = None
            if "Traceback" in text or "bwrap:" in text:  # the kernel failed: say how, in nbgrader's log
                self.log.warning("the sandboxed kernel wrote:\n%s", text)
        for folder in self._folders:
            shutil.rmtree(folder, ignore_errors=True)
        self._folders = []

    # AsyncKernelManager binds its public coroutines to KernelManager's: rebind to these.
    cleanup_resources = _async_cleanup_resources
    shutdown_kernel = _async_shutdown_kernel


PREFIX = "course-grading-"  # then the grader's process id: what a killed grader left is found
_SHM = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def _sweep():
    """Remove the folders and empty cgroups that graders killed before their clean-up left."""
    places = {Path(_SHM or tempfile.gettempdir()), Path(tempfile.gettempdir())}
    try:
        places |= set(_cgroup_bases().values())
    except OSError:
        pass
    for place in places:
        for path in place.glob(f"{PREFIX}*-*"):
            pid = path.name[len(PREFIX):].split("-")[0]
            if not pid.isdigit() or os.path.exists(f"/proc/{pid}"):
                continue
            if (path / "cgroup.procs").exists():
                try:
                    path.rmdir()  # refused while a process is still inside: left for later
                except OSError:
                    pass
            else:
                shutil.rmtree(path, ignore_errors=True)


def _stage(folder, to):
    """Copy the submission's files (not its notebooks, not links, not special files) to ``to``."""
    for path in sorted(folder.rglob("*")):
        target = to / path.relative_to(folder)
        if path.is_symlink() or path.suffix == ".ipynb" or ".ipynb_checkpoints" in path.parts:
            continue
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def _read_only_paths():
    """Everything the kernel reads: system, Python, the course's packages, datasets."""
    import course_grading
    import course_utils
    from course_utils import datasets

    paths = ["/usr", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
             "/etc/fonts", "/etc/ssl", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/mime.types"]
    paths += [sys.prefix, sys.base_prefix, os.path.realpath(sys.executable),
              os.path.dirname(course_utils.__file__), os.path.dirname(course_grading.__file__)]
    paths += [str(p) for p in _data_dirs(datasets)]
    for name in SYSTEM_DIRS:
        if os.path.isdir(name) and not os.path.islink(name):
            paths.append(name)
    bound = []
    for path in sorted({os.path.realpath(p) for p in paths if os.path.exists(p)}):
        if not any(path.startswith(outer + "/") for outer in bound):  # inside one already bound
            bound.append(path)
    return bound


def prepare_data():
    """Every dataset ready for kernels without network and with read-only caches: the real
    data downloaded where the grader is online, else the stand-in cached (once per machine;
    generating CIFAR-10's in every sandbox would cost each submission seconds)."""
    from course_utils import datasets

    for name in datasets.NAMES:
        datasets.ready_offline(name)


def _data_dirs(datasets):
    yield from datasets.system_data_dirs()
    if os.environ.get("COURSE_DATA_DIR"):
        yield Path(os.environ["COURSE_DATA_DIR"])
    yield datasets.keras_cache_dir()
    yield datasets.standin_cache_dir()


def _data_env():
    """The data folders' variables, for the kernel to find them where they are bound."""
    from course_utils import datasets

    env = {"KERAS_HOME": str(datasets.keras_cache_dir().parent),
           "COURSE_CACHE_DIR": str(datasets.standin_cache_dir())}
    for name in ("COURSE_DATA_DIR", "XDG_DATA_DIRS"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return {name: os.path.realpath(value) if name != "XDG_DATA_DIRS" else value for name, value in env.items()}
