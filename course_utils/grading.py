"""Pieces of the nbgrader pipeline that nbgrader lacks.

``HideHiddenTests`` runs in ``nbgrader generate_feedback`` (see ``nbgrader_config.py``).
By default the feedback students receive is the autograded notebook as it is: hidden
tests in full, and the tracebacks of failed ones quoting their source. This preprocessor
removes the hidden region of every cell (as ``ClearHiddenTests`` does when releasing) and,
in those cells, reduces an error's traceback to its type and message, which the
instructor wrote for the student; the grades are unchanged.
"""

from nbgrader.preprocessors import ClearHiddenTests


class HideHiddenTests(ClearHiddenTests):
    """Feedback without hidden tests: neither their source nor tracebacks that quote it."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and self._remove_hidden_test_region(cell):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
