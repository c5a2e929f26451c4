"""Pooling explorer: max or average pooling of the lecture's grids or of a photograph.

Slides: "Pooling", "Max Pooling", "Average pooling". Pick the input (the 5×5 grid of the
max-pooling slide, the 4×4 grid of the average-pooling slide, or the photograph), the
pooling (max or average), the window size and the stride. The panel draws the input
with one window outlined and the pooled output with that window's value outlined, and
prints the sizes ("input 5×5 → output 3×3") and, for a grid, how the outlined value is
made ("output[2, 1] = max of rows 2–4, columns 1–3 = 2"). A slider picks the window.
With the defaults (5×5 grid, max, size 3, stride 1) it reproduces the slide,
[[3, 3, 3], [3, 3, 3], [3, 2, 3]].

The numbers come from the pure functions below, which the tests call without a browser:

* ``pool_image``: max or average pooling of an (H, W) or (H, W, C) image, channel by
  channel (by ``week14.functional.max_pool2d`` / ``avg_pool2d``);
* ``window_of``: which input rows and columns the output value number ``index`` pools;
* ``window_text``: that value and how it is computed, in words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import ipywidgets as widgets
import numpy as np

from week14 import functional
from week14._validation import as_real_array
from week14.widgets._base import Explorer, same_pixel_scale
from week14.widgets.convolution import size_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

POOLS = {"max": functional.max_pool2d, "average": functional.avg_pool2d}
"""The two kinds of pooling by name."""

SOURCES = (
    ("5×5 grid (slide: Max Pooling)", "max_grid"),
    ("4×4 grid (slide: Average pooling)", "avg_grid"),
    ("photograph", "photo"),
)
"""The explorer's inputs as (label, value) drop-down options."""


def _check_kind(kind: str) -> None:
    if kind not in POOLS:
        raise ValueError(f"expected pooling kind one of {list(POOLS)}, got {kind!r}")


def pool_image(image: np.ndarray, kind: str, size: int, stride: int | None = None) -> np.ndarray:
    """Pool an (H, W) grid or (H, W, C) image, each channel separately (slide: "Pooling").

    ``out[i, j] = max`` (or mean) of ``image[i·s : i·s + size, j·s : j·s + size]`` per
    channel, with ``s = stride`` (default ``size``): H' = ⌊(H − size)/s⌋ + 1, likewise W',
    and the number of channels does not change. Computed by
    ``week14.functional.max_pool2d`` / ``avg_pool2d`` on the image as a (1, C, H, W) batch.

    Args:
        image: (H, W) or (H, W, C) real array.
        kind: "max" or "average".
        size: window side, int >= 1, at most H and W.
        stride: step between windows, int >= 1; ``None`` means ``size``.

    Returns:
        (H', W') or (H', W', C): max pooling keeps the dtype, average pooling gives floats.

    Raises:
        ValueError: for an unknown ``kind``, an image that is not 2-D or 3-D, or a window
            larger than the image; TypeError / ValueError for a bad size or stride.
    """
    _check_kind(kind)
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(
            f"pool_image expected an (H, W) grid or (H, W, C) image, got shape {image.shape}"
        )
    batch = image[None, None] if image.ndim == 2 else image.transpose(2, 0, 1)[None]
    pooled = POOLS[kind](batch, size, stride)[0]  # (C, H', W')
    return pooled[0] if image.ndim == 2 else pooled.transpose(1, 2, 0)


class Window(NamedTuple):
    """Output value ``[row, col]`` pools the input ``[rows, cols]`` (two slices)."""

    row: int
    col: int
    rows: slice
    cols: slice


def window_of(index: int, out_shape: tuple[int, int], size: int, stride: int) -> Window:
    """The window pooled into the output value number ``index`` (row-major order).

    Output ``[i, j]`` with ``(i, j) = divmod(index, W')`` pools input rows
    ``i·stride … i·stride + size − 1`` and the same columns with ``j``.

    Args:
        index: 0 … H'·W' − 1.
        out_shape: the output's (H', W').
        size, stride: the pooling window's side and step.

    Raises:
        ValueError: if ``index`` is outside the output.
    """
    out_h, out_w = out_shape
    if not 0 <= index < out_h * out_w:
        raise ValueError(
            f"window_of expected index in 0…{out_h * out_w - 1} for an output of shape "
            f"{tuple(out_shape)}, got {index}"
        )
    row, col = divmod(int(index), out_w)
    top, left = row * stride, col * stride
    return Window(row, col, slice(top, top + size), slice(left, left + size))


