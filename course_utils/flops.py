"""What a network costs to run: multiply-accumulates and FLOPs per layer, and throughput.

Keras counts parameters, never operations; keras-flops no longer imports on TF 2.21, and
TensorFlow's profiler needs a frozen graph and skips what it does not know without a word.
This counter reads the layers of a built Keras model and applies one written-down formula
per layer type.

Conventions (forward pass, per ``batch_size`` samples):

- A **MAC** is one multiply-add. Dense: ``in_features x units`` per output row.
  Convolution: ``kernel volume x in_channels / groups`` per output element. Transposed
  convolution: every input element meets the whole kernel once:
  ``input positions x in_channels x kernel volume x filters``. Depthwise:
  ``kernel volume`` per output element. Separable: depthwise, then a 1x1 convolution.
- Per element, one MAC (``x * scale + offset``): batch normalization at inference,
  ``Rescaling``, ``Normalization`` (``(x - mean) / std`` folded into one multiply-add), and
  Inception-ResNet's residual scaling (``x + scale * branch``). Papers usually leave these
  out of their counts.
  Layer and group normalization: 7 FLOPs per element (mean, variance, normalise) plus
  their scale and offset as one MAC. Unit normalization: the sum of squares, one MAC per
  element, then one division per element.
- **FLOPs** = 2 per MAC, plus one per bias add (one per output element), plus the
  element-wise work of activations at the rates of ``ACTIVATION_FLOPS`` (an ``exp`` or a
  division counts as 1), whether the activation is a layer or an ``activation=`` argument.
  Max pooling: one comparison per window element; average pooling: one add per window
  element; global pooling: one per input element. Add/Subtract/Multiply/Average/Maximum/
  Minimum: one FLOP per output element per extra input; ``LayerScale`` (ConvNeXt), a
  per-channel multiply: one FLOP per element.
- Resampling (``UpSampling``, ``Resizing``): ``nearest`` and ``area`` copy (zero);
  otherwise each output element is a weighted sum of ``taps ** spatial dims`` inputs
  (``bilinear`` 2 taps per dimension, ``bicubic`` 4, ``lanczos3`` 6, ``lanczos5`` 10), in MACs.
- **Attention** (``MultiHeadAttention``, T query and S key positions, H heads of key size
  K and value size V): the four projections (``T dq HK + S dk HK + S dv HV + T HV dout``),
  the scores (``T S H K``) and the weighted sum (``T S H V``) in MACs; a softmax
  (``ACTIVATION_FLOPS``) over the ``T S H`` scores; bias adds.
- **Recurrent layers**, per time step (d inputs, u units, T steps): SimpleRNN ``d u + u u``
  MACs, LSTM 4 times that (four gates), GRU 3 times; plus bias adds, the activations of
  the gates and the element-wise state updates (LSTM 4 FLOPs per unit, GRU 4).
  ``Bidirectional`` is its two layers; ``TimeDistributed`` its layer once per step.
- **Zero**: Dropout and its relatives, and the random augmentation layers (``Random*``,
  ``MixUp``, ``CutMix``, ``AugMix``, ``RandAugment``): all inactive at inference; Flatten,
  Reshape, Permute, Concatenate, padding and cropping, ``Identity``, ``StochasticDepth``
  (identity at inference), Embedding (a table look-up). Input layers are not listed.
- **Training** costs about 3x the forward pass (the backward pass computes gradients with
  respect to both activations and weights, each about one forward pass): an estimate,
  stated as such in the report.

A layer with no formula here is listed as *not counted*, in the table and in a warning,
never as a silent zero. Nested models are expanded layer by layer. A model whose inputs
have unknown sizes (``keras.applications`` models built without ``input_shape``) is
counted at the ``input_shape`` you pass; the model itself is left unchanged.

Example::

    report = count_flops(model)
    report            # an HTML table in a notebook
    print(report)     # a text table
    report.plot()     # MACs per layer, as bars
    report.total_macs, report.total_flops
    count_flops(keras.applications.MobileNetV3Small(weights=None, input_shape=(None, None, 3)),
                input_shape=(224, 224, 3))
"""

