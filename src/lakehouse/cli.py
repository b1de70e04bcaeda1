"""The ``lakehouse`` command (also ``python -m lakehouse``, usable as a spark-submit main).

Exit codes: 0 success; 1 the run failed (a dataset or layer failed, an expectation tripped,
or with ``--strict`` a warning); 2 wrong usage or configuration, or the pipeline is already
running (see ``run_lock``). On failure a one-line cause is printed to stderr first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lakehouse.cli_ops import add_parsers as add_operator_parsers
from lakehouse.cli_ops import cmd_backfill, cmd_history, cmd_rerun, cmd_status, report
from lakehouse.cli_review import (
    add_report_parser,
    add_review_parsers,
    cmd_check_slo,
    cmd_quarantine,
    cmd_report,
)
from lakehouse.constants import LAYERS
from lakehouse.errors import ConfigError, LakehouseError, PipelineBusyError, summary

DEFAULT_CONFIG = "conf/pipelines/devices.yml"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lakehouse", description="Medallion lakehouse ETL on Spark + Delta."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add_config(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            default=os.environ.get("LAKEHOUSE_CONFIG") or _default_config(),
            help="pipeline YAML (default: $LAKEHOUSE_CONFIG, else the only file in conf/pipelines/, "
            f"else {DEFAULT_CONFIG})",
        )
        p.add_argument(
            "--env",
            default=os.environ.get("LAKEHOUSE_ENV", "local"),
            help="environment overlay in conf/envs/ (default: $LAKEHOUSE_ENV or local)",
        )

    run = sub.add_parser("run", help="run a pipeline (bronze -> silver -> gold)")
    add_config(run)
    run.add_argument("--dataset", action="append", help="only this dataset (repeatable)")
    run.add_argument("--layer", choices=(*LAYERS, "all"), default="all")
    run.add_argument("--run-id", help="use this run id instead of a new one")
    run.add_argument("--json", action="store_true", help="end the output with one JSON summary")
    run.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 on warnings too (bad files set aside, failed warn rules)",
    )
    run.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="when the pipeline is already running, wait this long for it (default: run_lock.wait)",
    )

    check = sub.add_parser("validate-config", help="parse and check a pipeline config, no Spark")
    add_config(check)
    check.add_argument("--json", action="store_true")

    infer = sub.add_parser("infer-contract", help="draft a dataset's contract from its landed files")
    add_config(infer)
    infer.add_argument("--dataset", required=True, help="a dataset of the pipeline")
    infer.add_argument(
        "--sample-files", type=int, default=20, metavar="N", help="profile the N newest files (default 20)"
    )
    infer.add_argument("--out", help="write the draft to this file (default: print it)")
    infer.add_argument("--force", action="store_true", help="overwrite --out if it exists")

    doctor = sub.add_parser("doctor", help="check Java, Spark/Delta jars, storage and secrets; no Spark")
    doctor.add_argument("--config", help="pipeline YAML (default: as for run, if it exists)")
    doctor.add_argument(
        "--env", default=os.environ.get("LAKEHOUSE_ENV", "local"), help="overlay (default: local)"
    )
    doctor.add_argument("--json", action="store_true", help="print the checks as one JSON object")

    init = sub.add_parser("init", help="create a new project that runs right away")
    init.add_argument("dir", nargs="?", default=".", help="folder to create it in (default: here)")
    init.add_argument("--name", help="pipeline name (default: the folder's name)")
    erase = sub.add_parser("forget", help="erase a person's rows from every layer (GDPR), then vacuum")
    add_config(erase)
    erase.add_argument("--dataset", required=True)
    what = erase.add_mutually_exclusive_group(required=True)
    what.add_argument("--where", help="<column> = '<value>'")
    what.add_argument("--keys-file", help="a file of values, one per line, of the column given by --column")
    erase.add_argument("--column", help="the column the --keys-file values are of")
    erase.add_argument(
        "--retain-hours",
        type=float,
        default=168.0,
        help="VACUUM retention (default 168; below it needs "
        "spark.databricks.delta.retentionDurationCheck.enabled=false)",
    )
    erase.add_argument("--by", help="who asks for the erasure (default: the OS user)")
    erase.add_argument("--json", action="store_true")

    notebook = sub.add_parser("notebook", help="Databricks-source notebooks, run locally")
    nb_sub = notebook.add_subparsers(dest="notebook_command", required=True)
    nb_run = nb_sub.add_parser("run", help="run a notebook with local Spark and a dbutils stand-in")
    nb_run.add_argument("path")
    nb_run.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="widget value (repeatable)"
    )
    add_operator_parsers(sub, add_config)
    add_review_parsers(sub, add_config)
    add_report_parser(sub, add_config)
    return parser


def _default_config() -> str:
    """The only pipeline in ``conf/pipelines/`` (a project made by ``init``), else the sample's."""
    found = sorted(Path("conf/pipelines").glob("*.yml")) if Path("conf/pipelines").is_dir() else []
    return str(found[0]) if len(found) == 1 else DEFAULT_CONFIG