def window_text(grid: np.ndarray, kind: str, size: int, stride: int, index: int) -> str:
    """How the output value number ``index`` of pooling a 2-D ``grid`` is made, in words.

    For example, the lecture's 5×5 grid with a 3×3 max window and stride 1, index 7:
    "output[2, 1] = max of rows 2–4, columns 1–3 = 2".

    Raises:
        ValueError: as :func:`pool_image` and :func:`window_of`, or if ``grid`` is not 2-D.
    """
    grid = as_real_array(grid, "window_text", "grid")
    if grid.ndim != 2:
        raise ValueError(f"window_text expected a 2-D grid, got shape {grid.shape}")
    pooled = pool_image(grid, kind, size, stride)
    window = window_of(index, pooled.shape, size, stride)
    value = pooled[window.row, window.col]
    return (f"output[{window.row}, {window.col}] = {kind} of rows "
            f"{window.rows.start}–{window.rows.stop - 1}, columns "
            f"{window.cols.start}–{window.cols.stop - 1} = {value:g}")


class PoolingExplorer(Explorer):
    """Pool a lecture grid or the photograph; see the windows, the output and its size.

    Args:
        photo: the picture for the "photograph" input, (H, W) or (H, W, 3) in [0, 1];
            default ``week14.data.sample_image(4)`` (150×128 pixels).
    """

    def __init__(self, photo: np.ndarray | None = None) -> None:
        from week14 import data

        if photo is None:
            photo = data.sample_image(4)
        self.inputs = {
            "max_grid": data.lecture_max_pool_example().x[0, 0],
            "avg_grid": data.lecture_avg_pool_example().x[0, 0],
            "photo": as_real_array(photo, "PoolingExplorer", "photo"),
        }
        self._clamping = False
        controls = {
            "source": widgets.Dropdown(options=list(SOURCES), value="max_grid",
                                       description="input"),
            "kind": widgets.ToggleButtons(options=list(POOLS), value="max",
                                          description="pooling"),
            "size": widgets.IntSlider(value=3, min=1, max=5, description="size"),
            "stride": widgets.IntSlider(value=1, min=1, max=5, description="stride"),
            "window": widgets.IntSlider(value=0, min=0, max=8, description="window"),
        }
        super().__init__(controls, title="Pooling: window size and stride")

    def update(self, change: object = None) -> None:
        """Redraw, except while :meth:`_clamp_window` adjusts the window slider."""
        if not self._clamping:
            super().update(change)

    def _clamp_window(self, count: int) -> int:
        """Let the window slider run over 0 … count − 1; return its (clamped) value."""
        slider = self.controls["window"]
        self._clamping = True
        try:
            slider.max = count - 1  # ipywidgets clamps the value too
        finally:
            self._clamping = False
        return slider.value

    def render(self, source: str, kind: str, size: int, stride: int, window: int) -> None:
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle

        image = self.inputs[source]
        try:
            pooled = pool_image(image, kind, size, stride)
        except ValueError as err:
            print(f"Cannot pool this input: {err}")
            return
        index = self._clamp_window(pooled.shape[0] * pooled.shape[1])
        win = window_of(index, pooled.shape[:2], size, stride)
        grid = image.ndim == 2

        fig, (ax_in, ax_out) = plt.subplots(1, 2, figsize=(8, 3.6))
        show = {"cmap": "Blues", "vmin": image.min(), "vmax": image.max() * 1.6} if grid else {}
        ax_in.imshow(image, **show)
        ax_out.imshow(pooled, **show)
        if grid:
            _annotate(ax_in, image)
            _annotate(ax_out, pooled)
        ax_in.add_patch(Rectangle((win.cols.start - 0.5, win.rows.start - 0.5), size, size,
                                  fill=False, ec="C3", lw=2.5))
        ax_out.add_patch(Rectangle((win.col - 0.5, win.row - 0.5), 1, 1,
                                   fill=False, ec="C3", lw=2.5))
        ax_in.set_title(f"input {image.shape[0]}×{image.shape[1]}", fontsize=10)
        ax_out.set_title(f"{kind} pooling, size {size}, stride {stride}: "
                         f"{pooled.shape[0]}×{pooled.shape[1]}", fontsize=10)
        same_pixel_scale((ax_in, ax_out), image.shape[0], image.shape[1])
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9, wspace=0.08)
        self.show_figure(fig)
        channels = 1 if grid else image.shape[2]
        print(f"{size_text(image.shape, pooled.shape)}; channels unchanged ({channels})")
        if grid:
            print(window_text(image, kind, size, stride, index))


def _annotate(ax: Axes, grid: np.ndarray) -> None:
    """Write each value of a small 2-D grid in its cell."""
    for (i, j), value in np.ndenumerate(grid):
        ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=9)
