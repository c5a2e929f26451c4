"""Tests for week14.kernels (the lecture's four kernels, apply_kernel) and the sample
photograph of week14.data."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from week14.data import sample_image
from week14.kernels import (
    EDGE_DETECTION,
    GAUSSIAN_BLUR,
    IDENTITY,
    KERNELS,
    SHARPEN,
    apply_kernel,
)


def apply_kernel_loops(image2d, kernel, stride, padding):
    """The definition, one output pixel at a time (cross-correlation)."""
    padded = np.pad(image2d, padding)
    kh, kw = kernel.shape
    out_h = (padded.shape[0] - kh) // stride + 1
    out_w = (padded.shape[1] - kw) // stride + 1
    out = np.empty((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = padded[i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[i, j] = np.sum(window * kernel)
    return out


# ---------------------------------------------------------------- the kernels


def test_kernels_are_the_lecture_values_in_slide_order():
    assert list(KERNELS) == ["identity", "gaussian_blur", "sharpen", "edge_detection"]
    np.testing.assert_array_equal(IDENTITY, [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(GAUSSIAN_BLUR * 16, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(SHARPEN, [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(EDGE_DETECTION, [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    assert KERNELS["sharpen"] is SHARPEN


@pytest.mark.parametrize("name, total", [("identity", 1), ("gaussian_blur", 1), ("sharpen", 1),
                                         ("edge_detection", 0)])
def test_kernel_sums_keep_or_remove_brightness(name, total):
    assert KERNELS[name].sum() == pytest.approx(total, abs=1e-15)


def test_kernels_and_the_mapping_are_read_only():
    with pytest.raises(ValueError, match="read-only"):
        SHARPEN[1, 1] = 0
    with pytest.raises(TypeError):
        KERNELS["mine"] = np.ones((3, 3))  # type: ignore[index]


# ---------------------------------------------------------------- apply_kernel


def test_identity_kernel_returns_the_image():
    rng = np.random.default_rng(0)
    gray, rgb = rng.random((7, 9)), rng.random((6, 5, 3))
    np.testing.assert_array_equal(apply_kernel(gray, IDENTITY), gray)
    np.testing.assert_array_equal(apply_kernel(rgb, IDENTITY), rgb)


def test_flat_regions_blur_to_themselves_and_have_no_edges():
    flat = np.full((6, 6), 0.4)
    interior = (slice(1, -1), slice(1, -1))  # away from the zero padding
    np.testing.assert_allclose(apply_kernel(flat, GAUSSIAN_BLUR)[interior], 0.4, rtol=1e-15)
    np.testing.assert_allclose(apply_kernel(flat, SHARPEN)[interior], 0.4, rtol=1e-14)
    np.testing.assert_allclose(apply_kernel(flat, EDGE_DETECTION)[interior], 0.0, atol=1e-14)


def test_edge_detection_lights_up_a_step():
    step = np.zeros((5, 6))
    step[:, 3:] = 1.0
    edges = apply_kernel(step, EDGE_DETECTION, padding=0)  # (3, 4)
    np.testing.assert_array_equal(edges, [[0, -3, 3, 0]] * 3)


@pytest.mark.parametrize("stride, padding", [(1, "same"), (2, "same"), (1, 0), (3, 2)])
@pytest.mark.parametrize("name", list(KERNELS))
def test_apply_kernel_matches_loops_channel_by_channel(name, stride, padding):
    rng = np.random.default_rng(1)
    rgb = rng.random((8, 7, 3))
    pad = 1 if padding == "same" else padding
    out = apply_kernel(rgb, KERNELS[name], stride=stride, padding=padding)
    for c in range(3):
        expected = apply_kernel_loops(rgb[..., c], KERNELS[name], stride, pad)
        np.testing.assert_allclose(out[..., c], expected, rtol=1e-12, atol=1e-12,
                                   err_msg=f"{name}, channel {c}")
        np.testing.assert_array_equal(apply_kernel(rgb[..., c], KERNELS[name], stride, padding),
                                      out[..., c])


def test_apply_kernel_rectangular_kernel_and_uint8_images():
    image = np.arange(30, dtype=np.uint8).reshape(5, 6)
    kernel = np.array([[1.0, -1.0]])
    out = apply_kernel(image, kernel, padding=0)
    assert out.shape == (5, 5) and out.dtype == np.float64
    np.testing.assert_array_equal(out, -1.0)


def test_same_padding_keeps_the_size_and_stride_shrinks_it():
    image = np.zeros((10, 7, 3))
    assert apply_kernel(image, SHARPEN).shape == (10, 7, 3)
    assert apply_kernel(image, SHARPEN, stride=2).shape == (5, 4, 3)
    assert apply_kernel(image, np.ones((5, 5)) / 25).shape == (10, 7, 3)


@pytest.mark.parametrize(
    "image, kernel, kwargs, words",
    [(np.zeros((2, 3, 4, 5)), SHARPEN, {}, r"\(H, W\) or colour \(H, W, C\).*\(2, 3, 4, 5\)"),
     (np.zeros((5, 5)), np.ones(3), {}, r"2-D kernel \(kh, kw\), got shape \(3,\)"),
     (np.zeros((5, 5)), np.ones((2, 2)), {}, "square kernel of odd size"),
     (np.zeros((5, 5)), np.ones((3, 1)), {}, "square kernel of odd size"),
     (np.zeros((5, 5)), SHARPEN, {"padding": "valid"}, "'same' or an int"),
     (np.zeros((2, 2)), SHARPEN, {"padding": 0}, r"kernel of shape \(3, 3\) is larger than the "
                                                 r"padded image 2×2 \(image shape \(2, 2\)"),
     (np.zeros((5, 5)), SHARPEN, {"stride": 0}, "stride >= 1")],
)
def test_apply_kernel_rejects_bad_input(image, kernel, kwargs, words):
    with pytest.raises(ValueError, match=words):
        apply_kernel(image, kernel, **kwargs)


# ---------------------------------------------------------------- the sample photograph


def test_sample_image_is_an_rgb_photo_in_unit_range():
    image = sample_image()
    assert image.shape == (600, 512, 3) and image.dtype == np.float64
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert image.std() > 0.1, "a photograph, not a flat image"


def test_sample_image_scale_averages_blocks():
    full, small = sample_image(), sample_image(scale=4)
    assert small.shape == (150, 128, 3)
    np.testing.assert_allclose(small[10, 20], full[40:44, 80:84].mean(axis=(0, 1)), rtol=1e-12)
    assert sample_image(scale=7).shape == (85, 73, 3)
    with pytest.raises(ValueError, match="scale >= 1"):
        sample_image(scale=0)
    with pytest.raises(TypeError, match="scale to be an int"):
        sample_image(scale=0.5)


def test_importing_the_convolution_modules_does_not_import_matplotlib():
    code = ("import sys, week14.functional, week14.kernels, week14.cnn, week14.data; "
            "print('matplotlib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False", "matplotlib must be imported lazily"
