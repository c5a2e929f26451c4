"""Convolution and pooling as stateless functions, fast and naive (slides: "Convolutions",
"Pooling", "Padding and stride").

Feature maps are NCHW arrays (batch, channels, height, width) and a convolution weight
is ``(F, C, kh, kw)`` (filters, input channels, kernel height, kernel width), as in
PyTorch. "Convolution" means cross-correlation, as in every deep-learning framework:
the kernel is slid over the input without being flipped,

    out[n, f, i, j] = b[f] + Σ_c Σ_di Σ_dj  xp[n, c, i·s + di, j·s + dj] · w[f, c, di, dj],

where ``xp`` is the input zero-padded by ``p`` on every side and ``s`` is the stride.
Along each axis the output has ``floor((n + 2p − k) / s) + 1`` values
(:func:`conv_output_size`); a window that would run past the padded edge is dropped.

Every operation comes twice, with one signature:

* ``conv2d``, ``max_pool2d``, ``avg_pool2d``: vectorised NumPy, used by the layers.
  They keep a floating input's dtype (float32 stays float32); integer input gives
  float64 for the convolution and average pooling.
* ``conv2d_naive``, ``max_pool2d_naive``, ``avg_pool2d_naive``: the definitions written
  as plain loops, one output value at a time, to read and to test the fast ones against.

Backward passes (``conv2d_backward``, ``max_pool2d_backward``, ``avg_pool2d_backward``)
take the upstream gradient ``dL/dout`` and the forward's inputs and return ``dL/dinput``
(and the parameter gradients); they recompute what they need from the inputs.

The fast versions are the lecture's "im2col + one matrix product" and "one strided slice
per window offset"; how they are made fast (cache-sized chunks, worker threads, reused
scratch arrays) lives in the package-internal engines ``week14._conv_engine`` and
``week14._pool_engine``. The layers in :mod:`week14.layers` call the same engines and keep
what backward needs from their forward pass, so the numbers are the same either way.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

import week14._conv_engine as conv_engine
import week14._pool_engine as pool_engine
from week14._validation import check_grad_shape, check_int

__all__ = [
    "avg_pool2d",
    "avg_pool2d_backward",
    "avg_pool2d_naive",
    "conv2d",
    "conv2d_backward",
    "conv2d_naive",
    "conv_output_size",
    "max_pool2d",
    "max_pool2d_backward",
    "max_pool2d_naive",
    "zero_pad",
]


# --------------------------------------------------------------------------------------
# Sizes and padding (slide: "Padding and stride")
# --------------------------------------------------------------------------------------


def conv_output_size(n: int, kernel: int, padding: int = 0, stride: int = 1) -> int:
    """Number of positions of a ``kernel``-wide window along an axis of length ``n``.

    The axis is zero-padded by ``padding`` on both sides and the window moves ``stride``
    steps at a time, starting at the first (padded) element; a window that would run past
    the end is dropped (floor), as in PyTorch and TensorFlow's "valid" mode::

        n' = floor((n + 2·padding − kernel) / stride) + 1

    For example a 5-wide input, 3-wide kernel: ``padding=0`` gives 3, ``padding=1``
    gives 5 ("same" size), ``padding=1, stride=2`` gives 3. Slide: "Padding and stride".

    Raises:
        TypeError: if an argument is not an int.
        ValueError: if ``n``, ``kernel`` or ``stride`` is below 1, ``padding`` is
            negative, or the kernel is larger than the padded axis.
    """
    n = check_int("conv_output_size", "n", n, 1)
    kernel = check_int("conv_output_size", "kernel", kernel, 1)
    padding = check_int("conv_output_size", "padding", padding, 0)
    stride = check_int("conv_output_size", "stride", stride, 1)
    if kernel > n + 2 * padding:
        raise ValueError(
            f"conv_output_size: kernel {kernel} is larger than the padded input "
            f"{n + 2 * padding} (n={n}, padding={padding})"
        )
    return (n + 2 * padding - kernel) // stride + 1


def zero_pad(x: np.ndarray, padding: int) -> np.ndarray:
    """Return a copy of ``x`` with ``padding`` zeros added on every side of its last two
    axes (height and width), keeping the dtype (slide: "Padding and stride").

    Shapes: ``(..., H, W)`` → ``(..., H + 2·padding, W + 2·padding)``; works for an image
    (H, W) as well as a batch (N, C, H, W). ``zero_pad(x, 0)`` is a copy of ``x``.

    Padding lets the kernel be centred on the border pixels, so a 3×3 kernel with
    ``padding=1`` keeps the size of the image (the lecture's "Convolutions" slide pads
    each RGB channel with a frame of zeros).

    Raises:
        TypeError: if ``padding`` is not an int.
        ValueError: if ``padding`` is negative or ``x`` has fewer than 2 dimensions.
    """
    padding = check_int("zero_pad", "padding", padding, 0)
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(
            f"zero_pad expected an array of shape (..., H, W) with at least 2 dimensions, "
            f"got shape {x.shape}"
        )
    *lead, height, width = x.shape
    out = np.zeros((*lead, height + 2 * padding, width + 2 * padding), dtype=x.dtype)
    out[..., padding : padding + height, padding : padding + width] = x
    return out


# --------------------------------------------------------------------------------------
# Naive versions: the definitions, one output value at a time
# --------------------------------------------------------------------------------------


def conv2d_naive(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: int = 1,
    padding: int = 0,
) -> np.ndarray:
    """Convolution (cross-correlation) written as loops; same contract as :func:`conv2d`.

    Each output value is one window of the padded input times the filter, summed over
    the window and the channels, plus the filter's bias (slide: "Convolutions": 308 from
    the red channel, −498 from green, 164 from blue, + bias 1 = −25). Slow: use it to
    read and to check, :func:`conv2d` to compute.
    """
    x, w, b, stride, padding = conv_engine.check_conv_args("conv2d_naive", x, w, b, stride, padding)
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    out_h = conv_output_size(height, kh, padding, stride)
    out_w = conv_output_size(width, kw, padding, stride)
    xp = zero_pad(x, padding)
    out = np.zeros((n_images, n_filters, out_h, out_w), dtype=x.dtype)
    for n in range(n_images):
        for f in range(n_filters):
            for i in range(out_h):
                for j in range(out_w):
                    top, left = i * stride, j * stride
                    window = xp[n, :, top : top + kh, left : left + kw]  # (C, kh, kw)
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out


def _pool_naive(func: str, reduce: str, x: np.ndarray, size: int, stride: int | None) -> np.ndarray:
    """Slide a ``size``×``size`` window over each channel and reduce it (``"max"``/``"mean"``)."""
    x, size, stride = pool_engine.check_pool_args(func, x, size, stride)
    n_images, channels, height, width = x.shape
    out_h = conv_output_size(height, size, 0, stride)
    out_w = conv_output_size(width, size, 0, stride)
    dtype = x.dtype if reduce == "max" else np.result_type(x.dtype, np.float64)
    out = np.zeros((n_images, channels, out_h, out_w), dtype=dtype)
    for n in range(n_images):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    top, left = i * stride, j * stride
                    window = x[n, c, top : top + size, left : left + size]
                    out[n, c, i, j] = window.max() if reduce == "max" else window.mean()
    return out


def max_pool2d_naive(x: np.ndarray, size: int, stride: int | None = None) -> np.ndarray:
    """Max pooling written as loops; same contract as :func:`max_pool2d` (slide: "Max
    Pooling"): each output value is the largest value of its window, channel by channel."""
    return _pool_naive("max_pool2d_naive", "max", x, size, stride)


def avg_pool2d_naive(x: np.ndarray, size: int, stride: int | None = None) -> np.ndarray:
    """Average pooling written as loops; same contract as :func:`avg_pool2d` (slide:
    "Average pooling"): each output value is the mean of its window, channel by channel."""
    return _pool_naive("avg_pool2d_naive", "mean", x, size, stride)


# --------------------------------------------------------------------------------------
# Fast convolution: im2col and one matrix product (slide: "Convolutions")
# --------------------------------------------------------------------------------------


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: int = 1,
    padding: int = 0,
) -> np.ndarray:
    """2-D convolution (cross-correlation) of a batch of images with a bank of filters
    (slides: "Convolutions", "Padding and stride").

    ::

        out[n, f, i, j] = b[f] + Σ_c Σ_di Σ_dj xp[n, c, i·s + di, j·s + dj] · w[f, c, di, dj]

    with ``xp = zero_pad(x, padding)`` and ``s = stride``. Each filter sees all C input
    channels and produces one output channel.

    Shapes: ``x`` (N, C, H, W); ``w`` (F, C, kh, kw); ``b`` (F,) or None (no bias);
    ``out`` (N, F, Ho, Wo) with ``Ho = floor((H + 2p − kh)/s) + 1`` and likewise ``Wo``.

    The computation is im2col and one matrix product: ``week14._conv_engine.im2col``
    gathers the windows into a (C·kh·kw, N·Ho·P) matrix with the flat-row trick described
    there (a few images at a time, so that the matrix stays in the CPU cache), and
    ``w.reshape(F, C·kh·kw)`` multiplies it. Large batches spread their chunks over as
    many threads as BLAS may use (``OPENBLAS_NUM_THREADS`` or ``threadpoolctl`` limit
    both); the numbers do not depend on how many. :func:`conv2d_naive` is the loop version.

    The result has the dtype of ``x``, ``w`` and ``b`` combined (float32 stays float32;
    integers give float64).

    Raises:
        ValueError: if ``x`` or ``w`` is not 4-D, their channel counts differ, the kernel
            is larger than the padded input, or ``b`` is not (F,); the message names the
            shapes.
        TypeError / ValueError: if ``stride`` is not an int >= 1 or ``padding`` not an
            int >= 0.

    Example (the lecture's RGB patch, slide "Convolutions")::

        >>> from week14.data import lecture_conv_example
        >>> x, w, b = lecture_conv_example()
        >>> float(conv2d(x, w, b, padding=1)[0, 0, 0, 0])
        -25.0
    """
    x, w, b, stride, padding = conv_engine.check_conv_args("conv2d", x, w, b, stride, padding)
    geo = conv_engine.ConvGeometry(x.shape, w.shape, stride, padding, x.itemsize)
    return conv_engine.conv2d_forward(x, w, b, geo, defaultdict(conv_engine.Buffers))


