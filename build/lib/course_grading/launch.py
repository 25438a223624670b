"""The first code that runs inside a grading sandbox (:mod:`course_grading.sandbox`).

``python -m course_grading.launch SUBMISSION HOME CPUS UID:GID <ipykernel arguments>``
copies the submission's files from the read-only ``SUBMISSION`` into the writable
``HOME`` (a tmpfs: the copy counts against the disk cap), hands ``HOME`` and ``/tmp`` to
``UID:GID`` and becomes that user for good (empty: stay who we are, already
unprivileged), keeps to the cores ``CPUS`` ("0,1"; empty: all), and starts the IPython
kernel as ``python -m ipykernel_launcher`` would. No student code runs before the drop.
"""

import os
import shutil
import sys
from pathlib import Path


def main(argv):
    submission, home, cpus, drop, *kernel_args = argv
    shutil.copytree(submission, home, dirs_exist_ok=True)
    if drop:
        uid, gid = map(int, drop.split(":"))
        os.chown("/tmp", uid, gid)  # not what is in it: a course under /tmp is bound there, read-only
        os.chown(home, uid, gid)
        for path in Path(home).rglob("*"):
            os.chown(path, uid, gid, follow_symlinks=False)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)  # from root: drops every capability as well
    os.chdir(home)
    if cpus:
        os.sched_setaffinity(0, {int(cpu) for cpu in cpus.split(",")})
    sys.argv = ["ipykernel_launcher", *kernel_args]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main(sys.argv[1:])
