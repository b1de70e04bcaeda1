"""The review commands: ``check-slo``, ``quarantine show`` / ``replay`` and ``report``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lakehouse.cli_ops import AddConfig, cell_text, count_arg, open_session, print_rows, report


def _runs(text: str) -> int:
    return count_arg(text, 1)


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
        type=count_arg,
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

    spark, config = open_session(args)
    found = check_slos(spark, config, args.dataset)
    if args.json:
        print(json.dumps(found, default=str))
    else:
        print(
            f"pipeline {found['pipeline']} (env {found['env']}), SLOs as of {cell_text(found['as_of'])} UTC"
        )
        print_rows(
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
    print_rows(
        ["rows", "reason", "message"], [[r["count"], r["label"], r["message"]] for r in table["reasons"]]
    )
    if table["sample"]:
        print(f"first {len(table['sample'])} row(s):")
    for i, row in enumerate(table["sample"], 1):
        where = ", ".join(f"{k} {cell_text(row[k])}" for k in ("file", "run_id", "quarantined_at") if row[k])
        print(f"  {i}. {where}")
        for why in row["reasons"]:
            value = "" if why["value"] is None else f" (value {why['value']!r})"
            print(f"     - {why['label']}: {why['message']}{value}")
        print(f"     row: {row['row']}")


def cmd_quarantine(args: argparse.Namespace) -> int:
    from lakehouse.quarantine_review import replay, show

    spark, config = open_session(args)
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
    spark, config = open_session(args)
    data = gather(spark, config, args.last)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as out:
            out.write(render(data))
    if args.json:
        print(json.dumps(data, default=str))
    else:
        print(f"report of {len(data['runs'])} run(s) of pipeline {config.name} written to {args.out}")
    return 0
