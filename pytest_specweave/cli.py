"""The `pytest-specweave` command (also `python -m pytest_specweave`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from .errors import SpecweaveError


def find_increments(path: str | None, cwd: Path) -> list[Path]:
    """An increment folder, a folder of increments (`increments/`, `.specweave/`), or an id prefix;
    no path: the current project's increments (or the increment the working directory is in)."""
    return scan_increments(path, cwd)[0]


def scan_increments(path: str | None, cwd: Path) -> tuple[list, list]:
    """`find_increments`, plus the folders passed over that look like increments (model/skipped.py):
    archives, and folders with an increment's name or files but not both."""
    from .model.increment import is_increment_dir, resolve_increment
    from .model.skipped import folder_skipped

    if path is None:
        return current_project_increments(cwd)
    folder = (cwd / path) if not Path(path).is_absolute() else Path(path)
    if not folder.is_dir():
        return [resolve_increment(path, cwd)], []
    if is_increment_dir(folder):
        return [folder], []
    itself = folder_skipped(folder)
    if itself is not None:
        raise SpecweaveError(f"{path}: not an increment: it {itself.reason}")
    for parent in (folder, folder / "increments", folder / ".specweave" / "increments"):
        found = _increment_folders(parent)
        if found:
            return found, folders_passed_over(parent)
    skipped = folders_passed_over(folder)
    said = "; passed over: " + "; ".join(f"{_relative(s.path, cwd)} {s.reason}" for s in skipped) if skipped else ""
    raise SpecweaveError(f"{path}: no increment folders (NNNN-name holding spec.md, tasks.md or tests.md) in it{said}")


def folders_passed_over(parent: Path) -> list:
    """The Skipped records of the folders of `parent` (and of its `_archive/`-like folders) that look
    like increments and are none, and of each `_archive/`-like folder holding increments."""
    from .model.increment import is_increment_dir
    from .model.skipped import SET_ASIDE, folder_skipped, set_aside_skipped

    try:
        entries = sorted(p for p in parent.iterdir() if p.is_dir())
    except OSError:
        return []
    skipped = [s for s in map(folder_skipped, entries) if s is not None]
    for entry in entries:
        if entry.name in SET_ASIDE and parent.name == "increments":
            inner = sorted(p for p in entry.iterdir() if p.is_dir())
            count = sum(1 for p in inner if is_increment_dir(p))
            if count:
                skipped.append(set_aside_skipped(entry, count))
            skipped += [s for s in map(folder_skipped, inner) if s is not None]
    return sorted(skipped, key=lambda s: str(s.path))


def current_project_increments(cwd: Path) -> tuple[list, list]:
    """Found as git finds its repository: the working directory, then each folder above it, is an
    increment, an `increments/` folder, or holds `increments/` or `.specweave/increments/`. Returns
    the increments and the folders passed over (see `folders_passed_over`)."""
    from .model.increment import is_increment_dir

    for folder in (cwd, *cwd.parents):
        if is_increment_dir(folder):
            return [folder], []
        holders = ([folder] if folder.name == "increments" else []) + [folder / "increments",
                                                                       folder / ".specweave" / "increments"]
        for holder in holders:
            found = _increment_folders(holder)
            if found:
                return found, folders_passed_over(holder)
    raise SpecweaveError(f"no increments/ or .specweave/increments/ in {cwd} or any folder above it "
                         "(give the path of an increment or of a folder of increments)")


def _increment_folders(parent: Path) -> list[Path]:
    from .model.increment import is_increment_dir

    try:
        return sorted(p for p in parent.iterdir() if p.is_dir() and is_increment_dir(p))
    except OSError:
        return []


def _relative(path: Path, cwd: Path) -> str:
    try:
        return os.path.relpath(path, cwd)
    except ValueError:
        return str(path)


def list_items(increments: list[Path], cwd: Path, rootdir: Path | None = None) -> list[dict]:
    """One row per task, criterion and metric; `node_id` is pytest's for a run whose rootdir is `rootdir`
    (default: the rootdir of `pytest` run in `cwd`)."""
    from .model.increment import Increment
    from .pytestlayer.node_ids import node_id, pytest_rootdir

    rootdir = rootdir or pytest_rootdir([], cwd)
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
                "node_id": node_id(element.path, element.id, rootdir),
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
        "node_id": None,
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
    from .pytestlayer.node_ids import pytest_rootdir

    rows = list_items(folders, cwd, pytest_rootdir([args.path] if args.path else [], cwd))
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
    status = 0
    folders = find_increments(args.path, cwd)
    with project_hooks(folders) as hooks:
        for folder in folders:
            status = _summarise(folder, cwd, hooks[folder]) or status
    return status


