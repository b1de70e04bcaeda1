"""``python -m lakehouse`` and spark-submit entry point."""

import sys

from lakehouse.cli import main

if __name__ == "__main__":
    sys.exit(main())
