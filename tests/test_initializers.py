"""Tests for week14.initializers: fans, statistics, seeds, Generator streams, errors."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from week14 import initializers as init

RANDOM = ["normal", "uniform", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform"]

# ---------------------------------------------------------------- fan-in / fan-out


@pytest.mark.parametrize(
    "shape, expected",
    [
        ((3, 5), (3, 5)),  # dense (in, out)
        ((8, 3, 5, 5), (3 * 25, 8 * 25)),  # conv (F, C, kh, kw)
        ((16, 1, 3, 2), (6, 96)),
        ((7,), (7, 7)),  # bias vector
        (4, (4, 4)),  # an int is a 1-d shape
    ],
)
def test_fan_in_fan_out_of_dense_conv_and_vector_shapes(shape, expected):
    assert init.fan_in_fan_out(shape) == expected


@settings(deadline=None)  # timing varies on a shared machine
@given(hnp.array_shapes(min_dims=3, max_dims=5, min_side=1, max_side=6))
def test_conv_fans_multiply_channels_by_receptive_field(shape):
    field = math.prod(shape[2:])
    assert init.fan_in_fan_out(shape) == (shape[1] * field, shape[0] * field)


def test_fans_of_a_scalar_shape_raise():
    message = r"fan_in_fan_out expected a shape with at least one dimension.*got shape \(\)"
    with pytest.raises(ValueError, match=message):
        init.fan_in_fan_out(())


# ---------------------------------------------------------------- deterministic initialisers


def test_zeros_ones_constant_values_shape_and_dtype():
    np.testing.assert_array_equal(init.zeros((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(init.ones(4), np.ones(4))
    np.testing.assert_array_equal(init.constant((2, 2), 0.5), np.full((2, 2), 0.5))
    assert init.zeros((2, 3)).dtype == np.float64
    assert init.ones((2, 3), dtype=np.float32).dtype == np.float32
    assert init.constant((1,), 3, dtype=np.float32).dtype == np.float32


def test_deterministic_initialisers_ignore_rng():
    a = init.ones((3, 3), rng=1)
    b = init.ones((3, 3), rng=np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)


def test_constant_as_a_layer_initialiser_via_partial():
    fn = init.get(functools.partial(init.constant, value=0.1))
    np.testing.assert_array_equal(fn((2, 2), rng=np.random.default_rng(0)), np.full((2, 2), 0.1))


# ---------------------------------------------------------------- statistics of random draws

# Large shapes: with n ≈ 1e5 draws the sample std is within ~0.3 % of the true one, so a
# 3 % tolerance never fails by chance but does catch a wrong formula (e.g. fan_in vs
# fan_in + fan_out, or sqrt(3) vs sqrt(6)).
DENSE = (300, 500)
CONV = (64, 32, 7, 7)  # fan_in = 32·49 = 1568, fan_out = 64·49 = 3136


def expected_std(name: str, shape: tuple[int, ...]) -> float:
    fan_in, fan_out = init.fan_in_fan_out(shape)
    return {
        "normal": 0.01,
        "uniform": 0.05 / math.sqrt(3),
        "glorot_uniform": math.sqrt(2 / (fan_in + fan_out)),
        "glorot_normal": math.sqrt(2 / (fan_in + fan_out)),
        "he_normal": math.sqrt(2 / fan_in),
        "he_uniform": math.sqrt(2 / fan_in),
    }[name]


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("name", RANDOM)
def test_std_and_mean_of_large_draws(name, shape):
    w = init.get(name)(shape, rng=0)
    want = expected_std(name, shape)
    assert w.shape == shape and w.dtype == np.float64
    assert abs(w.std() / want - 1) < 0.03, f"{name}{shape}: std {w.std():.5g}, expected {want:.5g}"
    assert abs(w.mean()) < 0.03 * want, f"{name}{shape}: mean {w.mean():.3g} is not ≈ 0"


@pytest.mark.parametrize(
    "name, limit",
    [
        ("uniform", 0.05),
        ("glorot_uniform", math.sqrt(6 / (300 + 500))),
        ("he_uniform", math.sqrt(6 / 300)),
    ],
)
def test_uniform_draws_fill_minus_limit_to_limit(name, limit):
    w = init.get(name)(DENSE, rng=1)
    assert w.min() >= -limit and w.max() <= limit
    assert w.min() < -0.99 * limit and w.max() > 0.99 * limit, "the range is narrower than ±L"


def test_normal_and_uniform_take_their_scale():
    assert abs(init.normal(DENSE, std=2.0, rng=0).std() / 2.0 - 1) < 0.03
    assert np.abs(init.uniform(DENSE, limit=0.3, rng=0)).max() <= 0.3


# ---------------------------------------------------------------- seeds and Generator streams


@pytest.mark.parametrize("name", RANDOM)
def test_same_seed_same_draws_different_seed_different_draws(name):
    fn = init.get(name)
    np.testing.assert_array_equal(fn((4, 6), rng=42), fn((4, 6), rng=42))
    assert not np.array_equal(fn((4, 6), rng=42), fn((4, 6), rng=43))


@pytest.mark.parametrize("name", RANDOM)
def test_a_generator_stream_continues_across_calls(name):
    fn = init.get(name)
    gen = np.random.default_rng(7)
    first, second = fn((3, 4), rng=gen), fn((3, 4), rng=gen)
    assert not np.array_equal(first, second), "two calls with one Generator gave equal draws"
    replay = np.random.default_rng(7)
    np.testing.assert_array_equal(fn((3, 4), rng=replay), first)
    np.testing.assert_array_equal(fn((3, 4), rng=replay), second)


def test_random_draws_leave_numpy_global_state_alone():
    # the legacy global state is exactly what must stay untouched
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    for name in RANDOM:
        init.get(name)((5, 5), rng=None)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002


@settings(deadline=None)  # timing varies on a shared machine
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    name=st.sampled_from(list(init.INITIALIZERS)),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_every_initialiser_returns_the_shape_and_dtype_asked_for(shape, name, dtype):
    w = init.get(name)(shape, rng=0, dtype=dtype)
    assert w.shape == shape and w.dtype == dtype
    assert np.all(np.isfinite(w))


# ---------------------------------------------------------------- errors and lookup


def test_get_returns_the_named_function_and_passes_callables_through():
    assert init.get("he_normal") is init.he_normal

    def mine(shape, rng):
        return np.zeros(shape)

    assert init.get(mine) is mine


def test_get_unknown_name_lists_the_valid_ones():
    message = "initializers.get expected the name of an initializer, one of .*got 'xavier'"
    with pytest.raises(ValueError, match=message) as info:
        init.get("xavier")
    for name in init.INITIALIZERS:
        assert name in str(info.value)


def test_get_rejects_non_callables():
    with pytest.raises(TypeError, match="initializers.get expected .* a callable.*got int"):
        init.get(3)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: init.normal((2, 2), std=-1.0), ValueError, "normal expected std >= 0, got -1.0"),
        (lambda: init.normal((2, 2), std="0.1"), TypeError, "normal expected std to be a real"),
        (lambda: init.uniform((2, 2), limit=float("nan")), ValueError,
         "uniform expected limit >= 0, got nan"),
        (lambda: init.zeros((2, -3)), ValueError,
         r"zeros expected shape with non-negative dimensions, got \(2, -3\)"),
        (lambda: init.he_normal((2.5, 3)), TypeError,
         r"he_normal expected shape to be an int or a sequence of ints, got \(2.5, 3\)"),
        (lambda: init.glorot_uniform((2, 3), rng="seed"), TypeError,
         "as_generator expected rng to be an int seed.*got str"),
    ],
)
def test_bad_arguments_raise_naming_what_was_given(call, error, message):
    with pytest.raises(error, match=message):
        call()
