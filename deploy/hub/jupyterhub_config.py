"""JupyterHub for one class on one machine: real accounts, JupyterLab, nbgrader's exchange.

Started by ``deploy/hub/start`` (or ``jupyterhub -f deploy/hub/jupyterhub_config.py`` as root)
with these environment variables:

- ``COURSE_INSTRUCTORS``, ``COURSE_STUDENTS``: comma-separated system account names. Only
  they may log in (PAM: their system passwords); instructors are the hub's admins.
- ``COURSE_VENV``: the course's environment, readable by every account (default
  ``/opt/training-deep-nets/venv``): its ``jupyterhub-singleuser`` serves each user and its
  Python is the notebooks' kernel.
- ``COURSE_EXCHANGE``: nbgrader's exchange (default ``/srv/nbgrader/exchange``), prepared by
  ``deploy/hub/prepare``.
- ``COURSE_DIR``: the instructor's copy of the course (its ``nbgrader_config.py``: solutions,
  gradebook), for the formgrader.
- ``COURSE_HUB_IP``, ``COURSE_HUB_PORT``: where the hub listens (default 127.0.0.1:8000:
  put a TLS proxy in front for a class), ``COURSE_HUB_STATE``: its database and cookie
  secret (default ``/srv/jupyterhub``).

Each user's server runs as that user (``LocalProcessSpawner``) in their home folder, with
JupyterLab. Students get the assignment list and nothing of nbgrader's instructor tools:
no formgrader, no "Create Assignment" panel, no course list (``deploy/hub/student``); the
instructors get the formgrader on their course (``deploy/hub/instructor``).
"""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
c = get_config()  # noqa: F821 (injected by traitlets when it loads this file)


def names(variable):
    return {name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()}


INSTRUCTORS, STUDENTS = names("COURSE_INSTRUCTORS"), names("COURSE_STUDENTS")
if not INSTRUCTORS:
    raise SystemExit("COURSE_INSTRUCTORS is empty: name at least one instructor's account.")
VENV = Path(os.environ.get("COURSE_VENV", "/opt/training-deep-nets/venv"))
EXCHANGE = os.environ.get("COURSE_EXCHANGE", "/srv/nbgrader/exchange")
STATE = Path(os.environ.get("COURSE_HUB_STATE", "/srv/jupyterhub"))

c.JupyterHub.ip = os.environ.get("COURSE_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("COURSE_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")

c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"
c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS
c.Authenticator.admin_users = INSTRUCTORS

c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [str(VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120  # JupyterLab's first start on a busy machine


def role_config(spawner):
    """Each server's nbgrader and Jupyter configuration by role: the folder first on its
    JUPYTER_CONFIG_PATH, the exchange and the course in its environment."""
    instructor = spawner.user.name in INSTRUCTORS
    config = [str(HERE / ("instructor" if instructor else "student"))]
    if instructor and os.environ.get("COURSE_DIR"):
        config.append(os.environ["COURSE_DIR"])
    spawner.environment.update({
        "JUPYTER_CONFIG_PATH": os.pathsep.join(config),
        "COURSE_EXCHANGE": EXCHANGE,
        "PATH": f"{VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    })


c.Spawner.pre_spawn_hook = role_config
