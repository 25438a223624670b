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

# nbgrader runs alembic from the environment's bin folder: it must be on PATH.
export PATH="$VENV/bin:$PATH"
# Quieter TensorFlow: C++ info and warning lines off (kernels inherit this).
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
cd "$ROOT"
