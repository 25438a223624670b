"""The system calls a grading kernel never needs, refused: a seccomp filter for bubblewrap.

A kernel imports NumPy and TensorFlow, trains, writes files and starts threads and processes;
it never makes namespaces (a new user namespace gives it root's capabilities over what it
then mounts), mounts, loads kernel modules, traces other processes, or reads the kernel's
keyrings, log or BPF. :func:`write_filter` writes a filter that refuses those calls
(``EPERM``) for bubblewrap's ``--seccomp FD``, as snekbox's nsjail configuration and
Docker's default profile do. ``clone3`` answers ``ENOSYS`` (its flags are out of a filter's
reach), so that the C library falls back to ``clone``, whose namespace flags are refused.

Built with libseccomp (Debian's ``libseccomp2``, which systemd needs: on every Debian and
Ubuntu), through ``ctypes``: it compiles the rules for this machine's architecture, which
bubblewrap expects ready-made. Written by hand because the Python bindings ship with the
distribution's ``python3-seccomp``, not on PyPI.
"""

import ctypes
import ctypes.util
import errno
from functools import lru_cache

#: Refused outright.
REFUSED = ("unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
           "fsconfig", "fsmount", "fspick", "mount_setattr", "keyctl", "add_key", "request_key", "bpf",
           "perf_event_open", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "kexec_load",
           "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff",
           "syslog", "userfaultfd", "open_by_handle_at", "name_to_handle_at", "iopl", "ioperm", "acct", "quotactl",
           "lookup_dcookie", "settimeofday", "clock_settime", "adjtimex", "sethostname", "setdomainname")
#: ``clone``'s flags that make namespaces, refused one by one.
NAMESPACE_FLAGS = {"CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
                   "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
                   "CLONE_NEWNET": 0x40000000}

_ALLOW = 0x7FFF0000
_MASKED_EQ = 7


def _errno(code):
    return 0x00050000 | (code & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


class SeccompUnavailable(RuntimeError):
    """libseccomp is not installed: no filter can be compiled."""


@lru_cache
def _library():
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        raise SeccompUnavailable("libseccomp is not installed (Debian/Ubuntu: apt install libseccomp2)") from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_ArgCmp)]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def write_filter(fd):
    """Write the compiled filter (BPF) to the open file descriptor ``fd``.

    Raises:
        SeccompUnavailable: without libseccomp.
        OSError: when libseccomp refuses a rule or the export.
    """
    lib = _library()
    ctx = lib.seccomp_init(_ALLOW)
    if not ctx:
        raise OSError("seccomp_init failed")
    try:
        def add(action, name, *comparisons):
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:  # not a call of this architecture (iopl on arm64): nothing to refuse
                return
            args = (_ArgCmp * max(1, len(comparisons)))(*comparisons)
            code = lib.seccomp_rule_add_array(ctx, action, number, len(comparisons), args)
            if code < 0:
                raise OSError(-code, f"seccomp rule for {name}: {errno.errorcode.get(-code, code)}")

        for name in REFUSED:
            add(_errno(errno.EPERM), name)
        for flag in NAMESPACE_FLAGS.values():
            add(_errno(errno.EPERM), "clone", _ArgCmp(0, _MASKED_EQ, flag, flag))
        add(_errno(errno.ENOSYS), "clone3")
        code = lib.seccomp_export_bpf(ctx, fd)
        if code < 0:
            raise OSError(-code, "seccomp_export_bpf failed")
    finally:
        lib.seccomp_release(ctx)
