"""Autograding throughput: submissions per minute at each --jobs, and what the sandbox costs.

Grades N copies of an assignment's solution with ``course_grading.autograde`` (nbgrader's
API, one sandboxed kernel per submission) in a private copy of the course, in fast mode as
the grading README says, and prints, all measured in this one run:

- submissions per minute at each of ``--jobs`` (default 1 and 2; on a 16-core machine
  ``--jobs 1 4 8 16``), and the speed-up over one at a time;
- the sandbox's cost per submission: one submission graded sandboxed, then the same
  unconfined, ``--pairs`` times in turn (so both see the same machine), and the ratio of
  the medians.

Run from the course's top folder, as root or a user who can make cgroups::

    python benchmarks/bench_autograde.py                        # ex01_deep_elu_net, 6 submissions
    python benchmarks/bench_autograde.py ex06_counting_macs 10 --jobs 1 2
"""

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from course_grading import pipeline
from course_grading.autograde import autograde

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", nargs="?", default="ex01_deep_elu_net")
    parser.add_argument("submissions", nargs="?", type=int, default=6)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--pairs", type=int, default=3, help="sandboxed/unconfined pairs for the cost ratio")
    args = parser.parse_args()
    os.environ.setdefault("COURSE_OFFLINE", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        api = pipeline.copy_course(root, ROOT)
        pipeline.release(api, args.assignment)
        source = root / "incoming"
        notebook = ROOT / "solutions" / args.assignment / f"{args.assignment}.ipynb"
        students = [f"student{i:03d}" for i in range(max(args.submissions, args.pairs))]
        for student in students:
            (source / student).mkdir(parents=True)
            shutil.copy(notebook, source / student / notebook.name)
        pipeline.collect(api, args.assignment, source)

        rates = {}
        for jobs in args.jobs:
            start = time.perf_counter()
            results = autograde(api, args.assignment, students[:args.submissions], jobs=jobs)
            seconds = time.perf_counter() - start
            full = sum(r.error is None and r.score == r.max_score for r in results)
            rates[jobs] = 60 * len(results) / seconds
            print(f"--jobs {jobs:2}: {len(results)} submissions in {seconds:6.1f} s, {full} with full marks: "
                  f"{rates[jobs]:5.1f} per minute")

        times = {False: [], True: []}
        for student in students[:args.pairs]:
            for unconfined in (False, True):
                start = time.perf_counter()
                autograde(api, args.assignment, [student], jobs=1, unconfined=unconfined)
                times[unconfined].append(time.perf_counter() - start)
                api.config.Sandbox.unconfined = False

    print(f"\n{args.assignment} on {len(os.sched_getaffinity(0))} cores, fast mode:")
    for jobs, rate in rates.items():
        print(f"  --jobs {jobs:2}: {rate:5.1f} submissions per minute, {rate / rates[args.jobs[0]]:.2f}x "
              f"--jobs {args.jobs[0]}")
    sandboxed, unconfined = statistics.median(times[False]), statistics.median(times[True])
    print(f"  one submission: {sandboxed:.1f} s sandboxed, {unconfined:.1f} s unconfined (medians of {args.pairs}): "
          f"the sandbox costs {sandboxed / unconfined:.2f}x")


if __name__ == "__main__":
    main()
