"""The order of an invocation: session start, a-b-c per size, then e, f and d."""

from __future__ import annotations

from typing import Any

from benchmarks import jobs, scenarios, scenarios_df
from benchmarks.generate import Spec, generate
from benchmarks.plan import Plan
from benchmarks.runner import PIPELINE, Runner
from benchmarks.workspace import Workspace


def shared_session(runner: Runner, plan: Plan) -> Any:
    """The session of a ``shared_session`` plan, warmed up by an untimed tiny run of the library
    and the hand-written job (the plain load's reader and Delta write are warmed up by them)."""
    import os

    from benchmarks.job import build_session

    os.environ.setdefault("LAKEHOUSE_PII_SALT", "benchmark-salt")
    spark = build_session({"pipeline": str(PIPELINE), "spark_conf": plan.spark_conf()})
    runner.spark = spark
    data = generate(Spec(rows=200, files=2, seed=plan.seed, dirty=plan.dirty))
    warm = {v: Workspace(runner.workdir / "warm-up" / v, data) for v in (jobs.LIBRARY, jobs.HAND)}
    for name, ws in warm.items():
        ws.land_base()
        launch = jobs.variant(name, ws)
        runner.launch(launch.job, launch.params)
        ws.remove()
    return spark


def run(runner: Runner, plan: Plan) -> None:
    if plan.wants("session"):
        scenarios.session_start(runner, plan)
    kept: dict[int, tuple[Workspace, Workspace]] = {}
    if any(plan.wants(s) for s in "abc"):
        for size in plan.sizes:
            lakes = scenarios.chain_abc(runner, plan, size)
            needed = (plan.wants("e") and size == plan.rules_rows) or (
                plan.wants("f") and size == plan.merge_rows
            )
            if needed:
                kept[size] = lakes
            else:
                scenarios.remove(lakes)
    if plan.wants("e"):
        rule_lakes = kept.get(plan.rules_rows)
        scenarios.rule_counts(runner, plan, rule_lakes[0] if rule_lakes else None)
    if plan.wants("f"):
        scenarios_df.merges(runner, plan, kept.pop(plan.merge_rows, None))
    if plan.wants("d"):
        scenarios_df.history(runner, plan)
    for lakes in kept.values():
        scenarios.remove(lakes)
