"""Ranking metrics: worked by hand, against scikit-learn's ndcg_score, and their bad-input messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from pytest_specweave.evaluation import ranking as R
from pytest_specweave.evaluation.metrics import compute_metrics

RELEVANT = [{1, 2}, {3}, set(), [5]]
RECOMMENDED = [[1, 9, 2], [4, 3, 0], [1, 2, 3], [7, 8, 5]]


def test_by_hand():
    # user 0 hits at ranks 1 and 3; user 1 at rank 2; user 2 has nothing to find (left out); user 3 at rank 3
    got = compute_metrics("ranking", RELEVANT, RECOMMENDED, k=[1, 3], catalogue=10)
    assert got["precision@3"] == pytest.approx((2 / 3 + 1 / 3 + 1 / 3) / 3)
    assert got["recall@3"] == pytest.approx(1.0)
    assert got["precision@1"] == pytest.approx(1 / 3) and got["recall@1"] == pytest.approx(1 / 6)
    ndcg0 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert got["ndcg@3"] == pytest.approx((ndcg0 + 1 / math.log2(3) + 1 / math.log2(4)) / 3)
    assert got["map@3"] == pytest.approx(((1 + 2 / 3) / 2 + 1 / 2 + 1 / 3) / 3)
    assert got["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert got["coverage@3"] == pytest.approx(9 / 10)  # 1, 9, 2, 4, 3, 0, 7, 8, 5
    assert R.catalogue_coverage(RECOMMENDED, range(5), k=2) == pytest.approx(4 / 5)  # 1, 2, 3, 4 of 0..4


def test_string_ids_and_ragged_lists():
    relevant = [{"a"}, {"b", "c"}]
    recommended = [["a", "x"], ["c", "y", "b"]]
    lists = R.RankedLists(relevant, recommended)
    assert lists.metric("precision", 2) == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert lists.metric("recall", 3) == pytest.approx(1.0)


def test_ndcg_matches_scikit_learn_with_graded_relevance():
    rng = np.random.default_rng(7)
    n_users, n_items, k = 40, 30, 10
    gains = rng.integers(0, 4, (n_users, n_items)).astype(float)
    gains[gains < 2] = 0
    scores = rng.random((n_users, n_items))
    keep = gains.sum(axis=1) > 0
    gains, scores = gains[keep], scores[keep]
    relevant = [{j: g for j, g in enumerate(row) if g > 0} for row in gains]
    top = R.top_k_items(scores, k)
    assert R.ndcg_at_k(relevant, top, k) == pytest.approx(ndcg_score(gains, scores, k=k))


def test_precision_recall_map_against_a_plain_loop():
    rng = np.random.default_rng(2)
    relevant = [set(rng.choice(50, rng.integers(1, 8), replace=False).tolist()) for _ in range(100)]
    recommended = np.array([rng.choice(50, 10, replace=False) for _ in range(100)])
    k = 5
    p = np.mean([len(set(r[:k]) & rel) / k for r, rel in zip(recommended, relevant)])
    rc = np.mean([len(set(r[:k]) & rel) / len(rel) for r, rel in zip(recommended, relevant)])

    def ap(r, rel):
        hits, total = 0, 0.0
        for i, item in enumerate(r[:k]):
            if item in rel:
                hits += 1
                total += hits / (i + 1)
        return total / min(len(rel), k)

    got = R.ranking_metrics(relevant, recommended, k=k)
    assert got["precision@5"] == pytest.approx(p)
    assert got["recall@5"] == pytest.approx(rc)
    assert got["map@5"] == pytest.approx(np.mean([ap(r, rel) for r, rel in zip(recommended, relevant)]))


def test_top_k_items_skips_excluded():
    scores = np.array([[0.1, 0.5, 0.3], [0.9, 0.2, 0.4]])
    assert R.top_k_items(scores, 2, exclude=[[1], []]).tolist() == [[2, 0], [0, 2]]
    assert R.top_k_items(scores, 1, items=["a", "b", "c"]).tolist() == [["b"], ["a"]]


@pytest.mark.parametrize(
    "bad, message",
    [
        ([1, 2, 3], r"shape \(n_users, k\).*flat sequence of 3 items \(shape \(3,\)\)"),
        (np.arange(12), r"shape \(n_users, k\).*got an array of shape \(12,\)"),
        (np.zeros((4, 3, 2), dtype=int), r"shape \(n_users, k\).*got an array of shape \(4, 3, 2\)"),
        (np.random.default_rng(0).random((4, 3)), r"holds\s+scores, not item ids: .*top_k_items"),
        ([[1, 2]] * 3, r"expected \(4, k\), got 3 rows"),
    ],
)
def test_wrong_shapes_name_the_expected_shape(bad, message):
    with pytest.raises(ValueError, match=message):
        compute_metrics("ranking", RELEVANT, bad, k=2)


def test_too_short_lists_duplicates_and_flat_relevance():
    with pytest.raises(ValueError, match=r"shape \(n_users, >= k\) with k = 5.*got shape \(4, 3\)"):
        R.precision_at_k(RELEVANT, RECOMMENDED, k=5)
    with pytest.raises(ValueError, match="user 1 repeats an item"):
        R.precision_at_k([{1}, {2}], [[1, 2], [2, 2]], k=2)
    with pytest.raises(ValueError, match="one collection per user"):
        R.precision_at_k([1, 2, 3], [[1], [2], [3]], k=1)
    with pytest.raises(ValueError, match="no user has a relevant item"):
        R.precision_at_k([set(), set()], [[1], [2]], k=1)


def test_hit_rate_by_hand_through_every_path(tmp_path):
    from pytest_specweave.evaluation.metrics import metric_value, row_decomposition
    from pytest_specweave.evaluation.validation import bootstrap_ci
    from pytest_specweave.model import metric_names
    from pytest_specweave.model.thresholds import parse_threshold

    # top-1: user 0 hits (1), user 1 misses (4), user 3 misses (7); user 2 has nothing to find (left out)
    # top-3: users 0, 1 and 3 all hit
    got = compute_metrics("ranking", RELEVANT, RECOMMENDED, k=[1, 3])
    assert got["hit_rate@1"] == pytest.approx(1 / 3)
    assert got["hit_rate@3"] == pytest.approx(1.0)
    lists = R.RankedLists(RELEVANT, RECOMMENDED)
    assert lists.per_user("hit_rate", 1).tolist() == [1.0, 0.0, 0.0]
    assert R.hit_rate_at_k(RELEVANT, RECOMMENDED, k=2) == pytest.approx(2 / 3)  # user 1 hits 3 at rank 2
    for spelling in ("hit_rate@2", "HR@2", "hit rate@2", "HitRate@2"):
        assert metric_value(spelling, RELEVANT, RECOMMENDED) == pytest.approx(2 / 3)
    decomposition = row_decomposition("hit_rate@2", RELEVANT, RECOMMENDED)
    assert decomposition.columns[:, 0].tolist() == [1.0, 1.0, 0.0] and decomposition.value() == pytest.approx(2 / 3)
    result = bootstrap_ci("HR@2", RELEVANT, RECOMMENDED, n_resamples=200)
    assert result.value == pytest.approx(2 / 3) and result.method.startswith("exact (Clopper-Pearson)")
    assert 0.0 <= result.low <= result.value <= result.high <= 1.0
    threshold = parse_threshold("hit_rate@10 > 0.5")
    assert metric_names.canonical(threshold.metric) == "hit_rate@10"
    assert metric_names.direction("HR@10") == "higher" and metric_names.is_percent_like("hit rate@10")


def test_hit_rate_matches_a_plain_loop():
    rng = np.random.default_rng(3)
    relevant = [set(rng.choice(50, size=rng.integers(0, 4), replace=False).tolist()) for _ in range(200)]
    recommended = [rng.permutation(50)[:10].tolist() for _ in range(200)]
    judged = [(rel, rec) for rel, rec in zip(relevant, recommended) if rel]
    for k in (1, 5, 10):
        expected = sum(bool(rel & set(rec[:k])) for rel, rec in judged) / len(judged)
        assert R.RankedLists(relevant, recommended).metric("hit_rate", k) == pytest.approx(expected)
