"""The pytest items of an increment: one per task, success metric and criterion.

Markdown never causes a collection error (pytest would then run nothing at all): whatever cannot be
read becomes a failing item that names the file and line.
"""

from __future__ import annotations

import copy
import inspect
import numbers
import types
import warnings
from collections.abc import Mapping
from pathlib import Path

import pytest

from ..errors import SourceError, SpecweaveError
from ..evaluation.judge import FAILED, INCONCLUSIVE, PASSED, JudgeContext, judge
from ..evaluation.judgement import IncrementJudgement, judge_increment
from ..evaluation.staleness import stale_because, unfinished_tasks
from ..layout import INCREMENT_FILES
from ..linked_code import check_linked_source, import_linked_module, package_name, resolve_callable
from ..model.increment import Increment
from ..model.tasks import link_hint
from ..project import outside, project_root
from ..tracking.api import active_increment
from .criteria_files import load_increment
from .hook_calls import call_each, implemented
from .skipped import record as record_skipped

TASKS, METRICS, CRITERIA, VALIDATE = 0, 1, 2, 3
MARKERS = ("sw_task", "sw_metric", "sw_criterion", "sw_validate")
VERDICT_HOOK = "pytest_specweave_verdict"


class VerdictFailure(Exception):
    """A threshold was missed: shown as one line, no traceback."""


def skip_here(reason: str):
    """Skip, reported at the item's markdown line rather than at this line of the plugin."""
    raise pytest.skip.Exception(reason, _use_item_location=True)


def done_mode(config: pytest.Config) -> bool:
    return bool(config.getoption("sw_done", False))


def validating(config: pytest.Config) -> bool:
    """Validate items are collected under --sw-validate, and under --sw-done, which includes it."""
    return bool(config.getoption("sw_validate", False)) or done_mode(config)


class SpecweaveEncodingWarning(UserWarning):
    """A markdown file holds bytes that are not UTF-8: they were read as U+FFFD."""


class IncrementFile(pytest.Module):
    """spec.md, tasks.md or tests.md. A Module, so that module-scoped fixtures work for its items."""

    def _getobj(self):
        module = types.ModuleType(f"{package_name(self.path.parent)}.__{self.path.stem}__")
        module.__file__ = str(self.path)
        return module

    def reportinfo(self):
        return self.path, 0, self.path.name

    def collect(self):
        from ..model.source import undecodable

        for problem in undecodable(self.path):
            warnings.warn_explicit(SpecweaveEncodingWarning(str(problem)), SpecweaveEncodingWarning,
                                   str(self.path), problem.line or 0)
        try:
            increment = load_increment(self.config, self.path.parent)  # parsed once while its files are unchanged
            if self.path.name in ("tasks.md", "spec.md"):
                part = increment.tasks if self.path.name == "tasks.md" else increment.spec
            else:  # tests.md, or a criteria file the hook declares
                part = increment.criteria_lists.get(self.path.name)
            if part is not None:
                record_skipped(self.config, part.skipped)
            if self.path.name == "tasks.md":
                yield from self._tasks(increment)
            elif self.path.name == "spec.md":
                yield from self._metrics(increment)
            else:
                yield from self._criteria(increment)
            if validating(self.config) and self._anchors_validation(increment):
                yield from self._rules(increment)
        except SourceError as error:
            yield ProblemItem.from_parent(self, name=f"problem-L{error.line or 0}", error=error)
        except pytest.Collector.CollectError:
            raise  # a criteria file the hook may not declare (criteria_files.py)
        except Exception as error:  # noqa: BLE001 - a parser bug must not hide the other increments
            problem = SourceError(f"cannot be read ({type(error).__name__}: {error})", self.path)
            yield ProblemItem.from_parent(self, name="problem", error=problem)

    def _anchors_validation(self, increment: Increment) -> bool:
        """The validate items belong to spec.md; to tasks.md when there is no spec.md (then tests.md)."""
        present = [name for name in ("spec.md", "tasks.md", "tests.md") if (increment.path / name).is_file()]
        return bool(present) and present[0] == self.path.name

    def _rules(self, increment: Increment):
        from ..modes.validation import RULES

        for rule in RULES:
            yield ValidateItem.from_parent(self, name=rule, increment=increment)

    def _problems(self, problems):
        for number, error in enumerate(problems):
            error = error if error.path else error.located(self.path)
            yield ProblemItem.from_parent(self, name=f"problem-L{error.line or 0}-{number}", error=error)

    def _tasks(self, increment: Increment):
        task_list = increment.tasks
        if task_list is None:
            return
        yield from self._problems(task_list.problems)
        for task in task_list.tasks:
            yield self._created(TaskItem, increment, task)

    def _criteria(self, increment: Increment):
        criteria = increment.criteria_lists.get(self.path.name)
        if criteria is None:
            return
        yield from self._problems(criteria.problems)
        for criterion in criteria.criteria:
            if criterion.link is not None:
                yield self._created(CheckItem, increment, criterion)
            else:
                yield JudgeItem.from_parent(self, name=criterion.id, increment=increment, element=criterion,
                                            kind=CRITERIA)

    def _created(self, cls, increment: Increment, element):
        """The task's or check's item; a failing item at its line if pytest cannot make one of its code."""
        try:
            return cls.create(self, increment, element)
        except Exception as error:  # noqa: BLE001 - one bad link must not hide the tasks after it
            problem = SourceError(f"{element.id}: {element.link.target if element.link else 'its code'} cannot be "
                                  f"run ({type(error).__name__}: {error})", self.path, element.line)
            return ProblemItem.from_parent(self, name=element.id, error=problem)

    def _metrics(self, increment: Increment):
        spec = increment.spec
        if spec is None:
            return
        yield from self._problems(spec.problems)
        for metric in spec.metrics:
            yield JudgeItem.from_parent(self, name=metric.id, increment=increment, element=metric, kind=METRICS)


