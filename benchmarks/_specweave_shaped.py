"""Increments shaped like the ones SpecWeave writes, for the benchmarks: made-up text, real structure.

A spec.md with frontmatter, an overview, user stories (`### US-001: …`, **As a** / **I want** /
**So that**) each with acceptance criteria (`- [x] **AC-US1-01**: …` and indented fields), a
requirements table and a Success Metrics section (thresholds and prose); a tasks.md with
frontmatter, phases, and `### T-001: Title` tasks carrying **User Story**, **Satisfies ACs**,
**Status**: [x] completed, priority and effort, a description, numbered steps, nested checkbox
sub-steps, a test-case table and a code fence; a metadata.json; on every third increment a
pipeline.py that three tasks link (an ML increment), and on every fifth a tests.md.
Deterministic: increment n is the same text on every run.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

_WORDS = ("parser sync cache report config loader index schema metric model queue token export import "
          "migration validator adapter scheduler profile session budget ledger feature store pipeline "
          "dashboard alert plugin template registry webhook archive retention summary").split()
_VERBS = "Implement Add Wire Refactor Extract Validate Document Harden Migrate Cache Test Expose".split()
_ROLES = ("developer", "product manager", "data scientist", "tech lead", "release engineer")
_LANGS = ("typescript", "python", "bash", "json")


def _phrase(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


def _sentence(rng: random.Random, words: int = 14) -> str:
    text = _phrase(rng, words)
    return text[0].upper() + text[1:] + "."


def _spec(rng: random.Random, n: int, name: str, stories: list[list[str]]) -> str:
    lines = ["---", f"increment: {name}", f'title: "{_phrase(rng, 3).title()}"', "type: feature",
             f"priority: P{rng.randint(0, 2)}", "status: completed", "created: 2025-11-19",
             f"epic: FS-{n:03d}", "test_mode: test-after", "coverage_target: 90", "---", "",
             f"# Feature: {_phrase(rng, 4).title()}", "", "## Overview", "",
             " ".join(_sentence(rng, 18) for _ in range(4)), "",
             f"**Business Impact**: {_sentence(rng, 20)}", "", "---", "", "## User Stories", ""]
    for number, criteria in enumerate(stories, 1):
        lines += [f"### US-{number:03d}: {_phrase(rng, 4).title()}", "",
                  f"**As a** {rng.choice(_ROLES)}", f"**I want** {_phrase(rng, 8)}", f"**So that** {_phrase(rng, 9)}",
                  "", "**Acceptance Criteria**:"]
        for ac in criteria:
            box = "x" if rng.random() < 0.8 else " "
            lines += [f"- [{box}] **{ac}**: {_sentence(rng, 12)} (format: `{_phrase(rng, 2)}`)",
                      f"  - **Priority**: P{rng.randint(0, 2)} (Critical)",
                      f"  - **Testable**: Yes ({_phrase(rng, 3)})",
                      f"  - **Completed by**: T-{rng.randint(1, 20):03d} ({_phrase(rng, 2)})", ""]
    lines += ["## Non-Functional Requirements", "", "| ID | Requirement | Target |", "|----|-------------|--------|"]
    lines += [f"| NFR-{i:02d} | {_phrase(rng, 4)} | < {rng.randint(50, 500)}ms |" for i in range(1, 6)]
    lines += ["", "## Success Metrics", "",
              f"- Parse latency: <{rng.randint(20, 200)}ms for a 1000-line file",
              f"- Accuracy >= 0.{rng.randint(80, 97)}",
              f"- {_sentence(rng, 9)}",
              f"- {_sentence(rng, 7)}", "",
              "## Out of Scope", ""]
    lines += [f"- {_sentence(rng, 10)}" for _ in range(4)]
    lines += ["", "## Dependencies", "", f"- Increment {max(n - 1, 1):04d} ({_phrase(rng, 3)})", ""]
    return "\n".join(lines)


def _task(rng: random.Random, task: int, story: int, criteria: list[str], link: str | None) -> list[str]:
    done = rng.random() < 0.75
    status = "[x] completed" if done else rng.choice(["[ ] pending", "[ ] in_progress"])
    lines = [f"### T-{task:03d}: {rng.choice(_VERBS)} {_phrase(rng, 4)}", "",
             f"**User Story**: US-{story:03d}",
             f"**Satisfies ACs**: {', '.join(rng.sample(criteria, min(len(criteria), rng.randint(1, 2))))}",
             f"**Status**: {status}", f"**Priority**: P{rng.randint(0, 2)} (Important)",
             f"**Estimated Effort**: {rng.randint(1, 8)} hours"]
    if link:
        lines.append(f"**Run**: `{link}`")
    lines += ["", f"**Description**: {_sentence(rng, 22)} See `src/{rng.choice(_WORDS)}/{rng.choice(_WORDS)}.ts`.", "",
              "**Implementation Steps**:"]
    for step in range(1, rng.randint(3, 6) + 1):
        lines.append(f"{step}. {_sentence(rng, 9)}")
        if rng.random() < 0.4:
            lines += [f"   - {_phrase(rng, 6)}", f"   - {_phrase(rng, 5)}"]
    lines += ["", "**Sub-steps**:"]
    for _ in range(rng.randint(2, 5)):
        lines.append(f"- [{'x' if done else rng.choice(' x')}] {_sentence(rng, 7)}")
        if rng.random() < 0.3:
            lines.append(f"  - [{'x' if done else ' '}] {_sentence(rng, 5)}")
    lines += ["", "**Test Cases**:", "", "| Case | Input | Expected |", "|------|-------|----------|"]
    lines += [f"| TC-{task:03d}-{i} | {_phrase(rng, 3)} | {_phrase(rng, 3)} |" for i in range(1, rng.randint(2, 5))]
    if rng.random() < 0.5:
        lang = rng.choice(_LANGS)
        lines += ["", f"```{lang}"]
        lines += [f"const {rng.choice(_WORDS)} = {rng.choice(_WORDS)}({rng.randint(1, 99)});" for _ in range(rng.randint(3, 8))]
        lines += ["```"]
    lines += ["", f"**Dependencies**: {'None' if task == 1 else f'T-{task - 1:03d}'}", "", "---", ""]
    return lines


def _tasks(rng: random.Random, name: str, stories: list[list[str]], linked: int) -> str:
    count = sum(len(criteria) for criteria in stories) + rng.randint(0, 6)
    lines = [f"# Tasks for Increment {name}", "", "---", f"increment: {name}", f"total_tasks: {count}",
             "test_mode: TDD", "coverage_target: 90%", "---", "", "## Overview", "", _sentence(rng, 25), "",
             "**Key Features**:"]
    lines += [f"- ✅ {_phrase(rng, 5)}" for _ in range(4)]
    lines += ["", "---", ""]
    per_phase = max(count // 3, 1)
    for task in range(1, count + 1):
        if (task - 1) % per_phase == 0:
            lines += [f"## Phase {(task - 1) // per_phase + 1}: {_phrase(rng, 3).title()}", ""]
        story = rng.randint(1, len(stories))
        link = f"pipeline.py::step_{task}" if task <= linked else None
        lines += _task(rng, task, story, stories[story - 1], link)
    lines += ["## Summary", "", f"**Total Tasks**: {count}", f"**Estimated Effort**: {count * 4} hours", ""]
    return "\n".join(lines)


def _tests(rng: random.Random) -> str:
    lines = ["# Test Strategy", "", "## Evaluation Criteria", ""]
    lines += [f"- TC-{i:03d}: accuracy >= 0.{rng.randint(70, 90)}" for i in range(1, 4)]
    lines += ["", "## Test Plan", ""] + [f"- [ ] {_sentence(rng, 8)}" for _ in range(5)]
    return "\n".join(lines) + "\n"


def write_increment(increments: Path, n: int) -> Path:
    """Increment number n (1-based) under `increments`; returns its folder."""
    rng = random.Random(n)
    name = f"{n:04d}-{rng.choice(_WORDS)}-{rng.choice(_WORDS)}"
    folder = increments / name
    folder.mkdir(parents=True)
    stories = [[f"AC-US{s}-{a:02d}" for a in range(1, rng.randint(3, 5) + 1)] for s in range(1, rng.randint(3, 6) + 1)]
    linked = 3 if n % 3 == 0 else 0
    (folder / "spec.md").write_text(_spec(rng, n, name, stories), encoding="utf-8")
    (folder / "tasks.md").write_text(_tasks(rng, name, stories, linked), encoding="utf-8")
    if n % 5 == 0:
        (folder / "tests.md").write_text(_tests(rng), encoding="utf-8")
    if linked:
        (folder / "pipeline.py").write_text("".join(
            f"def step_{i}(experiment):\n    experiment.log_metric('accuracy', 0.9)\n\n\n" for i in range(1, linked + 1)))
        (folder / "experiments").mkdir()
    (folder / "metadata.json").write_text(json.dumps({
        "increment": name, "type": "feature", "status": "completed", "created": "2025-11-05T00:00:00Z",
        "priority": f"P{rng.randint(0, 2)}", "tags": rng.sample(_WORDS, 3)}, indent=2), encoding="utf-8")
    return folder
