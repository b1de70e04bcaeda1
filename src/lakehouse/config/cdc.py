"""The ``cdc`` block of a gold spec: how a change feed is sequenced and which rows delete.

Specs only: the changes are computed by :mod:`lakehouse.transforms.cdc` and written by
:mod:`lakehouse.gold.cdc_writer`; docs/gold.md has the table of cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from lakehouse.config.expectations import Expectation, parse_age
from lakehouse.config.names import check_name, check_names, quote
from lakehouse.config.node import Node

DEFAULT_RETENTION = timedelta(days=30)
CDC_KEYS = frozenset(
    {
        "sequence_by",
        "operation",
        "apply_as_deletes",
        "apply_as_truncates",
        "except_columns",
        "ignore_null_updates",
        "soft_delete",
        "tombstone_retention",
    }
)
IMPLICIT_RULE = "cdc_key_and_sequence_present"


@dataclass(frozen=True)
class CdcSpec:
    """A change feed: sequence, operation, what deletes or truncates, columns kept out of gold.

    ``sequence_by`` orders the changes of a key (a list compares column by column);
    ``apply_as_deletes`` / ``apply_as_truncates`` are SQL conditions on a change row (the
    delete condition defaults to ``operation`` being ``D`` or ``DELETE`` when ``operation`` is
    given); ``operation`` and ``except_columns`` never reach gold. ``soft_delete`` keeps a
    deleted SCD1 row with ``_deleted_at`` set; ``tombstone_retention`` is how long a delete is
    remembered so that an older change arriving later cannot bring the key back.
    """

    sequence_by: tuple[str, ...]
    operation: str | None = None
    apply_as_deletes: str | None = None
    apply_as_truncates: str | None = None
    except_columns: tuple[str, ...] = ()
    ignore_null_updates: bool = False
    soft_delete: bool = False
    tombstone_retention: timedelta = DEFAULT_RETENTION

    @property
    def deletes(self) -> str | None:
        """The SQL condition that makes a change a delete (None: the feed has no deletes)."""
        if self.apply_as_deletes is not None:
            return self.apply_as_deletes
        if self.operation is not None:
            return f"upper(trim({quote(self.operation)})) IN ('D', 'DELETE')"
        return None

    @property
    def excluded(self) -> tuple[str, ...]:
        """The columns kept out of gold: the operation column and ``except_columns``."""
        op = (self.operation,) if self.operation else ()
        return tuple(dict.fromkeys((*op, *self.except_columns)))

    def implicit_expectation(self, keys: tuple[str, ...]) -> Expectation:
        """A drop rule for changes that cannot be placed: a NULL sequence value, or a NULL key
        on a change that is not a truncate."""
        sequence = " AND ".join(f"{quote(c)} IS NOT NULL" for c in self.sequence_by)
        keyed = " AND ".join(f"{quote(c)} IS NOT NULL" for c in keys)
        if self.apply_as_truncates is not None:
            keyed = f"(({keyed}) OR coalesce(({self.apply_as_truncates}), false))"
        return Expectation(IMPLICIT_RULE, "row", "drop", rule=f"{sequence} AND {keyed}")


def parse_cdc(node: Node, mode: str, keys: tuple[str, ...]) -> CdcSpec:
    """Parse a gold spec's ``cdc`` block (``mode`` merge or scd2, with its ``keys``)."""
    node.check_keys(CDC_KEYS)
    if mode not in ("merge", "scd2"):
        raise node.error(
            f"cdc needs mode merge (SCD1) or scd2, not {mode}", found=mode, expected="merge or scd2"
        )
    sequence = check_names(node.child("sequence_by"), node.get_str_list("sequence_by"))
    if not sequence:
        raise node.child("sequence_by").error("is empty", found=[], expected="a column or a list of columns")
    except_columns = check_names(node.child("except_columns"), node.get_str_list("except_columns", ()))
    kept = [c for c in (*keys, *sequence) if c in except_columns]
    if kept:
        raise node.child("except_columns").error(
            "keys and sequence_by columns stay in gold (late changes are detected with them)",
            found=kept,
            expected="technical columns other than keys and sequence_by",
        )
    operation = node.get_str("operation", None)
    if operation is not None:
        operation = check_name(node.child("operation"), operation)
    if operation is not None and operation in (*keys, *sequence):
        raise node.child("operation").error(
            "the operation column is kept out of gold, so it cannot be a key or sequence column",
            found=operation,
            expected="the column holding I/U/D",
        )
    truncates = node.get_str("apply_as_truncates", None)
    if truncates is not None and mode != "merge":
        raise node.child("apply_as_truncates").error(
            "truncates apply to mode merge (SCD1) only; an SCD2 history keeps what was true",
            found=truncates,
            expected="no apply_as_truncates with mode scd2",
        )
    soft = node.get_bool("soft_delete", False)
    if soft and mode != "merge":
        raise node.child("soft_delete").error(
            "soft_delete applies to mode merge (SCD1); scd2 end-dates deleted keys",
            found=True,
            expected="false with mode scd2",
        )
    return CdcSpec(
        sequence_by=sequence,
        operation=operation,
        apply_as_deletes=node.get_str("apply_as_deletes", None),
        apply_as_truncates=truncates,
        except_columns=except_columns,
        ignore_null_updates=node.get_bool("ignore_null_updates", False),
        soft_delete=soft,
        tombstone_retention=_retention(node),
    )


def _retention(node: Node) -> timedelta:
    text = node.get_str("tombstone_retention", None)
    if text is None:
        return DEFAULT_RETENTION
    try:
        return parse_age(text)
    except ValueError as exc:
        raise node.child("tombstone_retention").error(
            str(exc).replace("max_age", "tombstone_retention"),
            found=text,
            expected="a duration such as 12h or 30d",
        ) from exc
