"""The run summary table, and the operator commands ``status``, ``history``, ``rerun --failed``
and ``backfill``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

AddConfig = Callable[[argparse.ArgumentParser], None]


def add_parsers(sub: Any, add_config: AddConfig) -> None:
    """The operator commands' argument parsers."""
    status = sub.add_parser("status", help="per dataset and layer: last run, state, age, rows, last error")
    add_config(status)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    history = sub.add_parser("history", help="the last runs, newest first, with each layer's outcome")
    add_config(history)
    history.add_argument("--dataset", help="only this dataset's (or derived table's) layers")
    history.add_argument("--last", type=int, default=10, metavar="N", help="the last N runs (default 10)")
    history.add_argument("--json", action="store_true", help="print one JSON array")
    rerun = sub.add_parser("rerun", help="run again what failed or was abandoned in the last run")
    add_config(rerun)
    rerun.add_argument(
        "--failed", action="store_true", required=True, help="the failed or abandoned layers (required)"
    )
    rerun.add_argument("--json", action="store_true", help="end the output with one JSON summary")
    rerun.add_argument("--strict", action="store_true", help="exit 1 on warnings too, as for run")
    rerun.add_argument(
        "--wait", type=float, metavar="SECONDS", help="wait this long for a run in progress, as for run"
    )
    backfill = sub.add_parser(
        "backfill", help="run silver and gold of a dataset again from a bronze version (no file re-ingested)"
    )
    add_config(backfill)
    backfill.add_argument("--dataset", required=True, help="the dataset (required)")
    start = backfill.add_mutually_exclusive_group(required=True)
    start.add_argument(
        "--from-version",
        type=count_arg,
        metavar="N",
        help="from this bronze Delta version on (DESCRIBE HISTORY)",
    )
    start.add_argument(
        "--since",
        type=_moment,
        metavar="DATE",
        help="from the first bronze version committed at or after DATE (ISO 8601; UTC unless it says)",
    )
    backfill.add_argument("--json", action="store_true", help="end the output with one JSON summary")
    backfill.add_argument("--strict", action="store_true", help="exit 1 on warnings too, as for run")
    backfill.add_argument(
        "--wait", type=float, metavar="SECONDS", help="wait this long for a run in progress, as for run"
    )


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None


def open_session(args: argparse.Namespace) -> tuple[Any, Any]:
    from lakehouse.config import load_config
    from lakehouse.log import configure_logging
    from lakehouse.spark import get_spark

    configure_logging()
    config = load_config(args.config, args.env)
    return get_spark(config.spark), config


def _age(seconds: float | None) -> str:
    from lakehouse.operations import age_text

    return "-" if seconds is None else age_text(seconds)


