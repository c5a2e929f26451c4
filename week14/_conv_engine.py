"""The fast convolution behind ``week14.functional.conv2d`` and the ``Conv2D`` layer:
im2col and one matrix product, a few images at a time, on several threads (slides:
"Convolutions", "Padding and stride").

Notebook 08 explains the convolution as "gather every window into the columns of a
matrix (im2col), then multiply by the flattened filters"::

    out[n, f, i, j] = b[f] + Σ_c Σ_di Σ_dj xp[n, c, i·s + di, j·s + dj] · w[f, c, di, dj]
                    = b[f] + (w.reshape(F, C·kh·kw) @ cols)[f, (n, i, j)]

This module is that idea made fast; the lecture's operations in
:mod:`week14.functional` and the layers in :mod:`week14.layers` both call it. Its API,
package-internal:

* :func:`check_conv_args`: validate ``(x, w, b, stride, padding)``, one float dtype;
* :class:`ConvGeometry`: every size of one convolution in the flat-row layout;
* :class:`Buffers`: scratch arrays a caller may keep between calls (the layer does);
* :func:`conv2d_forward`, :func:`conv2d_backward`: the passes on checked arguments;
* :func:`im2col`: the gather itself, and ``CHUNK_BYTES``, the size of one chunk.

The numbers do not depend on the chunk size or on the number of threads.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import threadpoolctl

from week14._validation import as_real_array, check_int

__all__ = [
    "CHUNK_BYTES",
    "Buffers",
    "ConvGeometry",
    "check_conv_args",
    "conv2d_backward",
    "conv2d_forward",
    "im2col",
]

# --------------------------------------------------------------------------------------
# Argument check, shared by the fast and loop versions and the Conv2D layer
# --------------------------------------------------------------------------------------


def check_conv_args(
    func: str,
    x: object,
    w: object,
    b: object,
    stride: object,
    padding: object,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Validate conv2d's arguments; return ``(x, w, b, stride, padding)`` as float arrays
    of one dtype (a missing ``b`` becomes zeros) and ints.

    Shapes: ``x`` (N, C, H, W), ``w`` (F, C, kh, kw) with kh ≤ H + 2·padding and
    kw ≤ W + 2·padding, ``b`` (F,) or None. ``func`` (``"conv2d"``, ``"Conv2D"``, ...)
    starts every error message, which names the shapes.
    """
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

# --------------------------------------------------------------------------------------
# Fast convolution: the flat-row im2col
# --------------------------------------------------------------------------------------

CHUNK_BYTES = 2**21
"""Target size of one chunk's column matrix: small enough to stay in the CPU cache
between the copies that fill it and the matrix product that reads it."""


