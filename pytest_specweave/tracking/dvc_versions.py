"""The DVC version of an input file, read from what DVC wrote: `.dvc` files and `dvc.lock`.

"Version data — use DVC or similar" (the SpecWeave ML workflow). When a file an experiment reads
(`exp.log_input(path)`) is tracked by DVC, its version is recorded beside the sha256 the store
keeps: {"md5": …, "file": the .dvc file or dvc.lock that names it, "path": the path DVC gives it,
"stage": the dvc.yaml stage that wrote it (dvc.lock only), "matches": whether the file on disk has
that md5}. A file inside a tracked folder (`dvc add data/`) gets the folder's md5 (`….dir`) and
its path in it. No `dvc` import: DVC's files are YAML (PyYAML), and DVC 3's md5 of a file is the md5
of its bytes.

Found by walking up from the file to the repository root (the folder holding `.dvc/`); None when
the project does not use DVC or DVC does not track the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def dvc_root(path: Path) -> Path | None:
    for folder in [path.parent, *path.parent.parents]:
        if (folder / ".dvc").is_dir():
            return folder
    return None


def _yaml(path: Path):
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _from_dvc_file(path: Path, root: Path) -> dict | None:
    """`data/x.csv.dvc` beside the file, or `<folder>.dvc` beside a tracked folder holding it."""
    candidates = [path] + [p for p in path.parents if p != root and root in p.parents]
    for tracked in candidates:
        dvc_file = tracked.with_name(tracked.name + ".dvc")
        if not dvc_file.is_file():
            continue
        found = _yaml(dvc_file)
        for out in (found or {}).get("outs") or []:
            if isinstance(out, dict) and str(out.get("path")) == tracked.name and out.get("md5"):
                entry = {"md5": str(out["md5"]), "file": dvc_file.relative_to(root).as_posix(),
                         "path": tracked.relative_to(root).as_posix(), "stage": None}
                if tracked != path:
                    entry["member"] = path.relative_to(tracked).as_posix()
                return entry
    return None


def _from_lock(path: Path, root: Path) -> dict | None:
    """An output of a stage in a dvc.lock between the file's folder and the root."""
    for folder in [path.parent, *path.parent.parents]:
        lock = folder / "dvc.lock"
        if lock.is_file():
            stages = (_yaml(lock) or {}).get("stages") or {}
            for stage, body in stages.items() if isinstance(stages, dict) else []:
                for out in (body or {}).get("outs") or []:
                    if not isinstance(out, dict) or not out.get("md5"):
                        continue
                    target = (folder / str(out.get("path", ""))).resolve()
                    if target == path or target in path.parents:
                        entry = {"md5": str(out["md5"]), "file": lock.relative_to(root).as_posix(),
                                 "path": target.relative_to(root).as_posix(), "stage": str(stage)}
                        if target != path:
                            entry["member"] = path.relative_to(target).as_posix()
                        return entry
        if folder == root:
            break
    return None


def dvc_version(path) -> dict | None:
    """The DVC version of the file at `path` (see the module), or None."""
    path = Path(path).resolve()
    root = dvc_root(path)
    if root is None or not path.is_file():
        return None
    entry = _from_lock(path, root) or _from_dvc_file(path, root)
    if entry is None:
        return None
    if "member" not in entry:
        entry["matches"] = _md5(path) == entry["md5"]
    return entry


def changed_versions(previous_inputs, current: dict) -> str | None:
    """A note when `current` (an input entry with "dvc") names a path whose DVC md5 differs in `previous_inputs`."""
    dvc = current.get("dvc")
    if not isinstance(dvc, dict):
        return None
    for entry in previous_inputs or []:
        before = entry.get("dvc") if isinstance(entry, dict) else None
        if isinstance(before, dict) and entry.get("path") == current.get("path") and before.get("md5") != dvc.get("md5"):
            return (f"{current.get('path')}: its DVC version changed since the previous run "
                    f"(md5 {str(before.get('md5'))[:12]}… → {str(dvc.get('md5'))[:12]}…, {dvc.get('file')})")
    return None
