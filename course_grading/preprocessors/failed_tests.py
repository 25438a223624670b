"""A test cell that raised, or wrote to standard error, scores 0, whatever it displayed first."""

from nbgrader.preprocessors import NbGraderPreprocessor


class ErrorsFailTests(NbGraderPreprocessor):
    """Drops the results displayed in an instructor's test cell that also failed.

    nbgrader reads a test cell's outputs in order and stops at the first error (0 points) or the
    first displayed result (partial credit when it is a number, full marks otherwise), so a
    student's function that calls ``sys.displayhook("ok")`` before raising scores full marks
    for a test it fails. A test cell with an error or any standard error here keeps those and
    its printed text, and loses its results: it scores 0, as it should, and its feedback shows
    why. Cells that did not fail, and their partial credit, are unchanged.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            return cell, resources
        outputs = cell.get("outputs", [])
        if any(o.output_type == "error" or (o.output_type == "stream" and o.get("name") == "stderr") for o in outputs):
            cell.outputs = [o for o in outputs if o.output_type != "execute_result"]
        return cell, resources
