"""MNIST, Fashion-MNIST and CIFAR-10, exactly as Keras returns them, even offline.

``load_mnist()``, ``load_fashion_mnist()`` and ``load_cifar10()`` return
``(x_train, y_train), (x_test, y_test)`` with the shapes and dtypes of
``keras.datasets.<name>.load_data()``. The data comes from the first of:

1. ``COURSE_DATA_DIR``: a folder holding the files in their real formats: ``mnist.npz``;
   the four Fashion-MNIST idx ``.gz`` files (in the folder or in ``fashion-mnist/``);
   ``cifar-10-batches-py/``.
2. The system's data folders, ``datasets/`` under each of ``$XDG_DATA_DIRS``
   (default ``/usr/local/share:/usr/share``): Debian's package ``dataset-fashion-mnist``
   installs the real Fashion-MNIST in ``/usr/share/datasets/fashion-mnist``.
3. Keras's cache (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``), then Keras's
   download. ``COURSE_OFFLINE=1`` skips the download: no network attempt, no time-out.
4. A synthetic stand-in (:mod:`course_utils.standin`) with the same shapes, dtypes and
   class balance, generated once and cached in ``COURSE_CACHE_DIR``
   (default ``~/.cache/course_utils``).

Every load says in one line which data it returned: the real data and where from
(printed), or the stand-in and why (a warning). :func:`find_source` tells the same
without loading anything. A file that is there but unreadable raises
:class:`DatasetFileError` naming the file: silently falling back to the stand-in would
hide the problem.

Example::

    (X_train_full, y_train_full), (X_test, y_test) = load_fashion_mnist()
    # Fashion-MNIST: the real data, from /usr/share/datasets/fashion-mnist.
    (X_train, y_train), (X_valid, y_valid) = split_validation(X_train_full, y_train_full)
    scaler = Standardizer().fit(X_train)
    X_train_scaled = scaler.transform(X_train)
"""

import gzip
import logging
import os
import pickle
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_utils import standin
from course_utils.arguments import whole_number
from course_utils.switches import switch

log = logging.getLogger(__name__)

STANDIN_VERSION = 3  # bump when the generator changes, so old caches are not reused

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]


class DatasetFileError(ValueError):
    """A dataset file exists but is not in the format it should be."""


def load_mnist():
    """MNIST, as ``keras.datasets.mnist.load_data()`` returns it, from the first source there is.

    The sources are tried in the order the module's docstring gives (``COURSE_DATA_DIR``,
    the system's data folders, Keras's cache or download, else the synthetic stand-in), and
    one line says which data was returned (printed for the real data, a warning for the
    stand-in); :func:`last_source` tells it afterwards.

    Returns:
        A tuple ``((x_train, y_train), (x_test, y_test))`` of NumPy arrays: ``x`` uint8
        images of shape (60000, 28, 28) / (10000, 28, 28), pixels 0-255; ``y`` uint8
        digit labels 0-9 of shape (60000,) / (10000,).

    Raises:
        DatasetFileError: a ``mnist.npz`` that is there but unreadable, named.

    Example:
        (x_train, y_train), (x_test, y_test) = load_mnist()
        x_train.shape, y_train.shape  # ((60000, 28, 28), (60000,))
    """
    return _load("mnist")


def load_fashion_mnist():
    """Fashion-MNIST, as ``keras.datasets.fashion_mnist.load_data()`` returns it, from the first
    source there is (see :func:`load_mnist`).

    Same shapes and dtypes as MNIST; the class names are in ``FASHION_MNIST_CLASSES``.

    Returns:
        A tuple ``((x_train, y_train), (x_test, y_test))`` of NumPy arrays: ``x`` uint8
        images of shape (60000, 28, 28) / (10000, 28, 28), pixels 0-255; ``y`` uint8 class
        indices 0-9 of shape (60000,) / (10000,).

    Raises:
        DatasetFileError: an idx file that is there but unreadable, named.

    Example:
        (X_train_full, y_train_full), (X_test, y_test) = load_fashion_mnist()
        FASHION_MNIST_CLASSES[y_train_full[0]]  # 'Ankle boot' on the real data
    """
    return _load("fashion_mnist")