class IncrementItemMixin:
    """What every increment item shares: its markdown location, increment and place in the run order."""

    sw_kind = TASKS

    def _bind(self, increment: Increment, element, kind: int) -> None:
        self.sw_increment = increment
        self.sw_element = element
        self.sw_kind = kind
        self.add_marker(MARKERS[kind])
        title = getattr(element, "title", None) or getattr(element, "text", None)
        if title:  # what the markdown says the item is: the CI step summary and the JSON report show it
            self.user_properties.append(("title", str(title)))
            self.extra_keyword_matches.add(str(title))  # `-k baseline` selects on the words of the title

    def reportinfo(self):
        line = getattr(self.sw_element, "line", 1) or 1
        return self.path, line - 1, self.name

    def where(self) -> str:
        return f"{self.path.name}:{getattr(self.sw_element, 'line', 0)}"

    def _one_line(self, excinfo) -> str | None:
        error = excinfo.value
        if isinstance(error, SourceError):
            if error.path is not None and error.path != self.path and error.line:
                return f"{self.where()}: {error}"  # e.g. a syntax error in the linked module
            if error.path == self.path and error.line:
                return f"{self.path.name}:{error.line}: {error.message}"
            return f"{self.where()}: {error.message}"
        if isinstance(error, (VerdictFailure, SpecweaveError)):
            return f"{self.where()}: {error}"
        return None


def _raiser(error: BaseException):
    def linked_code_unavailable():
        raise error

    return linked_code_unavailable


def _linked_file(increment: Increment, link) -> Path:
    candidates = [increment.path / link.file, increment.path.parent.parent / link.file]
    return next((c for c in candidates if c.exists()), candidates[0])


def _collected_callable(increment: Increment, link, rootdir: Path):
    """What collection gives pytest for a linked task or check, importing nothing: the link is checked in
    its module's source, and a stand-in carries the parameters pytest reads to inject fixtures. Returns
    (callable, whether the real code is still to be imported when the item runs)."""
    file = _linked_file(increment, link)
    project = project_root(increment.path, rootdir)
    if outside(file, {rootdir, project}):
        return _raiser(SourceError(f"link {link.file} resolves outside the project ({project})")), False
    if link.file.endswith(".ipynb"):
        from ..integrations.notebooks import notebook_task

        return notebook_task(file), False
    try:
        source = check_linked_source(file, link.callable)
    except SourceError as error:
        return _raiser(error), False
    return _stand_in(link, source.argnames or ()), True


