"""The three sources of course_utils.datasets: real files, Keras's cache, the stand-in."""

import gzip
import json
import logging
import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import pytest

from course_utils import datasets, standin
from helpers import required

RNG = np.random.default_rng(7)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """No real data anywhere, no download, a private stand-in cache."""
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_DIRS", str(tmp_path / "system-share"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def no_download(monkeypatch):
    def refuse():
        raise AssertionError("Keras download attempted")
    for spec in datasets._SPECS.values():
        monkeypatch.setitem(spec, "keras", refuse)


# --------------------------------------------------------------------------- real formats,
# written here from the format specifications, not with the code under test.

def images(n, shape):
    return RNG.integers(0, 256, (n, *shape), dtype=np.uint8)


def labels(n):
    return RNG.integers(0, 10, n, dtype=np.uint8)


def write_idx_gz(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def write_fashion(folder):
    folder.mkdir(parents=True, exist_ok=True)
    data = (images(12, (28, 28)), labels(12)), (images(5, (28, 28)), labels(5))
    (xa, ya), (xb, yb) = data
    for name, array in [("train-images-idx3-ubyte.gz", xa), ("train-labels-idx1-ubyte.gz", ya),
                        ("t10k-images-idx3-ubyte.gz", xb), ("t10k-labels-idx1-ubyte.gz", yb)]:
        write_idx_gz(folder / name, array)
    return data


def write_mnist(folder):
    folder.mkdir(parents=True, exist_ok=True)
    data = (images(12, (28, 28)), labels(12)), (images(5, (28, 28)), labels(5))
    (xa, ya), (xb, yb) = data
    np.savez(folder / "mnist.npz", x_train=xa, y_train=ya, x_test=xb, y_test=yb)
    return data


def write_cifar(folder):
    """Five training batches and a test batch, as the python version of CIFAR-10 ships them:
    pickled dicts with bytes keys, data as rows of 3072 bytes (all red, then green, then blue)."""
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    parts = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x, y = images(3, (32, 32, 3)), labels(3)
        rows = x.transpose(0, 3, 1, 2).reshape(3, 3072)
        with open(batches / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"labels": [int(v) for v in y], b"data": rows}, f)
        parts.append((x, y))
    x_train = np.concatenate([p[0] for p in parts[:5]])
    y_train = np.concatenate([p[1] for p in parts[:5]]).reshape(-1, 1)
    return (x_train, y_train), (parts[5][0], parts[5][1].reshape(-1, 1))


WRITERS = {"mnist": write_mnist, "fashion_mnist": write_fashion, "cifar10": write_cifar}


def tiny():
    """A three-image dataset, for tests about where data comes from rather than what it holds."""
    return (images(2, (28, 28)), labels(2)), (images(1, (28, 28)), labels(1))


def assert_same(got, expected):
    """``(x_train, y_train), (x_test, y_test)`` equal in shape, dtype and every value."""
    for g, e in zip((*got[0], *got[1]), (*expected[0], *expected[1])):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_reads_real_files_from_course_data_dir(name, env, monkeypatch):
    expected = WRITERS[name](env / "data")
    monkeypatch.setenv("COURSE_DATA_DIR", str(env / "data"))
    no_download(monkeypatch)
    assert_same(getattr(datasets, f"load_{name}")(), expected)
    assert not (env / "cache").exists(), "no stand-in when real files are there"


@pytest.mark.parametrize("name, subfolder", [
    ("mnist", ""), ("fashion_mnist", "fashion-mnist"), ("cifar10", "cifar-10-batches-py-target")])
def test_reads_keras_cache_without_network(name, subfolder, env, monkeypatch):
    expected = WRITERS[name](env / "keras-home" / "datasets" / subfolder)
    no_download(monkeypatch)
    assert_same(getattr(datasets, f"load_{name}")(), expected)


def test_course_data_dir_comes_before_keras_cache(env, monkeypatch):
    expected = write_mnist(env / "data")
    write_mnist(env / "keras-home" / "datasets")
    monkeypatch.setenv("COURSE_DATA_DIR", str(env / "data"))
    assert_same(datasets.load_mnist(), expected)


