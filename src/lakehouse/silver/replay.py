"""Quarantine replay, silver's part: quarantined rows through the current contract again.

``lakehouse quarantine replay`` records a request in silver's state folder (``replay.json``:
an id, the ``--reason`` filter). The next silver layer (the same command's run, under the run
lock) carries it out before it reads new bronze versions:

1. **Mark.** One ``UPDATE`` sets ``_replay_id`` (the request's id) and ``_replayed_at`` on the
   quarantine rows not replayed before that match the filter; ``replay.json`` then notes that
   the rows are marked. A marked row is never replayed again.
2. **Find their bronze rows.** A quarantine row keeps its lineage (``_source_file``,
   ``_ingested_at``) and its raw values as JSON, PII protected. The bronze rows of those files
   go through the same conforming and protection as in silver, and are matched on the lineage
   and the raw values (NULL entries left out, keys in order; identical rows are paired one to
   one). Rows whose bronze row is gone (erased by ``lakehouse forget``) are counted
   ``not_found``.
3. **Check and write.** The matched rows are checked with the current contract: the rows that
   pass are appended to silver (gold publishes them as any new silver rows), the rows that
   still fail are appended to the quarantine with their new reasons (unmarked: a later replay,
   after another fix, takes them). Both appends carry ``txnAppId`` ``lakehouse-replay-<state
   id>`` and ``txnVersion`` = the request's id, and the ``userMetadata`` ``lakehouse-replay
   <id>``: a retry after a crash does not write them twice.

The quarantine-rate limit does not apply: these rows were quarantined already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark.sql import Column, Window
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.names import sql_text
from lakehouse.constants import INGESTED_AT, SOURCE_FILE
from lakehouse.io import delta
from lakehouse.log import get_logger
from lakehouse.silver.route import checked_rows, to_silver
from lakehouse.transforms import quarantine
from lakehouse.transforms.conform import RAW

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from lakehouse.config.model import DatasetConfig
    from lakehouse.io.state import StateDir

REPLAY_ID, REPLAYED_AT = "_replay_id", "_replayed_at"
STATE = "replay.json"
MARKER = "lakehouse-replay"
_KEY, _NTH = "_lh_raw_key", "_lh_nth"


def request(states: StateDir, reason: str | None) -> dict[str, Any]:
    """Record a replay for the next silver run; a replay that did not finish is resumed instead."""
    found = states.read(STATE, {}) or {}
    if found.get("pending"):
        get_logger("lakehouse.silver").warning(
            "an earlier quarantine replay did not finish; resuming it",
            replay_id=found["id"],
            reason=found.get("reason"),
        )
        return dict(found)
    new = {"id": int(found.get("id") or 0) + 1, "reason": reason, "pending": True, "marked": False}
    states.write(STATE, new)
    return new


def pending(states: StateDir) -> dict[str, Any] | None:
    """The replay silver has to carry out, if any."""
    found = states.read(STATE, {}) or {}
    return dict(found) if found.get("pending") else None


def reason_sql(reason: str) -> str:
    """SQL: a silver quarantine row with a reason whose rule (``cast``) or label (``cast on value``)
    is exactly ``reason`` (as ``lakehouse quarantine show --reason``)."""
    text = sql_text(reason)
    label = "concat_ws(' on ', r.rule, r.`column`)"
    return f"exists({quarantine.REASONS}, r -> r.rule = {text} OR {label} = {text})"


def _raw_key(values: Column) -> Column:
    """A map of raw values as comparable text: NULL entries left out, keys sorted."""
    entries = F.filter(F.map_entries(values), lambda e: e["value"].isNotNull())
    return F.to_json(F.map_from_entries(F.array_sort(entries)))


def _nth(frame: DataFrame) -> DataFrame:
    """Number identical rows (same lineage and raw values) 1, 2, ... to pair them one to one."""
    window = Window.partitionBy(SOURCE_FILE, INGESTED_AT, _KEY).orderBy(_KEY)
    return frame.withColumn(_NTH, F.row_number().over(window))


def _written(spark: SparkSession, table: str, since: int | None, marker: str) -> delta.Commit | None:
    """This replay's commit to ``table`` after version ``since``, if it made one."""
    return next((c for c in delta.history(spark, table, since=since) if c.user_metadata == marker), None)


def carry_out(
    spark: SparkSession,
    dataset: DatasetConfig,
    run_id: str,
    salt: str | None,
    states: StateDir,
    replay: dict[str, Any],
) -> dict[str, int]:
    """Carry out a recorded replay; returns its counts (replayed, to_silver, still_quarantined, not_found)."""
    contract = dataset.contract
    assert contract is not None
    table, silver = dataset.quarantine_path, dataset.silver_path
    rid = int(replay["id"])
    counts = {"replayed": 0, "to_silver": 0, "still_quarantined": 0, "not_found": 0}
    if not delta.table_exists(spark, table):
        states.write(STATE, {**replay, "pending": False, "counts": counts})
        return counts
    if not replay.get("marked"):
        marks = spark.range(1).select(
            F.lit(None).cast("long").alias(REPLAY_ID), F.lit(None).cast("timestamp").alias(REPLAYED_AT)
        )
        delta.add_missing_columns(spark, table, marks)
        replay["before"] = {
            table: delta.table_version(spark, table),
            silver: delta.table_version(spark, silver),
        }
        where = f"{REPLAY_ID} IS NULL"
        if replay.get("reason"):
            where += f" AND {reason_sql(str(replay['reason']))}"
        spark.sql(
            f"UPDATE {delta.ident(table)} SET {REPLAY_ID} = {rid}, {REPLAYED_AT} = current_timestamp() "
            f"WHERE {where}"
        )
        replay["marked"] = True
        states.write(STATE, replay)
    versions: dict[str, int | None] = replay.get("before") or {}
    candidates = delta.read_table(spark, table).where(F.col(REPLAY_ID) == F.lit(rid))
    wanted = _nth(
        candidates.select(
            SOURCE_FILE, INGESTED_AT, _raw_key(F.from_json("_raw", "map<string,string>")).alias(_KEY)
        )
    )
    files = wanted.select(SOURCE_FILE, INGESTED_AT).distinct()
    bronze = delta.read_table(spark, dataset.bronze_path).join(
        F.broadcast(files), [SOURCE_FILE, INGESTED_AT], "left_semi"
    )
    checked = _nth(checked_rows(bronze, contract, salt).withColumn(_KEY, _raw_key(F.col(RAW))))
    matched = checked.join(wanted, [SOURCE_FILE, INGESTED_AT, _KEY, _NTH], "left_semi").drop(_KEY, _NTH)
    valid, rejected = quarantine.split_silver(matched)
    marker = f"{MARKER} {rid}"
    app = f"{MARKER}-{states.identity()}"
    outputs = (
        (table, quarantine.silver_rows(rejected, run_id), "still_quarantined"),
        (silver, to_silver(valid, contract, run_id, salt), "to_silver"),
    )
    for target, rows, key in outputs:
        done = _written(spark, target, versions.get(target), marker)
        if done is None:
            delta.append(spark, rows, target, txn=(app, rid), user_metadata=marker)
            done = _written(spark, target, versions.get(target), marker)
        counts[key] = 0 if done is None else done.rows_appended
    counts["replayed"] = candidates.count()
    counts["not_found"] = counts["replayed"] - counts["to_silver"] - counts["still_quarantined"]
    states.write(STATE, {**replay, "pending": False, "counts": counts})
    get_logger("lakehouse.silver").info("quarantine replayed", replay_id=rid, **counts)
    return counts
