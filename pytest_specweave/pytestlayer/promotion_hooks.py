"""A team's release rule around the promotion: the veto and notes hooks, and what became of each increment's promotion.

The veto is asked once per increment and judged experiment, before anything is copied: where the
validate-best-model rule runs under `--sw-validate` (that rule promotes too), else at the end of
the session on the controller. An xdist worker's answer travels to the controller on the rule's
report (`asked_veto`, `remember_veto`), so the controller does not ask again. A veto, or a veto hook that raises
(the release rule could not say yes: it fails closed), writes no model version; it is reported in
the terminal, COMPLETION-SUMMARY.md, the JSON report ("promotion") and fails `--sw-done`. Notes
are asked only when a new version is about to be written, and kept in its metadata ("notes").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .hook_calls import call_each, describe, given_config, hookimpls, implemented, shown, warn

VETO = "pytest_specweave_promotion_veto"
NOTES = "pytest_specweave_promotion_notes"


@dataclass(frozen=True)
class Veto:
    """Why the judged experiment's model is not promoted, and which conftest.py or plugin said so."""

    experiment: str
    reason: str
    by: str

    def describe(self) -> str:
        return f"the promotion of the model of {self.experiment} was vetoed by {self.by}: {self.reason}"

    def markdown(self) -> str:
        """The reports' line for it: COMPLETION-SUMMARY.md and the CI step summary."""
        return f"**vetoed** by `{self.by}`: {self.reason} (no model version written)"


@dataclass
class Promotion:
    """What the session's promotion did for one increment (the JSON report's "promotion" entry)."""

    status: str  # promoted | current (already the latest version) | vetoed | none (no model to promote) | failed
    experiment: str | None = None
    version: int | None = None
    notes: list[str] = field(default_factory=list)
    veto: Veto | None = None
    error: str | None = None

    def as_json(self) -> dict:
        return {"status": self.status, "experiment": self.experiment, "version": self.version, "notes": self.notes,
                "vetoed_by": self.veto.by if self.veto else None, "reason": self.veto.reason if self.veto else None,
                "error": self.error}


def promotion_veto(config: pytest.Config, folder: Path, judgement) -> Veto | None:
    """The veto on promoting the judged experiment's model, asked once per process; None when it may go on."""
    from ..tracking.models import model_of

    record = judgement.judged
    if record is None or model_of(record) is None or not implemented(config, VETO):
        return None
    asked = config.stash.setdefault(_VETOES, {})
    key = (Path(folder), record.folder, record.run)
    if key not in asked:
        asked[key] = _ask_veto(config, Path(folder), record, judgement)
    return asked[key]


def asked_veto(config: pytest.Config, folder: Path, judgement) -> dict | None:
    """The veto this process asked for the judged experiment, as plain data for a report; None if not asked."""
    record = judgement.judged
    if record is None:
        return None
    asked = config.stash.get(_VETOES, {})
    key = (Path(folder), record.folder, record.run)
    if key not in asked:
        return None
    veto = asked[key]
    return {"experiment": record.folder, "run": record.run,
            "reason": veto.reason if veto else None, "by": veto.by if veto else None}


def remember_veto(config: pytest.Config, folder: Path, asked: dict) -> None:
    """The answer a worker was given (asked_veto's), kept so that this process does not ask again."""
    veto = Veto(asked["experiment"], asked["reason"], asked["by"]) if asked.get("reason") is not None else None
    config.stash.setdefault(_VETOES, {}).setdefault((Path(folder), asked["experiment"], asked["run"]), veto)


def _ask_veto(config: pytest.Config, folder: Path, record, judgement) -> Veto | None:
    """The first reason given; an implementation that raises is a veto too (warned about)."""
    for impl in reversed(hookimpls(config, VETO)):
        kwargs = {"config": given_config(config), "increment_path": folder, "record": record, "judgement": judgement}
        try:
            answer = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except Exception as error:  # noqa: BLE001 - fails closed: no promotion without the rule's yes
            warn(impl, VETO, error)
            return Veto(record.folder, f"the veto hook raised {type(error).__name__}: {error}",
                        shown(config, describe(impl)))
        if answer is not None and answer is not False:
            return Veto(record.folder, str(answer).strip() or "(no reason given)", shown(config, describe(impl)))
    return None