import html
import math
import time
import timeit
import warnings
from dataclasses import dataclass

import importlib

import keras

from course_utils.arguments import whole_number

# Why a private Keras layer's formula is missing, by the layer's class name: said in the
# count's warning when such a layer is met.
_MISSING = {}


def _private_layer(module, name):
    """A layer class of ``keras.src`` that ``keras.layers`` does not export, or, where a Keras
    release moved or renamed it, a stand-in class no layer is an instance of: then only that
    layer goes uncounted, and the count's warning says why."""
    try:
        return getattr(importlib.import_module(f"keras.src.{module}"), name)
    except (ImportError, AttributeError) as error:
        _MISSING[name] = f"{name} is not at keras.src.{module} in Keras {keras.__version__} ({error})"
        return type(name, (), {})


# ConvNeXt's layers, and Inception-ResNet's residual scaling.
LayerScale = _private_layer("applications.convnext", "LayerScale")
StochasticDepth = _private_layer("applications.convnext", "StochasticDepth")
CustomScaleLayer = _private_layer("applications.inception_resnet_v2", "CustomScaleLayer")

# FLOPs per element of each activation function (an exp, a log or a division counts as 1).
ACTIVATION_FLOPS = {
    "linear": 0, "relu": 1, "relu6": 2, "leaky_relu": 2, "elu": 3, "selu": 4, "celu": 4,
    "sigmoid": 4, "hard_sigmoid": 3, "tanh": 5, "softmax": 5, "log_softmax": 5,
    "softplus": 3, "softsign": 3, "exponential": 1, "silu": 5, "swish": 5,
    "hard_silu": 4, "hard_swish": 4, "gelu": 8, "mish": 9,
}

_MAX_POOL = (keras.layers.MaxPooling1D, keras.layers.MaxPooling2D, keras.layers.MaxPooling3D)
_AVG_POOL = (keras.layers.AveragePooling1D, keras.layers.AveragePooling2D, keras.layers.AveragePooling3D)
_GLOBAL_POOL = (keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D,
                keras.layers.GlobalAveragePooling3D, keras.layers.GlobalMaxPooling1D,
                keras.layers.GlobalMaxPooling2D, keras.layers.GlobalMaxPooling3D)
_CONV = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_CONV_T = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)
_DEPTHWISE = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)
_SEPARABLE = (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)
_AUGMENTATION = tuple(getattr(keras.layers, n) for n in dir(keras.layers)
                      if n.startswith("Random") or n in ("MixUp", "CutMix", "AugMix", "RandAugment"))
_FREE = (keras.layers.Dropout, keras.layers.AlphaDropout, keras.layers.GaussianDropout,
         keras.layers.GaussianNoise, keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D,
         keras.layers.SpatialDropout3D, keras.layers.Flatten, keras.layers.Reshape,
         keras.layers.Permute, keras.layers.Concatenate, keras.layers.Embedding,
         keras.layers.ActivityRegularization, keras.layers.Identity,
         keras.layers.ZeroPadding1D, keras.layers.ZeroPadding2D, keras.layers.ZeroPadding3D,
         keras.layers.Cropping1D, keras.layers.Cropping2D, keras.layers.Cropping3D,
         StochasticDepth, *_AUGMENTATION)
_ELEMENTWISE = (keras.layers.Add, keras.layers.Subtract, keras.layers.Multiply,
                keras.layers.Average, keras.layers.Maximum, keras.layers.Minimum)
