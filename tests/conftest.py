"""Shared fixtures: one local SparkSession with Delta for the whole test session, the repository
root, logging configured once (as an entry point would), and a one-dataset bronze harness."""

from __future__ import annotations

import gzip
import json
import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import PipelineConfig, load_config
from lakehouse.log import configure_logging
from lakehouse.results import LayerResult, RunContext

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    # Tests play the application: they configure logging once, library code never does.
    os.environ.setdefault("LAKEHOUSE_LOG_FORMAT", "json")
    configure_logging()


# What the oldest-Spark-line lane (scripts/test-compat.sh, -m "not main_line") leaves to the main
# line. That lane is there for what differs between Spark/Delta lines: readers and their options,
# Delta's MERGE, change feed, commit metrics and schema handling, streaming, the notebook path
# end to end. These tests exercise library logic those lines do not change, or repeat a SQL path
# another case of the lane already runs; they run on the main line in scripts/test.sh. One place
# on purpose: a test id (prefix) and why it is not repeated on the oldest line.
MAIN_LINE_ONLY = {
    "tests/test_operations.py": "commands over the ledger; its Delta I/O runs in test_pipeline",
    "tests/test_run_states.py": "ledger events are appends the whole suite already makes",
    "tests/test_run_lock.py": "a lease: appends and reads the suite makes anyway",
    "tests/test_slo.py": "check-slo: Python over the ledger and one aggregate",
    "tests/test_quarantine_show.py": "quarantine show: reads of tables the suite writes",
    "tests/test_report_browser.py": "the report: reads of tables the suite writes, and a browser",
    "tests/test_progress.py": "a terminal's status line: Python around one run in a pseudo-terminal",
    "tests/test_backfill.py": "its MERGE ... DELETE is the kind forget's tests run on this line; "
    "test_quarantine_replay keeps silver's second pass over a range here",
    "tests/test_dataset_isolation.py": "error routing in Python around layers other tests run",
    "tests/test_bronze_isolation.py": "file-system handling before Spark reads",
    "tests/test_init.py": "project scaffolding; its run is the sample pipeline of test_pipeline_e2e",
    "tests/test_benchmarks.py": "the benchmark harness is measured on the main line only",
    "tests/test_infer_contract.py::test_draft_of_generated_files": "the reader path of the sample_files case",
    "tests/test_gold_cdc.py::test_case_02_": "an update: the MERGE of cases 04 and 11",
    "tests/test_gold_cdc.py::test_case_07_": "a late change: the SCD2 version split of case 06",
    "tests/test_gold_cdc.py::test_case_08_": "a late change: the SCD2 version split of case 06",
    "tests/test_gold_cdc.py::test_case_10_": "re-insert after a delete: the tombstones of cases 05, 06",
    "tests/test_gold_cdc_feed.py::test_a_replayed_range_writes_nothing_twice_and_counts_the_same[scd2]": (
        "the replay guard is the same for both modes; [merge] runs"
    ),
    "tests/test_gold_cdc_feed.py::test_expired_tombstones": "a DELETE on the tombstone table, as in case 05",
    "tests/test_real_world_files.py::test_new_column_": "drift policies: Python over the batch schema",
    "tests/test_real_world_files.py::test_missing_column_": "drift policies: Python over the batch schema",
    "tests/test_real_world_files.py::test_renamed_column_": "drift policies: Python over the batch schema",
    "tests/test_real_world_files.py::test_evolve_adds": "schema evolution, as in test_bronze_evolution",
    "tests/test_real_world_files.py::test_a_wider_integer_file": "the type comparison of the parquet case",
    "tests/test_real_world_files.py::test_conflicting_types_": "the type comparison of the parquet case",
    "integration_tests/test_customers_cdc_e2e.py": "test_gold_cdc's cases; test_pipeline_e2e's notebook",
    "tests/test_conservation.py": "injected losses: Python around the commit metrics every silver and "
    "gold write on this line checks",
    "tests/test_gold_recovery.py::test_a_range_replayed_after_dying_before_the_state_commit_is_written_"
    "once[overwrite": (
        "the replay skip of the [merge] case; writer txn options run in the append tests on this line"
    ),
    "tests/test_derived_refresh.py": "refresh: partitions reads logs and writes with replaceWhere on this "
    "line in test_gold_layer's derived case (the sample uses it)",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.nodeid.startswith(prefix) for prefix in MAIN_LINE_ONLY):
            item.add_marker(pytest.mark.main_line)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The session-scoped local SparkSession (local[2], 2 shuffle partitions, UI off, Delta)."""
    from lakehouse.spark import get_spark

    session = get_spark(profile="test")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (for conf/, samples/, docs/ and src/)."""
    return REPO


@pytest.fixture(scope="session")
def samples(repo_root: Path) -> Path:
    """The shipped sample data (landing files and MANIFEST.json)."""
    return repo_root / "samples"


@pytest.fixture(scope="session")
def sample_pipeline(repo_root: Path) -> Path:
    """The shipped sample pipeline file."""
    return repo_root / "conf" / "pipelines" / "devices.yml"


