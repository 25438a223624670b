"""``course-grade``: the grading steps as one command each, run from the course's top folder::

    course-grade release   ex01_deep_elu_net           # solutions/ -> exercises/
    course-grade collect   ex01_deep_elu_net subs.zip  # or a folder: <student>/<notebook>.ipynb
    course-grade autograde ex01_deep_elu_net           # every submission, sandboxed, in parallel
    course-grade export    grades.csv                  # nbgrader's CSV export, plus the sandbox's marks
    course-grade feedback  ex01_deep_elu_net           # HTML per student, no hidden test
    course-grade mutants   ex01_deep_elu_net           # do the tests fail mutants/<assignment>.toml's mistakes?
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

from course_grading import mutants, pipeline
from course_grading.autograde import autograde, printable
from course_grading.sandbox import Sandbox, SandboxUnavailable, usable_cores


def _jobs(text):
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"--jobs={text!r}: a whole number, 1 or more")
    return jobs


def _add_jobs(step):
    step.add_argument("--jobs", "-j", type=_jobs, default=len(usable_cores()),
                      help="submissions graded at once (default: the cores this process may use)")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="course-grade", description="The course's grading steps, one command each, on nbgrader.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("::")[1])
    parser.add_argument("--root", default=".", help="the course's top folder (default: here)")
    steps = parser.add_subparsers(dest="step", required=True)
    steps.add_parser("release", help="generate the student version in exercises/").add_argument("assignment")
    step = steps.add_parser("collect", help="collect submissions from a folder or a zip file")
    step.add_argument("assignment")
    step.add_argument("source", help="folder or .zip holding <student>/<notebook>.ipynb")
    step = steps.add_parser("autograde", help="grade every collected submission, each in a sandbox")
    step.add_argument("assignment")
    step.add_argument("students", nargs="*", help="only these students")
    step.add_argument("--full", action="store_true", help="run the notebooks' training at full size")
    _add_jobs(step)
    step.add_argument("--unconfined", action="store_true",
                      help="grade without a sandbox where none can be made: the submissions' code runs as you, "
                           "and can read and change everything you can")
    steps.add_parser("export", help="write all grades to a CSV file").add_argument("to")
    step = steps.add_parser("feedback", help="HTML feedback per student, without hidden tests")
    step.add_argument("assignment")
    step.add_argument("student", nargs="?")
    step = steps.add_parser("mutants", help="grade the catalogue of plausible answers in a private copy of the course")
    step.add_argument("assignment")
    step.add_argument("--catalogue", help="the catalogue file (default: mutants/<assignment>.toml)")
    _add_jobs(step)
    args, extra = parser.parse_known_args(argv)
    # Students named after an option (autograde ex01 --jobs 2 alice bob): argparse leaves
    # them over, as it cannot intermix positionals with subcommands.
    if extra and args.step == "autograde" and not any(arg.startswith("-") for arg in extra):
        args.students += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    # TensorFlow's C++ start-up log lines, in this process and the grading kernels.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    try:
        api = pipeline.course_api(args.root)
        if args.step == "release":
            print(f"released to {pipeline.release(api, args.assignment)}")
        elif args.step == "collect":
            collected = pipeline.collect(api, args.assignment, args.source)
            print(f"{len(collected.students)} submissions collected: {printable(', '.join(collected.students))}")
            if collected.refused:
                print(f"{len(collected.refused)} refused:\n" + "\n".join(f"  {printable(line)}" for line in collected.refused),
                      file=sys.stderr)
                return 1
        elif args.step == "autograde":
            results = autograde(api, args.assignment, args.students, fast=not args.full, jobs=args.jobs,
                                unconfined=args.unconfined)
            sandbox = Sandbox(config=api.config, **({"unconfined": True} if args.unconfined else {}))
            print(f"{args.assignment}: {len(results)} submissions, {sandbox.describe()}")
            print("\n".join(str(result) for result in results))
            failed = [r.student for r in results if r.error]
            if failed:
                print(f"{len(failed)} of {len(results)} submissions not graded: {', '.join(failed)}", file=sys.stderr)
                return 1
        elif args.step == "export":
            print(f"grades written to {pipeline.export(api, args.to)}")
        elif args.step == "mutants":
            return _mutants(api, args)
        elif args.step == "feedback":
            pages = pipeline.feedback(api, args.assignment, args.student)
            print(f"{len(pages)} feedback pages under {Path(api.coursedir.feedback_directory)}")
    except SandboxUnavailable as error:
        print(f"course-grade {args.step}: no sandbox to grade in: {error}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"course-grade {args.step}: {error}", file=sys.stderr)
        return 2
    return 0


def _mutants(api, args):
    """Grade the catalogue in a temporary copy of the course; 1 when a verdict is not the expected one."""
    root = Path(api.coursedir.root)
    catalogue = Path(args.catalogue) if args.catalogue else root / "mutants" / f"{args.assignment}.toml"
    pipeline.check_assignment(api, args.assignment)
    with tempfile.TemporaryDirectory(prefix="course-mutants-") as private:
        judged = mutants.check(pipeline.copy_course(private, root), args.assignment, catalogue, jobs=args.jobs)
    print(f"{args.assignment}: {len(judged)} mutants of {catalogue.name}")
    print("\n".join(str(j) for j in judged))
    wrong = [j.mutant.name for j in judged if not j.as_expected]
    if wrong:
        print(f"{len(wrong)} of {len(judged)} graded otherwise than the catalogue says: {'; '.join(wrong)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
