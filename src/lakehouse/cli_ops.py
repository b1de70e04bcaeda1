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
        type=_count,
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


def _session(args: argparse.Namespace) -> tuple[Any, Any]:
    from lakehouse.config import load_config
    from lakehouse.log import configure_logging
    from lakehouse.spark import get_spark

    configure_logging()
    config = load_config(args.config, args.env)
    return get_spark(config.spark), config


def _age(seconds: float | None) -> str:
    from lakehouse.operations import age_text

    return "-" if seconds is None else age_text(seconds)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> None:
    cells = [[_text(v) for v in row] for row in rows]
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

    spark, config = _session(args)
    found = status(spark, config)
    if args.json:
        print(json.dumps(found, default=str))
        return 0
    print(f"pipeline {found['pipeline']} (env {found['env']}), as of {_text(found['as_of'])} UTC")
    _table(
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
    _table(
        ["table", "version", "updated", "age", "last success"],
        [
            [g["dataset"], g["version"], g["updated_at"], _age(g["age_s"]), g["last_success_run"]]
            for g in found["gold"]
        ],
    )
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from lakehouse.operations import history

    spark, config = _session(args)
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
        print(f"run {run['run_id']}: {run['status']} (started {_text(run['started_at'])})")
        for r in run["layers"]:
            took = "-" if r["duration_s"] is None else f"{r['duration_s']:.1f}s"
            written = _text(r["rows_written"])
            line = f"  {r['dataset']:<22}{r['layer']:<8}{r['status']:<25}{written:>9} rows  {took}"
            print(line + (f"  ! {r['error']}" if r["error"] else ""))
    return 0


def _count(text: str, least: int = 0) -> int:
    value = int(text)
    if value < least:
        raise argparse.ArgumentTypeError(f"must be {least} or more, not {value}")
    return value


def _runs(text: str) -> int:
    return _count(text, 1)


def add_review_parsers(sub: Any, add_config: AddConfig) -> None:
    """``check-slo`` and ``quarantine show``."""
    slo = sub.add_parser(
        "check-slo", help="evaluate the contracts' freshness and volume SLOs; exit 1 on a breach"
    )
    add_config(slo)
    slo.add_argument("--dataset", help="only this dataset's SLOs")
    slo.add_argument("--json", action="store_true", help="print one JSON object")
    quarantine = sub.add_parser("quarantine", help="review quarantined rows")
    q_sub = quarantine.add_subparsers(dest="quarantine_command", required=True)
    show = q_sub.add_parser("show", help="a dataset's quarantined rows: counts per reason and the first rows")
    add_config(show)
    show.add_argument("--dataset", required=True, help="the dataset (required)")
    show.add_argument(
        "--reason",
        metavar="R",
        help="only rows with a reason whose rule or label is exactly R (cast, 'cast on value')",
    )
    show.add_argument(
        "--limit",
        type=_count,
        default=20,
        metavar="N",
        help="show the first N rows (default 20; 0: counts only)",
    )
    show.add_argument("--json", action="store_true", help="print one JSON object")
    replay = q_sub.add_parser(
        "replay", help="put quarantined rows through the current contract again (after a fix); each row once"
    )
    add_config(replay)
    replay.add_argument("--dataset", required=True, help="the dataset (required)")
    replay.add_argument("--reason", metavar="R", help="only rows with this rule or label, as for show")
    replay.add_argument("--json", action="store_true", help="end the output with one JSON summary")
    replay.add_argument("--strict", action="store_true", help="exit 1 on warnings too, as for run")
    replay.add_argument(
        "--wait", type=float, metavar="SECONDS", help="wait this long for a run in progress, as for run"
    )


def cmd_check_slo(args: argparse.Namespace) -> int:
    from lakehouse.slo import BREACH, check_slos

    spark, config = _session(args)
    found = check_slos(spark, config, args.dataset)
    if args.json:
        print(json.dumps(found, default=str))
    else:
        print(f"pipeline {found['pipeline']} (env {found['env']}), SLOs as of {_text(found['as_of'])} UTC")
        _table(
            ["dataset", "SLO", "measured", "bound", "state"],
            [[c["dataset"], c["slo"], c["measured"], c["bound"], c["status"]] for c in found["checks"]],
        )
    breached = [c for c in found["checks"] if c["status"] == BREACH]
    for c in breached:
        print(
            f"lakehouse: SLO breached: {c['dataset']} {c['slo']}: {c['measured']} (bound {c['bound']})",
            file=sys.stderr,
        )
    return 1 if breached else 0


def _print_quarantine(table: dict[str, Any], reason: str | None) -> None:
    title = f"{table['layer']} quarantine {table['table']}"
    if not table["layer_ran"]:
        print(f"{title}: no table yet (the layer has not run)")
        return
    if not table["rows"]:
        print(f"{title}: empty" + ("" if table["exists"] else " (no row quarantined yet)"))
        return
    kept = f", {table['matching']} with reason {reason!r}" if reason is not None else ""
    replayed = f" ({table['replayed']} replayed earlier, not counted)" if table.get("replayed") else ""
    print(f"{title}: {table['rows']} row(s){kept}{replayed}")
    if not table["matching"]:
        return
    _table(["rows", "reason", "message"], [[r["count"], r["label"], r["message"]] for r in table["reasons"]])
    if table["sample"]:
        print(f"first {len(table['sample'])} row(s):")
    for i, row in enumerate(table["sample"], 1):
        where = ", ".join(f"{k} {_text(row[k])}" for k in ("file", "run_id", "quarantined_at") if row[k])
        print(f"  {i}. {where}")
        for why in row["reasons"]:
            value = "" if why["value"] is None else f" (value {why['value']!r})"
            print(f"     - {why['label']}: {why['message']}{value}")
        print(f"     row: {row['row']}")


def cmd_quarantine(args: argparse.Namespace) -> int:
    from lakehouse.quarantine_review import replay, show

    spark, config = _session(args)
    if args.quarantine_command == "replay":
        summary = replay(spark, config, args.dataset, args.reason, wait=args.wait).to_dict()
        silver = summary["datasets"].get(args.dataset, {}).get("silver") or {}
        done = (silver.get("details") or {}).get("replay")
        if done:
            print(
                f"quarantine replay {done['replay_id']} of {args.dataset}: {done['replayed']} row(s) "
                f"replayed: {done['to_silver']} to silver, {done['still_quarantined']} still quarantined "
                f"(with their new reasons), {done['not_found']} not found in bronze (erased)"
            )
        return report(summary, args.json, args.strict)
    found = show(spark, config, args.dataset, args.reason, args.limit)
    if args.json:
        print(json.dumps(found, default=str))
        return 0
    print(f"dataset {found['dataset']} (pipeline {found['pipeline']}, env {found['env']})")
    for table in found["tables"]:
        _print_quarantine(table, args.reason)
    return 0


def add_report_parser(sub: Any, add_config: AddConfig) -> None:
    """``report``: the HTML page of the last runs."""
    page = sub.add_parser("report", help="write one self-contained HTML page about the last runs")
    add_config(page)
    page.add_argument("--out", metavar="FILE", help="write the HTML page here (e.g. report.html)")
    page.add_argument("--last", type=_runs, default=30, metavar="N", help="the last N runs (default 30)")
    page.add_argument("--json", action="store_true", help="print the page's data as one JSON object")


def cmd_report(args: argparse.Namespace) -> int:
    from lakehouse.report.gather import gather
    from lakehouse.report.page import render

    if not args.out and not args.json:
        print("lakehouse: report needs --out FILE (the HTML page), --json, or both", file=sys.stderr)
        return 2
    spark, config = _session(args)
    data = gather(spark, config, args.last)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(render(data))
    if args.json:
        print(json.dumps(data, default=str))
    else:
        print(f"report of {len(data['runs'])} run(s) of pipeline {config.name} written to {args.out}")
    return 0