def conv2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: int = 1,
    padding: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a loss L through ``out = conv2d(x, w, b, stride, padding)``.

    Given ``G = dL/dout`` (N, F, Ho, Wo), every output value is a sum of products, so
    each input and weight collects G times what it was multiplied by::

        dL/db[f]            = Σ_n,i,j G[n, f, i, j]
        dL/dw[f, c, di, dj] = Σ_n,i,j G[n, f, i, j] · xp[n, c, i·s + di, j·s + dj]
        dL/dxp[n, c, y, z]  = Σ_f,di,dj G[n, f, i, j] · w[f, c, di, dj]
                              over the (i, j) with i·s + di = y and j·s + dj = z,

    and ``dL/dx`` is ``dL/dxp`` without its padding frame. The bias does not affect the
    gradients, so it is not an argument. Slide: "Backpropagation".

    Returns:
        ``(dx, dw, db)`` with the shapes of ``x`` (N, C, H, W), ``w`` (F, C, kh, kw) and
        ``b`` (F,).

    Raises:
        ValueError: as :func:`conv2d`, or if ``grad_out`` does not have the output's shape.
    """
    x, w, _, stride, padding = conv_engine.check_conv_args(
        "conv2d_backward", x, w, None, stride, padding
    )
    geo = conv_engine.ConvGeometry(x.shape, w.shape, stride, padding, x.itemsize)
    grad_out = check_grad_shape(
        "conv2d_backward", grad_out, (geo.n_images, geo.n_filters, geo.out_h, geo.out_w)
    )
    grad_out = grad_out.astype(x.dtype, copy=False)
    return conv_engine.conv2d_backward(grad_out, x, w, geo, defaultdict(conv_engine.Buffers))


# --------------------------------------------------------------------------------------
# Fast pooling: one strided slice per window offset (slide: "Pooling")
# --------------------------------------------------------------------------------------


def max_pool2d(x: np.ndarray, size: int, stride: int | None = None) -> np.ndarray:
    """Max pooling: the largest value of each ``size``×``size`` window, channel by channel
    (slide: "Max Pooling").

    ::

        out[n, c, i, j] = max_{0 <= di, dj < size} x[n, c, i·s + di, j·s + dj]

    Shapes: ``x`` (N, C, H, W) → (N, C, Ho, Wo), ``Ho = floor((H − size)/s) + 1`` (no
    padding; a window past the edge is dropped). ``stride`` defaults to ``size``
    (non-overlapping windows), which halves H and W for ``size=2``; the number of
    channels does not change. No parameters; keeps the dtype of ``x``.

    Vectorised over the size² window offsets: the output starts as the offset (0, 0)
    values and takes each later offset's values where they are larger.

    Raises:
        ValueError: if ``x`` is not 4-D or the window is larger than the input.
        TypeError / ValueError: if ``size`` or ``stride`` is not an int >= 1.
    """
    x, size, stride = pool_engine.check_pool_args("max_pool2d", x, size, stride)
    return pool_engine.max_pool2d_forward(x, size, stride)[0]


def max_pool2d_backward(
    grad_out: np.ndarray, x: np.ndarray, size: int, stride: int | None = None
) -> np.ndarray:
    """Gradient of a loss through ``out = max_pool2d(x, size, stride)``.

    The maximum passes one input through unchanged, so each output's gradient goes to
    that input and the rest of its window gets 0; an input that is the maximum of several
    overlapping windows collects all of their gradients. When a window holds its maximum
    more than once, the gradient goes to the first one in row-major order (as in
    PyTorch): the maximum is not differentiable there, and any choice is a subgradient.

    Returns ``dL/dx`` with the shape of ``x``.

    Raises:
        ValueError: as :func:`max_pool2d`, or if ``grad_out`` does not have the output's
            shape.
    """
    x, size, stride = pool_engine.check_pool_args("max_pool2d_backward", x, size, stride)
    out, argmax = pool_engine.max_pool2d_forward(x, size, stride)
    grad_out = check_grad_shape("max_pool2d_backward", grad_out, out.shape)
    return pool_engine.max_pool2d_backward(grad_out, argmax, x.shape, size, stride)


def avg_pool2d(x: np.ndarray, size: int, stride: int | None = None) -> np.ndarray:
    """Average pooling: the mean of each ``size``×``size`` window, channel by channel
    (slide: "Average pooling"; (7 + 3 + 8 + 7)/4 = 6.25 there).

    ::

        out[n, c, i, j] = (1/size²) Σ_{0 <= di, dj < size} x[n, c, i·s + di, j·s + dj]

    Shapes and ``stride`` as :func:`max_pool2d`. Keeps a floating dtype; integer input
    gives float64.

    Raises:
        ValueError: if ``x`` is not 4-D or the window is larger than the input.
        TypeError / ValueError: if ``size`` or ``stride`` is not an int >= 1.
    """
    x, size, stride = pool_engine.check_pool_args("avg_pool2d", x, size, stride)
    return pool_engine.avg_pool2d_forward(x, size, stride)


def avg_pool2d_backward(
    grad_out: np.ndarray, x: np.ndarray, size: int, stride: int | None = None
) -> np.ndarray:
    """Gradient of a loss through ``out = avg_pool2d(x, size, stride)``.

    Each input of a window contributes 1/size² of the window's mean, so it receives
    1/size² of that output's gradient (summed over the windows it belongs to)::

        dL/dx[n, c, y, z] = (1/size²) Σ G[n, c, i, j] over windows (i, j) containing (y, z)

    Only the shape of ``x`` is used. Returns ``dL/dx`` with the shape of ``x``.

    Raises:
        ValueError: as :func:`avg_pool2d`, or if ``grad_out`` does not have the output's
            shape.
    """
    x, size, stride = pool_engine.check_pool_args("avg_pool2d_backward", x, size, stride)
    out_shape = (*x.shape[:2], conv_output_size(x.shape[2], size, 0, stride),
                 conv_output_size(x.shape[3], size, 0, stride))
    grad_out = check_grad_shape("avg_pool2d_backward", grad_out, out_shape)
    return pool_engine.avg_pool2d_backward(grad_out, x.shape, size, stride)
