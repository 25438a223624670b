"""The student's flow in a real browser: JupyterLab, a lecture, an exercise, Validate.

JupyterLab runs headless on a copy of a lecture and of a solved exercise; Debian's chromium,
driven by playwright (``executable_path``: playwright's own browser download needs a
network), opens each notebook, runs all its cells and saves it; the saved files hold no
error output. Then nbgrader's Validate button on the solved exercise must report success.
A screenshot of each step goes to ``test-artifacts/``.

``.ci/run`` installs chromium. Elsewhere the test is skipped when no chromium is found,
and says so; in CI (``CI=true``) a missing chromium is a failure.
"""

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
LECTURE = ROOT / "lectures" / "00_hello_world.ipynb"
EXERCISE = "ex06_counting_macs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

from helpers import free_port, required, solved  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
if CHROMIUM is None:
    required("no chromium on PATH (apt-get install chromium, as .ci/run does)")

from playwright.sync_api import expect, sync_playwright  # noqa: E402 (only once chromium is known)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a folder with the lecture and the solved exercise."""
    folder = tmp_path_factory.mktemp("student")
    shutil.copy(LECTURE, folder / "lecture.ipynb")
    nbformat.write(solved(EXERCISE), folder / "exercise.ipynb")
    port = free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ, COURSE_FAST="1", COURSE_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.port={port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
               "--allow-root"]
    log = open(folder / "server.log", "w")
    server = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{(folder / 'server.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield folder, url, token
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def page():
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-extensions", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        yield page
        browser.close()


def run_all_and_save(page, path, timeout=300):
    """Run → Run All Cells, then save until every code cell of the file has run."""
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(2)
        page.keyboard.press("Control+s")
        time.sleep(0.5)
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        busy = page.locator(".jp-Notebook-ExecutionIndicator[data-status='busy']").count()
        if code and all(c.execution_count for c in code) and not busy:
            page.keyboard.press("Control+s")
            time.sleep(1)
            return nbformat.read(path, as_version=4)
    raise AssertionError(f"{path.name}: not every cell ran within {timeout} s")


def errors(nb):
    return [(i, o.ename, o.evalue) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.outputs if o.output_type == "error"]


def open_notebook(page, url, token, name):
    # reset: a fresh workspace, with this notebook as the only, active tab.
    page.goto(f"{url}/lab/tree/{name}?reset&token={token}")
    expect(page.locator(".jp-NotebookPanel")).to_have_count(1, timeout=60_000)
    expect(page.locator(".jp-NotebookPanel")).to_be_visible(timeout=60_000)
    # The kernel is up when the status bar says Idle.
    expect(page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle"))).to_be_visible(timeout=120_000)


def test_student_runs_a_lecture_and_an_exercise_then_validates(lab, page):
    folder, url, token = lab
    ARTIFACTS.mkdir(exist_ok=True)

    open_notebook(page, url, token, "lecture.ipynb")
    lecture = run_all_and_save(page, folder / "lecture.ipynb")
    assert errors(lecture) == []
    assert any(o.output_type == "display_data" and "image/png" in o.data
               for c in lecture.cells if c.cell_type == "code" for o in c.outputs), "the lecture drew no figure"
    page.screenshot(path=ARTIFACTS / "student_flow_lecture.png")

    open_notebook(page, url, token, "exercise.ipynb")
    exercise = run_all_and_save(page, folder / "exercise.ipynb")
    assert errors(exercise) == []
    page.screenshot(path=ARTIFACTS / "student_flow_exercise.png")

    page.get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_be_visible(timeout=180_000)
    expect(dialog).to_contain_text("Success! Your notebook passes all the tests.", timeout=180_000)
    page.screenshot(path=ARTIFACTS / "student_flow_validate.png")
