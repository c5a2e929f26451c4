"""The fast pooling behind ``week14.functional``'s pooling functions and the
``MaxPool2D`` / ``AvgPool2D`` layers (slides: "Max Pooling", "Average pooling").

A ``size``×``size`` window at stride s meets, at its offset (di, dj), the inputs
``x[:, :, di::s, dj::s]`` (cut to Ho × Wo): one strided slice per offset serves every
window at once. So each pass is a loop over the size² offsets, not over the outputs::

    max:      out = max over (di, dj) of x[:, :, di + s·i, dj + s·j]
    average:  out = (1/size²) Σ over (di, dj) of x[:, :, di + s·i, dj + s·j]

Its API, package-internal: :func:`check_pool_args`, and the passes on checked
arguments, :func:`max_pool2d_forward` / :func:`max_pool2d_backward` (through the
position of each window's maximum) and :func:`avg_pool2d_forward` /
:func:`avg_pool2d_backward`.
"""

from __future__ import annotations

import numpy as np

from week14._validation import as_real_array, check_int

__all__ = [
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "check_pool_args",
    "max_pool2d_backward",
    "max_pool2d_forward",
]

def check_pool_args(
    func: str, x: object, size: object, stride: object
) -> tuple[np.ndarray, int, int]:
    """Validate a pooling function's arguments; return ``(x, size, stride)`` with the
    default ``stride = size`` filled in.

    Shapes: ``x`` (N, C, H, W) of real numbers with ``size`` ≤ H and ``size`` ≤ W.
    ``func`` (``"max_pool2d"``, ``"MaxPool2D"``, ...) starts every error message.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{func} expected x to hold real numbers, got dtype {x.dtype}")
    size = check_int(func, "size", size, 1)
    stride = size if stride is None else check_int(func, "stride", stride, 1)
    if x.ndim != 4:
        raise ValueError(f"{func} expected x of shape (N, C, H, W), got shape {x.shape}")
    if size > x.shape[2] or size > x.shape[3]:
        raise ValueError(
            f"{func}: window {size}×{size} is larger than the input "
            f"{x.shape[2]}×{x.shape[3]} (x shape {x.shape})"
        )
    return x, size, stride


# --------------------------------------------------------------------------------------
# The passes, one strided slice per window offset
# --------------------------------------------------------------------------------------


def _pool_offsets(
    x_shape: tuple[int, ...], size: int, stride: int
) -> tuple[tuple[int, int], list[tuple[slice, slice]]]:
    """Output size ``(Ho, Wo)`` and, for each offset (di, dj) of the window in row-major
    order, the strided slices of H and W that the offset meets at every output."""
    out_h = (x_shape[2] - size) // stride + 1
    out_w = (x_shape[3] - size) // stride + 1
    slices = [
        (slice(di, di + stride * (out_h - 1) + 1, stride),
         slice(dj, dj + stride * (out_w - 1) + 1, stride))
        for di in range(size)
        for dj in range(size)
    ]
    return (out_h, out_w), slices


def max_pool2d_forward(x: np.ndarray, size: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the max-pooled ``x`` (N, C, Ho, Wo) and ``argmax`` (N, C, Ho, Wo): for each
    output, the row-major index k = di·size + dj (0 … size² − 1) of the first maximum in
    its window, the smallest integer dtype that holds size² − 1."""
    _, slices = _pool_offsets(x.shape, size, stride)
    rows, cols = slices[0]
    out = x[:, :, rows, cols].copy()
    argmax = np.zeros(out.shape, dtype=np.min_scalar_type(size * size - 1))
    larger = np.empty(out.shape, dtype=bool)
    for k, (rows, cols) in enumerate(slices[1:], start=1):
        candidate = x[:, :, rows, cols]
        np.greater(candidate, out, out=larger)  # strictly: on a tie the first maximum stays
        np.maximum(out, candidate, out=out)
        # argmax becomes k where this offset is larger: k exceeds every earlier index, so
        # max(argmax, k·larger) does it without a (slow, unpredictable) masked write.
        np.maximum(argmax, larger * argmax.dtype.type(k), out=argmax)
    return out, argmax


def max_pool2d_backward(
    grad_out: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, ...], size: int, stride: int
) -> np.ndarray:
    """``dL/dx`` of shape ``x_shape`` (N, C, H, W): each output's gradient ``grad_out``
    (N, C, Ho, Wo) goes to the input at its window's ``argmax`` (from
    :func:`max_pool2d_forward`); overlapping windows add up."""
    _, slices = _pool_offsets(x_shape, size, stride)
    dx = np.zeros(x_shape, dtype=np.result_type(grad_out.dtype, np.float32))
    for k, (rows, cols) in enumerate(slices):
        dx[:, :, rows, cols] += grad_out * (argmax == k)
    return dx


def avg_pool2d_forward(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Average pooling of a checked ``x`` (N, C, H, W): the sum over the size² window
    offsets / size², shape (N, C, Ho, Wo); floating input keeps its dtype, integers give
    float64."""
    x = as_real_array(x, "avg_pool2d", "x")
    (out_h, out_w), slices = _pool_offsets(x.shape, size, stride)
    total = np.zeros((*x.shape[:2], out_h, out_w), dtype=x.dtype)
    for rows, cols in slices:
        total += x[:, :, rows, cols]
    total /= size * size
    return total


def avg_pool2d_backward(
    grad_out: np.ndarray, x_shape: tuple[int, ...], size: int, stride: int
) -> np.ndarray:
    """``dL/dx`` of shape ``x_shape``: each input gets 1/size² of the gradient
    ``grad_out`` (N, C, Ho, Wo) of every window it belongs to."""
    _, slices = _pool_offsets(x_shape, size, stride)
    share = as_real_array(grad_out, "avg_pool2d_backward", "grad_out") / (size * size)
    dx = np.zeros(x_shape, dtype=share.dtype)
    for rows, cols in slices:
        dx[:, :, rows, cols] += share
    return dx

