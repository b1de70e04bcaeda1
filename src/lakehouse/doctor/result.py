"""One doctor check's outcome."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

OK, FAIL, WARN, INFO, SKIP = "ok", "fail", "warn", "info", "skip"


@dataclass(frozen=True)
class Check:
    """``status`` is ok, fail, warn, info or skip; a failed ``required`` check fails a run."""

    name: str
    status: str
    detail: str
    fix: str | None = None
    required: bool = True

    @property
    def blocks_run(self) -> bool:
        return self.status == FAIL and self.required

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
