"""The grading kernel's manager: jupyter_client's, launching the kernel in bubblewrap inside
its cgroup, with its log over a pipe, and saying afterwards which caps it hit."""

import os
import pwd
import shutil
import tempfile
import threading
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Instance, default

from course_grading import seccomp
from course_grading.sandbox import bubblewrap
from course_grading.sandbox.bubblewrap import HOME, stage
from course_grading.sandbox.cgroup import PREFIX, Cgroup, cgroup_bases
from course_grading.sandbox.settings import Sandbox


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
            kw["env"] = {**kw.get("env", os.environ), **self.sandbox.thread_env(), **self.sandbox.switches()}
            self._log = KernelLog()
            kw.update(stdout=self._log.write_end, stderr=self._log.write_end)
            try:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                self._log.launched()
        ipc = Path(self.connection_file).parent
        files = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-files-"))
        self._folders.append(files)
        stage(Path(kw.pop("cwd", None) or "."), files)
        user = pwd.getpwnam(self.sandbox.user)
        os.chown(ipc, user.pw_uid, user.pw_gid)  # the kernel makes its sockets there
        os.chmod(self.connection_file, 0o644)
        self.cgroup = Cgroup(ipc.name, self.sandbox.memory, self.sandbox.processes, self.sandbox.cpus)
        command = bubblewrap.command(self.sandbox, kernel_cmd, ipc, files, kw.get("env", {}), user)
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


_SHM = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def _sweep():
    """Remove the folders and empty cgroups that graders killed before their clean-up left."""
    places = {Path(_SHM or tempfile.gettempdir()), Path(tempfile.gettempdir())}
    try:
        places |= set(cgroup_bases().values())
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

