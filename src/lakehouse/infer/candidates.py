"""What a landed value can be: the types, formats and tokens infer-contract tries, in order.

Every candidate is tested with silver's own cast (:func:`lakehouse.transforms.conform.typed_value`)
so a type is proposed only when every sampled value converts exactly as silver will convert
it, and the draft quarantines nothing on the files it was drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.config.contract import ColumnSpec

# Tokens that often stand for "no value" in exports; the draft lists the ones it saw.
NULL_TOKENS = ("", "NA", "N/A", "n/a", "NULL", "null", "Null", "None", "none", "nan", "NaN", "-")
# Boolean spellings by pair; a column is boolean when all its values are words of one pair.
BOOLEAN_PAIRS = (("true", "false"), ("t", "f"), ("yes", "no"), ("y", "n"), ("on", "off"))
BOOLEAN_WORDS = tuple(w for pair in BOOLEAN_PAIRS for w in pair)

DATE_FORMATS = (
    "yyyy-MM-dd",
    "yyyy/MM/dd",
    "dd.MM.yyyy",
    "dd/MM/yyyy",
    "MM/dd/yyyy",
    "dd-MM-yyyy",
    "d/M/yyyy",
    "M/d/yyyy",
    "d.M.yyyy",
    "MMM d yyyy",
    "MMM d, yyyy",
    "d MMM yyyy",
    "dd-MMM-yyyy",
)
TIMESTAMP_FORMATS = (
    "yyyy-MM-dd HH:mm:ss",
    "yyyy-MM-dd'T'HH:mm:ss",
    "yyyy-MM-dd HH:mm:ss.SSS",
    "yyyy-MM-dd'T'HH:mm:ss.SSS",
    "yyyy-MM-dd HH:mm:ss.SSSSSS",
    "yyyy-MM-dd'T'HH:mm:ss.SSSSSS",
    "yyyy-MM-dd'T'HH:mm:ssXXX",
    "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    "yyyy-MM-dd HH:mm",
    "yyyy-MM-dd'T'HH:mm",
    "yyyy/MM/dd HH:mm:ss",
    "yyyy/MM/dd HH:mm",
    "dd/MM/yyyy HH:mm:ss",
    "MM/dd/yyyy HH:mm:ss",
    "dd.MM.yyyy HH:mm:ss",
    "dd/MM/yyyy HH:mm",
    "MM/dd/yyyy HH:mm",
)


@dataclass(frozen=True)
class Candidate:
    """One type (and format) to try on a text column; ``key`` names its statistic."""

    key: str
    type: str
    format: str | None = None

    def spec(self, name: str) -> ColumnSpec:
        return ColumnSpec(name=name, type=self.type, format=self.format)


def text_candidates() -> tuple[Candidate, ...]:
    """Everything a csv/json value (a string in bronze) is tried as."""
    found = [Candidate("int", "int"), Candidate("bigint", "bigint"), Candidate("double", "double")]
    found += [Candidate(f"date{i}", "date", f) for i, f in enumerate(DATE_FORMATS)]
    found += [Candidate(f"ts{i}", "timestamp", f) for i, f in enumerate(TIMESTAMP_FORMATS)]
    found.append(Candidate("ts_cast", "timestamp"))
    return tuple(found)


# Spark types of orc/parquet columns and the contract type that reads them back unchanged.
TYPED_SOURCES = {
    "tinyint": "tinyint",
    "smallint": "smallint",
    "int": "int",
    "bigint": "bigint",
    "float": "float",
    "double": "double",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "timestamp_ntz": "timestamp",
    "string": "string",
}


def typed_source_type(spark_type: str) -> str | None:
    """The contract type for a column that orc/parquet already typed (None: keep as string)."""
    if spark_type.startswith("decimal("):
        return spark_type
    return TYPED_SOURCES.get(spark_type)
