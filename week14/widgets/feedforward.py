"""Feedforward explorer: move the inputs, watch every neuron (slide: "Feedforward").

The network is drawn as columns of neurons: the inputs, then one column per ``Dense``
layer. Every neuron shows its value (after its activation) and its weighted sum z; every
edge is coloured by the sign of its weight (blue positive, red negative), drawn thicker
the larger the weight, and labelled with it. Sliders set the inputs.

The numbers come from the pure functions below, which the tests call without a browser:

* ``layer_activations``: the input and every layer's output for a batch;
* ``neuron_columns``: the same for one example, grouped into columns of neurons
  (a Dense layer and the activation after it form one column) with their weights;
* ``draw_network``: the matplotlib drawing of those columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ipywidgets as widgets
import numpy as np

from week14.layers import ActivationLayer, Dense
from week14.widgets._base import Explorer

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from week14.model import Sequential


def layer_activations(model: Sequential, x: np.ndarray) -> list[np.ndarray]:
    """The feedforward pass, step by step: ``[x, h_1, h_2, ..., h_L]`` with
    ``h_i = layer_i(h_{i-1})`` (slide: "Feedforward").

    ``h_L`` equals ``model.predict(x)``. Each layer's cache is restored after its
    forward pass, so the model is left exactly as it was.

    Args:
        model: a ``Sequential`` (anything with a list ``layers`` of layers).
        x: a batch of inputs, shape (N, in_features).

    Returns:
        ``len(model.layers) + 1`` arrays; entry ``i + 1`` is layer ``i``'s output,
        shape (N, units of that layer).
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(
            f"layer_activations expected a batch of inputs of shape (N, in_features), got "
            f"shape {x.shape} (for one example use x[None, :])"
        )
    outputs = [x]
    for layer in model.layers:
        saved = layer.cache
        outputs.append(layer.forward(outputs[-1]))
        layer.cache = saved
    return outputs


@dataclass(frozen=True)
class NeuronColumn:
    """One column of neurons in the drawing: the inputs, or the units of a Dense layer.

    Attributes:
        label: e.g. ``"input"`` or ``"layer 1 (sigmoid)"``.
        values: shape (units,), what the neurons pass on: the inputs themselves, or
            ``activation(z)`` (just ``z`` for a Dense layer without activation).
        weighted_sums: shape (units,), ``z = a_prev @ W + b``; ``None`` for the inputs.
        weights: shape (units of previous column, units), the Dense layer's ``W``;
            ``None`` for the inputs.
        bias: shape (units,), the Dense layer's ``b``; ``None`` for the inputs.
    """

    label: str
    values: np.ndarray
    weighted_sums: np.ndarray | None = None
    weights: np.ndarray | None = None
    bias: np.ndarray | None = None


def neuron_columns(model: Sequential, x: np.ndarray) -> list[NeuronColumn]:
    """Every neuron's value for one input vector ``x``, grouped in columns.

    A ``Dense`` layer opens a column (its output is the weighted sums z); the activation
    layers after it turn z into the values the column passes on.

    Args:
        model: a ``Sequential`` of ``Dense`` and activation layers, starting with Dense.
        x: one example, shape (in_features,).

    Returns:
        ``[input column, one column per Dense layer]``.

    Raises:
        ValueError: if ``x`` is not a vector or the model does not start with Dense.
        TypeError: for a layer that is neither Dense nor an activation (e.g. Conv2D).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(
            f"neuron_columns expected one example of shape (in_features,), got shape {x.shape}"
        )
    _input_size(model)
    outputs = layer_activations(model, x[None, :])
    columns = [NeuronColumn("input", x)]
    for i, (layer, out) in enumerate(zip(model.layers, outputs[1:], strict=True)):
        if isinstance(layer, Dense):
            columns.append(NeuronColumn(f"layer {len(columns)}", out[0], out[0],
                                        layer.params["W"], layer.params["b"]))
        elif isinstance(layer, ActivationLayer):
            last = columns[-1]
            columns[-1] = NeuronColumn(f"{last.label} ({type(layer).__name__.lower()})",
                                       out[0], last.weighted_sums, last.weights, last.bias)
        else:
            raise TypeError(
                f"neuron_columns draws Dense and activation layers only; layer {i} is "
                f"{type(layer).__name__}"
            )
    return columns


def _input_size(model: Sequential) -> int:
    """Number of inputs of a model whose first layer is Dense (ValueError otherwise)."""
    if not model.layers or not isinstance(model.layers[0], Dense):
        first = type(model.layers[0]).__name__ if model.layers else "no layers"
        raise ValueError(f"expected a model that starts with a Dense layer, got {first}")
    return model.layers[0].in_features


def _heights(units: int) -> np.ndarray:
    """Vertical positions of a column's neurons, top to bottom, centred on 0."""
    return (units - 1) / 2 - np.arange(units)


