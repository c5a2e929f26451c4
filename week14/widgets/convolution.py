"""Convolution explorer: one 3×3 kernel, a stride and a padding applied to a photograph.

Slides: "Convolutions", "Some examples of kernels", "Padding and stride". A drop-down
picks one of the lecture's kernels (identity, Gaussian blur, sharpen, edge detection) or
"custom"; nine number boxes show the kernel's weights and, for "custom", let you edit
them (they start from the last kernel picked). Sliders set the stride and the padding;
a check box switches between the colour photograph (each channel filtered separately)
and its grayscale version.
The panel shows the photograph and the filtered image side by side, with their sizes
("input 75×64 → output 38×32"): the size follows n' = ⌊(n + 2p − k)/s⌋ + 1.

The numbers come from the pure functions below, which the tests call without a browser:

* ``kernel_matrix``: the 3×3 kernel for a drop-down choice and the nine boxes;
* ``size_text``: "input H×W → output H'×W'" for two image shapes;
* ``filter_image``: the filtered image (by ``week14.kernels.apply_kernel``), a copy
  clipped to [0, 1] for display, and its size text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import ipywidgets as widgets
import numpy as np

from week14 import kernels
from week14._validation import as_real_array
from week14.widgets._base import Explorer, same_pixel_scale

CUSTOM = "custom"
"""The drop-down choice whose kernel is the nine boxes' values."""

CHOICES = (*kernels.KERNELS, CUSTOM)
"""The drop-down's options: the lecture's kernels by name, then "custom"."""

BOXES = tuple(f"w{row}{col}" for row in range(3) for col in range(3))
"""Control names of the nine weight boxes, row by row (``w01`` is row 0, column 1)."""


def kernel_matrix(choice: str, boxes: Sequence[float]) -> np.ndarray:
    """The 3×3 kernel for a drop-down ``choice``.

    Args:
        choice: a key of ``week14.kernels.KERNELS`` ("identity", "gaussian_blur",
            "sharpen", "edge_detection"), whose kernel is returned (a copy), or
            ``"custom"``, whose kernel is ``boxes``.
        boxes: nine real numbers, the kernel row by row (used for "custom" only).

    Returns:
        A new float64 (3, 3) array.

    Raises:
        ValueError: for an unknown choice (the message lists the valid ones), or custom
            ``boxes`` that are not nine finite numbers.
    """
    if choice in kernels.KERNELS:
        return np.array(kernels.KERNELS[choice], dtype=np.float64)
    if choice != CUSTOM:
        raise ValueError(f"kernel_matrix expected one of {list(CHOICES)}, got {choice!r}")
    values = as_real_array(boxes, "kernel_matrix", "boxes").astype(np.float64)
    if values.shape != (9,) or not np.all(np.isfinite(values)):
        raise ValueError(
            f"kernel_matrix expected 9 finite numbers for a custom kernel, got shape "
            f"{values.shape}: {values.tolist()}"
        )
    return values.reshape(3, 3)


def size_text(input_shape: Sequence[int], output_shape: Sequence[int]) -> str:
    """"input H×W → output H'×W'" from two image shapes (H, W) or (H, W, C).

    Only the first two numbers of each shape (height, width) are used: a filter or a
    pooling window changes them, never the number of colour channels.
    """
    if len(input_shape) < 2 or len(output_shape) < 2:
        raise ValueError(
            f"size_text expected image shapes (H, W) or (H, W, C), got {tuple(input_shape)} "
            f"and {tuple(output_shape)}"
        )
    (h, w), (out_h, out_w) = input_shape[:2], output_shape[:2]
    return f"input {h}×{w} → output {out_h}×{out_w}"


class FilteredImage(NamedTuple):
    """What :func:`filter_image` returns.

    ``values``: the filtered image, floats, not clipped (sharpen and edge detection leave
    [0, 1]); ``picture``: ``values`` clipped to [0, 1], ready for ``imshow``; ``text``:
    the sizes, e.g. "input 75×64 → output 38×32".
    """

    values: np.ndarray
    picture: np.ndarray
    text: str


