"""Inside a trained CNN: shapes, feature maps, class probabilities, confusion matrix.

Slides: "Convolutional Neural Networks (CNN)", "The Brain's visual cortex", "CNN example".
The explorer lets you pick a test digit and a layer of a trained network (e.g.
:func:`week14.cnn.digits_cnn`) and shows the input, that layer's feature maps and the
predicted probability of each class.

The numbers come from the pure functions below, which the tests call without a browser:

* ``layer_outputs`` / ``feature_maps``: what each layer computes for a batch, without
  disturbing the caches that training uses;
* ``feature_map_layers``: the layers worth looking at ("conv1 + ReLU", "pool1", ...);
* ``shape_table`` / ``format_shape_table``: every layer's output shape, its weights, the
  weights a Dense layer with the same input and output sizes would need, and how many
  input pixels one of its values depends on (its receptive field);
* ``predict_proba``: softmax of the network's scores;
* ``most_confused``: the largest mistakes in a ``week14.metrics.confusion_matrix``;
* ``tile_maps``: many small maps as one image with gaps, drawn by one ``imshow``;
  ``draw_maps`` and ``draw_confusion`` draw maps and a confusion matrix on a given axes
  (the notebook uses them too).
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, NamedTuple

import ipywidgets as widgets
import numpy as np

from week14._tables import format_table
from week14._validation import check_int
from week14.activations import softmax
from week14.layers import ActivationLayer, AvgPool2D, Conv2D, Dense, Layer, MaxPool2D
from week14.model import Sequential
from week14.widgets._base import Explorer

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_POOLS = MaxPool2D | AvgPool2D


def _check_batch(x: object, func: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(
            f"{func} expected a batch of inputs of shape (N, ...) with N >= 1, e.g. "
            f"(N, 1, 8, 8) digits, got shape {x.shape}"
        )
    return x


def layer_outputs(model: Sequential, x: np.ndarray) -> list[np.ndarray]:
    """The output of every layer for the batch ``x``: ``[f_1(x), f_2(f_1(x)), ...]``.

    Element ``i`` is what ``model.layers[i]`` passes on; the last one is the network's
    output (the logits). The layers' caches are restored afterwards, as in
    ``Sequential.predict``, so looking inside a model never disturbs its training.

    Args:
        model: a ``week14.model.Sequential``.
        x: a batch, e.g. (N, 1, 8, 8) digits.

    Returns:
        One array per layer, each with N rows.
    """
    x = _check_batch(x, "layer_outputs")
    saved = [layer.cache for layer in model.layers]
    outputs = []
    try:
        for layer in model.layers:
            x = layer.forward(x)
            outputs.append(x)
    finally:
        for layer, cache in zip(model.layers, saved, strict=True):
            layer.cache = cache
    return outputs


def feature_maps(model: Sequential, x: np.ndarray, layer_index: int) -> np.ndarray:
    """The output of ``model.layers[layer_index]`` for the batch ``x``.

    For a convolution or pooling layer these are its feature maps, (N, C, H, W): map
    ``c`` of image ``n`` shows where filter ``c`` found its pattern (slide: "CNN example").

    Raises:
        TypeError: if ``layer_index`` is not an int.
        IndexError: if ``layer_index`` is not the index of one of the model's layers.
    """
    count = len(model.layers)
    layer_index = check_int("feature_maps", "layer_index", layer_index)
    if not 0 <= layer_index < count:
        raise IndexError(
            f"feature_maps expected layer_index in 0..{count - 1} (the model has {count} "
            f"layers), got {layer_index}"
        )
    return layer_outputs(model, x)[layer_index]


def feature_map_layers(model: Sequential) -> list[tuple[str, int]]:
    """The layers whose outputs are feature maps worth looking at, as (label, index).

    Each Conv2D is labelled "conv1", "conv2", ...; when an activation layer follows it,
    the entry points at the activation's output ("conv1 + ReLU"), which is what the next
    layer receives. Pooling layers are "pool1", "pool2", ...

    For :func:`week14.cnn.digits_cnn`: ``[("conv1 + ReLU", 1), ("pool1", 2),
    ("conv2 + ReLU", 4), ("pool2", 5)]``.
    """
    entries: list[tuple[str, int]] = []
    convs = pools = 0
    layers = model.layers
    for i, layer in enumerate(layers):
        if isinstance(layer, Conv2D):
            convs += 1
            following = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(following, ActivationLayer):
                entries.append((f"conv{convs} + {type(following).__name__}", i + 1))
            else:
                entries.append((f"conv{convs}", i))
        elif isinstance(layer, _POOLS):
            pools += 1
            entries.append((f"pool{pools}", i))
    return entries


class ShapeRow(NamedTuple):
    """One line of :func:`shape_table`.

    Attributes:
        index: the layer's index in ``model.layers`` (None for the input line).
        layer: a short description, e.g. "Conv2D 1→16, 3×3, pad 1".
        output_shape: the output's shape for one image, without the batch axis.
        weights: number of parameters of the layer (weights and biases).
        dense_weights: for a Conv2D or Dense layer, the parameters of a Dense layer
            connecting every input value to every output value,
            ``(inputs + 1) · outputs``; None for layers without parameters.
        receptive_field: (height, width) of the window of the (padded) input that one
            output value depends on; None when it depends on the whole input (Dense).
    """

    index: int | None
    layer: str
    output_shape: tuple[int, ...]
    weights: int
    dense_weights: int | None
    receptive_field: tuple[int, int] | None


def _describe(layer: Layer) -> str:
    """A short name for a table: "Conv2D 1→16, 3×3, pad 1", "MaxPool2D 2×2", ..."""
    if isinstance(layer, Conv2D):
        kh, kw = layer.kernel_size
        text = f"Conv2D {layer.in_channels}→{layer.out_channels}, {kh}×{kw}"
        text += f", pad {layer.padding}" if layer.padding else ""
        return text + (f", stride {layer.stride}" if layer.stride != 1 else "")
    if isinstance(layer, _POOLS):
        text = f"{type(layer).__name__} {layer.size}×{layer.size}"
        return text + (f", stride {layer.stride}" if layer.stride != layer.size else "")
    if isinstance(layer, Dense):
        return f"Dense {layer.in_features}→{layer.out_features}"
    return type(layer).__name__


def shape_table(model: Sequential, input_shape: tuple[int, ...]) -> list[ShapeRow]:
    """Follow one input of shape ``input_shape`` (e.g. (1, 8, 8)) through the model.

    The first row is the input; then one row per layer with its output shape, its number
    of parameters, the parameters a Dense layer with the same numbers of inputs and
    outputs would need (weight sharing: a convolution reuses one small kernel at every
    position), and its receptive field. Receptive fields grow layer by layer: a window
    of size k and stride s on a layer whose neighbouring values lie ``jump`` input pixels
    apart adds ``(k − 1) · jump`` pixels, and the next layer's jump is ``jump · s``
    (padding does not change the size; near the border part of the window is padding).

    Args:
        model: a ``week14.model.Sequential``.
        input_shape: the shape of one input, without the batch axis (e.g. (1, 8, 8)).

    Returns:
        ``len(model.layers) + 1`` :class:`ShapeRow`.
    """
    input_shape = tuple(int(n) for n in input_shape)
    outputs = layer_outputs(model, np.zeros((1, *input_shape)))
    rows = [ShapeRow(None, "input", input_shape, 0, None, (1, 1))]
    field: tuple[int, int] | None = (1, 1)
    jump = (1, 1)
    shape = input_shape
    for i, (layer, out) in enumerate(zip(model.layers, outputs, strict=True)):
        weights = sum(value.size for value in layer.params.values())
        dense = (prod(shape) + 1) * prod(out.shape[1:]) if isinstance(layer, Conv2D | Dense) \
            else None
        if isinstance(layer, Dense):
            field = None
        elif isinstance(layer, Conv2D | MaxPool2D | AvgPool2D) and field is not None:
            kernel = layer.kernel_size if isinstance(layer, Conv2D) else (layer.size,) * 2
            field = tuple(f + (k - 1) * j for f, k, j in zip(field, kernel, jump, strict=True))
            jump = (jump[0] * layer.stride, jump[1] * layer.stride)
        shape = out.shape[1:]
        rows.append(ShapeRow(i, _describe(layer), shape, weights, dense, field))
    return rows


def format_shape_table(rows: list[ShapeRow]) -> str:
    """:func:`shape_table` as aligned text, with totals of the two weight columns."""
    lines = []
    for row in rows:
        lines.append((
            "" if row.index is None else str(row.index),
            row.layer,
            "(N, " + ", ".join(map(str, row.output_shape)) + ")",
            "-" if row.index is None else f"{row.weights:,}",
            "-" if row.dense_weights is None else f"{row.dense_weights:,}",
            "all" if row.receptive_field is None else "×".join(map(str, row.receptive_field)),
        ))
    total = sum(row.weights for row in rows)
    total_dense = sum(row.dense_weights or 0 for row in rows)
    return format_table(("#", "layer", "output shape", "weights", "as Dense", "sees"), lines,
                        align="lllrrr", total=("", "total", "", f"{total:,}",
                                               f"{total_dense:,}", ""))


def predict_proba(model: Sequential, x: np.ndarray) -> np.ndarray:
    """Class probabilities ``softmax(model.predict(x))``, shape (N, classes); rows sum to 1.

    The network outputs scores (logits); the softmax turns them into probabilities
    (slide: "CNN example")."""
    return softmax(model.predict(_check_batch(x, "predict_proba")), axis=1)


def most_confused(matrix: np.ndarray, k: int = 3) -> list[tuple[int, int, int]]:
    """The ``k`` largest off-diagonal counts of a confusion matrix, largest first.

    Returns ``(true class, predicted class, count)`` triples with count > 0 (fewer than
    ``k`` if there are fewer mistakes); ties keep row-major order.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"most_confused expected a square matrix, got shape {matrix.shape}")
    off = np.where(np.eye(matrix.shape[0], dtype=bool), 0, matrix).ravel()
    order = np.argsort(-off, kind="stable")[:k]
    return [(int(i // matrix.shape[0]), int(i % matrix.shape[0]), int(off[i]))
            for i in order if off[i] > 0]


def tile_maps(maps: np.ndarray, columns: int = 8, gap: int = 1) -> np.ndarray:
    """Lay out C small maps (C, h, w) as one image, ``columns`` per row.

    Maps are separated by ``gap`` rows/columns of NaN (drawn as background by
    ``imshow``), and empty cells of the last row are NaN too. Drawing one mosaic is
    much faster than one matplotlib axes per map.

    Returns:
        float64 array of shape (rows·(h + gap) − gap, columns'·(w + gap) − gap), with
        ``columns' = min(columns, C)`` and ``rows = ceil(C / columns')``.
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3 or maps.shape[0] == 0:
        raise ValueError(f"tile_maps expected maps of shape (C, h, w) with C >= 1, "
                         f"got shape {maps.shape}")
    columns = check_int("tile_maps", "columns", columns, 1)
    gap = check_int("tile_maps", "gap", gap, 0)
    count, h, w = maps.shape
    columns = min(columns, count)
    n_rows = -(-count // columns)
    mosaic = np.full((n_rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan)
    for c in range(count):
        row, col = divmod(c, columns)
        mosaic[row * (h + gap): row * (h + gap) + h, col * (w + gap): col * (w + gap) + w] = maps[c]
    return mosaic


def draw_maps(ax: Axes, maps: np.ndarray, title: str, *, columns: int = 8,
              signed: bool = False) -> None:
    """Draw C maps (C, h, w) as one mosaic on ``ax``, all on one colour scale.

    ``signed=True`` (kernels, which have both signs) uses a red–blue scale centred on 0;
    otherwise (ReLU and pooling outputs, >= 0) a sequential scale from 0.
    """
    maps = np.asarray(maps, dtype=np.float64)
    top = float(np.abs(maps).max()) or 1.0
    style = {"cmap": "RdBu_r", "vmin": -top, "vmax": top} if signed else \
        {"cmap": "magma", "vmin": min(0.0, float(maps.min())), "vmax": top}
    ax.imshow(tile_maps(maps, columns), interpolation="nearest", **style)
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()


def draw_confusion(ax: Axes, matrix: np.ndarray) -> None:
    """Draw a confusion matrix with its counts; rows are true classes, columns predicted."""
    matrix = np.asarray(matrix)
    n = matrix.shape[0]
    # Shade the mistakes, not the (much larger) diagonal, so that errors stand out.
    shade = np.where(np.eye(n, dtype=bool), 0, matrix)
    ax.imshow(shade, cmap="Reds", vmin=0, vmax=max(int(shade.max()), 1) * 1.3)
    for (i, j), value in np.ndenumerate(matrix):
        if value:
            ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                    fontweight="bold" if i == j else "normal")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")


class CNNExplorer(Explorer):
    """Pick a test digit and a layer of a trained CNN; see the input, the layer's feature
    maps and the predicted probabilities (slides: "CNN example", "The Brain's visual
    cortex"). The text below the figure lists the digits the network gets wrong.

    Args:
        model: a trained ``Sequential`` whose output is one score per class (e.g.
            :func:`week14.cnn.digits_cnn` after training).
        images: test images (N, C, H, W) in the dtype the model expects.
        labels: their true classes, (N,).
    """

    def __init__(self, model: Sequential, images: np.ndarray, labels: np.ndarray) -> None:
        self.model = model
        self.images = _check_batch(images, "CNNExplorer")
        self.labels = np.asarray(labels)
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(f"CNNExplorer expected one label per image, shape "
                             f"({self.images.shape[0]},), got shape {self.labels.shape}")
        layers = feature_map_layers(model)
        if not layers:
            raise ValueError("CNNExplorer expected a model with Conv2D or pooling layers")
        self.layer_names = {index: name for name, index in layers}
        self.predicted = np.argmax(model.predict(self.images), axis=1)
        self.mistakes = np.flatnonzero(self.predicted != self.labels)
        controls = {
            "index": widgets.IntSlider(value=0, min=0, max=len(self.labels) - 1,
                                       description="test digit"),
            "layer": widgets.Dropdown(options=layers, value=layers[0][1], description="layer"),
        }
        super().__init__(controls, title="Inside the CNN: feature maps of one digit")

    def render(self, index: int, layer: int) -> None:
        import matplotlib.pyplot as plt

        image = self.images[index: index + 1]
        outputs = layer_outputs(self.model, image)
        maps = outputs[layer][0]
        probs = softmax(outputs[-1], axis=1)[0]
        label = self.layer_names[layer]
        true, guess = int(self.labels[index]), int(np.argmax(probs))

        fig, (ax_in, ax_maps, ax_p) = plt.subplots(
            1, 3, figsize=(9, 3), gridspec_kw={"width_ratios": [1, 2.6, 1.3]})
        ax_in.imshow(image[0, 0], cmap="gray_r", interpolation="nearest")
        ax_in.set_title(f"input, true {true}", fontsize=10)
        ax_in.set_axis_off()
        channels, h, w = maps.shape
        draw_maps(ax_maps, maps, f"{label}: {channels} maps {h}×{w}")
        colours = ["C2" if c == true else "C3" if c == guess else "C0" for c in range(len(probs))]
        ax_p.barh(range(len(probs)), probs, color=colours)
        ax_p.set_yticks(range(len(probs)))
        ax_p.set_xlim(0, 1)
        ax_p.invert_yaxis()
        ax_p.set_title("probability", fontsize=10)
        ax_p.tick_params(labelsize=8)
        fig.subplots_adjust(left=0.01, right=0.98, bottom=0.12, top=0.88, wspace=0.12)
        self.show_figure(fig)
        verdict = "correct" if guess == true else "WRONG"
        print(f"digit #{index}: predicted {guess} with probability {probs[guess]:.1%}, "
              f"true {true} ({verdict})")
        if len(self.mistakes):
            print(f"The network gets {len(self.mistakes)} of {len(self.labels)} digits wrong: "
                  + ", ".join(f"#{i}" for i in self.mistakes[:8])
                  + (", …" if len(self.mistakes) > 8 else ""))
