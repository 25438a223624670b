"""A whole class on a real JupyterHub (deploy/hub), from release to feedback.

The test starts the hub on 127.0.0.1 with the course's ``deploy/hub/jupyterhub_config.py``
(plus an API token for itself), configurable-http-proxy from the npm registry, and three
real accounts it creates: an instructor and two students. Then: the instructor releases
ex06 through nbgrader's exchange; each student's server is spawned; each student fetches it
through their server's assignment-list API (what JupyterLab's Assignments panel calls),
solves or half-solves it, and submits (alice twice, bob after the due date); the instructor
collects, autogrades in the sandbox, generates and releases feedback; each student fetches
their own feedback, and only their own. A browser logs in as a student with the account's
password and opens the assignment list. It needs root (accounts), npm and chromium; CI has
them, elsewhere it is skipped, saying what is missing.
"""

import hashlib
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_grading import COURSE_ID
from helpers import free_port, required, solved, supported_pythons

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
DEPLOY = ROOT / "deploy" / "hub"
MACS = "ex06_counting_macs"
TEACHER, ALICE, BOB = "cti-teacher", "cti-alice", "cti-bob"
pytestmark = [pytest.mark.root, pytest.mark.browser, pytest.mark.network, pytest.mark.sandbox, pytest.mark.slow,
              pytest.mark.usefixtures("sandbox_required")]


def world_runnable(path):
    """Whether every account can run the program at ``path`` (each folder above it searchable)."""
    path = Path(os.path.realpath(path))
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [path, *path.parents])


def shared_environment():
    """A course environment every account can run: this one where it can, else one made
    (once per pyproject.toml) with a system Python, as an instructor would in /opt."""
    if world_runnable(sys.executable):
        return Path(sys.prefix)
    candidates = [f"/usr/bin/python{version}" for version in reversed(supported_pythons())]
    python = next((p for p in candidates if os.path.exists(p) and world_runnable(p)), None)
    if python is None:
        required("no Python every account can run (this one is under a private folder); "
                 "Debian: apt install python3-venv")
    venv = ROOT / ".hub" / "venv"
    stamp = venv / f".installed-{hashlib.sha256((ROOT / 'pyproject.toml').read_bytes()).hexdigest()[:16]}"
    if not stamp.exists():
        subprocess.run([python, "-m", "venv", "--clear", venv], check=True)
        subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[hub]"],
                       check=True, capture_output=True)
        stamp.touch()
    return venv


def proxy():
    """configurable-http-proxy: on PATH, or installed from the npm registry (once)."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return Path(found).parent
    prefix = ROOT / ".hub" / "chp"
    program = prefix / "node_modules" / ".bin" / "configurable-http-proxy"
    if not program.exists():
        if not shutil.which("npm"):
            required("no configurable-http-proxy and no npm to install it")
        subprocess.run(["npm", "install", "--prefix", prefix, "--no-audit", "--no-fund", "--silent",
                        "configurable-http-proxy@5"], check=True, capture_output=True)
    return program.parent


class Hub:
    """The running hub, and what the test does through it and as its accounts."""

    def __init__(self, url, token, venv, env):
        self.url, self.token, self.venv, self.env = url, token, venv, env
        self.user_tokens = {}

    def api(self, method, path, token=None, data=None, form=None):
        body = json.dumps(data).encode() if data is not None else None
        headers = {"Authorization": f"token {token or self.token}"}
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                text = response.read().decode()
                return response.status, (json.loads(text) if text.strip().startswith(("{", "[")) else text)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except urllib.error.URLError as error:  # not listening yet
            return 0, str(error)

    def spawn(self, user):
        """Start ``user``'s server; returns the seconds until it is ready."""
        start = time.perf_counter()
        status, _ = self.api("POST", f"/hub/api/users/{user}/server")
        assert status in (201, 202), status
        while True:
            _, info = self.api("GET", f"/hub/api/users/{user}")
            if info["servers"].get("", {}).get("ready"):
                break
            assert time.perf_counter() - start < 120, f"{user}'s server did not start"
            time.sleep(0.2)
        seconds = time.perf_counter() - start
        _, made = self.api("POST", f"/hub/api/users/{user}/tokens", data={"note": "test"})
        self.user_tokens[user] = made["token"]
        return seconds

    def server(self, user, method, path, **kwargs):
        return self.api(method, f"/user/{user}/{path}", token=self.user_tokens[user], **kwargs)

    def as_user(self, user, *command, cwd=None):
        """Run a command as ``user``, with the environment their server has."""
        home = Path(os.path.expanduser(f"~{user}"))
        env = {**self.env, "HOME": str(home), "USER": user,
               "JUPYTER_CONFIG_PATH": os.pathsep.join(
                   [str(DEPLOY / ("instructor" if user == TEACHER else "student"))]
                   + ([self.env["COURSE_DIR"]] if user == TEACHER else []))}
        return subprocess.run(["runuser", "-u", user, "--", *map(str, command)], cwd=cwd or home, env=env,
                              capture_output=True, text=True)


