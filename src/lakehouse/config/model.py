"""The parsed configuration: frozen dataclasses built from the merged YAML tree."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.config.contract import Contract, parse_contract
from lakehouse.config.gold import DerivedSpec, GoldSpec, parse_derived, parse_gold
from lakehouse.config.loader import assemble, deep_merge
from lakehouse.config.locations import (
    Location,
    StorageConfig,
    absolute,
    check_distinct,
    checkpoints,
    driver_can_open,
    gold_tables,
    join_path,
    side_tables,
)
from lakehouse.config.names import check_external, check_name, check_relative
from lakehouse.config.node import Node, Origins
from lakehouse.config.settings import RunLockSettings, SparkSettings, parse_run_lock, parse_spark
from lakehouse.config.tables import check_root, parse_tables, table_name
from lakehouse.constants import BRONZE, CHECKPOINTS, GOLD, QUARANTINE_SUFFIX, SILVER
from lakehouse.errors import ConfigError

FORMATS = ("csv", "json", "orc", "parquet")
EVOLUTION_MODES = ("addNewColumns", "rescue", "failOnNewColumns", "none")
# Modes that add a new column to the bronze table.
ADDS_COLUMNS = ("addNewColumns",)
# Refused with its reason: silver's change-feed read cannot cross a widened column (see docs/bronze.md).
TYPE_WIDENING = "addNewColumnsWithTypeWidening"
ENGINES = ("auto", "files", "autoloader")


@dataclass(frozen=True)
class SourceConfig:
    """How a dataset lands: format, folder and reader options (bronze)."""

    format: str
    path: str
    options: dict[str, str] = field(default_factory=dict)
    schema: str = "contract"
    schema_evolution: str = "addNewColumns"
    max_files_per_batch: int = 1000
    pattern: str | None = None
    on_bad_file: str = "rescue"
    on_file_change: str = "reingest"
    engine: str = "auto"

    @property
    def adds_columns(self) -> bool:
        """Whether new columns are added to the bronze table (``schema_evolution``)."""
        return self.schema_evolution in ADDS_COLUMNS


@dataclass(frozen=True)
class DatasetConfig:
    """One dataset of a pipeline through all layers."""

    name: str
    source: SourceConfig
    contract: Contract | None
    gold: GoldSpec | None
    bronze_path: str
    silver_path: str
    quarantine_path: str

    @property
    def layers(self) -> tuple[str, ...]:
        wanted = [BRONZE]
        if self.contract is not None:
            wanted.append(SILVER)
            if self.gold is not None:
                wanted.append(GOLD)
        return tuple(wanted)


@dataclass(frozen=True)
class PipelineConfig:
    """A whole pipeline with its environment applied."""

    name: str
    env: str | None
    file: str
    storage: StorageConfig
    spark: SparkSettings
    datasets: dict[str, DatasetConfig]
    derived: tuple[DerivedSpec, ...] = ()
    node: Node | None = field(default=None, repr=False, compare=False)
    """The merged YAML tree, located: where each setting came from (file and key path)."""
    run_lock: RunLockSettings = field(default_factory=RunLockSettings)

    def dataset(self, name: str) -> DatasetConfig:
        if name not in self.datasets:
            raise ConfigError(
                f"pipeline {self.name!r} has no dataset {name!r}",
                file=self.file,
                key_path="datasets",
                found=name,
                expected="one of " + ", ".join(self.datasets),
            )
        return self.datasets[name]


_SOURCE_KEYS = frozenset(
    {
        "format",
        "path",
        "options",
        "schema",
        "schema_evolution",
        "max_files_per_batch",
        "pattern",
        "on_bad_file",
        "on_file_change",
        "engine",
    }
)


def _evolution_mode(source: Node) -> str:
    node = source.child("schema_evolution")
    if node.value == TYPE_WIDENING:
        raise node.error(
            "type widening is not supported: Delta's change data feed (how silver reads bronze) "
            "refuses the versions written before a column was widened; a file with a wider type "
            "is set aside naming the column and both types",
            expected=f"one of {', '.join(EVOLUTION_MODES)}",
        )
    return str(source.get_str("schema_evolution", "addNewColumns", choices=EVOLUTION_MODES))


def parse_source(node: Node, landing: str, dataset: str) -> SourceConfig:
    node.check_keys(_SOURCE_KEYS)
    path = check_relative(node.child("path"), node.get_str("path", dataset), reads_only=True)
    return SourceConfig(
        format=node.get_str("format", choices=FORMATS),
        path=join_path(landing, path),
        options=node.get_scalar_map("options", {}),
        schema=node.get_str("schema", "contract", choices=("contract", "infer")),
        schema_evolution=_evolution_mode(node),
        max_files_per_batch=node.get_int("max_files_per_batch", 1000, minimum=1),
        pattern=node.get_str("pattern", None),
        on_bad_file=node.get_str("on_bad_file", "rescue", choices=("rescue", "fail")),
        on_file_change=node.get_str("on_file_change", "reingest", choices=("reingest", "ignore", "fail")),
        engine=node.get_str("engine", "auto", choices=ENGINES),
    )


_DATASET_KEYS = frozenset({"source", "contract", "gold", "description", "paths"})


def _check_drift_policy(node: Node, source: SourceConfig, contract: Contract) -> None:
    """``on_new_columns: evolve`` carries bronze's new columns on: bronze must add them."""
    if contract.on_new_columns == "evolve" and not source.adds_columns:
        raise (
            node.child("contract")
            .child("on_new_columns")
            .error(
                f"on_new_columns: evolve needs bronze to add new columns, but source.schema_evolution "
                f"is {source.schema_evolution} (new columns never reach bronze as columns)",
                found="evolve",
                expected=f"schema_evolution {' or '.join(ADDS_COLUMNS)}, or another on_new_columns",
            )
        )