def _layers(choice: str) -> tuple[str, ...]:
    return LAYERS if choice == "all" else (choice,)


def _cmd_run(args: argparse.Namespace) -> int:
    from lakehouse.config import load_config
    from lakehouse.config.validate import preflight
    from lakehouse.log import configure_logging

    configure_logging()
    config = load_config(args.config, args.env)
    if args.dataset:
        for name in args.dataset:
            config.dataset(name)
    # What would fail at run time is refused here, before Spark is imported or started.
    preflight(config, args.dataset, _layers(args.layer))
    from lakehouse.pipeline import run_pipeline
    from lakehouse.spark import get_spark

    spark = get_spark(config.spark)
    summary = run_pipeline(
        spark, config, datasets=args.dataset, layers=_layers(args.layer), run_id=args.run_id, wait=args.wait
    ).to_dict()
    return report(summary, args.json, args.strict)


def _cmd_validate(args: argparse.Namespace) -> int:
    from lakehouse.config import load_config
    from lakehouse.config.validate import Issue, check_pipeline

    try:
        config = load_config(args.config, args.env)
    except ConfigError as exc:
        if not args.json:
            raise
        print(json.dumps([Issue.of(exc).to_dict()]))
        return EXIT_USAGE
    findings = check_pipeline(config)
    if findings.errors:
        if args.json:
            print(json.dumps([issue.to_dict() for issue in findings.errors]))
        for issue in findings.errors:
            print(f"lakehouse: configuration error: {issue}", file=sys.stderr)
        count = len(findings.errors)
        print(f"{args.config} (env {config.env}): {count} error{'s' if count > 1 else ''}", file=sys.stderr)
        return EXIT_USAGE
    datasets = {n: list(d.layers) for n, d in config.datasets.items()}
    derived = [d.name for d in config.derived]
    if args.json:
        info = {
            "pipeline": config.name,
            "env": config.env,
            "root": config.storage.root,
            "landing": config.storage.landing,
            "datasets": datasets,
            "derived": derived,
            "warnings": [issue.to_dict() for issue in findings.warnings],
        }
        print(json.dumps(info))
    else:
        print(f"{args.config} (env {config.env}): ok")
        for name, layers in datasets.items():
            print(f"  {name}: {' -> '.join(layers)}")
        for name in derived:
            print(f"  {name}: derived gold")
        for issue in findings.warnings:
            print(f"warning: {issue}")
    return EXIT_OK


def _cmd_init(args: argparse.Namespace) -> int:
    from lakehouse.scaffold import create_project
    from lakehouse.spark_jars import distribution_name

    folder = Path(args.dir)
    project = create_project(folder, args.name, dist=distribution_name())
    print(f"created pipeline {project.pipeline!r} in {folder} ({len(project.files)} files)")
    for path in project.files:
        print(f"  {path.relative_to(folder)}")
    go = f"cd {folder} && " if folder != Path(".") else ""
    print(f"next: {go}lakehouse doctor && lakehouse run && python -m pytest tests")
    return EXIT_OK


