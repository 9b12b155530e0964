"""The plugin's own hooks: what a project's conftest.py, or another plugin, can add to pytest-specweave.

Registered with `pytest_addhooks`; implemented the pytest way, by a function of the hook's name in
a conftest.py or a plugin, taking any subset of the arguments by name. docs/hooks.md shows each
with an example that runs. Where an event happens with pytest-xdist (`-n 2`):

- declarations, asked in every process that needs the answer (they are not events):
  `pytest_specweave_metrics` at configure (every process computes or judges metrics) and
  `pytest_specweave_criteria_files` once per increment and process that reads the increment (the
  worker collecting it, the controller writing its reports);
- item events, on the process that runs the increment's items (the xdist worker, or the only
  process): `pytest_specweave_verdict`, `pytest_specweave_experiment_finished`;
- on the controller, once per session: `pytest_specweave_promotion_veto`,
  `pytest_specweave_promotion_notes`, `pytest_specweave_report_sections`.

A hook nobody implements costs nothing: the plugin asks pluggy whether any implementation exists
before it builds the arguments.

This module imports pytest only: every pytest run imports it.
"""

from __future__ import annotations

import pytest

hookspec = pytest.hookspec


# -- metrics ---------------------------------------------------------------------------------------


@hookspec
def pytest_specweave_metrics(config):
    """Metrics to register by name: return a `pytest_specweave.Metric` or a list of them.

    A registered metric is known to the threshold language (its direction, whether it is a
    proportion shown as a percentage), to `compute_metrics` (for the problem types it names) and
    `metric_value`, and to the judge: with per-unit values it gets intervals, paired comparisons
    and ratios like a built-in metric, resampling the unit it names. A name that clashes with a
    built-in metric, or with another registration, stops the run with a usage error naming both.

    Called once per process at configure (controller and every xdist worker); registrations are
    forgotten at unconfigure. The `pytest-specweave` command (summary, compare) calls the
    implementation in the project's own conftest.py, with config None.
    """


# -- collection ------------------------------------------------------------------------------------


@hookspec
def pytest_specweave_criteria_files(config, increment_path):
    """Other markdown files of an increment to collect evaluation criteria from: return file names.

    Each named file that exists in `increment_path` is read as tests.md is (its criteria become
    items, with the file and line as their location), under the same problem-item rules: a
    threshold that cannot be read is a failing item naming file and line. Names of the increment's
    own files (spec.md, tasks.md, tests.md) are refused with a usage error.

    A declaration, not an event: asked once per increment in each process that reads the
    increment (the xdist worker collecting it, the controller writing its reports), so it must
    give the same answer wherever it is asked.
    """


# -- verdicts --------------------------------------------------------------------------------------


@hookspec
def pytest_specweave_verdict(config, item, increment_path, item_id, verdict):
    """A success metric's or criterion's verdict, just made: to post it to a chat or a dashboard.

    `verdict` is the `pytest_specweave.Verdict` (outcome, metric, value, interval, threshold,
    experiment ...) before any strict gate turns an inconclusive one into a failure; `item` is the
    pytest item. The return value is ignored; an exception is reported as a warning and does not
    change the verdict.

    Called on the process that runs the item (an xdist worker), once per judged item.
    """


@hookspec(firstresult=True)
def pytest_specweave_promotion_veto(config, increment_path, record, judgement):
    """A team's release rule: return a reason (text) to stop the judged experiment's model from being promoted.

    `record` is the judged experiment's `ExperimentRecord`, `judgement` the increment's judgement
    (its verdicts, its primary metric). The first implementation to return a reason decides; None
    lets the promotion go on. A vetoed promotion writes no model version and is reported in the
    terminal, the summary and the JSON report; `--sw-done` fails on it. An implementation that
    raises is a veto too (fails closed).

    Called on the controller, once per increment per session, before the model is copied; under
    `--sw-validate` also where the validate-best-model rule runs (it promotes the model too). The
    controller loads no conftest.py inside an increment: put it in the rootdir conftest.py or a plugin.
    """


@hookspec
def pytest_specweave_promotion_notes(config, increment_path, record, judgement):
    """Notes to keep with a promoted model version: return text (or None). All are kept, in the
    model version's metadata ("notes") and its model card.

    Called on the controller, once per increment per session, when a new version is about to be written
    (under `--sw-validate`, where the validate-best-model rule writes it).
    """


# -- reports ---------------------------------------------------------------------------------------


@hookspec
def pytest_specweave_report_sections(config, increment, judgement, charts_dir):
    """Sections to add to the increment's reports: return a `pytest_specweave.ReportSection` or a list.

    Each section's markdown (and its charts, image files the implementation writes into
    `charts_dir`) goes into COMPLETION-SUMMARY.md; its `json` value into the JSON report
    (`--sw-json`) under the increment's "sections"; its `step_summary` text into the CI step
    summary. An exception is reported in the summary in the section's place, and does not stop
    the reports. `judgement` is None for an increment that tracks no experiments (it has no
    COMPLETION-SUMMARY.md; its JSON entry and step summary still get the sections).

    Called on the controller, once per increment per session, while the reports are written.
    """


# -- experiments -----------------------------------------------------------------------------------


@hookspec
def pytest_specweave_experiment_finished(config, experiment, record):
    """An experiment run has finished and its record is written: to mirror it to another tracker.

    `experiment` is the `Experiment` that finished; `record` its `ExperimentRecord` as the store
    reads it back (params, metrics, status, artifacts). The built-in W&B mirror is an
    implementation of this hook. An exception is reported as a warning; tracking goes on.

    Called in the process where the experiment ran (the worker that ran its task).
    """
