"""Autograding throughput: submissions graded per minute, for one assignment.

Grades N copies of an assignment's solution with ``course-grade autograde`` (nbgrader's
API, one kernel per submission) in a private copy of the course, in fast mode as the
grading README says, and prints the rate. Run from the course's top folder::

    python benchmarks/bench_autograde.py                      # ex01_deep_elu_net, 6 submissions
    python benchmarks/bench_autograde.py ex06_counting_macs 10

Each submission starts a fresh kernel, imports TensorFlow (for the CIFAR-10 series) and
runs the whole notebook; the numbers are for this machine's cores, one submission at a time.
"""

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from course_utils import grading

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", nargs="?", default="ex01_deep_elu_net")
    parser.add_argument("submissions", nargs="?", type=int, default=6)
    args = parser.parse_args()
    os.environ.setdefault("COURSE_OFFLINE", "1")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        api = grading.copy_course(root, ROOT)
        grading.release(api, args.assignment)
        source = root / "incoming"
        notebook = ROOT / "solutions" / args.assignment / f"{args.assignment}.ipynb"
        for i in range(args.submissions):
            (source / f"student{i:03d}").mkdir(parents=True)
            shutil.copy(notebook, source / f"student{i:03d}" / notebook.name)
        grading.collect(api, args.assignment, source)

        start = time.perf_counter()
        results = grading.autograde(api, args.assignment)
        seconds = time.perf_counter() - start

    graded = [r for r in results if r.error is None and r.score == r.max_score]
    print(f"\n{args.assignment}: {len(graded)} of {len(results)} submissions graded with full marks "
          f"in {seconds:.1f} s, {seconds / len(results):.1f} s each")
    print(f"throughput: {60 * len(results) / seconds:.1f} submissions per minute "
          f"({os.cpu_count()} cores, one submission at a time)")


if __name__ == "__main__":
    main()