def parse_dataset(name: str, node: Node, storage: StorageConfig) -> DatasetConfig:
    node.check_keys(_DATASET_KEYS)
    if not node.has("source"):
        raise node.child("source").error("is required", found=None, expected="a source mapping")
    source = parse_source(node.child("source"), storage.landing, name)
    contract = parse_contract(node.child("contract")) if node.has("contract") else None
    if source.schema == "contract" and contract is None:
        raise (
            node.child("source")
            .child("schema")
            .error(
                "schema: contract needs a contract section",
                found="contract",
                expected="a contract, or schema: infer",
            )
        )
    if contract is not None:
        _check_drift_policy(node, source, contract)
    gold = parse_gold(node.child("gold"), name) if node.has("gold") else None
    if gold is not None and contract is None:
        raise node.child("gold").error(
            "gold needs a contract (silver feeds gold)", found="gold", expected="a contract section"
        )
    paths = node.child("paths")
    if not paths.missing:
        paths.check_keys(frozenset({"bronze", "silver", "quarantine"}))

    def table_ref(key: str, layer: str, table: str) -> str:
        """``paths.<key>``: a table name when it is one (see :func:`table_name`), else a path."""
        value = paths.get_str(key, None)
        named = table_name(storage, paths.child(key), value, layer, table)
        if named is not None:
            return named
        relative = check_relative(paths.child(key), value or f"{layer}/{table}", storage.external_paths)
        return join_path(storage.root, relative)

    return DatasetConfig(
        name=name,
        source=source,
        contract=contract,
        gold=gold,
        bronze_path=table_ref(BRONZE, BRONZE, name),
        silver_path=table_ref(SILVER, SILVER, name),
        quarantine_path=table_ref("quarantine", SILVER, f"{name}{QUARANTINE_SUFFIX}"),
    )


def dataset_locations(dataset: DatasetConfig, node: Node, storage: StorageConfig) -> list[Location]:
    """Where a dataset writes (and the landing folder it reads), with the keys that set them."""
    paths = node.child("paths")
    at = {key: paths.child(key) if paths.has(key) else node for key in (BRONZE, SILVER, "quarantine")}
    name = repr(dataset.name)
    found = [
        Location(f"dataset {name}'s landing folder", dataset.source.path, node.child("source"), reads=True),
        Location(f"dataset {name}'s bronze table", dataset.bronze_path, at[BRONZE]),
        Location(f"dataset {name}'s silver table", dataset.silver_path, at[SILVER]),
        Location(f"dataset {name}'s quarantine table", dataset.quarantine_path, at["quarantine"]),
        *checkpoints(storage, dataset.name, node),
    ]
    if dataset.gold is not None:
        table = node.child("gold").child("table")
        found += gold_tables(f"dataset {name}'s gold table", storage.table(GOLD, dataset.gold.table), table)
    return found


