"""``pii: {at: bronze}``: raw PII never lands in Delta, not even in the log's column statistics.

Issue 16's probe found raw ``owner_email`` values in bronze, including the min/max statistics
of its ``_delta_log``. With the contract asking for protection in bronze, the bronze table and
every file under the lake (data files and commit JSON) hold only the salted hash, and silver
holds the same hash (not a hash of the hash). The same pipeline without it is the control:
its log does carry the raw value, so the check below can fail.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest

from lakehouse.config import load_config
from lakehouse.errors import ConfigError
from lakehouse.pipeline import run_pipeline

SALT = "bronze-pepper"
EMAILS = ("ann@example.com", "bo@example.com")


def sha(text: str) -> str:
    return hashlib.sha256((SALT + text).encode()).hexdigest()


def _pipeline(tmp_path: Path, at: str | None, rules: str = "") -> Path:
    landing = tmp_path / "landing" / "people"
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "p.csv").write_text(f"id,email\n1, {EMAILS[0]} \n2,{EMAILS[1]}\n3,NA\n")
    pii = f"pii: {{at: {at}}}" if at else ""
    path = tmp_path / "p.yml"
    path.write_text(
        textwrap.dedent(f"""
        pipeline: people
        storage: {{root: "{tmp_path / "lake"}", landing: "{tmp_path / "landing"}"}}
        datasets:
          people:
            source: {{format: csv, path: people, options: {{header: true}}}}
            contract:
              {pii}
              pii_salt: {{secret: {{env: TEST_BRONZE_SALT}}}}
              columns:
                - {{name: id, type: int}}
                - {{name: email, pii: hash{rules}}}
        """)
    )
    return path


def _lake_text(root: Path) -> str:
    """Every file under the lake as text (commit JSON exactly; Parquet as its bytes)."""
    return "\n".join(p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file())


def _email_minimums(table: Path) -> list[str]:
    """The ``minValues`` of column ``email`` in the file statistics of every commit of a table."""
    found = []
    for commit in sorted((table / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            add = json.loads(line).get("add")
            if add and add.get("stats"):
                found.append(json.loads(add["stats"])["minValues"]["email"])
    return found


@pytest.mark.slow
def test_pii_protected_in_bronze_never_reaches_delta_raw(
    spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_BRONZE_SALT", SALT)
    config = load_config(_pipeline(tmp_path / "a", "bronze"), None)
    assert run_pipeline(spark, config).status == "succeeded"
    bronze = spark.read.format("delta").load(config.dataset("people").bronze_path)
    assert sorted((r.id, r.email) for r in bronze.collect()) == [
        ("1", sha(EMAILS[0])),  # trimmed first, as silver would
        ("2", sha(EMAILS[1])),
        ("3", None),  # a null token stays NULL
    ]
    silver = spark.read.format("delta").load(config.dataset("people").silver_path)
    assert sorted((r.id, r.email) for r in silver.collect()) == [
        (1, sha(EMAILS[0])),
        (2, sha(EMAILS[1])),
        (3, None),
    ]
    text = _lake_text(Path(config.storage.root))
    assert not [e for e in EMAILS if e in text]
    # The statistics hold the hash instead (Delta keeps a prefix of long strings: 32 characters).
    minimums = _email_minimums(Path(config.dataset("people").bronze_path))
    lowest = min(sha(e) for e in EMAILS)
    assert minimums and all(len(m) >= 16 and lowest.startswith(m) for m in minimums), minimums

    # Control: protected in silver only, the bronze log's statistics carry the raw value.
    control = load_config(_pipeline(tmp_path / "b", None), None)
    assert run_pipeline(spark, control, layers=("bronze",)).status == "succeeded"
    assert EMAILS[0] in _lake_text(Path(control.dataset("people").bronze_path) / "_delta_log")
    assert [m.strip() for m in _email_minimums(Path(control.dataset("people").bronze_path))] == [EMAILS[0]]


def test_pii_at_bronze_needs_string_columns_without_value_rules(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"columns\.1.*protected in bronze.*rules max_length"):
        load_config(_pipeline(tmp_path, "bronze", ", max_length: 40"), None)
    with pytest.raises(ConfigError, match=r"pii\.at"):
        load_config(_pipeline(tmp_path, "gold"), None)
