"""What a grading kernel sees: bubblewrap's command line (its namespaces, the read-only
system, Python and datasets, its own home and /tmp, its variables), and the submission's files
staged for it."""

import os
import shutil
import sys
from pathlib import Path

from course_utils import datasets


HOME = "/home/student"
# The system's top folders besides /usr: bound read-only, or linked into /usr (merged /usr).
SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SUBMISSION = "/run/submission"
# Variables a kernel may inherit from the grader: nbgrader's and the locale's. COURSE_FAST
# is the sandbox's own setting (Sandbox.fast), whatever the grader's environment says.
# Anything else (tokens, the instructor's paths) stays outside.
PASSED_ENV = ("NBGRADER_EXECUTION", "TF_CPP_MIN_LOG_LEVEL",
              "PYTHONHASHSEED", "LANG", "LC_ALL", "TZ")


def namespaces():
    """bubblewrap's namespace options. As root, no user namespace: the kernel drops to a
    real unprivileged user (:mod:`course_grading.launch`) and keeps only the capabilities
    that takes until then. Otherwise a user namespace, as the grader's own user."""
    unshare = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
               "--die-with-parent", "--new-session"]
    if os.geteuid() == 0:
        return unshare + ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_CHOWN"]
    return unshare + ["--unshare-user"]


def command(sandbox, kernel_cmd, ipc, files, env, user):
    """bubblewrap's command line that starts ``kernel_cmd`` (``<python> -m ipykernel_launcher
    -f <connection file> ...``) in the sandbox of the settings ``sandbox``: the kernel's
    ``ipc`` folder bound writable, the submission's staged ``files`` read-only, the variables
    of ``env`` that :data:`PASSED_ENV` names and the sandbox's own, run as ``user`` (a
    ``pwd`` entry) when the grader is root."""
    args = ["bwrap", *namespaces(), "--seccomp", "9", "--clearenv", "--hostname", "sandbox"]
    for name in SYSTEM_DIRS:
        if os.path.islink(name):  # merged /usr: the link, not a second copy
            args += ["--symlink", os.readlink(name), name]
    # The writable places first: a course under /tmp or /home is bound on top of them.
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(sandbox.disk), "--tmpfs", "/tmp",
             "--perms", "0755", "--dir", "/home",
             "--size", str(sandbox.disk), "--tmpfs", HOME]
    paths = read_only_paths()
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
    variables.update(sandbox.thread_env(), **sandbox.switches(), HOME=HOME, USER="student", TMPDIR="/tmp",
                     MPLBACKEND="Agg", JPY_PARENT_PID="1", COURSE_OFFLINE="1",
                     PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                     **datasets.data_env())
    for name, value in variables.items():
        args += ["--setenv", name, value]
    cpus = ",".join(map(str, sandbox.cpus))
    drop = f"{user.pw_uid}:{user.pw_gid}" if os.geteuid() == 0 else ""
    launch = [kernel_cmd[0], "-m", "course_grading.launch", SUBMISSION, HOME, cpus, drop]
    return [*args, "--", *launch, *kernel_cmd[3:]]


def stage(folder, to):
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


def read_only_paths():
    """Everything the kernel reads: system, Python, the course's packages, datasets."""
    import course_grading
    import course_utils

    paths = ["/usr", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
             "/etc/fonts", "/etc/ssl", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/mime.types"]
    paths += [sys.prefix, sys.base_prefix, os.path.realpath(sys.executable),
              os.path.dirname(course_utils.__file__), os.path.dirname(course_grading.__file__)]
    paths += [str(p) for p in datasets.data_dirs()]
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
    for name in datasets.NAMES:
        datasets.ready_offline(name)