_AFFINE = (keras.layers.BatchNormalization, keras.layers.Rescaling, keras.layers.Normalization)
_GROUP_NORM = (keras.layers.LayerNormalization, keras.layers.GroupNormalization)
_UPSAMPLING = (keras.layers.UpSampling1D, keras.layers.UpSampling2D, keras.layers.UpSampling3D)
_TAPS = {"nearest": 0, "area": 0, "bilinear": 2, "bicubic": 4, "lanczos3": 6, "lanczos5": 10}
_RNN_GATES = {keras.layers.SimpleRNN: 1, keras.layers.GRU: 3, keras.layers.LSTM: 4}
_ACTIVATION_LAYERS = {keras.layers.ReLU: "relu", keras.layers.LeakyReLU: "leaky_relu",
                      keras.layers.ELU: "elu", keras.layers.Softmax: "softmax"}


@dataclass(frozen=True)
class LayerCost:
    """One row of the report: a layer and what one forward pass through it costs."""
    name: str
    kind: str
    output_shape: tuple
    params: int
    macs: int
    flops: int
    counted: bool


class FlopReport:
    """Per-layer MACs and FLOPs of a model for a batch, with totals (see the module doc)."""

    def __init__(self, model_name, rows, batch_size):
        self.model_name, self.rows, self.batch_size = model_name, rows, batch_size

    @property
    def total_params(self):
        return sum(r.params for r in self.rows)

    @property
    def total_macs(self):
        return sum(r.macs for r in self.rows)

    @property
    def total_flops(self):
        return sum(r.flops for r in self.rows)

    @property
    def training_flops(self):
        """Estimate for one training step: 3x the forward pass."""
        return 3 * self.total_flops

    @property
    def not_counted(self):
        return [r.name for r in self.rows if not r.counted]

    def _table(self):
        header = ("layer", "type", "output shape", "params", "MACs", "FLOPs")
        body = [(r.name, r.kind, str(r.output_shape), f"{r.params:,}",
                 f"{r.macs:,}" if r.counted else "not counted",
                 f"{r.flops:,}" if r.counted else "not counted") for r in self.rows]
        total = ("total", "", f"batch of {self.batch_size}", f"{self.total_params:,}",
                 f"{self.total_macs:,}", f"{self.total_flops:,}")
        return header, body, total

    def __str__(self):
        header, body, total = self._table()
        widths = [max(len(row[i]) for row in [header, total, *body]) for i in range(len(header))]
        line = lambda row: "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
        rule = "-" * len(line(header))
        out = [f"{self.model_name}: forward pass", line(header), rule, *map(line, body), rule, line(total),
               f"training step ~ 3 x forward = {self.training_flops:,} FLOPs (estimate)"]
        if self.not_counted:
            out.append(f"NOT COUNTED (no formula): {', '.join(self.not_counted)}")
        return "\n".join(out)

    def _repr_html_(self):
        header, body, total = self._table()
        cell = lambda tag, c, i: f"<{tag} style='text-align:{'left' if i < 3 else 'right'}'>{html.escape(c)}</{tag}>"
        rows = ["<tr>" + "".join(cell("th", c, i) for i, c in enumerate(header)) + "</tr>"]
        for r, row in zip(self.rows, body):
            style = "" if r.counted else " style='background:#fdd'"
            rows.append(f"<tr{style}>" + "".join(cell("td", c, i) for i, c in enumerate(row)) + "</tr>")
        rows.append("<tr style='font-weight:bold'>" + "".join(cell("td", c, i) for i, c in enumerate(total)) + "</tr>")
        caption = (f"{html.escape(self.model_name)}: forward pass; a training step is about "
                   f"3 x forward = {self.training_flops:,} FLOPs (estimate)")
        return f"<table><caption>{caption}</caption>{''.join(rows)}</table>"

    def plot(self, ax=None, *, log=True):
        """Horizontal bars of MACs per layer (layers with none left out)."""
        import matplotlib.pyplot as plt
        rows = [r for r in self.rows if r.macs > 0]
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.2))
        ax.barh([r.name for r in rows][::-1], [r.macs for r in rows][::-1])
        if log:
            ax.set_xscale("log")
        ax.set_xlabel(f"multiply-accumulates (batch of {self.batch_size})")
        ax.set_title(f"{self.model_name}: {self.total_macs:,} MACs in all")
        return ax


