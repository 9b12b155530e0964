"""pytest-xdist scheduling: every increment's items (its criteria files' too) go to one worker, in order.

xdist's scheduler classes are not a public API: the supported xdist range is pinned in
pyproject.toml and the behaviour is tested under `-n 2`.
"""

from __future__ import annotations

import re
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling

_INCREMENT_ITEM = re.compile(r"^(?P<folder>(?:.*/)?\d{4}[A-Z]?-[^/]+)/[^/]+\.md::")  # its criteria files too
_FOLDER = re.compile(r"^\d{4}[A-Z]?-")
_REGROUPED = ("load", "loadscope", "loadfile", "worksteal")


class IncrementScheduling(LoadScopeScheduling):
    """Load-scope scheduling whose scope is the increment for markdown items.

    Other tests keep the grouping of the mode asked for: per test (load, worksteal), per module or
    class (loadscope), per file (loadfile).
    """

    def __init__(self, config, log=None, *, dist: str = "load"):
        super().__init__(config, log)
        self.dist = dist

    def remove_node(self, node):
        """A worker finished or crashed. On a crash, the item it was running fails once (DSession reports
        the returned item as crashed) and is never run again; the rest of its work goes back in the queue
        for the other workers and the replacement, in order.

        xdist's LoadScopeScheduling re-queues the crashed item with the rest, so a task that kills its
        worker (os._exit, a segfault) was rerun on every replacement until the restarts ran out, and the
        rest of its increment never ran.
        """
        workload = self.assigned_work.get(node)
        crashed = None
        if workload:
            crashed = next((nodeid for unit in workload.values() for nodeid, done in unit.items() if not done), None)
            if crashed is not None:
                workload[self._split_scope(crashed)][crashed] = True
            for scope in [scope for scope, unit in workload.items() if all(unit.values())]:
                del workload[scope]  # nothing left to run there: not re-queued
        super().remove_node(node)  # re-queues what the node had not run (KeyError for an unknown node, as xdist)
        return crashed

    def _split_scope(self, nodeid: str) -> str:
        match = _INCREMENT_ITEM.match(nodeid.replace("\\", "/"))
        if match:
            return match.group("folder")
        if self.dist in ("load", "worksteal"):
            return nodeid
        if self.dist == "loadfile":
            return nodeid.split("::", 1)[0]
        return super()._split_scope(nodeid)


def make_scheduler(config, log):
    """Our scheduler when the run may reach an increment; otherwise xdist's own, untouched."""
    dist = config.getvalue("dist")
    if dist not in _REGROUPED or not any(_may_hold_increments(Path(a.split("::")[0])) for a in config.args):
        return None
    return IncrementScheduling(config, log, dist=dist)


def _may_hold_increments(path: Path) -> bool:
    if any(_FOLDER.match(part) for part in path.parts) or path.name == "increments":
        return True
    return path.is_dir() and (path / "increments").is_dir()
