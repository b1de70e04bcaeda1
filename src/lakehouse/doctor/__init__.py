"""``lakehouse doctor``: is this machine and this pipeline ready to run? No Spark session needed.

Each check answers ok, fail, warn, info or skip, with the fix for a failure. A failed
required check means a run would fail; ``lakehouse doctor`` then exits 1.
"""

from __future__ import annotations

from lakehouse.config import load_config
from lakehouse.config.model import PipelineConfig
from lakehouse.config.validate import Findings, check_columns
from lakehouse.doctor.environment import chromium_check, jars_check, java_check, packages_check, python_check
from lakehouse.doctor.project import landing_check, root_check, secret_checks
from lakehouse.doctor.result import FAIL, OK, SKIP, Check
from lakehouse.errors import ConfigError

__all__ = ["Check", "diagnose", "report"]


def _config(path: str | None, env: str | None, explicit: bool) -> tuple[PipelineConfig | None, Check]:
    if path is None:
        return None, Check("config", SKIP, "no pipeline file given or found", "pass --config", required=False)
    try:
        config = load_config(path, env)
    except ConfigError as exc:
        if not explicit and exc.reason == "file not found":
            return None, Check("config", SKIP, f"{path} not found", "pass --config", required=False)
        return None, Check("config", FAIL, str(exc), "fix the file and key named above")
    findings = Findings()
    check_columns(findings, config, config.datasets)  # secrets have checks of their own below
    if findings.errors:
        more = len(findings.errors) - 1
        detail = str(findings.errors[0]) + (f" (and {more} more)" if more else "")
        return config, Check("config", FAIL, detail, f"lakehouse validate-config --config {path} lists them")
    detail = f"{path} (env {env or 'none'}): pipeline {config.name!r}, {len(config.datasets)} dataset(s)"
    return config, Check("config", OK, detail)


def diagnose(config_path: str | None, env: str | None, *, explicit: bool = True) -> list[Check]:
    """Run every check; configuration checks only when a pipeline file is given or found."""
    checks = [python_check(), java := java_check(), packages_check()]
    config, loaded = _config(config_path, env, explicit)
    spark_conf = config.spark.conf if config else {}
    checks.append(jars_check(spark_conf, java_ok=java.status == OK))
    checks.append(loaded)
    if config is not None:
        checks += [root_check(config), landing_check(config), *secret_checks(config)]
    checks.append(chromium_check())
    return checks


def report(checks: list[Check]) -> str:
    """The checks as aligned text, each failure followed by its fix, and a verdict line."""
    width = max(len(c.name) for c in checks) + 2
    lines = []
    for check in checks:
        status = check.status.upper() if check.status == FAIL else check.status
        lines.append(f"  {status:<5} {check.name:<{width}}{check.detail}")
        if check.fix and check.status not in (OK, SKIP):
            lines.append(f"  {'':<5} {'':<{width}}fix: {check.fix}")
    failed = [c.name for c in checks if c.blocks_run]
    lines.append(
        f"{len(failed)} check(s) failed, a run would fail: {', '.join(failed)}"
        if failed
        else "ready: every check a run needs passed"
    )
    return "\n".join(lines)
