"""What the grading tests read in notebooks and feedback pages."""

import html
import re

import nbformat


def hidden_lines(notebook):
    """The non-trivial source lines between BEGIN and END HIDDEN TESTS of a notebook file."""
    lines, inside = [], False
    for cell in nbformat.read(notebook, as_version=4).cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 12:
                lines.append(line.strip())
    return lines


def page_text(page):
    """A feedback page's text: code is syntax-highlighted token by token, so compare this,
    not the markup."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
