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

from course_grading.sandbox.bubblewrap import HOME, SUBMISSION, prepare_data, read_only_paths
from course_grading.sandbox.cgroup import Cgroup, usable_cores
from course_grading.sandbox.kernel import KernelLog, SandboxedKernelManager
from course_grading.sandbox.settings import Sandbox, SandboxUnavailable, unavailable

__all__ = ["HOME", "SUBMISSION", "Cgroup", "KernelLog", "Sandbox", "SandboxUnavailable", "SandboxedKernelManager",
           "prepare_data", "read_only_paths", "unavailable", "usable_cores"]
