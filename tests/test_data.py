"""Tests for week14.data: the lecture's toy network, XOR, two-moons, digits."""

from __future__ import annotations

import hashlib
import math
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from week14.data import (
    Split,
    digits,
    lecture_toy_network,
    read_digits_table,
    stratified_split_indices,
    two_moons,
    xor,
)
from week14.layers import Dense, Sigmoid

# ---------------------------------------------------------------- toy network (slide "Feedforward")


@pytest.mark.parametrize(
    "x, expected", [((1.0, -1.0), (0.62, 0.83)), ((0.0, 0.0), (0.51, 0.85))]
)
def test_toy_network_reproduces_the_lecture_to_two_decimals(x, expected):
    out = lecture_toy_network().forward(np.array([x]))
    np.testing.assert_array_equal(
        np.round(out[0], 2), expected, err_msg=f"f{x} = {out[0]}, lecture: {expected}"
    )


def test_toy_network_hidden_layers_match_the_lecture_figure():
    a = np.array([[1.0, -1.0]])
    outputs = []
    for layer in lecture_toy_network().layers:
        a = layer.forward(a)
        if isinstance(layer, Sigmoid):
            outputs.append(np.round(a[0], 2).tolist())
    assert outputs == [[0.98, 0.12], [0.86, 0.11], [0.62, 0.83]]


def test_toy_network_weights_per_neuron():
    model = lecture_toy_network()
    assert [type(layer) for layer in model.layers] == [Dense, Sigmoid] * 3
    params = model.parameters()
    # column j of W holds neuron j's weights
    np.testing.assert_array_equal(params["0.W"][:, 0], [1, -2])
    np.testing.assert_array_equal(params["0.W"][:, 1], [-1, 1])
    np.testing.assert_array_equal(params["0.b"], [1, 0])
    np.testing.assert_array_equal(params["2.W"].T, [[2, -1], [-2, -1]])
    np.testing.assert_array_equal(params["4.W"].T, [[3, -1], [-1, 4]])
    np.testing.assert_array_equal(params["4.b"], [-2, 2])


def test_each_call_builds_an_independent_network():
    first, second = lecture_toy_network(), lecture_toy_network()
    first.parameters()["0.W"][...] = 0.0
    np.testing.assert_array_equal(second.parameters()["0.W"], [[1, -1], [-2, 1]])


# ---------------------------------------------------------------- XOR


def test_xor_points_and_labels():
    X, y = xor()
    assert X.dtype == np.float64 and X.shape == (4, 2)
    assert y.dtype == np.int64 and y.shape == (4,)
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0], X[:, 1]).astype(int))
    assert sorted(map(tuple, X.tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1)]


# ---------------------------------------------------------------- two moons


@settings(deadline=None)  # timing varies on a shared machine
@given(n=st.integers(2, 300), noise=st.floats(0.0, 0.5), seed=st.integers(0, 2**32 - 1))
def test_two_moons_shapes_dtypes_and_class_sizes(n, noise, seed):
    X, y = two_moons(n, noise, rng=seed)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.bincount(y, minlength=2).tolist() == [n // 2, n - n // 2]


def test_two_moons_without_noise_lie_on_the_two_half_circles():
    X, y = two_moons(101, noise=0.0, rng=0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, rtol=1e-12)
    assert np.all(upper[:, 1] >= -1e-12)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, rtol=1e-12)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)


def test_two_moons_noise_has_the_requested_spread():
    # with one seed the shuffle is the same, so the difference is exactly the noise
    clean, labels = two_moons(4000, noise=0.0, rng=0)
    noisy, same_labels = two_moons(4000, noise=0.2, rng=0)
    np.testing.assert_array_equal(labels, same_labels)
    noise = noisy - clean
    assert abs(noise.std() - 0.2) < 0.01 and abs(noise.mean()) < 0.01


def test_two_moons_seeds_and_generator_streams():
    np.testing.assert_array_equal(two_moons(rng=5)[0], two_moons(rng=5)[0])
    assert not np.array_equal(two_moons(rng=5)[0], two_moons(rng=6)[0])
    gen = np.random.default_rng(9)
    assert not np.array_equal(two_moons(rng=gen)[0], two_moons(rng=gen)[0])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"n_samples": 1}, ValueError, "n_samples >= 2 .*got 1"),
        ({"n_samples": 10.0}, TypeError, "n_samples to be an int, got float"),
        ({"noise": -0.1}, ValueError, "noise >= 0, got -0.1"),
    ],
)
def test_two_moons_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        two_moons(**kwargs)


# ---------------------------------------------------------------- stratified split


@settings(deadline=None)  # timing varies on a shared machine
@given(
    y=hnp.arrays(np.int64, st.integers(2, 200), elements=st.integers(0, 4)),
    test_size=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**32 - 1),
)
def test_stratified_split_is_a_partition_keeping_class_shares(y, test_size, seed):
    train, test = stratified_split_indices(y, test_size, rng=seed)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(y.size))
    assert test.size == math.ceil(test_size * y.size)
    for label in np.unique(y):
        share = np.sum(y == label) * test.size / y.size
        got = np.sum(y[test] == label)
        assert abs(got - share) < 1, f"class {label}: {got} test rows, proportional share {share}"


