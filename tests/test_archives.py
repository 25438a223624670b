"""Submissions laid out from folders and zip files: only regular files, each from the right
student, bounded (course_grading.archives). No kernel, no nbgrader: the layout only."""

import os
import stat
import zipfile

import pytest

from course_grading.archives import MAX_RATIO, lay_out

NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def zip_of(path, entries):
    """A zip file of ``{name: bytes or (bytes, mode)}``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            data, mode = content if isinstance(content, tuple) else (content, 0o100644)
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def laid_out(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_the_class_archive_gives_each_student_their_files(tmp_path):
    archive = zip_of(tmp_path / "class.zip", {"alice/ex.ipynb": NOTEBOOK, "downloads/bob/ex.ipynb": NOTEBOOK})
    assert lay_out(archive, tmp_path / "out") == []
    assert laid_out(tmp_path / "out") == ["alice/ex.ipynb", "bob/ex.ipynb"]


def test_a_students_zip_cannot_submit_for_a_classmate(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    zip_of(source / "alice.zip", {"bob/ex.ipynb": NOTEBOOK})
    (source / "carol").mkdir()
    zip_of(source / "carol" / "work.zip", {"carol/ex.ipynb": NOTEBOOK})
    zip_of(source / "dave.zip", {"ex.ipynb": NOTEBOOK, "inner.zip": b"PK"})
    refused = lay_out(source, tmp_path / "out")
    assert laid_out(tmp_path / "out") == ["carol/ex.ipynb"], "only the archive that is its student's own"
    assert len(refused) == 2
    assert "alice.zip: entry 'bob/ex.ipynb' is not alice's" in refused[0]
    assert "dave.zip: entry 'inner.zip' is an archive in an archive" in refused[1]


def test_entries_are_written_as_plain_files(tmp_path):
    archive = zip_of(tmp_path / "class.zip", {"alice/ex.ipynb": (NOTEBOOK, 0o104755)})  # setuid, executable
    assert lay_out(archive, tmp_path / "out") == []
    mode = os.stat(tmp_path / "out" / "alice" / "ex.ipynb").st_mode
    assert stat.S_IMODE(mode) == 0o644


@pytest.mark.parametrize("entries, why", [
    ({"alice/ex.ipynb": (b"/course/solutions/ex.ipynb", 0o120777)}, "is a symbolic link"),
    ({"alice/../../etc/ex.ipynb": NOTEBOOK}, "is outside the archive's folder"),
    ({"alice/ex.ipynb": b"\0" * (MAX_RATIO * 2**14)}, "times its size"),  # a zip bomb's entry
    ({"*/ex.ipynb": NOTEBOOK}, "student id '*'"),
    ({"ex.ipynb": NOTEBOOK}, "is not in a student's folder"),
])
def test_what_an_archive_may_not_hold(tmp_path, entries, why):
    archive = zip_of(tmp_path / "class.zip", entries)
    [refused] = lay_out(archive, tmp_path / "out")
    assert refused.startswith("class.zip: ") and why in refused
    assert laid_out(tmp_path / "out") == []


def test_links_and_pipes_in_a_folder_are_refused_not_followed(tmp_path):
    source = tmp_path / "in"
    (source / "alice").mkdir(parents=True)
    (source / "alice" / "ex.ipynb").write_bytes(NOTEBOOK)
    (source / "bob").mkdir()
    secret = tmp_path / "solutions.ipynb"
    secret.write_bytes(b"the instructor's")
    os.symlink(secret, source / "bob" / "ex.ipynb")
    os.mkfifo(source / "bob" / "pipe.ipynb")
    refused = lay_out(source, tmp_path / "out")
    assert laid_out(tmp_path / "out") == ["alice/ex.ipynb"]
    assert refused == ["bob/ex.ipynb: a symbolic link", "bob/pipe.ipynb: a named pipe"]