class BronzeKit:
    """A one-dataset pipeline (dataset ``ds``) in a test's tmp_path: config, landing, bronze.

    Landing is ``<tmp>/landing/ds`` and storage ``<tmp>/lake``.
    """

    dataset = "ds"

    def __init__(self, spark: Any, tmp_path: Path) -> None:
        self.spark = spark
        self.tmp_path = tmp_path

    def config(self, fmt: str = "csv", contract: list[str] | None = None, **source: Any) -> PipelineConfig:
        """The pipeline with one ``fmt`` source (options and keys of ``source`` added)."""
        (self.tmp_path / "landing" / self.dataset).mkdir(parents=True, exist_ok=True)
        src: dict[str, Any] = {
            "format": fmt,
            "path": self.dataset,
            "schema": "contract" if contract else "infer",
        }
        if fmt == "csv":
            src["options"] = {"header": True}
        src.update(source)
        dataset: dict[str, Any] = {"source": src}
        if contract:
            dataset["contract"] = {"columns": [{"name": c, "type": "string"} for c in contract]}
        storage = {"root": str(self.tmp_path / "lake"), "landing": str(self.tmp_path / "landing")}
        tree = {"pipeline": "t", "storage": storage, "datasets": {self.dataset: dataset}}
        path = self.tmp_path / "pipeline.yml"
        path.write_text(json.dumps(tree))  # JSON is YAML
        return load_config(path, env=None)

    def land(self, config: PipelineConfig, name: str, content: str | bytes, *, gz: bool = False) -> str:
        """Write a file into the dataset's landing folder; returns its ``file:`` URI."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        target = Path(config.dataset(self.dataset).source.path) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.compress(data, mtime=0) if gz else data)
        return "file:" + str(target)

    def ingest(self, config: PipelineConfig, run_id: str = "run-1") -> LayerResult:
        """Run bronze for the dataset once."""
        from lakehouse.bronze.runner import ingest

        return ingest(
            self.spark, config.dataset(self.dataset), config, RunContext(run_id=run_id, pipeline="t")
        )

    def table(self, config: PipelineConfig) -> Any:
        """The bronze table as a DataFrame."""
        return self.spark.read.format("delta").load(config.dataset(self.dataset).bronze_path)

    def version(self, config: PipelineConfig) -> int | None:
        """The bronze table's latest Delta version."""
        from lakehouse.io.delta import table_version

        return table_version(self.spark, config.dataset(self.dataset).bronze_path)

    def rescued(self, config: PipelineConfig) -> list[dict[str, Any]]:
        """The parsed ``_rescued_data`` objects of the table, in no particular order."""
        rows = self.table(config).where("_rescued_data is not null").select("_rescued_data").collect()
        return [json.loads(r[0]) for r in rows]


@pytest.fixture()
def bronze_kit(spark: Any, tmp_path: Path) -> BronzeKit:
    """The bronze harness of this test (see :class:`BronzeKit`)."""
    return BronzeKit(spark, tmp_path)


@pytest.fixture()
def plant(tmp_path: Path) -> Callable[..., Path]:
    """Write the two-dataset ``plant`` pipeline under tmp_path and return its file.

    ``readings`` lands one csv of three rows, one with a value that is not a double (s-2);
    ``alarms`` has no landing folder, so its bronze fails. ``gold`` is YAML added under
    ``readings`` (indented as a dataset key).
    """

    def write(gold: str = "") -> Path:
        landing = tmp_path / "landing"
        (landing / "readings").mkdir(parents=True)
        (landing / "readings" / "r1.csv").write_text("sensor,value\ns-1,1.5\ns-2,abc\ns-3,2.5\n")
        path = tmp_path / "conf" / "pipelines" / "p.yml"
        path.parent.mkdir(parents=True)
        path.write_text(
            textwrap.dedent(f"""
            pipeline: plant
            storage: {{root: "{tmp_path / "lake"}", landing: "{landing}"}}
            datasets:
              readings:
                source: {{format: csv, path: readings, options: {{header: true}}}}
                contract:
                  primary_key: [sensor]
                  columns:
                    - {{name: sensor, type: string, nullable: false}}
                    - {{name: value, type: double}}
            """)
            + textwrap.indent(textwrap.dedent(gold).lstrip("\n"), " " * 4)
            + textwrap.indent(
                textwrap.dedent("""
                alarms:
                  source: {format: json, path: alarms}
                  contract:
                    columns:
                      - {name: code, type: string}
                """).lstrip("\n"),
                " " * 2,
            )
        )
        return path

    return write


@pytest.fixture()
def two_datasets(tmp_path: Path) -> Path:
    """The ``plant`` pipeline with both datasets landed: readings (two csv rows), alarms (two
    JSON lines); contracts without keys or rules."""
    landing = tmp_path / "landing"
    (landing / "readings").mkdir(parents=True)
    (landing / "readings" / "r1.csv").write_text("sensor,value\ns-1,1.5\ns-2,2.5\n")
    (landing / "alarms").mkdir()
    (landing / "alarms" / "a1.json").write_text('{"code": "E1"}\n{"code": "E2"}\n')
    path = tmp_path / "p.yml"
    path.write_text(
        textwrap.dedent(f"""
        pipeline: plant
        storage: {{root: "{tmp_path / "lake"}", landing: "{landing}"}}
        datasets:
          readings:
            source: {{format: csv, path: readings, options: {{header: true}}}}
            contract: {{columns: [{{name: sensor}}, {{name: value, type: double}}]}}
          alarms:
            source: {{format: json, path: alarms}}
            contract: {{columns: [{{name: code}}]}}
        """)
    )
    return path