def count_flops(model, batch_size=1, input_shape=None):
    """A :class:`FlopReport` of one forward pass of ``model`` on ``batch_size`` samples.

    The formulas per layer type are in the module's docstring. A layer with no formula is
    listed as *not counted*, left out of the totals and named in a warning, never counted
    as a silent zero. Nested models are expanded layer by layer.

    Args:
        model: a built Keras model that knows its layers' outputs: a ``Sequential`` or
            functional model started with ``keras.Input(shape=...)`` (or built with
            ``model.build(input_shape)``); not a subclassed model.
        batch_size: the number of samples in the forward pass, a positive integer: every
            row's MACs and FLOPs are those of one sample times ``batch_size``.
        input_shape: None, or one sample's shape without the batch axis, as a tuple of
            positive integers (a list of such tuples for a model of several inputs).
            Needed when the model's inputs have unknown sizes, e.g. ``keras.applications``
            models made with ``input_shape=(None, None, 3)``: the count runs on a copy of
            the model built at that shape, and ``model`` is not changed.

    Returns:
        A :class:`FlopReport`: ``rows``, one :class:`LayerCost` per layer (``name``,
        ``kind``, ``output_shape``, ``params``, ``macs``, ``flops``, ``counted``); the
        totals ``total_params``, ``total_macs`` and ``total_flops`` for the batch;
        ``training_flops``, the estimate for one training step (3x the forward pass);
        ``not_counted``, the names of the layers with no formula; and ``plot()``, MACs
        per layer as bars. A notebook shows it as an HTML table; ``print`` gives a text table.

    Raises:
        TypeError: if ``model`` is not a Keras model.
        ValueError: if ``batch_size`` is not a positive integer; if the model has no known
            input shape; if its inputs have unknown sizes and no ``input_shape`` is given;
            or if ``input_shape`` does not fit the model's inputs.

    Example:
        import keras
        from course_utils import flops

        model = keras.Sequential([keras.Input(shape=(784,)),
                                  keras.layers.Dense(300, activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        report = flops.count_flops(model)
        report                # the table, in a notebook
        report.total_macs     # 784 * 300 + 300 * 10 = 238200
        mobile = keras.applications.MobileNetV3Small(weights=None, input_shape=(None, None, 3))
        flops.count_flops(mobile, input_shape=(224, 224, 3)).total_macs
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model={model!r}: expected a Keras model.")
    batch_size = whole_number("batch_size", batch_size)
    if not model.built or not _has_graph(model):
        raise ValueError(f"model {model.name!r} has no known input shape: start it with "
                         "keras.Input(shape=...) or call model.build(input_shape) first.")
    if input_shape is not None:
        model = _at_shape(model, input_shape)
    unknown = [(t.name, tuple(t.shape)) for t in model.inputs if None in tuple(t.shape)[1:]]
    if unknown:
        where = "; ".join(f"input {name!r} has shape {shape}, dimension(s) "
                          f"{', '.join(str(i) for i, d in enumerate(shape) if d is None and i > 0)} unknown"
                          for name, shape in unknown)
        raise ValueError(f"model {model.name!r}: {where}. Operations depend on them: pass one "
                         f"sample's shape, e.g. count_flops(model, input_shape={_example(unknown[0][1])}).")
    rows = []
    _walk(model, "", batch_size, rows)
    report = FlopReport(model.name, rows, batch_size)
    if report.not_counted:
        missing = sorted({_MISSING[r.kind] for r in rows if not r.counted and r.kind in _MISSING})
        warnings.warn(f"count_flops: no formula for {', '.join(report.not_counted)}; "
                      "these layers are listed as not counted and left out of the totals."
                      + "".join(f" {why}." for why in missing), stacklevel=2)
    return report


def _example(shape):
    return tuple(224 if d is None else d for d in shape[1:])


def _at_shape(model, input_shape):
    """A copy of ``model`` on inputs of ``input_shape``. Its weights are created inside a
    ``StatelessScope``, so they are never initialised: counting needs only their shapes."""
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    if len(shapes) != len(model.inputs) or not all(
            isinstance(s, tuple) and s and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in s)
            for s in shapes):
        raise ValueError(f"input_shape={input_shape!r}: expected one sample's shape as a tuple of positive "
                         f"integers (no batch axis), or a list of {len(model.inputs)} such tuples, "
                         f"one per input of model {model.name!r}.")
    for shape, tensor in zip(shapes, model.inputs):
        known = tuple(tensor.shape)[1:]
        if len(shape) != len(known) or any(k is not None and k != d for k, d in zip(known, shape)):
            raise ValueError(f"input_shape={input_shape!r}: input {tensor.name!r} of model {model.name!r} "
                             f"takes samples of shape {known}; {shape} does not fit it.")
    with keras.StatelessScope():
        inputs = [keras.Input(shape=s, dtype=t.dtype) for s, t in zip(shapes, model.inputs)]
        return keras.models.clone_model(model, input_tensors=inputs if len(inputs) > 1 else inputs[0])


def _has_graph(model):
    """Whether the model knows its layers' outputs (a subclassed model raises here)."""
    try:
        return model.outputs is not None
    except (AttributeError, ValueError):
        return False


