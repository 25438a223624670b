"""Synthetic stand-ins for MNIST, Fashion-MNIST and CIFAR-10, for machines with no network.

Each stand-in has the real set's shapes, dtypes, number of classes and class balance, and
images that look like their class: digits drawn from the fonts that ship with matplotlib,
clothes and shoes drawn as parametric silhouettes, small scenes for CIFAR-10. Every image
is a class prototype under a random affine warp (rotation, scale, shear, shift), with a
random texture, brightness and noise, and, for a share of the images, a faint second
object of another class over it. That keeps the sets learnable but not trivial: a 300-100
MLP trained 5 epochs with SGD at 0.01 lands between 75 and 92 % (the stand-in for
Fashion-MNIST at about 76 %, below the real set's 87 %), so comparisons between training
methods still show a difference. Only the direction of a published result is expected to
hold on a stand-in, never the figure.

Written by hand because no maintained package generates labelled image stand-ins offline;
rasterising uses matplotlib's ``Path`` and warping SciPy's ``map_coordinates``.
Generation is deterministic: the same seed gives the same bytes on every machine.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.textpath import TextPath
from scipy import ndimage

# Class counts of the real sets (train, test), so the stand-in has the same balance.
MNIST_COUNTS = (
    (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
    (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
)
FASHION_COUNTS = ((6000,) * 10, (1000,) * 10)
CIFAR10_COUNTS = ((5000,) * 10, (1000,) * 10)

_SUPERSAMPLE = 4  # rasterise at 4x and average down: anti-aliased edges


def make_mnist(seed=0):
    """``(x_train, y_train), (x_test, y_test)`` shaped like ``keras.datasets.mnist``."""
    rng = np.random.default_rng(seed)
    protos, proto_labels = _digit_prototypes()
    return _make_gray(rng, protos, proto_labels, MNIST_COUNTS, _MNIST_STYLE)


def make_fashion_mnist(seed=0):
    """``(x_train, y_train), (x_test, y_test)`` shaped like ``keras.datasets.fashion_mnist``."""
    rng = np.random.default_rng(seed)
    protos, proto_labels = _fashion_prototypes(rng, per_class=40)
    return _make_gray(rng, protos, proto_labels, FASHION_COUNTS, _FASHION_STYLE)


def make_cifar10(seed=0):
    """``(x_train, y_train), (x_test, y_test)`` shaped like ``keras.datasets.cifar10``."""
    rng = np.random.default_rng(seed)
    protos, proto_labels = _cifar_prototypes(rng, per_class=40)
    splits = []
    for counts in CIFAR10_COUNTS:
        y = _balanced_labels(rng, counts)
        splits.append((_render_cifar(rng, protos, proto_labels, y), y.reshape(-1, 1)))
    return tuple(splits)


# --------------------------------------------------------------------------- gray sets

_MNIST_STYLE = dict(rotate=0.45, scale=(0.70, 1.15), shear=0.50, shift=3.5, texture=0.0,
                    brightness=(0.75, 1.0), noise=0.15, overlay=0.80, ties=0.08, ghost_by_mass=False)
# Fashion's ghosts never carry more ink than the main object: otherwise a big garment
# ghost outweighs a thin-strap sandal, and most errors are sandals read as shirts, noise
# that no pretraining can help with (lecture 04's transfer experiment drowned in it).
_FASHION_STYLE = dict(rotate=0.25, scale=(0.67, 1.12), shear=0.22, shift=3.5, texture=0.6,
                      brightness=(0.35, 1.0), noise=0.08, overlay=0.35, ties=0.02, ghost_by_mass=True)


def _make_gray(rng, protos, proto_labels, counts, style):
    by_class = [np.flatnonzero(proto_labels == c) for c in range(10)]
    splits = []
    for split_counts in counts:
        y = _balanced_labels(rng, split_counts)
        x = _render_gray(rng, protos, by_class, y, style)
        splits.append((x, y))
    return tuple(splits)


def _render_gray(rng, protos, by_class, y, style, chunk=10_000):
    n = len(y)
    out = np.empty((n, 28, 28), np.uint8)
    for start in range(0, n, chunk):
        labels = y[start:start + chunk]
        m = len(labels)
        main = _warp(rng, protos, _pick(rng, by_class, labels), style)
        # A faint object of another class over a share of the images: real sets have
        # ambiguous images too, and without them the task is too easy for an MLP.
        has = np.flatnonzero(rng.random(m) < 0.6)
        other = (labels[has] + rng.integers(1, 10, len(has))) % 10
        ghost = _warp(rng, protos, _pick(rng, by_class, other), style)
        weight = rng.uniform(0, style["overlay"], len(has)).astype(np.float32)
        if style["ghost_by_mass"]:
            ink_main, ink_ghost = main[has].sum(axis=(1, 2)), ghost.sum(axis=(1, 2))
            weight *= np.minimum(1, ink_main / np.maximum(ink_ghost, 1e-6))
        # A few images are truly ambiguous, two objects at about the same strength: no
        # model gets them all right, so even long training leaves methods room to differ.
        tie = rng.random(len(has)) < style["ties"]
        weight[tie] = rng.uniform(0.9, 1.0, tie.sum())
        img = main
        img[has] = np.maximum(main[has], ghost * weight[:, None, None])
        img *= _texture(rng, m, 28, style["texture"])
        img *= rng.uniform(*style["brightness"], m).astype(np.float32)[:, None, None]
        noise = rng.standard_normal(img.shape, dtype=np.float32) * np.float32(style["noise"])
        img += noise * (img > 0.05)
        out[start:start + m] = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


def _balanced_labels(rng, counts):
    return rng.permutation(np.repeat(np.arange(10, dtype=np.uint8), counts))


def _pick(rng, by_class, labels):
    """One prototype index for each label, uniformly among that class's prototypes."""
    sizes = np.array([len(ix) for ix in by_class])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = np.concatenate(by_class)
    return flat[offsets[labels] + (rng.random(len(labels)) * sizes[labels]).astype(int)]


