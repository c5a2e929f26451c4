"""Tests for week14.widgets.pooling: the numbers behind the pooling explorer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from week14 import data, functional
from week14.widgets import pooling as view

MAX_GRID = data.lecture_max_pool_example()
AVG_GRID = data.lecture_avg_pool_example()
PHOTO = np.random.default_rng(9).uniform(0, 1, size=(11, 9, 3))


def test_pool_image_reproduces_the_lecture_grids():
    got = view.pool_image(MAX_GRID.x[0, 0], "max", MAX_GRID.size, MAX_GRID.stride)
    np.testing.assert_array_equal(got, [[3, 3, 3], [3, 3, 3], [3, 2, 3]])
    got = view.pool_image(AVG_GRID.x[0, 0], "average", AVG_GRID.size, AVG_GRID.stride)
    np.testing.assert_array_equal(got, AVG_GRID.expected[0, 0])
    assert got[0, 0] == (7 + 3 + 8 + 7) / 4


@pytest.mark.parametrize("kind", list(view.POOLS))
def test_pool_image_pools_each_colour_channel_separately(kind):
    got = view.pool_image(PHOTO, kind, 3, 2)
    assert got.shape == (5, 4, 3), "height and width shrink, the 3 channels stay"
    for c in range(3):
        np.testing.assert_array_equal(got[..., c], view.pool_image(PHOTO[..., c], kind, 3, 2))
    batch = PHOTO.transpose(2, 0, 1)[None]
    np.testing.assert_array_equal(got, view.POOLS[kind](batch, 3, 2)[0].transpose(1, 2, 0))


def test_pool_image_stride_defaults_to_size():
    np.testing.assert_array_equal(view.pool_image(PHOTO, "max", 2),
                                  view.pool_image(PHOTO, "max", 2, 2))


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((PHOTO, "min", 2), ValueError, r"one of \['max', 'average'\], got 'min'"),
        ((np.ones(4), "max", 2), ValueError, r"\(H, W\) grid or \(H, W, C\) image, got shape"),
        ((np.ones((4, 4)), "max", 5), ValueError, "larger than the input"),
        ((np.ones((4, 4)), "average", 2, 0), ValueError, "stride >= 1"),
    ],
)
def test_pool_image_rejects_bad_arguments(args, error, message):
    with pytest.raises(error, match=message):
        view.pool_image(*args)


@given(
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    size=st.integers(1, 4),
    stride=st.integers(1, 4),
    data_=st.data(),
)
def test_every_output_value_pools_its_window(height, width, size, stride, data_):
    if size > min(height, width):
        return
    grid = np.arange(height * width, dtype=np.float64).reshape(height, width) % 7
    for kind, reduce in (("max", np.max), ("average", np.mean)):
        pooled = view.pool_image(grid, kind, size, stride)
        assert pooled.shape == (functional.conv_output_size(height, size, 0, stride),
                                functional.conv_output_size(width, size, 0, stride))
        index = data_.draw(st.integers(0, pooled.size - 1))
        win = view.window_of(index, pooled.shape, size, stride)
        assert (win.row, win.col) == np.unravel_index(index, pooled.shape)
        region = grid[win.rows, win.cols]
        assert region.shape == (size, size), "the window lies inside the input"
        assert pooled[win.row, win.col] == pytest.approx(reduce(region))


def test_window_of_rejects_an_index_outside_the_output():
    with pytest.raises(ValueError, match=r"index in 0…8 .* shape \(3, 3\), got 9"):
        view.window_of(9, (3, 3), 3, 1)


def test_window_text_explains_the_lecture_values():
    grid = MAX_GRID.x[0, 0]
    assert view.window_text(grid, "max", 3, 1, 7) == (
        "output[2, 1] = max of rows 2–4, columns 1–3 = 2")
    assert view.window_text(AVG_GRID.x[0, 0], "average", 2, 2, 0) == (
        "output[0, 0] = average of rows 0–1, columns 0–1 = 6.25")
    with pytest.raises(ValueError, match="2-D grid"):
        view.window_text(PHOTO, "max", 2, 2, 0)


def test_explorer_starts_on_the_lecture_example_and_clamps_the_window(capsys):
    explorer = view.PoolingExplorer(PHOTO)
    out = capsys.readouterr().out
    assert "input 5×5 → output 3×3" in out and "output[0, 0] = max" in out, out
    explorer.set(window=7)
    assert "= 2" in capsys.readouterr().out
    explorer.set(source="avg_grid", kind="average", size=2, stride=2)
    assert explorer.controls["window"].max == 3, "4 output values: windows 0…3"
    assert explorer.controls["window"].value == 3
    assert "output[1, 1] = average of rows 2–3, columns 2–3 = 5.25" in capsys.readouterr().out


def test_explorer_on_the_photograph_and_on_a_window_too_large(capsys):
    explorer = view.PoolingExplorer(PHOTO)
    capsys.readouterr()
    explorer.set(source="photo", size=2, stride=2)
    out = capsys.readouterr().out
    assert "input 11×9 → output 5×4; channels unchanged (3)" in out, out
    assert "output[" not in out, "the photograph has no per-value explanation"
    explorer.set(source="avg_grid", size=5)
    assert "Cannot pool this input" in capsys.readouterr().out
