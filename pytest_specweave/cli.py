"""The `pytest-specweave` command (also `python -m pytest_specweave`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import SpecweaveError


def find_increments(path: str, cwd: Path) -> list[Path]:
    """An increment folder, a folder of increments (`increments/`, `.specweave/`), or an id prefix."""
    return scan_increments(path, cwd)[0]


def scan_increments(path: str, cwd: Path) -> tuple[list[Path], list]:
    """`find_increments`, plus the folders passed over that look like increments (model/skipped.py):
    archives, and folders with an increment's name or files but not both."""
    from .model.increment import is_increment_dir, resolve_increment
    from .model.skipped import SET_ASIDE, folder_skipped, set_aside_skipped

    folder = (cwd / path) if not Path(path).is_absolute() else Path(path)
    if not folder.is_dir():
        return [resolve_increment(path, cwd)], []
    if is_increment_dir(folder):
        return [folder], []
    itself = folder_skipped(folder)
    if itself is not None:
        raise SpecweaveError(f"{path}: not an increment: it {itself.reason}")
    parents = [p for p in (folder, folder / "increments", folder / ".specweave" / "increments") if p.is_dir()]
    for parent in parents:
        entries = sorted(p for p in parent.iterdir() if p.is_dir())
        found = [p for p in entries if is_increment_dir(p)]
        skipped = [s for s in map(folder_skipped, entries) if s is not None]
        for entry in entries:
            if entry.name in SET_ASIDE and parent.name == "increments":
                inner = sorted(p for p in entry.iterdir() if p.is_dir())
                count = sum(1 for p in inner if is_increment_dir(p))
                if count:
                    skipped.append(set_aside_skipped(entry, count))
                skipped += [s for s in map(folder_skipped, inner) if s is not None]
        if found:
            return found, sorted(skipped, key=lambda s: str(s.path))
        if skipped:
            said = "; ".join(f"{_relative(s.path, cwd)} {s.reason}" for s in skipped)
            raise SpecweaveError(f"{path}: no increment folders (NNNN-name holding spec.md, tasks.md or tests.md) "
                                 f"in it; passed over: {said}")
    raise SpecweaveError(f"{path}: no increment folders (NNNN-name holding spec.md, tasks.md or tests.md) in it")


def _relative(path: Path, cwd: Path) -> str:
    try:
        return os.path.relpath(path, cwd)
    except ValueError:
        return str(path)


def list_items(increments: list[Path], cwd: Path) -> list[dict]:
    from .model.increment import Increment

    rows = []
    for folder in increments:
        increment = Increment.load(folder)
        entries = []
        if increment.tasks:
            entries += [("task", t, t.title, t.status, t.link) for t in increment.tasks.tasks]
        if increment.criteria:
            entries += [("criterion", c, c.title, None, c.link) for c in increment.criteria.criteria]
        if increment.spec:
            entries += [("metric", m, m.text, None, None) for m in increment.spec.metrics]
        for kind, element, title, status, link in entries:
            rows.append({
                "increment": folder.name,
                "kind": kind,
                "id": element.id,
                "title": title,
                "status": status,
                "file": _relative(element.path, cwd),
                "line": element.line,
                "link": link.target if link else None,
            })
    return rows


def skipped_rows(folders: list[Path], passed_over: list, cwd: Path) -> list[dict]:
    """The `kind: "skipped"` rows of `list`: folders passed over, then each increment's lines not read."""
    from .model.increment import Increment

    found = list(passed_over)
    for folder in folders:
        found += Increment.load(folder).skipped
    return [{
        "increment": record.path.parent.name if record.line is not None else None,
        "kind": "skipped",
        "id": None,
        "title": record.text,
        "status": None,
        "file": _relative(record.path, cwd),
        "line": record.line,
        "link": None,
        "reason": record.reason,
    } for record in found]


