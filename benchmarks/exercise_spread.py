"""What the course's solutions reach in their full runs, over seeds: the table of ``course_utils.on_track``.

For each CIFAR-10 exercise named, the solution's answers are filled into the student version
(``course_grading.mutants.filled``) and its set-up, answer and full-run cells are run in a
kernel, once per seed (the full run's ``keras.utils.set_random_seed(42)`` becomes that seed);
the figures the run prints through ``on_track.line`` are collected, and their range over the
seeds is printed as ``Spread(...)`` lines to paste into ``course_utils/on_track.py``.

It runs on the data the loader finds (the real CIFAR-10 where it can be had, the stand-in
otherwise), in fast mode unless ``--full``. Run from the course's top folder::

    python benchmarks/exercise_spread.py ex01_deep_elu_net ex02_batch_norm --seeds 0 1 2
    python benchmarks/exercise_spread.py ex05_one_cycle --full

The runs happen in a temporary folder laid out as the course's (one folder per exercise), which
is left behind for a look at their checkpoints and logs.
"""

import argparse
import datetime
import os
import re
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_grading.mutants import filled

ROOT = Path(__file__).resolve().parent.parent
ON_TRACK = re.compile(r"^(ex0\d \w+) (-?\d+\.\d+); the course's solution (?:has not been measured )?on the "
                      r"(stand-in|CIFAR-10)", re.M)
SEED = "keras.utils.set_random_seed(42)"


def run(assignment, seed, work):
    """The figures (name -> value, data) one seeded full run of the solution prints, run in
    ``work / assignment`` (exercise 02 reads exercise 01's checkpoint from the folder next to it)."""
    solution = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    student = nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    notebook = filled(solution, student)
    kept = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade"):
            continue  # the tests are not what is measured
        if meta.get("grade_id") == "final-run":
            if SEED not in cell.source:
                raise ValueError(f"{assignment}: its full run does not seed with {SEED}")
            cell.source = cell.source.replace(SEED, f"keras.utils.set_random_seed({seed})")
        kept.append(cell)
    notebook.cells = kept
    folder = work / assignment
    folder.mkdir(exist_ok=True)
    NotebookClient(notebook, timeout=7200, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    text = "\n".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []) if o.output_type == "stream")
    return {name: (float(value), data) for name, value, data in ON_TRACK.findall(text)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--full", action="store_true", help="full-size runs (default: fast mode)")
    args = parser.parse_args()
    os.environ["COURSE_FAST"] = "0" if args.full else "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    today = datetime.date.today().isoformat()
    work = Path(tempfile.mkdtemp(prefix="exercise-spread-"))
    for assignment in args.assignments:
        values = {}
        for seed in args.seeds:
            start = time.perf_counter()
            figures = run(assignment, seed, work)
            for name, (value, data) in figures.items():
                values.setdefault((name, data), []).append(value)
            print(f"# {assignment} seed {seed}: {time.perf_counter() - start:.0f} s, "
                  + ", ".join(f"{name} {value:.4f}" for name, (value, _) in figures.items()), flush=True)
        for (name, data), found in values.items():
            print(f"    Spread({name!r}, {data!r}, {not args.full}, {min(found):.4f}, {max(found):.4f}, "
                  f"{tuple(args.seeds)!r}, MEASURED),  # {', '.join(f'{v:.4f}' for v in found)}; {today}", flush=True)


if __name__ == "__main__":
    main()