def load_cifar10():
    """CIFAR-10, as ``keras.datasets.cifar10.load_data()`` returns it, from the first source
    there is (see :func:`load_mnist`); the class names are in ``CIFAR10_CLASSES``.

    Returns:
        A tuple ``((x_train, y_train), (x_test, y_test))`` of NumPy arrays: ``x`` uint8
        images of shape (50000, 32, 32, 3) / (10000, 32, 32, 3), pixels 0-255; ``y`` uint8
        class indices 0-9 of shape (N, 1): (50000, 1) / (10000, 1).

    Raises:
        DatasetFileError: a ``cifar-10-batches-py/`` file that is there but unreadable, named.

    Example:
        (X_train_full, y_train_full), (X_test, y_test) = load_cifar10()
        X_train_full.shape, y_train_full.shape  # ((50000, 32, 32, 3), (50000, 1))
    """
    return _load("cifar10")


def split_validation(x, y, n_valid=5_000):
    """Split a training set: the first ``n_valid`` rows are validation, the rest training.

    The convention of the lectures (55,000 train / 5,000 validation on MNIST-sized sets).

    Args:
        x: the inputs, an array (or anything sliceable with ``len``) of samples along axis 0.
        y: the labels, as many rows as ``x``.
        n_valid: how many rows to hold out, an integer from 1 to ``len(x) - 1``.

    Returns:
        A tuple ``((x_train, y_train), (x_valid, y_valid))``: slices of ``x`` and ``y``,
        ``x[n_valid:]``, ``y[n_valid:]`` and ``x[:n_valid]``, ``y[:n_valid]`` (same dtypes).

    Raises:
        ValueError: ``x`` and ``y`` of different lengths, or an ``n_valid`` out of range.

    Example:
        (X_train_full, y_train_full), (X_test, y_test) = load_fashion_mnist()
        (X_train, y_train), (X_valid, y_valid) = split_validation(X_train_full, y_train_full)
        len(X_train), len(X_valid)  # (55000, 5000)
    """
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}.")
    n_valid = whole_number("n_valid", n_valid, high=len(x) - 1)
    return (x[n_valid:], y[n_valid:]), (x[:n_valid], y[:n_valid])


class Standardizer:
    """Per-pixel standardisation: ``(x - mean) / std`` with the training set's statistics.

    ``mean`` and ``std`` are taken over the samples (axis 0), one per pixel and channel.
    A pixel that never varies (MNIST's corners) gets ``std = 1`` instead of a division by
    zero. NumPy in, float32 NumPy out; inside a model, ``keras.layers.Normalization`` does
    the same job as a layer, this class is for preparing arrays.

    It takes no arguments. ``fit(x)`` computes ``mean`` and ``std`` from ``x`` (at least 2
    samples along axis 0) and returns the standardizer itself; ``transform(x)`` returns
    ``(x - mean) / std`` as float32, for samples of the shape it was fitted on (a
    ``RuntimeError`` before ``fit``, a ``ValueError`` for another shape).

    Example:
        scaler = Standardizer().fit(X_train)
        X_train_s, X_valid_s = scaler.transform(X_train), scaler.transform(X_valid)
    """

    def __init__(self):
        self.mean = self.std = None

    def fit(self, x):
        x = np.asarray(x, np.float32)
        if x.ndim < 2 or len(x) < 2:
            raise ValueError(f"x has shape {x.shape}: expected at least 2 samples along axis 0.")
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.std = np.where(std > 0, std, 1).astype(np.float32)
        return self

    def transform(self, x):
        if self.mean is None:
            raise RuntimeError("Standardizer.transform() called before fit().")
        x = np.asarray(x, np.float32)
        if x.shape[1:] != self.mean.shape:
            raise ValueError(f"x has samples of shape {x.shape[1:]}, but the standardizer "
                             f"was fitted on samples of shape {self.mean.shape}.")
        return (x - self.mean) / self.std


# --------------------------------------------------------------------------- sources

