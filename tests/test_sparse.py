"""Tests for week14.sparse: the CSR format and the product of a batch with CSR weights."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from week14.sparse import CSR, linear, to_csr

#: The module docstring's example.
EXAMPLE = np.array([[0, 5, 0, 0], [0, 0, 0, 0], [1, 0, 0, 2], [0, 0, 3, 0]], dtype=float)


def sparse_matrices(max_side: int = 9) -> st.SearchStrategy[np.ndarray]:
    """Small float matrices with many exact zeros (whole empty rows included) and
    small-integer nonzeros, so that products are exact in float64 whatever the order
    of the sums."""
    shapes = hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=max_side)
    values = st.sampled_from([0.0, 0.0, 0.0, -3.0, -1.0, 1.0, 2.0, 5.0])
    return hnp.arrays(np.float64, shapes, elements=values)


def test_the_docstring_example_is_stored_as_documented():
    csr = to_csr(EXAMPLE)
    np.testing.assert_array_equal(csr.data, [5, 1, 2, 3])
    np.testing.assert_array_equal(csr.indices, [1, 0, 3, 2])
    np.testing.assert_array_equal(csr.indptr, [0, 1, 1, 3, 4])
    assert csr.shape == (4, 4) and csr.nnz == 4
    assert csr.indices.dtype == csr.indptr.dtype == np.int32
    assert csr.nbytes == 4 * 8 + 4 * 4 + 5 * 4  # values, column indices, row pointers


@settings(deadline=None, max_examples=80)
@given(sparse_matrices())
def test_to_csr_round_trips_and_stores_only_the_nonzeros(dense):
    csr = to_csr(dense)
    np.testing.assert_array_equal(csr.to_dense(), dense)
    assert csr.nnz == np.count_nonzero(dense) and not np.any(csr.data == 0)
    np.testing.assert_array_equal(np.diff(csr.indptr), np.count_nonzero(dense, axis=1))
    for i in range(dense.shape[0]):  # each row's columns, left to right
        row = slice(csr.indptr[i], csr.indptr[i + 1])
        np.testing.assert_array_equal(csr.indices[row], np.flatnonzero(dense[i]))


@settings(deadline=None, max_examples=80)
@given(sparse_matrices(), st.integers(1, 7), st.integers(1, 50), st.integers(0, 2**32 - 1))
def test_linear_equals_the_dense_product(weight, batch, block_elements, seed):
    """Integer-valued inputs and weights: exact, whatever the blocks and empty rows."""
    X = np.random.default_rng(seed).integers(-4, 5, size=(batch, weight.shape[1])) * 1.0
    got = linear(X, to_csr(weight), block_elements=block_elements)
    np.testing.assert_array_equal(got, X @ weight.T)


def test_linear_of_a_pruned_layer_matches_x_times_w():
    """The lecture's use: W of a Dense layer (in × out), half its weights pruned, stored
    as CSR of Wᵀ; blocks of every size give the dense layer's output to rounding."""
    rng = np.random.default_rng(0)
    X, W = rng.normal(size=(33, 40)), rng.normal(size=(40, 24))
    W[np.abs(W) < np.median(np.abs(W))] = 0.0
    for block_elements in (1, 100, 1 << 16):
        got = linear(X, to_csr(W.T), block_elements=block_elements)
        np.testing.assert_allclose(got, X @ W, rtol=1e-12, atol=1e-12)


def test_an_all_zero_weight_matrix_gives_zeros():
    got = linear(np.ones((3, 5)), to_csr(np.zeros((4, 5))))
    np.testing.assert_array_equal(got, np.zeros((3, 4)))


def test_float32_stays_float32():
    X = np.ones((2, 3), dtype=np.float32)
    csr = to_csr(np.eye(3, dtype=np.float32))
    assert csr.data.dtype == np.float32 and linear(X, csr).dtype == np.float32


def test_csr_saves_memory_below_two_thirds_of_the_weights():
    """12 bytes per kept float64 weight (value and int32 column) plus the row pointers,
    against 8 bytes per weight dense."""
    W = np.random.default_rng(1).normal(size=(100, 100))
    for kept, saves in ((0.5, True), (0.9, False)):
        pruned = np.where(np.abs(W) > np.quantile(np.abs(W), 1 - kept), W, 0.0)
        csr = to_csr(pruned)
        assert csr.nbytes == 12 * csr.nnz + 4 * 101
        assert (csr.nbytes < pruned.nbytes) is saves


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: to_csr(np.ones(3)), ValueError, "2-D array"),
    (lambda: to_csr(np.array([["a"]])), TypeError, "real number"),
    (lambda: linear(np.ones((2, 3)), to_csr(EXAMPLE)), ValueError, r"\(batch, 4\)"),
    (lambda: linear(np.ones(4), to_csr(EXAMPLE)), ValueError, r"shape \(4, 4\)"),
    (lambda: linear(np.ones((2, 4)), to_csr(EXAMPLE), block_elements=0), ValueError,
     "block_elements >= 1"),
])
def test_bad_arguments_say_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_record_is_immutable():
    csr = to_csr(EXAMPLE)
    assert isinstance(csr, CSR)
    with pytest.raises(AttributeError):
        csr.shape = (2, 8)  # type: ignore[misc]
