"""The order of an invocation: session start, a-b-c per size, then e, f and d."""

from __future__ import annotations

from benchmarks import scenarios, scenarios_df
from benchmarks.plan import Plan
from benchmarks.runner import Runner
from benchmarks.workspace import Workspace


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
        lakes = kept.get(plan.rules_rows)
        scenarios.rule_counts(runner, plan, lakes[0] if lakes else None)
    if plan.wants("f"):
        scenarios_df.merges(runner, plan, kept.pop(plan.merge_rows, None))
    if plan.wants("d"):
        scenarios_df.history(runner, plan)
    for lakes in kept.values():
        scenarios.remove(lakes)
