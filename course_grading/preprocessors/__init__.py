"""What nbgrader's preprocessors lack, plugged in by ``nbgrader_config.py``; one a module.

- :class:`GradingExecute` (autograde, :mod:`.execute`): each kernel in a sandbox
  (:mod:`course_grading.sandbox`) with :mod:`course_grading.guard` installed, a time cap per
  notebook, and a lost kernel (killed for its memory, ``os._exit``, an interrupt ignored)
  costs only the cells after it; nbgrader's own ``Execute`` leaves the whole notebook
  ungraded. The caps a submission hit, and what the guard undid, are written into the
  autograded notebook's metadata (``course_grading``).
- :class:`LimitOutputSize` (autograde, :mod:`.output_size`): nbgrader's ``LimitOutput``
  counts lines, so one 100 MB line goes through to the gradebook's notebook and the feedback
  page.
- :class:`ErrorsFailTests` (autograde, :mod:`.failed_tests`): nbgrader stops reading a test
  cell's outputs at its first result, so a result displayed before an error scores full marks.
- :class:`HideHiddenTests` (feedback, :mod:`.hidden_tests`): nbgrader's feedback shows hidden
  tests in full, and whatever a submission printed of them.
- :class:`SanitizeFeedback` (feedback, :mod:`.sanitize`): nbconvert's sanitiser, which is off
  by default, and nbgrader's feedback template renders a submission's markdown unsanitised.
"""

from course_grading.preprocessors.execute import GUARD, METADATA, GradingExecute
from course_grading.preprocessors.failed_tests import ErrorsFailTests
from course_grading.preprocessors.hidden_tests import HideHiddenTests
from course_grading.preprocessors.output_size import LimitOutputSize
from course_grading.preprocessors.sanitize import SanitizeFeedback

__all__ = ["GUARD", "METADATA", "ErrorsFailTests", "GradingExecute", "HideHiddenTests", "LimitOutputSize", "SanitizeFeedback"]