def _walk(model, prefix, batch_size, rows):
    for layer in model.layers:
        name = prefix + layer.name
        if isinstance(layer, keras.layers.InputLayer):  # a placeholder, not a computation
            continue
        if isinstance(layer, keras.Model):
            _walk(layer, name + "/", batch_size, rows)
            continue
        in_shapes = [tuple(t.shape[1:]) for t in keras.tree.flatten(layer.input)]
        out_shape = tuple(keras.tree.flatten(layer.output)[0].shape[1:])
        cost = _per_sample(layer, in_shapes, out_shape)
        counted = cost is not None
        macs, flops = cost if counted else (0, 0)
        rows.append(LayerCost(name, type(layer).__name__, (None, *out_shape), layer.count_params(),
                              macs * batch_size, flops * batch_size, counted))


def _activation_flops(activation, elements):
    name = getattr(activation, "__name__", str(activation))
    if name not in ACTIVATION_FLOPS:
        return None
    return ACTIVATION_FLOPS[name] * elements


def _per_sample(layer, in_shapes, out_shape):
    """``(MACs, FLOPs)`` of one sample through ``layer``, or None when there is no formula."""
    out_n = math.prod(out_shape)
    in_shape = in_shapes[0]
    if isinstance(layer, _FREE):
        return 0, 0
    if isinstance(layer, keras.layers.Dense):
        macs = out_n * in_shape[-1]
    elif isinstance(layer, _CONV):
        k = math.prod(layer.kernel_size)
        macs = out_n * k * in_shape[-1] // layer.groups
    elif isinstance(layer, _CONV_T):
        macs = math.prod(in_shape) * math.prod(layer.kernel_size) * layer.filters
    elif isinstance(layer, _DEPTHWISE):
        macs = out_n * math.prod(layer.kernel_size)
    elif isinstance(layer, _SEPARABLE):
        depthwise_out = out_n // layer.filters * in_shape[-1] * layer.depth_multiplier
        macs = depthwise_out * math.prod(layer.kernel_size) + depthwise_out * layer.filters
    elif isinstance(layer, _AFFINE + (CustomScaleLayer,)):
        return out_n, 2 * out_n
    elif isinstance(layer, _GROUP_NORM):
        return out_n, 9 * out_n
    elif isinstance(layer, keras.layers.UnitNormalization):
        return out_n, 3 * out_n
    elif isinstance(layer, _UPSAMPLING + (keras.layers.Resizing,)):
        taps = _TAPS.get(layer.interpolation)
        if taps is None:
            return None
        macs = out_n * taps ** (len(out_shape) - 1) if taps else 0
        return macs, 2 * macs
    elif isinstance(layer, _MAX_POOL + _AVG_POOL):
        return 0, out_n * math.prod(layer.pool_size)
    elif isinstance(layer, _GLOBAL_POOL):
        return 0, math.prod(in_shape)
    elif isinstance(layer, _ELEMENTWISE):
        return 0, out_n * (len(in_shapes) - 1)
    elif isinstance(layer, LayerScale):
        return 0, out_n
    elif isinstance(layer, keras.layers.Activation):
        flops = _activation_flops(layer.activation, out_n)
        return None if flops is None else (0, flops)
    elif type(layer) in _ACTIVATION_LAYERS:
        return 0, ACTIVATION_FLOPS[_ACTIVATION_LAYERS[type(layer)]] * out_n
    elif isinstance(layer, keras.layers.PReLU):
        return 0, ACTIVATION_FLOPS["leaky_relu"] * out_n
    elif isinstance(layer, keras.layers.MultiHeadAttention):
        return _attention(layer, out_shape)
    elif type(layer) in _RNN_GATES:
        return _recurrent(layer, in_shape)
    elif isinstance(layer, keras.layers.Bidirectional):
        costs = [_recurrent(rnn, in_shape) for rnn in (layer.forward_layer, layer.backward_layer)]
        return None if None in costs else tuple(map(sum, zip(*costs)))
    elif isinstance(layer, keras.layers.TimeDistributed):
        inner_out = tuple(layer.layer.compute_output_shape((None, *in_shape[1:])))[1:]
        cost = _per_sample(layer.layer, [in_shape[1:]], inner_out)
        return None if cost is None else (cost[0] * in_shape[0], cost[1] * in_shape[0])
    else:
        return None
    # Dense and the convolutions: multiply-adds, then bias and activation element-wise.
    bias = out_n if layer.use_bias else 0
    act = _activation_flops(layer.activation, out_n)
    if act is None:
        return None
    return macs, 2 * macs + bias + act