def test_stratified_split_is_reproducible_and_seed_dependent():
    y = np.repeat(np.arange(3), 20)
    a, b = stratified_split_indices(y, 0.3, rng=1), stratified_split_indices(y, 0.3, rng=1)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], stratified_split_indices(y, 0.3, rng=2)[1])


@pytest.mark.parametrize(
    "y, test_size, error, message",
    [
        (np.zeros(10), 0.0, ValueError, r"expected test_size in \(0, 1\), got 0.0"),
        (np.zeros(10), 1.5, ValueError, r"expected test_size in \(0, 1\), got 1.5"),
        (np.zeros(10), "0.2", TypeError, "expected test_size to be a real number, got str"),
        (np.zeros((5, 2)), 0.2, ValueError, r"labels of shape \(n,\), got \(5, 2\)"),
    ],
)
def test_stratified_split_rejects_bad_arguments(y, test_size, error, message):
    with pytest.raises(error, match=message):
        stratified_split_indices(y, test_size)


# ---------------------------------------------------------------- digits


@pytest.fixture(scope="module")
def split() -> Split:
    return digits()


def test_digits_shapes_dtypes_and_pixel_range(split):
    X_train, X_test, y_train, y_test = split
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    assert X_train.dtype == np.float64 and y_train.dtype == np.int64
    for X in (X_train, X_test):
        assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y_test)) == set(range(10))


def test_digits_split_is_stratified(split):
    train_counts = np.bincount(split.y_train, minlength=10)
    test_counts = np.bincount(split.y_test, minlength=10)
    total = train_counts + test_counts
    assert np.all(np.abs(test_counts - total * 450 / 1797) < 1), test_counts


def test_digits_split_is_reproducible_from_the_seed(split):
    again = digits(rng=0)
    np.testing.assert_array_equal(again.X_test, split.X_test)
    other = digits(rng=1)
    assert not np.array_equal(other.y_test, split.y_test)


def test_digits_as_images_keep_the_same_pixels(split):
    images = digits(images=True)
    assert images.X_train.shape == (1347, 1, 8, 8) and images.X_test.shape == (450, 1, 8, 8)
    np.testing.assert_array_equal(images.X_train.reshape(-1, 64), split.X_train)
    np.testing.assert_array_equal(images.y_train, split.y_train)


def test_digits_test_size():
    small = digits(test_size=0.1)
    assert len(small.y_test) == math.ceil(0.1 * 1797)
    assert len(small.y_train) + len(small.y_test) == 1797


#: SHA-256 of week14/datasets/digits.csv.gz, scikit-learn's file copied byte for byte.
DIGITS_FILE_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
#: SHA-256 of the little-endian bytes of what sklearn.datasets.load_digits() gave,
#: ``data / 16`` (float64, 1797 × 64) and ``target`` (int64), and of ``digits()``'s four
#: arrays for the default split (rng=0), recorded before week14 stopped using scikit-learn.
LOAD_DIGITS_SHA256 = {
    "X": "23a53393488b04f92efc45ebc92767e2dcfdf206ba37a928f497d261e42267d2",
    "y": "a3c91c262eddcf7ba8f0e37507c30284493c9b20412ffe4af30d536401f7ba21",
}
DIGITS_SPLIT_SHA256 = (
    "22ed1f803bdbfa97870cb943f5243e80a708a868d7f3754f46724ea207080249",  # X_train
    "9ed5ca2b11a191734c5e4a45aaa364c70d87915296c4aeb6c8cf326518feed46",  # X_test
    "6e90c5beabe9392de38ce153b26b5f6881d5f5d12467bd393c663c27e5ac58df",  # y_train
    "5c2e3236a845420592f2e35a748e77f8e50edc22ade8dd16d48a119007efbf13",  # y_test
)


def array_sha256(a: np.ndarray) -> str:
    little_endian = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    return hashlib.sha256(little_endian.tobytes()).hexdigest()


def test_digits_file_is_scikit_learns_copy_and_says_where_it_comes_from():
    folder = resources.files("week14") / "datasets"
    assert hashlib.sha256((folder / "digits.csv.gz").read_bytes()).hexdigest() == (
        DIGITS_FILE_SHA256)
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for provenance in (DIGITS_FILE_SHA256, "Optical Recognition of Handwritten Digits",
                       "CC BY 4.0", "BSD 3-Clause"):
        assert provenance in readme, f"week14/datasets/README.md does not say {provenance!r}"


def test_digits_table_has_1797_labelled_images():
    table = read_digits_table()
    assert table.shape == (1797, 65) and table.dtype == np.uint8
    assert table[:, :64].max() == 16
    np.testing.assert_array_equal(np.bincount(table[:, 64]),
                                  [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])


def test_digits_are_what_scikit_learns_load_digits_gave(split):
    table = read_digits_table()
    X, y = table[:, :64] / 16.0, table[:, 64].astype(np.int64)
    assert {"X": array_sha256(X), "y": array_sha256(y)} == LOAD_DIGITS_SHA256
    assert tuple(array_sha256(a) for a in split) == DIGITS_SPLIT_SHA256
