"""What nbgrader's preprocessors lack, plugged in by ``nbgrader_config.py``.

- :class:`GradingExecute` (autograde): each kernel in a sandbox
  (:mod:`course_grading.sandbox`), a time cap per notebook, and a lost kernel (killed for
  its memory, ``os._exit``, an interrupt ignored) costs only the cells after it; nbgrader's
  own ``Execute`` leaves the whole notebook ungraded. The caps a submission hit are written
  into the autograded notebook's metadata (``course_grading.breaches``).
- :class:`LimitOutputSize` (autograde): nbgrader's ``LimitOutput`` counts lines, so one
  100 MB line goes through to the gradebook's notebook and the feedback page.
- :class:`HideHiddenTests` (feedback): nbgrader's feedback shows hidden tests in full.
"""

import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from traitlets import Integer, List

from course_grading.sandbox import SandboxedKernelManager

GUARD = "import course_grading.guard as _guard; _guard.install(); del _guard"
METADATA = "course_grading"  # the autograded notebook's metadata key for the sandbox's report


class HideHiddenTests(ClearHiddenTests):
    """Feedback without hidden tests: neither their source nor tracebacks that quote it.

    Removes the hidden region of every instructor's test cell (as ``ClearHiddenTests``
    does when releasing) and, in those cells, reduces an error's traceback to its type and
    message, which the instructor wrote for the student; the grades are unchanged. The
    markers are honoured only in the instructor's cells: a student's cell that contains
    their text (a stray ``### BEGIN HIDDEN TESTS``) is shown as the student wrote it,
    where nbgrader's ``ClearHiddenTests`` raises and the student gets no feedback.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            return cell, resources
        original = cell.source
        try:
            removed = self._remove_hidden_test_region(cell)
        except RuntimeError:  # unbalanced markers: not the instructor's, leave the cell as is
            cell.source, removed = original, False
        if removed:
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class GradingExecute(Execute):
    """nbgrader's ``Execute`` in a sandboxed, guarded kernel that survives losing it.

    The kernel starts in a :class:`course_grading.sandbox.Sandbox` (or refuses to, saying
    why) with :mod:`course_grading.guard` installed. A cell that runs past ``timeout`` is
    interrupted, as in nbgrader; the whole notebook gets ``wall_time`` seconds, after which
    the kernel is stopped. When the kernel dies, is stopped, or ignores the interrupt, the
    cell gets a ``KernelLost`` error, and every later code cell gets one without running:
    test cells after the loss score 0, those before keep their points.
    """

    extra_arguments = List(
        ["--HistoryManager.hist_file=:memory:", f"--IPKernelApp.exec_lines={GUARD}"],
        help="Kernel arguments: no history file, and the monkeypatch guard installed at start.",
    ).tag(config=True)
    wall_time = Integer(1800, help="seconds one notebook may run in all; then its kernel is stopped").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(**kwargs)

    def reset_execution_trackers(self):
        super().reset_execution_trackers()
        self.lost = None
        self.timed_out = False
        self.deadline = time.monotonic() + self.wall_time

    def create_kernel_manager(self):
        self.sandboxed = super().create_kernel_manager()  # nbclient forgets it at shutdown
        return self.sandboxed

    def preprocess(self, nb, resources=None, km=None):
        self.sandboxed = km
        nb, resources = super().preprocess(nb, resources, km)
        breaches = set(self.sandboxed.breaches())
        if self.timed_out:
            breaches.add("out of time")
        nb.metadata[METADATA] = {"sandbox": self.sandboxed.sandbox.describe(), "breaches": sorted(breaches)}
        return nb, resources

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        left = max(1, int(self.deadline - time.monotonic()))
        return left if timeout is None else min(timeout, left)

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        if time.monotonic() >= self.deadline:
            raise CellTimeoutError.error_from_timeout_and_cell("out of time", timeout, cell)
        return await super()._async_handle_timeout(timeout, cell)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self.lost is None and time.monotonic() >= self.deadline:
            self.lost = f"out of time: the notebook ran past its {self.wall_time} s"
            await self._stop_kernel()
        if self.lost is not None:
            if cell.cell_type == "code":
                cell.outputs = [_error("KernelLost", f"not run: {self.lost}")]
            return cell
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except (DeadKernelError, CellTimeoutError) as error:
            if isinstance(error, DeadKernelError):
                self.lost = f"the kernel died in cell {cell_index}"
            elif time.monotonic() >= self.deadline:
                self.lost = f"out of time: the notebook ran past its {self.wall_time} s, in cell {cell_index}"
            else:
                self.lost = f"the kernel stopped answering in cell {cell_index} (timeout {self.timeout} s)"
            self.log.warning("%s: %s", self.lost, error)
            cell.outputs.append(_error("KernelLost", self.lost))
            await self._stop_kernel()
            return cell

    async def _stop_kernel(self):
        if await ensure_async(self.km.is_alive()):
            await ensure_async(self.km.shutdown_kernel(now=True))

    # nbclient binds the synchronous wrapper to its own coroutine: bind it to this one.
    execute_cell = run_sync(async_execute_cell)


def _error(name, message):
    return NotebookNode(output_type="error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


class LimitOutputSize(NbGraderPreprocessor):
    """Caps the size of every output: stream text, rich data and traceback lines.

    A truncated output says so and by how much, and keeps its kind: a huge stderr still
    fails its cell, a huge stdout still passes.
    """

    max_chars = Integer(20_000, help="characters kept of each text output or traceback line").tag(config=True)
    max_data = Integer(1_000_000, help="largest rich output (an image, HTML) kept, in characters").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                output.text = self._cut(output.text)
            elif output.output_type == "error":
                output.traceback = [self._cut(line) for line in output.traceback]
            elif "data" in output:
                for mime, value in list(output.data.items()):
                    size = len(value) if isinstance(value, str) else len(str(value))
                    if size > self.max_data:
                        del output.data[mime]
                        output.data["text/plain"] = f"[{mime} output of {size:,} characters removed by the grader]"
        return cell, resources

    def _cut(self, text):
        if len(text) <= self.max_chars:
            return text
        return text[:self.max_chars] + f"\n... {len(text) - self.max_chars:,} more characters cut by the grader ...\n"