def _attention(layer, out_shape):
    """Multi-head attention: see the conventions in the module docstring."""
    args, kwargs = layer._inbound_nodes[0].arguments.args, layer._inbound_nodes[0].arguments.kwargs
    query = args[0] if args else kwargs["query"]
    value = args[1] if len(args) > 1 else kwargs["value"]
    key = args[2] if len(args) > 2 else kwargs.get("key", value)
    if key is None:
        key = value
    t, s = math.prod(query.shape[1:-1]), math.prod(key.shape[1:-1])
    h, k, v = layer.num_heads, layer.key_dim, layer.value_dim or layer.key_dim
    d_out = out_shape[-1]
    projections = t * query.shape[-1] * h * k + s * key.shape[-1] * h * k + s * value.shape[-1] * h * v + t * h * v * d_out
    macs = projections + t * s * h * (k + v)
    bias = (t * h * k + s * h * k + s * h * v + t * d_out) if layer.use_bias else 0
    return macs, 2 * macs + bias + ACTIVATION_FLOPS["softmax"] * t * s * h


def _recurrent(layer, in_shape):
    """SimpleRNN, GRU, LSTM over ``in_shape = (steps, features)``: see the module docstring."""
    if type(layer) not in _RNN_GATES:
        return None
    steps, d = in_shape[0], in_shape[-1]
    u, gates = layer.units, _RNN_GATES[type(layer)]
    act, gate_act = (_activation_flops(getattr(layer, a, None), u) for a in ("activation", "recurrent_activation"))
    if act is None or (gates > 1 and gate_act is None):
        return None
    macs = gates * (d * u + u * u)
    bias = gates * u * (2 if getattr(layer, "reset_after", False) else 1) if layer.use_bias else 0
    if gates == 1:        # h = act(W x + U h + b)
        elementwise = act
    elif gates == 3:      # z, r gates; candidate act(W x + r * (U h)); h = z h + (1 - z) h~
        elementwise = 2 * gate_act + act + 4 * u
    else:                 # i, f, o gates and candidate; c = f c + i g; h = o act(c)
        elementwise = 3 * gate_act + 2 * act + 4 * u
    return steps * macs, steps * (2 * macs + bias + elementwise)


