"""What ``lakehouse validate-config`` (and every run, before Spark starts) checks beyond parsing.

:func:`load_config` refuses a file that does not parse or holds a wrong value. A config that
parses can still fail at run time; :func:`check_pipeline` finds, without Spark:

* SQL that does not parse (expectation rules and aggregates, ``derive`` / ``filter`` /
  ``select`` / ``dedupe.order_by`` expressions, ``cdc.apply_as_*`` conditions, derived queries);
* column names the rows do not have at that point (see :mod:`lakehouse.config.columns`), with
  the nearest existing name as a hint;
* a secret reference that cannot be resolved in this environment (its variable is named, its
  value never read into a message).

Every problem is an :class:`Issue` with file and key path. :func:`preflight` is the run's
version: the checks of the datasets and layers that run, the first problem raised as a
:class:`ConfigError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lakehouse.config.columns import Report, Scope, check_derived, check_gold, derived_views, silver_scope
from lakehouse.config.contract import Contract
from lakehouse.config.model import PipelineConfig
from lakehouse.config.node import Node
from lakehouse.constants import GOLD, LAYERS, SILVER, secret_env_var
from lakehouse.errors import ConfigError


@dataclass(frozen=True)
class Issue:
    """One problem of a configuration: where it is and what is wrong."""

    file: str
    key_path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "key_path": self.key_path, "message": self.message}

    def __str__(self) -> str:
        return ": ".join(p for p in (self.file, self.key_path, self.message) if p)

    @classmethod
    def of(cls, error: ConfigError) -> Issue:
        """A ConfigError raised while loading, as an issue."""
        message = error.reason
        if error.expected is not None:
            message += f" (found {error.found!r}, expected {error.expected})"
        return cls(error.file or "", error.key_path or "", message)


@dataclass
class Findings:
    """The errors (the run would fail) and warnings (cannot be checked here) of one check."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def error(self, node: Node, message: str) -> None:
        issue = Issue(node.file, node.key_path, message)
        if issue not in self.errors:
            self.errors.append(issue)

    def warn(self, node: Node, message: str) -> None:
        self.warnings.append(Issue(node.file, node.key_path, message))


def _on_databricks(environ: Mapping[str, str]) -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in environ


def check_secrets(findings: Findings, config: PipelineConfig, datasets: Iterable[str], *, run: bool) -> None:
    """Each secret a dataset's silver layer will read must resolve here.

    ``{secret: {env: NAME}}`` needs ``NAME`` set. A scope reference is read from the scope on
    Databricks (not checked here); elsewhere from ``LAKEHOUSE_SECRET_<SCOPE>_<KEY>``: a run
    (``run``) here needs it, validating a config meant for Databricks only warns.
    """
    environ = os.environ
    top = _top(config)
    for name in datasets:
        contract = config.datasets[name].contract
        hashed = [c.name for c in contract.columns if c.pii == "hash"] if contract else []
        if contract is None or contract.pii_salt is None or not hashed:
            continue
        ref, at = contract.pii_salt, top.child("datasets").child(name).child("contract").child("pii_salt")
        use = f"silver hashes {', '.join(hashed)} with it"
        if ref.env:
            if not environ.get(ref.env):
                message = f"secret {ref.describe()}: environment variable {ref.env} is not set ({use})"
                findings.error(at, message)
            continue
        fallback = secret_env_var(str(ref.scope), str(ref.key))
        if _on_databricks(environ) or environ.get(fallback):
            continue
        text = f"secret {ref.describe()}: not on Databricks and environment variable {fallback} is not set"
        if run:
            findings.error(at, f"{text} ({use})")
        else:
            findings.warn(at, f"{text}; a run here would fail, on Databricks the scope is read ({use})")


def _top(config: PipelineConfig) -> Node:
    if config.node is None:
        raise ValueError("check_pipeline needs a config read by load_config")
    return config.node


def check_columns(
    findings: Findings, config: PipelineConfig, datasets: Iterable[str], *, derived: bool = True
) -> None:
    """SQL parsing and column names of the gold sections of ``datasets`` and of derived tables."""
    top = _top(config)
    wanted = set(datasets)
    inputs: dict[str, tuple[Scope, Scope | None, str | None]] = {}
    for name, dataset in config.datasets.items():
        if dataset.contract is None:
            continue
        silver = silver_scope(name, dataset.contract)
        gold = None
        if dataset.gold is not None:
            report = findings.error if name in wanted else _ignore
            gold = check_gold(report, top.child("datasets").child(name).child("gold"), dataset.gold, silver)
            _check_slo_column(report, top.child("datasets").child(name), dataset.contract, gold)
        inputs[name] = (silver, gold, dataset.gold.table if dataset.gold else None)
    if not derived:
        return
    for node, spec in zip(top.child("derived").elements(), config.derived, strict=False):
        if not set(spec.inputs) <= wanted:
            continue
        views = derived_views({d: inputs[d] for d in spec.inputs if d in inputs})
        check_derived(findings.error, node, spec, views)


def _check_slo_column(report: Report, at: Node, contract: Contract, gold: Scope) -> None:
    """A freshness SLO's column is read from gold when the dataset has gold: gold must keep it."""
    freshness = contract.slo.freshness if contract.slo else None
    if freshness is None or freshness.column is None:
        return
    why = gold.missing(freshness.column)
    if why:
        node = at.child("contract").child("slo").child("freshness").child("column")
        report(node, f"{why} (the freshness SLO is measured on gold)")


def _ignore(node: Node, message: str) -> None:
    """A problem of a dataset outside the run (its columns are still followed)."""


def check_pipeline(config: PipelineConfig) -> Findings:
    """Everything :mod:`lakehouse.config.validate` checks, for the whole pipeline."""
    findings = Findings()
    check_columns(findings, config, config.datasets)
    check_secrets(findings, config, config.datasets, run=False)
    return findings


def preflight(
    config: PipelineConfig, datasets: Iterable[str] | None = None, layers: Iterable[str] = LAYERS
) -> None:
    """The checks of the datasets and layers a run will run; the first error as a ConfigError.

    Called by ``lakehouse run`` and ``run_job`` before a Spark session is built, so a broken
    rule or a missing secret is reported in a second, with its file and key path.
    """
    names = list(config.datasets) if datasets is None else list(datasets)
    layers = tuple(layers)
    findings = Findings()
    if GOLD in layers:
        check_columns(findings, config, names)
    if SILVER in layers:
        check_secrets(findings, config, names, run=True)
    if not findings.errors:
        return
    first, more = findings.errors[0], len(findings.errors) - 1
    also = f" (and {more} more: run lakehouse validate-config to list them)" if more else ""
    raise ConfigError(first.message + also, file=first.file, key_path=first.key_path)
