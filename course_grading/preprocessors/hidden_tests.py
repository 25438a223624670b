"""Feedback without the hidden tests: nbgrader's own feedback shows them in full."""

import copy
import re

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import Integer

REDACTED = "[output removed by the grader: it held lines of the hidden tests]\n"
_SPACE = re.compile(r"\s+")


def _squeezed(text):
    return _SPACE.sub("", text)


class HideHiddenTests(ClearHiddenTests):
    """Feedback without hidden tests: neither their source nor anything that shows it.

    - Removes the hidden region of every instructor's test cell, as ``ClearHiddenTests`` does
      when releasing.
    - Of such a cell's outputs, keeps the errors only, each as its type and message (the
      message the instructor wrote for the student): anything else it showed came from the
      student's code while the hidden tests ran.
    - Redacts every output of every cell that holds a line of the hidden tests (compared
      without white space), saying so: while the tests run, a submission's code can reach
      their text through its own kernel (an audit hook, the caller's frames, IPython's input
      history, ``linecache``, an exception whose message quotes the caller) and print it, or
      keep it for a later cell.

    The grades are unchanged. The markers are honoured only in the instructor's cells: a
    student's cell that contains their text (a stray ``### BEGIN HIDDEN TESTS``) is shown as
    the student wrote it, where nbgrader's ``ClearHiddenTests`` raises and the student gets
    no feedback.
    """

    min_length = Integer(12, help="hidden lines shorter than this, without white space, are not looked "
                                  "for in outputs (a bare 'else:' would redact everything)").tag(config=True)

    def preprocess(self, nb, resources):
        self.hidden = [line for cell in nb.cells if self._is_test(cell) for line in self._hidden_region(cell)]
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        if self._is_test(cell) and self._hidden_region(cell):
            self._remove_hidden_test_region(cell)
            cell.outputs = [NotebookNode(output_type="error", ename=o.ename, evalue=o.evalue,
                                         traceback=[f"{o.ename}: {o.evalue}"])
                            for o in cell.get("outputs", []) if o.output_type == "error"]
        cell.outputs = [self._redacted(output) for output in cell.get("outputs", [])]
        return cell, resources

    def _is_test(self, cell):
        meta = cell.metadata.get("nbgrader", {})
        return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")

    def _hidden_region(self, cell):
        """The lines of a cell's hidden region (squeezed), or [] when it has none or its markers
        do not pair up (then they are not the instructor's)."""
        probe = copy.deepcopy(cell)
        try:
            if not self._remove_hidden_test_region(probe):
                return []
        except RuntimeError:
            return []
        kept = set(probe.source.split("\n"))
        return [_squeezed(line) for line in cell.source.split("\n")
                if line not in kept and len(_squeezed(line)) >= self.min_length
                and self.begin_test_delimeter not in line and self.end_test_delimeter not in line]

    def _redacted(self, output):
        if not self.hidden or not any(line in _squeezed(_text(output)) for line in self.hidden):
            return output
        name = "stderr" if output.output_type == "error" or output.get("name") == "stderr" else "stdout"
        return NotebookNode(output_type="stream", name=name, text=REDACTED)


def _text(output):
    """Everything an output shows, as one string."""
    if output.output_type == "stream":
        return output.get("text", "")
    if output.output_type == "error":
        return "\n".join([output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])])
    return "\n".join(value if isinstance(value, str) else str(value) for value in output.get("data", {}).values())
