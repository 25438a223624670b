"""The grading sandbox on its own: a kernel started by SandboxedKernelManager, one cell at a time."""

import nbformat
import pytest
from nbclient import NotebookClient

from course_grading import sandbox

pytestmark = [pytest.mark.sandbox, pytest.mark.usefixtures("sandbox_required")]


def run(cells, folder, **sandbox_config):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(nb, kernel_manager_class=sandbox.SandboxedKernelManager, timeout=60, allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    for name, value in sandbox_config.items():
        client.config.Sandbox[name] = value
    client.execute()
    return ["".join(o.get("text", "") or o.get("evalue", "") for o in c.outputs) for c in nb.cells]


def test_the_kernel_sees_its_files_and_the_course_environment_only(tmp_path, monkeypatch):
    submission = tmp_path / "submission"
    (submission / "data").mkdir(parents=True)
    (submission / "data" / "points.csv").write_text("1,2\n")
    (submission / "graded.ipynb").write_text("{}")  # the notebook with the hidden tests
    (submission / "link").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "secret.txt").write_text("solutions")
    # A course installed under /tmp (a CI clone): /tmp is the sandbox's own, the course on top.
    course = tmp_path / "course-package"
    course.mkdir()
    (course / "module.txt").write_text("read-only course file")
    paths = sandbox.read_only_paths()
    monkeypatch.setattr(sandbox.bubblewrap, "read_only_paths", lambda: [*paths, str(course)])

    out = run(["import os; print(os.getuid(), os.getcwd())",
               "print(sorted(os.listdir('.')), open('data/points.csv').read())",
               f"print(open({str(course / 'module.txt')!r}).read())",
               f"print(os.path.exists({str(tmp_path / 'secret.txt')!r}), os.path.exists(os.path.expanduser('~root')))",
               f"open({str(course / 'module.txt')!r}, 'a')",
               "open('/tmp/scratch', 'w').write('ok'); print(open('/tmp/scratch').read())"], submission)
    uid, cwd = out[0].split()
    assert int(uid) != 0 and cwd == sandbox.HOME
    assert out[1].startswith("['.ipython', 'data']") and "1,2" in out[1], "files copied, no notebook, no link"
    assert out[2].strip() == "read-only course file"
    assert out[3].split()[0] == "False"
    assert "Permission denied" in out[4] or "Read-only file system" in out[4]
    assert out[5].strip() == "ok"


def test_bad_caps_are_named(tmp_path):
    with pytest.raises(ValueError, match="Sandbox.memory=1000"):
        sandbox.Sandbox(memory=1000).check()
    with pytest.raises(ValueError, match="Sandbox.user='no-such-user'"):
        sandbox.Sandbox(user="no-such-user").check()
    with pytest.raises(ValueError, match="Sandbox.cpus=\\[999\\]"):
        sandbox.Sandbox(cpus=[999]).check()


def test_the_kernel_makes_no_namespaces_and_still_trains(tmp_path):
    """The seccomp filter: no user namespace (root in it would be root over its mounts), no
    mount, no tracing; threads, processes and a Keras training step as usual."""
    out = run(["import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
               "print(libc.unshare(0x10000000), os.strerror(ctypes.get_errno()))",     # CLONE_NEWUSER
               "import subprocess\nprint(subprocess.run(['unshare', '-U', '-r', 'id'], capture_output=True, text=True)"
               ".returncode)",
               "print(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None), os.strerror(ctypes.get_errno()))",
               "print(libc.ptrace(16, 1, None, None), os.strerror(ctypes.get_errno()))",  # PTRACE_ATTACH to init
               "import threading\nthreading.Thread(target=print, args=('thread',)).start()\n"
               "pid = os.fork()\nos._exit(0) if pid == 0 else print('fork', os.waitpid(pid, 0)[1])",
               "import keras, numpy as np\nmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])\n"
               "model.compile('sgd', 'mse')\nprint('loss', model.train_on_batch(np.ones((8, 4)), np.zeros((8, 2))))"],
              tmp_path)
    assert out[0].strip() == "-1 Operation not permitted"
    assert out[1].strip() != "0", "unshare(1) made a user namespace"
    assert out[2].strip() == "-1 Operation not permitted"
    assert out[3].strip() == "-1 Operation not permitted"
    assert "thread" in out[4] and "fork 0" in out[4]
    assert out[5].startswith("loss ")


def test_the_kernel_keeps_to_its_cores(tmp_path):
    """With ``cpus`` set (a worker of ``--jobs``), the cgroup holds the kernel to those cores,
    whatever affinity it asks for."""
    out = run(["import os\ntry:\n    os.sched_setaffinity(0, set(range(os.cpu_count())))\nexcept OSError as e:\n"
               "    print('refused', e.strerror)\nprint(sorted(os.sched_getaffinity(0)))"], tmp_path, cpus=[0])
    assert out[0].strip().endswith("[0]"), out
