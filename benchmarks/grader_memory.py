"""The grader's own memory grading a flooding submission: outputs capped as they arrive, or not.

A submission that prints a few hundred MiB grows the process that grades it (outside the
sandbox's cgroup), which holds every output until the notebook is written. This grades one
honest ex06 submission and one that floods (``--mib`` MiB of prints, half as much display
data, a 76 MiB output metadata and a 76 MiB exception message) at ``--jobs 2``, twice: with the
course's caps on what a cell keeps as it arrives (``GradingExecute.max_cell_output``,
``max_cell_outputs``, ``max_field``), then with them lifted; and prints the grading workers'
peak resident memory (``VmHWM``) each time, and the ratio, from this one run.

Run from the course's top folder, as root or a user who can make cgroups::

    python benchmarks/grader_memory.py --mib 200
"""

import argparse
import multiprocessing
import os
import re
import tempfile
import threading
from pathlib import Path

import nbformat

from course_grading import pipeline
from course_grading.autograde import autograde

ROOT = Path(__file__).resolve().parent.parent
MACS = "ex06_counting_macs"


def floods(mib):
    return [f"for _ in range({mib}):\n    print('x' * 2**20)",
            f"for _ in range({mib // 2}):\n    display({{'text/plain': 'y' * 2**20}}, raw=True)",
            "display({'text/plain': 'z'}, metadata={'m': 'w' * 76 * 2**20}, raw=True)",
            "raise ValueError('v' * 76 * 2**20)"]


def peak_of_workers(grade):
    """Run ``grade()``; the largest VmHWM of this process's children meanwhile, in bytes."""
    peak, stop = [0], threading.Event()

    def sample():
        while not stop.wait(0.2):
            for child in multiprocessing.active_children():
                try:
                    kib = int(re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{child.pid}/status").read_text()).group(1))
                except (OSError, AttributeError):
                    continue
                peak[0] = max(peak[0], kib * 1024)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        results = grade()
    finally:
        stop.set()
        thread.join()
    return peak[0], results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=200, help="MiB of prints in the flood")
    args = parser.parse_args()
    os.environ.setdefault("COURSE_OFFLINE", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    solution = nbformat.read(ROOT / "solutions" / MACS / f"{MACS}.ipynb", as_version=4)
    flood = nbformat.read(ROOT / "solutions" / MACS / f"{MACS}.ipynb", as_version=4)
    flood.cells += [nbformat.v4.new_code_cell(source) for source in floods(args.mib)]
    peaks = {}
    for setting, caps in (("capped", ""), ("uncapped", "c.GradingExecute.max_cell_output = 10**12\n"
                                                       "c.GradingExecute.max_cell_outputs = 10**9\n"
                                                       "c.GradingExecute.max_field = 10**12\n")):
        with tempfile.TemporaryDirectory(prefix="grader-memory-") as private:
            root = Path(private)
            api = pipeline.copy_course(root, ROOT)
            with open(root / "nbgrader_config.py", "a") as config:
                config.write("c.Execute.timeout = 600\n" + caps)
            api = pipeline.course_api(root)
            pipeline.release(api, MACS)
            source = root / "downloads"
            for student, nb in (("honest", solution), ("flood", flood)):
                (source / student).mkdir(parents=True)
                nbformat.write(nb, source / student / f"{MACS}.ipynb")
            pipeline.collect(api, MACS, source)
            peaks[setting], results = peak_of_workers(lambda: autograde(api, MACS, jobs=2))
            scores = ", ".join(f"{r.student} {r.score}/{r.max_score}" for r in results)
            print(f"{setting}: the grader's peak {peaks[setting] / 2**20:,.0f} MiB ({scores})", flush=True)
    print(f"flood of {args.mib} + {args.mib // 2} + 76 + 76 MiB: uncapped / capped = "
          f"{peaks['uncapped'] / peaks['capped']:.1f}x")


if __name__ == "__main__":
    main()
