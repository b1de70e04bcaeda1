"""PII: hash / mask / drop in silver, and no raw PII value in silver or quarantine."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F  # noqa: N812

from lakehouse.config.contract import ColumnSpec
from lakehouse.config.model import build_pipeline
from lakehouse.config.node import Origins
from lakehouse.errors import SecretError
from lakehouse.results import RunContext
from lakehouse.silver.pii import REDACTED, protect
from lakehouse.silver.runner import process

SALT = "pepper-42"
T0 = dt.datetime(2026, 11, 1)
BRONZE = (
    "device_id string, email string, phone string, ssn string, "
    "_source_file string, _ingested_at timestamp, _rescued_data string"
)


def sha(text: str) -> str:
    return hashlib.sha256((SALT + text).encode()).hexdigest()


def _config(root):
    contract = {
        "primary_key": ["device_id"],
        "pii_salt": {"secret": {"env": "TEST_SILVER_SALT"}},
        "columns": [
            {"name": "device_id", "pattern": "^dev-[0-9]{5}$"},
            {"name": "email", "pii": "hash", "max_length": 12},
            {"name": "phone", "pii": "mask", "mask_keep": 4},
            {"name": "ssn", "pii": "drop"},
        ],
    }
    tree = {
        "pipeline": "p",
        "storage": {"root": str(root)},
        "datasets": {"people": {"source": {"format": "json", "path": "people"}, "contract": contract}},
    }
    return build_pipeline(tree, Origins("test.yml"), None, "test.yml")


def _land(spark, config):
    rows = [
        ("dev-00001", "a@x.com", "+33 612345678", "111-22-3333", "f", T0, None),
        ("dev-0000X", "b@x.com", "0611112222", "444-55-6666", "f", T0, None),  # bad id
        ("dev-00002", "very.long@example.com", "0699998888", "777-88-9999", "f", T0, None),  # too long
        (
            "dev-00003",
            "c@x.com",
            "0600000000",
            "000-11-2222",
            "f",
            T0,
            '{"_file":"f","_raw":"dev-9,e@x.com","email":"d@x.com","ssn":"999-00-1111"}',
        ),  # rescued
    ]
    spark.createDataFrame(rows, BRONZE).write.format("delta").save(config.dataset("people").bronze_path)


def test_pii_is_protected_everywhere(spark, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_SILVER_SALT", SALT)
    config = _config(tmp_path)
    ds = config.dataset("people")
    _land(spark, config)
    result = process(spark, ds, config, RunContext("r1", "p"))
    assert (result.rows_read, result.rows_written, result.rows_quarantined) == (4, 1, 3)
    silver = spark.read.format("delta").load(ds.silver_path).select("device_id", "email", "phone")
    expected = spark.createDataFrame(
        [("dev-00001", sha("a@x.com"), "*********5678")], "device_id string, email string, phone string"
    )
    assert_df_equality(silver, expected, ignore_nullable=True)
    assert "ssn" not in spark.read.format("delta").load(ds.silver_path).columns

    quarantine = spark.read.format("delta").load(ds.quarantine_path)
    text = " ".join(r[0] for r in quarantine.select(F.to_json(F.struct("*"))).collect())
    for raw in (
        "e@x.com",
        "b@x.com",
        "very.long@example.com",
        "c@x.com",
        "d@x.com",
        "0611112222",
        "444-55-6666",
        "777-88-9999",
        "999-00-1111",
        SALT,
    ):
        assert raw not in text
    assert sha("very.long@example.com") in text and "******2222" in text
    reasons = {(x.column, x.rule): x.value for r in quarantine.collect() for x in r["_reasons"]}
    assert reasons[("email", "max_length")] == sha("very.long@example.com")
    assert reasons[("_rescued_data", "rescued_data")] == (
        f'{{"_file":"f","_raw":"{REDACTED}","email":"{sha("d@x.com")}"}}'
    )


def test_missing_salt_fails_before_anything_is_written(spark, tmp_path, monkeypatch):
    monkeypatch.delenv("TEST_SILVER_SALT", raising=False)
    config = _config(tmp_path)
    _land(spark, config)
    with pytest.raises(SecretError, match="TEST_SILVER_SALT"):
        process(spark, config.dataset("people"), config, RunContext("r1", "p"))
    assert not (tmp_path / "silver").exists()


def test_mask_keeps_only_the_suffix(spark):
    df = spark.createDataFrame([("abcdef",), ("ab",), (None,)], "v string")
    keep2 = ColumnSpec("v", pii="mask", mask_keep=2)
    keep0 = ColumnSpec("v", pii="mask", mask_keep=0)
    out = df.select(
        protect(F.col("v"), keep2, None).alias("k2"), protect(F.col("v"), keep0, None).alias("k0")
    )
    expected = spark.createDataFrame(
        [("****ef", "******"), ("ab", "**"), (None, None)], "k2 string, k0 string"
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)
