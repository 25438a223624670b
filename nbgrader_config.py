"""nbgrader configuration of the course.

Step folders: the instructor versions live in ``solutions/``, the student versions that
nbgrader generates from them in ``exercises/`` (both committed), and everything a class
produces (submissions, autograded copies, feedback, the gradebook) under ``course/``,
which git ignores.
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades, IgnorePattern, LimitOutput,
                                   SaveAutoGrades)

from course_grading import COURSE_ID
from course_grading.preprocessors import (ErrorsFailTests, GradingExecute, HideHiddenTests, LimitOutputSize, METADATA,
                                         SanitizeFeedback)

c = get_config()  # noqa: F821 (injected by traitlets when it loads this file)

ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = COURSE_ID
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "course/submitted"
c.CourseDirectory.autograded_directory = "course/autograded"
c.CourseDirectory.feedback_directory = "course/feedback"
c.CourseDirectory.solution_directory = "course/solution"
# What notebooks write next to themselves when run (TensorBoard logs, checkpoints) is
# not part of an assignment.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "runs"]
# The gradebook: SQLite in course/ by default; for several graders at once, a PostgreSQL
# database named by COURSE_GRADEBOOK_URL (postgresql://user@host:port/database).
c.CourseDirectory.db_url = (os.environ.get("COURSE_GRADEBOOK_URL")
                            or "sqlite:///" + os.path.join(ROOT, "course", "gradebook.db"))

# TensorFlow's first call in a kernel traces and compiles: nbgrader's 30 s per cell is
# too short for a training cell.
c.Execute.timeout = 300

# TensorFlow and absl write log lines to stderr when a kernel first imports or runs them,
# and nbgrader gives 0 points to a test cell with any stderr. Drop those lines only.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(^|\n)([IWE]\d{4} [\d:. ]+\d+ [\w.]+:\d+\]"      # absl: I0000 00:00:17.. 123 port.cc:153]
    r"|WARNING: All log messages before absl::InitializeLog"
    r"|\S+\.cc:\d+\] "                                   # TensorFlow C++: ... cpu_feature_guard.cc:227]
    r"|To enable the following instructions: )"
)

# nbgrader's autograde steps, with each kernel in a sandbox, surviving os._exit and stuck
# loops and undoing monkeypatches (GradingExecute), outputs capped in size, and a failed
# test cell scoring 0 whatever it displayed before failing (see course_grading.preprocessors).
# The caps a submission hit, and what the guard undid, stay in its notebook's metadata.
c.Autograde.autograde_preprocessors = [GradingExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       LimitOutputSize, ErrorsFailTests, SaveAutoGrades, AssignLatePenalties,
                                       CheckCellMetadata]
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {("language_info", "name"), METADATA}

# Each submission's kernel: a sandbox (course_grading.sandbox) with these caps, and at most
# this long for the whole notebook.
c.Sandbox.memory = 4 * 2**30
c.Sandbox.processes = 512
c.Sandbox.disk = 2**30
c.GradingExecute.wall_time = 1800

# Submissions downloaded from a learning platform, before `nbgrader zip_collect`.
c.ZipCollectApp.downloaded_directory = "course/downloaded"

# Collecting from the exchange (JupyterHub) takes regular files only: a link left in a
# student's inbound folder is refused, not followed (course_grading.exchange).
c.ExchangeFactory.collect = "course_grading.exchange.RegularFilesCollect"

# A student who deletes a graded test cell gets it back from the gradebook.
c.OverwriteCells.add_missing_cells = True

# Feedback shows students their grades, not the hidden tests (nbgrader's default does), and
# runs or fetches nothing of a submission in the page a student or the instructor opens:
# nbconvert's sanitiser on markdown, HTML and other rich outputs (scripts, event attributes
# and HTML images escaped; JavaScript and SVG outputs dropped; markdown images shown as text),
# and its templates' own on the HTML outputs they render.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, SanitizeFeedback, CSSHTMLHeaderPreprocessor]
c.HTMLExporter.sanitize_html = True

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
