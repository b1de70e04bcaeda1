"""`lakehouse infer-contract` on generated files covering every supported type (csv, json,
parquet): the draft states the expected types and rules, validates, and a pipeline run with
it quarantines no row and keeps every value."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakehouse.cli import main
from lakehouse.infer.decide import _bound, code_pattern, column_name
from lakehouse.infer.profile import ColumnStats

ROWS = 240
START = datetime(2026, 3, 1, 6, 0, 0)
HEADER = (
    "order_id,big_id,amount,ratio,gift,active,day,day_eu,ordered_at,sent_at,status,code,zip,"
    "comment,empty,qty,padded"
)


def _csv_rows() -> list[dict[str, Any]]:
    rng = random.Random(15)
    rows = []
    for i in range(ROWS):
        at = START + timedelta(minutes=53 * i)
        rows.append(
            {
                "order_id": str(1000 + i),
                "big_id": str(5_000_000_000 + 17 * i),
                "amount": f"{rng.randint(0, 250000) / 100:.2f}",
                "ratio": rng.choice([f"{rng.random():.3f}", f"{rng.random():.6f}", "2.5e-3"]),
                "gift": rng.choice(["yes", "no"]),
                "active": rng.choice(["true", "false", "NA"]),
                "day": at.strftime("%Y-%m-%d"),
                "day_eu": (date(2026, 1, 13) + timedelta(days=i % 19)).strftime("%d/%m/%Y"),
                "ordered_at": at.strftime("%Y-%m-%d %H:%M:%S"),
                "sent_at": (at + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000+02:00"),
                "status": rng.choice(["placed", "shipped", "cancelled", ""]),
                "code": f"SKU-{rng.randint(0, 9999):04d}",
                "zip": f"{rng.randint(0, 99999):05d}",
                "comment": rng.choice([f"call me after {i}", f"left at door, box {i}", "null", "Ça va"]),
                "empty": "",
                "qty": rng.choice([str(rng.randint(1, 80)), "NA", "null"]),
                "padded": f"  {rng.randint(1, 9)} ",
            }
        )
    return rows


def _write_csv(landing: Path, rows: list[dict[str, Any]]) -> None:
    folder = landing / "orders_csv"
    folder.mkdir(parents=True)
    for part in range(3):  # three files, as three days of exports
        lines = [HEADER] + [",".join(f'"{v}"' if "," in v else v for v in r.values()) for r in rows[part::3]]
        (folder / f"orders-{part}.csv").write_text("\n".join(lines) + "\n")


def _write_json(landing: Path) -> None:
    folder = landing / "events_json"
    folder.mkdir(parents=True)
    rng = random.Random(8)
    with (folder / "events.json").open("w") as out:
        for i in range(120):
            event = {
                "event_id": f"e{i:05d}",
                "seen_at": (START + timedelta(seconds=97 * i)).isoformat(),
                "score": rng.choice([rng.randint(0, 100), None]),
                "price": round(rng.uniform(0, 50), 4),
                "ok": rng.choice([True, False]),
                "device": {"os": rng.choice(["ios", "android"]), "v": rng.randint(1, 3)},
                "kind": rng.choice(["click", "view"]),
            }
            out.write(json.dumps(event) + "\n")


def _write_parquet(spark, landing: Path) -> None:
    rows = [
        (
            i,
            10_000_000_000 + i,
            Decimal(f"{i}.25"),
            i / 7,
            i % 2 == 0,
            date(2026, 2, 1) + timedelta(days=i),
            datetime(2026, 2, 1, tzinfo=timezone.utc) + timedelta(hours=i),
            f"P-{i:03d}",
        )
        for i in range(60)
    ]
    schema = (
        "id int, big long, price decimal(9,2), share double, even boolean, day date, at timestamp, "
        "product string"
    )
    spark.createDataFrame(rows, schema).coalesce(1).write.parquet(str(landing / "typed_parquet"))


def _pipeline(tmp_path: Path, contracts: bool) -> Path:
    datasets = {
        "orders_csv": {"format": "csv", "options": {"header": True}},
        "events_json": {"format": "json"},
        "typed_parquet": {"format": "parquet"},
    }
    tree: dict[str, Any] = {
        "pipeline": "drafts",
        "storage": {"root": str(tmp_path / "lake"), "landing": str(tmp_path / "landing")},
        "datasets": {},
    }
    for name, source in datasets.items():
        if contracts:
            tree["datasets"][name] = {"source": source, "contract": f"../contracts/{name}.yml"}
        else:
            tree["datasets"][name] = {"source": {**source, "schema": "infer"}}
    path = tmp_path / "conf/pipelines/drafts.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(tree))
    return path


def _columns(contract: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: {k: v for k, v in c.items() if k != "name"} for c in contract["columns"]}


def test_draft_of_generated_files_validates_and_quarantines_nothing(
    spark, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _csv_rows()
    _write_csv(tmp_path / "landing", rows)
    _write_json(tmp_path / "landing")
    _write_parquet(spark, tmp_path / "landing")
    pipeline = str(_pipeline(tmp_path, contracts=False))
    contracts = tmp_path / "conf/contracts"
    for name in ("orders_csv", "events_json", "typed_parquet"):
        out = contracts / f"{name}.yml"
        assert (
            main(["infer-contract", "--config", pipeline, "--env", "", "--dataset", name, "--out", str(out)])
            == 0
        )
        assert f"contract: ../contracts/{name}.yml" in capsys.readouterr().out

    text = (contracts / "orders_csv.yml").read_text()
    assert "# Drawn from 3 of 3 files" in text and f"# {ROWS} rows" in text
    draft = yaml.safe_load(text)
    assert draft["null_tokens"] == ["", "NA", "null"]
    assert draft["primary_key"] == ["order_id"]
    cols = _columns(draft)
    assert cols["order_id"] == {"type": "int", "nullable": False}
    assert cols["big_id"] == {"type": "long", "nullable": False}
    assert cols["amount"] == {"type": "decimal(10,2)", "nullable": False, "min": 0, "max": 10000}
    assert cols["ratio"] == {"type": "double", "nullable": False, "min": 0, "max": 1}
    assert cols["gift"] == {
        "type": "boolean",
        "true_values": ["yes"],
        "false_values": ["no"],
        "nullable": False,
    }
    assert cols["active"]["type"] == "boolean" and cols["active"]["nullable"] is True
    assert cols["day"] == {"type": "date", "format": "yyyy-MM-dd", "nullable": False}
    assert cols["day_eu"] == {"type": "date", "format": "dd/MM/yyyy", "nullable": False}
    assert cols["ordered_at"] == {"type": "timestamp", "format": "yyyy-MM-dd HH:mm:ss", "nullable": False}
    assert cols["sent_at"]["format"] == "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"
    assert cols["status"] == {
        "type": "string",
        "nullable": True,
        "allowed": ["cancelled", "placed", "shipped"],
    }
    assert cols["code"] == {"type": "string", "nullable": False, "pattern": "^SKU-[0-9]{4}$"}
    assert cols["zip"] == {"type": "string", "nullable": False, "pattern": "^[0-9]{5}$"}
    assert cols["comment"] == {"type": "string", "nullable": True}
    assert cols["empty"] == {"type": "string", "nullable": True}
    assert cols["qty"] == {"type": "int", "nullable": True, "min": 0, "max": 100}
    assert cols["padded"] == {"type": "int", "nullable": False, "min": 0, "max": 10}
    assert "leading zeros" in text and "'NA' in active, qty" in text

    events = _columns(yaml.safe_load((contracts / "events_json.yml").read_text()))
    assert events["event_id"]["pattern"] == "^e[0-9]{5}$"
    assert events["seen_at"] == {"type": "timestamp", "format": "yyyy-MM-dd'T'HH:mm:ss", "nullable": False}
    assert events["score"]["type"] == "int" and events["score"]["nullable"] is True
    assert events["price"]["type"] == "double" and events["ok"]["type"] == "boolean"
    assert events["device"]["type"] == "string" and events["kind"]["allowed"] == ["click", "view"]

    typed = _columns(yaml.safe_load((contracts / "typed_parquet.yml").read_text()))
    assert {n: c["type"] for n, c in typed.items()} == {
        "id": "int",
        "big": "long",
        "price": "decimal(9,2)",
        "share": "double",
        "even": "boolean",
        "day": "date",
        "at": "timestamp",
        "product": "string",
    }

    pipeline = str(_pipeline(tmp_path, contracts=True))
    assert main(["validate-config", "--config", pipeline, "--env", ""]) == 0
    capsys.readouterr()
    assert main(["run", "--config", pipeline, "--env", "", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    landed = {"orders_csv": ROWS, "events_json": 120, "typed_parquet": 60}
    for name, count in landed.items():
        silver = summary["datasets"][name]["silver"]
        counts = (silver["rows_read"], silver["rows_written"], silver["rows_quarantined"])
        assert counts == (count, count, 0), name

    table = spark.read.format("delta").load(str(tmp_path / "lake/silver/orders_csv"))
    types = dict(table.dtypes)
    assert [
        types[c] for c in ("order_id", "big_id", "amount", "ratio", "gift", "day", "ordered_at", "sent_at")
    ] == ["int", "bigint", "decimal(10,2)", "double", "boolean", "date", "timestamp", "timestamp"]
    first = table.filter("order_id = 1000").first()
    assert first["amount"] == Decimal(rows[0]["amount"]) and first["padded"] == int(rows[0]["padded"])
    shown = table.filter("order_id = 1000").selectExpr("date_format(sent_at, 'yyyy-MM-dd HH:mm:ss')").first()
    assert shown[0] == "2026-03-01 06:00:00"  # +02:00 offset read as the UTC instant
    assert first["gift"] is (rows[0]["gift"] == "yes")


def test_sample_files_limits_the_profile_to_the_newest_files(
    spark, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_csv(tmp_path / "landing", _csv_rows())
    pipeline = str(_pipeline(tmp_path, contracts=False))
    args = [
        "infer-contract",
        "--config",
        pipeline,
        "--env",
        "",
        "--dataset",
        "orders_csv",
        "--sample-files",
        "1",
    ]
    tracker = spark.sparkContext.statusTracker()
    before = set(tracker.getJobIdsForGroup())
    assert main(args) == 0
    text = capsys.readouterr().out
    # Two aggregate queries for 17 columns (each may run as two jobs: shuffle stage, result),
    # plus one job while reading the sampled csv files and one for Spark's parse of the
    # sampled file's header (bronze's header is Spark's first record, per new file).
    assert len(set(tracker.getJobIdsForGroup()) - before) <= 6
    assert "# Drawn from the newest 1 of 3 files" in text and f"# {ROWS // 3} rows" in text
    out = tmp_path / "draft.yml"
    out.write_text("mine\n")
    assert main([*args, "--out", str(out)]) == 2
    assert "use --force" in capsys.readouterr().err and out.read_text() == "mine\n"


def test_a_dataset_can_name_its_contract_file_before_it_is_drafted(
    spark, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pipeline already names the contract file, has a gold section (which needs a
    contract) and a derived table over it: the draft is written, and then the same file
    validates as it stands."""
    _write_csv(tmp_path / "landing", _csv_rows())
    tree = {
        "pipeline": "drafts",
        "storage": {"root": str(tmp_path / "lake"), "landing": str(tmp_path / "landing")},
        "datasets": {
            "orders_csv": {
                "source": {"format": "csv", "options": {"header": True}},
                "contract": "../contracts/orders_csv.yml",
                "gold": {"table": "orders", "mode": "merge", "keys": ["order_id"]},
            }
        },
        "derived": [
            {
                "name": "orders_per_status",
                "inputs": ["orders_csv"],
                "partition_by": ["status"],
                "sql": "SELECT status, count(*) AS n FROM gold_orders GROUP BY status",
            }
        ],
    }
    pipeline = tmp_path / "conf/pipelines/drafts.yml"
    pipeline.parent.mkdir(parents=True)
    pipeline.write_text(yaml.safe_dump(tree))
    check = ["validate-config", "--config", str(pipeline), "--env", ""]
    assert main(check) == 2
    assert "contract file not found" in capsys.readouterr().err

    out = tmp_path / "conf/contracts/orders_csv.yml"
    args = ["infer-contract", "--config", str(pipeline), "--env", "", "--dataset", "orders_csv"]
    assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()
    assert set(_columns(yaml.safe_load(out.read_text()))) == set(HEADER.split(","))
    assert main(check) == 0
    assert yaml.safe_load(pipeline.read_text()) == tree  # the pipeline file is left as it was
    # An unknown dataset is still an error naming the ones there are.
    assert main(["infer-contract", "--config", str(pipeline), "--env", "", "--dataset", "nope"]) == 2
    assert "orders_csv" in capsys.readouterr().err


def test_names_bounds_and_patterns() -> None:
    taken: set[str] = set()
    assert [column_name(n, taken) for n in ("Order ID", "orderId", "order id", "2nd")] == [
        "order_id",
        "order_id_2",
        "order_id_3",
        "c_2nd",
    ]
    assert (_bound(0.99, up=True), _bound(100, up=True), _bound(101, up=True), _bound(-3, up=False)) == (
        1,
        100,
        1000,
        -10,
    )
    assert (_bound(5, up=False), _bound(-2, up=True)) == (0, 0)

    def stats(low: str, high: str, shape: str) -> ColumnStats:
        values = {"vmin": low, "vmax": high, "shape_min": shape, "shape_max": shape}
        return ColumnStats("c", "string", False, 0, [], {}, values)

    assert code_pattern(stats("dev-00001", "dev-00990", "aaa-99999")) == "^dev-[0-9]{5}$"
    assert code_pattern(stats("AB.01", "XZ.99", "AA.99")) == "^[A-Z]{2}\\.[0-9]{2}$"
    assert code_pattern(stats("apple", "melon", "aaaaa")) is None  # words are not codes
