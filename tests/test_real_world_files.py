"""Files shaped like real exports, through bronze and silver: every row accounted for, a clear
file-level verdict for what cannot be read as configured, the other files of the batch loaded.

Each case builds its files here, runs bronze and silver, and checks rows landed = bronze rows
= silver rows + quarantined rows (counted in the tables, independently of the run's figures),
the exact reasons, and that the good file of the same batch loaded.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

from lakehouse.bronze import verdicts
from lakehouse.config import load_config
from lakehouse.pipeline import run_pipeline
from lakehouse.silver.checks import EXTRA_FIELDS_MESSAGE

SILVER = ("bronze", "silver")
GOOD_CSV = "id,name,score\ng1,good,1\n"
GOOD_JSON = '{"id": "g1", "name": "good", "score": "1"}\n'


class Lake:
    """One dataset ``ds`` (columns id, name, score; strings) in a test's tmp_path."""

    def __init__(self, spark: Any, tmp_path: Path) -> None:
        self.spark, self.tmp = spark, tmp_path

    def config(
        self, fmt: str = "csv", options: dict[str, Any] | None = None, gold: Any = None, **contract: Any
    ) -> Any:
        (self.tmp / "landing/ds").mkdir(parents=True, exist_ok=True)
        columns = [{"name": c} for c in ("id", "name", "score")]
        dataset: dict[str, Any] = {
            "source": {"format": fmt, "path": "ds", "schema": "contract", "options": options or {}},
            "contract": {"columns": columns, **contract},
        }
        if gold:
            dataset["gold"] = gold
        storage = {"root": str(self.tmp / "lake"), "landing": str(self.tmp / "landing")}
        path = self.tmp / "pipeline.yml"
        path.write_text(json.dumps({"pipeline": "t", "storage": storage, "datasets": {"ds": dataset}}))
        self.cfg = load_config(path, env=None)
        return self.cfg

    def land(self, name: str, data: str | bytes) -> str:
        target = self.tmp / "landing/ds" / name
        target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return "file:" + str(target)

    def land_typed(self, name: str, rows: list[tuple[Any, ...]], schema: str, mtime: int = 0) -> str:
        """One parquet file (moved out of Spark's output folder), its modification time set."""
        out = self.tmp / "spark-out" / name
        self.spark.createDataFrame(rows, schema).coalesce(1).write.parquet(str(out))
        (part,) = out.glob("part-*.parquet")
        target = self.tmp / "landing/ds" / name
        part.rename(target)
        if mtime:
            os.utime(target, (mtime, mtime))
        return "file:" + str(target)

    def run(
        self, run_id: str = "run-1", ok: bool = True, layers: tuple[str, ...] = ("bronze", "silver")
    ) -> Any:
        summary = run_pipeline(self.spark, self.cfg, layers=layers, run_id=run_id)
        assert (summary.status == "succeeded") == ok, summary.error
        return summary

    def rows(self, table: str) -> list[dict[str, Any]]:
        ds = self.cfg.dataset("ds")
        path = {"bronze": ds.bronze_path, "silver": ds.silver_path, "quarantine": ds.quarantine_path}[table]
        return [r.asDict(recursive=True) for r in self.spark.read.format("delta").load(path).collect()]

    def accounted(self, landed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Rows landed = bronze = silver + quarantine; returns (silver, quarantine) rows."""
        bronze, silver, quarantine = self.rows("bronze"), self.rows("silver"), self.rows("quarantine")
        assert len(bronze) == landed
        assert len(silver) + len(quarantine) == landed
        return silver, quarantine


@pytest.fixture()
def lake(spark: Any, tmp_path: Path) -> Lake:
    return Lake(spark, tmp_path)


def _ids(rows: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in rows}


def test_csv_header_after_a_comment_line(lake: Lake) -> None:
    lake.config(options={"header": True, "comment": "~"})
    lake.land("good.csv", GOOD_CSV)
    lake.land("commented.csv", '~ exported 2026-11-29\nid,name,score\nc1,"a, quoted",2\n~ a note\nc2,b,3\n')
    summary = lake.run()
    silver, quarantine = lake.accounted(3)
    assert _ids(silver) == {"g1", "c1", "c2"} and quarantine == []
    assert {r["name"] for r in silver} == {"good", "a, quoted", "b"}
    assert summary.result("ds", "bronze").details["new_columns"] == []


def test_csv_without_header_takes_the_contract_names_after_comments(lake: Lake) -> None:
    lake.config(options={"header": False, "comment": "#", "sep": ";"})
    lake.land("rows.csv", "# id;name;score\nh1;x;1\nh2;y;2\n")
    lake.run()
    silver, _ = lake.accounted(2)
    assert sorted((r["id"], r["name"], r["score"]) for r in silver) == [("h1", "x", "1"), ("h2", "y", "2")]


@pytest.mark.parametrize("header", [True, False])
def test_extra_fields_are_rescued_and_quarantined_with_their_text(lake: Lake, header: bool) -> None:
    lake.config(options={"header": header})
    top = "id,name,score\n" if header else ""
    path = lake.land("extra.csv", top + 'e1,x,1\ne2,"y, z",2,surplus,"more, text"\n')
    lake.land("good.csv", GOOD_CSV if header else "g1,good,1\n")
    lake.run()
    bronze = lake.rows("bronze")
    assert {c for r in bronze for c in r} == {
        "id", "name", "score", "_source_file", "_file_modified_at", "_ingested_at", "_run_id", "_rescued_data"
    }  # fmt: skip
    silver, quarantine = lake.accounted(3)
    assert _ids(silver) == {"e1", "g1"}
    (bad,) = quarantine
    (why,) = bad["_reasons"]
    assert (why["rule"], why["column"]) == ("extra_fields", "_rescued_data")
    assert why["message"] == EXTRA_FIELDS_MESSAGE
    against = "header" if header else "contract"
    assert json.loads(why["value"]) == {
        "_file": path,
        "_error": f"row has 5 fields, {against} has 3",
        "_raw": 'e2,"y, z",2,surplus,"more, text"',
        "_extra_fields": 2,
    }


def test_extra_fields_kept_and_counted_when_the_contract_ignores_them(lake: Lake) -> None:
    lake.config(options={"header": False}, on_extra_fields="ignore")
    lake.land("extra.csv", "e1,x,1\ne2,y,2,surplus\ne3,z,3,a,b\n")
    summary = lake.run()
    silver, quarantine = lake.accounted(3)
    assert _ids(silver) == {"e1", "e2", "e3"} and quarantine == []
    assert summary.result("ds", "silver").details["extra_fields_kept"] == 2


def _pretty_array(n: int, bom: bool) -> bytes:
    doc = [{"id": f"a{i}", "name": "n", "score": str(i)} for i in range(n)]
    return (codecs.BOM_UTF8 if bom else b"") + json.dumps(doc, indent=2).encode()


@pytest.mark.parametrize("bom", [False, True])
def test_pretty_json_array_without_multiline_is_set_aside_whole(lake: Lake, bom: bool) -> None:
    lake.config(fmt="json")
    good = lake.land("good.json", GOOD_JSON)
    bad = lake.land("array.json", _pretty_array(200, bom))
    summary = lake.run()
    bronze = summary.result("ds", "bronze")
    assert bronze.details["bad_files"] == {bad: verdicts.ARRAY_OVER_LINES}
    assert verdicts.ARRAY_OVER_LINES == (
        "top-level JSON array over several lines: set source.options.multiLine: true"
    )
    silver, _ = lake.accounted(1)
    assert {r["_source_file"] for r in silver} == {good}


@pytest.mark.parametrize("bom", [False, True])
def test_pretty_json_array_with_multiline_is_read_as_an_array(lake: Lake, bom: bool) -> None:
    lake.config(fmt="json", options={"multiLine": True})
    lake.land("good.json", GOOD_JSON)
    lake.land("array.json", _pretty_array(200, bom))
    lake.run()
    silver, quarantine = lake.accounted(201)
    assert quarantine == [] and len(_ids(silver)) == 201


def test_json_lines_read_with_multiline_are_set_aside_not_cut_to_the_first(lake: Lake) -> None:
    lake.config(fmt="json", options={"multiLine": True})
    lake.land("good.json", json.dumps([json.loads(GOOD_JSON)], indent=1))
    bad = lake.land("lines.json", GOOD_JSON.replace("g1", "l1") + GOOD_JSON.replace("g1", "l2"))
    summary = lake.run()
    assert summary.result("ds", "bronze").details["bad_files"] == {bad: verdicts.SEVERAL_VALUES}
    silver, _ = lake.accounted(1)
    assert _ids(silver) == {"g1"}


def test_pretty_printed_object_without_multiline_is_set_aside(lake: Lake) -> None:
    lake.config(fmt="json")
    lake.land("good.json", GOOD_JSON)
    bad = lake.land("object.json", json.dumps(json.loads(GOOD_JSON), indent=2))
    summary = lake.run()
    assert summary.result("ds", "bronze").details["bad_files"] == {bad: verdicts.VALUE_OVER_LINES}
    lake.accounted(1)


def test_json_in_another_encoding_is_set_aside_until_the_encoding_is_set(lake: Lake) -> None:
    lake.config(fmt="json")
    lake.land("good.json", GOOD_JSON)
    bad = lake.land("latin.json", '{"id": "x1", "name": "caf\xe9", "score": "1"}\n'.encode("latin-1"))
    summary = lake.run()
    assert summary.result("ds", "bronze").details["bad_files"] == {
        bad: "not valid UTF-8 text (byte 0xe9 at offset 25): "
        "set source.options.encoding to the file's encoding"
    }
    lake.accounted(1)
    # Spark reads JSON lines in an encoding other than UTF-8 only with an explicit lineSep.
    lake.config(fmt="json", options={"encoding": "ISO-8859-1", "lineSep": "\n"})
    run = run_pipeline(lake.spark, lake.cfg, layers=("bronze", "silver"), run_id="run-2")
    assert run.status == "succeeded" and run.result("ds", "bronze").details["bad_files"] == {}
    silver, _ = lake.accounted(2)
    assert {r["name"] for r in silver} == {"good", "caf\xe9"}


def test_gzip_names_that_lie_are_set_aside(lake: Lake) -> None:
    lake.config()
    lake.land("good.csv", GOOD_CSV)
    fake = lake.land("fake.csv.gz", "id,name,score\nf1,x,1\n")
    hidden = lake.land("hidden.csv", gzip.compress(b"id,name,score\nh1,x,1\n", mtime=0))
    summary = lake.run()
    assert summary.result("ds", "bronze").details["bad_files"] == {
        fake: "not a valid gzip file although the name ends in .gz (Not a gzipped file (b'id'))",
        hidden: "gzip-compressed data but the name does not end in .gz: "
        "Spark would read the compressed bytes",
    }
    silver, _ = lake.accounted(1)
    assert _ids(silver) == {"g1"}


# (options, file bytes): the first record of each has 3 fields the way Spark tokenizes it.
_RECORDS = {
    "default": ({}, b'a,"b,c",d\n'),
    "sep": ({"sep": ";"}, b'a;"b;c";d\n'),
    "tab": ({"sep": "\t"}, b'a\t"b\tc"\td\n'),
    "multi-character sep": ({"sep": "||"}, b'a||"b||c"||d\n'),
    "quote": ({"quote": "'"}, b"a,'b,c',d\n"),
    "escape": ({}, b'a,"b\\",c",d\n'),
    "custom escape": ({"escape": "!"}, b'a,"b!",c",d\n'),
    "quoting off": ({"quote": "\u0000"}, b'a,"b,c\n'),
    "comment": ({"comment": "#"}, b'#x,y,z,w\na,"b,c",d\n'),
    "lineSep": ({"lineSep": "|"}, b'a,"b,c",d|e,f\n'),
    "multiLine": ({"multiLine": "true"}, b'a,"b,\nc",d\n'),
    "encoding": ({"encoding": "ISO-8859-1"}, 'a,"\xe9,c",d\n'.encode("latin-1")),
}


@pytest.mark.parametrize("case", sorted(_RECORDS))
def test_field_count_of_a_rescued_record_agrees_with_spark(spark: Any, tmp_path: Path, case: str) -> None:
    """Bronze's count of a malformed record's fields against Spark's own tokenizer."""
    from pyspark.sql import functions as F  # noqa: N812

    from lakehouse.bronze.readers import field_count
    from lakehouse.config.model import SourceConfig

    options, data = _RECORDS[case]
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    spark_fields = len(spark.read.options(header="false", **options).csv(str(path)).columns)
    raw = (
        spark.read.options(header="false", mode="PERMISSIVE", columnNameOfCorruptRecord="_bad", **options)
        .schema("only string, _bad string")
        .csv(str(path))
        .select("only", field_count(F.col("_bad"), SourceConfig("csv", str(path), options)))
        .first()[1]
    )
    assert (raw, spark_fields) == (3, 3)


def test_parquet_with_a_changed_column_type_is_set_aside_and_the_others_load(lake: Lake) -> None:
    lake.config(fmt="parquet")
    lake.land_typed("day1.parquet", [("a1", "x", 1)], "id string, name string, score int")
    lake.run()
    bad = lake.land_typed("day2.parquet", [("b1", "y", "high")], "id string, name string, score string")
    lake.land_typed("day3.parquet", [("c1", "z", 3)], "id string, name string, score int")
    lake.land_typed("day4.parquet", [("d1", "w", 2**40)], "id string, name string, score bigint")
    summary = lake.run("run-2")
    assert summary.result("ds", "bronze").details["bad_files"] == {
        bad: "column 'score' is string in this file but int in the bronze table",
        bad.replace("day2", "day4"): "column 'score' is bigint in this file but int in the bronze table",
    }
    silver, _ = lake.accounted(2)
    assert sorted((r["id"], r["score"]) for r in silver) == [("a1", "1"), ("c1", "3")]


def test_conflicting_types_within_one_batch_name_the_first_file(lake: Lake) -> None:
    lake.config(fmt="parquet")
    schema = "id string, name string, score"
    lake.land_typed("a.parquet", [("a1", "x", 1)], f"{schema} int", mtime=1_700_000_000)
    bad = lake.land_typed("b.parquet", [("b1", "y", 2.5)], f"{schema} double", mtime=1_700_000_100)
    summary = lake.run()
    assert summary.result("ds", "bronze").details["bad_files"] == {
        bad: "column 'score' is double in this file but int in a.parquet of the same batch"
    }
    lake.accounted(1)


def test_a_narrower_integer_file_loads_into_a_wider_column(lake: Lake) -> None:
    lake.config(fmt="parquet")
    lake.land_typed("wide.parquet", [("a1", "x", 2**40)], "id string, name string, score bigint")
    lake.run()
    lake.land_typed("narrow.parquet", [("b1", "y", 7)], "id string, name string, score smallint")
    summary = lake.run("run-2")
    assert summary.result("ds", "bronze").details["bad_files"] == {}
    silver, _ = lake.accounted(2)
    assert sorted(r["score"] for r in silver) == ["1099511627776", "7"]
    bronze = lake.spark.read.format("delta").load(lake.cfg.dataset("ds").bronze_path)
    assert dict(bronze.dtypes)["score"] == "bigint"


def test_a_wider_integer_file_is_set_aside_and_silver_reads_on(lake: Lake) -> None:
    # No type widening: Delta's change feed would refuse the versions before the widened one.
    lake.config(fmt="parquet")
    schema = "id string, name string, score"
    lake.land_typed("small.parquet", [("a1", "x", 1)], f"{schema} smallint")
    lake.run()
    lake.land_typed("small2.parquet", [("a2", "w", -2)], f"{schema} smallint", mtime=1_700_000_000)
    wide = lake.land_typed("int.parquet", [("b1", "y", 70000)], f"{schema} int", mtime=1_800_000_000)
    summary = lake.run("run-2")
    assert summary.result("ds", "bronze").details["bad_files"] == {
        wide: "column 'score' is int in this file but smallint in the bronze table"
    }
    bronze = lake.spark.read.format("delta").load(lake.cfg.dataset("ds").bronze_path)
    assert dict(bronze.dtypes)["score"] == "smallint"
    silver, quarantine = lake.accounted(2)
    assert quarantine == []
    assert {r["id"]: r["score"] for r in silver} == {"a1": "1", "a2": "-2"}
    assert summary.result("ds", "silver").rows_read == 1


def test_under_rescue_a_value_whose_type_does_not_fit_is_rescued(lake: Lake) -> None:
    # schema_evolution none takes the same path (bronze never drops a value silently)
    lake.config(fmt="parquet")
    lake.cfg = _with_source(lake, schema_evolution="rescue")
    schema = "id string, name string, score"
    lake.land_typed("day1.parquet", [("a1", "x", 1)], f"{schema} int")
    lake.run()
    text = lake.land_typed("day2.parquet", [("b1", "y", "high"), ("b2", "v", None)], f"{schema} string")
    lake.land_typed("day3.parquet", [("c1", "z", 3)], f"{schema} int")
    summary = lake.run("run-2")
    details = summary.result("ds", "bronze").details
    assert details["bad_files"] == {}
    reason = "column 'score' is string in this file but int in the bronze table"
    assert details["retyped_files"] == {text: reason}
    bronze = lake.spark.read.format("delta").load(lake.cfg.dataset("ds").bronze_path)
    assert dict(bronze.dtypes)["score"] == "int"
    rescued = {r["id"]: (r["score"], r["_rescued_data"]) for r in lake.rows("bronze")}
    assert rescued["b1"][0] is None and json.loads(rescued["b1"][1]) == {"_file": text, "score": "high"}
    assert rescued["b2"] == (None, None)  # a null value has nothing to rescue
    silver, quarantine = lake.accounted(4)
    assert {r["id"]: r["score"] for r in silver} == {"a1": "1", "b2": None, "c1": "3"}
    (bad,) = quarantine
    (why,) = bad["_reasons"]
    assert json.loads(bad["_raw"])["id"] == "b1"
    assert (why["rule"], why["column"]) == ("rescued_data", "_rescued_data")
    assert json.loads(why["value"]) == {"_file": text, "score": "high"}


def test_rescue_names_every_column_that_does_not_fit_and_set_aside_names_the_first() -> None:
    table = {"id": "string", "score": "int"}
    files = {
        "a.parquet": {"id": "string", "score": "int", "level": "double"},
        "b.parquet": {"id": "int", "score": "string", "level": "string"},
        "c.parquet": {"id": "string", "score": "bigint", "level": "double"},
    }
    assert verdicts.check_types(table, files) == {
        "b.parquet": "column 'id' is int in this file but string in the bronze table",
        "c.parquet": "column 'score' is bigint in this file but int in the bronze table",
    }
    assert verdicts.rescue_types(table, files) == {
        "b.parquet": {
            "id": ("string", "column 'id' is int in this file but string in the bronze table"),
            "score": ("int", "column 'score' is string in this file but int in the bronze table"),
            "level": (
                "double",
                "column 'level' is string in this file but double in a.parquet of the same batch",
            ),
        },
        "c.parquet": {"score": ("int", "column 'score' is bigint in this file but int in the bronze table")},
    }


def _with_source(lake: Lake, **source: Any) -> Any:
    tree = json.loads((lake.tmp / "pipeline.yml").read_text())
    tree["datasets"]["ds"]["source"].update(source)
    (lake.tmp / "pipeline.yml").write_text(json.dumps(tree))
    return load_config(lake.tmp / "pipeline.yml", env=None)


def _drift(summary: Any, layer: str) -> dict[str, list[str]]:
    return summary.result("ds", layer).details["drift"]


def test_new_column_is_reported_for_the_batch_that_has_it_not_forever(lake: Lake) -> None:
    from lakehouse.ledger import read_ledger

    lake.config()
    new = lake.land("new.csv", "id,name,score,extra\nn1,x,1,e\n")
    first = lake.run()
    assert _drift(first, "bronze") == {"unknown_columns": ["extra"], "missing_columns": []}
    assert _drift(first, "silver") == {"unknown_columns": ["extra"], "missing_columns": []}
    assert first.result("ds", "silver").details["drift_files"]["unknown_columns"] == {"extra": [new]}
    lake.land("plain.csv", "id,name,score\np1,y,2\n")
    second = lake.run("run-2")
    assert _drift(second, "silver") == {"unknown_columns": [], "missing_columns": []}
    silver, _ = lake.accounted(2)
    assert _ids(silver) == {"n1", "p1"}
    ledger = read_ledger(lake.spark, lake.cfg).where("layer = 'silver'").orderBy("run_id").collect()
    assert [(r.run_id, r.unknown_columns, r.missing_columns) for r in ledger] == [
        ("run-1", ["extra"], None),
        ("run-2", None, None),
    ]


def test_renamed_column_shows_as_one_missing_and_one_new_column(lake: Lake) -> None:
    lake.config()
    lake.land("renamed.csv", "id,title,score\nr1,x,1\n")
    summary = lake.run()
    assert _drift(summary, "silver") == {"unknown_columns": ["title"], "missing_columns": ["name"]}
    silver, _ = lake.accounted(1)
    assert silver[0]["name"] is None  # warn (the default): the row goes on, the summary says why


def test_missing_column_quarantines_the_rows_of_that_file(lake: Lake) -> None:
    lake.config(on_missing_columns="quarantine")
    lake.land("good.csv", GOOD_CSV)
    short = lake.land("short.csv", "id,name\ns1,x\ns2,y\n")
    lake.run()
    silver, quarantine = lake.accounted(3)
    assert _ids(silver) == {"g1"}
    reasons = [r["_reasons"] for r in quarantine]
    assert reasons == [[{
        "column": "score", "rule": "missing_columns", "value": short,
        "message": "the row's file lacks contract columns: score",
    }]] * 2  # fmt: skip


def test_new_column_quarantines_the_rows_of_that_file(lake: Lake) -> None:
    lake.config(on_new_columns="quarantine")
    lake.land("good.csv", GOOD_CSV)
    wide = lake.land("wide.csv", "id,name,score,extra\nw1,x,1,e\n")
    lake.run()
    silver, quarantine = lake.accounted(2)
    assert _ids(silver) == {"g1"}
    assert quarantine[0]["_reasons"] == [{
        "column": "extra", "rule": "new_columns", "value": wide,
        "message": "the row's file has columns the contract does not know: extra",
    }]  # fmt: skip


def test_new_column_fails_silver_until_the_contract_says_otherwise(lake: Lake) -> None:
    lake.config(on_new_columns="fail")
    wide = lake.land("wide.csv", "id,name,score,extra\nw1,x,1,e\n")
    summary = lake.run(ok=False)
    assert summary.result("ds", "bronze").status == "succeeded"
    assert summary.result("ds", "silver").error == (
        f"dataset 'ds': new columns extra (e.g. 'extra' in {wide}) and the contract's on_new_columns "
        "is fail; update the contract or the policy, the range is read again on the next run"
    )
    lake.config(on_new_columns="warn")
    lake.run("run-2")
    silver, _ = lake.accounted(1)  # the same range, read again: nothing lost
    assert _ids(silver) == {"w1"}


def test_evolve_adds_the_new_column_to_silver_and_gold(lake: Lake) -> None:
    lake.config(on_new_columns="evolve", gold={"table": "ds_gold", "mode": "merge", "keys": ["id"]})
    lake.land("good.csv", GOOD_CSV)
    lake.run(layers=("bronze", "silver", "gold"))
    lake.land("wide.csv", "id,name,score,extra\nw1,x,1,e\n")
    lake.run("run-2", layers=("bronze", "silver", "gold"))
    silver, _ = lake.accounted(2)
    assert {r["id"]: r["extra"] for r in silver} == {"g1": None, "w1": "e"}
    gold = lake.spark.read.format("delta").load(lake.cfg.storage.table("gold", "ds_gold"))
    assert {r["id"]: r["extra"] for r in gold.collect()} == {"g1": None, "w1": "e"}