def _warp(rng, protos, idx, style):
    """Random affine warp of ``protos[idx]``, every image at once (float32, [0, 1])."""
    m, size = len(idx), protos.shape[-1]
    angle = rng.uniform(-style["rotate"], style["rotate"], m)
    scale = rng.uniform(*style["scale"], (2, m))
    shear = rng.uniform(-style["shear"], style["shear"], m)
    shift = rng.uniform(-style["shift"], style["shift"], (2, m))
    cos, sin = np.cos(angle), np.sin(angle)
    # Inverse map: output pixel -> source pixel, around the image centre.
    a = np.stack([np.stack([cos, -sin + shear * cos]), np.stack([sin, cos + shear * sin])])
    a = a / scale[None, :, :]  # (2, 2, m)
    c = (size - 1) / 2
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) - c
    a, shift = a.astype(np.float32)[..., None, None], shift.astype(np.float32)[..., None, None]
    coords = np.empty((3, m, size, size), np.float32)  # filled in place: no temporaries
    coords[0] = idx[:, None, None]
    coords[1] = a[0, 0] * yy + a[0, 1] * xx + (c - shift[0])
    coords[2] = a[1, 0] * yy + a[1, 1] * xx + (c - shift[1])
    # SciPy releases the GIL while interpolating: one thread per core halves the time.
    out = np.empty((m, size, size), np.float32)
    parts = np.array_split(np.arange(m), os.cpu_count() or 1)
    with ThreadPoolExecutor(len(parts)) as pool:
        list(pool.map(lambda ix: ndimage.map_coordinates(
            protos, coords[:, ix], output=out[ix[0]:ix[-1] + 1], order=1, cval=0.0, prefilter=False),
            [ix for ix in parts if len(ix)]))
    return out


def _texture(rng, m, size, strength):
    """Stripes of random direction and frequency on about half the images (1 = plain)."""
    out = np.ones((m, size, size), np.float32)
    if strength == 0:
        return out
    striped = np.flatnonzero(rng.random(m) < 0.5)
    k = len(striped)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    theta = rng.uniform(0, np.pi, k).astype(np.float32)[:, None, None]
    freq = rng.uniform(2, 7, k).astype(np.float32)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, k).astype(np.float32)[:, None, None]
    amp = rng.uniform(0, strength, k).astype(np.float32)[:, None, None]
    wave = np.sin((2 * np.pi) * freq * (xx * np.cos(theta) + yy * np.sin(theta)) + phase)
    out[striped] = 1 - amp * (0.5 + 0.5 * wave)
    return out


