"""Which initialisation a layer's weights were drawn with, read from the weights themselves.

What makes He or LeCun initialisation work is the spread of the weights it draws, not the
name of the class that drew them: ``"he_normal"``, ``keras.initializers.HeNormal()`` and
``VarianceScaling(scale=2.0, mode="fan_in", distribution="truncated_normal")`` draw the same
distribution, while Glorot's differs whenever a layer's fan-in and fan-out differ. The
exercises' tests therefore compare a layer's kernel with a fresh draw of the initialiser
asked for, on the same shape, as Keras itself makes it.

A kernel tells them apart only where their spreads differ: on a 100 × 100 layer He draws
weights of std sqrt(2/100) = 0.141 and Glorot and LeCun 0.100; on a 3072 × 100 layer LeCun
draws 0.018 and Glorot 0.025, but He's 0.026 is within 2 % of Glorot's.

Example::

    layer = keras.layers.Dense(100, kernel_initializer="he_normal")
    layer.build((None, 100))
    drawn_like(layer, "he_normal")      # True
    drawn_like(layer, "glorot_normal")  # False: std 0.141 against 0.100
"""

import keras
import numpy as np

#: How far the spread of a layer's weights may lie from the initialiser's (as a ratio of their
#: standard deviations): a kernel of n weights estimates its std within about 1/sqrt(2n), 0.7 %
#: for the smallest kernel accepted, so a right layer falls outside 5 % about once in 10 million.
TOLERANCE = 0.05
#: Fewer weights than this estimate their spread too loosely to grade.
MIN_WEIGHTS = 10_000
#: Draws of the initialiser pooled into the reference spread, so that its own noise is negligible.
REFERENCE_DRAWS = 10


def std_ratio(layer, initializer):
    """The standard deviation of ``layer``'s kernel over that of a fresh draw of ``initializer``
    on the same shape.

    Args:
        layer: a built Keras layer with a ``kernel`` (``Dense``, ``Conv2D``, ...) of at least
            ``MIN_WEIGHTS`` weights.
        initializer: anything ``keras.initializers.get`` takes (``"he_normal"``, an instance).

    Returns:
        A float: 1 when the weights have the spread the initialiser draws.
    """
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        raise ValueError(f"layer={layer!r}: it has no kernel to compare (build it first, or pass a Dense "
                         "or convolution layer)")
    weights = np.asarray(kernel)
    if weights.size < MIN_WEIGHTS:
        raise ValueError(f"layer={layer.name!r}: its kernel of shape {weights.shape} has {weights.size:,} weights, "
                         f"too few to tell initialisers apart (at least {MIN_WEIGHTS:,})")
    base = keras.initializers.get(initializer)
    config = base.get_config()
    # An unseeded Keras initialiser draws the same values at every call: one seed per draw.
    draws = [type(base).from_config({**config, "seed": seed}) if "seed" in config else base
             for seed in range(REFERENCE_DRAWS)]
    reference = np.concatenate([np.asarray(draw(weights.shape)).ravel() for draw in draws])
    return float(weights.std() / reference.std())


def drawn_like(layer, initializer, tolerance=TOLERANCE):
    """Whether ``layer``'s kernel has the spread of ``initializer``'s draws, within ``tolerance``
    (of the ratio of their standard deviations), and is centred on 0 as every one of Keras's
    random initialisers is.

    Args:
        layer: a built Keras layer with a ``kernel`` (``Dense``, ``Conv2D``, ...) of at least
            ``MIN_WEIGHTS`` weights, still untrained.
        initializer: anything ``keras.initializers.get`` takes (``"he_normal"``, an instance).
        tolerance: the largest accepted ``|std_ratio - 1|`` (default ``TOLERANCE``, 0.05).

    Returns:
        A bool: True when the kernel's std is within ``tolerance`` of the initialiser's
        (see :func:`std_ratio`) and its mean within 6 standard errors of 0.

    Raises:
        ValueError: a layer without a kernel (unbuilt, or not a Dense or convolution
            layer), or with fewer than ``MIN_WEIGHTS`` weights.

    Example:
        >>> layer = keras.layers.Dense(100, kernel_initializer="he_normal")
        >>> layer.build((None, 100))
        >>> drawn_like(layer, "he_normal")
        True
        >>> drawn_like(layer, "glorot_normal")  # std 0.141 against 0.100
        False
    """
    ratio = std_ratio(layer, initializer)
    weights = np.asarray(layer.kernel)
    # 6 standard errors: a right layer is off-centre by more about once in 500 million.
    centred = abs(weights.mean()) < 6 * weights.std() / np.sqrt(weights.size)
    return bool(centred and abs(ratio - 1) <= tolerance)
