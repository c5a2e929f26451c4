"""Tests for week14.pruning (masks, masked training, rewinding) and week14.lottery (the
lottery-ticket experiment on the digits)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from week14.data import Split
from week14.lottery import LotteryResult, digits_splits, lottery_ticket, mlp, plot_lottery
from week14.pruning import (
    MaskCallback,
    apply_masks,
    global_masks,
    iterative_magnitude_pruning,
    layerwise_masks,
    magnitude_mask,
    masks_from_weights,
    prunable_weights,
    rewind,
    sparsity_report,
)

finite = st.floats(-10, 10, allow_nan=False, width=64)
weight_arrays = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=6), elements=finite
)
fractions = st.floats(0, 1)


def _mlp(sizes, seed=0):
    """The library's own Dense-ReLU network builder, seeded."""
    return mlp(sizes, np.random.default_rng(seed))


def _blobs(n=60, n_features=4, n_classes=3, seed=0):
    """Separable Gaussian blobs: a tiny classification problem."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    centres = 3 * rng.normal(size=(n_classes, n_features))
    return centres[y] + rng.normal(size=(n, n_features)), y


# --------------------------------------------------------------------------------------
# magnitude_mask
# --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(weights=weight_arrays, fraction=fractions)
def test_magnitude_mask_prunes_exactly_round_fraction_times_size(weights, fraction):
    mask = magnitude_mask(weights, fraction)
    n_pruned = int(np.count_nonzero(~mask))
    assert mask.dtype == np.bool_ and mask.shape == weights.shape
    assert n_pruned == round(fraction * weights.size), (
        f"pruned {n_pruned} of {weights.size} weights, expected round({fraction} * "
        f"{weights.size}) = {round(fraction * weights.size)}"
    )
    if 0 < n_pruned < weights.size:
        largest_pruned = np.abs(weights[~mask]).max()
        smallest_kept = np.abs(weights[mask]).min()
        assert largest_pruned <= smallest_kept, (
            f"pruned a weight of magnitude {largest_pruned} but kept one of {smallest_kept}"
        )


def test_magnitude_mask_breaks_ties_by_flat_index():
    ones = np.ones((2, 3))
    expected = np.array([[False, False, False], [True, True, True]])
    np.testing.assert_array_equal(magnitude_mask(ones, 0.5), expected)

    signed = np.array([1.0, -1.0, 1.0, -1.0])  # |w| all equal: sign must not matter
    np.testing.assert_array_equal(magnitude_mask(signed, 0.25), [False, True, True, True])

    mixed = np.array([-1.0, 0.5, 2.0, -0.5, 0.5])
    # the three smallest magnitudes are the 0.5s at indices 1, 3, 4; two go, earliest first
    np.testing.assert_array_equal(magnitude_mask(mixed, 0.4), [True, False, True, False, True])


def test_magnitude_mask_rounds_halves_to_even_like_python_round():
    weights = np.arange(1.0, 6.0)  # 5 weights, fraction 0.5 -> round(2.5) = 2
    assert np.count_nonzero(~magnitude_mask(weights, 0.5)) == 2
    weights = np.arange(1.0, 8.0)  # 7 weights, fraction 0.5 -> round(3.5) = 4
    assert np.count_nonzero(~magnitude_mask(weights, 0.5)) == 4


def test_magnitude_mask_with_existing_mask_prunes_a_fraction_of_the_remaining_weights():
    weights = np.array([0.1, 5.0, 0.2, 4.0, 3.0, 0.3, 2.0, 1.0, 6.0, 7.0])
    mask = np.array([True, False, True, True, True, False, True, True, True, True])  # 8 kept
    new = magnitude_mask(weights, 0.25, mask)  # round(0.25 * 8) = 2 more go: 0.1 and 0.2
    expected = mask.copy()
    expected[[0, 2]] = False
    np.testing.assert_array_equal(new, expected)
    assert not np.any(new & ~mask), "an already-pruned weight came back"
    assert np.array_equal(mask.sum(), 8), "the input mask was modified"


@settings(max_examples=40, deadline=None)
@given(weights=weight_arrays, first=fractions, second=fractions)
def test_iterated_masks_are_nested_with_exact_counts(weights, first, second):
    mask1 = magnitude_mask(weights, first)
    mask2 = magnitude_mask(weights, second, mask1)
    kept1 = int(mask1.sum())
    assert not np.any(mask2 & ~mask1)
    assert int(mask2.sum()) == kept1 - round(second * kept1)


def test_magnitude_mask_fraction_zero_keeps_all_and_one_prunes_all():
    weights = np.linspace(-1, 1, 12).reshape(3, 4)
    assert magnitude_mask(weights, 0).all()
    assert not magnitude_mask(weights, 1).any()
    assert not magnitude_mask(weights, 1.0, magnitude_mask(weights, 0.5)).any()


@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan")])
def test_magnitude_mask_rejects_fraction_outside_unit_interval(fraction):
    with pytest.raises(ValueError, match=r"magnitude_mask expected fraction in \[0, 1\]"):
        magnitude_mask(np.ones(4), fraction)


@pytest.mark.parametrize("fraction", ["0.5", True, None])
def test_magnitude_mask_rejects_non_numeric_fraction(fraction):
    with pytest.raises(TypeError, match="magnitude_mask expected fraction to be a real number"):
        magnitude_mask(np.ones(4), fraction)


def test_magnitude_mask_rejects_bad_weights_and_masks():
    with pytest.raises(TypeError, match=r"magnitude_mask expected mask to be a boolean numpy "
                                        r"array \(True = kept\), got dtype float64"):
        magnitude_mask(np.ones(4), 0.5, np.ones(4))
    with pytest.raises(ValueError, match=r"magnitude_mask expected mask of the weights' shape "
                                         r"\(4,\), got shape \(2, 2\)"):
        magnitude_mask(np.ones(4), 0.5, np.ones((2, 2), dtype=bool))
    with pytest.raises(ValueError, match="magnitude_mask expected finite weights .*got NaN or inf"):
        magnitude_mask(np.array([1.0, np.nan]), 0.5)
    with pytest.raises(TypeError, match="magnitude_mask expected weights to be a numpy array, "
                                        "got list"):
        magnitude_mask([1.0, 2.0], 0.5)
    with pytest.raises(TypeError, match="expected weights to hold real numbers, got dtype <U1"):
        magnitude_mask(np.array(["a"]), 0.5)


# --------------------------------------------------------------------------------------
# Layer-wise and global pruning
# --------------------------------------------------------------------------------------


def test_layerwise_masks_prune_each_array_separately_with_per_key_fractions():
    weights = {"0.W": np.arange(1.0, 21.0).reshape(4, 5), "2.W": np.arange(100.0, 110.0)}
    masks = layerwise_masks(weights, {"0.W": 0.2, "2.W": 0.5})
    assert np.count_nonzero(~masks["0.W"]) == 4
    assert np.count_nonzero(~masks["2.W"]) == 5
    np.testing.assert_array_equal(masks["0.W"].ravel()[:4], False)

    same = layerwise_masks(weights, 0.5)
    assert [int(m.sum()) for m in same.values()] == [10, 5]

    with pytest.raises(ValueError, match="layerwise_masks expected a fraction dict with the keys"):
        layerwise_masks(weights, {"0.W": 0.2})
    with pytest.raises(ValueError, match="layerwise_masks expected masks with the keys of weights"):
        layerwise_masks(weights, 0.2, {"0.W": masks["0.W"]})
    with pytest.raises(TypeError, match="layerwise_masks expected weights to be a non-empty dict"):
        layerwise_masks([weights["0.W"]], 0.2)
    with pytest.raises(ValueError, match="global_masks expected weights .*got an empty dict"):
        global_masks({}, 0.2)


@settings(max_examples=40, deadline=None)
@given(
    a=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=5), elements=finite),
    b=hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4), elements=finite),
    fraction=fractions,
)
def test_global_masks_use_one_threshold_across_arrays(a, b, fraction):
    masks = global_masks({"0.W": a, "3.W": b}, fraction)
    n_pruned = sum(int(np.count_nonzero(~m)) for m in masks.values())
    assert n_pruned == round(fraction * (a.size + b.size))
    pruned = np.concatenate([np.abs(a[~masks["0.W"]]), np.abs(b[~masks["3.W"]])])
    kept = np.concatenate([np.abs(a[masks["0.W"]]), np.abs(b[masks["3.W"]])])
    if pruned.size and kept.size:
        assert pruned.max() <= kept.min()


def test_global_masks_break_ties_by_key_order_then_index_and_respect_old_masks():
    weights = {"0.W": np.ones(3), "2.W": np.ones(3)}
    masks = global_masks(weights, 0.5)
    np.testing.assert_array_equal(masks["0.W"], [False, False, False])
    np.testing.assert_array_equal(masks["2.W"], [True, True, True])

    weights = {"0.W": np.array([1.0, 9.0, 3.0]), "2.W": np.array([2.0, 8.0, 4.0])}
    old = {"0.W": np.array([False, True, True]), "2.W": np.array([True, True, True])}
    new = global_masks(weights, 0.5, old)  # 5 remaining -> round(2.5) = 2 go: 2.0 and 3.0
    np.testing.assert_array_equal(new["0.W"], [False, True, False])
    np.testing.assert_array_equal(new["2.W"], [False, True, True])


# --------------------------------------------------------------------------------------
# Applying, saving, reporting
# --------------------------------------------------------------------------------------


def test_apply_masks_zeroes_in_place_and_leaves_unmasked_keys_alone():
    params = {"0.W": np.arange(1.0, 5.0), "0.b": np.ones(2)}
    apply_masks(params, {"0.W": np.array([True, False, True, False])})
    np.testing.assert_array_equal(params["0.W"], [1.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(params["0.b"], [1.0, 1.0])
    with pytest.raises(ValueError, match="apply_masks expected arrays with every key of masks, "
                                         r"got no \['5.W'\]"):
        apply_masks(params, {"5.W": np.ones(4, dtype=bool)})


def test_sparsity_report_counts_masks_and_weights():
    report = sparsity_report({"0.W": np.array([True, False, True, True]), "2.W": np.zeros(4)})
    table = report.as_dict()
    assert table["0.W"] == {"kept": 3, "total": 4, "remaining": 0.75}
    assert table["2.W"] == {"kept": 0, "total": 4, "remaining": 0.0}
    assert table["total"] == {"kept": 3, "total": 8, "remaining": 0.375}
    text = str(report)
    assert "0.W" in text and "75.00%" in text and "37.50%" in text, text


# --------------------------------------------------------------------------------------
# Models: prunable weights, masked training with momentum, rewinding
# --------------------------------------------------------------------------------------


def test_prunable_weights_are_the_dense_weight_arrays_only():
    model = _mlp([4, 6, 3])
    weights = prunable_weights(model)
    assert list(weights) == ["0.W", "2.W"]
    assert weights["0.W"] is model.layers[0].params["W"]


class _RecordPrunedWeights:
    """Callback checking after every optimizer step that pruned weights are exactly 0."""

    def __init__(self, masks):
        self.masks = masks
        self.worst: list[float] = []

    def on_batch_end(self, trainer):
        params = trainer.model.parameters()
        self.worst.append(max(np.abs(params[k][~m]).max() for k, m in self.masks.items()))


def _train(model, masks, callbacks, epochs=3):
    from week14.optimizers import SGD
    from week14.training import Trainer

    X, y = _blobs()
    optimizer = SGD(0.1, momentum=0.9)
    trainer = Trainer(
        model, optimizer=optimizer, batch_size=8, callbacks=callbacks, seed=0, progress=False
    )
    trainer.fit(X, y, epochs)
    return optimizer


def test_mask_callback_keeps_pruned_weights_exactly_zero_under_momentum():
    model = _mlp([4, 6, 3])
    before = {k: v.copy() for k, v in prunable_weights(model).items()}
    masks = layerwise_masks(prunable_weights(model), 0.5)
    recorder = _RecordPrunedWeights(masks)
    optimizer = _train(model, masks, [MaskCallback(masks), recorder])

    assert len(recorder.worst) == 3 * 8, "expected a check after each of 24 batches"
    assert max(recorder.worst) == 0.0, (
        f"a pruned weight left zero during training: max |w| = {max(recorder.worst)}"
    )
    for key, mask in masks.items():
        w = prunable_weights(model)[key]
        assert not np.array_equal(w[mask], before[key][mask]), f"kept weights of {key} not trained"
        velocity = optimizer.buffers()[key]
        assert np.all(velocity[~mask] == 0), f"momentum of pruned weights of {key} not zeroed"
        assert np.any(velocity[mask] != 0)


def test_without_the_callback_pruned_weights_come_back():
    # The control for the test above: the callback is what keeps them at zero.
    model = _mlp([4, 6, 3])
    masks = layerwise_masks(prunable_weights(model), 0.5)
    apply_masks(model.parameters(), masks)
    recorder = _RecordPrunedWeights(masks)
    _train(model, masks, [recorder], epochs=1)
    assert max(recorder.worst) > 0


def test_pruned_model_survives_save_and_load(tmp_path):
    model = _mlp([4, 6, 3])
    masks = layerwise_masks(prunable_weights(model), 0.6)
    _train(model, masks, [MaskCallback(masks)], epochs=1)
    model.save(tmp_path / "model.npz")

    fresh = _mlp([4, 6, 3], seed=1)
    fresh.load(tmp_path / "model.npz")
    for key, mask in masks.items():
        assert np.all(prunable_weights(fresh)[key][~mask] == 0.0)
        np.testing.assert_array_equal(masks_from_weights(prunable_weights(fresh))[key], mask)
    assert sparsity_report(prunable_weights(fresh)).total.kept == sparsity_report(masks).total.kept


def test_rewind_restores_initial_values_of_survivors_and_zeroes_the_rest():
    model = _mlp([4, 6, 3])
    initial = {k: v.copy() for k, v in model.parameters().items()}
    for value in model.parameters().values():
        value += 1.0  # "training"
    masks = layerwise_masks(prunable_weights(model), 0.5)
    rewind(model, initial, masks)
    params = model.parameters()
    for key, value in params.items():
        expected = initial[key] * masks[key] if key in masks else initial[key]
        np.testing.assert_array_equal(value, expected, err_msg=f"{key} not rewound")
    with pytest.raises(ValueError, match="rewind expected initial with the model's parameter keys"):
        rewind(model, {"0.W": initial["0.W"]}, masks)


def test_iterative_magnitude_pruning_rewinds_to_theta0_and_prunes_the_trained_weights():
    model = _mlp([4, 6, 5, 3])
    theta0 = {k: v.copy() for k, v in model.parameters().items()}
    starts = []

    def fake_train(model, masks):
        # Record the start; then "train": weights become a fixed pattern whose
        # magnitudes rank the weights by flat index (so the masks are predictable).
        starts.append({k: v.copy() for k, v in model.parameters().items()})
        for key, w in prunable_weights(model).items():
            w[...] = np.arange(1.0, w.size + 1).reshape(w.shape) * masks[key]
        return len(starts)

    rounds = iterative_magnitude_pruning(model, fake_train, rounds=3, fraction=0.2)
    assert [r.round for r in rounds] == [0, 1, 2, 3]
    assert [r.outcome for r in rounds] == [1, 2, 3, 4]

    keys = ["0.W", "2.W", "4.W"]
    kept = {key: theta0[key].size for key in keys}
    for r in rounds:
        if r.round > 0:  # 20 % of the remaining per layer, the output layer at 10 %
            for key in keys:
                rate = 0.1 if key == "4.W" else 0.2
                kept[key] -= round(rate * kept[key])
        for key in keys:
            mask = r.masks[key]
            assert int(mask.sum()) == kept[key], f"round {r.round}, {key}"
            # smallest flat indices (smallest trained magnitudes) were pruned first
            assert not mask.ravel()[: mask.size - kept[key]].any()
            np.testing.assert_array_equal(starts[r.round][key], theta0[key] * mask)
        for key in ("0.b", "2.b", "4.b"):
            np.testing.assert_array_equal(starts[r.round][key], theta0[key])
        total = sum(theta0[key].size for key in keys)
        assert r.remaining == pytest.approx(sum(kept.values()) / total)


# --------------------------------------------------------------------------------------
# The lottery-ticket experiment
# --------------------------------------------------------------------------------------


def _tiny_splits():
    X, y = _blobs(n=90)
    return Split(X[:50], y[:50], X[50:70], y[50:70], X[70:], y[70:])


def test_lottery_ticket_returns_well_formed_records_and_nested_masks():
    result = lottery_ticket(
        _tiny_splits(), hidden=(8,), rounds=2, seeds=(0, 1), epochs=3, batch_size=10
    )
    assert isinstance(result, LotteryResult)
    assert len(result.records) == 2 * 3 * 2  # seeds x (dense + 2 rounds) x kinds
    assert result.kinds == ("ticket", "control")
    for rec in result.records:
        assert 0.0 <= rec.test_accuracy <= 1.0 and 0.0 <= rec.val_accuracy <= 1.0
        assert 1 <= rec.best_epoch <= 3
        masks = result.masks[(rec.seed, rec.round)]
        assert rec.remaining == sparsity_report(masks).total.remaining
    for seed in (0, 1):
        for r in (1, 2):
            for key, mask in result.masks[(seed, r)].items():
                assert not np.any(mask & ~result.masks[(seed, r - 1)][key])
        # dense: 4*8 + 8*3 = 56 weights; round 1: 32 -> 26, 24 -> 22 (output at 10 %)
        assert sparsity_report(result.masks[(seed, 1)]).total.kept == 26 + 22

    rows = result.summary()
    assert [row["round"] for row in rows] == [0, 1, 2]
    assert rows[0]["remaining"] == 1.0 and rows[2]["remaining"] < rows[1]["remaining"] < 1.0
    table = result.to_table()
    assert "ticket acc %" in table and "control acc %" in table and "2 seed(s)" in table


def test_lottery_ticket_is_reproducible_and_the_control_uses_other_weights():
    kwargs = dict(hidden=(8,), rounds=1, seeds=(3,), epochs=2, batch_size=10)
    first = lottery_ticket(_tiny_splits(), **kwargs)
    second = lottery_ticket(_tiny_splits(), **kwargs)
    assert first.records == second.records
    without_control = lottery_ticket(_tiny_splits(), control=False, **kwargs)
    assert without_control.kinds == ("ticket",)
    assert [r for r in first.records if r.kind == "ticket"] == list(without_control.records)


def test_plot_lottery_uses_a_reversed_log_axis():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = lottery_ticket(_tiny_splits(), hidden=(8,), rounds=2, epochs=2, batch_size=10)
    ax = plot_lottery(result)
    try:
        assert ax.get_xscale() == "log"
        left, right = ax.get_xlim()
        assert left > right, "sparsity should grow to the right"
        labels = [line.get_label() for line in ax.get_lines()]
        assert any("ticket" in label for label in labels)
        assert any("re-initialisation" in label for label in labels)
    finally:
        plt.close(ax.figure)


def test_digits_splits_carve_validation_from_training_and_keep_test_apart():
    data = digits_splits()
    sizes = [len(data.y_train), len(data.y_val), len(data.y_test)]
    assert sizes == [1077, 270, 450], sizes
    assert data.X_train.shape[1] == 64 and 0.0 <= data.X_train.min() <= data.X_train.max() <= 1.0
    rows = [{row.tobytes() for row in X} for X in (data.X_train, data.X_val, data.X_test)]
    overlap = len(rows[0] & rows[2]) + len(rows[1] & rows[2]) + len(rows[0] & rows[1])
    assert overlap == 0, f"{overlap} images appear in two of train / validation / test"
    for y in (data.y_train, data.y_val, data.y_test):
        assert set(np.unique(y)) == set(range(10))
    X_train, X_val, X_test, y_train, y_val, y_test = data  # scikit-learn's order: X, then y
    assert X_val is data.X_val and y_test is data.y_test


def test_lottery_ticket_needs_validation_and_test_parts():
    X, y = _blobs(n=90)
    with pytest.raises(ValueError, match="validation and test parts"):
        lottery_ticket(Split(X, y, X_test=X, y_test=y), rounds=0, epochs=1)
    with pytest.raises(TypeError, match="week14.data.Split, got tuple"):
        lottery_ticket(tuple(_tiny_splits()), rounds=0, epochs=1)  # type: ignore[arg-type]


def test_mask_callback_and_pruning_rounds_reject_bad_arguments():
    with pytest.raises(TypeError, match=r"MaskCallback expected masks\['0.W'\] to be a boolean"):
        MaskCallback({"0.W": np.ones((4, 6))})
    model = _mlp([4, 6, 3])
    with pytest.raises(ValueError, match="iterative_magnitude_pruning expected rounds >= 0"):
        iterative_magnitude_pruning(model, lambda m, masks: None, rounds=-1)
    with pytest.raises(TypeError, match="expected rounds to be an int, got float 2.0"):
        iterative_magnitude_pruning(model, lambda m, masks: None, rounds=2.0)
    with pytest.raises(ValueError, match=r"expected output_fraction in \[0, 1\], got 2.0"):
        iterative_magnitude_pruning(model, lambda m, masks: None, rounds=1, output_fraction=2)
