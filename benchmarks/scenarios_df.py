"""Scenarios d (cost against the files already ingested) and f (merge and SCD2 of 1% changes)."""

from __future__ import annotations

import shutil
from typing import Any

from benchmarks import deltalog, jobs
from benchmarks.generate import Spec, generate, load_manifest
from benchmarks.jobs import HAND, LIBRARY, SCD2_GOLD, rotate
from benchmarks.plan import Plan
from benchmarks.runner import Runner
from benchmarks.scenarios import remove
from benchmarks.workspace import Workspace


def history(runner: Runner, plan: Plan) -> None:
    """d: K small files already ingested (untimed), then runs adding ``k_new`` files each."""
    for k in plan.k_files:
        spec = Spec(
            rows=k * plan.k_rows_per_file,
            files=k,
            extra=plan.k_new * plan.repeat,
            seed=plan.seed,
            dirty=plan.dirty,
        )
        data = generate(spec)
        lib, hand = (Workspace(runner.workdir / f"d-{k}" / v, data) for v in (LIBRARY, HAND))
        for ws in (lib, hand):
            ws.land_base()
        first = [jobs.library(lib, datasets=["usage"]), jobs.handwritten(hand, datasets=["usage"])]
        runner.launch("sequence", {"steps": [launch.as_step() for launch in first]})
        parameters = {"k_files": k, "new_files": plan.k_new, "rows_per_file": plan.k_rows_per_file}
        for rep in range(plan.repeat):
            for ws in (lib, hand):
                ws.land_extra(rep * plan.k_new, plan.k_new)
            for name in rotate([LIBRARY, HAND], rep):
                ws = lib if name == LIBRARY else hand
                launch = (
                    jobs.library(ws, datasets=["usage"])
                    if name == LIBRARY
                    else jobs.handwritten(ws, datasets=["usage"])
                )
                runner.measure(
                    launch.job,
                    launch.params,
                    scenario="d",
                    variant=name,
                    parameters=parameters,
                    tables=launch.tables,
                    rows_from=("bronze/usage",),
                    repeat=rep,
                )
        remove((lib, hand))


def _first_run(runner: Runner, plan: Plan) -> tuple[Workspace, Workspace]:
    data = generate(Spec(rows=plan.merge_rows, files=plan.files, extra=1, seed=plan.seed, dirty=plan.dirty))
    lib, hand = (Workspace(runner.workdir / f"f-{plan.merge_rows}" / v, data) for v in (LIBRARY, HAND))
    for ws in (lib, hand):
        ws.land_base()
    runner.launch("sequence", {"steps": [jobs.library(lib).as_step(), jobs.handwritten(hand).as_step()]})
    return lib, hand


def merges(runner: Runner, plan: Plan, lakes: tuple[Workspace, Workspace] | None) -> None:
    """f: 1% changed keys merged into the gold table, and the same change into an SCD2 table."""
    lib, hand = lakes or _first_run(runner, plan)
    scd2 = lib.copy_lake(runner.workdir / "f-scd2" / LIBRARY)
    shutil.rmtree(scd2.table("gold", "usage"))
    shutil.rmtree(scd2.lake / "_checkpoints" / "gold" / "usage")
    changes = lib.land_changes(plan.change_layout)
    hand.land_changes(plan.change_layout)
    hand_scd2 = {"mode": "scd2", "table": "usage_scd2"}
    targets = {
        ("merge", LIBRARY): (lib, "usage", jobs.library(lib, datasets=["usage"], layers=["gold"])),
        ("merge", HAND): (hand, "usage", jobs.handwritten(hand, datasets=["usage"], steps=["gold"])),
        ("scd2", LIBRARY): (
            scd2,
            "usage_scd2",
            jobs.library(scd2, datasets=["usage"], layers=["gold"], usage={"gold": SCD2_GOLD}),
        ),
        ("scd2", HAND): (
            hand,
            "usage_scd2",
            jobs.handwritten(hand, datasets=["usage"], steps=["gold"], usage_gold=hand_scd2),
        ),
    }
    steps = [
        targets["scd2", LIBRARY][2].as_step(),  # the SCD2 tables hold all rows before the change
        targets["scd2", HAND][2].as_step(),
        jobs.library(lib, datasets=["usage"], layers=["bronze", "silver"]).as_step(),
        jobs.library(scd2, datasets=["usage"], layers=["bronze", "silver"]).as_step(),
        jobs.handwritten(hand, datasets=["usage"], steps=["bronze", "silver"]).as_step(),
    ]
    for ws, table, _ in targets.values():
        steps.append(
            {
                "job": "files_holding_keys",
                "params": {"table": str(ws.table("gold", table)), "changes": str(changes)},
            }
        )
    outcomes = runner.launch("sequence", {"steps": steps})["outcome"]["outcomes"][-len(targets) :]
    manifest = load_manifest(lib.data)
    base = {
        "table_rows": manifest["usage"]["rows"],
        "changed_keys": manifest["changes"][plan.change_layout],
        "layout": plan.change_layout,
    }
    holding = dict(zip(targets, (o["files_holding_changed_keys"] for o in outcomes), strict=True))
    order = [(mode, name) for mode in ("merge", "scd2") for name in (LIBRARY, HAND)]
    for mode, name in order:
        ws, table, launch = targets[mode, name]
        path = ws.table("gold", table)
        parameters: dict[str, Any] = {
            **base,
            "mode": mode,
            "files_before": deltalog.live_files(path),
            "files_holding_changed_keys": holding[mode, name],
        }
        runner.measure(
            launch.job,
            launch.params,
            scenario="f",
            variant=name,
            parameters=parameters,
            tables={"gold": path},
            rows=base["changed_keys"],
            commit_detail=("gold",),
        )
    remove((lib, hand, scd2))
