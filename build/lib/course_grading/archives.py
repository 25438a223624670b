"""Submissions laid out as ``<student>/<file>``, from a folder, a zip file or a folder of zip
files, each entry checked before anything is written.

nbgrader's ``zip_collect`` unpacks every archive as the grader and takes the student from the
last folder of each path: a zip of Alice's holding ``bob/ex06.ipynb`` submits for Bob, one that
holds another student's notebook fails the whole batch ("Duplicate submission file"), a zip
entry's setuid mode is kept, and 3 MiB can unpack to 3 GiB. :func:`lay_out` therefore unpacks
the archives itself and hands ``zip_collect`` a plain folder. The rules:

- **Only regular files.** Links, named pipes, devices and sockets, in the folder or as zip
  entries, are refused and never followed or opened (read with ``lstat``); files are written
  afresh, mode 0644, whatever the entry's mode.
- **The right student.** A zip given as the source is the class's archive: each entry
  ``.../<student>/<file>`` is that student's. A zip inside a source folder is one student's:
  the folder it is in (``alice/work.zip``), or its own name at the top (``alice.zip``); its
  entries must be ``<file>`` or ``<student>/<file>`` of that student, else the archive is
  refused (a classmate's folder in it, an archive in it).
- **Bounded.** At most :data:`MAX_ENTRIES` entries and :data:`MAX_UNPACKED` bytes an archive,
  and no entry of more than 1 MiB that unpacks to more than :data:`MAX_RATIO` times its
  compressed size; what an entry's header claims is checked against what it unpacks to.
- **Plain student ids.** :data:`STUDENT_ID`: no glob characters (nbgrader expands a student
  named ``*`` to every student), no path separators, no control characters.

One bad archive or file is refused and reported; the others are laid out.

Written by hand: Python's ``zipfile`` and ``shutil.unpack_archive`` check none of this, and
nbgrader's extractor is what is being replaced.
"""

import os
import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")
MAX_ENTRIES = 10_000
MAX_UNPACKED = 256 * 2**20
MAX_RATIO = 200
_SPECIAL = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


class Refused(ValueError):
    """One archive or file not laid out, and why."""


def kind(mode):
    """What a file of this ``st_mode`` is, when it is not a regular file or a folder, else None."""
    return next((name for test, name in _SPECIAL if test(mode)), None)


def special_files(folder):
    """What under ``folder`` (itself included) is neither a regular file nor a folder:
    ``["alice/ex.ipynb is a symbolic link", ...]``, paths from ``folder``'s parent. Read with
    ``lstat``: nothing is followed or opened; a linked folder is reported, not entered."""
    found = []
    for path in [folder, *(sorted(folder.rglob("*")) if not folder.is_symlink() else [])]:
        special = kind(os.lstat(path).st_mode)
        if special:
            found.append(f"{path.relative_to(folder.parent)} is {special}")
    return found


def check_student(student):
    """Raise :class:`Refused` unless ``student`` is a plain student id."""
    if not STUDENT_ID.fullmatch(student):
        raise Refused(f"student id {student!r}: expected letters, digits and . _ @ + - only")


def lay_out(source, to):
    """Lay the submissions of ``source`` (a folder, a ``.zip``, or a folder holding zips) out
    in ``to`` as ``<student>/<file>``. Returns what was refused, one line each."""
    source, to = Path(source), Path(to)
    refused = []
    if source.is_file() and source.suffix.lower() == ".zip":
        try:
            _unpack(source, to, owner=None)
        except (Refused, zipfile.BadZipFile) as error:
            refused.append(f"{source.name}: {error}")
        return refused
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        special = kind(os.lstat(path).st_mode)
        if special:
            refused.append(f"{relative}: {special}")
            continue
        if not path.is_file():
            continue
        try:
            if path.suffix.lower() == ".zip":
                owner = relative.parts[0] if len(relative.parts) > 1 else path.stem
                check_student(owner)
                _unpack(path, to, owner=owner)
            elif len(relative.parts) > 1:
                student = relative.parts[-2]
                check_student(student)
                _write(to / student / path.name, path.open("rb"), os.lstat(path).st_size)
        except (Refused, zipfile.BadZipFile) as error:
            refused.append(f"{relative}: {error}")
    return refused


def _unpack(archive, to, owner):
    """Check every entry of ``archive``, then write them: the student's of ``owner``, or each
    entry's own (``.../<student>/<file>``) for the class's archive."""
    with zipfile.ZipFile(archive) as zf:
        entries = [info for info in zf.infolist() if not info.is_dir()]
        if len(entries) > MAX_ENTRIES:
            raise Refused(f"{len(entries):,} entries, more than {MAX_ENTRIES:,}")
        if sum(info.file_size for info in entries) > MAX_UNPACKED:
            raise Refused(f"unpacks to more than {MAX_UNPACKED // 2**20} MiB")
        planned = {}
        for info in entries:
            parts = PurePosixPath(info.filename.replace("\\", "/")).parts
            special = kind(info.external_attr >> 16)
            if special:
                raise Refused(f"entry {info.filename!r} is {special}")
            if not parts or parts[0] == "/" or ".." in parts or ":" in parts[0]:
                raise Refused(f"entry {info.filename!r} is outside the archive's folder")
            if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise Refused(f"entry {info.filename!r} unpacks {info.file_size // max(info.compress_size, 1):,} "
                              f"times its size")
            if parts[-1].lower().endswith(".zip"):
                raise Refused(f"entry {info.filename!r} is an archive in an archive")
            if owner is None:
                if len(parts) < 2:
                    raise Refused(f"entry {info.filename!r} is not in a student's folder")
                student = parts[-2]
            else:
                if len(parts) > 2 or (len(parts) == 2 and parts[0] not in (owner, Path(archive).stem)):
                    raise Refused(f"entry {info.filename!r} is not {owner}'s: expected <file> or {owner}/<file>")
                student = owner
            check_student(student)
            target = (student, parts[-1])
            if target in planned:
                raise Refused(f"entries {planned[target].filename!r} and {info.filename!r} are the same file "
                              f"of {student}")
            planned[target] = info
        for (student, name), info in planned.items():
            with zf.open(info) as entry:
                _write(to / student / name, entry, info.file_size)


def _write(target, stream, size):
    """Copy at most ``size`` bytes of ``stream`` to a new regular file ``target`` (mode 0644);
    refuse a stream longer than it said."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with stream, open(target, "wb") as out:
            shutil.copyfileobj(_Bounded(stream, size), out)
    except Refused:
        target.unlink()
        raise
    os.chmod(target, 0o644)


class _Bounded:
    """A stream that refuses to give more than ``size`` bytes (an entry whose header lies)."""

    def __init__(self, stream, size):
        self.stream, self.left = stream, size

    def read(self, n=-1):
        chunk = self.stream.read(min(n, self.left + 1) if n >= 0 else self.left + 1)
        self.left -= len(chunk)
        if self.left < 0:
            raise Refused("unpacks to more than its header says")
        return chunk