def _cmd_list(args, cwd: Path) -> int:
    from .model.source import undecodable

    folders, passed_over = scan_increments(args.path, cwd)
    for folder in folders:
        for name in ("spec.md", "tasks.md", "tests.md"):
            for problem in undecodable(folder / name) if (folder / name).is_file() else ():
                print(f"pytest-specweave: warning: {_relative(folder / name, cwd)}:{problem.line}: {problem.message}",
                      file=sys.stderr)
    rows = list_items(folders, cwd)
    skipped = skipped_rows(folders, passed_over, cwd)
    if args.json:
        print(json.dumps(rows + skipped, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        status = row["status"] or ""
        link = f"  -> {row['link']}" if row["link"] else ""
        print(f"{row['file']}:{row['line']}  {row['id']:<10} {status:<12} {row['title']}{link}")
    if skipped:
        print(f"\nNot read ({len(skipped)}):")
        for row in skipped:
            where = row["file"] if row["line"] is None else f"{row['file']}:{row['line']}"
            text = f": {row['title']}" if row["line"] is not None else ""
            print(f"  {where}: {row['reason']}{text}")
    return 0


def _cmd_summary(args, cwd: Path) -> int:
    from .evaluation.judgement import judge_increment
    from .evaluation.promotion import promote_judged_model
    from .model.increment import Increment
    from .reports.comparison import write_comparison
    from .reports.summary import write_summary

    status = 0
    for folder in find_increments(args.path, cwd):
        increment = Increment.load(folder)
        if not increment.tracks_experiments:
            print(f"{folder.name}: tracks no experiments; nothing to summarise")
            continue
        judgement = judge_increment(increment)  # once: the promotion, the comparison and the summary share it
        try:
            metadata = promote_judged_model(judgement)
            if metadata is not None:
                shown = _relative(folder / "models" / metadata["file"], cwd)
                print(f"{shown} (promoted: the model of {metadata['source_experiment']})")
        except (SpecweaveError, OSError) as error:
            print(f"pytest-specweave: could not promote the best model of {folder.name}: {error}", file=sys.stderr)
            status = 1
        write_comparison(increment, judgement)
        print(_relative(write_summary(increment, None, judgement), cwd))
    return status


def _cmd_compare(args, cwd: Path) -> int:
    from .evaluation.judgement import judge_increment
    from .model.increment import Increment
    from .reports.comparison import comparison_table

    for folder in find_increments(args.path, cwd):
        print(f"## {folder.name}\n")
        print(comparison_table(judge_increment(Increment.load(folder))))
    return 0


def _cmd_new(args, cwd: Path) -> int:
    from .scaffold import create_increment

    created = create_increment(args.title, args.type, directory=args.dir, number=args.id, cwd=cwd)
    shown = _relative(created.path, cwd)
    shown = Path(created.path if shown.startswith("..") else shown).as_posix()
    print(f"Created {shown} ({created.problem_type}):")
    for name in created.files:
        print(f"  {name}")
    print("\nNext:")
    print(f"  pytest {shown}")
    print("      runs T-003 (baseline) and T-004 (candidate) on the bundled sample; the pending tasks show as skipped")
    print(f"  pytest {shown} --sw-validate")
    print("      also checks the experiments, the best model and the data against data/schema.yaml")
    print("Then replace data/sample.csv with your data (data/README.md) and set real targets in spec.md (its TODOs).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytest-specweave", description="ML increments as pytest suites.")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="tasks, criteria and success metrics with their file and line")
    listing.add_argument("path", help="an increment (folder or id prefix) or a folder of increments")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(run=_cmd_list)
    summary = commands.add_parser("summary", help="rewrite COMPLETION-SUMMARY.md from the store, no training")
    summary.add_argument("path")
    summary.set_defaults(run=_cmd_summary)
    compare = commands.add_parser("compare", help="print the comparison table of the experiments")
    compare.add_argument("path")
    compare.set_defaults(run=_cmd_compare)
    new = commands.add_parser("new", help="scaffold the next-numbered increment of a problem type (SpecWeave's /sw:inc)")
    new.add_argument("title", help='what the increment is about, e.g. "fraud detection" (the folder name is made from it)')
    new.add_argument("--type", required=True, metavar="TYPE",
                     help="the problem type: classification, regression, forecasting or recommendation")
    new.add_argument("--dir", default=None, metavar="FOLDER",
                     help="the increments folder (default: increments/, or .specweave/increments/ when only that exists)")
    new.add_argument("--id", default=None, metavar="NNNN",
                     help="the increment number (default: one more than the highest in the folder)")
    new.set_defaults(run=_cmd_new)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args, Path.cwd())
    except SpecweaveError as error:
        print(f"pytest-specweave: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
