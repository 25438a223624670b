# Sourced by bin/lab and bin/test, with the extras to install as arguments (bin/lab: none,
# the student's set; bin/test: test hub). Creates .venv with the newest supported Python on
# PATH (PYTHON=/path/to/python to choose) and installs the course into it (editable): from
# scratch whenever pyproject.toml or the Python changes, and adds an extra the environment
# lacks. COURSE_GPU=1 adds the NVIDIA GPU extra (Linux): the CUDA libraries for TensorFlow.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# The supported versions, oldest first, from pyproject.toml's classifiers (their one source).
SUPPORTED="$(sed -n 's/^ *"Programming Language :: Python :: \(3\.[0-9]*\)",*$/\1/p' "$ROOT/pyproject.toml" \
  | sort -t. -k2,2n | tr '\n' ' ')"
SUPPORTED="${SUPPORTED% }"
oldest="${SUPPORTED%% *}"
in_words="$(echo "${SUPPORTED% *}" | sed 's/ /, /g') or ${SUPPORTED##* }"  # "3.11, 3.12 or 3.13"

supported() { "$1" -c 'import sys; sys.exit(f"{sys.version_info[0]}.{sys.version_info[1]}" not in sys.argv[1].split())' "$SUPPORTED" 2>/dev/null; }
python="${PYTHON:-}"
if [ -n "$python" ] && ! supported "$python"; then
  echo "PYTHON=$python is not Python $in_words (it says: $("$python" --version 2>&1 || echo 'not found'))." >&2
  exit 1
fi
if [ -z "$python" ]; then
  for candidate in $(printf 'python%s\n' $SUPPORTED | sort -t. -k2,2nr) python3; do  # the newest first
    if command -v "$candidate" >/dev/null && supported "$candidate"; then
      python="$candidate"; break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "The course needs Python $in_words (TensorFlow 2.21 and Keras 3.15); none is on PATH." >&2
  echo "Install one (python.org, Homebrew 'brew install python@$oldest', 'sudo apt install python$oldest', or uv" >&2
  echo "'uv python install $oldest'), or point PYTHON=/path/to/python$oldest at one." >&2
  exit 1
fi

wanted=("$@"); [ "${COURSE_GPU:-0}" = 1 ] && wanted+=(gpu)
version="$("$python" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')"
# The stamp names the pyproject.toml (without the tests' settings, which install nothing) and
# the Python it was made from, and lists the extras installed.
stamp="$VENV/.installed-$( (awk '/^\[/ { skip = /^\[tool\.pytest/ } !skip' "$ROOT/pyproject.toml"; echo "$version") \
  | sha256sum | cut -c1-16)"
have=(); [ -f "$stamp" ] && { read -r -a have <"$stamp" || true; }
missing=(); for extra in ${wanted[@]+"${wanted[@]}"}; do
  [[ " ${have[*]-} " == *" $extra "* ]] || missing+=("$extra")
done
if [ ! -f "$stamp" ] || [ ${#missing[@]} -gt 0 ]; then
  all=($(printf '%s\n' ${have[@]+"${have[@]}"} ${missing[@]+"${missing[@]}"} | sort -u))
  spec="$ROOT"; [ ${#all[@]} -gt 0 ] && spec="$ROOT[$(IFS=,; echo "${all[*]}")]"
  start=$(date +%s)
  if [ ! -f "$stamp" ]; then
    echo "Setting up $VENV with Python $version (a few minutes the first time)..."
    # From scratch: packages left from another Python or another dependency set would linger.
    "$python" -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
  else
    echo "Adding ${missing[*]} to $VENV..."
  fi
  "$VENV/bin/python" -m pip install --quiet -e "$spec"
  echo ${all[@]+"${all[@]}"} >"$stamp"
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
has_fashion() { "$VENV/bin/python" -c 'import sys
from course_utils.datasets import find_source
sys.exit(not find_source("fashion_mnist", local_only=True).real)'; }
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
