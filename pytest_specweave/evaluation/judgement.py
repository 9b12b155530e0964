"""An increment judged once: its store's JudgeContext, the judged experiment, and one verdict record per
success metric (spec.md) and criterion (tests.md), shared by every mode and report of a run.

Each verdict is judged when first asked for, then kept: a report that never shows the criteria
never pays for their intervals, and no verdict is judged twice. A verdict that raised is kept as the
exception, raised again to whoever asks (the summary lets it through; --sw-sync-docs and
--sw-validate say the element could not be judged).

Plain Python: knows the markdown model's elements and the judge, nothing of pytest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..model.thresholds import Threshold
from .judge import FAILED, JudgeContext, Verdict, judge

EXPLAINABILITY = Threshold(text="explainability artifacts present", kind="explainability")


@dataclass
class Judgement:
    """One success metric or criterion as judged: its verdict, or why it has none."""

    id: str
    text: str
    source: str  # "spec.md:12"
    verdict: Verdict | None  # None: not judged here (prose, linked check, nothing tracked)
    note: str = ""
    unit: str | None = None  # the threshold's unit as written ("ms", "%", "req/sec")
    kind: str | None = None  # the threshold's kind (compare, ratio, artifact, explainability)
    linked: bool = False  # a linked check: its verdict is how its item fared in the session


@dataclass(eq=False)
class IncrementJudgement:
    """An increment's verdicts, each judged at most once, over one JudgeContext."""

    increment: object  # model.increment.Increment
    context: JudgeContext
    _verdicts: dict = field(default_factory=dict, repr=False)  # element's place and threshold -> Verdict, or what it raised

    @property
    def records(self) -> list:
        return self.context.records

    @property
    def primary_metric(self) -> str | None:
        return self.context.primary_metric

    @property
    def increment_dir(self):
        return self.increment.path

    def selection(self) -> tuple:
        """(judged record, how it was chosen, K): see JudgeContext.selection."""
        return self.context.selection()

    @property
    def judged(self):
        """The judged experiment: the candidate the verdicts judge (None when no candidate logged the primary metric)."""
        return self.context.judged_experiment()

    def verdict(self, element) -> Verdict:
        """The verdict of a success metric or criterion with a threshold; raises what judging it raised."""
        key = (str(element.path), element.line, element.id, element.threshold)  # the same from a reloaded Increment
        if key not in self._verdicts:
            try:
                self._verdicts[key] = judge(element.threshold, self.context)
            except Exception as error:  # noqa: BLE001 - kept, and raised to each caller as judging raised it
                self._verdicts[key] = error
        found = self._verdicts[key]
        if isinstance(found, Exception):
            raise found
        return found

    @cached_property
    def explainability(self) -> Verdict:
        """Whether the judged experiment has explanation artifacts (--sw-validate, the summary's readiness)."""
        return judge(EXPLAINABILITY, self.context)

    @cached_property
    def metric_rows(self) -> list[Judgement]:
        """Every success metric of spec.md, judged."""
        return self.rows_of(self.increment.spec.metrics if self.increment.spec else [], "spec.md")

    @cached_property
    def criteria_rows(self) -> list[Judgement]:
        """Every criterion of tests.md (and of the increment's criteria files), judged."""
        return self.rows_of(self.increment.criteria.criteria if self.increment.criteria else [], "tests.md")

    def rows(self) -> list[Judgement]:
        return self.metric_rows + self.criteria_rows

    def rows_of(self, elements, file: str) -> list[Judgement]:
        """A Judgement per element: its threshold's verdict, a failure naming why it cannot be read, or, for an
        element that is no threshold, no verdict and a note (a linked check's verdict is the session's)."""
        rows = []
        for element in elements:
            source = f"{Path(element.path).name if getattr(element, 'path', None) else file}:{element.line}"
            if not self.increment.tracks_experiments:
                rows.append(Judgement(element.id, element.text if hasattr(element, "text") else element.title,
                                      source, None, "nothing tracked"))
                continue
            text = getattr(element, "text", None) or element.title
            threshold = getattr(element, "threshold", None)
            if getattr(element, "error", None) is not None:
                rows.append(Judgement(element.id, text, source, Verdict(FAILED, element.error.message)))
            elif threshold is not None:
                rows.append(Judgement(element.id, text, source, self.verdict(element), unit=threshold.unit,
                                      kind=threshold.kind))
            elif getattr(element, "link", None):
                rows.append(Judgement(element.id, text, source, None, "linked check: not run in this session",
                                      linked=True))
            else:
                rows.append(Judgement(element.id, text, source, None, "judged by a person"))
        return rows


def judge_increment(increment, *, context: JudgeContext | None = None) -> IncrementJudgement:
    """The increment (markdown model) judged against its store; `context`: its JudgeContext, when already built."""
    return IncrementJudgement(increment, context if context is not None else JudgeContext.for_increment(increment))