def test_reads_debian_package_layout_from_system_data_dirs(env, monkeypatch, capsys):
    """Debian's dataset-fashion-mnist installs /usr/share/datasets/fashion-mnist/*.gz."""
    monkeypatch.setenv("XDG_DATA_DIRS", f"{env / 'local-share'}:{env / 'share'}")
    expected = write_fashion(env / "share" / "datasets" / "fashion-mnist")
    write_fashion(env / "keras-home" / "datasets" / "fashion-mnist")  # comes after the system's
    no_download(monkeypatch)
    assert_same(datasets.load_fashion_mnist(), expected)
    line = capsys.readouterr().out.strip()
    assert line == f"Fashion-MNIST: the real data, from {env / 'share' / 'datasets' / 'fashion-mnist'}."
    source = datasets.find_source("fashion_mnist")
    assert (source.kind, source.real) == ("system", True)


def test_course_data_dir_comes_before_system(env, monkeypatch):
    monkeypatch.setenv("XDG_DATA_DIRS", str(env / "share"))
    write_fashion(env / "share" / "datasets" / "fashion-mnist")
    expected = write_fashion(env / "data")
    monkeypatch.setenv("COURSE_DATA_DIR", str(env / "data"))
    assert_same(datasets.load_fashion_mnist(), expected)
    assert datasets.find_source("fashion_mnist").kind == "course_data_dir"


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_every_load_says_which_data_in_one_line(name, env, monkeypatch, capsys, caplog):
    """Real: one printed line naming the folder (home written ~); stand-in: one warning
    line that says why and how to get the real set. Nothing else."""
    no_download(monkeypatch)
    monkeypatch.setenv("HOME", str(env))
    WRITERS[name](env / "keras-home" / "datasets" / ("fashion-mnist" if name == "fashion_mnist" else ""))
    getattr(datasets, f"load_{name}")()
    title = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}[name]
    folder = "~/keras-home/datasets" + ("/fashion-mnist" if name == "fashion_mnist" else
                                        "/cifar-10-batches-py" if name == "cifar10" else "")
    assert capsys.readouterr().out == f"{title}: the real data, from {folder} (Keras's cache).\n"
    assert not caplog.records

    monkeypatch.setenv("KERAS_HOME", str(env / "empty-keras-home"))
    monkeypatch.setitem(datasets._SPECS[name], "standin", tiny)  # the line, not the images
    with caplog.at_level(logging.WARNING, logger="course_utils.datasets"):
        getattr(datasets, f"load_{name}")()
    assert capsys.readouterr().out == ""
    message, = [r.getMessage() for r in caplog.records]
    assert message.startswith(f"{title}: a synthetic stand-in, not the real data (offline, and no ")
    assert "~/empty-keras-home/datasets" in message and "for the real set" in message
    assert "\n" not in message
    assert datasets.find_source(name).describe() == message


def test_last_source_is_what_the_last_load_returned(env, monkeypatch):
    def unreachable():
        raise OSError("no network")
    monkeypatch.setitem(datasets._SPECS["fashion_mnist"], "keras", unreachable)
    monkeypatch.setitem(datasets._SPECS["fashion_mnist"], "standin", tiny)
    monkeypatch.setattr(datasets, "_LOADED", {})
    assert datasets.last_source("fashion_mnist") is None
    write_fashion(env / "data")
    monkeypatch.setenv("COURSE_DATA_DIR", str(env / "data"))
    datasets.load_fashion_mnist()
    assert datasets.last_source("fashion_mnist").kind == "course_data_dir"
    monkeypatch.delenv("COURSE_DATA_DIR")
    monkeypatch.setenv("COURSE_OFFLINE", "0")  # a download is tried, fails: the stand-in
    datasets.load_fashion_mnist()
    assert datasets.find_source("fashion_mnist").kind == "download"
    assert not datasets.last_source("fashion_mnist").real
    with pytest.raises(ValueError, match="name='emnist'"):
        datasets.last_source("emnist")


def test_find_source_reports_download_when_online_and_names_bad_input(env, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    assert datasets.find_source("cifar10").kind == "download"
    assert datasets.find_source("cifar10", local_only=True).kind == "standin"
    with pytest.raises(ValueError, match=r"name='svhn'.*'fashion_mnist'"):
        datasets.find_source("svhn")


def test_fashion_matches_keras_own_loader(env):
    """Same files, read by Keras itself (in a fresh process that sees KERAS_HOME)."""
    write_fashion(env / "keras-home" / "datasets" / "fashion-mnist")
    out = env / "keras.npz"
    code = ("import keras, numpy as np, sys; (a, b), (c, d) = keras.datasets.fashion_mnist.load_data();"
            "np.savez(sys.argv[1], a=a, b=b, c=c, d=d)")
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, env=os.environ.copy(),
                   capture_output=True, timeout=300)
    with np.load(out) as k:
        expected = (k["a"], k["b"]), (k["c"], k["d"])
    assert_same(datasets.load_fashion_mnist(), expected)


