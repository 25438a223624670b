"""The committed notebook outputs are what a student should read.

- Each cell that loads a dataset shows the loader's source line (real, from where; or the
  stand-in and why), and no output was produced on the stand-in for a dataset that this
  machine holds for real: a lecture's figures never drift back to synthetic data.
- No TensorFlow start-up log lines (they render as red stderr boxes) and no machine paths.

These read the saved outputs; executing the notebooks is nbval's job (``bin/test``).
"""

import re
from pathlib import Path

import nbformat
import pytest

from course_utils import datasets

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(ROOT.glob("lectures/*.ipynb")) + sorted(ROOT.glob("solutions/*/*.ipynb"))
TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
LOAD = re.compile(r"datasets\.load_(mnist|fashion_mnist|cifar10)\(")
SOURCE_LINE = re.compile(r"^(MNIST|Fashion-MNIST|CIFAR-10): (the real data|a synthetic stand-in)", re.M)
TF_STARTUP = ("absl::InitializeLog", "oneDNN custom operations", "cuda_dnn", "computation_placer",
              "This TensorFlow binary is optimized")


def text_outputs(cell):
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            yield out.name, out.text
        elif out.output_type in ("execute_result", "display_data", "error"):
            text = out.get("data", {}).get("text/plain", "") if "data" in out else "\n".join(out.traceback)
            yield "data", text


def executed(path):
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and c.get("outputs")]


def names(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


EXECUTED = [p for p in NOTEBOOKS if executed(p)]


def test_the_lectures_are_committed_with_outputs():
    lectures = [p for p in EXECUTED if p.parent.name == "lectures"]
    assert len(lectures) == len(list(ROOT.glob("lectures/*.ipynb"))), "every lecture is committed executed"


@pytest.mark.parametrize("path", EXECUTED, ids=names(EXECUTED))
def test_outputs_say_which_data_and_it_is_real_where_the_machine_has_it(path):
    local = {TITLES[n]: datasets.find_source(n, local_only=True).real for n in TITLES}  # files, not a download
    for index, cell in enumerate(executed(path)):
        loaded = {TITLES[n] for n in LOAD.findall(cell.source)}
        lines = {m.group(1): m.group(2) for _, text in text_outputs(cell) for m in SOURCE_LINE.finditer(text)}
        missing = loaded - set(lines)
        assert not missing, f"{path.name}, code cell {index}: loads {sorted(missing)} but its output " \
                            "has no source line: re-run the notebook"
        synthetic = sorted(t for t, kind in lines.items() if kind == "a synthetic stand-in" and local[t])
        assert not synthetic, (f"{path.name}, code cell {index}: outputs made on the stand-in for {synthetic}, "
                               "which this machine has for real: re-run the notebook on the real data")


@pytest.mark.parametrize("path", EXECUTED, ids=names(EXECUTED))
def test_outputs_hold_no_tensorflow_startup_log_and_no_machine_path(path):
    home = str(Path.home())
    for index, cell in enumerate(executed(path)):
        for stream, text in text_outputs(cell):
            noise = [marker for marker in TF_STARTUP if marker in text]
            assert not noise, f"{path.name}, code cell {index}: TensorFlow start-up log in {stream}: {noise}"
            for place in {str(ROOT), home} - {"/"}:
                assert place not in text, f"{path.name}, code cell {index}: machine path {place} in {stream}"