def _stand_in(link, argnames):
    def linked_code_not_imported_yet(**arguments):
        raise SpecweaveError(f"{link.target} was not imported")

    linked_code_not_imported_yet.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY) for name in argnames])
    return linked_code_not_imported_yet


def _resolve_linked(item) -> None:
    """Import the linked code of a task or check about to run, and make it the item's function: its
    fixtures are then those its real parameters name."""
    if not getattr(item, "_sw_lazy", False):
        return
    item._sw_lazy = False
    obj = _linked_callable(item.sw_increment, item.sw_element.link, item.config.rootpath)
    item.obj = obj
    item._instance = getattr(obj, "__self__", None)
    item._fixtureinfo = item.session._fixturemanager.getfixtureinfo(item, obj, None)
    item.fixturenames = item._fixtureinfo.names_closure
    item._initrequest()


def _linked_callable(increment: Increment, link, rootdir: Path):
    """The function a task or criterion links to, or a function that raises why it cannot be had."""
    file = _linked_file(increment, link)
    project = project_root(increment.path, rootdir)
    if outside(file, {rootdir, project}):
        return _raiser(SourceError(f"link {link.file} resolves outside the project ({project})"))
    if link.file.endswith(".ipynb"):
        from ..integrations.notebooks import notebook_task

        return notebook_task(file)
    try:
        module = import_linked_module(increment.path, file)
        if link.callable is None:
            main = getattr(module, "main", None)
            if main is None or not callable(main):
                return _imported_module_runs(module)
            return _injectable(main, f"{file.name}::main")
        return _injectable(resolve_callable(module, link.callable, file), f"{file.name}::{link.callable}")
    except SourceError as error:
        return _raiser(error)
    except SystemExit as exit:  # the session goes on: only this task fails
        code = "" if exit.code is None else repr(exit.code)
        return _raiser(SourceError(f"{file.name} called sys.exit({code}) while being imported"))
    except Exception as error:  # noqa: BLE001 - the user's import error is shown when the task runs
        return _raiser(error)


def _injectable(target, name: str):
    """`target` as a function whose parameters pytest can read (to inject fixtures).

    A def is itself; any other callable (an imported builtin, a class, an instance with __call__) runs
    through a function carrying its signature; one whose signature cannot be read fails clearly.
    """
    if inspect.isfunction(target) or inspect.ismethod(target):
        return target
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError) as error:
        raise SourceError(f"pytest cannot read the signature of {name} ({error}), so cannot inject its "
                          "fixtures: link a def that calls it") from None

    def linked_callable(**arguments):
        __tracebackhide__ = True
        return target(**arguments)

    linked_callable.__signature__ = signature
    linked_callable.__name__ = linked_callable.__qualname__ = name.rsplit("::", 1)[-1]
    linked_callable.__module__ = getattr(target, "__module__", None) or __name__
    return linked_callable


def _imported_module_runs(module):
    def linked_module_ran():
        """A linked module without `main()`: importing it was the task."""

    linked_module_ran.__module__ = module.__name__
    return linked_module_ran