@dataclass(frozen=True)
class Source:
    """Where a loader takes a dataset from.

    ``kind`` is one of ``"course_data_dir"``, ``"system"``, ``"keras_cache"`` (real files
    in ``folder``), ``"download"`` (Keras would download the real data) or ``"standin"``
    (``reason`` says why).
    """

    title: str
    kind: str
    folder: Path | None = None
    reason: str = ""

    @property
    def real(self):
        return self.kind != "standin"

    def describe(self):
        """The one line every load prints: ``"<title>: the real data, from <folder>."``, or
        ``"<title>: a synthetic stand-in, not the real data (<reason>)."``. The home folder
        is written ``~``, so a notebook's saved output names no user's folder."""
        if self.kind == "standin":
            return f"{self.title}: a synthetic stand-in, not the real data ({self.reason})."
        if self.kind == "download":
            return f"{self.title}: the real data, downloaded by Keras into {_tilde(keras_cache_dir())}."
        via = {"course_data_dir": " (COURSE_DATA_DIR)", "system": "", "keras_cache": " (Keras's cache)"}
        return f"{self.title}: the real data, from {_tilde(self.folder)}{via[self.kind]}."


def find_source(name, *, local_only=False):
    """The :class:`Source` that ``load_<name>()`` would use now, without reading the data.

    ``name`` is ``"mnist"``, ``"fashion_mnist"`` or ``"cifar10"``. A download is only
    reported as what would be tried (online mode); whether it would succeed is not known.
    ``local_only=True`` answers as if offline: real files on this machine, or the stand-in.
    """
    if name not in _SPECS:
        raise ValueError(f"name={name!r}: expected one of {', '.join(map(repr, _SPECS))}.")
    spec = _SPECS[name]
    for kind, folder in _folders():
        found = spec["find"](folder)
        if found is not None:
            return Source(spec["title"], kind, found)
    if not (local_only or _offline()):
        return Source(spec["title"], "download")
    return Source(spec["title"], "standin", reason=_no_files_reason(spec))


def ready_offline(name):
    """Make ``load_<name>()`` work with neither network nor a writable cache, and return
    the :class:`Source` it will then use: the real data where this machine has it (online,
    Keras downloads it now), else the stand-in, generated and cached now.

    A grading sandbox needs this beforehand: it has no network and reads the caches only.
    """
    source = find_source(name, local_only=True)
    if not source.real and not _standin_path(name).exists():
        _load(name)
        source = find_source(name, local_only=True)
    return source


def system_data_dirs():
    """``datasets/`` under each of ``$XDG_DATA_DIRS`` (the freedesktop.org base-directory
    variable, default ``/usr/local/share:/usr/share``), where system packages put data."""
    dirs = os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
    return [Path(d) / "datasets" for d in dirs.split(os.pathsep) if d]


def _folders():
    """``(kind, folder)`` in the order the loaders look: COURSE_DATA_DIR, system, Keras."""
    data_dir = os.environ.get("COURSE_DATA_DIR")
    if data_dir:
        yield "course_data_dir", Path(data_dir)
    for folder in system_data_dirs():
        yield "system", folder
    yield "keras_cache", keras_cache_dir()


def data_dirs():
    """Every folder the loaders read: those where they look for the real data, in that order
    (``COURSE_DATA_DIR``, the system's, Keras's cache), then the stand-ins' cache. A process
    that is to load the datasets, such as a grading sandbox's kernel, must be able to read them."""
    return [folder for _, folder in _folders()] + [standin_cache_dir()]


def data_env():
    """The environment variables that make the loaders of another process (a kernel started
    with a clean environment) look in the same folders as this one: ``{name: value}``, paths
    resolved."""
    env = {"KERAS_HOME": os.path.realpath(keras_cache_dir().parent),
           "COURSE_CACHE_DIR": os.path.realpath(standin_cache_dir())}
    if os.environ.get("COURSE_DATA_DIR"):
        env["COURSE_DATA_DIR"] = os.path.realpath(os.environ["COURSE_DATA_DIR"])
    if os.environ.get("XDG_DATA_DIRS"):
        env["XDG_DATA_DIRS"] = os.environ["XDG_DATA_DIRS"]
    return env


def _offline():
    return switch("COURSE_OFFLINE")


