"""GDPR erasure: ``lakehouse forget`` removes one person from every layer, then vacuums.

The probe of issue 16 found raw ``owner_email`` values in bronze forever and no way to erase
one person across bronze, silver, quarantine and gold. Here a customer's rows are spread over
every table a pipeline writes (bronze, silver, the silver quarantine, a gold SCD2 history with
two versions, the gold quarantine, a derived table); after ``forget`` a delta-rs read of every
version of every table, and of every data file left in its folder, finds neither the email
nor its salted hash, while the other customer's rows are all still there.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest
from deltalake import DeltaTable, QueryBuilder

import lakehouse.forget as forget_module
from lakehouse.cli import main
from lakehouse.config import load_config
from lakehouse.errors import ConfigError
from lakehouse.forget import RETENTION_CHECK, _column_match, _raw_match, forget, parse_where
from lakehouse.io import lease
from lakehouse.io.increments import ERASURE_PROPERTY
from lakehouse.pipeline import run_pipeline

SALT = "forget-me-salt"
ALICE, BOB = "alice@example.com", "bob@example.com"
HEADER = "customer_id,email,city,plan,updated_at\n"


def sha(text: str) -> str:
    return hashlib.sha256((SALT + text).encode()).hexdigest()


@pytest.fixture()
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEST_FORGET_SALT", SALT)
    landing = tmp_path / "landing" / "customers"
    landing.mkdir(parents=True)
    (landing / "day1.csv").write_text(
        HEADER
        + f"c-1,{ALICE},Paris,basic,2026-11-01 10:00:00\n"
        + f"c-2,{BOB},Rome,basic,2026-11-01 11:00:00\n"
        + f"c-1,{ALICE},Paris,platinum,2026-11-01 12:00:00\n"  # plan not allowed: quarantined
    )
    path = tmp_path / "shop.yml"
    path.write_text(
        textwrap.dedent(f"""
        pipeline: shop
        storage: {{root: "{tmp_path / "lake"}", landing: "{tmp_path / "landing"}"}}
        datasets:
          customers:
            source: {{format: csv, path: customers, options: {{header: true}}}}
            contract:
              primary_key: [customer_id, updated_at]
              max_quarantine_rate: 0.9
              pii_salt: {{secret: {{env: TEST_FORGET_SALT}}}}
              columns:
                - {{name: customer_id}}
                - {{name: email, pii: hash}}
                - {{name: city}}
                - {{name: plan, allowed: [basic, pro]}}
                - {{name: updated_at, type: timestamp, format: "yyyy-MM-dd HH:mm:ss"}}
            gold:
              table: customer_history
              mode: scd2
              keys: [customer_id]
              scd2: {{track: [city, plan], effective_from: updated_at}}
              expectations:
                - {{name: known_city, rule: "city <> 'nowhere'", action: drop}}
        derived:
          - name: current_customers
            inputs: [customers]
            mode: merge
            keys: [customer_id]
            sql: SELECT customer_id, email, city FROM gold_customer_history WHERE is_current
        """)
    )
    return path


def _land_day2(config_file: Path) -> None:
    (config_file.parent / "landing" / "customers" / "day2.csv").write_text(
        HEADER
        + f"c-1,{ALICE},Lyon,pro,2026-11-02 10:00:00\n"
        + f"c-1,{ALICE},nowhere,pro,2026-11-03 10:00:00\n"  # dropped by gold: gold quarantine
    )


def _tables(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("_delta_log") if p.is_dir())


def _traces(rows: list[dict[str, object]]) -> list[str]:
    text = [json.dumps(r, default=str) for r in rows]
    return [t for t in text if ALICE in t or sha(ALICE) in t]


def _rows(table: DeltaTable) -> list[dict[str, object]]:
    """Every row of one version, read by delta-rs' own engine (no Spark, no pyarrow needed)."""
    out: list[dict[str, object]] = []
    for batch in QueryBuilder().register("t", table).execute("SELECT * FROM t"):
        columns = {batch.schema.field(i).name: batch.column(i).to_pylist() for i in range(batch.num_columns)}
        out += [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    return out


def _all_rows(table: Path) -> tuple[list[dict[str, object]], int]:
    """Every row of every version delta-rs can still read (older ones lose their files to VACUUM)."""
    rows: list[dict[str, object]] = []
    latest = DeltaTable(str(table)).version()
    for version in range(latest + 1):
        try:
            rows += _rows(DeltaTable(str(table), version=version))
        except Exception:  # an old version whose files were vacuumed away
            continue
    return rows, latest


def _data_files(table: Path) -> tuple[set[str], set[str]]:
    """(the data files in the folder, the files the latest version references)."""
    on_disk = {str(p.relative_to(table)) for p in table.rglob("*.parquet") if "_delta_log" not in p.parts}
    referenced = {
        uri.split(str(table).rstrip("/") + "/", 1)[-1] for uri in DeltaTable(str(table)).file_uris()
    }
    return on_disk, referenced


@pytest.mark.slow
def test_forget_removes_a_person_from_every_layer_and_vacuum_leaves_no_trace(
    spark, shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on serverless, where a session may not set the commit userMetadata conf: the erasure
    # commits are then known by their table property alone.
    monkeypatch.setattr(forget_module, "_mark_session", lambda spark, marker: False)
    config = load_config(shop, None)
    assert run_pipeline(spark, config, run_id="run-1").status == "succeeded"
    _land_day2(shop)
    assert run_pipeline(spark, config, run_id="run-2").status == "succeeded"
    root = Path(config.storage.root)
    before = {t.name: _traces(_all_rows(t)[0]) for t in _tables(root)}
    for name in (
        "customers",  # bronze
        "customers_quarantine",
        "customer_history",
        "customer_history_quarantine",
        "current_customers",
    ):
        assert before[name], f"the fixture must put the person into {name}"
    silver = spark.read.format("delta").load(config.dataset("customers").silver_path)
    assert silver.where(f"email = '{sha(ALICE)}'").count() == 3

    spark.conf.set(RETENTION_CHECK, "false")
    try:
        code = main(
            ["forget", "--config", str(shop), "--env", "", "--dataset", "customers",
             "--where", f"email = '{ALICE}'", "--retain-hours", "0", "--by", "dpo@example.com", "--json"]
        )  # fmt: skip
    finally:
        spark.conf.unset(RETENTION_CHECK)
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    storage = config.storage
    gold = storage.table("gold", "customer_history")
    assert summary["rows"] == {
        config.dataset("customers").bronze_path: 4,
        config.dataset("customers").silver_path: 3,
        config.dataset("customers").quarantine_path: 1,
        gold: 2,
        f"{gold}_quarantine": 1,
        storage.table("gold", "current_customers"): 1,
    }
    assert summary["untraceable"] == []
    held = lease.current(spark, config.storage.locks, "shop")  # held the run lock, gave it back
    assert held is not None and held.run_id == f"forget-{summary['erasure_id']}" and held.released_ms

    # No trace in any readable version of any table; the vacuumed tables keep no data file
    # beyond their latest version's, so older versions' rows are gone too. Bob is untouched.
    for table in _tables(root):
        if table.name == "_lakehouse_erasures":
            continue
        assert _traces(_all_rows(table)[0]) == [], table
    for path in summary["vacuumed"]:
        on_disk, referenced = _data_files(Path(path))
        assert on_disk == referenced, path
    assert sorted(summary["vacuumed"]) == sorted(summary["rows"])
    current = _rows(DeltaTable(storage.table("gold", "customer_history")))
    assert [(r["customer_id"], r["city"]) for r in current] == [("c-2", "Rome")]
    bronze = _rows(DeltaTable(config.dataset("customers").bronze_path))
    assert [r["email"] for r in bronze] == [BOB]

    # The audit names who, which column and how many rows, never the value.
    audit = spark.read.format("delta").load(storage.erasures).collect()
    assert len(audit) == 1
    entry = audit[0]
    assert (entry.erased_by, entry.dataset, entry.column, entry.values_count) == (
        "dpo@example.com",
        "customers",
        "email",
        1,
    )
    assert entry.values_fingerprint == [sha(ALICE)] and sum(entry.rows.values()) == 12
    assert ALICE not in json.dumps(entry.asDict(recursive=True), default=str)

    # Each erasure is a SQL DELETE commit (no userMetadata here) named by a table property.
    bronze_path = config.dataset("customers").bronze_path
    deletes = [c for c in DeltaTable(bronze_path).history() if c["operation"] == "DELETE"]
    assert len(deletes) == 1 and not deletes[0].get("userMetadata")
    marks = {
        k: v for k, v in DeltaTable(bronze_path).metadata().configuration.items() if k.startswith("lakehouse")
    }
    assert marks == {
        f"{ERASURE_PROPERTY}{deletes[0]['version']}": f"lakehouse-forget {summary['erasure_id']}"
    }

    # The pipeline runs on: the erasure commits are skipped and the person does not come back.
    again = run_pipeline(spark, config, run_id="run-3")
    assert again.status == "succeeded"
    silver = spark.read.format("delta").load(config.dataset("customers").silver_path)
    assert silver.where(f"email = '{sha(ALICE)}'").count() == 0 and silver.count() == 1


def test_forget_refuses_unsafe_requests_before_deleting(spark, shop: Path) -> None:
    config = load_config(shop, None)
    with pytest.raises(ConfigError, match="not of the form <column> = '<value>'"):
        parse_where("email = 'a' OR 1=1")
    assert parse_where("email = 'o''brien@x.com'") == ("email", "o'brien@x.com")
    with pytest.raises(ConfigError, match="has no column 'mail'"):
        forget(spark, config, "customers", "mail", [ALICE], retain_hours=168)
    with pytest.raises(ConfigError, match=f"below Delta's 168 h: set {RETENTION_CHECK}=false"):
        forget(spark, config, "customers", "email", [ALICE], retain_hours=0)
    assert not Path(config.storage.erasures).exists()


def test_erased_values_enter_the_delete_sql_only_as_hex() -> None:
    hostile = "x') OR 1=1 OR ('' = '\\"
    for condition in (_column_match("email", [hostile]), _raw_match("email", [hostile])):
        assert hostile not in condition and "OR 1=1" not in condition
        assert hostile.encode().hex() in condition