# --------------------------------------------------------------------------- rasterising

def _grid(size):
    """Centres of the supersampled pixels, in unit coordinates (x right, y down)."""
    n = size * _SUPERSAMPLE
    t = (np.arange(n) + 0.5) / n
    yy, xx = np.meshgrid(t, t, indexing="ij")
    return np.column_stack([xx.ravel(), yy.ravel()])


def _paint(layers, size):
    """Painter's algorithm: each ``(polygon, value)`` overwrites what lies below it.

    A value of 0 cuts a hole (a neck line, the gap between trouser legs, a bag's handle).
    Returns a ``size x size`` float32 image, anti-aliased by averaging the supersamples.
    """
    pts = _grid(size)
    n = size * _SUPERSAMPLE
    canvas = np.zeros(n * n, np.float32)
    for poly, value in layers:
        canvas[Path(np.asarray(poly)).contains_points(pts)] = value
    return _downsample(canvas.reshape(n, n))


def _downsample(img):
    k = _SUPERSAMPLE
    h, w = img.shape[0] // k, img.shape[1] // k
    return img.reshape(h, k, w, k, *img.shape[2:]).mean(axis=(1, 3))


def _ellipse(cx, cy, rx, ry, n=24):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + rx * np.cos(t), cy + ry * np.sin(t)])


