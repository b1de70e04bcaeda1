"""PII protection: ``hash`` (hex SHA-256 of salt + value), ``mask`` (keep the last
``mask_keep`` characters) and ``drop``, applied before anything is written.

Silver applies it to the typed columns of valid rows, and to the raw values (and the
``_rescued_data`` JSON) that the quarantine keeps, so no table or log sees a raw value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.names import quote
from lakehouse.constants import EXTRA_FIELDS, RESCUED_DATA
from lakehouse.transforms.conform import RawValue, clean_string

if TYPE_CHECKING:
    from lakehouse.config.contract import ColumnSpec, Contract


def protect(value: Column, spec: ColumnSpec, salt: str | None) -> Column:
    """The protected form of ``value`` (as a string) for ``spec.pii``; NULL stays NULL."""
    text = value.cast("string")
    if spec.pii == "hash":
        if salt is None:
            raise ValueError(f"column {spec.name!r} is pii: hash but no salt was given")
        return F.when(text.isNotNull(), F.sha2(F.concat(F.lit(salt), text), 256))
    if spec.pii == "mask":
        # Every character followed by at least mask_keep more characters becomes '*'.
        return F.regexp_replace(text, f"(?s).(?=.{{{spec.mask_keep}}})", "*")
    if spec.pii == "drop":
        return F.lit(None).cast("string")
    return text


def _pii_columns(contract: Contract) -> list[ColumnSpec]:
    return [c for c in contract.columns if c.pii]


def protect_map(values: Column, contract: Contract, salt: str | None) -> Column:
    """Protect the PII entries (by source name, case-insensitive) of a ``map<string,string>``."""
    specs = _pii_columns(contract)
    if not specs:
        return values
    dropped = [c.source_name.lower() for c in specs if c.pii == "drop"]

    def _protect(key: Column, value: Column) -> Column:
        out = value
        for spec in specs:
            if spec.pii != "drop":
                matches = F.lower(key) == spec.source_name.lower()
                out = F.when(matches, protect(value, spec, salt)).otherwise(out)
        return out

    kept = F.map_filter(values, lambda k, _: ~F.lower(k).isin(*dropped)) if dropped else values
    return F.transform_values(kept, _protect)


REDACTED = "***redacted: may hold PII***"
_RESCUE_KEEP = ("_file", "_error", EXTRA_FIELDS)


def protect_rescued(values: Column, contract: Contract, salt: str | None) -> Column:
    """Protect a parsed ``_rescued_data`` map: PII keys as in :func:`protect_map`, and every
    key that is not a known non-PII contract column (e.g. the raw text of a malformed row,
    or an unknown column) redacted, since it may hold a PII value nobody declared."""
    safe = [c.source_name.lower() for c in contract.columns if not c.pii]
    safe += [k.lower() for k in _RESCUE_KEEP]
    pii = [c.source_name.lower() for c in contract.columns if c.pii]
    protected = protect_map(values, contract, salt)
    return F.transform_values(
        protected,
        lambda k, v: F.when(F.lower(k).isin(*safe) | F.lower(k).isin(*pii) | v.isNull(), v).otherwise(
            F.lit(REDACTED)
        ),
    )


def raw_value_protection(contract: Contract, salt: str | None) -> RawValue | None:
    """The protection of each entry of ``_raw_values`` as conform builds the map (by source
    name, case-insensitive, as :func:`protect_map`; ``drop`` entries left out), or None when
    there is nothing to protect or bronze protected the values already (``pii: {at: bronze}``).

    Deciding per key on the driver, while the map is built, costs nothing per row; protecting
    the built map (:func:`protect_map`) would look at every key of every row."""
    specs = {c.source_name.lower(): c for c in _pii_columns(contract)}
    if not specs or contract.pii_at == "bronze":
        return None

    def protected(name: str, value: Column) -> Column | None:
        spec = specs.get(name.lower())
        if spec is None:
            return value
        return None if spec.pii == "drop" else protect(value, spec, salt)

    return protected


def with_protected_raw(df: DataFrame, contract: Contract, salt: str | None) -> DataFrame:
    """Protect PII inside ``_rescued_data`` (kept only for quarantine/flag); the raw values
    are protected as conform builds them (:func:`raw_value_protection`).

    Nothing to do when bronze protected them already (``pii: {at: bronze}``).
    """
    if not _pii_columns(contract) or contract.pii_at == "bronze":
        return df
    rescued = F.from_json(F.col(RESCUED_DATA), "map<string,string>")
    safe_rescued = F.when(rescued.isNotNull(), F.to_json(protect_rescued(rescued, contract, salt)))
    # Text that is not a JSON object cannot be inspected: redact it rather than leak it.
    return df.withColumn(
        RESCUED_DATA, F.when(F.col(RESCUED_DATA).isNotNull(), F.coalesce(safe_rescued, F.lit(REDACTED)))
    )


def silver_column(spec: ColumnSpec, salt: str | None, protected: bool = False) -> Column | None:
    """The silver output column of ``spec`` (None when ``pii: drop``); ``protected``: bronze
    protected it already."""
    value = F.col(quote(spec.name))
    if spec.pii == "drop":
        return None
    if spec.pii in ("hash", "mask") and not protected:
        return protect(value, spec, salt).alias(spec.name)
    return value.alias(spec.name)


def protect_bronze(df: DataFrame, contract: Contract, salt: str | None) -> DataFrame:
    """Bronze rows with PII columns (by source name) protected, for ``pii: {at: bronze}``.

    A value is protected as silver would see it (trimmed, a null token is NULL), so its hash is
    the one silver would compute. ``drop`` columns become NULL, and ``_rescued_data`` keeps
    only known non-PII values (the raw text of a malformed row may hold PII, so it is redacted
    as silver would).
    """
    present = {c.lower(): c for c in df.columns}
    changes: dict[str, Column] = {}
    for spec in _pii_columns(contract):
        name = present.get(spec.source_name.lower())
        if name is not None:
            # The value silver would see (trimmed, null tokens as NULL), so the hash is the same.
            value = clean_string(F.col(quote(name)), contract.null_tokens, contract.trim)
            changes[name] = protect(value, spec, salt)
    if RESCUED_DATA in df.columns:
        rescued = F.from_json(F.col(RESCUED_DATA), "map<string,string>")
        safe = F.when(rescued.isNotNull(), F.to_json(protect_rescued(rescued, contract, salt)))
        changes[RESCUED_DATA] = F.when(F.col(RESCUED_DATA).isNotNull(), F.coalesce(safe, F.lit(REDACTED)))
    return df.withColumns(changes) if changes else df
