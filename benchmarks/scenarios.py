"""Scenarios a, b, c (one chain per size), e and session start; d and f are in ``scenarios_df``.

Every measured job runs in its own process. Within a repetition the variants run one after
another, and each repetition starts with the next variant, so the library and the baselines
see the same machine load on average.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks import deltalog, jobs, rules
from benchmarks.generate import Spec, generate, load_manifest
from benchmarks.jobs import HAND, LIBRARY, PLAIN, rotate
from benchmarks.plan import Plan
from benchmarks.runner import Runner
from benchmarks.workspace import Workspace, link_tree


def _data_parameters(manifest: dict[str, Any]) -> dict[str, Any]:
    spec = manifest["spec"]
    return {
        "usage_rows": manifest["usage"]["rows"],
        "usage_files": spec["files"],
        "device_config_rows": manifest["device_config"]["rows"],
        "landed_rows": manifest["usage"]["rows"] + manifest["device_config"]["rows"],
        "expected_quarantined": manifest["usage"]["quarantined"],
        "dirty": spec["dirty"],
        "seed": spec["seed"],
    }


def session_start(runner: Runner, plan: Plan) -> None:
    """Session start: the JVM alone, the library's session with and (full suite) without the
    remembered jar list."""
    variants = plan.session_variants
    for rep in range(plan.session_repeat):
        for name in rotate(variants, rep):
            folder = runner.workdir / f"session-{rep}-{name}"
            env = (
                {"LAKEHOUSE_CACHE_DIR": str(folder / "empty-cache")} if name.endswith("no_jar_list") else None
            )
            runner.measure(
                "session_probe",
                {"table": str(folder / "probe"), "delta": name != "pyspark"},
                scenario="session",
                variant=name,
                parameters={
                    "first_job": "spark.range(10) count" if name == "pyspark" else "Delta write + read"
                },
                repeat=rep,
                session="plain" if name == "pyspark" else "lakehouse",
                env=env,
                fresh=True,
            )


def chain_abc(runner: Runner, plan: Plan, size: int) -> tuple[Workspace, Workspace]:
    """a (first run), b (no-op rerun), c (one new file) on the same lakes; returns the last lakes."""
    data = generate(Spec(rows=size, files=plan.files, extra=1, seed=plan.seed, dirty=plan.dirty))
    manifest = load_manifest(data)
    parameters = _data_parameters(manifest)
    kept: tuple[Workspace, Workspace] | None = None
    for rep in range(plan.repeat):
        spaces = {
            v: Workspace(runner.workdir / f"abc-{size}-r{rep}" / v, data) for v in (LIBRARY, PLAIN, HAND)
        }
        for ws in spaces.values():
            ws.land_base()
        for name in rotate([LIBRARY, PLAIN, HAND], rep):
            _measure(runner, jobs.variant(name, spaces[name]), "a", name, parameters, rep)
        spaces[PLAIN].remove()
        if plan.wants("b"):
            for name in rotate([LIBRARY, HAND], rep):
                _measure(runner, jobs.variant(name, spaces[name]), "b", name, parameters, rep)
        if plan.wants("c"):
            new_rows = 0
            for ws in (spaces[LIBRARY], spaces[HAND]):
                new_rows = ws.land_extra(0, 1)
            extra = {**parameters, "new_files": 1, "new_rows": new_rows}
            for name in rotate([LIBRARY, HAND], rep):
                _measure(runner, jobs.variant(name, spaces[name]), "c", name, extra, rep)
        if kept:
            remove(kept)
        kept = (spaces[LIBRARY], spaces[HAND])
    assert kept is not None
    return kept


def remove(spaces: tuple[Workspace, ...]) -> None:
    for ws in spaces:
        ws.remove()


def _measure(
    runner: Runner, launch: jobs.Launch, scenario: str, variant: str, parameters: dict[str, Any], rep: int
) -> dict[str, Any]:
    return runner.measure(
        launch.job,
        launch.params,
        scenario=scenario,
        variant=variant,
        parameters=parameters,
        tables=launch.tables,
        rows_from=launch.rows_from,
        repeat=rep,
    )


def rule_counts(runner: Runner, plan: Plan, source: Workspace | None) -> None:
    """e: silver alone over the same bronze table with 1, 10, 50 rules (library and by hand)."""
    data = generate(Spec(rows=plan.rules_rows, files=plan.files, extra=1, seed=plan.seed, dirty=plan.dirty))
    if source is None:
        source = Workspace(runner.workdir / "e-source", data)
        source.land_base()
        prepare = jobs.library(source, datasets=["usage"], layers=["bronze"])
        runner.launch(prepare.job, prepare.params)
    bronze = source.table("bronze", "usage")
    parameters = {**_data_parameters(load_manifest(data)), "bronze_rows": deltalog.rows_written(bronze, None)}
    columns, types = rules.hand_columns()
    salt = os.environ.get("LAKEHOUSE_PII_SALT", "benchmark-salt")
    for rep in range(plan.repeat):
        for count in rotate([str(n) for n in plan.rules], rep):
            n = int(count)
            for name in rotate([LIBRARY, HAND], rep):
                ws = Workspace(runner.workdir / f"e-{n}-r{rep}-{name}", data, shared_landing=source.landing)
                link_tree(bronze, ws.table("bronze", "usage"))
                tables = {
                    "silver/usage": ws.table("silver", "usage"),
                    "silver/usage_quarantine": ws.table("silver", "usage_quarantine"),
                }
                if name == LIBRARY:
                    launch = jobs.library(
                        ws, datasets=["usage"], layers=["silver"], usage={"contract": rules.contract(n)}
                    )
                    job, params = launch.job, launch.params
                else:
                    job, params = (
                        "handwritten_silver_rules",
                        {
                            "bronze": str(ws.table("bronze", "usage")),
                            "silver": str(tables["silver/usage"]),
                            "quarantine": str(tables["silver/usage_quarantine"]),
                            "columns": columns,
                            "types": types,
                            "rules": rules.sql_rules(n),
                            "pii_salt": salt,
                        },
                    )
                runner.measure(
                    job,
                    params,
                    scenario="e",
                    variant=name,
                    parameters={**parameters, "rules": n},
                    tables=tables,
                    rows_from=tuple(tables),
                    repeat=rep,
                )
                ws.remove()
    if source.path.name == "e-source":
        source.remove()
