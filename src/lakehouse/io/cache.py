"""Keep a batch's computed rows for the several actions a layer runs on it, where the session allows.

A silver or gold batch is read from a Delta version range and transformed (conformed and
checked; or staged with ``dedupe`` windows). The layer then runs more than one action on it:
silver two appends and a reason count, gold the expectations' aggregate, sample keys, the
duplicate-key check, the quarantine append and the write. Without a cache, each action reads
the range and computes the transforms again. :func:`kept` persists the rows (memory, spilling
to disk) for the block and unpersists them after it. The first action fills the cache; there
is no extra count.

Serverless compute refuses caches (``NOT_SUPPORTED_WITH_SERVERLESS``): there the block runs
uncached, each action computing the rows again. The results are the same, only slower: the
batch is read from a fixed version range, so every computation sees the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pyspark import StorageLevel
from pyspark.sql import DataFrame

from lakehouse.log import get_logger


@contextmanager
def kept(df: DataFrame, what: str) -> Iterator[bool]:
    """Persist ``df`` for the block; yield whether it is cached (False where the session refuses)."""
    try:
        df.persist(StorageLevel.MEMORY_AND_DISK)
    except Exception as exc:  # e.g. NOT_SUPPORTED_WITH_SERVERLESS
        get_logger("lakehouse.io").debug("rows not cached", what=what, reason=str(exc).splitlines()[0])
        yield False
        return
    try:
        yield True
    finally:
        df.unpersist()
