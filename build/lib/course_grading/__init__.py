"""The instructors' grading tooling, built on nbgrader: what students never import.

- :mod:`course_grading.cli`: ``course-grade``, one command per grading step.
- :mod:`course_grading.pipeline`: release, collect, export and feedback through
  nbgrader's API.
- :mod:`course_grading.archives`: submissions laid out from folders and zip files, only
  regular files, each from its own student.
- :mod:`course_grading.autograde`: every submission graded on its own, in a sandbox,
  several at once; the score table.
- :mod:`course_grading.preprocessors`: what nbgrader's preprocessors lack (feedback
  without hidden tests, a kernel loss that costs only the cells after it, output caps as
  outputs arrive, a time cap per notebook, failed tests that score 0).
- :mod:`course_grading.sandbox`: the kernel of each submission in bubblewrap, under a
  cgroup's memory and process caps, as an unprivileged user, without network.
- :mod:`course_grading.guard` and :mod:`course_grading.launch`: what runs inside the
  grading kernel.
"""

# The course's id in nbgrader and its exchange; every configuration and script reads it here.
COURSE_ID = "training-deep-nets"
