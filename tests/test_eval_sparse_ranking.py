"""Ranking evaluation over a sparse user x item matrix: per-user values, batches, baselines, evidence paired by user."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from pytest_specweave import evaluate_sparse_ranking, top_k_unseen, track_experiment
from pytest_specweave.evaluation import evidence
from pytest_specweave.evaluation.baselines import random_expectation
from pytest_specweave.evaluation.ranking import ranking_metrics, top_k_items
from pytest_specweave.tracking.store import ExperimentStore

# 4 users x 6 items. User 2 has no held-out item (left out of every mean).
SCORES = np.array([
    [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
    [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
    [0.6, 0.1, 0.9, 0.2, 0.8, 0.3],
])
SEEN = sp.csr_matrix(np.array([
    [1, 0, 0, 0, 0, 0],  # user 0 already has item 0: its list is 1, 2, 3
    [0, 0, 0, 0, 0, 1],  # user 1: 4, 3, 2
    [0, 0, 0, 0, 0, 0],
    [0, 0, 1, 0, 0, 0],  # user 3: 4, 0, 5
]))
HELD_OUT = sp.csr_matrix(np.array([
    [0, 1, 0, 1, 0, 0],  # items 1 and 3: hits at ranks 1 and 3
    [1, 0, 0, 0, 0, 0],  # item 0: no hit
    [0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 1, 0],  # item 4: hit at rank 1
]))


def test_top_k_unseen_never_returns_a_seen_item_and_orders_best_first():
    assert top_k_unseen(SCORES, SEEN, 3).tolist() == [[1, 2, 3], [4, 3, 2], [0, 1, 2], [4, 0, 5]]
    assert top_k_unseen(SCORES, None, 2)[0].tolist() == [0, 1]


def test_values_computed_by_hand():
    result = evaluate_sparse_ranking(SCORES, HELD_OUT, k=3, exclude=SEEN, metrics=("precision", "recall", "hit_rate",
                                                                                      "ndcg", "map"))
    d = 1.0 / np.log2(np.arange(2, 5))  # discounts of ranks 1..3
    assert result.users.tolist() == [0, 1, 3]
    assert result.per_user["precision@3"].tolist() == pytest.approx([2 / 3, 0.0, 1 / 3])
    assert result.per_user["recall@3"].tolist() == pytest.approx([1.0, 0.0, 1.0])
    assert result.per_user["hit_rate@3"].tolist() == [1.0, 0.0, 1.0]
    assert result.per_user["ndcg@3"].tolist() == pytest.approx([(d[0] + d[2]) / (d[0] + d[1]), 0.0, 1.0])
    assert result.per_user["map@3"].tolist() == pytest.approx([(1 + 2 / 3) / 2, 0.0, 1.0])
    assert result.metrics["precision@3"] == pytest.approx((2 / 3 + 1 / 3) / 3)


def test_same_metrics_as_ranking_py_on_lists():
    rng = np.random.default_rng(3)
    scores = rng.random((40, 25))
    seen = sp.csr_matrix(rng.random((40, 25)) < 0.2)
    held = sp.csr_matrix((rng.random((40, 25)) < 0.15) & ~seen.toarray())
    lists = top_k_items(scores, 5, exclude=[np.flatnonzero(r) for r in seen.toarray()])
    expected = ranking_metrics([np.flatnonzero(r).tolist() for r in held.toarray()], lists, k=5)
    result = evaluate_sparse_ranking(scores, held, k=5, exclude=seen, metrics=("precision", "recall", "hit_rate",
                                                                                 "ndcg", "map"))
    for name, value in result.metrics.items():
        assert value == pytest.approx(expected[name]), name


def test_scored_in_batches_of_evaluated_users_only():
    asked = []

    def scores(rows):
        asked.append(rows.copy())
        return SCORES[rows]

    batched = evaluate_sparse_ranking(scores, HELD_OUT, k=3, exclude=SEEN, batch_size=2)
    whole = evaluate_sparse_ranking(SCORES, HELD_OUT, k=3, exclude=SEEN)
    assert [a.tolist() for a in asked] == [[0, 1], [3]]  # user 2 has nothing held out: never scored
    assert batched.metrics == whole.metrics


def test_a_vector_ranks_every_user_alike_and_sparse_scores_work():
    popularity = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    by_vector = evaluate_sparse_ranking(popularity, HELD_OUT, k=2, exclude=SEEN)
    by_matrix = evaluate_sparse_ranking(sp.csr_matrix(np.tile(popularity, (4, 1))), HELD_OUT, k=2, exclude=SEEN)
    assert by_vector.metrics == by_matrix.metrics
    # user 0 gets 1, 2 (hit on 1); user 1 gets 0, 1 (hit on 0); user 3 gets 0, 1 (no hit)
    assert by_vector.per_user["precision@2"].tolist() == [0.5, 0.5, 0.0]


def test_random_is_the_exact_expectation():
    result = evaluate_sparse_ranking("random", HELD_OUT, k=3, exclude=SEEN, metrics=("precision", "recall",
                                                                                      "hit_rate", "ndcg"))
    # user 0: 5 unseen items, 2 of them held out -> precision 2/5, recall 3 * 2 / 5 / 2
    assert result.per_user["precision@3"].tolist() == pytest.approx([2 / 5, 1 / 5, 1 / 5])
    assert result.per_user["recall@3"][0] == pytest.approx(3 / 5)
    assert result.per_user["hit_rate@3"][0] == pytest.approx(1 - math.comb(3, 3) / math.comb(5, 3))
    expected = random_expectation([[1, 3], [0], [], [4]], range(6), 3, [{0}, {5}, set(), {2}])
    assert result.per_user["ndcg@3"].tolist() == pytest.approx(expected["ndcg@3"][0].tolist())
    assert result.users.tolist() == [0, 1, 3]
    with pytest.raises(ValueError, match="exact expectation is known for"):
        evaluate_sparse_ranking("random", HELD_OUT, k=3, metrics=("map",))


def test_logged_with_evidence_by_user_id_and_paired_with_a_baseline(tmp_path):
    inc = tmp_path / "increments" / "0001-rec"
    inc.mkdir(parents=True)
    (inc / "spec.md").write_text("# r\n")
    ids = np.array([101, 102, 103, 104])
    with track_experiment("model", increment=inc) as exp:
        model = evaluate_sparse_ranking(SCORES, HELD_OUT, k=3, exclude=SEEN, users=ids, experiment=exp)
    with track_experiment("baseline-random", baseline=True, increment=inc) as exp:
        rand = evaluate_sparse_ranking("random", HELD_OUT, k=3, exclude=SEEN, users=ids, experiment=exp)
    records = {r.name: r for r in ExperimentStore(inc).records()}
    assert records["model"].metrics["precision@3"].value == pytest.approx(model.metrics["precision@3"])
    ours = evidence.load(records["model"], "precision@3")
    theirs = evidence.load(records["baseline-random"], "precision@3")
    assert ours.units.tolist() == [101, 102, 104] and ours.unit == "users"
    estimate, _ = evidence.paired(ours, theirs, 0.95)
    assert estimate.value == pytest.approx(model.metrics["precision@3"] / rand.metrics["precision@3"])
    targets = [[i["sha256"] for i in r.meta["inputs"] if i["role"] == "eval_targets"] for r in records.values()]
    assert targets[0] == targets[1] and len(targets[0]) == 1  # the same held-out data: one ledger entry each


def test_only_entries_above_zero_are_relevant_and_the_callers_matrix_is_left_alone():
    # user 2: item 1 stored as an explicit 0 (nothing held out); user 3: item 1 stored as -1 (not relevant)
    held = sp.csr_matrix((np.array([1.0, 1.0, 1.0, 0.0, -1.0, 1.0]), np.array([1, 3, 0, 1, 1, 4]),
                          np.array([0, 2, 3, 4, 6])), shape=(4, 6))
    assert held.nnz == 6
    before = held.copy()
    result = evaluate_sparse_ranking(SCORES, held, k=3, exclude=SEEN)
    assert result.users.tolist() == [0, 1, 3]
    assert result.per_user["recall@3"].tolist() == pytest.approx([1.0, 0.0, 1.0])
    assert (held != before).nnz == 0 and held.nnz == before.nnz


def test_prefix_names_the_metrics():
    result = evaluate_sparse_ranking(SCORES, HELD_OUT, k=3, exclude=SEEN, prefix="val_")
    assert sorted(result.metrics) == ["val_ndcg@3", "val_precision@3", "val_recall@3"]


@pytest.mark.parametrize("call, message", [
    (lambda: evaluate_sparse_ranking(SCORES, HELD_OUT, exclude=SEEN[:, :5], k=3), "exclude has shape"),
    (lambda: evaluate_sparse_ranking(SCORES[:, :5], HELD_OUT, k=3), "scores must be a function"),
    (lambda: evaluate_sparse_ranking(lambda rows: SCORES[rows, :5], HELD_OUT, k=3), r"returned shape \(3, 5\)"),
    (lambda: evaluate_sparse_ranking(SCORES, HELD_OUT, k=3, metrics=("auc",)), "unknown ranking metric auc"),
    (lambda: evaluate_sparse_ranking(SCORES, HELD_OUT, k=9), "k must be between 1 and n_items = 6"),
    (lambda: evaluate_sparse_ranking(SCORES, HELD_OUT, k=3, users=[1, 2]), "one id per row"),
    (lambda: evaluate_sparse_ranking(SCORES, sp.csr_matrix((4, 6)), k=3), "no user has a relevant item"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
