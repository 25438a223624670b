"""Benchmark: count_flops on every keras.applications architecture, next to the published
figures, with the time to build (weights uninitialised) and to count each.

Run with ``.venv/bin/python benchmarks/bench_flops_applications.py``. The published figures
and the papers' convention (batch norm and input scaling left out) are those of
``tests/test_flops_applications.py``, which asserts them; this prints the whole table.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_flops_applications import CONSTRUCTORS, PUBLISHED, build, papers_convention  # noqa: E402

from course_utils.flops import count_flops  # noqa: E402


def main():
    print(f"{'architecture':18} {'input':>5} {'params':>12} {'MACs (all)':>16} {'papers convention':>18} "
          f"{'published':>16} {'ratio':>6} {'build s':>7} {'count s':>7}  source")
    for name in CONSTRUCTORS:
        start = time.perf_counter()
        model = build(name)
        built = time.perf_counter()
        report = count_flops(model)
        counted = time.perf_counter()
        resolution, published, source = PUBLISHED.get(name, (model.inputs[0].shape[1], None, ""))
        ours = papers_convention(report)
        ratio = f"{ours / published:6.3f}" if published else "     -"
        shown = f"{published:16,.0f}" if published else f"{'-':>16}"
        print(f"{name:18} {resolution:>5} {report.total_params:12,} {report.total_macs:16,} {ours:18,} "
              f"{shown} {ratio} {built - start:7.2f} {counted - built:7.2f}  {source}", flush=True)


if __name__ == "__main__":
    main()