@contextlib.contextmanager
def project_hooks(folders: list[Path]):
    """Each increment folder's hooks: those of its project's conftest.py (pytestlayer/project_hooks.py), whose
    metrics stay registered while the command judges, and are forgotten after."""
    from .project import increments_holder
    from .pytestlayer.metric_hook import forget, register_all
    from .pytestlayer.project_hooks import ProjectHooks

    holders = {folder: increments_holder(folder) for folder in folders}
    by_holder = {holder: ProjectHooks(holder) for holder in dict.fromkeys(holders.values())}
    names: list[str] = []
    try:
        for hooks in by_holder.values():
            names += register_all(hooks)
        yield {folder: by_holder[holder] for folder, holder in holders.items()}
    finally:
        forget(names)


def _summarise(folder: Path, cwd: Path, hooks) -> int:
    """Promote (unless the project's veto says no), then rewrite the increment's comparison and summary."""
    from .pytestlayer.criteria_files import load_increment
    from .pytestlayer.promotion_hooks import failed, outcome, promote_for_session
    from .pytestlayer.report_sections import added_summary_lines
    from .pytestlayer.session import increment_judgement
    from .reports.comparison import write_comparison
    from .reports.summary import write_summary

    increment = load_increment(hooks, folder)
    if not increment.tracks_experiments:
        print(f"{folder.name}: tracks no experiments; nothing to summarise")
        return 0
    status = 0
    judgement = increment_judgement(hooks, folder)  # once: the promotion, the comparison and the summary share it
    try:
        metadata = promote_for_session(hooks, folder, judgement)
        if metadata is not None:
            shown = _relative(folder / "models" / metadata["file"], cwd)
            print(f"{shown} (promoted: the model of {metadata['source_experiment']})")
    except (SpecweaveError, OSError) as error:
        failed(hooks, folder, judgement.judged.folder if judgement.judged else None, error)
        print(f"pytest-specweave: could not promote the best model of {folder.name}: {error}", file=sys.stderr)
        status = 1
    promotion = outcome(hooks, folder)
    if promotion is not None and promotion.veto is not None:
        print(f"{folder.name}: {promotion.veto.describe()} (no model version written)")
    write_comparison(increment, judgement)
    print(_relative(write_summary(increment, None, judgement, promotion=promotion,
                                  sections=added_summary_lines(hooks, folder)), cwd))
    return status


def _cmd_gather(args, cwd: Path) -> int:
    from .shards import gather, write_report

    increments = find_increments(args.into, cwd)
    result = gather([cwd / shard for shard in args.shards], increments, args.report)
    for folder, files in result.copied.items():
        noun = "file" if len(files) == 1 else "files"
        print(f"{_relative(folder, cwd)}: {len(files)} {noun} from {_relative(cwd / result.sources[folder], cwd)}")
    if result.not_run:
        print("not run by any shard: " + ", ".join(folder.name for folder in result.not_run))
    if args.json:
        if result.report is None:
            raise SpecweaveError("--json needs --report, the path of each shard's JSON report (its --sw-json)")
        print(_relative(write_report(result.report, cwd / args.json), cwd))
    if result.failed:
        print(f"failed: {', '.join(result.failed)}")
        return 1
    return 0


def _cmd_compare(args, cwd: Path) -> int:
    from .evaluation.judgement import judge_increment
    from .pytestlayer.criteria_files import load_increment
    from .reports.comparison import comparison_table

    folders = find_increments(args.path, cwd)
    with project_hooks(folders) as hooks:
        for folder in folders:
            print(f"## {folder.name}\n")
            print(comparison_table(judge_increment(load_increment(hooks[folder], folder))))
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


def _cmd_prune(args, cwd: Path) -> int:
    from .tracking.prune import prune_history

    if args.keep < 1:
        raise SpecweaveError(f"--keep {args.keep}: keep at least 1 run (the current one) of each experiment")
    for folder in find_increments(args.path, cwd):
        result = prune_history(folder, args.keep, dry_run=args.dry_run)
        print(f"{_relative(folder, cwd)}: {result.describe(args.dry_run)}")
    return 0


def _cmd_pull(args, cwd: Path) -> int:
    from .tracking.mlflow_pull import pull_increment

    folders = find_increments(args.increment, cwd)
    if len(folders) != 1:
        raise SpecweaveError(f"pull: {args.increment!r} names {len(folders)} increments; name one")
    pulled = pull_increment(folders[0], tracking_uri=args.tracking_uri, run_id=args.run_id, parent=args.parent)
    for run in pulled:
        print(f"{_relative(folders[0], cwd)}: {run.describe()}")
    return 0


