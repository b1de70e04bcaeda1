"""``lakehouse infer-contract``: draft a dataset's contract from its landed files.

:func:`draft_contract` profiles a sample with Spark (two aggregate queries whatever the number of
columns) and decides each column's type, format, nullability, range, allowed values and
pattern, and a primary key; :func:`render` writes it as commented YAML.
"""

from lakehouse.infer.draft import Draft, draft_contract
from lakehouse.infer.render import check, render

__all__ = ["Draft", "check", "draft_contract", "render"]
