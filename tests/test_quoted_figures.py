"""Prose and outputs stay together: every figure a lecture quotes is one its run printed.

A figure quoted in a markdown cell of a lecture, an exercise or a solution, or in
``lectures/README.md``, must be backed by one of:

- the notebook's saved outputs: a printed number that rounds to the quoted one (0.8416
  backs "0.842" and "0.84"; 0.495 or 49.5% backs "49.5 %");
- the published table, ``course_utils.published`` (a lecture may quote the book);
- the notebook's own code, for the protocol's settings (a rate of 0.001, ``max_rate``).

A figure is a decimal number, a percentage, a ratio (2.8×) or a grouped integer (271,346);
plain small integers (epochs, layers, seeds) are the protocol's words, not figures. Inline
code and links are code and addresses, not figures; version numbers (Keras 3.15) are named
by the software before them. A quote that nothing backs fails, naming the notebook, the cell
and the figure.

``lectures/README.md``: a table row is checked against the notebook its last column names;
any other line against all the lectures and solutions. Its run-time table is checked against
the execution times the notebooks record (nbclient's per-cell timestamps).
"""

import datetime
import math
import re
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest

from course_utils import published

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = (sorted(ROOT.glob("lectures/*.ipynb")) + sorted(ROOT.glob("solutions/*/*.ipynb"))
             + sorted(ROOT.glob("exercises/*/*.ipynb")))
README = ROOT / "lectures" / "README.md"

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
# A figure: 1.2·10⁻³⁸ or 10⁻⁶ (a power of ten), 271,346, 0.8416, 49.5 %, 2.8×.
FIGURE = re.compile(r"(?<![\w.,/])(?:(\d+(?:\.\d+)?)\s*[·×x]\s*10([⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)"
                    r"|(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d+)(\s?%|×)?)(?![\w.]*\d)")
VERSION = re.compile(r"(?:Python|TensorFlow|TF|Keras|NumPy|OpenBLAS|nbgrader|JAX|PyTorch|torch|CUDA|"
                     r"Theano|Jupyter\w*|handson-ml\d?|v)\s*$", re.I)
NOT_PROSE = re.compile(r"```.*?```|`[^`]*`|\]\([^)]*\)|<[^>]+>|https?://\S+", re.S)
NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+(?:_\d{3})*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def quoted_figures(text):
    """The figures quoted in a markdown text: ``(as written, value, decimals, kind)``.

    ``kind`` is ``"%"`` for a percentage, ``"×"`` for a ratio, ``""`` otherwise; plain
    integers below 1,000 without a unit are not figures.
    """
    text = NOT_PROSE.sub(" ", text)
    found = []
    for m in FIGURE.finditer(text):
        if VERSION.search(text[max(0, m.start() - 20):m.start()]):
            continue
        if m.group(2):  # mantissa·10^exponent
            mantissa = float(m.group(1))
            value = mantissa * 10 ** int(m.group(2).translate(_SUPERSCRIPT))
            found.append((m.group(0), value, None, "sci"))
            continue
        written, unit = m.group(3), (m.group(4) or "").strip()
        if "." not in written and "," not in written and not unit:
            continue
        decimals = len(written.split(".")[1]) if "." in written else 0
        if decimals == 0 and "," in written:  # "about 176,000": rounded to its trailing zeros, at most 3
            digits = written.replace(",", "")
            decimals = -min(3, len(digits) - len(digits.rstrip("0")))
        found.append((m.group(0).strip(), float(written.replace(",", "")), decimals, unit))
    return found


def printed_numbers(text):
    """Every number in an output text, as floats (271,346 and 1_000 read as integers)."""
    numbers = set()
    for m in NUMBER.finditer(text):
        token = m.group(0).replace(",", "").replace("_", "")
        try:
            numbers.add(abs(float(token)))
        except ValueError:
            continue
        # "49.5%" printed by Python's format: the fraction it came from is backed as well.
        if text[m.end():m.end() + 1] == "%":
            numbers.add(abs(float(token)) / 100)
    return numbers


def _published_numbers():
    numbers = set()
    for f in published.FIGURES.values():
        values = f.value if isinstance(f.value, tuple) else (f.value,)
        numbers.update(abs(float(v)) for v in values)
        numbers.update(printed_numbers(f.quantity + " " + f.protocol))
    return numbers


PUBLISHED = _published_numbers()


def backs(number, value, decimals, kind):
    """Whether a printed ``number`` backs a quoted ``value`` (rounded to ``decimals``)."""
    if kind == "sci":
        return number > 0 and math.isclose(number, value, rel_tol=0.06)
    candidates = [number]
    if kind == "%":
        candidates.append(number * 100)
    for x in candidates:
        if round(x, decimals) == round(value, decimals) or math.isclose(x, value, rel_tol=1e-9):
            return True
        # A quote may round half away from zero where Python rounds half to even.
        if abs(x - value) <= 0.5 * 10 ** -decimals + 1e-12:
            return True
    return False


def outputs_text(cell):
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out:
            parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


@lru_cache(maxsize=None)
def notebook_evidence(path):
    """(numbers printed in the outputs, numbers written in the code) of a notebook."""
    nb = nbformat.read(path, as_version=4)
    printed, code = set(), set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            printed |= printed_numbers(outputs_text(cell))
            code |= printed_numbers(cell.source)
    return frozenset(printed), frozenset(code)


