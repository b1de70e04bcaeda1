"""lakehouse: medallion (bronze/silver/gold) ETL on Apache Spark and Delta Lake."""

from lakehouse.errors import ConfigError, LakehouseError

__version__ = "0.1.0"
__all__ = ["ConfigError", "LakehouseError", "__version__"]
