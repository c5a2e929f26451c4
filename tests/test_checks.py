"""The seeded case builders of notebooks 06-10's hidden tests (week14.checks_schedules,
checks_lottery, checks_convolution, checks_cnn): each returns cases of exactly the kinds
it declares (week14.cases.builds), the same ones for the same seed, every one of them a
call the exercise's reference accepts, and of the kind its label says."""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pytest

import week14
from week14 import functional, metrics, pruning, references, symmetry
from week14.checks_cnn import confusion_matrix_cases
from week14.checks_convolution import (
    avg_pool_cases,
    conv2d_cases,
    conv_single_step_cases,
    max_pool_cases,
)
from week14.checks_lottery import magnitude_mask_cases, mask_edge_cases, unit_spread_cases
from week14.checks_schedules import exponential_decay_cases, step_decay_cases

#: Each builder and the reference its cases are graded against.
BUILDERS = {
    step_decay_cases: references.step_decay,
    exponential_decay_cases: references.exponential_decay,
    unit_spread_cases: symmetry.unit_spread,
    magnitude_mask_cases: pruning.magnitude_mask,
    mask_edge_cases: pruning.magnitude_mask,
    conv_single_step_cases: references.conv_single_step,
    conv2d_cases: functional.conv2d,
    max_pool_cases: functional.max_pool2d,
    avg_pool_cases: functional.avg_pool2d,
    confusion_matrix_cases: metrics.confusion_matrix,
}
PARAMS = pytest.mark.parametrize("builder", list(BUILDERS), ids=lambda b: b.__name__)
SEEDS = range(40)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b) and np.array_equal(np.signbit(a), np.signbit(b)))
    return type(a) is type(b) and a == b


@PARAMS
@pytest.mark.parametrize("n", [1, 3])
def test_a_builder_returns_n_cases_of_each_declared_kind_in_order(builder, n):
    labels = builder.labels
    assert labels and len(set(labels)) == len(labels)
    got = [case.label for case in builder(7, n=n)]
    assert got == [label for label in labels for _ in range(n)]
    assert [case.label for case in builder(7)] == list(labels)


@PARAMS
def test_a_seed_gives_the_same_cases_and_another_seed_others(builder):
    first, again, other = builder(123, n=2), builder(123, n=2), builder(124, n=2)
    assert all(len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
               for a, b in zip(first, again, strict=True))
    assert not all(all(_same(x, y) for x, y in zip(a, b, strict=False))
                   for a, b in zip(first, other, strict=True))


@PARAMS
def test_the_reference_accepts_every_case(builder):
    reference = BUILDERS[builder]
    for seed in SEEDS:
        for case in builder(seed, n=2):
            result = np.asarray(reference(*case))
            assert np.isfinite(result).all(), (case.label, seed)


def _kinds(builder, label):
    return [case for seed in SEEDS for case in builder(seed, n=2) if case.label == label]


def test_schedule_cases_are_of_their_kind():
    for builder, reference in [(step_decay_cases, references.step_decay),
                               (exponential_decay_cases, references.exponential_decay)]:
        for case in _kinds(builder, "a very late epoch (the rate underflows to 0)"):
            assert reference(*case) == 0.0 and case[1] > 0
        assert all(isinstance(case[0], np.integer)
                   for case in _kinds(builder, "a NumPy integer epoch"))
    assert all(case[3] == 1 for case in _kinds(step_decay_cases, "every=1: a drop every epoch"))
    assert all(references.step_decay(*case) == case[1]
               for case in _kinds(step_decay_cases, "factor=1: no decay"))
    assert all(references.exponential_decay(*case) == case[1]
               for case in _kinds(exponential_decay_cases, "decay_rate=1: no decay"))
    assert all(case[4] is True for case in _kinds(exponential_decay_cases, "staircase"))
    assert all(case[3] % 1 for case in _kinds(exponential_decay_cases,
                                              "a fractional decay_steps"))
    assert all(len(case) == 3 for case in _kinds(exponential_decay_cases,
                                                 "the default decay_steps"))


def test_unit_spread_cases_are_of_their_kind():
    spread = {label: [symmetry.unit_spread(*case) for case in _kinds(unit_spread_cases, label)]
              for label in unit_spread_cases.labels}
    assert all(value == 0.0 for value in spread["identical units"])
    assert all(1e-4 <= value <= 1e-2 for value in spread["one unit differs a little"])
    assert all(value >= 0.1 for value in spread["only a bias differs"])
    assert all(np.abs(case[0]).max() > 100 for case in _kinds(unit_spread_cases, "large weights"))


