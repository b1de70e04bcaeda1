"""Secret references: configuration names where a secret lives, never the secret itself.

In YAML a secret is written ``{secret: {env: NAME}}`` (an environment variable) or
``{secret: {scope: SCOPE, key: KEY}}`` (a Databricks secret scope). Off Databricks, a scope
reference is read from the environment variable ``LAKEHOUSE_SECRET_<SCOPE>_<KEY>`` so the same
config runs on a laptop and in CI. Resolved values are never logged or shown in ``repr``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from lakehouse.constants import secret_env_var
from lakehouse.errors import SecretError


def _databricks_secret(scope: str, key: str) -> str | None:
    """Read a secret through Databricks' dbutils when running on Databricks, else None."""
    if "DATABRICKS_RUNTIME_VERSION" not in os.environ:
        return None
    try:  # pragma: no cover - only on a Databricks cluster
        from pyspark.dbutils import DBUtils  # type: ignore[import-not-found]
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
        return str(DBUtils(session).secrets.get(scope=scope, key=key))
    except Exception as exc:  # pragma: no cover
        raise SecretError(f"cannot read secret {key!r} from scope {scope!r}: {exc}") from None


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives. ``str()``/``repr()`` show the reference, never the value."""

    env: str | None = None
    scope: str | None = None
    key: str | None = None

    def describe(self) -> str:
        if self.env:
            return f"env:{self.env}"
        return f"scope:{self.scope}/{self.key}"

    def __repr__(self) -> str:
        return f"SecretRef({self.describe()})"

    def resolve(self, environ: dict[str, str] | Any = None) -> str:
        """Return the secret value; raise :class:`SecretError` naming the reference if absent."""
        environ = os.environ if environ is None else environ
        if self.env:
            value = environ.get(self.env)
            if not value:
                raise SecretError(f"secret {self.describe()}: environment variable {self.env} is not set")
            return str(value)
        assert self.scope is not None and self.key is not None
        value = _databricks_secret(self.scope, self.key)
        if value is not None:
            return value
        fallback = secret_env_var(self.scope, self.key)
        value = environ.get(fallback)
        if not value:
            raise SecretError(
                f"secret {self.describe()}: not on Databricks and environment variable {fallback} is not set"
            )
        return str(value)