def _cmd_drift(args, cwd: Path) -> int:
    import json

    from .monitoring.drift import DriftLimits, check_drift, increment_profile, read_profile, read_table
    from .monitoring.limits import spec_limits

    folders = find_increments(args.increment, cwd)
    if len(folders) != 1:
        raise SpecweaveError(f"drift: {args.increment!r} names {len(folders)} increments; name one")
    folder = folders[0]
    try:
        profile, source = (read_profile(args.profile), Path(args.profile)) if args.profile else increment_profile(folder)
        data = read_table(Path(args.file) if Path(args.file).is_absolute() else cwd / args.file)
        limits = spec_limits(folder) or DriftLimits()
        if args.psi is not None or args.p_value is not None:
            limits = DriftLimits(psi=args.psi if args.psi is not None else limits.psi,
                                 p_value=args.p_value if args.p_value is not None else limits.p_value)
        report = check_drift(profile, data, limits=limits)
    except (ValueError, TypeError) as error:
        raise SpecweaveError(str(error)) from None
    if args.json:
        print(json.dumps({"increment": folder.name, "profile": _relative(source, cwd), "file": args.file,
                          **report.as_json()}, indent=2))
    else:
        print(f"{args.file} against {_relative(source, cwd)}:\n")
        print(report.markdown())
        print(("DRIFT: " if not report.ok else "OK: ") + report.message())
    return 0 if report.ok else 1


def package_version() -> str:
    """The installed distribution's version; the source tree's when it is run without being installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest-specweave")
    except PackageNotFoundError:
        from . import __version__

        return __version__


_PATH_HELP = ("an increment (folder or id prefix) or a folder of increments; default: the current project "
              "(increments/ or .specweave/increments/ here or in a folder above, or the increment you are in)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pytest-specweave", description="ML increments as pytest suites.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="tasks, criteria and success metrics with their file and line")
    listing.add_argument("path", nargs="?", default=None, help=_PATH_HELP)
    listing.add_argument("--json", action="store_true",
                         help="print a JSON array (each item with its pytest node id, as pytest run here names it)")
    listing.set_defaults(run=_cmd_list)
    summary = commands.add_parser("summary", help="rewrite COMPLETION-SUMMARY.md from the store, no training")
    summary.add_argument("path", nargs="?", default=None, help=_PATH_HELP)
    summary.set_defaults(run=_cmd_summary)
    gather = commands.add_parser("gather", help="bring the stores and reports of shard jobs (--sw-shard=i/N) into "
                                                "this checkout; exit 1 when a shard's report has a failed increment")
    gather.add_argument("shards", nargs="+", metavar="SHARD_DIR",
                        help="a shard job's copy of the project, or of its increments/ folder (a downloaded artifact)")
    gather.add_argument("--into", default=None, metavar="PATH", help=_PATH_HELP)
    gather.add_argument("--report", default=None, metavar="PATH",
                        help="each shard's JSON report (its --sw-json), relative to its SHARD_DIR: merged, and gated on")
    gather.add_argument("--json", default=None, metavar="OUT", help="write the merged JSON report there")
    gather.set_defaults(run=_cmd_gather)
    compare = commands.add_parser("compare", help="print the comparison table of the experiments")
    compare.add_argument("path", nargs="?", default=None, help=_PATH_HELP)
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
    prune = commands.add_parser("prune", help="remove the older runs of each experiment from experiments/*/history/")
    prune.add_argument("path", nargs="?", default=".",
                       help="an increment (folder or id prefix) or a folder of increments (default: the current one)")
    prune.add_argument("--keep", type=int, required=True, metavar="N",
                       help="runs kept of each experiment: its current run and the N - 1 before it (the run a "
                            "promoted model came from is always kept)")
    prune.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    prune.set_defaults(run=_cmd_prune)
    pull = commands.add_parser("pull", help="bring an increment's runs from an MLflow tracking server into its "
                                            "experiments/ (docs/scaling.md)")
    pull.add_argument("increment", help="the increment (folder or id prefix)")
    which = pull.add_mutually_exclusive_group()
    which.add_argument("--run-id", default=None, metavar="ID", help="pull this run only")
    which.add_argument("--parent", default=None, metavar="ID",
                       help="pull the child runs of this run (the latest finished one of each name)")
    pull.add_argument("--tracking-uri", default=None, metavar="URI",
                      help="the tracking server (default: MLFLOW_TRACKING_URI)")
    pull.set_defaults(run=_cmd_pull)
    drift = commands.add_parser("drift", help="check new data against the promoted model's reference profile "
                                              "(PSI and a KS or chi-square test per feature; exit 1 on drift)")
    drift.add_argument("increment", help="the increment whose promoted model's profile is the reference")
    drift.add_argument("file", help="the new data: .csv, .csv.gz, .tsv, .parquet, .feather, .json or .jsonl")
    drift.add_argument("--profile", default=None, metavar="JSON",
                       help="a reference profile other than models/model-vN.profile.json of the latest version")
    drift.add_argument("--psi", type=float, default=None, help="PSI limit (default: spec.md's Drift: line, else 0.2)")
    drift.add_argument("--p-value", type=float, default=None, dest="p_value",
                       help="also fail a feature whose KS or chi-square p-value is below this")
    drift.add_argument("--json", action="store_true", help="print the report as JSON")
    drift.set_defaults(run=_cmd_drift)
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
