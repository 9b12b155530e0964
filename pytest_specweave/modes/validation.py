"""The rules of `--sw-validate`: is the increment's ML work on record, complete and reproducible?

Each rule is a function (increment, judgement) -> RuleResult, where `increment` is the markdown
model (model.increment.Increment) and `judgement` the increment judged against its store
(evaluation.judgement.IncrementJudgement: its JudgeContext and each verdict, judged once). A
result with problems fails; its message is one line naming what is missing. Plain Python: the
pytest layer makes one item of each rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import SpecweaveError
from ..evaluation.judge import PASSED


@dataclass
class RuleResult:
    problems: list[str] = field(default_factory=list)  # each names what is missing; empty: the rule holds
    summary: str = ""  # what was found, when the rule holds

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def message(self) -> str:
        return "; ".join(self.problems) if self.problems else self.summary


def _listed(names: list[str], most: int = 4) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def experiments_logged(increment, judgement) -> RuleResult:
    """At least one baseline and one candidate experiment succeeded and logged the primary metric."""
    context = judgement.context
    metric = context.primary_metric
    if metric is None:
        return RuleResult(["no primary metric: name one in spec.md (frontmatter `primary_metric:`, or a success metric)"])
    problems = []
    baselines = [r for r in context.records if r.baseline]
    logged = [r for r in context.baselines if r.metric(metric) is not None]
    if not baselines:
        problems.append("no baseline experiment: name one `baseline-…` or track it with baseline=True")
    elif not logged:
        seen = _listed([f"{r.folder} [{r.status}]" for r in baselines])
        problems.append(f"no baseline experiment succeeded and logged {metric} (baselines: {seen})")
    candidates = [r for r in context.candidates if r.metric(metric) is not None]
    if not candidates:
        problems.append(f"no candidate experiment: track the model's run (not a baseline) and log {metric}")
    if problems:
        return RuleResult(problems)
    return RuleResult(summary=f"baselines: {_listed([r.folder for r in logged])}; "
                              f"candidates: {_listed([r.folder for r in candidates])} (by {metric})")


def best_model_loadable(increment, judgement) -> RuleResult:
    """The judged experiment's model is promoted to models/model-vN.pkl, and the latest version loads."""
    from ..evaluation.promotion import promote_judged_model
    from ..tracking.models import PromotionError, load_model, model_of, model_versions

    judged = judgement.judged
    if judged is None:
        return RuleResult([f"no best model: no succeeded candidate experiment logged the primary metric "
                           f"{judgement.primary_metric or '(none named)'}"])
    if model_of(judged) is None:
        return RuleResult([f"the best experiment {judged.folder} saved no model: save it with "
                           "exp.log_model(model) or exp.save_artifact(model, 'model.pkl')"])
    try:
        promote_judged_model(judgement)  # writes a version only when the model changed
    except PromotionError:
        pass  # the local version stands; only a mirror (MLflow) failed, and the session reports it
    except (SpecweaveError, OSError) as error:
        return RuleResult([f"the model of {judged.folder} could not be saved to models/: {error}"])
    versions = model_versions(increment.path)
    if not versions:
        return RuleResult([f"no saved model: models/ holds no model-vN.metadata.json (best experiment {judged.folder})"])
    latest = f"models/model-v{versions[-1]}.pkl"
    try:
        model = load_model(increment.path)
    except SpecweaveError as error:
        return RuleResult([f"{latest} cannot be loaded: {error}"])
    except Exception as error:  # noqa: BLE001 - whatever unpickling raised is the answer
        return RuleResult([f"{latest} cannot be loaded: {type(error).__name__}: {error}"])
    return RuleResult(summary=f"{latest} ({type(model).__name__}, the model of {judged.folder}) loads")


def metrics_documented(increment, judgement) -> RuleResult:
    """Every success metric of spec.md has a measured value in the store (pass or fail is its own item)."""
    spec = increment.spec
    if spec is None:
        return RuleResult(["no spec.md: its success metrics say what the model must achieve"])
    if not spec.metrics:
        return RuleResult(["spec.md names no success metric (a `Success metrics:` line, or a Success Metrics "
                           "or Model Requirements section)"])
    missing, measured = [], []
    for metric in spec.metrics:
        where = f"{metric.id} (spec.md:{metric.line})"
        if metric.error is not None or metric.threshold is None:
            reason = metric.error.message if metric.error is not None else "not a threshold"
            missing.append(f"{where} cannot be read: {reason}")
            continue
        try:
            verdict = judgement.verdict(metric)
        except Exception as error:  # noqa: BLE001 - one metric must not hide the others
            missing.append(f"{where}: cannot be judged ({type(error).__name__}: {error})")
            continue
        if metric.threshold.kind in ("explainability", "artifact", "drift"):
            documented = verdict.outcome == PASSED
        else:
            documented = verdict.value is not None
        if documented:
            measured.append(f"{metric.id} {verdict.metric or metric.threshold.describe()}")
        else:
            missing.append(f"{metric.id} {metric.threshold.describe()} has no measured value: {verdict.message}")
    if missing:
        return RuleResult(missing)
    return RuleResult(summary=f"every success metric has a measured value: {_listed(measured, 6)}")


def explainability_present(increment, judgement) -> RuleResult:
    """The judged experiment has explanation artifacts (SHAP values, importances, example explanations)."""
    verdict = judgement.explainability
    if verdict.outcome == PASSED:
        return RuleResult(summary=verdict.message)
    return RuleResult([verdict.message])


def data_matches_schema(increment, judgement) -> RuleResult:
    """The increment's data files match data/schema.yaml (pandera), data/sample.csv among them."""
    from .data_schema import check_data

    return check_data(increment.path)


def model_card_current(increment, judgement) -> RuleResult:
    """The promoted model of the judged experiment has its card (models/model-vN.card.md), as the store says it.

    A missing or out-of-date card is (re)written, as the promotion writes a missing version; a card
    edited by hand fails: it would say what the store does not.
    """
    from ..reports.model_card import card_path, edited_by_hand, judged_version, write_model_card
    from ..reports.summary import SummaryData

    data = SummaryData(increment, judgement)
    ours = judged_version(data)
    if ours is None:
        judged = judgement.judged
        return RuleResult([f"no model card: the judged experiment {judged.folder if judged else '(none)'} has no "
                           "promoted model (validate-best-model promotes it)"])
    path = card_path(increment.path, ours[0])
    shown = f"models/{path.name}"
    existed = path.is_file()
    if existed and edited_by_hand(path):
        return RuleResult([f"{shown} was edited by hand: it no longer says what the store holds (edit spec.md, "
                           "not the card; delete the card and it is written again)"])
    before = path.read_bytes() if existed else None
    try:
        write_model_card(data)
    except (SpecweaveError, OSError) as error:
        return RuleResult([f"{shown} could not be written: {error}"])
    state = "written" if before is None else "current" if path.read_bytes() == before else "rewritten from the store"
    return RuleResult(summary=f"{shown} ({state}) for model v{ours[0]} of {ours[1].get('source_experiment')}")


RULES: dict[str, Callable] = {
    "validate-experiments": experiments_logged,
    "validate-best-model": best_model_loadable,
    "validate-metrics-documented": metrics_documented,
    "validate-explainability": explainability_present,
    "validate-data-schema": data_matches_schema,
    "validate-model-card": model_card_current,
}
