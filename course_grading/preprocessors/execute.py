"""nbgrader's ``Execute``, with each kernel in a sandbox and guarded, that survives losing it."""

import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, List

from course_grading.sandbox import SandboxedKernelManager

GUARD = "import course_grading.guard as _guard; _guard.install(); del _guard"
METADATA = "course_grading"  # the autograded notebook's metadata key for the sandbox's report


class GradingExecute(Execute):
    """nbgrader's ``Execute`` in a sandboxed, guarded kernel that survives losing it.

    The kernel starts in a :class:`course_grading.sandbox.Sandbox` (or refuses to, saying
    why) with :mod:`course_grading.guard` installed; what the guard undid or refused goes into
    the notebook's metadata (``course_grading.guard``), for the instructor to read. A cell that runs past ``timeout`` is
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
    max_cell_output = Integer(4_000_000, help="characters of output one cell keeps, counted as they arrive; "
                                              "later outputs are dropped, errors kept").tag(config=True)
    max_cell_outputs = Integer(2_000, help="outputs one cell keeps, counted as they arrive").tag(config=True)
    max_field = Integer(20_000, help="characters kept of an error's message and of each of its traceback lines, "
                                     "and of an output's metadata").tag(config=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(**kwargs)

    def reset_execution_trackers(self):
        super().reset_execution_trackers()
        self.arrived = {}  # cell index -> [characters kept, outputs dropped, characters dropped, stderr dropped]
        self.lost = None
        self.timed_out = False
        self.deadline = time.monotonic() + self.wall_time

    def create_kernel_manager(self):
        self.sandboxed = super().create_kernel_manager()  # nbclient forgets it at shutdown
        return self.sandboxed

    async def async_start_new_kernel_client(self):
        client = await super().async_start_new_kernel_client()
        self.sandboxed.seal()  # the kernel is up: no more files in its ipc folder
        return client

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def preprocess(self, nb, resources=None, km=None):
        self.sandboxed = km
        nb, resources = super().preprocess(nb, resources, km)
        breaches = set(self.sandboxed.breaches())
        if self.timed_out:
            breaches.add("out of time")
        nb.metadata[METADATA] = {"sandbox": self.sandboxed.sandbox.describe(), "breaches": sorted(breaches),
                                 "guard": list(self.sandboxed.guard_reports)}
        return nb, resources

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's, with the outputs of a cell capped as they arrive: the grader's memory stays
        bounded whatever a submission prints (a stream, display data, metadata, an error's fields)."""
        content = msg["content"]
        if msg["msg_type"] == "error":  # always kept: it is what fails a test
            content["evalue"] = _cut(str(content.get("evalue", "")), self.max_field)
            content["traceback"] = [_cut(str(line), self.max_field) for line in content.get("traceback", [])[:100]]
            return super().output(outs, msg, display_id, cell_index)
        size = _size(content)
        arrived = self.arrived.setdefault(cell_index, [0, 0, 0, False])
        if arrived[0] + size > self.max_cell_output or len(outs) >= self.max_cell_outputs:
            arrived[1] += 1
            arrived[2] += size
            arrived[3] |= content.get("name") == "stderr"
            return None
        arrived[0] += size
        if len(str(content.get("metadata", ""))) > self.max_field:
            content["metadata"] = {}
        return super().output(outs, msg, display_id, cell_index)

    def _note_dropped(self, cell, cell_index):
        kept, count, size, stderr = self.arrived.pop(cell_index, [0, 0, 0, False])
        if count and cell.cell_type == "code":
            # On standard error when what was dropped was: a test cell that wrote there still fails.
            cell.outputs.append(NotebookNode(output_type="stream", name="stderr" if stderr else "stdout",
                                             text=f"\n... {count:,} more outputs ({size:,} characters) dropped by the "
                                                  "grader as they arrived ...\n"))

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
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
            self._note_dropped(cell, cell_index)
            return cell
        except (DeadKernelError, CellTimeoutError) as error:
            self._note_dropped(cell, cell_index)
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


def _size(content):
    """Characters an output message would keep: its text, or its data and metadata."""
    if "text" in content:
        return len(content["text"])
    data = content.get("data", {})
    return sum(len(v) if isinstance(v, str) else len(str(v)) for v in data.values()) + len(str(content.get("metadata", "")))


def _cut(text, limit):
    return text if len(text) <= limit else text[:limit] + f" ... [{len(text) - limit:,} characters cut by the grader]"


def _error(name, message):
    return NotebookNode(output_type="error", ename=name, evalue=message, traceback=[f"{name}: {message}"])