# --------------------------------------------------------------------------- throughput

def matmul_peak_gflops(n=2048, repeats=10):
    """The machine's float32 matrix-multiply speed, measured now, in GFLOP/s.

    The best of ``repeats`` timed ``n x n`` products (2 n^3 FLOPs each) with TensorFlow,
    the library the models run on: what the hardware gives a well-shaped workload here.
    One untimed product comes first, to warm up thread pools and kernel selection.

    Args:
        n: the side of the two square float32 matrices multiplied (random normal values).
        repeats: how many products are timed, one at a time; the fastest counts.

    Returns:
        A float: ``2 n^3`` FLOPs over the seconds of the fastest product, in GFLOP/s
        (1e9 FLOPs per second).

    Example:
        from course_utils import flops

        peak = flops.matmul_peak_gflops()
        print(f"float32 matmul peak here: {peak:,.0f} GFLOP/s")
    """
    import tensorflow as tf
    a = tf.random.normal((n, n), seed=0)
    b = tf.random.normal((n, n), seed=1)
    _ = (a @ b).numpy()  # warm-up: thread pools, kernel selection
    best = min(timeit.repeat(lambda: (a @ b).numpy(), number=1, repeat=repeats))
    return 2 * n**3 / best / 1e9


@dataclass(frozen=True)
class Throughput:
    """Training speed of a model next to the machine's matmul peak."""
    batch_size: int
    samples_per_second: float
    gflops: float
    peak_gflops: float

    @property
    def fraction_of_peak(self):
        return self.gflops / self.peak_gflops

    def __str__(self):
        return (f"batch {self.batch_size}: {self.samples_per_second:,.0f} samples/s, "
                f"{self.gflops:,.1f} GFLOP/s = {self.fraction_of_peak:.1%} of the "
                f"{self.peak_gflops:,.0f} GFLOP/s matmul peak")


def measure_throughput(model, x, y, *, batch_size, steps, peak_gflops=None):
    """Train ``model`` (compiled) for ``steps`` batches and report speed against the peak.

    One untimed step first, so tracing and compiling are not counted; then ``steps`` timed
    steps. The model really trains: its weights and its optimizer's state change. Achieved
    GFLOP/s uses the training estimate of :func:`count_flops` (3x forward). Pass
    ``peak_gflops`` to reuse one measurement of :func:`matmul_peak_gflops` across models.

    Args:
        model: a compiled Keras model that :func:`count_flops` can count (one with a
            known input shape, e.g. started with ``keras.Input(shape=...)``).
        x: the training inputs, an array of at least ``batch_size`` samples.
        y: the targets, one per sample of ``x``, as the model's loss takes them.
        batch_size: the number of samples per training step. The samples are cut into
            batches of this size (a last, incomplete batch is dropped) and repeated as
            often as the steps need.
        steps: the number of timed training steps, a positive integer.
        peak_gflops: the machine's matmul peak in GFLOP/s, e.g. from
            :func:`matmul_peak_gflops`; None measures it now.

    Returns:
        A :class:`Throughput`: ``batch_size``, ``samples_per_second``, ``gflops`` (the
        achieved GFLOP/s, from the training estimate), ``peak_gflops``, and the property
        ``fraction_of_peak`` (``gflops / peak_gflops``); ``print`` it for one line.

    Raises:
        ValueError: if ``steps`` is not a positive integer, if ``batch_size`` is larger
            than the number of samples in ``x``, or if ``model`` is not compiled.

    Example:
        import keras
        from course_utils import flops

        X_flat = (X_train / 255.0).reshape(-1, 784).astype("float32")
        model = keras.Sequential([keras.Input(shape=(784,)),
                                  keras.layers.Dense(500, activation="sigmoid"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        peak = flops.matmul_peak_gflops()
        result = flops.measure_throughput(model, X_flat, y_train, batch_size=128, steps=50,
                                          peak_gflops=peak)
        print(result)  # batch 128: ... samples/s, ... GFLOP/s = ...% of the ... GFLOP/s matmul peak
    """
    steps = whole_number("steps", steps)
    if len(x) < batch_size:
        raise ValueError(f"batch_size={batch_size} is larger than the {len(x)} samples given.")
    if not model.compiled:
        raise ValueError(f"model {model.name!r} is not compiled: compile it with its optimizer and loss first.")
    import tensorflow as tf
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size, drop_remainder=True)
    data = data.cache().repeat()
    model.fit(data, steps_per_epoch=1, epochs=1, shuffle=False, verbose=0)
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    seconds = time.perf_counter() - start
    samples = steps * batch_size
    per_sample = count_flops(model, batch_size=1).training_flops
    peak = peak_gflops if peak_gflops is not None else matmul_peak_gflops()
    return Throughput(batch_size, samples / seconds, per_sample * samples / seconds / 1e9, peak)



