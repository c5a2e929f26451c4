"""Sparse matrices in CSR (compressed sparse row) format, written in NumPy for teaching.

Slide: "Lottery ticket hypothesis" ("pruning the network ... makes the model faster").
A pruned weight kept in a dense array is still a 0.0 that the matrix product multiplies
like any other number. To save memory and time the zeros must be neither stored nor
computed; CSR is the usual format for that.

**The format.** An ``m × n`` matrix ``A`` with ``nnz`` nonzero entries is three arrays:

- ``data`` (``nnz``): the nonzero values, row by row, left to right within a row;
- ``indices`` (``nnz``): the column of each value;
- ``indptr`` (``m + 1``): row ``i``'s values are ``data[indptr[i]:indptr[i + 1]]``
  (so ``indptr[0] = 0``, ``indptr[m] = nnz``, and an empty row has
  ``indptr[i] = indptr[i + 1]``).

For example::

    A = [[0, 5, 0, 0],        data    = [5, 1, 2, 3]
         [0, 0, 0, 0],   →    indices = [1, 0, 3, 2]
         [1, 0, 0, 2],        indptr  = [0, 1, 1, 3, 4]
         [0, 0, 3, 0]]

Storage is ``nnz`` values (8 bytes each in float64) and ``nnz`` column indices plus
``m + 1`` row pointers (4 bytes each here), about 12 bytes per kept weight against 8 per
weight for the dense array: CSR saves memory once fewer than about two thirds of the
weights are kept.

**The product with a layer's weights.** A Dense layer computes ``X @ W`` with ``W`` of
shape ``(in, out)``, so output unit ``j`` sums over column ``j`` of ``W``:
``(X W)[b, j] = Σ_i X[b, i] · W[i, j]``. Stored row by row, columns are awkward, so
:func:`linear` takes ``Wᵀ`` in CSR (shape ``(out, in)``, one row per output unit: the
inputs that unit still listens to, the layout of PyTorch's ``nn.Linear.weight``) and
computes ``X @ (Wᵀ)ᵀ = X @ W`` with work proportional to ``nnz``, not to ``in · out``.

This module shows the idea; it is not a fast sparse library. Compiled sparse kernels
(``scipy.sparse``, ``torch.sparse``) do the same with less overhead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from week14._validation import as_real_array, check_int

#: Default for :func:`linear`'s ``block_elements``: at most 2**17 products (1 MB of
#: float64, small enough to stay in the processor's cache) are held at once, whatever
#: the batch size and sparsity.
BLOCK_ELEMENTS = 1 << 17


@dataclass(frozen=True)
class CSR:
    """A matrix in compressed sparse row format (see the module docstring).

    Attributes:
        data: ``(nnz,)`` the nonzero values, row by row.
        indices: ``(nnz,)`` int32, the column of each value.
        indptr: ``(rows + 1,)`` int32, row ``i`` is ``data[indptr[i]:indptr[i + 1]]``.
        shape: ``(rows, columns)`` of the matrix it stands for.
    """

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    @property
    def nnz(self) -> int:
        """The number of stored (nonzero) entries."""
        return int(self.data.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by ``data``, ``indices`` and ``indptr`` together (compare with a
        dense array's ``nbytes``)."""
        return self.data.nbytes + self.indices.nbytes + self.indptr.nbytes

    def to_dense(self) -> np.ndarray:
        """The ``rows × columns`` dense array, zeros included."""
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        dense = np.zeros(self.shape, dtype=self.data.dtype)
        dense[rows, self.indices] = self.data
        return dense


def to_csr(dense: np.ndarray) -> CSR:
    """Store the 2-D array ``dense`` (shape ``(rows, columns)``) in CSR: its nonzero
    entries in row-major order, their columns, and where each row starts.

    ``indptr[i + 1] − indptr[i]`` is the number of nonzeros of row ``i``, so ``indptr``
    is the running total of the per-row counts, starting at 0.
    """
    dense = as_real_array(dense, "to_csr", "dense")
    if dense.ndim != 2:
        raise ValueError(f"to_csr expected a 2-D array, got shape {dense.shape}")
    rows, columns = np.nonzero(dense)  # row-major order: row by row, columns ascending
    counts = np.bincount(rows, minlength=dense.shape[0])
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return CSR(data=dense[rows, columns], indices=columns.astype(np.int32), indptr=indptr,
               shape=(dense.shape[0], dense.shape[1]))


def linear(X: np.ndarray, weight: CSR, *, block_elements: int = BLOCK_ELEMENTS) -> np.ndarray:
    """``X @ weightᵀ`` for a dense batch ``X`` and a CSR ``weight`` of shape
    ``(out, in)``, one row per output unit (build it as ``to_csr(W.T)`` from a Dense
    layer's ``W`` of shape ``(in, out)``; the result is then ``X @ W``).

    Output unit ``j`` keeps the inputs ``k ∈ indices[indptr[j]:indptr[j + 1]]``:

        Y[b, j] = Σ_k X[b, indices[k]] · data[k]

    Vectorised: gather ``X[:, indices] * data`` (one column per stored weight, grouped
    by unit) and add up each unit's group with ``np.add.reduceat`` at the row starts.
    The work is ``batch · nnz`` multiply-adds, against ``batch · in · out`` for the dense
    product. The batch is processed in blocks of rows so that at most
    ``block_elements`` products exist at once.

    Args:
        X: ``(batch, in)``.
        weight: CSR of shape ``(out, in)``.
        block_elements: the most products held in memory at once (≥ 1).

    Returns:
        ``(batch, out)``, equal to ``X @ weight.to_dense().T`` up to rounding (the sums
        run in a different order from BLAS's).
    """
    X = as_real_array(X, "linear", "X")
    block_elements = check_int("linear", "block_elements", block_elements, 1)
    units, inputs = weight.shape
    if X.ndim != 2 or X.shape[1] != inputs:
        raise ValueError(f"linear expected X of shape (batch, {inputs}) for a weight of "
                         f"shape {weight.shape} (one row per output unit), got {X.shape}")
    out = np.zeros((X.shape[0], units), dtype=np.result_type(X, weight.data))
    # reduceat would copy one value into an empty row: give the kept units only.
    kept = np.flatnonzero(np.diff(weight.indptr))
    if kept.size == 0:
        return out
    starts = weight.indptr[kept]
    block = max(1, block_elements // weight.nnz)
    for first in range(0, X.shape[0], block):
        rows = slice(first, first + block)
        # (block, nnz); np.take(·, axis=1) is X[rows][:, indices], but faster
        products = np.take(X[rows], weight.indices, axis=1) * weight.data
        out[rows, kept] = np.add.reduceat(products, starts, axis=1)
    return out