def _no_files_reason(spec):
    looked = ["COURSE_DATA_DIR"] if os.environ.get("COURSE_DATA_DIR") else []
    looked += [_tilde(d) for d in system_data_dirs()] + [_tilde(keras_cache_dir())]
    return f"offline, and no {spec['files']} in {', '.join(looked)}; {spec['how']}"


def last_source(name):
    """The :class:`Source` of the data that the last ``load_<name>()`` of this process
    returned, or None before the first.

    A test can set its expectations by it: figures on the stand-in differ from the real
    data's.

    Args:
        name: ``"mnist"``, ``"fashion_mnist"`` or ``"cifar10"``.

    Returns:
        The :class:`Source` (its ``real`` is False for the stand-in), or None when this
        process has not called ``load_<name>()`` yet.

    Raises:
        ValueError: for a ``name`` other than those three.

    Example:
        (X_train_full, y_train_full), (X_test, y_test) = load_cifar10()
        source = last_source("cifar10")
        print(source.describe())  # which data the load returned, and where from
        on_real_data = source.real  # False on the stand-in
    """
    if name not in _SPECS:
        raise ValueError(f"name={name!r}: expected one of {', '.join(map(repr, _SPECS))}.")
    return _LOADED.get(name)


_LOADED = {}


def _load(name):
    spec = _SPECS[name]
    source = find_source(name)
    data = None
    if source.kind == "download":
        try:
            data = spec["keras"]()
        except Exception as err:  # no network, proxy, server down: all mean "use the stand-in"
            error = " ".join(str(err).split())  # one line, whatever the exception says
            source = Source(spec["title"], "standin", reason=f"Keras could not download it: {error}; {spec['how']}")
    elif source.real:
        data = spec["read"](source.folder)
    if source.real:
        print(source.describe(), flush=True)
    else:
        log.warning("%s", source.describe())
        data = _standin(name, spec)
    _LOADED[name] = source
    return data


def _tilde(path):
    """``path`` with the home folder written ``~``."""
    path, home = Path(path), Path.home()
    try:
        return "~/" + str(path.relative_to(home)) if path != home else "~"
    except ValueError:
        return str(path)


def keras_cache_dir():
    """Keras's download cache: ``datasets/`` under ``KERAS_HOME`` (default ``~/.keras``)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def standin_cache_dir():
    """Where generated stand-ins are cached: ``COURSE_CACHE_DIR``, else ``course_utils/``
    under ``XDG_CACHE_HOME`` (default ``~/.cache``)."""
    return Path(os.environ.get("COURSE_CACHE_DIR")
                or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "course_utils")


def _standin_path(name):
    return standin_cache_dir() / f"standin-{name}-v{STANDIN_VERSION}.npz"


def _standin(name, spec):
    cache = standin_cache_dir()
    path = _standin_path(name)
    if path.exists():
        try:
            with np.load(path) as f:
                return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            log.warning("%s: cached stand-in %s is unreadable; generating it again.", spec["title"], path)
    (x_train, y_train), (x_test, y_test) = spec["standin"]()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        # Write to a temporary file and rename: two notebooks generating at once never
        # leave a half-written cache behind.
        with tempfile.NamedTemporaryFile(dir=cache, suffix=".npz", delete=False) as tmp:
            np.savez(tmp, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        # Readable by all: a grading sandbox runs as another user and reads this cache.
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, path)
    except OSError:
        pass  # a read-only cache (a grading sandbox, a shared install): generated each time
    return (x_train, y_train), (x_test, y_test)


# --------------------------------------------------------------------------- real formats

def _find_mnist(folder):
    return folder if (folder / "mnist.npz").is_file() else None


def _read_mnist(folder):
    path = folder / "mnist.npz"
    try:
        with np.load(path, allow_pickle=False) as f:
            data = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
        raise DatasetFileError(f"{path}: not a valid mnist.npz ({err}). "
                               "Delete it or replace it with the original file.") from err
    _check_images(path, data, (28, 28))
    return data


_FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                  "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _find_fashion(folder):
    for candidate in (folder / "fashion-mnist", folder):
        if all((candidate / f).is_file() for f in _FASHION_FILES):
            return candidate
    return None


def _read_fashion(folder):
    x_train, y_train, x_test, y_test = (read_idx(folder / f) for f in _FASHION_FILES)
    data = (x_train, y_train), (x_test, y_test)
    _check_images(folder, data, (28, 28))
    return data


def read_idx(path):
    """Read one (optionally gzipped) idx file, the format of MNIST and Fashion-MNIST.

    The header is two zero bytes, a type code (0x08 = uint8), the number of dimensions,
    then each dimension as a big-endian uint32; the data follows.
    """
    path = Path(path)
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DatasetFileError(f"{path}: cannot be read as a gzip file ({err}).") from err
    if len(raw) < 4 or raw[0:2] != b"\x00\x00" or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise DatasetFileError(f"{path}: not an idx file of uint8 (header {raw[:4].hex() or 'empty'}).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(shape)):
        raise DatasetFileError(f"{path}: header says shape {shape}, i.e. {int(np.prod(shape))} bytes, "
                               f"but the file holds {len(raw) - header}: truncated or corrupt.")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles NumPy arrays and nothing else: a downloaded pickle must not run code."""

    allowed = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) in self.allowed:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_cifar_batch(path):
    try:
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(f, encoding="bytes").load()
        data = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[b"labels"], np.uint8)
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError) as err:
        raise DatasetFileError(f"{path}: not a CIFAR-10 python batch ({err}).") from err
    if len(labels) != len(data):
        raise DatasetFileError(f"{path}: {len(data)} images but {len(labels)} labels.")
    return data.transpose(0, 2, 3, 1), labels.reshape(-1, 1)


