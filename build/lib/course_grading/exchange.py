"""nbgrader's exchange collect, taking only regular files from a student's inbound folder.

``nbgrader collect`` copies each submission out of the exchange's inbound folder as the
instructor, following links: a student who can write there (every student on a shared
JupyterHub can) could leave a notebook that is a link to ``solutions/`` or to a classmate's
file, and have it copied as theirs. :class:`RegularFilesCollect` looks first (``lstat``,
nothing followed or opened) and refuses a submission that holds anything but regular files
and folders, or comes from a student id that is not plain (:mod:`course_grading.archives`),
saying so in nbgrader's log; the other submissions are collected. ``nbgrader_config.py``
plugs it in as ``c.ExchangeFactory.collect``.
"""

from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect

from course_grading.archives import Refused, check_student, special_files


class RegularFilesCollect(ExchangeCollect):
    """``ExchangeCollect`` that refuses a submission holding a link, a pipe, a device or a socket."""

    def copy_files(self):
        kept = []
        for record in self.src_records:
            source = Path(self.inbound_path) / record["filename"]
            try:
                check_student(record["username"])
                refused = special_files(source)
            except Refused as error:
                refused = [str(error)]
            if refused:
                self.log.error("refused the submission %s: %s", record["filename"], "; ".join(refused))
            else:
                kept.append(record)
        self.src_records = kept
        super().copy_files()