def _cmd_infer(args: argparse.Namespace) -> int:
    from lakehouse.config import load_config
    from lakehouse.infer import check, draft_contract, render
    from lakehouse.log import configure_logging
    from lakehouse.scaffold import docs_location
    from lakehouse.spark import get_spark
    from lakehouse.spark_jars import distribution_name

    if args.sample_files < 1:
        raise ConfigError("--sample-files must be at least 1", found=args.sample_files, expected="N >= 1")
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.force:
        raise ConfigError("file exists (use --force to overwrite it)", key_path="--out", found=str(out))
    configure_logging()
    # The dataset alone, as landed: it may already name the contract file this writes, and
    # have a gold section (which needs a contract) and derived tables reading it.
    config = load_config(args.config, args.env, drafting=args.dataset)
    dataset = config.dataset(args.dataset)
    draft = draft_contract(get_spark(config.spark), dataset, args.sample_files)
    text = render(draft, docs_location(distribution_name()))
    check(text, str(out or "<draft>"))
    if out is None:
        print(text, end="")
        return EXIT_OK
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    relative = os.path.relpath(out.resolve(), Path(args.config).resolve().parent)
    print(
        f"wrote {out}: {len(draft.columns)} columns from {draft.sample.rows} rows in "
        f"{len(draft.sample.files)} files. Review it, then give the dataset "
        f"`contract: {relative}` in {args.config}"
    )
    return EXIT_OK


def _cmd_doctor(args: argparse.Namespace) -> int:
    from lakehouse.doctor import diagnose, report

    explicit = args.config is not None
    path = args.config or os.environ.get("LAKEHOUSE_CONFIG") or _default_config()
    checks = diagnose(path, args.env or None, explicit=explicit or "LAKEHOUSE_CONFIG" in os.environ)
    failed = any(c.blocks_run for c in checks)
    if args.json:
        print(json.dumps({"ok": not failed, "checks": [c.to_dict() for c in checks]}))
    else:
        print(f"lakehouse doctor ({path}, env {args.env or 'none'})")
        print(report(checks))
    return EXIT_FAILED if failed else EXIT_OK


def _cmd_forget(args: argparse.Namespace) -> int:
    from lakehouse.config import load_config
    from lakehouse.forget import forget, parse_where
    from lakehouse.log import configure_logging
    from lakehouse.spark import get_spark

    configure_logging()
    config = load_config(args.config, args.env)
    config.dataset(args.dataset)
    if args.where is not None:
        column, value = parse_where(args.where)
        values = [value]
    else:
        if not args.column:
            raise ConfigError("--keys-file needs --column (the column its values are of)")
        column = args.column
        with open(args.keys_file, encoding="utf-8") as handle:
            values = [line.strip() for line in handle if line.strip()]
    spark = get_spark(config.spark)
    erasure = forget(
        spark, config, args.dataset, column, values, retain_hours=args.retain_hours, erased_by=args.by
    ).to_dict()
    print(f"erasure {erasure['erasure_id']}: {erasure['rows_total']} rows deleted")
    for table, rows in erasure["rows"].items():
        print(f"  {rows:>9}  {table}")
    for table in erasure["untraceable"]:
        print(f"  {'-':>9}  {table} (no column {erasure['column']}; not erased)")
    if args.json:
        print(json.dumps(erasure))
    return EXIT_OK


def _cmd_notebook(args: argparse.Namespace) -> int:
    from lakehouse.log import configure_logging
    from lakehouse.notebooks import run_notebook
    from lakehouse.spark import get_spark

    configure_logging()
    params: dict[str, str] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--param {item!r} is not KEY=VALUE")
        params[key] = value
    result = run_notebook(args.path, params, spark=get_spark())
    if result.exit_value is not None:
        print(result.exit_value)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lakehouse`` console script."""
    args = _parser().parse_args(argv)
    handlers = {
        "run": _cmd_run,
        "validate-config": _cmd_validate,
        "init": _cmd_init,
        "infer-contract": _cmd_infer,
        "doctor": _cmd_doctor,
        "forget": _cmd_forget,
        "notebook": _cmd_notebook,
        "status": cmd_status,
        "history": cmd_history,
        "rerun": cmd_rerun,
        "backfill": cmd_backfill,
        "check-slo": cmd_check_slo,
        "quarantine": cmd_quarantine,
        "report": cmd_report,
    }
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        print(f"lakehouse: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PipelineBusyError as exc:
        print(f"lakehouse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LakehouseError as exc:
        print(f"lakehouse: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("lakehouse: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # An unexpected error (a bug, a JVM failure): one readable line first, then the
        # traceback for whoever debugs it.
        print(f"lakehouse: unexpected {summary(exc)}", file=sys.stderr)
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
