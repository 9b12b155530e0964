"""The pytest entry point: hooks only.

Every pytest run in an environment where pytest-specweave is installed imports this module, ML or
not, so it imports nothing but pytest and the standard library. The markdown model, the tracker,
the judge and the reports are imported inside the hooks that meet an increment.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from .layout import INCREMENT_FILES, INCREMENT_NAME, SET_ASIDE

LINKED_CODE_ROOT = "pytest_specweave_increments"  # linked_code.ROOT_PACKAGE, without importing it
INCREMENT_FOLDER = INCREMENT_NAME  # the folder rule (layout.py)
# What collection passed over (pytestlayer/skipped.py): (path, line, reason) -> Skipped; and the key of
# the list an xdist worker sends back in its workeroutput.
SKIPPED = pytest.StashKey[dict]()
SKIPPED_FROM_WORKER = "pytest_specweave_skipped"
# An xdist worker in another folder or on another host: where the controller is (workerinput), and the
# stores the worker sends back (workeroutput); pytestlayer/remote_stores.py.
CONTROLLER_OF_WORKER = "pytest_specweave_controller"
STORES_FROM_WORKER = "pytest_specweave_stores"
# The conftest.py files pytest loaded before configure: the session's own hooks are taken only from them
# and from plugins (pytestlayer/hook_calls.py).
STARTUP_CONFTESTS = pytest.StashKey[frozenset]()
OUTPUT_FOLDERS = frozenset({"data", "models", "experiments", "notebooks", "mlruns", "mlartifacts"})
MARKERS = {
    "sw_task": "a task of an increment's tasks.md",
    "sw_criterion": "an evaluation criterion of an increment's tests.md",
    "sw_metric": "a success metric of an increment's spec.md",
    "sw_validate": "a rule checked by --sw-validate (and --sw-done)",
}


def is_increment_folder(path: Path) -> bool:
    """NNNN-slug in increments/, or in one of its _archive, _abandoned or _paused folders."""
    if not INCREMENT_FOLDER.match(path.name):
        return False
    parent = path.parent
    return parent.name == "increments" or (parent.name in SET_ASIDE and parent.parent.name == "increments")


def _is_set_aside_folder(path: Path) -> bool:
    return path.name in SET_ASIDE and path.parent.name == "increments"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs  # imports pytest only

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("specweave", "ML increments (pytest-specweave)")
    group.addoption("--sw-strict", action="store_true", default=False,
                    help="a strict gate: an inconclusive verdict (an interval straddling its threshold) fails, and so "
                         "does a value judged without an interval (unless it has no sampling error)")
    group.addoption("--sw-confidence", type=float, default=None, metavar="LEVEL",
                    help="level of the intervals the plugin computes (corrected per-fold t-intervals, bootstrap); default 0.95")
    group.addoption("--sw-json", default=None, metavar="PATH",
                    help="write a machine-readable report of the increments' verdicts and experiments (docs/reports.md)")
    group.addoption("--sw-no-report", action="store_true", default=False,
                    help="do not rewrite COMPLETION-SUMMARY.md and experiments/comparison.md")
    group.addoption("--sw-mlflow", action="store_true", default=False,
                    help="mirror experiments to MLflow: MLFLOW_TRACKING_URI, else sqlite:///<increment>/mlflow.db"
                         " (also on with the ini key sw_mlflow, or when MLFLOW_TRACKING_URI is set)")
    group.addoption("--sw-validate", action="store_true", default=False,
                    help="also check each increment's ML work: experiments logged (a baseline and a candidate), best "
                         "model saved and loadable, every success metric measured, explainability artifacts, "
                         "data matching data/schema.yaml")
    group.addoption("--sw-done", action="store_true", default=False,
                    help="--sw-validate, plus every task done and every metric and criterion passing (inconclusive "
                         "fails); then metadata.json status completed")
    group.addoption("--sw-update-tasks", action="store_true", default=False,
                    help="after the run, mark done in tasks.md the linked tasks that passed (checkbox and status word; "
                         "nothing else in the file changes)")
    group.addoption("--sw-sync-docs", action="store_true", default=False,
                    help="after the run, write the chosen model to docs/architecture/ml-models.md and its ADR "
                         "(docs/architecture/adr/)")
    group.addoption("--sw-from-mlflow", action="store_true", default=False,
                    help="before collection, pull the named increments' runs from the MLflow tracking server at "
                         "MLFLOW_TRACKING_URI into their experiments/ (docs/scaling.md); also the ini key sw_from_mlflow")
    group.addoption("--sw-shard", default=None, metavar="i/N",
                    help="run shard i of N: whole increments, dealt out in turn by their sorted paths; tests outside "
                         "increments run in shard 1 (docs/scaling.md)")
    parser.addini("sw_mlflow", type="bool", default=False,
                  help="mirror experiments to MLflow, as --sw-mlflow")
    parser.addini("sw_from_mlflow", type="bool", default=False,
                  help="pull runs from MLflow before collection, as --sw-from-mlflow")
    parser.addini("sw_keep_runs", default="",
                  help="after each run, keep only the last N runs of each experiment in experiments/*/history/ "
                       "(as `pytest-specweave prune --keep N`); empty: keep every run")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser, args: list[str]) -> None:
    """Turn `increments/0042` into `increments/0042-recommendation-model` before pytest resolves paths."""
    namespace = early_config.known_args_namespace
    wanted = [a for a in namespace.file_or_dir if _names_missing_increment(a)]
    if not wanted:
        return
    from .pytestlayer.selection import rewrite_increment_args

    rewritten = rewrite_increment_args(wanted, Path.cwd())
    namespace.file_or_dir = [rewritten.get(a, a) for a in namespace.file_or_dir]
    args[:] = [rewritten.get(a, a) for a in args]


def _names_missing_increment(arg: str) -> bool:
    path = arg.split("::", 1)[0]
    return not path.startswith("-") and not os.path.exists(path) and re.search(r"(^|[/\\])\d", path) is not None


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    # The root package of linked code holds no code itself. When it is already imported (by an
    # earlier session in this process, or load_model) the modules under it are still rewritten,
    # so pytest's "already imported" warning would be noise: register it as not yet imported.
    root = sys.modules.pop(LINKED_CODE_ROOT, None)
    try:
        pytest.register_assert_rewrite(LINKED_CODE_ROOT)
    finally:
        if root is not None:
            sys.modules[LINKED_CODE_ROOT] = root
    confidence = config.getoption("sw_confidence")
    if confidence is not None:
        if not 0.0 < confidence < 1.0:
            raise pytest.UsageError(f"--sw-confidence must be between 0 and 1 (0.95 for 95%), got {confidence}")
        _set_environ(config, "PYTEST_SPECWEAVE_CONFIDENCE", repr(confidence))
    if config.getoption("sw_shard", None) is not None:
        from .pytestlayer.sharding import parse_shard

        parse_shard(config.getoption("sw_shard"))  # a malformed value stops the run before collection
    if config.getoption("tx", None) and not hasattr(config, "workerinput"):
        from .pytestlayer.remote_stores import check_worker_args

        check_worker_args(config)
    config.stash[STARTUP_CONFTESTS] = frozenset(filter(None, map(conftest_file, config.pluginmanager.get_plugins())))
    config.pluginmanager.register(IncrementRuns(config), IncrementRuns.name)
    if config.hook.pytest_specweave_metrics.get_hookimpls():
        from .pytestlayer import metric_hook

        config.stash[_METRICS] = metric_hook.register(config)

    from .pytestlayer.experiment_events import connect  # pytest and stdlib only

    connect(config)
    if _mlflow_wanted(config):
        from .tracking import mlflow_mirror  # stdlib-only module: mlflow is imported at the first mirror

        config.stash[_MLFLOW_BEFORE] = mlflow_mirror.current_state()
        mlflow_mirror.configure_mlflow()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _METRICS in config.stash:  # forgotten so that another run in this process starts without them
        from .pytestlayer import metric_hook

        metric_hook.forget(config.stash[_METRICS])
        del config.stash[_METRICS]
    from .pytestlayer.experiment_events import disconnect

    disconnect(config)
    if _MLFLOW_BEFORE in config.stash:
        from .tracking import mlflow_mirror

        mlflow_mirror.restore_state(config.stash[_MLFLOW_BEFORE])
        del config.stash[_MLFLOW_BEFORE]


_MLFLOW_BEFORE = pytest.StashKey[object]()
_METRICS = pytest.StashKey[list]()  # the names pytest_specweave_metrics registered


def conftest_file(plugin) -> str | None:
    """The absolute path of a conftest.py module registered as a plugin; None for anything else."""
    file = getattr(plugin, "__file__", None)
    return os.path.abspath(file) if isinstance(file, str) and os.path.basename(file) == "conftest.py" else None


def _mlflow_wanted(config: pytest.Config) -> bool:
    """--sw-mlflow, the ini key sw_mlflow, or MLFLOW_TRACKING_URI set (xdist workers run this too)."""
    return bool(config.getoption("sw_mlflow", False) or config.getini("sw_mlflow")
                or os.environ.get("MLFLOW_TRACKING_URI"))


def _set_environ(config: pytest.Config, name: str, value: str) -> None:
    """Set an environment variable for this session (xdist workers set their own), restored after it."""
    previous = os.environ.get(name)
    os.environ[name] = value
    config.add_cleanup(lambda: os.environ.pop(name, None) if previous is None else os.environ.__setitem__(name, previous))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if (config.getoption("sw_from_mlflow", False) or config.getini("sw_from_mlflow")) \
            and not hasattr(config, "workerinput"):
        from .pytestlayer.pull import pull_before_collection

        pull_before_collection(session)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name in OUTPUT_FOLDERS and is_increment_folder(collection_path.parent):
        return True
    if _is_set_aside_folder(collection_path):
        # pytest asks only about folders not named on the command line (nor above a path named
        # there): `pytest increments/_archive/0123-old` still collects that increment.
        try:
            count = sum(1 for entry in collection_path.iterdir() if INCREMENT_FOLDER.match(entry.name) and entry.is_dir())
        except OSError:
            count = 0
        if count and _under_an_arg(collection_path, config):
            from .model.skipped import set_aside_skipped
            from .pytestlayer.skipped import record

            record(config, [set_aside_skipped(collection_path, count)])
        return True
    if collection_path.parent.name == "increments" or collection_path.parent.name in SET_ASIDE:
        _record_if_not_an_increment(collection_path, config)
    return None


def _record_if_not_an_increment(folder: Path, config: pytest.Config) -> None:
    """A folder in increments/ that looks like an increment but is none: said at the end of the run."""
    from .model.skipped import folder_skipped

    found = folder_skipped(folder)
    if found is not None:
        from .pytestlayer.skipped import record

        record(config, [found])


def _under_an_arg(folder: Path, config: pytest.Config) -> bool:
    """Whether a command-line path (or the default) covers the folder, not just passes by it on its way."""
    for arg in config.args:
        path = Path(os.path.abspath(os.path.join(config.invocation_params.dir, arg.split("::", 1)[0])))
        if folder == path or path in folder.parents:
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.name in INCREMENT_FILES and is_increment_folder(file_path.parent):
        from .pytestlayer.items import IncrementFile

        return IncrementFile.from_parent(parent, path=file_path)
    if file_path.suffix == ".md" and is_increment_folder(file_path.parent) and _declares_criteria_files(parent.config):
        from .pytestlayer.criteria_files import is_criteria_file

        if is_criteria_file(parent.config, file_path):
            from .pytestlayer.items import IncrementFile

            return IncrementFile.from_parent(parent, path=file_path)
    return None


def _declares_criteria_files(config: pytest.Config) -> bool:
    from .pytestlayer.hook_calls import implemented  # pytest and the standard library only

    return implemented(config, "pytest_specweave_criteria_files")


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if SKIPPED in config.stash or any("increments" in arg or SET_ASIDE.keys() & set(Path(arg).parts)
                                      for arg in config.args):  # a plain run imports nothing more
        from .pytestlayer.skipped import record_named_folders, send_to_controller

        record_named_folders(config)
        send_to_controller(config)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    if config.getoption("sw_shard", None) is not None:
        from .pytestlayer.sharding import select_shard

        select_shard(config, items)
    if any(hasattr(item, "sw_increment") for item in items):
        from .pytestlayer.items import order_items

        items[:] = order_items(items)


def _is_increment_report(config: pytest.Config, nodeid: str, known: dict[str, bool]) -> bool:
    """Whether a report is an increment item's: its file is spec/tasks/tests.md (or a declared criteria file)
    in an increment folder on disk.

    Judged by the folder, not by the node id's shape, so that a run from inside `increments/` or
    an increment (where the rootdir, and so the node id, starts lower) is recognised too.
    """
    file = nodeid.split("::", 1)[0]
    name = file.rsplit("/", 1)[-1]
    if name not in INCREMENT_FILES and not (name.endswith(".md") and _declares_criteria_files(config)):
        return False
    found = known.get(file)
    if found is None:
        path = config.rootpath / file
        found = is_increment_folder(path.parent)
        if found and name not in INCREMENT_FILES:  # a criteria file the hook declares (pytestlayer/criteria_files.py)
            from .pytestlayer.criteria_files import is_criteria_file

            found = is_criteria_file(config, path)
        known[file] = found
    return found


class IncrementRuns:
    """The reports of increment items in this session; the heavy work is imported once one is seen."""

    name = "pytest_specweave_runs"

    def __init__(self, config: pytest.Config):
        self.config = config
        self.reports: list[pytest.TestReport] = []
        self._known: dict[str, bool] = {}
        self._elsewhere = False  # an xdist worker whose rootdir or host is not the controller's

    def pytest_plugin_registered(self, plugin) -> None:
        """A conftest.py loaded while collecting: its controller hooks are left out, and said (hook_calls.py)."""
        file = conftest_file(plugin)
        if file is not None and file not in self.config.stash.get(STARTUP_CONFTESTS, frozenset()):
            from .pytestlayer.hook_calls import late_controller_hooks

            late_controller_hooks(self.config, plugin, file)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if _is_increment_report(self.config, report.nodeid, self._known):
            self.reports.append(report)
            asked = getattr(report, "sw_asked_veto", None)
            if asked:  # a worker's validate rule asked the promotion veto: not asked again here
                from .pytestlayer.promotion_hooks import remember_veto
                from .pytestlayer.session import increment_of_nodeid

                remember_veto(self.config, increment_of_nodeid(self.config, report.nodeid), asked)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call):
        """Mark an increment item whose setup or call failed: its `experiment` is then finished as failed."""
        report = yield
        if report.failed and report.when != "teardown" and hasattr(item, "sw_increment"):
            item._sw_failed = True
        if report.when == "call" and getattr(item, "sw_asked_veto", None):
            report.sw_asked_veto = item.sw_asked_veto  # kept by xdist's report serialisation
        return report

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        """An xdist worker starts: it is told where the controller is, to send back its stores if elsewhere."""
        from .pytestlayer.remote_stores import configure_node

        configure_node(self.config, node)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        """An xdist worker finished: keep what its collection skipped (the controller collects nothing), and
        write the stores a worker in another folder or on another host sent."""
        output = getattr(node, "workeroutput", None) or {}
        if SKIPPED_FROM_WORKER in output:
            from .pytestlayer.skipped import receive_from_worker

            receive_from_worker(self.config, node)
        if self.config.getoption("sw_shard", None) is not None:
            from .pytestlayer.sharding import receive_from_worker as receive_shard

            receive_shard(self.config, node)
        if STORES_FROM_WORKER in output:
            from .pytestlayer.remote_stores import receive_from_worker as receive_stores

            receive_stores(self.config, node)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if CONTROLLER_OF_WORKER in getattr(self.config, "workerinput", {}):
            from .pytestlayer.remote_stores import elsewhere, note_before_run

            self._elsewhere = elsewhere(self.config)
            if self._elsewhere:
                from .pytestlayer.items import increment_folder

                note_before_run(self.config, {f for f in map(increment_folder, session.items) if f is not None})

    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config):
        if report.skipped and isinstance(report.longrepr, tuple) and _is_increment_report(config, report.nodeid,
                                                                                           self._known):
            if report.longrepr[2].startswith("Skipped: inconclusive"):
                return "inconclusive", "?", "INCONCLUSIVE"
        return None

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if SKIPPED in self.config.stash:
            from .pytestlayer.skipped import terminal_lines

            terminal_lines(terminalreporter)
        if self.reports:
            from .pytestlayer.session import terminal_summary

            terminal_summary(terminalreporter, self.reports)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._elsewhere:
            from .pytestlayer.remote_stores import send_to_controller
            from .pytestlayer.session import increment_of_nodeid

            send_to_controller(self.config, {increment_of_nodeid(self.config, r.nodeid) for r in self.reports})
        if self.config.getoption("sw_shard", None) is not None and not hasattr(self.config, "workerinput"):
            from .pytestlayer.sharding import finish

            finish(session)
        if self.reports and not hasattr(self.config, "workerinput"):
            from .pytestlayer.session import finish_session

            finish_session(self.config, self.reports)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    from .pytestlayer.scheduling import make_scheduler

    return make_scheduler(config, log)


@pytest.fixture
def experiment(request: pytest.FixtureRequest):
    """The running task's Experiment: started before the task, finished after it (failed if the task failed)."""
    from .pytestlayer.fixtures import task_experiment

    yield from task_experiment(request)


@pytest.fixture
def increment(request: pytest.FixtureRequest):
    """The running item's Increment (the markdown model: .path, .spec, .tasks, .criteria)."""
    from .pytestlayer.fixtures import item_increment

    return item_increment(request)


@pytest.fixture
def spec(request: pytest.FixtureRequest):
    """The running item's Spec (success metrics, primary metric, frontmatter)."""
    from .pytestlayer.fixtures import item_increment

    return item_increment(request).spec
