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
(and the parameter gradients); they recompute what they need from the inputs. The layers
in :mod:`week14.layers` call the same package-internal helpers (``_conv2d_forward``,
``_max_pool2d_forward``, ... and their backward twins) and keep what backward needs from
their forward pass; the convolution layer also reuses its scratch arrays between steps.
The numbers are the same either way.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import threadpoolctl

from week14._validation import as_real_array, check_grad_shape, check_int

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
# Argument checks shared by the fast and naive versions
# --------------------------------------------------------------------------------------


def _check_conv_args(
    func: str,
    x: object,
    w: object,
    b: object,
    stride: object,
    padding: object,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Validate conv2d's arguments; return ``(x, w, b, stride, padding)`` as float arrays
    of one dtype (a missing ``b`` becomes zeros) and ints."""
    x = as_real_array(x, func, "x")
    w = as_real_array(w, func, "w")
    stride = check_int(func, "stride", stride, 1)
    padding = check_int(func, "padding", padding, 0)
    if x.ndim != 4:
        raise ValueError(f"{func} expected x of shape (N, C, H, W), got shape {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"{func} expected w of shape (F, C, kh, kw), got shape {w.shape}")
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"{func}: x has {x.shape[1]} channels (shape {x.shape}) but w expects "
            f"{w.shape[1]} input channels (shape {w.shape})"
        )
    height, width = x.shape[2] + 2 * padding, x.shape[3] + 2 * padding
    if w.shape[2] > height or w.shape[3] > width:
        raise ValueError(
            f"{func}: kernel {w.shape[2]}×{w.shape[3]} (w shape {w.shape}) is larger than "
            f"the padded input {height}×{width} (x shape {x.shape}, padding {padding})"
        )
    if b is None:
        b = np.zeros(w.shape[0], dtype=np.result_type(x, w))
    b = as_real_array(b, func, "b")
    if b.shape != (w.shape[0],):
        raise ValueError(
            f"{func} expected b of shape ({w.shape[0]},), one bias per filter of w "
            f"(shape {w.shape}), got shape {b.shape}"
        )
    dtype = np.result_type(x, w, b)
    return x.astype(dtype, copy=False), w.astype(dtype, copy=False), b.astype(
        dtype, copy=False
    ), stride, padding


def _check_pool_args(
    func: str, x: object, size: object, stride: object
) -> tuple[np.ndarray, int, int]:
    """Validate a pooling function's arguments; return ``(x, size, stride)`` with the
    default ``stride = size`` filled in."""
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
    x, w, b, stride, padding = _check_conv_args("conv2d_naive", x, w, b, stride, padding)
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
    x, size, stride = _check_pool_args(func, x, size, stride)
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
# Fast convolution: the flat-row im2col
# --------------------------------------------------------------------------------------

_CHUNK_BYTES = 2**21
"""Target size of one chunk's column matrix: small enough to stay in the CPU cache
between the copies that fill it and the matrix product that reads it."""


class _Buffers:
    """Named scratch arrays that a convolution layer keeps between calls.

    ``get(name, shape, dtype)`` returns the array stored under ``name`` if it has that
    shape and dtype, otherwise a new zero-filled one (which replaces it). A reused array
    holds whatever the last call left in it: callers rely on regions they never write
    (the zero frame of the padded input, the junk columns of the gradient) staying zero,
    and overwrite or clear everything else. Each worker thread has its own set: a layer
    keeps a ``defaultdict(_Buffers)`` keyed by worker (see :func:`_over_chunks`); the
    stateless functions use a new, empty one per call.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = np.zeros(shape, dtype=dtype)
            self._arrays[name] = array
        return array


class _ConvGeometry:
    """Sizes of one convolution in the flat-row layout (see :func:`_im2col`)."""

    def __init__(
        self, x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: int, padding: int,
        itemsize: int,
    ) -> None:
        self.n_images, self.channels, self.height, self.width = x_shape
        self.n_filters, _, self.kh, self.kw = w_shape
        self.stride, self.padding = stride, padding
        self.padded_h = self.height + 2 * padding
        self.padded_w = self.width + 2 * padding
        self.out_h = (self.padded_h - self.kh) // stride + 1
        self.out_w = (self.padded_w - self.kw) // stride + 1
        # Row pitch of the flat rows: the right padding of a row is the left padding of
        # the next, so W + p suffices (more only if the outputs of a row need more).
        self.pitch = max(self.width + padding, self.out_w)
        # t = i·P + j numbers the outputs of one image, junk columns j >= out_w included.
        self.n_positions = self.out_h * self.pitch
        last_read = (self.kh - 1) * self.pitch + self.kw - 1 + stride * (self.n_positions - 1)
        self.row_length = max(self.padded_h * self.pitch, last_read + 1)
        self.patch_size = self.channels * self.kh * self.kw
        # Images per chunk: as many as fit _CHUNK_BYTES, spread evenly over the chunks.
        fit = max(1, _CHUNK_BYTES // (self.patch_size * self.n_positions * itemsize))
        n_chunks = -(-self.n_images // fit)
        self.chunk = -(-self.n_images // n_chunks)

    def chunks(self) -> list[slice]:
        """The batch cut into consecutive runs of at most ``self.chunk`` images."""
        return [slice(n, min(n + self.chunk, self.n_images))
                for n in range(0, self.n_images, self.chunk)]


@functools.cache
def _blas() -> threadpoolctl.ThreadpoolController:
    """The BLAS libraries loaded in this process (looked up once: it takes about 1 ms)."""
    return threadpoolctl.ThreadpoolController().select(user_api="blas")


def _over_chunks(
    geo: _ConvGeometry,
    per_worker: defaultdict[int, _Buffers],
    work: Callable[[int, slice, _Buffers], None],
) -> None:
    """Call ``work(index, batch, scratch)`` for every chunk of the batch.

    Up to as many worker threads as BLAS may use (one per CPU core by default; fewer
    under ``OPENBLAS_NUM_THREADS`` or ``threadpoolctl``'s limits), and at most one per
    two chunks (starting threads costs more than two chunks save), each take the next
    chunk until none is left, each with its own scratch ``per_worker[k]``; the
    calling thread is worker 0. NumPy's copies and matrix products release the GIL, so the
    threads run in parallel; while they do, BLAS is held to one thread of its own:
    its threads barely speed up matrices this small and would oversubscribe the cores.
    ``work`` must write only its own chunk's part of any shared result, so that the
    numbers do not depend on the number of threads.
    """
    chunks = list(enumerate(geo.chunks()))
    blas_threads = max((lib.num_threads for lib in _blas().lib_controllers), default=1)
    workers = min(len(chunks) // 2, blas_threads)
    if workers <= 1:
        for index, batch in chunks:
            work(index, batch, per_worker[0])
        return
    queue = iter(chunks)  # shared: next() on a list iterator is atomic under the GIL

    def worker(k: int) -> None:
        scratch = per_worker[k]
        for index, batch in queue:
            work(index, batch, scratch)

    with _blas().limit(limits=1), ThreadPoolExecutor(workers - 1) as pool:
        helpers = [pool.submit(worker, k) for k in range(1, workers)]
        worker(0)  # this thread is worker 0
        for helper in helpers:
            helper.result()


def _pad_to_rows(x: np.ndarray, geo: _ConvGeometry, buffers: _Buffers) -> np.ndarray:
    """Zero-pad the n images of ``x`` and store each channel of each image as one flat
    row (n, C, S), with a pitch of ``geo.pitch`` values per image row (see
    :func:`_im2col`)."""
    g = geo
    n = x.shape[0]
    rows = buffers.get("x_rows", (g.chunk, g.channels, g.row_length), x.dtype)[:n]
    image = rows[:, :, : g.padded_h * g.pitch].reshape(
        n, g.channels, g.padded_h, g.pitch
    )  # a view: the zeros around the image and the spare tail are never written
    p = g.padding
    image[:, :, p : p + g.height, p : p + g.width] = x
    return rows


def _im2col(x: np.ndarray, geo: _ConvGeometry, buffers: _Buffers) -> np.ndarray:
    """Gather every window of some images ``x`` (n, C, H, W) into the columns of one
    matrix, by way of their flat rows (n, C, S) from :func:`_pad_to_rows`.

    Returns ``cols`` of shape (C·kh·kw, n·L), ``L = Ho·P``: column ``m·L + t`` holds the
    C·kh·kw inputs that output position ``t = i·P + j`` of image ``m`` multiplies by a
    filter, so ``w.reshape(F, C·kh·kw) @ cols`` is the convolution of these images in
    one GEMM.

    The flat-row trick. Store each zero-padded channel as one flat row, row after row,
    with a pitch of P = W + p values per row: the right-hand padding of a row is then
    the left-hand padding of the next, so it need not be stored twice. Here a 3×3 image
    with padding 1 (Hp = Wp = 5, P = 4)::

        padded image    flat row: P values per image row, then kw − 1 spare zeros
        0 0 0 0 0
        0 a b c 0       index  0 1 2 3 | 4 5 6 7 | 8 9 10 11 | 12 13 14 15 | 16 .. 21
        0 d e f 0       value  0 0 0 0 | 0 a b c | 0 d  e  f |  0  g  h  i |  0 .. 0
        0 g h i 0
        0 0 0 0 0

    With stride 1, output (i, j) meets, at kernel offset (di, dj), the padded pixel
    (i + di, j + dj), stored at flat index ``(di·P + dj) + (i·P + j)``. Number the
    outputs ``t = i·P + j`` and the values one kernel offset needs for *all* outputs
    form one contiguous slice, ``row[di·P + dj : di·P + dj + Ho·P]``::

        offset (0, 0): row[0:12]  = 0 0 0 0 | 0 a b c | 0 d e f
        offset (1, 1): row[5:17]  = a b c 0 | d e f 0 | g h i 0
        offset (2, 2): row[10:22] = e f 0 g | h i 0 0 | 0 0 0 0
                                    ^^^^^ ~   ^^^^^ ~   ^^^^^ ~
                                    Wo real outputs, then P − Wo junk, per output row

    Positions with ``j >= Wo`` (marked ~) straddle the end of a row: they are computed
    and dropped, at the price of (P − Wo)/P extra columns, for copies that are one
    contiguous block per offset (k² block copies instead of k²·Ho short rows). The
    kw − 1 spare zeros keep the last junk window inside the row. With stride s, ``t``
    steps by s through the row (``row[off::s]``) and about (s − 1)/s of the columns are
    junk.

    All k² slices are read at once, through one strided view of ``rows``: element
    ``[c, di, dj, m, t]`` of the view is ``rows[m, c, di·P + dj + s·t]``, element t of
    offset (di, dj)'s slice. Its last element is ``row_length − 1`` at most
    (``_ConvGeometry`` sizes the rows for that), so the view never reads past a row.
    """
    g = geo
    rows = _pad_to_rows(x, g, buffers)
    n = rows.shape[0]
    cols = buffers.get("cols", (g.channels, g.kh, g.kw, g.chunk, g.n_positions), rows.dtype)
    cols = cols[:, :, :, :n]  # the last chunk may be shorter
    image, channel, step = rows.strides
    windows = np.lib.stride_tricks.as_strided(
        rows,
        shape=cols.shape,
        strides=(channel, g.pitch * step, step, image, g.stride * step),
        writeable=False,
    )
    cols[...] = windows
    return cols.reshape(g.patch_size, n * g.n_positions)


def _conv2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, geo: _ConvGeometry,
    per_worker: defaultdict[int, _Buffers],
) -> np.ndarray:
    """Forward pass on checked arguments.

    A few images at a time (``geo.chunks()``, so that the column matrix stays in the
    CPU cache; the chunks spread over the CPU cores by :func:`_over_chunks`): the
    windows gathered (:func:`_im2col`), one GEMM, and a copy of the real columns, plus
    the bias, into ``out``, a new C-contiguous (N, F, Ho, Wo) array.
    """
    g = geo
    w_flat = w.reshape(g.n_filters, g.patch_size)
    out = np.empty((g.n_images, g.n_filters, g.out_h, g.out_w), dtype=x.dtype)

    def chunk(_: int, batch: slice, scratch: _Buffers) -> None:
        cols = _im2col(x[batch], g, scratch)
        flat_out = scratch.get("flat_out", (g.n_filters, g.chunk * g.n_positions), x.dtype)
        y = np.matmul(w_flat, cols, out=flat_out[:, : cols.shape[1]])
        y = y.reshape(g.n_filters, -1, g.out_h, g.pitch)[..., : g.out_w]
        np.add(y.transpose(1, 0, 2, 3), b[:, None, None], out=out[batch])

    _over_chunks(g, per_worker, chunk)
    return out


def _conv2d_backward(
    grad_out: np.ndarray, x: np.ndarray, w: np.ndarray, geo: _ConvGeometry,
    per_worker: defaultdict[int, _Buffers],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass on checked arguments; return new ``(dx, dw, db)``.

    Chunk by chunk (spread over the CPU cores by :func:`_over_chunks`), with ``G`` =
    dL/dout laid out like the forward's GEMM output (F, n·L), junk columns zero, and
    ``cols`` rebuilt by :func:`_im2col`:

    * the chunk's shares of db and dw are the row sums of ``G`` and ``G colsᵀ`` (one
      GEMM); the shares are added in chunk order, so the sums do not depend on the
      number of threads;
    * ``dcols = wᵀ G`` (one GEMM) holds, for each kernel offset, what every output
      position sends back to the input pixel that offset met; dx adds it up
      (:func:`_col2im`).
    """
    g = geo
    dx = np.empty((g.n_images, g.channels, g.height, g.width), dtype=w.dtype)
    n_chunks = len(g.chunks())
    dw_shares = np.empty((n_chunks, g.n_filters, g.patch_size), dtype=w.dtype)
    db_shares = np.empty((n_chunks, g.n_filters), dtype=w.dtype)
    w_t = np.ascontiguousarray(w.reshape(g.n_filters, g.patch_size).T)
    p = g.padding

    def chunk(index: int, batch: slice, scratch: _Buffers) -> None:
        cols = _im2col(x[batch], g, scratch)
        n = cols.shape[1] // g.n_positions
        grad_rows = scratch.get("grad_rows", (g.n_filters, g.chunk, g.out_h, g.pitch), w.dtype)
        # Junk columns j >= Wo are never written: they stay zero and add nothing below.
        grad_rows[:, :n, :, : g.out_w] = grad_out[batch].transpose(1, 0, 2, 3)
        grad_flat = grad_rows[:, :n].reshape(g.n_filters, n * g.n_positions)
        np.sum(grad_flat, axis=1, out=db_shares[index])
        np.matmul(grad_flat, cols.T, out=dw_shares[index])
        drows = _col2im(w_t, grad_flat, cols, g, scratch)
        image = drows[:, :, : g.padded_h * g.pitch].reshape(n, g.channels, g.padded_h, g.pitch)
        dx[batch] = image[:, :, p : p + g.height, p : p + g.width]

    _over_chunks(g, per_worker, chunk)
    return dx, dw_shares.sum(axis=0).reshape(w.shape), db_shares.sum(axis=0)


def _col2im(
    w_t: np.ndarray, grad_flat: np.ndarray, cols: np.ndarray, geo: _ConvGeometry,
    buffers: _Buffers,
) -> np.ndarray:
    """dL/d(rows) of some images, (n, C, S), from ``grad_flat`` = G (F, n·L); the
    reverse of :func:`_im2col`. ``cols`` is scratch space of its shape.

    ``dcols = wᵀ G`` (C·kh·kw, n·L): row (c, di, dj), column (m, t) is what output
    position t of image m sends back through kernel offset (di, dj) of channel c. In the
    flat row that is pixel ``u = di·P + dj + s·t``, so::

        drows[m, c, u] = Σ_di,dj spread[(c, di, dj), m, u − di·P − dj]

    where ``spread[(c, di, dj), m, s·t] = dcols[(c, di, dj), m·L + t]`` and every other
    entry is zero. ``spread`` is kept with ``lead = (kh − 1)·P + kw − 1`` zeros before
    each image (the largest shift) and zeros up to the row length S after it, so that
    the shifted rows are one strided view and the whole sum is one NumPy call, instead
    of k² adds into overlapping windows. Junk columns of G are zero, so what they send
    back is zero too.
    """
    g = geo
    n = grad_flat.shape[1] // g.n_positions
    lead = (g.kh - 1) * g.pitch + g.kw - 1
    spread = buffers.get(
        "spread", (g.patch_size, g.chunk, lead + g.row_length), grad_flat.dtype
    )[:, :n]  # only ``placed`` is ever written: the rest stays zero
    placed = spread[:, :, lead : lead + g.stride * (g.n_positions - 1) + 1 : g.stride]
    if g.stride == 1:  # BLAS writes into the spread rows directly, image by image
        by_image = grad_flat.reshape(g.n_filters, n, g.n_positions).transpose(1, 0, 2)
        np.matmul(w_t, by_image, out=placed.transpose(1, 0, 2))
    else:  # BLAS cannot write every s-th value: go through cols
        np.matmul(w_t, grad_flat, out=cols)
        placed[...] = cols.reshape(g.patch_size, n, g.n_positions)
    row, image, step = spread.strides
    # Element [c, di, dj, m, u] of ``shifted`` is spread[(c, di, dj), m, lead + u − di·P − dj].
    shifted = np.lib.stride_tricks.as_strided(
        spread[:, :, lead:],
        shape=(g.channels, g.kh, g.kw, n, g.row_length),
        strides=(g.kh * g.kw * row, g.kw * row - g.pitch * step, row - step, image, step),
        writeable=False,
    )
    drows = buffers.get("dx_rows", (g.chunk, g.channels, g.row_length), grad_flat.dtype)[:n]
    np.sum(shifted, axis=(1, 2), out=drows.transpose(1, 0, 2))
    return drows


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

    The computation is a matrix product: ``_im2col`` gathers the windows into a
    (C·kh·kw, N·Ho·P) matrix with the flat-row trick described there (a few images at a
    time, so that the matrix stays in the CPU cache), and ``w.reshape(F, C·kh·kw)``
    multiplies it. Large batches spread their chunks over as many threads as BLAS may
    use (``OPENBLAS_NUM_THREADS`` or ``threadpoolctl`` limit both); the numbers do not
    depend on how many. :func:`conv2d_naive` is the loop version.

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
    x, w, b, stride, padding = _check_conv_args("conv2d", x, w, b, stride, padding)
    geo = _ConvGeometry(x.shape, w.shape, stride, padding, x.itemsize)
    return _conv2d_forward(x, w, b, geo, defaultdict(_Buffers))


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
    x, w, _, stride, padding = _check_conv_args("conv2d_backward", x, w, None, stride, padding)
    geo = _ConvGeometry(x.shape, w.shape, stride, padding, x.itemsize)
    grad_out = check_grad_shape(
        "conv2d_backward", grad_out, (geo.n_images, geo.n_filters, geo.out_h, geo.out_w)
    )
    grad_out = grad_out.astype(x.dtype, copy=False)
    return _conv2d_backward(grad_out, x, w, geo, defaultdict(_Buffers))


# --------------------------------------------------------------------------------------
# Fast pooling (slide: "Pooling")
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


def _max_pool2d_forward(x: np.ndarray, size: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the max-pooled ``x`` and, for each output, the row-major index (0 …
    size² − 1) of the first maximum in its window."""
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


def _max_pool2d_backward(
    grad_out: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, ...], size: int, stride: int
) -> np.ndarray:
    """Send each output's gradient to the input at its window's ``argmax``."""
    _, slices = _pool_offsets(x_shape, size, stride)
    dx = np.zeros(x_shape, dtype=np.result_type(grad_out.dtype, np.float32))
    for k, (rows, cols) in enumerate(slices):
        dx[:, :, rows, cols] += grad_out * (argmax == k)
    return dx


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
    x, size, stride = _check_pool_args("max_pool2d", x, size, stride)
    return _max_pool2d_forward(x, size, stride)[0]


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
    x, size, stride = _check_pool_args("max_pool2d_backward", x, size, stride)
    out, argmax = _max_pool2d_forward(x, size, stride)
    grad_out = check_grad_shape("max_pool2d_backward", grad_out, out.shape)
    return _max_pool2d_backward(grad_out, argmax, x.shape, size, stride)


def _avg_pool2d_forward(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """Average pooling on checked arguments: the sum over the size² window offsets / size²."""
    x = as_real_array(x, "avg_pool2d", "x")
    (out_h, out_w), slices = _pool_offsets(x.shape, size, stride)
    total = np.zeros((*x.shape[:2], out_h, out_w), dtype=x.dtype)
    for rows, cols in slices:
        total += x[:, :, rows, cols]
    total /= size * size
    return total


def _avg_pool2d_backward(
    grad_out: np.ndarray, x_shape: tuple[int, ...], size: int, stride: int
) -> np.ndarray:
    """Give each input 1/size² of the gradient of every window it belongs to."""
    _, slices = _pool_offsets(x_shape, size, stride)
    share = as_real_array(grad_out, "avg_pool2d_backward", "grad_out") / (size * size)
    dx = np.zeros(x_shape, dtype=share.dtype)
    for rows, cols in slices:
        dx[:, :, rows, cols] += share
    return dx


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
    x, size, stride = _check_pool_args("avg_pool2d", x, size, stride)
    return _avg_pool2d_forward(x, size, stride)


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
    x, size, stride = _check_pool_args("avg_pool2d_backward", x, size, stride)
    (out_h, out_w), _ = _pool_offsets(x.shape, size, stride)
    grad_out = check_grad_shape("avg_pool2d_backward", grad_out, (*x.shape[:2], out_h, out_w))
    return _avg_pool2d_backward(grad_out, x.shape, size, stride)
