"""``python -m benchmarks``: run the scenarios, ``report`` the latest results, ``generate`` data.

python -m benchmarks                 # the full suite (see benchmarks/README.md)
python -m benchmarks --quick         # small sizes, every scenario, a few minutes
python -m benchmarks --scenarios a,b --sizes 1000000 --repeat 1
python -m benchmarks report          # README table + PNG from the newest results file
python -m benchmarks generate --rows 1000000 --files 20
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from benchmarks.plan import SCENARIOS, Plan, plan_for

RESULTS = Path(__file__).resolve().parent / "results"


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Run the benchmark scenarios.")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, one repetition (a few minutes)")
    size.add_argument("--smoke", action="store_true", help="the smallest run: scenario a on 200 rows")
    parser.add_argument("--scenarios", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--sizes", type=int, nargs="+", help="usage rows of scenarios a, b, c")
    parser.add_argument("--files", type=int, help="usage files of scenarios a, b, c, e, f (default 20)")
    parser.add_argument("--repeat", type=int, help="repetitions of every measured job")
    parser.add_argument("--k-files", type=int, nargs="+", help="files already ingested in scenario d")
    parser.add_argument("--rules-rows", type=int, help="usage rows of scenario e")
    parser.add_argument("--merge-rows", type=int, help="gold table rows of scenario f")
    parser.add_argument("--change-layout", choices=("spread", "clustered"), help="scenario f's changed keys")
    parser.add_argument("--driver-memory", help="spark.driver.memory of every session (default 2g)")
    parser.add_argument(
        "--shared-session",
        action=argparse.BooleanOptionalAction,
        help="run every job in one warm session in this process (default with --quick and --smoke) "
        "instead of a fresh process per job (the default otherwise)",
    )
    parser.add_argument("--results", type=Path, help="JSON-lines file to append to")
    parser.add_argument("--keep", action="store_true", help="keep the run folders (lakes) afterwards")
    return parser


def plan_from(args: argparse.Namespace) -> Plan:
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    scenarios = args.scenarios.split(",") if args.scenarios else None
    unknown = set(scenarios or ()) - set(SCENARIOS)
    if unknown:
        raise SystemExit(
            f"unknown scenario(s) {', '.join(sorted(unknown))}; choose from {', '.join(SCENARIOS)}"
        )
    return plan_for(
        mode,
        scenarios=scenarios,
        sizes=args.sizes,
        files=args.files,
        repeat=args.repeat,
        k_files=args.k_files,
        rules_rows=args.rules_rows,
        merge_rows=args.merge_rows,
        change_layout=args.change_layout,
        driver_memory=args.driver_memory,
        shared_session=args.shared_session,
    )


def run(argv: list[str]) -> int:
    from benchmarks import report, suite
    from benchmarks.generate import data_root
    from benchmarks.runner import Runner

    args = _run_parser().parse_args(argv)
    plan = plan_from(args)
    runner = Runner(
        results=Path("unused"), workdir=Path("unused"), mode=plan.mode, spark_conf=plan.spark_conf()
    )
    runner.results = args.results or RESULTS / f"{runner.invocation}-{plan.mode}.jsonl"
    runner.workdir = data_root() / "runs" / runner.invocation
    try:
        if plan.shared_session:
            runner.spark = suite.shared_session(runner, plan)
        suite.run(runner, plan)
    finally:
        if runner.spark is not None:
            runner.spark.stop()
        if not args.keep:
            shutil.rmtree(runner.workdir, ignore_errors=True)
    print(report.markdown(report.load([runner.results])), file=sys.stderr)
    print(f"results appended to {runner.results}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in ("run", "report", "generate") else "run"
    if argv and argv[0] == command:
        argv = argv[1:]
    if command == "report":
        from benchmarks import report

        return report.main(argv)
    if command == "generate":
        from benchmarks.generate import main as generate_main

        return generate_main(argv)
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
