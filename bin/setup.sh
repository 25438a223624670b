# Sourced by bin/lab and bin/test: creates .venv with Python 3.11 and installs the course
# into it (editable), once, and again whenever pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

python="${PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python="$candidate"; break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "The course needs Python 3.11: none found as python3.11 or python3 (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi

stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "Setting up $VENV (a few minutes the first time)..."
  start=$(date +%s)
  "$python" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
  echo "Installed in $(( $(date +%s) - start )) s."
fi

# Kernels leave C-level output (TensorFlow's start-up log lines) on the terminal that
# started Jupyter instead of showing it in the notebook as red stderr boxes; Python's own
# warnings and errors still show in the notebook.
mkdir -p "$VENV/etc/ipython"
echo "c.IPKernelApp.capture_fd_output = False" >"$VENV/etc/ipython/ipython_kernel_config.py"

# The real Fashion-MNIST offline: Debian's package dataset-fashion-mnist puts it where the
# loaders look (/usr/share/datasets). Installed where that needs no password (root, or
# sudo -n), tried once per environment; otherwise one line says how to get the real data.
has_fashion() { COURSE_OFFLINE=1 "$VENV/bin/python" -c 'import sys
from course_utils.datasets import find_source
sys.exit(not find_source("fashion_mnist").real)'; }
if ! has_fashion; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
  if [ ! -f "$VENV/.fashion-mnist-tried" ] && command -v apt-get >/dev/null && $sudo true 2>/dev/null; then
    touch "$VENV/.fashion-mnist-tried"
    echo "Installing the real Fashion-MNIST (Debian's dataset-fashion-mnist, 30 MB)..."
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
      || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; } || true
  fi
  has_fashion || echo "Fashion-MNIST: no local copy of the real data. Online, Keras downloads it on first use;" \
    "offline, 'sudo apt-get install dataset-fashion-mnist' (Debian) or COURSE_DATA_DIR (README, 'Data') provide it."
fi

# nbgrader runs alembic from the environment's bin folder: it must be on PATH.
export PATH="$VENV/bin:$PATH"
# Quieter TensorFlow: C++ info and warning lines off (kernels inherit this).
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
cd "$ROOT"
