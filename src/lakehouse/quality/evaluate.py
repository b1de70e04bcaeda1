"""Evaluate expectations on a (staged) DataFrame and return one result per rule.

Takes DataFrames only: the rows to audit and, for ``references`` rules, the referenced
tables (read by the caller). Row rules, ``row_count``, ``null_ratio``, ``freshness`` and
generic ``aggregate`` rules are computed by ONE aggregation job. ``unique`` and
``references`` need a shuffle of their own (one job each). Sample keys are fetched only for
rules that found failing rows: one query for all of them, the first keys of each rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.expectations import Expectation, parse_age
from lakehouse.errors import ConfigError
from lakehouse.quality.rules import row_key, rule_ok
from lakehouse.results import SAMPLE_KEYS, RuleResult

ONE_PASS_KINDS = ("row", "row_count", "null_ratio", "freshness", "aggregate")


def _one_pass_column(e: Expectation, i: int) -> Column:
    alias = f"_q{i}"
    if e.kind == "row":
        return F.sum(F.when(rule_ok(e.rule or "true"), 0).otherwise(1)).alias(alias)
    if e.kind == "null_ratio":
        return F.sum(F.when(F.col(e.params["column"]).isNull(), 1).otherwise(0)).alias(alias)
    if e.kind == "freshness":
        return F.max(F.col(e.params["column"])).alias(alias)
    if e.kind == "aggregate":
        return F.coalesce(F.expr(e.params["value"]).cast("boolean"), F.lit(False)).alias(alias)
    return F.lit(None).alias(alias)  # row_count needs only the total


def _ratio(failed: int, checked: int) -> float:
    return failed / checked if checked else 0.0


def _count(value: object) -> int:
    """A SUM of the aggregation row (NULL when no row was aggregated)."""
    return int(value) if isinstance(value, (int, float)) else 0


def _counted(
    e: Expectation, failed: int, total: int, limit: float, samples: list[str], *, show_ratio: bool = False
) -> RuleResult:
    """A rule counted per row: it passes when the share of failing rows is within ``limit``."""
    ratio = _ratio(failed, total)
    observed = f"{ratio:.6g}" if show_ratio else None
    return RuleResult(e.name, e.kind, e.action, total, failed, ratio <= limit, limit, samples, observed)


def _from_one_pass(e: Expectation, value: object, total: int, now: datetime) -> RuleResult:
    if e.kind == "row":
        limit = e.threshold if e.threshold is not None else 0.0
        return _counted(e, _count(value), total, limit, [], show_ratio=True)
    if e.kind == "null_ratio":
        limit = float(e.params.get("max", e.threshold or 0.0))
        return _counted(e, _count(value), total, limit, [], show_ratio=True)
    if e.kind == "row_count":
        low, high = e.params.get("min"), e.params.get("max")
        ok = (low is None or total >= low) and (high is None or total <= high)
        return RuleResult(e.name, e.kind, e.action, total, 0, ok, observed=str(total))
    if e.kind == "freshness":
        oldest_ok = now - parse_age(e.params["max_age"])
        latest = value if isinstance(value, datetime) else None
        if latest is not None and latest.tzinfo is None:
            latest = latest.replace(tzinfo=timezone.utc)
        ok = latest is not None and latest >= oldest_ok
        observed = latest.isoformat() if latest else None
        return RuleResult(e.name, e.kind, e.action, total, 0, ok, observed=observed)
    return RuleResult(e.name, e.kind, e.action, total, 0, bool(value), observed=str(value))


def _samples(df: DataFrame, failing: Mapping[int, Column], keys: Sequence[str]) -> dict[int, list[str]]:
    """Up to SAMPLE_KEYS keys of the rows failing each condition, smallest keys first.

    One query for every failing rule, not one per rule: each row yields the indexes of the
    conditions it fails, and a ranking per index keeps the first keys (Spark applies the limit
    within each task before the shuffle, so only a few rows per rule move)."""
    if not failing:
        return {}
    flags = F.filter(
        F.array(*[F.when(cond, F.lit(i)) for i, cond in failing.items()]), lambda i: i.isNotNull()
    )
    ranked = Window.partitionBy("_rule").orderBy("_key")
    rows = (
        df.select(row_key(keys).alias("_key"), F.explode(flags).alias("_rule"))
        .withColumn("_rank", F.row_number().over(ranked))
        .where(F.col("_rank") <= SAMPLE_KEYS)
        .select("_rule", "_key")
        .collect()
    )
    found: dict[int, list[str]] = {i: [] for i in failing}
    for r in sorted(rows, key=lambda r: (r["_rule"], r["_key"])):
        found[r["_rule"]].append(r["_key"])
    return found


def _failing(e: Expectation) -> Column:
    """The rows a ``row`` or ``null_ratio`` rule counts as failed."""
    if e.kind == "null_ratio":
        return F.col(e.params["column"]).isNull()
    return ~rule_ok(e.rule or "true")


def _one_pass(
    df: DataFrame, rules: list[Expectation], keys: Sequence[str], now: datetime
) -> list[RuleResult]:
    row = df.agg(
        F.count(F.lit(1)).alias("_n"), *[_one_pass_column(e, i) for i, e in enumerate(rules)]
    ).collect()[0]
    total = int(row["_n"])
    results = [_from_one_pass(e, row[f"_q{i}"], total, now) for i, e in enumerate(rules)]
    sampled = {
        i: _failing(e)
        for i, (e, r) in enumerate(zip(rules, results, strict=True))
        if r.rows_failed and e.kind in ("row", "null_ratio")
    }
    for i, keys_found in _samples(df, sampled, keys).items():
        results[i].sample_keys = keys_found
    return results


def _unique(df: DataFrame, e: Expectation, total: int) -> RuleResult:
    cols = list(e.params.get("columns") or e.params["value"])
    dups = df.groupBy(*cols).count().where(F.col("count") > 1)
    row = dups.agg(
        F.sum("count").alias("rows"),
        F.slice(
            F.sort_array(F.collect_list(F.struct((-F.col("count")).alias("n"), row_key(cols).alias("k")))),
            1,
            SAMPLE_KEYS,
        ).alias("top"),
    ).collect()[0]
    samples = [f"{t['k']} (x{-t['n']})" for t in row["top"] or []]
    return _counted(e, _count(row["rows"]), total, e.threshold or 0.0, samples)


def _references(
    df: DataFrame, e: Expectation, total: int, keys: Sequence[str], referenced: DataFrame
) -> RuleResult:
    cols = list(e.params["columns"])
    to_cols = list(e.params.get("to_columns", cols))
    ref = referenced.select(*[F.col(t).alias(f"_ref{i}") for i, t in enumerate(to_cols)]).distinct()
    cond = [F.col(c) == F.col(f"_ref{i}") for i, c in enumerate(cols)]
    orphans = df.join(ref, on=cond, how="left_anti")
    failed = orphans.count()
    samples = _samples(orphans, {0: F.lit(True)}, keys)[0] if failed else []
    return _counted(e, failed, total, e.threshold or 0.0, samples)


def _referenced(e: Expectation, references: Mapping[str, DataFrame]) -> DataFrame:
    if e.name not in references:
        raise ConfigError(
            f"references rule {e.name!r} needs the referenced table as a DataFrame "
            f"(references={{{e.name!r}: df}})",
            key_path="expectations",
        )
    return references[e.name]


def evaluate(
    df: DataFrame,
    expectations: Sequence[Expectation],
    *,
    keys: Sequence[str] = (),
    references: Mapping[str, DataFrame] | None = None,
    now: datetime | None = None,
) -> list[RuleResult]:
    """Evaluate every expectation on ``df`` and return one result per rule, in config order.

    ``keys`` name the columns shown in sample keys; ``references`` maps the name of each
    ``references`` rule to the DataFrame it checks against; ``now`` (UTC) is the reference
    time of ``freshness`` rules. Drop rules are evaluated like the others; removing their rows
    is the caller's job. Nothing is read or written here.
    """
    now = now or datetime.now(timezone.utc)
    one_pass = [e for e in expectations if e.kind in ONE_PASS_KINDS]
    try:
        found = {r.rule: r for r in _one_pass(df, one_pass, keys, now)}
        total = next(iter(found.values())).rows_checked if found else df.count()
        for e in expectations:
            if e.kind == "unique":
                found[e.name] = _unique(df, e, total)
            elif e.kind == "references":
                found[e.name] = _references(df, e, total, keys, _referenced(e, references or {}))
    except AnalysisException as exc:
        raise ConfigError(
            f"an expectation cannot be evaluated on columns {df.columns}: {str(exc).splitlines()[0]}",
            key_path="expectations",
        ) from exc
    results = [found[e.name] for e in expectations]
    for e, r in zip(expectations, results, strict=True):
        # A drop rule stops the run only when it has an explicit threshold it exceeds.
        r.tripped = not r.passed and (e.action == "fail" or (e.action == "drop" and e.threshold is not None))
    return results