def test_magnitude_mask_cases_are_of_their_kind():
    for case in [c for label in magnitude_mask_cases.labels
                 for c in _kinds(magnitude_mask_cases, label)]:
        assert np.unique(np.abs(case[0])).size == case[0].size  # no ties here
    assert all(case[0].ndim == 1 for case in _kinds(magnitude_mask_cases, "a 1-D array"))
    assert all(case[0].ndim == 4
               for case in _kinds(magnitude_mask_cases, "4-D convolution weights"))
    assert all(np.abs(case[0]).max() < 1e-2 for case in _kinds(magnitude_mask_cases,
                                                               "tiny weights"))


def test_mask_edge_cases_are_of_their_kind():
    ties = _kinds(mask_edge_cases, "ties in |w|")
    assert all(np.unique(np.abs(case[0])).size < case[0].size for case in ties)
    assert any(np.signbit(case[0][case[0] == 0]).any() for case in ties)  # −0.0 among them
    for case in _kinds(mask_edge_cases, "fraction × size ending in .5"):
        assert case[1] * case[0].size % 1 == 0.5
    assert all(pruning.magnitude_mask(*case).all()
               for case in _kinds(mask_edge_cases, "nothing pruned"))
    assert not any(pruning.magnitude_mask(*case).any()
                   for case in _kinds(mask_edge_cases, "everything pruned"))
    assert all(case[0].size == 1 for case in _kinds(mask_edge_cases, "a single weight"))


def test_convolution_cases_are_of_their_kind():
    for case in _kinds(conv_single_step_cases, "a 1×1 kernel and an integer bias"):
        assert case[1].shape[1:] == (1, 1) and type(case[2]) is int
    assert all(case[1].shape[1] != case[1].shape[2]
               for case in _kinds(conv_single_step_cases, "a non-square kernel"))
    assert all(case[0].shape[0] >= 2
               for case in _kinds(conv_single_step_cases, "several channels"))
    assert all(case[3] == 2 for case in _kinds(conv2d_cases, "stride 2"))
    assert all(case[4] == 2 for case in _kinds(conv2d_cases, "padding 2"))
    assert all(case[1].shape[2:] == (1, 1) for case in _kinds(conv2d_cases, "a 1×1 kernel"))
    assert all(case[1].shape[2] != case[1].shape[3]
               for case in _kinds(conv2d_cases, "a non-square kernel"))
    assert all(case[0].shape[1] >= 3 and case[1].shape[0] >= 2
               for case in _kinds(conv2d_cases, "several channels"))


@pytest.mark.parametrize("builder", [max_pool_cases, avg_pool_cases], ids=lambda b: b.__name__)
def test_pooling_cases_are_of_their_kind(builder):
    assert all(1 <= case[2] < case[1] for case in _kinds(builder, "windows that overlap"))
    assert all(len(case) == 2 for case in _kinds(builder, "the default stride"))
    assert all(case[0].shape[1] >= 3 for case in _kinds(builder, "several channels"))
    assert all(case[1] == 1 for case in _kinds(builder, "a 1×1 window"))
    assert all(case[2] > case[1] for case in _kinds(builder, "a stride larger than the window"))
    assert all(BUILDERS[builder](*case).shape[2:] == (1, 1)
               for case in _kinds(builder, "one window covering the image"))


def test_max_and_avg_pool_cases_of_their_own_kinds():
    assert all((case[0] < 0).all() for case in _kinds(max_pool_cases, "only negative values"))
    assert all(case[0].dtype == np.float32 for case in _kinds(max_pool_cases, "float32 input"))
    assert all(case[0].dtype.kind == "i" for case in _kinds(avg_pool_cases, "integer input"))


def test_confusion_matrix_cases_are_of_their_kind():
    assert all(case[2] == 10 for case in _kinds(confusion_matrix_cases, "ten classes"))
    for case in _kinds(confusion_matrix_cases, "classes that never occur"):
        counts = metrics.confusion_matrix(*case)
        assert not counts.sum(axis=0)[-1] and not counts.sum(axis=1)[-1]
    assert all(case[2] == 1 for case in _kinds(confusion_matrix_cases, "one class"))
    assert all(case[0].size == 1 for case in _kinds(confusion_matrix_cases, "one example"))
    for case in _kinds(confusion_matrix_cases, "no examples"):
        assert case[0].size == 0 and case[0].dtype.kind == "i"


def test_builder_names_are_unique_across_week14():
    """tests/test_notebooks.py finds a builder's labels by the name a cell calls it by."""
    seen: dict[str, object] = {}
    for info in pkgutil.iter_modules(week14.__path__):
        if info.name == "lab":
            continue
        module = importlib.import_module(f"week14.{info.name}")
        for name, value in vars(module).items():
            if callable(value) and isinstance(getattr(value, "labels", None), tuple):
                assert seen.setdefault(name, value) is value, f"two builders named {name}"
    assert set(seen) >= {builder.__name__ for builder in BUILDERS}
