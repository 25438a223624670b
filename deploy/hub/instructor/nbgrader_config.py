"""nbgrader for an instructor's server on the hub: the exchange; the course's own
``nbgrader_config.py`` (next on JUPYTER_CONFIG_PATH, from COURSE_DIR) sets the rest."""

import os

from course_grading import COURSE_ID

c = get_config()  # noqa: F821 (injected by traitlets when it loads this file)
c.CourseDirectory.course_id = COURSE_ID
c.Exchange.root = os.environ["COURSE_EXCHANGE"]
