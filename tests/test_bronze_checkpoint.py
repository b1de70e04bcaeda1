"""The checkpoint ledger: plans, commits, compaction, pending batches; the pattern filter."""

from __future__ import annotations

from pathlib import Path

from lakehouse.bronze.checkpoint import COMPACT_EVERY, Batch, Checkpoint


def _files(batch_id: int) -> list[tuple[str, int, int]]:
    return [(f"file:/landing/{batch_id}-{i}.csv", 10 + i, 1000 + batch_id) for i in range(2)]


def test_ledger_survives_compaction_and_finds_the_pending_plan(spark, tmp_path: Path) -> None:
    location = str(tmp_path / "ckpt")
    ckpt = Checkpoint(location)
    state = ckpt.load()
    total = COMPACT_EVERY + 3
    for batch_id in range(total):
        batch = Batch(batch_id, _files(batch_id))
        ckpt.plan(batch)
        ckpt.commit(batch, state, {"rows": 2})
    ckpt.plan(Batch(total, _files(total)))  # planned, never committed: a killed run

    loaded = Checkpoint(location).load()
    assert loaded.ingested == {p: (s, m) for b in range(total) for p, s, m in _files(b)}
    assert loaded.next_batch == total + 1
    assert loaded.pending is not None and loaded.pending.batch_id == total
    assert loaded.pending.files == _files(total) and loaded.pending.replay
    # Compaction removed what the snapshot covers: the state is one snapshot and a few files.
    assert len(list((tmp_path / "ckpt/commits").glob("*.json"))) < COMPACT_EVERY
    assert len(list((tmp_path / "ckpt/ledger").glob("*.json"))) == 1


def test_checkpoint_id_is_stable(spark, tmp_path: Path) -> None:
    location = str(tmp_path / "ckpt")
    first = Checkpoint(location).checkpoint_id()
    assert Checkpoint(location).checkpoint_id() == first


def test_pattern_selects_files_by_name_or_relative_path(bronze_kit, spark, tmp_path: Path) -> None:
    config = bronze_kit.config(pattern="*.csv")
    wanted = bronze_kit.land(config, "day1/a.csv", "a,b\n1,x\n")
    bronze_kit.land(config, "day1/notes.txt", "a,b\n2,y\n")
    result = bronze_kit.ingest(config)
    assert result.files == 1
    assert [r[0] for r in bronze_kit.table(config).select("_source_file").collect()] == [wanted]