def _band(p0, p1, width):
    """A straight stroke from p0 to p1 as a quadrilateral of the given width."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    d = p1 - p0
    normal = np.array([-d[1], d[0]]) / (np.hypot(*d) + 1e-9) * width / 2
    return [p0 + normal, p1 + normal, p1 - normal, p0 - normal]


# --------------------------------------------------------------------------- digits

_DIGIT_FONTS = [
    dict(family="DejaVu Sans"), dict(family="DejaVu Sans", weight="bold"),
    dict(family="DejaVu Sans", style="oblique"), dict(family="DejaVu Serif"),
    dict(family="DejaVu Serif", weight="bold"), dict(family="DejaVu Serif", style="italic"),
    dict(family="DejaVu Sans Mono"), dict(family="DejaVu Sans Mono", weight="bold"),
    dict(family="STIXGeneral"), dict(family="STIXGeneral", style="italic"),
    dict(family="cmr10"), dict(family="cmss10"),
]


def _digit_prototypes():
    """Digits 0-9 in twelve fonts and three stroke widths, fitted like MNIST.

    MNIST digits are fitted into a 20x20 box, aspect kept, and centred in 28x28.
    """
    protos, labels = [], []
    pts = _grid(28)
    n = 28 * _SUPERSAMPLE
    for font in _DIGIT_FONTS:
        prop = FontProperties(**font)
        for digit in range(10):
            path = TextPath((0, 0), str(digit), size=1, prop=prop)
            v = path.vertices.copy()
            lo, hi = v.min(axis=0), v.max(axis=0)
            fit = 20 / 28 / max(hi - lo)
            v = (v - (lo + hi) / 2) * fit
            v[:, 1] = -v[:, 1]  # font y points up, image y points down
            # Even-odd fill, one closed contour at a time: the holes of 0, 4, 6, 8, 9 stay open.
            mask = np.zeros(n * n, bool)
            for poly in Path(v + 0.5, path.codes).to_polygons():
                mask ^= Path(poly).contains_points(pts)
            mask = mask.reshape(n, n)
            for grow in (0, 1, 3):  # stroke widths, in supersampled pixels
                wide = ndimage.binary_dilation(mask, iterations=grow) if grow else mask
                protos.append(_downsample(wide.astype(np.float32)))
                labels.append(digit)
    return np.stack(protos), np.array(labels)


# --------------------------------------------------------------------------- clothes

def _garment(rng, *, sleeve, length, flare, collar=False, opening=False, buttons=False):
    """Layers of a top seen from the front: body, sleeves, neck, and details."""
    u = rng.uniform
    top, cx = u(0.10, 0.16), 0.5
    shoulder = u(0.20, 0.26)
    hem = shoulder * (1 + flare) + u(-0.02, 0.02)
    bottom = min(top + length, 0.95)
    armpit = top + u(0.16, 0.22)
    angle = u(*sleeve[1])  # radians below horizontal
    reach = u(*sleeve[0])
    width = u(0.09, 0.13)
    tip_top = (shoulder + reach * np.cos(angle), top + 0.03 + reach * np.sin(angle))
    tip_low = (tip_top[0] - width * np.sin(angle), tip_top[1] + width * np.cos(angle))
    body_w = min(shoulder, u(0.16, 0.2))
    half = [(0.07, top), (shoulder, top + 0.03), tip_top, tip_low, (body_w, armpit), (hem, bottom)]
    outline = [(cx + dx, y) for dx, y in half] + [(cx - dx, y) for dx, y in reversed(half)]
    fill = u(0.75, 1.0)
    layers = [(outline, fill)]
    neck = u(0.04, 0.09)
    layers.append(([(cx - 0.07, top - 0.01), (cx + 0.07, top - 0.01), (cx, top + neck)], 0.0))
    if collar:
        for s in (-1, 1):
            layers.append(([(cx, top + neck), (cx + s * 0.09, top), (cx + s * 0.1, top + 0.09)], fill * 0.6))
    if opening:
        layers.append((_band((cx, top + neck), (cx, bottom), 0.025), 0.15))
    if buttons:
        for y in np.linspace(top + neck + 0.06, bottom - 0.06, 5):
            layers.append((_ellipse(cx, y, 0.02, 0.02, 8), 0.25))
    return layers


def _trouser(rng):
    u = rng.uniform
    top, bottom, crotch = u(0.05, 0.1), u(0.9, 0.96), u(0.3, 0.4)
    waist, foot, gap = u(0.15, 0.2), u(0.17, 0.24), u(0.01, 0.04)
    outline = [(0.5 - waist, top), (0.5 + waist, top), (0.5 + foot, bottom),
               (0.5 + gap, bottom), (0.5, crotch), (0.5 - gap, bottom), (0.5 - foot, bottom)]
    return [(outline, u(0.7, 1.0))]


def _dress(rng):
    u = rng.uniform
    top, bottom = u(0.06, 0.12), u(0.88, 0.96)
    chest, waist, hem = u(0.14, 0.2), u(0.1, 0.15), u(0.25, 0.35)
    waist_y = top + u(0.25, 0.35)
    half = [(0.06, top), (chest, top + 0.08), (waist, waist_y), (hem, bottom)]
    outline = [(0.5 + dx, y) for dx, y in half] + [(0.5 - dx, y) for dx, y in reversed(half)]
    layers = [(outline, u(0.7, 1.0))]
    if rng.random() < 0.5:  # short sleeves
        for s in (-1, 1):
            layers.append(([(0.5 + s * 0.06, top), (0.5 + s * (chest + 0.1), top + 0.12),
                            (0.5 + s * chest, top + 0.2)], layers[0][1]))
    return layers


def _shoe(rng, *, shaft, sole, straps=0, solid=True):
    """Side view of a shoe, toe to the left as in Fashion-MNIST."""
    u = rng.uniform
    base, toe, heel = u(0.68, 0.78), u(0.05, 0.12), u(0.88, 0.95)
    height = u(*shaft)
    instep = base - u(0.15, 0.22)
    outline = [(toe, base), (toe + 0.04, instep + 0.05), (0.45, instep), (heel - 0.18, base - height),
               (heel, base - height), (heel, base)]
    layers = []
    fill = u(0.6, 1.0)
    if solid:
        layers.append((outline, fill))
    else:  # straps over a faint sole-to-heel outline: a sandal
        layers.append((outline, u(0.2, 0.4)))
        for k in range(straps):
            x = toe + 0.1 + k * (heel - toe - 0.15) / max(straps - 1, 1)
            layers.append((_band((x, base), (x + u(-0.08, 0.08), instep - u(0, 0.08)), u(0.04, 0.07)), fill))
        layers.append((_band((heel - 0.05, base), (heel - 0.08, base - height), 0.06), fill))
    layers.append(([(toe - 0.02, base), (heel + 0.02, base), (heel + 0.02, base + sole), (toe, base + sole)],
                   u(0.8, 1.0)))
    return layers


def _bag(rng):
    u = rng.uniform
    top, bottom = u(0.35, 0.5), u(0.85, 0.93)
    w_top, w_bottom = u(0.25, 0.38), u(0.32, 0.42)
    layers = [([(0.5 - w_top, top), (0.5 + w_top, top), (0.5 + w_bottom, bottom), (0.5 - w_bottom, bottom)],
               u(0.6, 1.0))]
    if rng.random() < 0.8:  # a handle, drawn as a ring cut in half by the body
        r = u(0.14, 0.22)
        layers.insert(0, (_ellipse(0.5, top, r, r * u(1.0, 1.6)), u(0.6, 1.0)))
        layers.insert(1, (_ellipse(0.5, top, r - 0.05, r * u(1.0, 1.6) - 0.05), 0.0))
    return layers


_SHORT, _LONG = ((0.10, 0.18), (0.35, 0.6)), ((0.36, 0.48), (1.05, 1.35))
_FASHION = [
    lambda r: _garment(r, sleeve=_SHORT, length=r.uniform(0.62, 0.75), flare=0.0),                  # T-shirt/top
    _trouser,                                                                                         # Trouser
    lambda r: _garment(r, sleeve=_LONG, length=r.uniform(0.6, 0.72), flare=0.0),                     # Pullover
    _dress,                                                                                           # Dress
    lambda r: _garment(r, sleeve=_LONG, length=r.uniform(0.7, 0.84), flare=0.15, opening=r.random() < 0.7),  # Coat
    lambda r: _shoe(r, shaft=(0.1, 0.2), sole=0.04, straps=int(r.integers(2, 5)), solid=False),      # Sandal
    lambda r: _garment(r, sleeve=_LONG if r.random() < 0.7 else _SHORT, length=r.uniform(0.62, 0.8),
                       flare=0.05, collar=r.random() < 0.6, buttons=r.random() < 0.6),              # Shirt
    lambda r: _shoe(r, shaft=(0.08, 0.16), sole=0.06),                                               # Sneaker
    _bag,                                                                                             # Bag
    lambda r: _shoe(r, shaft=(0.4, 0.55), sole=0.05),                                                # Ankle boot
]


def _fashion_prototypes(rng, per_class):
    protos, labels = [], []
    for label, draw in enumerate(_FASHION):
        for _ in range(per_class):
            protos.append(_paint(draw(rng), 28))
            labels.append(label)
    return np.stack(protos), np.array(labels)


# --------------------------------------------------------------------------- CIFAR-10

def _vehicle(rng, *, cab, wheels=True):
    u = rng.uniform
    base, left, right = u(0.62, 0.72), u(0.1, 0.2), u(0.8, 0.9)
    body_h = u(0.15, 0.22)
    layers = [([(left, base), (right, base), (right, base - body_h), (left, base - body_h)], 1)]
    if cab == "car":
        layers.append(([(left + 0.15, base - body_h), (right - 0.12, base - body_h),
                        (right - 0.22, base - body_h - u(0.1, 0.15)), (left + 0.25, base - body_h - u(0.1, 0.15))], 1))
    else:  # truck: tall cargo box behind a cab
        layers.append(([(left + 0.25, base - body_h), (right, base - body_h), (right, base - body_h - u(0.2, 0.3)),
                        (left + 0.25, base - body_h - u(0.2, 0.3))], 1))
        layers.append(([(left, base - body_h), (left + 0.22, base - body_h), (left + 0.22, base - body_h - 0.15),
                        (left + 0.05, base - body_h - 0.12)], 1))
    if wheels:
        for x in (left + 0.12, right - 0.12):
            layers.append((_ellipse(x, base, 0.07, 0.07, 12), 2))
    return layers


def _animal(rng, *, body, legs, neck, ears):
    u = rng.uniform
    cx, cy = u(0.42, 0.58), u(0.45, 0.58)
    rx, ry = u(*body[0]), u(*body[1])
    layers = []
    ground = cy + ry + legs
    for x in np.linspace(cx - rx * 0.7, cx + rx * 0.7, 4 if legs > 0.05 else 2):
        layers.append((_band((x, cy), (x + u(-0.03, 0.03), ground), 0.05), 1))
    layers.append((_ellipse(cx, cy, rx, ry), 1))
    hx, hy = cx - rx - neck * 0.6, cy - ry - neck
    layers.append((_band((cx - rx * 0.6, cy - ry * 0.3), (hx, hy), 0.08), 1))
    head = u(0.07, 0.1)
    layers.append((_ellipse(hx, hy, head, head * 0.85), 1))
    if ears == "pointed":
        for s in (-1, 1):
            layers.append(([(hx + s * head * 0.2, hy - head * 0.6), (hx + s * head, hy - head * 0.5),
                            (hx + s * head * 0.7, hy - head * 1.8)], 1))
    elif ears == "floppy":
        for s in (-1, 1):
            layers.append((_ellipse(hx + s * head, hy + head * 0.2, head * 0.35, head * 0.8, 10), 2))
    elif ears == "antlers":
        for s in (-1, 1):
            layers.append((_band((hx + s * 0.03, hy - head), (hx + s * 0.12, hy - head - 0.15), 0.025), 2))
    return layers


def _plane(rng):
    u = rng.uniform
    cx, cy, span = u(0.4, 0.6), u(0.4, 0.6), u(0.3, 0.42)
    return [(_ellipse(cx, cy, span, 0.06), 1),
            ([(cx - 0.05, cy), (cx + 0.08, cy), (cx + 0.18, cy + span * 0.9), (cx + 0.08, cy + span * 0.9)], 1),
            ([(cx - 0.05, cy), (cx + 0.08, cy), (cx + 0.18, cy - span * 0.9), (cx + 0.08, cy - span * 0.9)], 1),
            ([(cx + span - 0.1, cy), (cx + span, cy), (cx + span + 0.03, cy - 0.15), (cx + span - 0.03, cy - 0.15)], 2)]


def _ship(rng):
    u = rng.uniform
    deck, left, right = u(0.55, 0.65), u(0.08, 0.2), u(0.8, 0.92)
    return [([(left, deck), (right, deck), (right - 0.08, deck + u(0.1, 0.15)), (left + 0.08, deck + u(0.1, 0.15))], 1),
            ([(0.35, deck), (0.65, deck), (0.62, deck - u(0.1, 0.18)), (0.38, deck - u(0.1, 0.18))], 2),
            (_band((0.5, deck - 0.1), (0.5, deck - u(0.3, 0.45)), 0.03), 2)]


def _bird(rng):
    u = rng.uniform
    cx, cy = u(0.4, 0.6), u(0.4, 0.6)
    return [(_ellipse(cx, cy, u(0.14, 0.2), u(0.08, 0.12)), 1),
            (_ellipse(cx - 0.17, cy - 0.08, 0.07, 0.06), 1),
            ([(cx - 0.24, cy - 0.09), (cx - 0.3, cy - 0.06), (cx - 0.23, cy - 0.05)], 2),
            ([(cx - 0.05, cy), (cx + 0.12, cy), (cx + u(0.0, 0.1), cy - u(0.15, 0.3))], 2),
            ([(cx + 0.15, cy), (cx + 0.3, cy - 0.05), (cx + 0.3, cy + 0.05)], 1)]


def _frog(rng):
    u = rng.uniform
    cx, cy = u(0.4, 0.6), u(0.5, 0.62)
    rx = u(0.22, 0.3)
    layers = [(_ellipse(cx, cy, rx, rx * u(0.5, 0.7)), 1)]
    for s in (-1, 1):
        layers.append((_ellipse(cx + s * rx * 0.45, cy - rx * 0.55, 0.05, 0.05, 10), 2))
        layers.append((_ellipse(cx + s * rx * 0.9, cy + rx * 0.4, rx * 0.35, 0.06, 12), 1))
    return layers


_CIFAR = [
    _plane,
    lambda r: _vehicle(r, cab="car"),
    _bird,
    lambda r: _animal(r, body=((0.14, 0.2), (0.1, 0.14)), legs=0.06, neck=0.02, ears="pointed"),   # cat
    lambda r: _animal(r, body=((0.18, 0.24), (0.08, 0.11)), legs=0.2, neck=0.12, ears="antlers"),  # deer
    lambda r: _animal(r, body=((0.16, 0.22), (0.1, 0.13)), legs=0.1, neck=0.04, ears="floppy"),    # dog
    _frog,
    lambda r: _animal(r, body=((0.22, 0.28), (0.1, 0.13)), legs=0.2, neck=0.16, ears="pointed"),   # horse
    _ship,
    lambda r: _vehicle(r, cab="truck"),
]
# Colours (RGB in [0, 1]) of sky, ground, object and details, per class: centre of a
# random jitter. Similar classes share similar palettes, as in the real set.
_PALETTE = {
    0: [(0.55, 0.7, 0.9), (0.6, 0.72, 0.88), (0.85, 0.85, 0.88), (0.4, 0.4, 0.5)],
    1: [(0.6, 0.65, 0.7), (0.4, 0.4, 0.42), (0.7, 0.15, 0.15), (0.1, 0.1, 0.1)],
    2: [(0.6, 0.75, 0.9), (0.4, 0.55, 0.3), (0.5, 0.4, 0.3), (0.3, 0.25, 0.2)],
    3: [(0.6, 0.55, 0.5), (0.5, 0.45, 0.4), (0.55, 0.45, 0.35), (0.9, 0.8, 0.7)],
    4: [(0.5, 0.6, 0.45), (0.35, 0.45, 0.25), (0.55, 0.4, 0.25), (0.4, 0.3, 0.2)],
    5: [(0.6, 0.58, 0.55), (0.45, 0.5, 0.35), (0.6, 0.5, 0.35), (0.35, 0.25, 0.2)],
    6: [(0.4, 0.45, 0.3), (0.35, 0.4, 0.25), (0.35, 0.55, 0.25), (0.9, 0.85, 0.3)],
    7: [(0.55, 0.65, 0.75), (0.4, 0.5, 0.3), (0.45, 0.3, 0.2), (0.2, 0.15, 0.1)],
    8: [(0.6, 0.75, 0.9), (0.2, 0.35, 0.6), (0.75, 0.75, 0.75), (0.3, 0.3, 0.35)],
    9: [(0.6, 0.65, 0.7), (0.4, 0.4, 0.42), (0.85, 0.85, 0.8), (0.1, 0.1, 0.1)],
}


def _cifar_prototypes(rng, per_class):
    """Label maps at 32x32: 0 background, 1 object, 2 details (wheels, ears, mast...)."""
    protos, labels = [], []
    for label, draw in enumerate(_CIFAR):
        for _ in range(per_class):
            layers = draw(rng)
            obj = _paint([(p, 1.0 if v == 1 else 0.0) for p, v in layers], 32)
            det = _paint([(p, 1.0 if v == 2 else 0.0) for p, v in layers], 32)
            protos.append(np.stack([obj, det]))
            labels.append(label)
    return np.stack(protos), np.array(labels)


def _render_cifar(rng, protos, proto_labels, y, chunk=5_000):
    by_class = [np.flatnonzero(proto_labels == c) for c in range(10)]
    style = dict(rotate=0.15, scale=(0.8, 1.15), shear=0.15, shift=3.0)
    n = len(y)
    out = np.empty((n, 32, 32, 3), np.uint8)
    yy = np.linspace(0, 1, 32, dtype=np.float32)[None, :, None, None]
    palettes = np.array([_PALETTE[c] for c in range(10)], np.float32)  # (10, 4, 3)
    for start in range(0, n, chunk):
        labels = y[start:start + chunk]
        m = len(labels)
        idx = _pick(rng, by_class, labels)
        # Object and detail masks get the same random affine: two generators, one seed.
        flat, seed = protos.reshape(-1, 32, 32), rng.integers(2**63)
        obj = _warp(np.random.default_rng(seed), flat, idx * 2, style)
        det = _warp(np.random.default_rng(seed), flat, idx * 2 + 1, style)
        jitter = rng.standard_normal((m, 4, 3), dtype=np.float32) * np.float32(0.12)
        # A random other class's palette on a third of the images: colour alone must not
        # give the class away.
        swap = rng.random(m) < 0.35
        palette_of = np.where(swap, rng.integers(0, 10, m), labels)
        colours = palettes[palette_of] + jitter
        horizon = rng.uniform(0.45, 0.85, m).astype(np.float32)[:, None, None, None]
        sky, ground, body, detail = (colours[:, k, None, None, :] for k in range(4))
        img = np.where(yy < horizon, sky + (yy - horizon) * np.float32(0.3), ground)
        obj, det = obj[..., None], det[..., None]
        img = img * (1 - obj) + body * obj
        img = img * (1 - det) + detail * det
        img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(0.06)
        out[start:start + m] = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    return out