class TaskItem(IncrementItemMixin, pytest.Function):
    """A task of tasks.md. A linked task runs its code with fixtures injected; others report their status."""

    @classmethod
    def create(cls, parent, increment: Increment, task):
        lazy = False
        if task.link is not None and task.status != "canceled":
            callobj, lazy = _collected_callable(increment, task.link, parent.config.rootpath)
        else:
            callobj = _no_code
        item = cls.from_parent(parent, name=task.id, callobj=callobj)
        item._sw_lazy = lazy
        item._bind(increment, task, TASKS)
        return item

    def setup(self) -> None:
        """Decide whether the task runs before its fixtures (an `experiment` among them) are set up."""
        task = self.sw_element
        self._sw_problem = _duplicate_problem(self, "task")
        if self._sw_problem is not None:
            return  # fails in runtest, as a failing item rather than a setup error
        if task.status == "canceled":
            skip_here("canceled")
        if task.link is None:
            if task.status == "done":
                return  # a documented manual step: passes
            if done_mode(self.config):
                self._sw_problem = SpecweaveError(
                    f"{task.id} is not done ({task.status.replace('_', ' ')}, no code linked): "
                    "--sw-done needs every task done")
                return
            hint = f"; {task.link_hint}" if task.link_hint else ""
            skip_here(f"not implemented: {task.status.replace('_', ' ')}, no code linked{hint}")
        blocked = _blocked_dependency(self)
        if blocked:
            skip_here(blocked)
        _resolve_linked(self)
        super().setup()

    def runtest(self) -> None:
        if self._sw_problem is not None:
            raise self._sw_problem
        if self.sw_element.link is None:
            return
        invalidate_records(self.config, self.sw_increment)
        self._sw_raised = False
        with active_increment(self.sw_increment.path, task=self.sw_element.id):
            try:
                arguments = {name: self.funcargs[name] for name in self._fixtureinfo.argnames}
                result = _call_linked(self.obj, arguments, self.where())
            except BaseException:
                self._sw_raised = True
                raise
            _check_store_kept(self)
            if isinstance(result, Mapping) and result:
                self._log_returned_metrics(result)

    def _log_returned_metrics(self, result: Mapping) -> None:
        experiment = self._request.getfixturevalue("experiment")
        numbers = {k: v for k, v in result.items() if _is_number(v)}
        others = sorted(set(result) - set(numbers))
        if others:
            raise SpecweaveError(f"{self.sw_element.id} returned values that are not numbers for {others}; "
                                 "a returned mapping is logged as metrics")
        experiment.log_metrics(numbers)

    def repr_failure(self, excinfo):
        return self._one_line(excinfo) or super().repr_failure(excinfo)


def _no_code():
    """A task with no linked code."""


def _call_linked(function, arguments: dict, where: str):
    """Call the linked code; an `async def` is run to completion in a fresh event loop."""
    result = function(**arguments)
    if inspect.iscoroutine(result):
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(result)
        result.close()  # never left un-awaited: it fails instead
        raise SpecweaveError(f"{getattr(function, '__name__', 'the linked code')} is an async def, and an event "
                             "loop is already running in this thread, so it cannot be run to completion here "
                             "(link a def that does the work, or run pytest without what starts the loop)")
    return result


def _check_store_kept(item) -> None:
    """The task's experiment store must outlive the task: its run is written when the task ends."""
    experiment = item.funcargs.get("experiment")
    path = getattr(getattr(experiment, "sw_opened", None), "path", None)
    if path is not None and not path.is_dir():
        raise SpecweaveError(f"the experiment store was removed while the task ran ({path.parent} is gone), "
                             "so its run cannot be recorded")


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) or (hasattr(value, "__float__") and not isinstance(value, (str, bytes)))


def _unfinished_tasks(item) -> dict:
    """The tasks of the item's increment that failed in this session, or did not run because a dependency did."""
    runs = item.config.pluginmanager.get_plugin("pytest_specweave_runs")
    file = item.nodeid.split("::", 1)[0]
    prefix = (file.rsplit("/", 1)[0] + "/" if "/" in file else "") + "tasks.md::"
    seen: dict[str, list] = {}
    for report in runs.reports if runs else []:
        if not report.nodeid.startswith(prefix) or (report.when == "teardown" and not report.failed):
            continue
        task_id = report.nodeid[len(prefix):]
        message = report.longrepr[2].removeprefix("Skipped: ") if report.skipped and isinstance(
            report.longrepr, tuple) else ""
        start = getattr(report, "start", None)
        earlier = seen.get(task_id)
        if earlier is None:
            seen[task_id] = [task_id, report.outcome, message, start]
        elif report.failed or report.skipped:
            earlier[1:3] = [report.outcome, message]
    return unfinished_tasks(seen.values())


def _blocked_dependency(item: TaskItem) -> str | None:
    """Why the task must not run: a dependency of this session failed (or was itself blocked)."""
    depends = item.sw_element.depends_on
    if not depends:
        return None
    runs = item.config.pluginmanager.get_plugin("pytest_specweave_runs")
    prefix = item.nodeid.rsplit("::", 1)[0] + "::"
    outcomes = {}
    for report in runs.reports if runs else []:
        if report.nodeid.startswith(prefix) and (report.failed or report.when == "call"):
            blocked = report.skipped and "dependency" in str(report.longrepr)
            outcomes[report.nodeid[len(prefix):]] = "failed" if report.failed or blocked else report.outcome
    failed = [d for d in depends if outcomes.get(d) == "failed"]
    if not failed:
        return None
    return f"dependency {', '.join(failed)} failed"


