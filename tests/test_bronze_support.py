"""Helpers shared by the bronze tests (no tests here): configs in tmp_path, files, reads."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from lakehouse.config import load_config
from lakehouse.config.model import PipelineConfig
from lakehouse.results import LayerResult, RunContext

DATASET = "ds"


def make_config(
    tmp_path: Path, fmt: str = "csv", contract: list[str] | None = None, **source: Any
) -> PipelineConfig:
    """A one-dataset pipeline with landing ``<tmp>/landing/ds`` and storage ``<tmp>/lake``."""
    (tmp_path / "landing" / DATASET).mkdir(parents=True, exist_ok=True)
    src: dict[str, Any] = {"format": fmt, "path": DATASET, "schema": "contract" if contract else "infer"}
    if fmt == "csv":
        src["options"] = {"header": True}
    src.update(source)
    dataset: dict[str, Any] = {"source": src}
    if contract:
        dataset["contract"] = {"columns": [{"name": c, "type": "string"} for c in contract]}
    storage = {"root": str(tmp_path / "lake"), "landing": str(tmp_path / "landing")}
    tree = {"pipeline": "t", "storage": storage, "datasets": {DATASET: dataset}}
    path = tmp_path / "pipeline.yml"
    path.write_text(json.dumps(tree))  # JSON is YAML
    return load_config(path, env=None)


def land(config: PipelineConfig, name: str, content: str | bytes, *, gz: bool = False) -> str:
    """Write a file into the dataset's landing folder; returns its ``file:`` URI."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    target = Path(config.dataset(DATASET).source.path) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return "file:" + str(target)


def run(spark: Any, config: PipelineConfig, run_id: str = "run-1") -> LayerResult:
    """Ingest the test dataset once."""
    from lakehouse.bronze import ingest

    return ingest(spark, config.dataset(DATASET), config, RunContext(run_id=run_id, pipeline="t"))


def bronze(spark: Any, config: PipelineConfig) -> Any:
    """The bronze table as a DataFrame."""
    return spark.read.format("delta").load(config.dataset(DATASET).bronze_path)


def version(spark: Any, config: PipelineConfig) -> int:
    """The bronze table's latest Delta version."""
    from delta.tables import DeltaTable

    return int(DeltaTable.forPath(spark, config.dataset(DATASET).bronze_path).history(1).first()[0])


def rescued(spark: Any, config: PipelineConfig) -> list[dict[str, Any]]:
    """The parsed ``_rescued_data`` objects of the table, in no particular order."""
    rows = bronze(spark, config).where("_rescued_data is not null").select("_rescued_data").collect()
    return [json.loads(r[0]) for r in rows]
