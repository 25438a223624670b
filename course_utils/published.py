"""The reference chapter's published figures: the one place the lectures quote them from.

Each figure has an id (F1-F23 for the Fashion-MNIST experiments, C2-C6 for the CIFAR-10
exercise, S0-S3 for what the askers of the course's four puzzles reported, and the sizes
of the datasets), the value as published, what it measures, the protocol it was measured under
and where it is published. A lecture prints a figure with ``published.figure("F5")`` and
compares its own run with it through ``course_utils.comparisons``, so that what the
notebook says about the book is computed from the run, never typed in.

Example::

    from course_utils import published
    f5 = published.figure("F5")
    print(f5.value, f5.quantity)  # 0.738 val accuracy after 5 epochs
"""

from dataclasses import dataclass

SOURCE = "Géron, Hands-On Machine Learning, chapter 11 notebook (handson-ml2, 11_training_deep_neural_networks)"


@dataclass(frozen=True)
class Figure:
    """One published figure.

    Args:
        id: the experiment's id, as in the lectures' table (``"F5"``).
        value: the figure as published: a number, or a tuple of numbers for a range.
        quantity: what the number measures (``"val accuracy after 5 epochs"``).
        protocol: the setup it was measured under, as published.
        source: where it is published.
    """

    id: str
    value: object
    quantity: str
    protocol: str
    source: str = SOURCE

    def __str__(self):
        value = "–".join(f"{v:g}" for v in self.value) if isinstance(self.value, tuple) else f"{self.value:g}"
        return f"{self.id} {self.quantity}: {value}"