def _find_cifar(folder):
    # Keras 3 extracts its download into cifar-10-batches-py-target/cifar-10-batches-py.
    for candidate in (folder / "cifar-10-batches-py", folder / "cifar-10-batches-py-target" / "cifar-10-batches-py"):
        if candidate.is_dir():
            return candidate
    return None


def _read_cifar(folder):
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        raise DatasetFileError(f"{folder}: missing {', '.join(missing)}.")
    batches = [_read_cifar_batch(folder / n) for n in names]
    x_train = np.concatenate([b[0] for b in batches[:5]])
    y_train = np.concatenate([b[1] for b in batches[:5]])
    data = (x_train, y_train), batches[5]
    _check_images(folder, data, (32, 32, 3))
    return data


def _check_images(path, data, image_shape):
    (x_train, y_train), (x_test, y_test) = data
    for part, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.shape[1:] != image_shape or len(x) != len(y) or x.dtype != np.uint8:
            raise DatasetFileError(f"{path}: {part} images have shape {x.shape} and dtype {x.dtype} "
                                   f"with {len(y)} labels; expected uint8 images of shape {image_shape}.")


def _keras_loader(name):
    def load():
        import keras  # only here: reading files and the stand-in need no TensorFlow
        return getattr(keras.datasets, name).load_data()
    return load


_ONLINE = "online, Keras downloads it"
_SPECS = {
    "mnist": dict(title="MNIST", files="mnist.npz", find=_find_mnist, read=_read_mnist,
                  keras=_keras_loader("mnist"), standin=standin.make_mnist,
                  how=f"for the real set, put mnist.npz in COURSE_DATA_DIR or go {_ONLINE}"),
    "fashion_mnist": dict(title="Fashion-MNIST", files="Fashion-MNIST idx files", find=_find_fashion,
                          read=_read_fashion, keras=_keras_loader("fashion_mnist"),
                          standin=standin.make_fashion_mnist,
                          how="for the real set, install Debian's dataset-fashion-mnist, "
                              f"or put the four idx .gz files in COURSE_DATA_DIR, or go {_ONLINE}"),
    "cifar10": dict(title="CIFAR-10", files="cifar-10-batches-py/", find=_find_cifar, read=_read_cifar,
                    keras=_keras_loader("cifar10"), standin=standin.make_cifar10,
                    how=f"for the real set, put cifar-10-batches-py/ in COURSE_DATA_DIR or go {_ONLINE}"),
}
NAMES = tuple(_SPECS)  # the names find_source, last_source and ready_offline take
