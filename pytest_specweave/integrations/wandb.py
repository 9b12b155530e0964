"""Weights & Biases: `configure_wandb(...)` mirrors every experiment run of this process to W&B.

    configure_wandb(project="fraud", mode="offline")   # or WANDB_MODE=offline, WANDB_PROJECT=...

What, per experiment run (when it finishes, as the MLflow mirror does): one W&B run

- name: the experiment's folder (`exp-003-xgboost`); group: the increment (`0042-recommendation-model`);
  job_type: the run's kind (`experiment` or `model`); project: `project=`, else WANDB_PROJECT,
  else the increment's folder name; entity: `entity=`, else W&B's default (WANDB_ENTITY);
- config: the run's params (params.json);
- tags: `increment:<name>`, `task:<id>` (when a task ran it), `baseline` or `candidate`, `status:<status>`;
- history: every journal line logged with a step, one `run.log(row, step=step)` per step in step
  order (values logged at the same step share a row); metrics logged without a step are not
  history: their final value is in the summary;
- summary: every final value (metrics.json), and `<metric>_ci_low` / `<metric>_ci_high` for a
  metric logged with an interval;
- notes: notes.md; exit code 0 when the run succeeded, 1 when it failed.

The W&B run's id, project and mode are recorded in the experiment's meta.json ("wandb"). `mode`:
"online", "offline" (nothing leaves the machine; `wandb sync` uploads it later) or "disabled"; None
leaves it to W&B (WANDB_MODE, then its settings). W&B writes its local files under WANDB_DIR, else
`./wandb` (its own default); `dir=` chooses another folder. A run that crashed (its process exited
without finishing it) is not mirrored. A failure never breaks tracking: it is a TrackingWarning,
and after a run that W&B refuses to start, mirroring is off for the rest of the process.

The mirror is an implementation of the `pytest_specweave_experiment_finished` hook (`WandbMirror`),
registered with the pytest session of this process while mirroring is on: a team mirroring to
another tracker writes the same hook in its conftest.py (docs/hooks.md). Outside pytest (a
script), the tracker's finish listener (tracking/events.py) calls the same mirror.

wandb is imported by configure_wandb (the `wandb` extra), never when this module is.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from ..errors import SpecweaveError
from ._extras import require

MODES = ("online", "offline", "disabled")
ENV_PROJECT = "WANDB_PROJECT"
MAX_TAG = 64  # W&B's limit on one tag's length


class WandbMirrorError(SpecweaveError):
    """W&B refused a run or could not be reached."""


class _State:
    def __init__(self, project, entity, mode, dir):
        self.project = project
        self.entity = entity
        self.mode = mode
        self.dir = dir
        self.broken: str | None = None


_STATE: _State | None = None


def configure_wandb(project=None, *, entity=None, mode=None, increment=None, dir=None) -> str | None:
    """Mirror every experiment run of this process to W&B from now on (see the module docstring).

    Returns the W&B project that the experiments of `increment` (id prefix, folder name or path;
    None: the current increment, if there is one) go to; None when neither `project=`,
    WANDB_PROJECT nor an increment says.
    """
    global _STATE
    if mode is not None and mode not in MODES:
        raise ValueError(f"configure_wandb: mode must be one of {', '.join(MODES)}, got {mode!r}")
    require("wandb", "wandb")
    from ..tracking.api import current_increment
    from ..tracking.events import on_finish

    if increment is not None:
        folder = current_increment(increment)
    else:
        try:
            folder = current_increment(None)
        except SpecweaveError:
            folder = None
    _STATE = _State(str(project) if project else None, entity, mode, str(dir) if dir is not None else None)
    on_finish(_outside_pytest)
    config = _session_config()
    if config is not None:
        attach(config)
    return _project_for(_STATE, folder)


class WandbMirror:
    """The mirror as a pytest-specweave hook implementation: one W&B run per finished experiment."""

    name = "pytest_specweave_wandb"

    def pytest_specweave_experiment_finished(self, experiment) -> None:
        mirror_to_wandb(experiment)


_PLUGIN = WandbMirror()


def attach(config) -> None:
    """Register the mirror with a pytest session while mirroring is on (at its configure, or by configure_wandb)."""
    if _STATE is not None and not config.pluginmanager.has_plugin(WandbMirror.name):
        config.pluginmanager.register(_PLUGIN, WandbMirror.name)


def _session_config():
    """The pytest session of this process, None outside pytest (never imports pytest)."""
    events = sys.modules.get("pytest_specweave.pytestlayer.experiment_events")
    return events.active_config() if events is not None else None


def _outside_pytest(exp) -> None:
    """The tracker's finish listener: in a pytest session the hook mirrors instead."""
    if _session_config() is None:
        mirror_to_wandb(exp)


def mirroring() -> bool:
    return _STATE is not None


def current_state():
    """An opaque token of the configuration, for restore_state."""
    return _STATE