_FIGURES = [
    Figure("F1", 0.8396, "val accuracy after 10 epochs",
           "300-100-10, he_normal, LeakyReLU (slope 0.3), SGD 1e-3, pixels /255, batch 32"),
    Figure("F2", 0.8398, "val accuracy after 10 epochs", "as F1 with PReLU"),
    Figure("F3", (0.83, 1.00), "mean of the per-feature std, at every 100th of 1,000 layers",
           "NumPy: Z ~ N(0,1) 500x100, W ~ N(0, 1/100), Z = selu(Z W), seed 42; "
           "np.std(Z, axis=0).mean(); the per-feature mean, averaged, stays within ±0.05"),
    Figure("F3 mean", 0.05, "largest |mean of the per-feature mean|, at every 100th of 1,000 layers",
           "as F3, np.mean(Z, axis=0).mean()"),
    Figure("F4", 0.8218, "val accuracy after 5 epochs",
           "300 + 99x100 SELU, lecun_normal, standardised inputs, SGD 1e-3, one seed"),
    Figure("F5", 0.7380, "val accuracy after 5 epochs", "as F4 with relu + he_normal, one seed"),
    Figure("F6", 0.8750, "val accuracy after 10 epochs",
           "BN, 300 relu, BN, 100 relu, BN, softmax; Glorot (Keras's default) initialisers; SGD 1e-3"),
    Figure("F6 params", 271_346, "parameters (2,368 non-trainable)", "as F6"),
    Figure("F7", 0.8660, "val accuracy after 10 epochs",
           "as F6 with BN before each activation and use_bias=False, Glorot initialisers"),
    Figure("F9 A", 0.9200, "model A val accuracy after 20 epochs",
           "8 classes (all but sandal and shirt), 300-100-50-50-50 selu, Glorot initialisers"),
    Figure("F9 B", 0.9705, "model B test accuracy", "shirt vs sandal, first 200 training images, one seed"),
    Figure("F9 B on A", 0.9940, "B on A test accuracy", "A's layers, frozen 4 epochs then unfrozen 16, one seed"),
    Figure("F9 ratio", 4.9, "test error divided by (B / B on A)",
           "one seed, which the reference admits was chosen for the gain"),
    Figure("F11", 0.8924, "val accuracy after 25 epochs", "power scheduling: SGD 0.01 / (1 + step / 10,000)"),
    Figure("F12", 0.8928, "val accuracy after 25 epochs", "exponential per epoch: Nadam, 0.01 * 0.1 ** (epoch / 20)"),
    Figure("F13", 0.8880, "val accuracy after 25 epochs", "exponential per step: Nadam 0.01, 0.1 every 20 epochs"),
    Figure("F14", 0.8868, "val accuracy after 25 epochs", "piecewise constant: Nadam 0.01 / 0.005 / 0.001"),
    Figure("F15", 0.8936, "val accuracy after 25 epochs",
           "ReduceLROnPlateau(factor 0.5, patience 5), SGD 0.02 momentum 0.9"),
    Figure("F16", 0.8904, "val accuracy after 25 epochs", "SGD, ExponentialDecay(0.01, 20 epochs of steps, 0.1)"),
    Figure("F18", 0.8934, "val accuracy after 25 epochs",
           "1cycle: plain SGD without momentum (the schedule sets only the rate), batch 128, max_rate 0.05, "
           "start max/10, last 10% of steps down to start/1000"),
    Figure("F19", 0.8376, "val accuracy after 2 epochs",
           "300-100-10 elu he_normal, l2(0.01) on every kernel, Nadam, standardised inputs"),
    Figure("F20", 0.8722, "val accuracy after 2 epochs", "dropout 0.2 before each Dense, elu, Nadam"),
    Figure("F21", 0.8639, "test accuracy after 20 epochs",
           "AlphaDropout 0.2, selu, lecun_normal, SGD 0.01 momentum 0.9 nesterov, standardised inputs"),
    Figure("F21 train", 0.8840, "training accuracy (dropout off) after 20 epochs", "as F21"),
    Figure("F22", 0.8661, "MC dropout test accuracy", "mean of 100 stochastic passes of F21's model"),
    Figure("F22 first image plain", 0.96, "plain probability of class 9 (ankle boot), first test image",
           "X_test_scaled[:1], F21's model"),
    Figure("F22 first image MC", 0.68, "MC mean probability of class 9, first test image", "100 passes"),
    Figure("F22 first image MC std", 0.29, "std over 100 passes of class 9's probability, first test image",
           "100 passes"),
    Figure("F23", 0.8662, "val accuracy after 2 epochs",
           "max_norm(1.) on the two hidden selu kernels only (the softmax output layer has none), Nadam"),
    Figure("C2", 0.4762, "best val accuracy (after 27 epochs)",
           "CIFAR-10, 20 x Dense(100, elu, he_normal), Nadam 5e-5, early stopping patience 20"),
    Figure("C3", 0.5398, "val accuracy",
           "C2 with BN before each activation and on the input, Nadam 5e-4; reached the plain model's best "
           "validation loss in 5 epochs and kept improving until epoch 16"),
    Figure("C4", 0.4792, "val accuracy", "standardised inputs, lecun_normal, selu, Nadam 7e-4"),
    Figure("C5", 0.4890, "val accuracy", "C4 with alpha dropout 0.1, Nadam 5e-4"),
    Figure("C5 MC", 0.4892, "MC dropout val accuracy (10 samples)", "C5's model"),
    Figure("C6", 0.5198, "val accuracy after 15 epochs", "1cycle, SGD, batch 128, max_rate 0.05"),
]
# The four questions and answers the course's puzzles come from (seeds 000-003): what the
# askers reported, on their machines.
QA = "a question and answer thread (seed {})"
_FIGURES += [
    Figure("S0 first epoch", 1, "seconds per epoch at first", "MNIST, Dense(256, relu) + l2(0.01), a CPU, 2016",
           QA.format("000")),
    Figure("S0 last epoch", 12, "seconds per epoch after 10 epochs", "as S0 first epoch", QA.format("000")),
    Figure("S1 MLP params", 669_706, "parameters of the MLP 784-512-512-10", "MNIST, a CPU", QA.format("001")),
    Figure("S1 MLP epoch", 16, "seconds per epoch of the MLP", "MNIST, a CPU", QA.format("001")),
    Figure("S1 CNN params", 110_986, "parameters of the CNN conv32-conv64-pool-dense", "MNIST, a CPU",
           QA.format("001")),
    Figure("S1 CNN epoch", 340, "seconds per epoch of the CNN", "MNIST, a CPU", QA.format("001")),
    Figure("S1 small CNN params", 5_958, "parameters of the CNN with 4 filters", "MNIST, a CPU", QA.format("001")),
    Figure("S1 small CNN epoch", 28, "seconds per epoch of the CNN with 4 filters", "MNIST, a CPU",
           QA.format("001")),
    Figure("S2 accuracy", 0.10, "accuracy, stuck", "MNIST, Dense(36, sigmoid, l2(1e-4)) + Dropout(0.5), RMSprop, "
           "batch 128", QA.format("002")),
    Figure("S2 loss", 2.3027, "validation loss, stuck", "as S2 accuracy", QA.format("002")),
    Figure("S3 examples", 50_000, "training examples per epoch", "MNIST 784-500-500-10 sigmoid, a GTX 980",
           QA.format("003")),
    Figure("S3 batch 1", 166, "seconds per epoch at batch 1", "as S3 examples", QA.format("003")),
    Figure("S3 batch 10", 17, "seconds per epoch at batch 10", "as S3 examples", QA.format("003")),
]
_FIGURES += [
    Figure("MNIST images", 60_000, "training images (and 10,000 test images)", "LeCun et al., 1998",
           "the MNIST database"),
    Figure("Fashion-MNIST split", 55_000, "training images after 5,000 are held out for validation "
           "(of 60,000; and 10,000 test images)", "the reference's split", SOURCE),
    Figure("CIFAR-10 images", 60_000, "colour images of 32 x 32 pixels (50,000 training, 10,000 test)",
           "Krizhevsky, 2009", "the CIFAR-10 dataset"),
]
FIGURES = {f.id: f for f in _FIGURES}


def figure(id):
    """The published figure ``id``.

    Args:
        id: an id of ``FIGURES`` (``"F5"``, ``"F22 first image MC"``).

    Returns:
        The ``Figure``.

    Raises:
        KeyError: naming the id and the ids there are.
    """
    try:
        return FIGURES[id]
    except KeyError:
        raise KeyError(f"id={id!r}: no published figure with that id; there are {', '.join(FIGURES)}") from None


def value(id):
    """The published value of figure ``id`` (see ``figure``).

    Args:
        id: an id of ``FIGURES`` (``"F5"``, ``"F22 first image MC"``).

    Returns:
        The ``Figure``'s ``value``, as published: a number, or a tuple of numbers for a range.

    Raises:
        KeyError: naming the id and the ids there are.

    Example:
        >>> from course_utils import published
        >>> published.value("F5")
        0.738
        >>> published.value("F3")
        (0.83, 1.0)
    """
    return figure(id).value
