"""Which partitions of a derived table changed inputs reach (``refresh: partitions``).

A derived table's SQL is evaluated over the rows its inputs changed since the last publish,
the other inputs whole: the partition values it yields are the partitions to recompute. Two
evaluations per changed input, from the input's ``_delta_log``:

- its rows in files written since (read at the version now published), with every other
  input at that version: where new and updated rows land;
- its rows in files removed since (read at the version of the last publish), with every
  other input at *that* version: where the rows they produced before were.

Both together are every partition an old or a new output row of a changed input row is in,
for SQL whose output rows stay in the partition of the input rows they come from (checked
when the configuration is read: :func:`lakehouse.config.sql.partition_refresh_blockers`).
A file rewritten by a MERGE or a deletion vector counts whole: more partitions than needed,
never fewer. Those files alone are read where :mod:`lakehouse.io.changed_files` can read them
as Parquet (rows a deletion vector removed included: again more, never fewer); otherwise the
input is read through Delta and filtered to them, which reads every file. The chosen
partitions are then recomputed from the full inputs and replaced with Delta's
``replaceWhere`` (a partition left with no rows is emptied).

Anything this cannot follow (an input by table name or on storage the driver cannot list, a
commit file cleaned up, more than :data:`MAX_PARTITIONS` partitions, a partition value of a
type without a safe SQL literal) answers None: the caller recomputes everything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.names import quote, sql_text
from lakehouse.io import changed_files, delta
from lakehouse.io.changed_files import Changed

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from lakehouse.config.gold import DerivedSpec

# Views: temp view name -> (table path, version key); versions: version key -> Delta version.
Views = Mapping[str, tuple[str, str]]
Versions = Mapping[str, int]
MAX_PARTITIONS = 10_000
NOTHING = "false"  # the predicate when no partition is touched


def _in_files(df: DataFrame, names: frozenset[str]) -> DataFrame:
    """The rows of ``df`` read from the data files named ``names``."""
    name = F.element_at(F.split(F.col("_metadata.file_path"), "/"), -1)
    return df.where(name.isin(sorted(names)))


def _register(
    spark: SparkSession,
    views: Views,
    versions: Versions,
    only: tuple[str, Changed, frozenset[str]] | None = None,
) -> None:
    """Every input as a temp view at ``versions``; ``only`` = (view, its changes, paths) keeps
    that view's rows of those files: read from just those files where their columns are the
    table's, else filtered from the whole table."""
    for view, (path, key) in views.items():
        df = None
        if only is not None and only[0] == view:
            df = changed_files.read_files(spark, path, versions[key], only[1], only[2])
            if df is None:
                df = _in_files(delta.read_table(spark, path, versions[key]), Changed.names(only[2]))
        if df is None:
            df = delta.read_table(spark, path, versions[key])
        df.createOrReplaceTempView(view)


def _literal(value: object) -> str | None:
    """A SQL literal of a partition value; None for a type left to a full recompute."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return f"DATE'{value.isoformat()}'"
    if isinstance(value, str):
        return sql_text(value)
    return None


def predicate(columns: tuple[str, ...], values: set[tuple[object, ...]]) -> str | None:
    """``(a <=> 1 AND b <=> 'x') OR ...`` over the partition values; None when one has no literal."""
    if not values:
        return NOTHING
    terms = []
    for row in sorted(values, key=repr):
        literals = [_literal(v) for v in row]
        if any(lit is None for lit in literals):
            return None
        pairs = zip(columns, literals, strict=True)
        terms.append("(" + " AND ".join(f"{quote(c)} <=> {lit}" for c, lit in pairs) + ")")
    return " OR ".join(terms)


def touched(
    spark: SparkSession, spec: DerivedSpec, views: Views, since: Versions, now: Versions
) -> tuple[str, int] | None:
    """(the ``replaceWhere`` predicate of the partitions to recompute, how many), or None for
    a full recompute. The predicate is :data:`NOTHING` when the changes reach no output row.

    Leaves the views registered however the last evaluation left them: register them again
    before reading the full inputs.
    """
    if set(since) != set(now) or any(since[k] > now[k] for k in now):
        return None
    columns = tuple(spec.partition_by)
    select = ", ".join(quote(c) for c in columns)
    found: set[tuple[object, ...]] = set()
    for view, (path, key) in views.items():
        if since[key] == now[key]:
            continue
        changed = changed_files.files_changed(path, since[key], now[key])
        if changed is None:
            return None
        for paths, versions in ((changed.added, now), (changed.removed, since)):
            if not paths:
                continue
            _register(spark, views, versions, only=(view, changed, paths))
            query = f"SELECT DISTINCT {select} FROM (\n{spec.sql}\n) AS _lakehouse_derived"
            found.update(tuple(row) for row in spark.sql(query).collect())
            if len(found) > MAX_PARTITIONS:
                return None
    where = predicate(columns, found)
    return None if where is None else (where, len(found))
