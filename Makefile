.PHONY: setup demo test lint format wheel bench
setup:   ## create .venv and install lakehouse-etl[dev]
	scripts/setup.sh
demo:    ## run the sample pipeline on local Spark into ./_lakehouse
	scripts/demo.sh
test:    ## lint + type check + unit + integration tests
	scripts/test.sh
lint:    ## ruff (lint + format check) and mypy
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy src/lakehouse
format:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .
wheel:   ## wheel + sdist into dist/, checked with twine
	scripts/build-wheel.sh