class Buffers:
    """Named scratch arrays that a convolution layer keeps between calls.

    ``get(name, shape, dtype)`` returns the array stored under ``name`` if it has that
    shape and dtype, otherwise a new zero-filled one (which replaces it). A reused array
    holds whatever the last call left in it: callers rely on regions they never write
    (the zero frame of the padded input, the junk columns of the gradient) staying zero,
    and overwrite or clear everything else. Each worker thread has its own set: a layer
    keeps a ``defaultdict(Buffers)`` keyed by worker (see :func:`_over_chunks`); the
    functions of ``week14.functional`` use a new, empty one per call.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = np.zeros(shape, dtype=dtype)
            self._arrays[name] = array
        return array


class ConvGeometry:
    """Sizes of one convolution in the flat-row layout (see :func:`im2col`).

    From ``x_shape`` (N, C, H, W), ``w_shape`` (F, C, kh, kw), ``stride`` s, ``padding``
    p and the dtype's ``itemsize``: the output size ``out_h`` × ``out_w`` (Ho × Wo), the
    row pitch P, the ``n_positions`` L = Ho·P columns per image, the length S of a flat
    row, the ``patch_size`` C·kh·kw, and ``chunk``, the images per chunk.
    """

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
        # Images per chunk: as many as fit CHUNK_BYTES, spread evenly over the chunks.
        fit = max(1, CHUNK_BYTES // (self.patch_size * self.n_positions * itemsize))
        n_chunks = -(-self.n_images // fit)
        self.chunk = -(-self.n_images // n_chunks)

    def chunks(self) -> list[slice]:
        """The batch cut into consecutive runs of at most ``self.chunk`` images."""
        return [slice(n, min(n + self.chunk, self.n_images))
                for n in range(0, self.n_images, self.chunk)]


@functools.cache
def _blas_libraries() -> threadpoolctl.ThreadpoolController:
    """The BLAS libraries loaded in this process, looked up once: the lookup scans every
    loaded library, which would cost more than a small convolution on every call."""
    return threadpoolctl.ThreadpoolController().select(user_api="blas")


def _over_chunks(
    geo: ConvGeometry,
    per_worker: defaultdict[int, Buffers],
    work: Callable[[int, slice, Buffers], None],
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
    blas_threads = max((lib.num_threads for lib in _blas_libraries().lib_controllers), default=1)
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

    with _blas_libraries().limit(limits=1), ThreadPoolExecutor(workers - 1) as pool:
        helpers = [pool.submit(worker, k) for k in range(1, workers)]
        worker(0)  # this thread is worker 0
        for helper in helpers:
            helper.result()


def _pad_to_rows(x: np.ndarray, geo: ConvGeometry, buffers: Buffers) -> np.ndarray:
    """Zero-pad the n images of ``x`` and store each channel of each image as one flat
    row (n, C, S), with a pitch of ``geo.pitch`` values per image row (see
    :func:`im2col`)."""
    g = geo
    n = x.shape[0]
    rows = buffers.get("x_rows", (g.chunk, g.channels, g.row_length), x.dtype)[:n]
    image = rows[:, :, : g.padded_h * g.pitch].reshape(
        n, g.channels, g.padded_h, g.pitch
    )  # a view: the zeros around the image and the spare tail are never written
    p = g.padding
    image[:, :, p : p + g.height, p : p + g.width] = x
    return rows


def im2col(x: np.ndarray, geo: ConvGeometry, buffers: Buffers) -> np.ndarray:
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
    (``ConvGeometry`` sizes the rows for that), so the view never reads past a row.
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


def conv2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, geo: ConvGeometry,
    per_worker: defaultdict[int, Buffers],
) -> np.ndarray:
    """The convolution of checked arguments (see :func:`check_conv_args`): ``x`` (N, C,
    H, W), ``w`` (F, C, kh, kw), ``b`` (F,) of one dtype, ``geo`` their geometry, and
    ``per_worker`` the scratch :class:`Buffers` of each worker thread.

    A few images at a time (``geo.chunks()``, so that the column matrix stays in the
    CPU cache; the chunks spread over the CPU cores by :func:`_over_chunks`): the
    windows gathered (:func:`im2col`), one GEMM, and a copy of the real columns, plus
    the bias, into ``out``, a new C-contiguous (N, F, Ho, Wo) array.
    """
    g = geo
    w_flat = w.reshape(g.n_filters, g.patch_size)
    out = np.empty((g.n_images, g.n_filters, g.out_h, g.out_w), dtype=x.dtype)

    def chunk(_: int, batch: slice, scratch: Buffers) -> None:
        cols = im2col(x[batch], g, scratch)
        flat_out = scratch.get("flat_out", (g.n_filters, g.chunk * g.n_positions), x.dtype)
        y = np.matmul(w_flat, cols, out=flat_out[:, : cols.shape[1]])
        y = y.reshape(g.n_filters, -1, g.out_h, g.pitch)[..., : g.out_w]
        np.add(y.transpose(1, 0, 2, 3), b[:, None, None], out=out[batch])

    _over_chunks(g, per_worker, chunk)
    return out


def conv2d_backward(
    grad_out: np.ndarray, x: np.ndarray, w: np.ndarray, geo: ConvGeometry,
    per_worker: defaultdict[int, Buffers],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients through :func:`conv2d_forward`: return new ``(dx, dw, db)``, of the shapes
    of ``x``, ``w`` and ``b``, for ``grad_out`` = G = dL/dout (N, F, Ho, Wo) in the dtype
    of the checked ``x`` and ``w`` (see ``week14.functional.conv2d_backward`` for the maths).

    Chunk by chunk (spread over the CPU cores by :func:`_over_chunks`), with ``G`` =
    dL/dout laid out like the forward's GEMM output (F, n·L), junk columns zero, and
    ``cols`` rebuilt by :func:`im2col`:

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

    def chunk(index: int, batch: slice, scratch: Buffers) -> None:
        cols = im2col(x[batch], g, scratch)
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
    w_t: np.ndarray, grad_flat: np.ndarray, cols: np.ndarray, geo: ConvGeometry,
    buffers: Buffers,
) -> np.ndarray:
    """dL/d(rows) of some images, (n, C, S), from ``grad_flat`` = G (F, n·L); the
    reverse of :func:`im2col`. ``cols`` is scratch space of its shape.

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

