"""nbgrader for an instructor's server on the hub: the exchange; the course's own
``nbgrader_config.py`` (next on JUPYTER_CONFIG_PATH, from COURSE_DIR) sets the rest."""

import os

c = get_config()  # noqa: F821 (injected by traitlets when it loads this file)
c.CourseDirectory.course_id = "training-deep-nets"
c.Exchange.root = os.environ["COURSE_EXCHANGE"]
