"""The model card of every promoted model: written from the store, Hugging Face's layout, checked by --sw-validate."""

from __future__ import annotations

import pytest
import yaml
from modes_support import SPEC, write_complete

SPEC_WITH_PROSE = SPEC.replace("# Churn classifier\n", """# Churn classifier

Predict which subscribers cancel next month, so that retention offers reach them first.

## ML Problem Definition
- Problem type: binary classification
- Output: a churn probability per subscriber

## Data Requirements
- Training data: twelve months of subscriber activity (billing export, 2025)
""")


def card_of(folder):
    cards = sorted((folder / "models").glob("model-v*.card.md"))
    assert [c.name for c in cards] == ["model-v1.card.md"], cards
    return cards[0].read_text(encoding="utf-8")


def test_the_card_states_what_the_store_holds_with_metadata_on_top(pytester):
    folder = write_complete(pytester.path, changes={"spec.md": SPEC_WITH_PROSE})
    pytester.runpytest("increments", "-p", "no:cacheprovider").assert_outcomes(passed=9)
    card = card_of(folder)
    head, body = card.split("\n---\n", 1)
    meta = yaml.safe_load(head.lstrip("-\n"))
    assert "pytest-specweave" in meta["tags"]
    result = meta["model-index"][0]["results"][0]
    assert result["dataset"]["name"] == "0001-churn test split"
    accuracy = next(m for m in result["metrics"] if m["type"] == "accuracy")
    assert accuracy["value"] == 0.9 and "[0.88, 0.92]" in accuracy["name"] and accuracy["verified"] is False

    for section in ("## Model details", "## Intended use", "## Data", "## Metrics", "## Against the baselines",
                    "## Training environment", "## Limitations", "## Monitoring"):
        assert section in body, section
    assert "Predict which subscribers cancel next month" in body  # the spec's problem statement, quoted
    assert "- Training data: twelve months of subscriber activity (billing export, 2025)" in body
    assert "| baseline-random | 30% | 90% | 3× |" in body
    assert "| TC-002 | accuracy ≥ 2x random baseline |" in body
    assert "None on record: every judged target passed" in body
    summary = (folder / "COMPLETION-SUMMARY.md").read_text(encoding="utf-8")
    assert "- Model card: [models/model-v1.card.md](models/model-v1.card.md)" in summary


def test_an_inconclusive_target_is_a_limitation_of_the_card(pytester):
    folder = write_complete(pytester.path, changes={"tests.md": "- TC-001: accuracy >= 0.895\n"})
    pytester.runpytest("increments", "-p", "no:cacheprovider")
    card = card_of(folder)
    assert "- TC-001 (accuracy >= 0.895) is **inconclusive**: " in card


def test_validate_writes_a_missing_card_and_fails_one_edited_by_hand(pytester):
    folder = write_complete(pytester.path)
    pytester.runpytest("increments", "-p", "no:cacheprovider")
    path = folder / "models" / "model-v1.card.md"
    path.unlink()
    rewritten = pytester.runpytest("increments", "--sw-validate", "-m", "sw_validate", "-p", "no:cacheprovider")
    rewritten.stdout.fnmatch_lines(["validate-model-card*PASS*models/model-v1.card.md (written) for model v1 of exp-002*"])
    again = pytester.runpytest("increments", "--sw-validate", "-m", "sw_validate", "-p", "no:cacheprovider")
    again.stdout.fnmatch_lines(["validate-model-card*PASS*models/model-v1.card.md (current)*"])
    path.write_text(path.read_text(encoding="utf-8").replace("## Limitations", "## Limitations\n\n- None, trust us."),
                    encoding="utf-8")
    edited = pytester.runpytest("increments", "--sw-validate", "-m", "sw_validate", "-p", "no:cacheprovider")
    edited.assert_outcomes(passed=5, failed=1)
    edited.stdout.fnmatch_lines(["*validate-model-card: models/model-v1.card.md was edited by hand*"])
