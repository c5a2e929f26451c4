"""The lecture's image kernels and a helper that applies one to a picture (slide: "Some
examples of kernels").

A kernel is a small matrix of weights; sliding it over an image and taking at every
position the weighted sum of the pixels under it (a convolution, slide "Convolutions")
gives a new image:

* ``IDENTITY``: a single 1 in the centre; returns the image unchanged.
* ``GAUSSIAN_BLUR``: weights 1/16·[[1,2,1],[2,4,2],[1,2,1]] that sum to 1; every pixel
  becomes a weighted mean of its neighbourhood, so the image is smoothed.
* ``SHARPEN``: 5 in the centre, −1 for the four neighbours (sum 1); adds to each pixel
  its difference from its neighbours, so edges stand out more.
* ``EDGE_DETECTION``: 8 in the centre, −1 around it (sum 0); flat regions become 0 and
  only changes of brightness (edges) remain.

The arrays are read-only (``KERNELS`` maps their names to them); copy one to modify it.
A CNN *learns* its kernels instead of using hand-made ones like these.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from week14._validation import as_real_array, check_int
from week14.functional import conv2d


def _read_only(rows: list[list[float]], scale: float = 1.0) -> np.ndarray:
    kernel = np.array(rows, dtype=np.float64) * scale
    kernel.setflags(write=False)
    return kernel


IDENTITY = _read_only([[0, 0, 0], [0, 1, 0], [0, 0, 0]])
"""3×3 identity kernel: leaves the image unchanged."""

GAUSSIAN_BLUR = _read_only([[1, 2, 1], [2, 4, 2], [1, 2, 1]], scale=1 / 16)
"""3×3 Gaussian blur, 1/16·[[1,2,1],[2,4,2],[1,2,1]]: a weighted local mean."""

SHARPEN = _read_only([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
"""3×3 sharpen kernel: the pixel plus its difference from its four neighbours."""

EDGE_DETECTION = _read_only([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
"""3×3 edge detector (a Laplacian): 0 on flat regions, large at edges."""

KERNELS: Mapping[str, np.ndarray] = MappingProxyType(
    {
        "identity": IDENTITY,
        "gaussian_blur": GAUSSIAN_BLUR,
        "sharpen": SHARPEN,
        "edge_detection": EDGE_DETECTION,
    }
)
"""The lecture's four kernels by name, in the slide's order (a read-only mapping)."""


def apply_kernel(
    image: np.ndarray,
    kernel: np.ndarray,
    stride: int = 1,
    padding: int | str = "same",
) -> np.ndarray:
    """Convolve a grayscale or colour image with one 2-D kernel, channel by channel.

    Every channel of the image (one for grayscale, three for RGB) is convolved with the
    same kernel, separately, by :func:`week14.functional.conv2d` (cross-correlation, as in
    the slides): ``out[i, j] = Σ_di,dj padded[i·s + di, j·s + dj] · kernel[di, dj]``.

    Args:
        image: (H, W) grayscale or (H, W, C) colour image (e.g. RGB, C = 3), any real
            dtype; integer images (uint8 0–255) are converted to float first.
        kernel: (kh, kw) weights, e.g. ``GAUSSIAN_BLUR`` or ``KERNELS["sharpen"]``.
        stride: step of the kernel in pixels (int >= 1); 2 keeps every other row and
            column of the result.
        padding: zeros added on each side: an int >= 0, or ``"same"`` (the default):
            ``(k − 1) / 2`` for a square kernel of odd size k, which keeps the image's
            size at stride 1 (slide: "Padding and stride").

    Returns:
        The filtered image as floats, (H', W') or (H', W', C), with
        ``H' = floor((H + 2·padding − kh) / stride) + 1``. Values are not clipped:
        sharpening or edge detection can leave [0, 1] (or 0–255), so clip before
        showing the result as a picture.

    Raises:
        ValueError: if ``image`` is not (H, W) or (H, W, C), ``kernel`` is not 2-D, the
            kernel is larger than the padded image, or ``padding="same"`` is asked of a
            kernel that is not square with an odd size.
    """
    image = as_real_array(image, "apply_kernel", "image")
    kernel = as_real_array(kernel, "apply_kernel", "kernel")
    if image.ndim not in (2, 3):
        raise ValueError(
            f"apply_kernel expected a grayscale (H, W) or colour (H, W, C) image, "
            f"got shape {image.shape}"
        )
    if kernel.ndim != 2:
        raise ValueError(f"apply_kernel expected a 2-D kernel (kh, kw), got shape {kernel.shape}")
    if isinstance(padding, str):
        if padding != "same":
            raise ValueError(f"apply_kernel expected padding 'same' or an int, got {padding!r}")
        kh, kw = kernel.shape
        if kh != kw or kh % 2 == 0:
            raise ValueError(
                f"apply_kernel: padding='same' needs a square kernel of odd size, got shape "
                f"{kernel.shape}; pass an int padding instead"
            )
        padding = (kh - 1) // 2
    padding = check_int("apply_kernel", "padding", padding, 0)
    stride = check_int("apply_kernel", "stride", stride, 1)
    height, width = image.shape[0] + 2 * padding, image.shape[1] + 2 * padding
    if kernel.shape[0] > height or kernel.shape[1] > width:
        raise ValueError(
            f"apply_kernel: kernel of shape {kernel.shape} is larger than the padded image "
            f"{height}×{width} (image shape {image.shape}, padding {padding})"
        )
    # Each channel becomes one single-channel image of a batch: (C, 1, H, W).
    channels = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
    out = conv2d(channels[:, None], kernel[None, None], None, stride, padding)[:, 0]
    return out[0] if image.ndim == 2 else out.transpose(1, 2, 0)