class CheckItem(TaskItem):
    """A criterion of tests.md that links a check function: it passes when the check does."""

    @classmethod
    def create(cls, parent, increment: Increment, criterion):
        callobj, lazy = _collected_callable(increment, criterion.link, parent.config.rootpath)
        item = cls.from_parent(parent, name=criterion.id, callobj=callobj)
        item._sw_lazy = lazy
        item._bind(increment, criterion, CRITERIA)
        return item

    def setup(self) -> None:
        self._sw_problem = _duplicate_problem(self, "criterion")
        if self._sw_problem is None:
            _resolve_linked(self)
            pytest.Function.setup(self)

    def runtest(self) -> None:
        if self._sw_problem is not None:
            raise self._sw_problem
        criterion = self.sw_element
        with active_increment(self.sw_increment.path, task=criterion.id):
            arguments = {name: self.funcargs[name] for name in self._fixtureinfo.argnames}
            result = _call_linked(self.obj, arguments, self.where())
        _check_store_kept(self)
        if result is False:
            raise VerdictFailure(f"{criterion.id} check {criterion.link.target} returned False")


def _duplicate_problem(item, what: str) -> SourceError | None:
    """In an increment that tracks experiments, an id defined twice is an error naming both lines."""
    element = item.sw_element
    if len(getattr(element, "occurrences", ())) > 1 and item.sw_increment.tracks_experiments:
        lines = " and ".join(f"{item.path.name}:{n}" for n in element.occurrences)
        return SourceError(f"{what} id {element.id} is defined more than once: {lines}", item.path, element.line)
    return None


_RECORDS = pytest.StashKey[dict]()


def invalidate_records(config: pytest.Config, increment: Increment) -> None:
    config.stash.setdefault(_RECORDS, {}).pop(increment.path, None)


def judge_context(config: pytest.Config, increment: Increment) -> JudgeContext:
    cache = config.stash.setdefault(_RECORDS, {})
    if increment.path not in cache:
        cache[increment.path] = JudgeContext.for_increment(increment)
    return cache[increment.path]


_JUDGEMENTS = pytest.StashKey[dict]()


def increment_judgement(config: pytest.Config, increment: Increment) -> IncrementJudgement:
    """The increment judged over judge_context's records (judged anew once they are reloaded): the validate rules
    share it, so that each verdict they need is judged once in this process."""
    context = judge_context(config, increment)
    cache = config.stash.setdefault(_JUDGEMENTS, {})
    found = cache.get(increment.path)
    if found is None or found.context is not context:
        found = cache[increment.path] = judge_increment(increment, context=context)
    return found


class JudgeItem(IncrementItemMixin, pytest.Item):
    """A success metric (spec.md) or a threshold criterion (tests.md), judged against the store."""

    def __init__(self, *, increment: Increment, element, kind: int, **kwargs):
        super().__init__(**kwargs)
        self._bind(increment, element, kind)

    def runtest(self) -> None:
        element = self.sw_element
        problem = _duplicate_problem(self, "criterion")
        if problem is not None:
            raise problem
        if not self.sw_increment.tracks_experiments:
            skip_here("nothing tracked: this increment has no experiments/ and links no code")
        if element.error is not None:
            raise element.error if element.error.line else element.error.located(self.path, element.line)
        if element.threshold is None:
            if done_mode(self.config):
                raise VerdictFailure("not a threshold, and no check is linked: judged by a person, so --sw-done "
                                     "cannot see it pass (write a threshold, or link a check function)")
            hint = link_hint(getattr(element, "title", None) or getattr(element, "text", "") or "")
            skip_here("not a threshold, and no check is linked: judged by a person" + (f"; {hint}" if hint else ""))
        context = judge_context(self.config, self.sw_increment)
        verdict = judge(element.threshold, context)
        stale = stale_because(verdict, context.records, _unfinished_tasks(self))
        self.user_properties.extend(verdict.properties())
        self.user_properties.append(("message", verdict.message))
        if implemented(self.config, VERDICT_HOOK):  # told before a strict gate changes the outcome
            call_each(self.config, VERDICT_HOOK, item=self, increment_path=self.sw_increment.path,
                      item_id=element.id, verdict=copy.deepcopy(verdict))
        strict = "--sw-strict" if self.config.getoption("sw_strict") else "--sw-done" if done_mode(self.config) else None
        if stale:
            self.user_properties.append(("stale", stale))
            if verdict.outcome == FAILED:
                raise VerdictFailure(f"{verdict.message} ({stale})")
            if strict:
                raise VerdictFailure(f"{stale} — {verdict.message} (a stale verdict fails under {strict})")
            skip_here(f"{stale} — {verdict.message}")
        if verdict.outcome == PASSED:
            if verdict.point and strict:
                raise VerdictFailure(f"{verdict.message} (a value without an interval fails under {strict}: it cannot"
                                     " show the target is met beyond chance; log the metric with its per-unit"
                                     " evidence or an interval)")
            return
        if verdict.outcome == INCONCLUSIVE:
            if strict:
                raise VerdictFailure(f"{verdict.message} (inconclusive fails under {strict})")
            skip_here(f"inconclusive: {verdict.message}")
        if verdict.outcome == FAILED or done_mode(self.config):
            raise VerdictFailure(verdict.message)
        skip_here(verdict.message)

    def repr_failure(self, excinfo):
        return self._one_line(excinfo) or super().repr_failure(excinfo)


