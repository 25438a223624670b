"""nbgrader for a student's server on the hub: the course, the exchange, nothing else."""

import os

from course_grading import COURSE_ID

c = get_config()  # noqa: F821 (injected by traitlets when it loads this file)
c.CourseDirectory.course_id = COURSE_ID
c.Exchange.root = os.environ["COURSE_EXCHANGE"]
