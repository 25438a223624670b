"""Feedback pages that run and fetch nothing of a submission: nbconvert's sanitiser, on, and
remote images out of markdown."""

import re

from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import Bool

# A markdown image whose address is not data in the page itself: ![text](http://...).
_REMOTE_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?(?!data:)[^)\s>]+>?(?:\s+\"[^\"]*\")?\s*\)")


class SanitizeFeedback(SanitizeHTML):
    """nbconvert's ``SanitizeHTML``, enabled (nbconvert's preprocessors are off by default),
    on markdown cells, raw cells and rich outputs: scripts, event attributes and HTML images
    escaped, JavaScript and SVG outputs dropped. nbgrader's feedback template renders markdown
    without nbconvert's ``clean_html``, so a markdown image (``![](http://...)``), which is not
    HTML for the sanitiser, would be fetched when the page opens: it is shown as its text."""

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "markdown":
            cell.source = _REMOTE_IMAGE.sub(lambda m: f"[image not shown: {m.group(1) or 'no description'}]",
                                            cell.source)
        return super().preprocess_cell(cell, resources, cell_index)