class _Rule:
    """The markdown "element" of a validate item: the rule, reported at line 1 of its file."""

    line = 1

    def __init__(self, name: str):
        self.id = name


class ValidateItem(IncrementItemMixin, pytest.Item):
    """A rule of --sw-validate (modes/validation.py), checked after the increment's tasks and gates."""

    def __init__(self, *, increment: Increment, **kwargs):
        super().__init__(**kwargs)
        self._bind(increment, _Rule(self.name), VALIDATE)

    def runtest(self) -> None:
        from ..modes.validation import RULES
        from .promotion_hooks import asked_veto, rule_problem

        if not self.sw_increment.tracks_experiments:
            skip_here("nothing tracked: this increment has no experiments/ and links no code")
        judgement = increment_judgement(self.config, self.sw_increment)
        vetoed = rule_problem(self.config, self.name, self.sw_increment, judgement)
        self.sw_asked_veto = asked_veto(self.config, self.sw_increment.path, judgement)  # sent on the report
        if vetoed is not None:
            self.user_properties.append(("message", vetoed))
            raise VerdictFailure(vetoed)
        result = RULES[self.name](self.sw_increment, judgement)
        self.user_properties.append(("message", result.message))
        if not result.passed:
            raise VerdictFailure(result.message)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, (VerdictFailure, SpecweaveError)):
            return f"{self.name}: {excinfo.value}"
        return super().repr_failure(excinfo)


class ProblemItem(pytest.Item):
    """Something in a markdown file that cannot be read: fails with one line naming file and line."""

    def __init__(self, *, error: SourceError, **kwargs):
        super().__init__(**kwargs)
        self.error = error

    def reportinfo(self):
        return self.path, max((self.error.line or 1) - 1, 0), self.name

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo):
        error = self.error
        return f"{self.path.name}:{error.line}: {error.message}" if error.line else f"{self.path.name}: {error.message}"


def order_items(items: list) -> list:
    """Each increment's items together, at the place of its first item: tasks, then metrics, then criteria
    (tests.md's before the criteria files')."""
    folders = [increment_folder(item) for item in items]
    groups: dict[Path, list] = {}
    for index, (item, folder) in enumerate(zip(items, folders)):
        if folder is not None:
            groups.setdefault(folder, []).append((index, item))
    ordered, placed = [], set()
    for item, folder in zip(items, folders):
        if folder is None:
            ordered.append(item)
        elif folder not in placed:
            placed.add(folder)
            group = groups[folder]
            ordered.extend(i for _, i in sorted(group, key=lambda pair: (getattr(pair[1], "sw_kind", -1),
                                                                         pair[1].path.name not in INCREMENT_FILES, pair[0])))
    return ordered


def increment_folder(item) -> Path | None:
    """The folder of the increment an item belongs to (a problem item of a broken file too); None for others."""
    folder = getattr(getattr(item, "sw_increment", None), "path", None)
    if folder is None and isinstance(item, ProblemItem) and isinstance(item.parent, IncrementFile):
        folder = item.path.parent
    return folder
