"""After the run: the terminal table and the reports of every increment the session touched.

Works from test reports only (what pytest-xdist carries back to the controller), so a run with
`-n 2` gives the same table and the same files as a run without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..reports.summary import ItemResult

VERDICT_WORDS = {"passed": "PASS", "failed": "FAIL", "inconclusive": "INCONCLUSIVE", "skipped": "SKIP"}


def _item_results(reports) -> dict[str, ItemResult]:
    """nodeid -> how the item fared, from its setup/call/teardown reports."""
    results: dict[str, ItemResult] = {}
    for report in reports:
        if report.when == "teardown" and not report.failed:
            continue
        current = results.get(report.nodeid)
        if current is not None and current.outcome == "failed":
            continue
        if report.when == "setup" and report.passed:
            continue
        outcome, message = report.outcome, ""
        if report.skipped and isinstance(report.longrepr, tuple):
            message = report.longrepr[2].removeprefix("Skipped: ")
            if message.startswith("inconclusive"):
                outcome = "inconclusive"
        elif report.failed:
            message = _first_line(report.longreprtext)
        start = getattr(report, "start", None)
        if current is not None and current.start is not None:
            start = current.start
        results[report.nodeid] = ItemResult(outcome, message, start)
    return results


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("E "):
            return line[2:].strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _increment_of(config, nodeid: str) -> Path:
    return (config.rootpath / nodeid.split("::", 1)[0]).parent


def write_reports(config, reports) -> None:
    """Promote the best model, then rebuild COMPLETION-SUMMARY.md and experiments/comparison.md, of each increment the session ran."""
    from ..errors import SpecweaveError
    from ..evaluation.judge import JudgeContext
    from ..model.increment import Increment
    from ..reports.comparison import write_comparison
    from ..reports.summary import write_summary
    from ..tracking.models import promote_best_model

    by_increment: dict[Path, dict[str, ItemResult]] = {}
    for nodeid, result in _item_results(reports).items():
        folder = _increment_of(config, nodeid)
        by_increment.setdefault(folder, {})[nodeid.rsplit("::", 1)[-1]] = result
    written = []
    promoted = []
    for folder, session in sorted(by_increment.items()):
        try:
            increment = Increment.load(folder)
            if not increment.tracks_experiments:
                continue
            context = JudgeContext.for_increment(increment)
            try:
                metadata = promote_best_model(folder, context=context)
                if metadata is not None:
                    promoted.append((folder / "models" / metadata["file"], metadata["source_experiment"]))
            except (SpecweaveError, OSError) as error:
                config.stash[_PROMOTE_ERRORS] = config.stash.get(_PROMOTE_ERRORS, []) + [f"{folder.name}: {error}"]
            write_comparison(increment, context)
            written.append(write_summary(increment, session, context))
        except (SpecweaveError, OSError) as error:
            config.stash[_WRITE_ERRORS] = config.stash.get(_WRITE_ERRORS, []) + [f"{folder.name}: {error}"]
    config.stash[_WRITTEN] = written
    config.stash[_PROMOTED] = promoted


_WRITTEN = pytest.StashKey[list]()
_WRITE_ERRORS = pytest.StashKey[list]()
_PROMOTED = pytest.StashKey[list]()
_PROMOTE_ERRORS = pytest.StashKey[list]()


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def terminal_summary(terminalreporter, reports) -> None:
    config = terminalreporter.config
    results = _item_results(reports)
    properties = {}
    for report in reports:
        if report.user_properties:
            properties[report.nodeid] = dict(report.user_properties)
    by_increment: dict[Path, list[str]] = {}
    for nodeid in results:
        if nodeid in properties:
            by_increment.setdefault(_increment_of(config, nodeid), []).append(nodeid)
    for folder, nodeids in sorted(by_increment.items()):
        terminalreporter.write_sep("-", f"specweave: {folder.name}")
        for nodeid in nodeids:
            props = properties[nodeid]
            name = nodeid.rsplit("::", 1)[-1]
            outcome = results[nodeid].outcome
            value = props.get("value")
            shown = f"{value:.4g}" if isinstance(value, float) else ""
            if props.get("interval"):
                shown += f" {props['interval']}"
            word = VERDICT_WORDS.get(outcome, outcome.upper())
            threshold = _clip(str(props.get("threshold", "")), 44)
            line = f"{name:<8} {threshold:<44} {shown:<22} {_clip(str(props.get('experiment', '')), 30):<30} {word}"
            markup = {"red": True} if outcome == "failed" else {"yellow": True} if outcome == "inconclusive" else {"green": True}
            terminalreporter.write_line(line.rstrip(), **markup)
    inconclusive = [(n, r) for n, r in results.items() if r.outcome == "inconclusive"]
    if inconclusive:
        terminalreporter.write_sep("-", "inconclusive (the interval straddles the threshold; --sw-strict fails them)")
        for nodeid, result in inconclusive:
            terminalreporter.write_line(f"INCONCLUSIVE {nodeid} - {result.message}", yellow=True)
    for path, source in config.stash.get(_PROMOTED, []):
        terminalreporter.write_line(f"specweave: promoted {_shown(config, path)} (the model of {source})")
    for path in config.stash.get(_WRITTEN, []):
        terminalreporter.write_line(f"specweave: wrote {_shown(config, path)}")
    for error in config.stash.get(_PROMOTE_ERRORS, []):
        terminalreporter.write_line(f"specweave: could not promote the best model of {error}", red=True)
    for error in config.stash.get(_WRITE_ERRORS, []):
        terminalreporter.write_line(f"specweave: could not write the reports of {error}", red=True)


def _shown(config, path: Path):
    try:
        return path.relative_to(config.invocation_params.dir)
    except ValueError:
        return path