_TOP_KEYS = frozenset({"pipeline", "description", "storage", "spark", "run_lock", "datasets", "derived"})
_PIPELINE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def parse_storage(store: Node) -> StorageConfig:
    """The ``storage`` section: root, landing folder, checkpoints, external locations, table names."""
    if not store.missing:
        store.check_keys(frozenset({"root", "landing", "checkpoints", "external_paths", "tables"}))
    check_root(store, store.get_str("root", "./_lakehouse"))
    root = absolute(store.get_str("root", "./_lakehouse"))
    landing = store.get_str("landing", None)
    given = store.get_str("checkpoints", None)
    external = tuple(check_external(n, str(n.value)) for n in store.child("external_paths").elements())
    catalog, schemas = parse_tables(store)
    storage = StorageConfig(
        root=root,
        landing=absolute(landing) if landing else join_path(root, "landing"),
        checkpoints=absolute(given) if given else join_path(root, CHECKPOINTS),
        external_paths=external,
        catalog=catalog,
        schemas=schemas,
    )
    if not driver_can_open(storage.checkpoints):
        raise store.child("checkpoints").error(
            "layer state (checkpoints) is written as small files by the driver's Python, which "
            "cannot open this location" + ("" if given else f" (the default, <root>/{CHECKPOINTS})"),
            found=storage.checkpoints,
            expected="a local path or a Unity Catalog Volume path (/Volumes/<catalog>/<schema>/<volume>/...)",
        )
    return storage


def pipeline_name(top: Node) -> str:
    """The pipeline's name: letters, digits, ``_``, ``-`` and ``.`` (it names the run lock)."""
    name: str = top.get_str("pipeline")
    if not _PIPELINE_NAME.match(name):
        raise top.child("pipeline").error(
            f"pipeline name {name!r} is not a safe name",
            expected="letters, digits, _, - and ., not starting with - or ., at most 128 characters",
        )
    return name


def build_pipeline(tree: dict[str, object], origins: Origins, env: str | None, file: str) -> PipelineConfig:
    """Turn an assembled tree into a :class:`PipelineConfig`."""
    top = Node(tree, (), origins)
    top.check_keys(_TOP_KEYS)
    name = pipeline_name(top)
    storage = parse_storage(top.child("storage"))
    spark = parse_spark(top.child("spark"))
    datasets_node = top.child("datasets")
    if datasets_node.missing:
        raise datasets_node.error("is required", found=None, expected="a mapping of datasets")
    datasets: dict[str, DatasetConfig] = {}
    locations = side_tables(storage, top)
    for key, node in datasets_node.items():
        dataset = parse_dataset(check_name(node, key, "dataset name"), node, storage)
        datasets[key] = dataset
        locations += dataset_locations(dataset, node, storage)
    if not datasets:
        raise datasets_node.error("is empty", found={}, expected="at least one dataset")
    derived = []
    for node in top.child("derived").elements():
        spec = parse_derived(node)
        for dep in spec.inputs:
            if dep not in datasets:
                raise node.child("inputs").error(
                    f"derived table {spec.name!r} reads unknown dataset {dep!r}",
                    found=dep,
                    expected="one of " + ", ".join(datasets),
                )
        derived.append(spec)
        locations += gold_tables(
            f"derived table {spec.name!r}", storage.table(GOLD, spec.name), node.child("name")
        )
    check_distinct(locations)
    return PipelineConfig(
        name=name,
        env=env,
        file=file,
        storage=storage,
        spark=spark,
        datasets=datasets,
        derived=tuple(derived),
        node=top,
        run_lock=parse_run_lock(top.child("run_lock")),
    )


def load_config(
    path: str | os.PathLike[str],
    env: str | None = "local",
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
    drafting: str | None = None,
) -> PipelineConfig:
    """Load a pipeline file, its contracts and the ``env`` overlay into a PipelineConfig.

    ``overrides`` is merged last, like one more overlay (e.g. ``{"storage": {"root": ...}}``
    from a notebook widget). ``drafting`` loads that dataset alone, without its contract and
    gold sections (``lakehouse infer-contract``: the contract file may not exist yet). Raises
    :class:`ConfigError` naming file, key path, value found and value expected; Spark is
    never started here.
    """
    pipeline_file = Path(path)
    tree, origins = assemble(pipeline_file, env, environ, drafting=drafting)
    if overrides:
        tree = deep_merge(tree, overrides, origins, "<overrides>")
    return build_pipeline(tree, origins, env, str(pipeline_file))
