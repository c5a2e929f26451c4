"""Tests for week14.widgets.convolution: the numbers behind the convolution explorer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from week14 import kernels
from week14.functional import conv_output_size
from week14.widgets import convolution as view

RNG = np.random.default_rng(14)
PHOTO = RNG.uniform(0, 1, size=(12, 10, 3))  # a stand-in for the photograph


@pytest.mark.parametrize("name", list(kernels.KERNELS))
def test_kernel_matrix_gives_a_writable_copy_of_the_lecture_kernel(name):
    kernel = view.kernel_matrix(name, [0.0] * 9)
    np.testing.assert_array_equal(kernel, kernels.KERNELS[name])
    kernel[0, 0] = 99.0  # must not reach the library's read-only array
    assert kernels.KERNELS[name][0, 0] != 99.0


def test_kernel_matrix_custom_reads_the_boxes_row_by_row():
    kernel = view.kernel_matrix("custom", [1, 2, 3, 4, 5, 6, 7, 8, 9])
    np.testing.assert_array_equal(kernel, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert kernel.dtype == np.float64


@pytest.mark.parametrize(
    "choice, boxes, message",
    [
        ("emboss", [0.0] * 9, "expected one of .*'custom'.*got 'emboss'"),
        ("custom", [0.0] * 8, r"9 finite numbers .* got shape \(8,\)"),
        ("custom", [0.0] * 8 + [float("nan")], "9 finite numbers"),
    ],
)
def test_kernel_matrix_rejects_bad_choices(choice, boxes, message):
    with pytest.raises(ValueError, match=message):
        view.kernel_matrix(choice, boxes)


def test_size_text_reads_height_and_width():
    assert view.size_text((64, 64), (32, 32)) == "input 64×64 → output 32×32"
    assert view.size_text((75, 64, 3), (38, 32, 3)) == "input 75×64 → output 38×32"
    with pytest.raises(ValueError, match=r"image shapes .* got \(5,\)"):
        view.size_text((5,), (3, 3))


@given(
    height=st.integers(3, 12),
    width=st.integers(3, 12),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
)
def test_filter_image_size_follows_the_formula(height, width, stride, padding):
    image = np.ones((height, width))
    result = view.filter_image(image, kernels.IDENTITY, stride, padding)
    expected = (conv_output_size(height, 3, padding, stride),
                conv_output_size(width, 3, padding, stride))
    assert result.values.shape == expected
    assert result.text == view.size_text((height, width), expected)


def test_filter_image_is_apply_kernel_with_a_clipped_copy():
    result = view.filter_image(PHOTO, kernels.EDGE_DETECTION, stride=2, padding=1)
    np.testing.assert_array_equal(
        result.values, kernels.apply_kernel(PHOTO, kernels.EDGE_DETECTION, 2, 1))
    np.testing.assert_array_equal(result.picture, np.clip(result.values, 0, 1))
    assert result.values.min() < 0 < 1 < result.values.max(), (
        "edge detection should leave [0, 1], so that clipping is tested")
    assert result.text == "input 12×10 → output 6×5"


def test_identity_with_same_padding_returns_the_image():
    result = view.filter_image(PHOTO, kernels.IDENTITY, 1, 1)
    np.testing.assert_allclose(result.values, PHOTO, rtol=0, atol=1e-15)


def test_blur_of_a_flat_image_is_flat_inside_and_darker_at_the_zero_padded_border():
    result = view.filter_image(np.full((6, 6), 0.5), kernels.GAUSSIAN_BLUR, 1, 1)
    np.testing.assert_allclose(result.values[1:-1, 1:-1], 0.5)
    # a corner pixel sees 4 + 2 + 2 + 1 = 9 of the 16 sixteenths inside the image
    assert result.values[0, 0] == pytest.approx(0.5 * 9 / 16)


def test_filter_image_names_a_kernel_larger_than_the_image():
    with pytest.raises(ValueError, match="larger than the padded image"):
        view.filter_image(np.ones((2, 2)), kernels.SHARPEN, 1, 0)


def test_explorer_shows_presets_in_the_boxes_and_uses_custom_boxes(capsys):
    explorer = view.ConvolutionExplorer(PHOTO)
    boxes = [explorer.controls[name] for name in view.BOXES]
    np.testing.assert_array_equal([b.value for b in boxes], kernels.SHARPEN.ravel())
    assert all(b.disabled for b in boxes), "preset weights are shown, not editable"
    assert "input 12×10 → output 12×10" in capsys.readouterr().out

    explorer.set(choice="gaussian_blur", stride=2, padding=0)
    np.testing.assert_array_equal([b.value for b in boxes], kernels.GAUSSIAN_BLUR.ravel())
    assert "input 12×10 → output 5×4" in capsys.readouterr().out

    # custom starts from the preset shown; a zero kernel gives a black image
    explorer.set(choice="custom", **{name: 0.0 for name in view.BOXES})
    assert not any(b.disabled for b in boxes)
    out = capsys.readouterr().out
    assert "values from 0.00 to 0.00" in out, out


def test_explorer_grayscale_switch_on_a_colour_image(capsys):
    explorer = view.ConvolutionExplorer(PHOTO)
    capsys.readouterr()
    explorer.set(colour=False, choice="identity")
    gray = PHOTO.mean(axis=2)
    out = capsys.readouterr().out
    assert f"values from {gray.min():.2f} to {gray.max():.2f}" in out, out


def test_explorer_disables_colour_for_a_grayscale_image():
    explorer = view.ConvolutionExplorer(PHOTO[..., 0])
    assert explorer.controls["colour"].disabled


def test_explorer_reports_a_custom_weight_that_is_not_a_number(capsys):
    explorer = view.ConvolutionExplorer(PHOTO)
    capsys.readouterr()
    explorer.set(choice="custom", w11=float("nan"))
    assert "Cannot use this kernel: kernel_matrix expected 9 finite numbers" in (
        capsys.readouterr().out)
