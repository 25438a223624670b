"""Outputs capped in size: nbgrader's ``LimitOutput`` counts lines, so one 100 MB line goes
through to the gradebook's notebook and the feedback page."""

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer


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
