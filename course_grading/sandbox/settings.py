"""The sandbox's settings (:class:`Sandbox`, in ``nbgrader_config.py``), and whether a sandbox
can be made on this machine at all."""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache

from traitlets import Bool, Integer, List, Unicode, default
from traitlets.config import LoggingConfigurable

from course_grading import seccomp
from course_grading.sandbox.bubblewrap import namespaces
from course_grading.sandbox.cgroup import Cgroup, usable_cores


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
    fast = Bool(True, help="fast mode in the kernel (COURSE_FAST=1): the notebooks' ungraded training "
                           "shrunk; whatever the grader's own environment says").tag(config=True)
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
        known = usable_cores()
        if not set(self.cpus) <= set(known):
            raise ValueError(f"Sandbox.cpus={self.cpus!r}: this process may only use cores {known}.")

    def thread_env(self):
        """The variables that size the kernel's thread pools (TensorFlow's, OpenMP's, the BLAS
        libraries') to its cores, when it has a share of them."""
        if not self.cpus:
            return {}
        n = str(len(self.cpus))
        return {"TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": "1" if n == "1" else "2",
                "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n}

    def switches(self):
        """The course's switches as the kernel gets them."""
        return {"COURSE_FAST": "1" if self.fast else "0"}

    def check(self):
        """Raise :class:`SandboxUnavailable` unless a sandbox can be made (or unconfined is
        set), and ``ValueError`` naming the setting that is wrong."""
        if self.unconfined:
            return
        reason = unavailable()
        if reason:
            raise SandboxUnavailable(reason)
        self.validate()

    def describe(self):
        if self.unconfined:
            return "UNCONFINED: submissions ran as the grader, with the grader's access to every file"
        return (f"sandboxed (bubblewrap, user {self.user}, no network): memory {_size(self.memory)}, "
                f"{self.processes} processes, disk {_size(self.disk)}")


@lru_cache
def unavailable():
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
    done = subprocess.run(["bwrap", *namespaces(), "--ro-bind", "/", "/", "true"], capture_output=True, text=True)
    if done.returncode != 0:
        return (f"bubblewrap cannot make a sandbox: {done.stderr.strip()}. User namespaces may be "
                "off: sysctl kernel.unprivileged_userns_clone=1 (Debian), or "
                "kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04); or pass --unconfined.")
    return None