def draw_network(columns: Sequence[NeuronColumn], ax: Axes) -> None:
    """Draw ``columns`` (from ``neuron_columns``) on ``ax``: neurons with their values and
    weighted sums, edges coloured by weight sign (blue +, red −), width by |weight|."""
    from matplotlib.colors import Normalize

    weights = [c.weights for c in columns if c.weights is not None]
    largest = max((float(np.max(np.abs(w))) for w in weights), default=1.0) or 1.0
    shade = Normalize(vmin=0.0, vmax=1.0)
    for k, column in enumerate(columns):
        ys = _heights(column.values.size)
        if column.weights is not None:
            prev_ys = _heights(column.weights.shape[0])
            for (i, j), w in np.ndenumerate(column.weights):
                ax.plot([k - 1, k], [prev_ys[i], ys[j]], color="C0" if w >= 0 else "C3",
                        lw=0.4 + 3.0 * abs(w) / largest, alpha=0.7, zorder=1)
                ax.text(k - 0.65, prev_ys[i] + 0.35 * (ys[j] - prev_ys[i]), f"{w:g}",
                        fontsize=7, ha="center", va="center", zorder=2,
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none"})
        fill = "0.9" if column.weighted_sums is None else None
        ax.scatter(np.full(ys.shape, k), ys, s=900, zorder=3, edgecolors="k",
                   c=fill or column.values, cmap=None if fill else "Blues", norm=None if fill
                   else shade)
        for j, (y, value) in enumerate(zip(ys, column.values, strict=True)):
            dark = column.weighted_sums is not None and value > 0.6
            ax.text(k, y, f"{value:.2f}", ha="center", va="center", fontsize=9, zorder=4,
                    color="white" if dark else "black", fontweight="bold")
            if column.weighted_sums is not None:
                ax.text(k, y - 0.2, f"z = {column.weighted_sums[j]:.2f}\n"
                        f"b = {column.bias[j]:g}", fontsize=7, ha="center", va="top", zorder=4)
    top = _heights(max(c.values.size for c in columns))[0]
    for k, column in enumerate(columns):
        ax.text(k, top + 0.35, column.label, ha="center", fontsize=8)
    ax.set_xlim(-0.4, len(columns) - 0.6)
    ax.set_ylim(-top - 0.5, top + 0.5)
    ax.axis("off")


class FeedforwardExplorer(Explorer):
    """Sliders for the inputs of a small dense network; every neuron's value on a drawing.

    Args:
        model: a ``Sequential`` of Dense and activation layers (default: the lecture's
            toy network, ``week14.data.lecture_toy_network()``).
        limit: the sliders run from ``-limit`` to ``limit``.
    """

    def __init__(self, model: Sequential | None = None, *, limit: float = 3.0) -> None:
        if model is None:
            from week14.data import lecture_toy_network

            model = lecture_toy_network()
        self.model = model
        n_inputs = _input_size(model)
        neuron_columns(model, np.zeros(n_inputs))  # fail now on a layer it cannot draw
        initial = [1.0, -1.0] if n_inputs == 2 else [0.0] * n_inputs
        controls = {
            f"x{i + 1}": widgets.FloatSlider(value=v, min=-limit, max=limit, step=0.05,
                                             description=f"x{i + 1}", readout_format=".2f")
            for i, v in enumerate(initial)
        }
        super().__init__(controls, title="Feedforward: move the inputs, watch every neuron")

    def render(self, **inputs: float) -> None:
        import matplotlib.pyplot as plt

        x = np.array([inputs[name] for name in self.controls])
        columns = neuron_columns(self.model, x)
        fig, ax = plt.subplots(figsize=(8, 3.6))
        draw_network(columns, ax)
        shown = ", ".join(f"{v:.2f}" for v in x)
        out = ", ".join(f"{v:.2f}" for v in columns[-1].values)
        ax.set_title(f"f({shown}) = ({out})", fontsize=10)
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.9)
        self.show_figure(fig)