def cell_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def print_rows(header: list[str], rows: list[list[Any]]) -> None:
    cells = [[cell_text(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def print_table(summary: dict[str, Any]) -> None:
    header = (
        f"{'dataset':<22}{'layer':<8}{'status':<24}{'read':>9}{'written':>9}{'quarant.':>9}{'dropped':>9}"
        f"{'bad files':>10}{'took':>8}"
    )
    for item in summary.get("abandoned", []):
        print(
            f"earlier run {item['run_id']}: {item['dataset']}/{item['layer']} marked abandoned "
            f"(started {item['started_at']}, it ended without an outcome: killed or lost)"
        )
    print(f"run {summary['run_id']} ({summary['pipeline']}, env {summary['env']}): {summary['status']}")
    print(header)
    for dataset, layers in summary["datasets"].items():
        for layer, r in layers.items():
            bad = len((r.get("details") or {}).get("bad_files") or {})
            took = "-" if r.get("duration_s") is None else f"{r['duration_s']:.1f}s"
            print(
                f"{dataset:<22}{layer:<8}{r['status']:<24}{r['rows_read']:>9}{r['rows_written']:>9}"
                f"{r['rows_quarantined']:>9}{r['rows_dropped']:>9}{bad:>10}{took:>8}"
            )
            if (r.get("details") or {}).get("cdc"):
                print(
                    "  changes: "
                    + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in r["details"]["cdc"].items())
                )
            if r.get("error"):
                print(f"  ! {r['error']}")
    if summary.get("warnings"):
        print("warnings:")
        for line in summary["warnings"]:
            print(f"  - {line}")


def report(summary: dict[str, Any], as_json: bool, strict: bool = False) -> int:
    print_table(summary)
    if as_json:
        print(json.dumps(summary, default=str))
    if summary["status"] != "succeeded":
        print(f"lakehouse: run failed: {summary['error']}", file=sys.stderr)
        return 1
    if strict and summary.get("warnings"):
        count = len(summary["warnings"])
        print(
            f"lakehouse: run succeeded with {count} warning(s) and --strict: {summary['warnings'][0]}",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_rerun(args: argparse.Namespace) -> int:
    from lakehouse.config import load_config
    from lakehouse.log import configure_logging
    from lakehouse.operations import failed_in_last_run
    from lakehouse.pipeline import run_pipeline
    from lakehouse.spark import get_spark

    configure_logging()
    config = load_config(args.config, args.env)
    spark = get_spark(config.spark)
    plan = failed_in_last_run(spark, config)
    if plan.empty:
        print(f"nothing to rerun: no layer failed or was abandoned in the last run ({plan.run_id or 'none'})")
        return 0
    what = [f"{d}: {', '.join(layers)}" for d, layers in plan.layers.items()] + [
        f"{d}: gold" for d in plan.derived
    ]
    print(f"rerunning what failed in run {plan.run_id}: " + "; ".join(what))
    summary = run_pipeline(spark, config, only=plan.layers, derived=plan.derived, wait=args.wait)
    return report(summary.to_dict(), args.json, args.strict)


def cmd_backfill(args: argparse.Namespace) -> int:
    from lakehouse.backfill import backfill, check_dataset
    from lakehouse.config import load_config
    from lakehouse.log import configure_logging
    from lakehouse.spark import get_spark

    configure_logging()
    config = load_config(args.config, args.env)
    check_dataset(config, args.dataset)  # refused before Spark starts
    spark = get_spark(config.spark)
    summary = backfill(
        spark, config, args.dataset, from_version=args.from_version, since=args.since, wait=args.wait
    ).to_dict()
    silver = summary["datasets"].get(args.dataset, {}).get("silver") or {}
    done = (silver.get("details") or {}).get("backfill")
    if done:
        first, last = done["bronze_versions"]
        removed = done["removed_first"]
        print(
            f"backfill of {args.dataset}: bronze versions {first} to {last} read again; taken out of "
            f"silver first: {removed['silver']} rows, of its quarantine: {removed['quarantine']} rows"
        )
    return report(summary, args.json, args.strict)


def cmd_status(args: argparse.Namespace) -> int:
    from lakehouse.operations import status

    spark, config = open_session(args)
    found = status(spark, config)
    if args.json:
        print(json.dumps(found, default=str))
        return 0
    print(f"pipeline {found['pipeline']} (env {found['env']}), as of {cell_text(found['as_of'])} UTC")
    print_rows(
        ["dataset", "layer", "state", "last run", "age", "read", "written", "quarant.", "took"],
        [
            [e["dataset"], e["layer"], e["status"], e.get("run_id"), _age(e.get("age_s")), e.get("rows_read"),
             e.get("rows_written"), e.get("rows_quarantined"),
             None if e.get("duration_s") is None else f"{e['duration_s']:.1f}s"]
            for e in found["layers"]
        ],
    )  # fmt: skip
    for e in found["layers"]:
        if e["last_error"]:
            err = e["last_error"]
            print(
                f"  ! {e['dataset']}/{e['layer']} (run {err['run_id']}): {err['error_class']}: {err['error']}"
            )
    print("gold freshness")
    print_rows(
        ["table", "version", "updated", "age", "last success"],
        [
            [g["dataset"], g["version"], g["updated_at"], _age(g["age_s"]), g["last_success_run"]]
            for g in found["gold"]
        ],
    )
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from lakehouse.operations import history

    spark, config = open_session(args)
    runs = history(spark, config, args.dataset, args.last)
    if args.json:
        print(json.dumps(runs, default=str))
        return 0
    if not runs:
        print(
            f"no runs of pipeline {config.name} recorded" + (f" for {args.dataset}" if args.dataset else "")
        )
        return 0
    for run in runs:
        print(f"run {run['run_id']}: {run['status']} (started {cell_text(run['started_at'])})")
        for r in run["layers"]:
            took = "-" if r["duration_s"] is None else f"{r['duration_s']:.1f}s"
            written = cell_text(r["rows_written"])
            line = f"  {r['dataset']:<22}{r['layer']:<8}{r['status']:<25}{written:>9} rows  {took}"
            print(line + (f"  ! {r['error']}" if r["error"] else ""))
    return 0


def count_arg(text: str, least: int = 0) -> int:
    value = int(text)
    if value < least:
        raise argparse.ArgumentTypeError(f"must be {least} or more, not {value}")
    return value