def restore_state(state) -> None:
    """Put back a configuration from current_state (None turns mirroring off)."""
    global _STATE
    _STATE = state


def _project_for(state: _State, increment_dir) -> str | None:
    if state.project:
        return state.project
    if os.environ.get(ENV_PROJECT):
        return os.environ[ENV_PROJECT]
    return Path(increment_dir).name if increment_dir is not None else None


def _tag(text: str) -> str:
    return text if len(text) <= MAX_TAG else text[: MAX_TAG - 1] + "…"


def history_rows(journal: Path) -> list[tuple[int, dict[str, float]]]:
    """[(step, {key: value})] of the journal lines logged with a step, by step (a later line of a key wins)."""
    from ..tracking._files import untag_float
    from ..tracking.store import journal_entries

    rows: dict[int, dict[str, float]] = {}
    for entry in journal_entries(journal):
        if isinstance(entry, int):
            break
        step = entry.get("step")
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            continue
        try:
            value = untag_float(entry["value"])
        except (TypeError, ValueError):
            continue
        rows.setdefault(step, {})[entry["key"]] = value
    return sorted(rows.items())


def run_summary(journal: Path) -> dict[str, float]:
    """The final values (the journal replayed, as metrics.json), with `_ci_low`/`_ci_high` for intervals."""
    from ..tracking.store import replay_journal

    metrics, _, _ = replay_journal(journal)
    summary: dict[str, float] = {}
    for key, metric in metrics.items():
        summary[key] = metric.value
        if metric.ci is not None:
            summary[f"{key}_ci_low"], summary[f"{key}_ci_high"] = metric.ci
    return summary


def mirror_to_wandb(exp) -> None:
    """One W&B run for the finished experiment `exp`, its id recorded in meta.json."""
    state = _STATE
    if state is None or state.broken is not None:
        return
    if exp.status == "crashed":
        return
    try:
        info = _send(state, exp)
    except WandbMirrorError as err:
        warnings.warn(f"{exp.folder}: not mirrored to W&B: {err}", _warning_class(), stacklevel=4)
        return
    with exp._lock:
        exp._check_not_superseded()
        exp._update_meta(wandb=info)


def _mode(run, state: _State) -> str:
    mode = getattr(getattr(run, "settings", None), "mode", None)
    return str(mode) if mode else (state.mode or "online")


def _warning_class():
    from ..tracking.store import TrackingWarning

    return TrackingWarning


def _send(state: _State, exp) -> dict:
    from ..tracking.store import JOURNAL

    wandb = require("wandb", "wandb", feature="configure_wandb")
    meta = exp.meta
    increment_name = Path(exp.increment_dir).name
    journal = exp.path / JOURNAL
    tags = [_tag(f"increment:{increment_name}"), "baseline" if exp.baseline else "candidate",
            _tag(f"status:{exp.status}")]
    if exp.task:
        tags.insert(1, _tag(f"task:{exp.task}"))
    try:
        notes = (exp.path / "notes.md").read_text(encoding="utf-8", errors="replace").strip() or None
    except OSError:
        notes = None
    settings = wandb.Settings(silent=True, console="off", x_disable_stats=True, disable_git=True,
                              save_code=False, disable_job_creation=True)
    try:
        run = wandb.init(
            # W&B reads its environment once per process: WANDB_MODE and WANDB_DIR are passed as they are now
            project=_project_for(state, exp.increment_dir), entity=state.entity or os.environ.get("WANDB_ENTITY"),
            mode=state.mode or os.environ.get("WANDB_MODE") or None, dir=state.dir or os.environ.get("WANDB_DIR"),
            name=exp.folder, group=increment_name, job_type=str(meta.get("kind", "experiment")),
            config=exp.params, tags=tags, notes=notes, reinit="create_new", settings=settings,
        )
    except Exception as err:  # noqa: BLE001 - no API key, unreachable, refused: all the same to the user
        state.broken = f"{type(err).__name__}: {err}"
        raise WandbMirrorError(
            f"W&B did not start a run ({type(err).__name__}: {err}); mirroring to W&B is off for the rest of"
            " this process (set WANDB_API_KEY, or WANDB_MODE=offline to keep the runs locally)"
        ) from err
    exit_code = 0 if exp.status == "succeeded" else 1
    try:
        for step, row in history_rows(journal):
            run.log(row, step=step, commit=True)
        run.summary.update(run_summary(journal))
        mode = _mode(run, state)
        info = {"run_id": run.id, "project": run.project, "entity": run.entity or None, "mode": mode}
        if mode == "online":
            info["url"] = run.url
    except Exception as err:  # noqa: BLE001
        exit_code = 1
        raise WandbMirrorError(f"W&B refused {exp.folder}: {type(err).__name__}: {err}") from err
    finally:
        run.finish(exit_code=exit_code)
    return info