def filter_image(
    image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: int = 1
) -> FilteredImage:
    """Filter an image with one kernel, each colour channel separately (slides:
    "Convolutions", "Some examples of kernels", "Padding and stride").

    ``values[i, j] = Σ_di,dj padded[i·s + di, j·s + dj] · kernel[di, dj]`` per channel,
    computed by ``week14.kernels.apply_kernel`` (cross-correlation, as in the slides),
    with ``padded`` the image framed by ``padding`` zeros and ``s`` the stride. The
    output is H' × W' with H' = ⌊(H + 2·padding − kh)/stride⌋ + 1 (likewise W').

    Args:
        image: (H, W) grayscale or (H, W, C) colour image with values in [0, 1].
        kernel: (kh, kw) weights, e.g. from :func:`kernel_matrix`.
        stride: step of the kernel, int >= 1.
        padding: zeros added on each side, int >= 0 (1 keeps the size of a 3×3 filter's
            input at stride 1).

    Returns:
        A :class:`FilteredImage` ``(values, picture, text)``.

    Raises:
        ValueError / TypeError: as ``apply_kernel`` (bad shapes, a kernel larger than the
            padded image, a stride or padding that is not an int in range).
    """
    image = as_real_array(image, "filter_image", "image")
    values = kernels.apply_kernel(image, kernel, stride, padding)
    return FilteredImage(values, np.clip(values, 0.0, 1.0), size_text(image.shape, values.shape))


class ConvolutionExplorer(Explorer):
    """Pick or edit a 3×3 kernel, a stride and a padding; see the filtered photograph.

    Args:
        image: the picture to filter, (H, W) or (H, W, 3) with values in [0, 1]; default
            ``week14.data.sample_image(8)``, the lecture's photograph at 75×64 pixels.
    """

    def __init__(self, image: np.ndarray | None = None) -> None:
        if image is None:
            from week14.data import sample_image

            image = sample_image(8)
        self.image = as_real_array(image, "ConvolutionExplorer", "image")
        self._showing_preset = False
        box_layout = widgets.Layout(width="70px")
        controls: dict[str, widgets.ValueWidget] = {
            "choice": widgets.Dropdown(options=list(CHOICES), value="sharpen",
                                       description="kernel"),
            "stride": widgets.IntSlider(value=1, min=1, max=4, description="stride"),
            "padding": widgets.IntSlider(value=1, min=0, max=3, description="padding"),
            "colour": widgets.Checkbox(value=self.image.ndim == 3, description="colour",
                                       disabled=self.image.ndim == 2),
        }
        controls.update({name: widgets.FloatText(value=0.0, step=0.25, layout=box_layout)
                         for name in BOXES})
        super().__init__(controls, title="Convolution: kernel, stride and padding")
        grid = widgets.GridBox([controls[name] for name in BOXES],
                               layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))
        self.panel.children = (
            self.panel.children[0],
            widgets.HBox([controls[name] for name in ("choice", "stride", "padding", "colour")],
                         layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([widgets.Label("weights (edit with kernel = custom):"), grid]),
            self.output,
        )

    def update(self, change: object = None) -> None:
        """Redraw, except while :meth:`_show_preset` writes a preset into the boxes."""
        if not self._showing_preset:
            super().update(change)

    def _show_preset(self, kernel: np.ndarray) -> None:
        """Write a preset kernel into the nine boxes without redrawing."""
        self._showing_preset = True
        try:
            for name, value in zip(BOXES, kernel.ravel(), strict=True):
                self.controls[name].value = float(value)
        finally:
            self._showing_preset = False

    def render(self, choice: str, stride: int, padding: int, colour: bool,
               **boxes: float) -> None:
        import matplotlib.pyplot as plt

        try:
            kernel = kernel_matrix(choice, [boxes[name] for name in BOXES])
        except ValueError as err:
            print(f"Cannot use this kernel: {err}")
            return
        if choice != CUSTOM:
            self._show_preset(kernel)
        for name in BOXES:
            self.controls[name].disabled = choice != CUSTOM
        image = self.image if colour or self.image.ndim == 2 else self.image.mean(axis=2)
        result = filter_image(image, kernel, stride, padding)

        gray = {"cmap": "gray", "vmin": 0, "vmax": 1} if image.ndim == 2 else {}
        frame = [(padding, padding)] * 2 + [(0, 0)] * (image.ndim - 2)
        padded = np.pad(image, frame)  # the zero frame shows as black
        fig, (ax_in, ax_out) = plt.subplots(1, 2, figsize=(8, 3.6))
        ax_in.imshow(padded, **gray)
        ax_in.set_title(f"input {image.shape[0]}×{image.shape[1]}, padded "
                        f"{padded.shape[0]}×{padded.shape[1]}", fontsize=10)
        ax_out.imshow(result.picture, **gray)
        ax_out.set_title(f"{choice}, stride {stride}: output "
                         f"{result.values.shape[0]}×{result.values.shape[1]}", fontsize=10)
        same_pixel_scale((ax_in, ax_out), padded.shape[0], padded.shape[1])
        fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9, wspace=0.08)
        self.show_figure(fig)
        low, high = result.values.min(), result.values.max()
        print(f"{result.text} (values from {low:.2f} to {high:.2f}; shown clipped to [0, 1])")