def test_the_real_fashion_mnist_where_it_is_installed():
    """The figures the lectures quote rest on the real set: its labels as published (the
    first ten train labels, 6,000 per class) and the reference chapter's task A size after
    the 5,000-image validation split (its X_train_A.shape: 43,986). Runs where the machine
    holds the set (CI installs Debian's dataset-fashion-mnist)."""
    if not datasets.find_source("fashion_mnist", local_only=True).real:
        required("no local copy of the real Fashion-MNIST (Debian: apt install dataset-fashion-mnist, as .ci/run "
                 "does; README, 'Data')")
    (x_train, y_train), (x_test, y_test) = datasets.load_fashion_mnist()
    assert y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert np.bincount(y_train).tolist() == [6000] * 10 and np.bincount(y_test).tolist() == [1000] * 10
    (_, y_fit), _ = datasets.split_validation(x_train, y_train)
    assert int(np.sum((y_fit != 5) & (y_fit != 6))) == 43_986


# --------------------------------------------------------------------------- corrupt files

def test_corrupt_npz_names_the_file(env, monkeypatch):
    (env / "data").mkdir()
    (env / "data" / "mnist.npz").write_bytes(b"not a zip file at all")
    monkeypatch.setenv("COURSE_DATA_DIR", str(env / "data"))
    with pytest.raises(datasets.DatasetFileError, match=r"data/mnist\.npz"):
        datasets.load_mnist()


def test_truncated_idx_names_the_file(env, monkeypatch):
    write_fashion(env / "data")
    path = env / "data" / "t10k-images-idx3-ubyte.gz"
    with gzip.open(path, "rb") as f:
        raw = f.read()
    with gzip.open(path, "wb") as f:
        f.write(raw[:-100])
    monkeypatch.setenv("COURSE_DATA_DIR", str(env / "data"))
    with pytest.raises(datasets.DatasetFileError, match=r"t10k-images-idx3-ubyte\.gz.*truncated"):
        datasets.load_fashion_mnist()


def test_idx_that_is_not_gzip_names_the_file(env, monkeypatch):
    write_fashion(env / "data")
    (env / "data" / "train-labels-idx1-ubyte.gz").write_bytes(b"plain text, not gzip")
    monkeypatch.setenv("COURSE_DATA_DIR", str(env / "data"))
    with pytest.raises(datasets.DatasetFileError, match=r"train-labels-idx1-ubyte\.gz"):
        datasets.load_fashion_mnist()


def test_cifar_pickle_cannot_run_code(env, monkeypatch):
    write_cifar(env / "data")
    marker = env / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with open(env / "data" / "cifar-10-batches-py" / "data_batch_3", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    monkeypatch.setenv("COURSE_DATA_DIR", str(env / "data"))
    with pytest.raises(datasets.DatasetFileError, match=r"data_batch_3.*refusing to load"):
        datasets.load_cifar10()
    assert not marker.exists()


def test_missing_cifar_batch_is_named(env, monkeypatch):
    write_cifar(env / "data")
    (env / "data" / "cifar-10-batches-py" / "test_batch").unlink()
    monkeypatch.setenv("COURSE_DATA_DIR", str(env / "data"))
    with pytest.raises(datasets.DatasetFileError, match="missing test_batch"):
        datasets.load_cifar10()


# --------------------------------------------------------------------------- the stand-in

REAL_SHAPES = {  # what keras.datasets.<name>.load_data() returns, from Keras's documentation
    "mnist": ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,)),
    "fashion_mnist": ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,)),
    "cifar10": ((50000, 32, 32, 3), (50000, 1), (10000, 32, 32, 3), (10000, 1)),
}
REAL_TRAIN_COUNTS = {
    "mnist": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "fashion_mnist": [6000] * 10,
    "cifar10": [5000] * 10,
}


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_offline_stand_in_has_real_shapes_and_balance(name, env, monkeypatch, caplog):
    no_download(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="course_utils.datasets"):
        (x_train, y_train), (x_test, y_test) = getattr(datasets, f"load_{name}")()
    arrays = (x_train, y_train, x_test, y_test)
    assert tuple(a.shape for a in arrays) == REAL_SHAPES[name]
    assert all(a.dtype == np.uint8 for a in arrays)
    assert np.bincount(y_train.ravel()).tolist() == REAL_TRAIN_COUNTS[name]
    assert set(np.unique(y_test)) == set(range(10))
    assert 10 < x_train.mean() < 200 and x_train.std() > 20, "images, not blanks"
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert "synthetic stand-in" in warnings[0] and "COURSE_DATA_DIR" in warnings[0]
    if name == "fashion_mnist":
        assert "dataset-fashion-mnist" in warnings[0], "says how to get the real set offline"