def _notes(config: pytest.Config, folder: Path, record, judgement):
    """The notes hook's texts for a version about to be written, or None when nobody implements it."""
    if not implemented(config, NOTES):
        return None

    def ask() -> list[str]:
        texts: list[str] = []
        for answer in call_each(config, NOTES, increment_path=folder, record=record,
                                judgement=judgement):
            for text in answer if isinstance(answer, (list, tuple)) else [answer]:
                if text is not None and str(text).strip():
                    texts.append(str(text).strip())
        return texts

    return ask


def promote(config: pytest.Config, folder: Path, judgement) -> dict | None:
    """Promote the judged experiment's model unless vetoed, with the notes: the new version's metadata, or None.

    Raises what promote_model raises (SpecweaveError, OSError); a veto raises nothing and writes nothing.
    """
    from ..evaluation.promotion import promote_judged_model

    if promotion_veto(config, folder, judgement) is not None:
        return None
    return promote_judged_model(judgement, notes=_notes(config, folder, judgement.judged, judgement))


def promote_for_session(config: pytest.Config, folder: Path, judgement) -> dict | None:
    """`promote`, with what it did kept for the reports (`outcome`); errors are raised as `promote` raises them."""
    from ..tracking.models import model_of, model_versions, read_metadata

    record = judgement.judged
    outcomes = config.stash.setdefault(_OUTCOMES, {})
    if record is None or model_of(record) is None:
        outcomes[folder] = Promotion("none", record.folder if record else None)
        return None
    veto = promotion_veto(config, folder, judgement)
    if veto is not None:
        outcomes[folder] = Promotion("vetoed", record.folder, veto=veto)
        return None
    metadata = promote(config, folder, judgement)
    if metadata is not None:
        outcomes[folder] = Promotion("promoted", record.folder, metadata.get("version"), list(metadata.get("notes") or []))
        return metadata
    versions = model_versions(folder)
    latest = read_metadata(folder, versions[-1]) if versions else {}
    outcomes[folder] = Promotion("current", record.folder, latest.get("version"), list(latest.get("notes") or []))
    return None


def failed(config: pytest.Config, folder: Path, experiment: str | None, error: BaseException) -> None:
    """promote_for_session raised: the increment's promotion failed."""
    config.stash.setdefault(_OUTCOMES, {})[folder] = Promotion("failed", experiment, error=str(error))


def outcome(config: pytest.Config, folder: Path) -> Promotion | None:
    """What this session's promotion did for the increment in `folder`; None when it was not attempted."""
    return config.stash.get(_OUTCOMES, {}).get(folder)


def vetoes(config: pytest.Config) -> list[tuple[Path, Veto]]:
    return [(folder, found.veto) for folder, found in sorted(config.stash.get(_OUTCOMES, {}).items())
            if found.veto is not None]


_VETOES = pytest.StashKey[dict]()  # (increment folder, experiment folder, run) -> Veto | None, asked in this process
_OUTCOMES = pytest.StashKey[dict]()  # increment folder -> Promotion of this session


def done_problems(config: pytest.Config, folder: Path) -> list[str]:
    """What a veto leaves owed under `--sw-done`: [] when the increment's promotion is not vetoed."""
    from ..errors import SpecweaveError
    from ..model.increment import Increment
    from .session import increment_judgement

    try:
        if not Increment.load(folder).tracks_experiments:
            return []
        veto = promotion_veto(config, folder, increment_judgement(config, folder))
    except (SpecweaveError, OSError):
        return []  # the increment's own items say what is wrong with it
    return [f"promotion vetoed by {veto.by}: {veto.reason}"] if veto is not None else []


def rule_problem(config: pytest.Config, rule: str, increment, judgement) -> str | None:
    """A validate rule's failure that a veto explains, before the rule runs (None: run the rule as usual).

    validate-best-model promotes, so it asks the veto first (and promotes with the notes); a vetoed
    judged model is the rule's failure, and validate-model-card's when no version of it has a card.
    """
    if rule not in ("validate-best-model", "validate-model-card"):
        return None
    veto = promotion_veto(config, increment.path, judgement)
    if rule == "validate-model-card":  # a card is owed only for a promoted version
        from ..reports.model_card import judged_version
        from ..reports.summary import SummaryData

        if veto is not None and judged_version(SummaryData(increment, judgement)) is None:
            return f"no model card: {veto.describe()}"
        return None
    if veto is not None:
        return veto.describe()
    from ..errors import SpecweaveError

    try:
        promote(config, increment.path, judgement)
    except (SpecweaveError, OSError):
        pass  # the rule promotes again and says what failed
    return None
