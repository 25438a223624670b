"""The suite's split among pytest-xdist's workers (conftest.py, --dist loadgroup): each
module's tests on one worker, a group named by a test on one worker, on a toy suite."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_module_and_a_named_group_each_run_on_one_worker(tmp_path):
    shutil.copy(ROOT / "conftest.py", tmp_path)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider --dist loadgroup\n"
                                         "markers =\n    slow: slow\n")
    record = textwrap.dedent("""
        import json, os, pytest

        def record(name):
            with open(os.path.join(os.path.dirname(__file__), "seen.jsonl"), "a") as out:
                out.write(json.dumps([name, os.environ["PYTEST_XDIST_WORKER"]]) + "\\n")
    """)
    for module in ("alpha", "beta"):
        (tmp_path / f"test_{module}.py").write_text(record + textwrap.dedent(f"""
            @pytest.mark.parametrize("n", range(6))
            def test_{module}(n):
                record("{module}")
        """))
    (tmp_path / "test_batch.py").write_text(record + textwrap.dedent("""
        @pytest.mark.parametrize("group, n", [pytest.param(g, n, marks=pytest.mark.xdist_group(g))
                                              for g in ("one", "two") for n in range(6)])
        def test_batch(group, n):
            record(group)
    """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}  # not this run's worker
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "3", str(tmp_path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    workers = {}
    for line in (tmp_path / "seen.jsonl").read_text().splitlines():
        name, worker = json.loads(line)
        workers.setdefault(name, set()).add(worker)
    assert set(workers) == {"alpha", "beta", "one", "two"}
    assert len(set().union(*workers.values())) > 1, "the toy suite was not spread over workers"
    assert all(len(seen) == 1 for seen in workers.values()), workers
