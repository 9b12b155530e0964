"""roc_auc and pr_auc intervals over clusters (groups=): exact per resample, wider than rows when clusters move together."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from pytest_specweave import bootstrap_ci
from pytest_specweave.evaluation.evidence import ranked_slots


@pytest.mark.parametrize("kind, reference", [("pr_auc", average_precision_score), ("roc_auc", roc_auc_score)])
def test_the_slot_counts_give_the_metric_of_any_weighting_of_the_rows(kind, reference):
    rng = np.random.default_rng(3)
    y = rng.random(400) < 0.2
    scores = np.round(rng.random(400) + 0.5 * y, 2)  # ties, within and across the classes
    key, n_slots, statistic = ranked_slots(kind, y, scores)
    for _ in range(5):
        weights = rng.integers(0, 4, 400).astype(float)  # a resample: how often each row is drawn
        counts = np.bincount(key, weights=weights, minlength=2 * n_slots)
        expected = reference(y, scores, sample_weight=weights)
        assert statistic(counts[None, :])[0] == pytest.approx(expected, abs=1e-12)


def _cards(n_cards=300, per_card=20, seed=5):
    """Cards whose transactions share their fate: a fraudulent card's frauds are all well scored, or all badly."""
    rng = np.random.default_rng(seed)
    card = np.repeat(np.arange(n_cards), per_card)
    fraud_card = rng.random(n_cards) < 0.1
    caught = rng.random(n_cards) < 0.6
    y = fraud_card[card] & (rng.random(len(card)) < 0.5)
    scores = rng.random(len(card)) * 0.6 + np.where(y & caught[card], 0.4, 0.0)
    return y.astype(int), scores, card


@pytest.mark.parametrize("metric", ["pr_auc", "roc_auc"])
def test_resampling_cards_widens_the_interval_when_a_card_s_frauds_move_together(metric):
    y, scores, card = _cards()
    by_rows = bootstrap_ci(metric, y, y_score=scores)
    by_cards = bootstrap_ci(metric, y, y_score=scores, groups=card)
    assert by_cards.value == pytest.approx(by_rows.value)
    assert by_cards.low < by_cards.value < by_cards.high
    assert (by_cards.high - by_cards.low) > 1.5 * (by_rows.high - by_rows.low)
    again = bootstrap_ci(metric, y, y_score=scores, groups=card)
    assert (again.low, again.high) == (by_cards.low, by_cards.high)


def test_independent_singleton_clusters_give_about_the_row_interval():
    rng = np.random.default_rng(11)
    y = (rng.random(1500) < 0.3).astype(int)
    scores = rng.random(1500) + 0.6 * y
    by_rows = bootstrap_ci("pr_auc", y, y_score=scores)
    by_clusters = bootstrap_ci("pr_auc", y, y_score=scores, groups=np.arange(1500))
    width = by_rows.high - by_rows.low
    assert abs(by_clusters.low - by_rows.low) < 0.2 * width and abs(by_clusters.high - by_rows.high) < 0.2 * width


def test_a_time_series_block_interval_of_a_ranked_metric_is_still_refused():
    y, scores, _ = _cards()
    with pytest.raises(ValueError, match="blocks"):
        bootstrap_ci("pr_auc", y, y_score=scores, block_length=10)
