"""bin/setup.sh picks a supported Python or says which ones work; the failing paths stop
before touching .venv."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fake_python(folder, name, version):
    """An executable that answers like a Python of ``version`` to what setup.sh asks."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    major_minor = ".".join(version.split(".")[:2])
    path.write_text(f"""#!/bin/sh
if [ "$1" = --version ]; then echo "Python {version}"; exit 0; fi
case " $3 " in *" {major_minor} "*) exit 0;; *) exit 1;; esac
""")
    path.chmod(0o755)
    return path


def setup(env):
    return subprocess.run(["bash", "-c", f"source {ROOT / 'bin' / 'setup.sh'}"], capture_output=True,
                          text=True, timeout=60, env=env)


def test_an_unsupported_python_given_is_refused_by_name(tmp_path):
    python = fake_python(tmp_path / "bin", "python3.10", "3.10.14")
    out = setup({**os.environ, "PYTHON": str(python)})
    assert out.returncode == 1
    assert f"PYTHON={python} is not Python 3.13 3.12 3.11 (it says: Python 3.10.14)" in out.stderr


def test_no_supported_python_on_path_says_which_work_and_how_to_get_one(tmp_path):
    fake_python(tmp_path / "bin", "python3", "3.9.18")
    for tool in ("bash", "sha256sum", "cut", "cat", "dirname"):  # what the script needs, no Python
        (tmp_path / "bin" / tool).symlink_to(subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip())
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"} | {"PATH": str(tmp_path / "bin")}
    out = setup(env)
    assert out.returncode == 1
    assert "needs Python 3.11, 3.12 or 3.13" in out.stderr and "PYTHON=" in out.stderr
