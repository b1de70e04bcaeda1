"""Exceptions raised by lakehouse.

Every error a user can meet derives from :class:`LakehouseError`, so callers can catch one
type; the subclasses say which part failed. Messages name the thing that is wrong (file,
key path, dataset, source file) together with what was found and what was expected.

A layer that fails part-way reports what it did before it stopped: its error carries the
partial :class:`~lakehouse.results.LayerResult` as ``result`` (given to the constructor, or
attached with :meth:`LakehouseError.with_result` by the layer runner that owns the result).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self

    from lakehouse.results import BatchOutcome, LayerResult


def _rebuild(cls: type[LakehouseError], args: tuple[object, ...], state: dict[str, object]) -> LakehouseError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class LakehouseError(Exception):
    """Base class of every error raised by lakehouse.

    ``result`` is the partial result of the layer that failed (None outside a layer).
    """

    def __init__(self, message: str, *, result: LayerResult | None = None) -> None:
        super().__init__(message)
        self.result = result

    def with_result(self, result: LayerResult) -> Self:
        """This error (same type, message, fields and traceback) carrying ``result``."""
        copy = _rebuild(type(self), self.args, {**self.__dict__, "result": result})
        return copy.with_traceback(self.__traceback__)  # type: ignore[return-value]

    def __reduce__(self) -> tuple[object, ...]:
        # Subclasses take keyword-only arguments, which Exception's default pickling cannot
        # replay; test runners (Nutter, pytest-xdist) pickle errors, so rebuild from state.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class SparkSetupError(LakehouseError):
    """A local Spark session cannot be set up: Java, or Delta Lake's jars, are not usable."""


class ConfigError(LakehouseError):
    """A configuration file is missing, unreadable or holds a wrong value.

    Raised before Spark starts. ``file`` and ``key_path`` locate the problem,
    e.g. ``conf/pipelines/devices.yml`` and ``datasets.usage.source.format``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key_path: str | None = None,
        found: object = None,
        expected: str | None = None,
    ) -> None:
        self.file = file
        self.key_path = key_path
        self.found = found
        self.expected = expected
        self.reason = message
        where = ": ".join(p for p in (file, key_path) if p)
        text = f"{where}: {message}" if where else message
        if expected is not None:
            text += f" (found {found!r}, expected {expected})"
        super().__init__(text)


class SecretError(LakehouseError):
    """A secret reference cannot be resolved. The message never contains the value."""


class IngestionError(LakehouseError):
    """Bronze ingestion failed for a dataset (bad file, schema drift in fail mode, ...)."""

    def __init__(
        self, message: str, *, dataset: str, file: str | None = None, result: LayerResult | None = None
    ) -> None:
        self.dataset = dataset
        self.file = file
        prefix = f"dataset {dataset!r}"
        if file:
            prefix += f", file {file}"
        super().__init__(f"{prefix}: {message}", result=result)


class SchemaDriftError(IngestionError):
    """New columns arrived while the dataset's schema evolution mode is failOnNewColumns."""

    def __init__(
        self, *, dataset: str, file: str, new_columns: Sequence[str], result: LayerResult | None = None
    ) -> None:
        self.new_columns = list(new_columns)
        super().__init__(
            f"new columns {', '.join(new_columns)} not in the schema "
            "(schema_evolution is failOnNewColumns; add them to the contract or change the mode)",
            dataset=dataset,
            file=file,
            result=result,
        )


class ContractError(LakehouseError):
    """Silver could not apply a dataset's contract, or its quarantine rate was too high."""


class ConservationError(LakehouseError):
    """A layer's rows read do not add up to the rows it wrote and set aside (a row was lost or
    made up on the way); the message has the numbers."""


class QualityError(LakehouseError):
    """A data-quality expectation with action ``fail`` tripped; the target was left unchanged.

    ``rule``, ``rows_failed``, ``threshold`` and ``sample_keys`` describe the first rule that
    tripped; ``outcome`` holds the counts and rule results of the whole batch.
    """

    def __init__(
        self,
        message: str,
        *,
        rule: str,
        rows_failed: int,
        threshold: float | None,
        sample_keys: Sequence[str],
        outcome: BatchOutcome | None = None,
        result: LayerResult | None = None,
    ) -> None:
        self.rule = rule
        self.rows_failed = rows_failed
        self.threshold = threshold
        self.sample_keys = list(sample_keys)
        self.outcome = outcome
        super().__init__(message, result=result)


class PublishError(LakehouseError):
    """Gold publishing failed (e.g. duplicate keys in a merge source)."""


class PipelineBusyError(LakehouseError):
    """Another run of the same pipeline (same storage root) holds the run lock.

    ``holder`` describes it (run id, start time, host); the ``lakehouse`` command exits 2.
    """

    def __init__(self, *, pipeline: str, holder: str, run_id: str) -> None:
        self.pipeline = pipeline
        self.holder = holder
        self.run_id = run_id
        super().__init__(f"pipeline {pipeline} is already running ({holder})")


def summary(exc: BaseException, limit: int = 500) -> str:
    """One line for any exception: its type and message, for a JVM error the Java one.

    Py4J reports a JVM failure as ``An error occurred while calling o123.collectToPython.``
    followed by the Java stack trace; the first line alone says nothing about what failed.
    For those the line is the Java exception (class and message) and, where the trace has
    one, its root cause (the last ``Caused by:``), e.g. ``Py4JJavaError: o123.collectToPython:
    org.apache.spark.SparkException: Job aborted ... (cause: java.io.FileNotFoundException:
    ...)``. Other exceptions give their type and first non-empty message line.
    """
    try:
        text = str(exc)
    except Exception:  # a Py4J error whose JVM is gone cannot render its trace
        text = getattr(exc, "errmsg", "") or ""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    name = type(exc).__name__
    if not lines:
        return name
    first = lines[0]
    java = [line.lstrip(": ").strip() for line in lines[1:] if not line.startswith("at ")]
    if first.startswith("An error occurred while calling ") and java:
        call = first.removeprefix("An error occurred while calling ").rstrip(".")
        causes = [line.removeprefix("Caused by:").strip() for line in java if line.startswith("Caused by:")]
        line = f"{name}: {call}: {java[0]}" + (f" (cause: {causes[-1]})" if causes else "")
    else:
        line = f"{name}: {first}"
    return line if len(line) <= limit else line[: limit - 3] + "..."