def unbacked(text, evidence):
    """The quoted figures of ``text`` that none of the ``evidence`` number sets backs."""
    missing = []
    for written, value, decimals, kind in quoted_figures(text):
        if not any(backs(n, value, decimals, kind) for numbers in evidence for n in numbers):
            missing.append(written)
    return missing


def notebook_quotes(path):
    """``[(cell index, [unbacked figures])]`` and the number of figures checked."""
    nb = nbformat.read(path, as_version=4)
    printed, code = notebook_evidence(path)
    report, checked = [], 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        checked += len(quoted_figures(cell.source))
        missing = unbacked(cell.source, (printed, PUBLISHED, code))
        if missing:
            report.append((index, missing))
    return report, checked


def names(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=names(NOTEBOOKS))
def test_every_figure_quoted_in_a_notebook_is_in_its_outputs_the_published_table_or_its_code(path):
    report, _ = notebook_quotes(path)
    assert not report, "\n".join(f"{path.relative_to(ROOT)}, markdown cell {i}: quotes {', '.join(m)}, "
                                 "which no output, published figure or code of the notebook shows"
                                 for i, m in report)


def readme_lines():
    """``(line number, line, notebooks that back it)`` of lectures/README.md."""
    lectures = {p.name[:2]: p for p in ROOT.glob("lectures/*.ipynb")}
    everything = [p for p in NOTEBOOKS if "exercises" not in p.parts]
    for number, line in enumerate(README.read_text().splitlines(), 1):
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if cells and cells[-1] in lectures:
            yield number, line, [lectures[cells[-1]]]
        elif cells and cells[-1] == "solution":
            yield number, line, sorted(ROOT.glob("solutions/ex00*/*.ipynb"))
        else:
            yield number, line, everything


def test_every_figure_in_the_lectures_readme_is_in_the_outputs_of_the_notebook_it_names():
    problems = []
    for number, line, notebooks in readme_lines():
        if re.match(r"\|\s*(notebook|[0-9]{2} \w)", line) and "seconds" not in line:
            continue  # the run-time table: checked against the recorded execution times below
        evidence = [PUBLISHED] + [n for p in notebooks for n in notebook_evidence(p)]
        missing = unbacked(line, evidence)
        if missing:
            problems.append(f"lectures/README.md, line {number}: quotes {', '.join(missing)}, which no output of "
                            f"{', '.join(p.name for p in notebooks) if len(notebooks) < 3 else 'any notebook'} "
                            "and no published figure shows")
    assert not problems, "\n".join(problems)


def recorded_seconds(path):
    """Seconds from the first cell's start to the last cell's end, as nbclient recorded them."""
    stamps = []
    for cell in nbformat.read(path, as_version=4).cells:
        execution = cell.get("metadata", {}).get("execution", {})
        for key in ("iopub.execute_input", "shell.execute_reply"):
            if key in execution:
                stamps.append(datetime.datetime.fromisoformat(execution[key].replace("Z", "+00:00")))
    return (max(stamps) - min(stamps)).total_seconds() if stamps else None


def test_the_readme_run_times_are_the_times_the_notebooks_recorded():
    table = re.compile(r"^\|\s*(\d{2}|ex\d{2})\s[^|]*\|\s*([\d,]+)\s*\|\s*$")
    rows = [(m.group(1), int(m.group(2).replace(",", ""))) for m in map(table.match, README.read_text().splitlines())
            if m]
    assert rows, "lectures/README.md has no run-time table"
    for key, seconds in rows:
        [path] = (sorted(ROOT.glob(f"lectures/{key}_*.ipynb")) if not key.startswith("ex")
                  else sorted(ROOT.glob(f"solutions/{key}_*/*.ipynb")))
        recorded = recorded_seconds(path)
        assert recorded is not None, f"{path.name}: no recorded execution times: re-run it with nbconvert"
        assert abs(recorded - seconds) <= max(2, 0.05 * seconds), \
            f"lectures/README.md says {path.name} runs {seconds} s; its saved run took {recorded:.0f} s"


@pytest.mark.parametrize("text, expected", [
    ("ends at 0.8288, next to 0.8218", ["0.8288", "0.8218"]),
    ("49.5 % of the weights, 2.8× faster, 271,346 parameters, 10 epochs", ["49.5 %", "2.8×", "271,346"]),
    ("about 1.2·10⁻³⁸ and `SGD(1e-3)` in [the docs](https://x.org/1.5)", ["1.2·10⁻³⁸"]),
    ("Keras 3.15 and TensorFlow 2.21 on Python 3.11", []),
])
def test_quoted_figures_are_found_in_prose(text, expected):
    assert [written for written, *_ in quoted_figures(text)] == expected


@pytest.mark.parametrize("printed, quote, backed", [
    ("val_accuracy 0.8416", "0.842", True), ("val_accuracy 0.8416", "0.84", True),
    ("val_accuracy 0.8416", "0.843", False), ("below 1e-3: 49.5%", "49.5 %", True),
    ("share 0.495", "49.5 %", True), ("ratio 1.59", "1.6×", True), ("271,346 params", "271,346", True),
    ("1.18e-38", "1.2·10⁻³⁸", True), ("1.18e-38", "1.2·10⁻³⁷", False),
    ("175,999 weights", "176,000", True), ("175,999 weights", "175,000", False), ("43,986", "43,986", True),
])
def test_a_printed_number_backs_a_quote_only_if_it_rounds_to_it(printed, quote, backed):
    assert (unbacked(quote, [printed_numbers(printed)]) == []) is backed