def compare_throughput(models, x, y, *, batch_size, steps, repeats=5, peak_gflops=None, progress=None):
    """:func:`measure_throughput` of each compiled model in ``models``, ``repeats`` times.

    The rounds alternate the order (round 1 A B, round 2 B A, ...), so that a change in the
    machine's load during the comparison hits every model alike. Compare the models round
    by round and look at the median and the spread, not at one timing. The matmul peak is
    measured once (unless ``peak_gflops`` is given) and used for every measurement.

    Args:
        models: a dict name -> compiled Keras model (each as :func:`measure_throughput`
            takes it); its names are the keys of the result.
        x: the training inputs, an array of at least ``batch_size`` samples.
        y: the targets, one per sample of ``x``.
        batch_size: the number of samples per training step.
        steps: the number of timed training steps of each measurement.
        repeats: the number of rounds, a positive integer; each round measures every model once.
        peak_gflops: the machine's matmul peak in GFLOP/s, or None to measure it once now
            with :func:`matmul_peak_gflops`.
        progress: None, or a function of no arguments, called after each measurement
            (``repeats * len(models)`` calls), e.g. a ``keras.utils.Progbar``'s ``add(1)``.

    Returns:
        A dict name -> list of :class:`Throughput`, one per round, in the order of the rounds.

    Raises:
        ValueError: if ``repeats`` is not a positive integer, or as :func:`measure_throughput` raises.

    Example:
        import keras
        import numpy as np
        from course_utils import flops

        models = {}
        for units in (100, 1000):
            models[units] = keras.Sequential([keras.Input(shape=(784,)),
                                              keras.layers.Dense(units, activation="relu"),
                                              keras.layers.Dense(10, activation="softmax")])
            models[units].compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        bar = keras.utils.Progbar(5 * len(models))
        runs = flops.compare_throughput(models, X_flat, y_train, batch_size=128, steps=50, repeats=5,
                                        progress=lambda: bar.add(1))
        for units, results in runs.items():
            print(units, np.median([r.samples_per_second for r in results]), "samples/s")
    """
    repeats = whole_number("repeats", repeats)
    peak = peak_gflops if peak_gflops is not None else matmul_peak_gflops()
    results = {name: [] for name in models}
    for round_ in range(repeats):
        names = list(models) if round_ % 2 == 0 else list(models)[::-1]
        for name in names:
            results[name].append(measure_throughput(models[name], x, y, batch_size=batch_size, steps=steps,
                                                    peak_gflops=peak))
            if progress:
                progress()
    return results