def test_stand_in_is_cached_and_deterministic(env, monkeypatch):
    no_download(monkeypatch)
    first = datasets.load_mnist()
    cached = list((env / "cache").glob("standin-mnist-*.npz"))
    assert len(cached) == 1
    assert_same(datasets.load_mnist(), first)  # from the cache
    monkeypatch.setenv("COURSE_CACHE_DIR", str(env / "other-cache"))
    assert_same(datasets.load_mnist(), first)  # generated again: the same bytes


def test_unreadable_cache_is_regenerated(env, monkeypatch, caplog):
    no_download(monkeypatch)
    expected = datasets.load_mnist()
    path, = (env / "cache").glob("standin-mnist-*.npz")
    path.write_bytes(b"half-written")
    assert_same(datasets.load_mnist(), expected)


def test_download_is_tried_when_online(env, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "0")
    expected = (images(2, (28, 28)), labels(2)), (images(1, (28, 28)), labels(1))
    monkeypatch.setitem(datasets._SPECS["mnist"], "keras", lambda: expected)
    assert datasets.load_mnist() is expected


def test_failed_download_falls_back_to_stand_in(env, monkeypatch, caplog):
    monkeypatch.setenv("COURSE_OFFLINE", "0")

    def unreachable():
        raise OSError("Name or service\n not known")
    monkeypatch.setitem(datasets._SPECS["mnist"], "keras", unreachable)
    with caplog.at_level(logging.WARNING, logger="course_utils.datasets"):
        (x_train, _), _ = datasets.load_mnist()
    assert x_train.shape == (60000, 28, 28)
    message, = [r.getMessage() for r in caplog.records]
    assert "Keras could not download it: Name or service not known" in message


@pytest.mark.parametrize("by_mass", [True, False])
def test_fashion_ghosts_carry_less_ink_than_the_object(by_mass):
    """A thin object (a dot: think sandal straps) under a big one (a square: a shirt). With
    Fashion's style the ghost's ink is capped at the dot's, so no ghost pixel is brighter
    than dot area / square area; without the cap the square shows up to ``overlay``."""
    size, dot, square = 28, (slice(13, 15), slice(13, 15)), (slice(4, 24), slice(4, 24))
    protos = np.zeros((10, size, size), np.float32)
    protos[0][dot] = 1
    protos[1:, square[0], square[1]] = 1
    style = dict(standin._FASHION_STYLE, rotate=0, scale=(1, 1), shear=0, shift=0, texture=0,
                 brightness=(1, 1), noise=0, ties=0, overlay=1.0, ghost_by_mass=by_mass)
    by_class = [np.array([c]) for c in range(10)]
    images = standin._render_gray(np.random.default_rng(0), protos, by_class, np.zeros(500, np.uint8), style)
    outside = images.astype(np.float32) / 255
    outside[:, dot[0], dot[1]] = 0
    cap = 4 / 400
    brightest = outside.max(axis=(1, 2))
    if by_mass:
        assert brightest.max() <= cap + 1 / 255
    else:
        assert (brightest > 10 * cap).mean() > 0.4, "without the cap, most ghosts outshine the dot"


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_stand_in_is_learnable_but_not_trivial(name):
    """A 300-100 ReLU MLP, SGD(0.01), batch 32, 3 epochs on 20,000 images: a short version of
    the course's reference setting. Measured on 2026-12-01: the real Fashion-MNIST reaches
    0.83 here, the stand-ins 0.59-0.60 (MNIST) and 0.68 (Fashion-MNIST), two seeds each.
    Far from chance (0.1) and from a trivial task (real MNIST is above 0.9)."""
    import keras
    (x, y), _ = getattr(standin, f"make_{name}")()
    (x_train, y_train), (x_valid, y_valid) = datasets.split_validation(x / 255.0, y)
    keras.utils.set_random_seed(42)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(300, "relu"), keras.layers.Dense(100, "relu"),
                              keras.layers.Dense(10, "softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.01),
                  metrics=["accuracy"], jit_compile=True)
    history = model.fit(x_train[:20_000], y_train[:20_000], epochs=3, validation_data=(x_valid, y_valid), verbose=0)
    accuracy = history.history["val_accuracy"]
    print(name, "validation accuracy per epoch:", json.dumps([round(a, 4) for a in accuracy]))
    assert 0.5 <= accuracy[-1] <= 0.85
    assert accuracy[-1] > accuracy[0], "it keeps learning"


