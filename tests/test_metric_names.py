import pytest

from pytest_specweave.model.metric_names import canonical, direction, is_percent_like, same_metric


@pytest.mark.parametrize(
    "written, expected",
    [
        ("Precision@10", "precision@10"),
        ("precision_at_10", "precision@10"),
        ("Precision-At-10", "precision@10"),
        ("precision at 10", "precision@10"),
        ("precision@k", "precision@k"),
        ("NDCG@5", "ndcg@5"),
        ("MAP@10", "map@10"),
        ("map_at_10", "map@10"),
        ("mean average precision @ 10", "map@10"),
        ("hits@10", "hit_rate@10"),
        ("AUC", "roc_auc"),
        ("ROC AUC", "roc_auc"),
        ("AUROC", "roc_auc"),
        ("roc-auc", "roc_auc"),
        ("PR AUC", "pr_auc"),
        ("AUPRC", "pr_auc"),
        ("average precision", "pr_auc"),
        ("R²", "r2"),
        ("R^2", "r2"),
        ("r-squared", "r2"),
        ("F1 score", "f1"),
        ("f1-score", "f1"),
        ("log loss", "log_loss"),
        ("logloss", "log_loss"),
        ("cross entropy", "log_loss"),
        ("mean squared error", "mse"),
        ("latency", "latency_p95_ms"),
        ("Latency", "latency_p95_ms"),
        ("inference latency", "latency_p95_ms"),
        ("p50 latency", "latency_p50_ms"),
        ("latency p50", "latency_p50_ms"),
        ("median latency", "latency_p50_ms"),
        ("p99 latency", "latency_p99_ms"),
        ("latency_p95_ms", "latency_p95_ms"),
        ("latency p95 seconds", "latency_p95_s"),
        ("serving latency p99 ms", "latency_p99_ms"),
        # a qualified latency is another metric: explaining a prediction is not serving it
        ("explain_latency_p95_ms", "explain_latency_p95_ms"),
        ("training latency", "training_latency_p95_ms"),
        ("throughput", "throughput_rps"),
        ("Throughput", "throughput_rps"),
        ("rps", "throughput_rps"),
        ("qps", "throughput_rps"),
        ("requests per second", "throughput_rps"),
        ("cv_std", "cv_std"),
        ("my_custom_metric", "my_custom_metric"),
        ("My Custom-Metric", "my_custom_metric"),
        ("**Precision@10**", "precision@10"),
        ("`cv_std`", "cv_std"),
        ("cv_std.", "cv_std"),
        ("Accuracy:", "accuracy"),
    ],
)
def test_canonical(written, expected):
    assert canonical(written) == expected


def test_same_metric_ignores_case_separators_and_at_k_spelling():
    assert same_metric("Precision@10", "precision_at_10")
    assert same_metric("AUC", "roc_auc")
    assert not same_metric("precision@10", "precision@5")
    assert not same_metric("precision", "recall")


@pytest.mark.parametrize(
    "name",
    [
        "accuracy", "balanced_accuracy", "precision", "recall", "f1", "f2", "fbeta", "roc_auc", "AUC", "pr_auc",
        "average_precision", "ndcg@10", "map@10", "mrr", "hit_rate@10", "coverage", "Precision@10", "recall_at_5",
        "r2", "explained_variance", "throughput", "throughput_rps", "f1_macro", "true_positive_rate",
    ],
)
def test_higher_is_better(name):
    assert direction(name) == "higher"


@pytest.mark.parametrize(
    "name",
    [
        "rmse", "mse", "mae", "mape", "smape", "mase", "wape", "log_loss", "loss", "val_loss", "train_loss",
        "brier", "error", "error_rate", "latency", "latency_p95_ms", "p99 latency", "inference_ms",
        "training_seconds", "training_time", "model_size", "model_size_mb", "size_bytes", "cv_std",
        "precision_std", "false_positive_rate", "fpr",
    ],
)
def test_lower_is_better(name):
    assert direction(name) == "lower"


def test_unknown_direction_is_none():
    assert direction("my_custom_metric") is None
    assert direction("") is None


def test_declared_direction_wins_and_its_keys_are_canonicalised():
    declared = {"My Custom-Metric": "higher", "Accuracy": "lower"}
    assert direction("my_custom_metric", declared) == "higher"
    assert direction("accuracy", declared) == "lower"
    assert direction("rmse", declared) == "lower"


@pytest.mark.parametrize(
    "name",
    [
        "accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "mape", "smape", "wape", "coverage",
        "hit_rate@10", "error_rate", "fpr", "precision@10", "Recall_at_5",
    ],
)
def test_percent_like(name):
    assert is_percent_like(name)


@pytest.mark.parametrize(
    "name", ["rmse", "mae", "latency", "latency_p95_ms", "throughput", "r2", "count", "ndcg@10", "cv_std", "foo"]
)
def test_not_percent_like(name):
    assert not is_percent_like(name)


def test_rows_per_second_throughput_stays_apart_from_requests_per_second():
    assert canonical("throughput_rows_per_s") == "throughput_rows_per_s"
    assert canonical("Throughput") == "throughput_rps"


def test_catalogue_coverage_is_coverage():
    assert canonical("Catalogue coverage@10") == "coverage@10"
    assert canonical("catalog coverage") == "coverage"


@pytest.mark.parametrize("name", ["model_size_bytes", "Model size (MB)", "model_size_kb", "n_parameters",
                                  "n_trainable_parameters"])
def test_built_in_sizes_and_parameter_counts_are_exact(name):
    from pytest_specweave.model.metric_names import is_exact

    assert is_exact(name)


@pytest.mark.parametrize("name", ["latency_p95_ms", "accuracy", "batch_size", "training_time_s", "throughput"])
def test_measured_metrics_are_not_exact(name):
    from pytest_specweave.model.metric_names import is_exact

    assert not is_exact(name)