@pytest.fixture(scope="module")
def hub():
    if os.geteuid() != 0:
        required("the hub test creates system accounts: it must run as root")
    venv, chp = shared_environment(), proxy()
    place = Path(tempfile.mkdtemp(prefix="course-hub-"))
    place.chmod(0o755)
    passwords = {user: secrets.token_urlsafe(12) for user in (TEACHER, ALICE, BOB)}
    for user, password in passwords.items():
        subprocess.run(["userdel", "-r", user], capture_output=True)  # left by an interrupted run
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", user], check=True)
        subprocess.run(["chpasswd"], input=f"{user}:{password}\n", text=True, check=True)
    course = Path(os.path.expanduser(f"~{TEACHER}")) / "course"
    course.mkdir()
    from course_grading import pipeline
    pipeline.copy_course(course, ROOT)
    subprocess.run(["chown", "-R", f"{TEACHER}:{TEACHER}", course], check=True)
    token = secrets.token_hex(16)
    port = free_port()
    env = {**os.environ, "COURSE_INSTRUCTORS": TEACHER, "COURSE_STUDENTS": f"{ALICE},{BOB}",
           "COURSE_VENV": str(venv), "COURSE_EXCHANGE": str(place / "exchange"),
           "COURSE_HUB_STATE": str(place / "state"), "COURSE_HUB_PORT": str(port), "COURSE_DIR": str(course),
           "COURSE_TEST_TOKEN": token, "PATH": f"{chp}:{venv / 'bin'}:{os.environ['PATH']}"}
    (place / "test_config.py").write_text(
        "import os\n"
        f"load_subconfig({str(DEPLOY / 'jupyterhub_config.py')!r})\n"
        "# The test's own API token, with the admin role.\n"
        "c.JupyterHub.services = [{'name': 'course-test', 'api_token': os.environ['COURSE_TEST_TOKEN']}]\n"
        "c.JupyterHub.load_roles = [{'name': 'admin', 'services': ['course-test']}]\n"
        f"c.JupyterHub.hub_port = {free_port()}\n"
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'\n")
    subprocess.run([DEPLOY / "prepare"], env=env, check=True, capture_output=True)
    log = open(place / "hub.log", "w")
    process = subprocess.Popen([venv / "bin" / "jupyterhub", "-f", place / "test_config.py"], cwd=place / "state",
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    the_hub = Hub(f"http://127.0.0.1:{port}", token, venv, env)
    the_hub.passwords, the_hub.place, the_hub.course, the_hub.log = passwords, place, course, place / "hub.log"
    try:
        deadline = time.monotonic() + 60
        while the_hub.api("GET", "/hub/api/")[0] != 200:
            assert process.poll() is None and time.monotonic() < deadline, (place / "hub.log").read_text()[-3000:]
            time.sleep(0.2)
        yield the_hub
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        for user in passwords:
            subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
            subprocess.run(["userdel", "-r", user], capture_output=True)
        log.close()
        shutil.rmtree(place, ignore_errors=True)


class Browser:
    """Headless chromium, driven as a student: the hub's login page, JupyterLab, the
    Assignments panel of nbgrader."""

    def __init__(self, hub, user):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            required("no chromium on PATH (apt-get install chromium, as .ci/run does)")
        from playwright.sync_api import sync_playwright
        self.hub, self.user = hub, user
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(
            executable_path=chromium, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-extensions", "--no-first-run"])
        self.page = self.browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.set_default_timeout(60_000)

    def log_in(self):
        page = self.page
        page.goto(f"{self.hub.url}/hub/login")
        page.fill("#username_input", self.user)
        page.fill("#password_input", self.hub.passwords[self.user])
        page.click("#login_submit")
        page.wait_for_url(f"**/user/{self.user}/lab**")
        page.locator(".jp-LabShell").wait_for()

    def open_assignments(self):
        page = self.page
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
        page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()

    def click_in_row(self, assignment, button):
        """Click ``button`` ("Fetch", "Submit") on the assignment's row, and wait for the list to
        show the outcome."""
        page = self.page
        try:
            row = page.locator(".list_item", has_text=assignment).filter(has=page.get_by_role("button", name=button))
            row.get_by_role("button", name=button).first.click()
            if button == "Fetch":
                page.locator("#fetched_assignments_list .list_item", has_text=assignment).first.wait_for()
            else:
                page.locator("#submitted_assignments_list .list_item", has_text=assignment).first.wait_for()
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"hub-{self.user}-{button}.png"))
            (ARTIFACTS / f"hub-{self.user}-{button}.html").write_text(page.content())
            raise

    def close(self):
        self.browser.close()
        self.playwright.stop()


def lab_disabled(page):
    """The JupyterLab extensions a lab page disables, from its page configuration."""
    start = page.index('<script id="jupyter-config-data" type="application/json">')
    config = json.loads(page[page.index(">", start) + 1:page.index("</script>", start)])
    return set(config.get("disabledExtensions", []))


def test_a_class_from_release_to_feedback(hub):
    timings = {}
    start = time.perf_counter()
    teacher = hub.course

    # The instructor releases the assignment to the exchange, with a due date set later.
    for command in (["db", "assignment", "add", MACS], ["generate_assignment", MACS, "--force"],
                    ["release_assignment", MACS, "--force"]):
        done = hub.as_user(TEACHER, hub.venv / "bin" / "nbgrader", *command, cwd=teacher)
        assert done.returncode == 0, done.stderr[-2000:]

    for user in (ALICE, BOB, TEACHER):
        timings[user] = hub.spawn(user)
    assert hub.server(ALICE, "GET", "formgrader")[0] == 404, "a student's server has no formgrader"
    assert hub.server(TEACHER, "GET", "formgrader")[0] == 200
    disabled = {user: lab_disabled(hub.server(user, "GET", "lab")[1]) for user in (ALICE, TEACHER)}
    assert {"@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:course-list"} <= disabled[ALICE], disabled
    assert "@jupyter/nbgrader:create-assignment" not in disabled[TEACHER], disabled

    # Alice fetches it through her server's assignment-list API, as the Assignments panel does;
    # bob through that panel in a browser, after logging in with his password.
    status, listed = hub.server(ALICE, "GET", f"assignments?course_id={COURSE_ID}")
    assert status == 200 and [a["assignment_id"] for a in listed["value"]] == [MACS], listed
    status, fetched = hub.server(ALICE, "POST", "assignments/fetch",
                                 form={"course_id": COURSE_ID, "assignment_id": MACS})
    assert status == 200 and fetched["success"], fetched
    browser = Browser(hub, BOB)
    browser.log_in()
    browser.open_assignments()
    browser.click_in_row(MACS, "Fetch")
    assert hub.server(BOB, "GET", f"api/contents/{MACS}/{MACS}.ipynb")[0] == 200, "fetched into bob's home"

    def save(user, answers):
        content = {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(solved(MACS, answers)))}
        status, _ = hub.server(user, "PUT", f"api/contents/{MACS}/{MACS}.ipynb", data=content)
        assert status == 200

    def submit(user):
        status, submitted = hub.server(user, "POST", "assignments/submit",
                                       form={"course_id": COURSE_ID, "assignment_id": MACS})
        assert status == 200 and submitted["success"], submitted

    save(ALICE, {"q1-answer"})
    submit(ALICE)
    save(ALICE, {"q1-answer", "q2-answer", "q3-answer"})  # her second submission is the one graded
    submit(ALICE)
    time.sleep(1.1)  # the due date is set to the second: a second after her, before bob
    due = datetime.now(timezone.utc)
    time.sleep(1.1)
    save(BOB, {"q1-answer"})
    browser.open_assignments()
    browser.click_in_row(MACS, "Submit")
    browser.close()
    done = hub.as_user(TEACHER, hub.venv / "bin" / "nbgrader", "db", "assignment", "add", MACS,
                       f"--duedate={due.strftime('%Y-%m-%d %H:%M:%S')} UTC", cwd=teacher)
    assert done.returncode == 0, done.stderr[-2000:]

    # Students cannot list the exchange's submissions, nor read each other's home.
    inbound = Path(hub.env["COURSE_EXCHANGE"]) / COURSE_ID / "inbound"
    probe = ("import glob, os, sys\n"
             "def tries(f):\n"
             "    try:\n        return repr(f())\n"
             "    except OSError as e:\n        return type(e).__name__\n"
             f"print(tries(lambda: os.listdir({str(inbound)!r})))\n"
             f"print(glob.glob({str(inbound)!r} + '/{ALICE}+*'))\n"
             f"print(tries(lambda: os.listdir(os.path.expanduser('~{ALICE}'))))\n")
    seen = hub.as_user(BOB, hub.venv / "bin" / "python", "-c", probe)
    assert seen.stdout.split("\n")[:3] == ["PermissionError", "[]", "PermissionError"], seen

    # The instructor collects, autogrades in the sandbox (as root: the sandbox's cgroups),
    # generates and releases feedback.
    done = hub.as_user(TEACHER, hub.venv / "bin" / "nbgrader", "collect", MACS, cwd=teacher)
    assert done.returncode == 0, done.stderr[-2000:]
    grading = subprocess.run([sys.executable, "-m", "course_grading.cli", "--root", teacher, "autograde", MACS,
                              "--jobs", "2"], capture_output=True, text=True, env={**os.environ, "COURSE_OFFLINE": "1"})
    assert grading.returncode == 0 and "sandboxed (bubblewrap" in grading.stdout, grading.stdout + grading.stderr
    subprocess.run(["chown", "-R", f"{TEACHER}:{TEACHER}", teacher], check=True)
    with Gradebook(f"sqlite:///{teacher}/course/gradebook.db") as gb:
        results = {user: (gb.find_submission(MACS, user).score, gb.find_submission(MACS, user).total_seconds_late > 0)
                   for user in (ALICE, BOB)}
        when = {user: (str(gb.find_submission(MACS, user).timestamp), str(gb.find_submission(MACS, user).duedate))
                for user in (ALICE, BOB)}
    assert results == {ALICE: (6, False), BOB: (3, True)}, when  # question 1 is worth 3 of 6
    for command in (["generate_feedback", MACS, "--force"], ["release_feedback", MACS]):
        done = hub.as_user(TEACHER, hub.venv / "bin" / "nbgrader", *command, cwd=teacher)
        assert done.returncode == 0, done.stderr[-2000:]
    feedback = Path(hub.env["COURSE_EXCHANGE"]) / COURSE_ID / "feedback"
    seen = hub.as_user(BOB, hub.venv / "bin" / "python", "-c",
                       f"import os\ntry:\n    print(os.listdir({str(feedback)!r}))\nexcept OSError as e:\n"
                       "    print(type(e).__name__)")
    assert seen.stdout.strip() == "PermissionError", seen

    # Each student fetches their own feedback, and only theirs.
    for user, score in ((ALICE, "6.0 / 6.0"), (BOB, "3.0 / 6.0")):
        status, fetched = hub.server(user, "POST", "assignments/fetch_feedback",
                                     form={"course_id": COURSE_ID, "assignment_id": MACS})
        assert status == 200 and fetched["success"], fetched
        pages = hub.as_user(user, "find", f"{MACS}/feedback", "-name", "*.html").stdout.splitlines()
        assert len(pages) == 1, pages  # the graded submission's: alice's second
        latest = hub.as_user(user, "cat", pages[0]).stdout
        assert score in latest and "BEGIN HIDDEN TESTS" not in latest, (user, score)

    timings["whole class"] = time.perf_counter() - start
    print("\n" + ", ".join(f"{name}: {seconds:.1f} s" for name, seconds in timings.items()))