# --------------------------------------------------------------------------- split, standardise

def test_split_validation_takes_the_first_rows():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    (xt, yt), (xv, yv) = datasets.split_validation(x, y, n_valid=3)
    np.testing.assert_array_equal(xv, x[:3])
    np.testing.assert_array_equal(yv, y[:3])
    np.testing.assert_array_equal(xt, x[3:])
    np.testing.assert_array_equal(yt, y[3:])


@pytest.mark.parametrize("n_valid", [0, 10, -1, 2.5, True])
def test_split_validation_bad_size_is_named(n_valid):
    with pytest.raises(ValueError, match=f"n_valid={n_valid!r}"):
        datasets.split_validation(np.zeros((10, 2)), np.zeros(10), n_valid=n_valid)


def test_split_validation_length_mismatch():
    with pytest.raises(ValueError, match="10 rows but y has 9"):
        datasets.split_validation(np.zeros((10, 2)), np.zeros(9))


def test_standardizer_per_pixel():
    x = np.array([[[0, 5], [1, 7]], [[2, 5], [3, 9]], [[4, 5], [5, 11]]], dtype=np.uint8)
    scaler = datasets.Standardizer().fit(x)
    z = scaler.transform(x)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[:, 0, 0], np.array([-1, 0, 1]) * np.sqrt(1.5), rtol=1e-6)  # mean 2, std sqrt(8/3)
    np.testing.assert_allclose(z[:, 0, 1], 0)  # constant pixel: no division by zero
    np.testing.assert_allclose(z.reshape(3, -1)[:, [0, 2, 3]].mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(z.reshape(3, -1)[:, [0, 2, 3]].std(axis=0), 1, rtol=1e-6)
    np.testing.assert_allclose(scaler.transform(np.full((1, 2, 2), 2))[0, 0, 0], 0, atol=1e-6)


def test_standardizer_errors():
    with pytest.raises(RuntimeError, match="before fit"):
        datasets.Standardizer().transform(np.zeros((2, 3)))
    scaler = datasets.Standardizer().fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"shape \(5,\).*\(3,\)"):
        scaler.transform(np.zeros((2, 5)))


def test_ready_offline_leaves_nothing_to_fetch_or_write(env, monkeypatch):
    """What a grading sandbox needs before it starts: no network, read-only caches."""
    monkeypatch.setitem(datasets._SPECS["mnist"], "standin", tiny)
    write_fashion(env / "data")
    monkeypatch.setenv("COURSE_DATA_DIR", str(env / "data"))
    assert datasets.ready_offline("fashion_mnist").kind == "course_data_dir"
    assert not (env / "cache").exists(), "real data: no stand-in made"
    assert datasets.ready_offline("mnist").kind == "standin"
    path, = (env / "cache").glob("standin-mnist-*.npz")
    assert path.stat().st_mode & 0o044 == 0o044, "readable by the sandbox's other user"

    def not_again():
        raise AssertionError("generated a second time")
    monkeypatch.setitem(datasets._SPECS["mnist"], "standin", not_again)
    assert datasets.ready_offline("mnist").kind == "standin"  # cached: nothing done
    assert datasets.NAMES == ("mnist", "fashion_mnist", "cifar10")


def test_a_read_only_cache_still_gives_the_stand_in(env, monkeypatch):
    monkeypatch.setitem(datasets._SPECS["mnist"], "standin", tiny)
    monkeypatch.setenv("COURSE_CACHE_DIR", "/proc/no-cache-here")  # nothing can be written there
    (x_train, _), (x_test, _) = datasets.load_mnist()
    assert (x_train.shape, x_test.shape) == ((2, 28, 28), (1, 28, 28))
