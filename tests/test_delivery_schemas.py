"""The delivery files are valid against their schemas, and a broken copy of each is not.

- ``azure-pipelines.yml``: the Azure Pipelines schema that check-jsonschema ships
  (``--builtin-schema vendor.azure-pipelines --regex-variant python``);
- ``.devcontainer/devcontainer.json`` and ``databricks.yml``: the schemas in ``../shared/schemas``
  (the bundle schema is the one ``databricks bundle schema`` prints). CI clones the repository
  with ``shared/`` beside it; without it these tests fail and say where they looked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PIPELINE = REPO / "azure-pipelines.yml"
DEVCONTAINER = REPO / ".devcontainer" / "devcontainer.json"
BUNDLE = REPO / "databricks.yml"
AZURE = ["--builtin-schema", "vendor.azure-pipelines", "--regex-variant", "python"]
# Its vendored copy of Microsoft's schema offers PublishCodeCoverageResults@2 as a task name
# but has no entry for its inputs, so any use of the task fails validation. The step is
# checked against the inputs Microsoft documents for v2 instead (see _with_coverage_v2).
COVERAGE_V2 = "PublishCodeCoverageResults@2"


def check_jsonschema(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *map(str, args)], capture_output=True, text=True
    )


def check_pipeline(schema: Path, pipeline: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with ``schema`` and Python regexes, as for the builtin one."""
    return check_jsonschema("--schemafile", schema, "--regex-variant", "python", pipeline)


@pytest.fixture(scope="module")
def shared_schemas() -> Path:
    """``shared/schemas`` beside the clone (or beside a parent folder: git worktrees)."""
    configured = os.environ.get("LAKEHOUSE_SHARED_SCHEMAS")
    candidates = [Path(configured)] if configured else [p / "shared" / "schemas" for p in REPO.parents]
    for folder in candidates:
        if (folder / "databricks-bundle.schema.json").is_file():
            return folder
    pytest.fail(
        "shared/schemas (devcontainer.schema.json, databricks-bundle.schema.json) not found; "
        f"looked in {', '.join(map(str, candidates))}. CI clones the repository with ../shared "
        "beside it; elsewhere set LAKEHOUSE_SHARED_SCHEMAS to the folder."
    )


def _coverage_steps(pipeline: dict) -> list[dict]:
    return [
        step
        for stage in pipeline["stages"]
        for job in stage["jobs"]
        for step in job.get("steps", [])
        if step.get("task") == COVERAGE_V2
    ]


def _with_coverage_v2(tmp_path: Path) -> Path:
    """The builtin Azure Pipelines schema plus the documented inputs of the v2 coverage task."""
    import check_jsonschema

    vendored = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "azure-pipelines.json"
    schema = json.loads(vendored.read_text(encoding="utf-8"))
    alternatives = schema["definitions"]["task"]["anyOf"]
    assert not any(COVERAGE_V2 in a["properties"]["task"].get("pattern", "") for a in alternatives), (
        "check-jsonschema now knows PublishCodeCoverageResults@2: validate with the builtin schema alone"
    )
    alternatives.append(
        {
            "properties": {
                "task": {"pattern": f"^{COVERAGE_V2}$"},
                "inputs": {
                    "type": "object",
                    "properties": {
                        "summaryFileLocation": {"type": "string"},
                        "pathToSources": {"type": "string"},
                        "failIfCoverageEmpty": {"type": "boolean"},
                    },
                    "additionalProperties": False,
                    "required": ["summaryFileLocation"],
                },
            },
            "required": ["task"],
        }
    )
    path = tmp_path / "azure-pipelines-with-coverage-v2.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    return path


def test_azure_pipelines_is_valid(tmp_path: Path) -> None:
    pipeline = yaml.safe_load(PIPELINE.read_text(encoding="utf-8"))
    assert _coverage_steps(pipeline), "the pipeline publishes coverage with PublishCodeCoverageResults@2"
    # Everything but the coverage step, with the builtin schema exactly as shipped ...
    for stage in pipeline["stages"]:
        for job in stage["jobs"]:
            if "steps" in job:
                job["steps"] = [s for s in job["steps"] if s.get("task") != COVERAGE_V2]
    rest = tmp_path / "azure-pipelines.yml"
    rest.write_text(yaml.safe_dump(pipeline), encoding="utf-8")
    done = check_jsonschema(*AZURE, rest)
    assert done.returncode == 0, done.stdout + done.stderr
    # ... and the whole file, coverage step included, with the v2 inputs added.
    done = check_pipeline(_with_coverage_v2(tmp_path), PIPELINE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_azure_pipelines_fails(tmp_path: Path) -> None:
    text = PIPELINE.read_text(encoding="utf-8")
    assert "testResultsFiles: reports/junit.xml" in text
    broken = tmp_path / "azure-pipelines.yml"
    broken.write_text(text.replace("testResultsFiles: reports/junit.xml", "testResultFiles: reports/x.xml"))
    done = check_jsonschema(*AZURE, broken)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "testResultFiles" in done.stdout
    done = check_pipeline(_with_coverage_v2(tmp_path), broken)
    assert done.returncode == 1 and "testResultFiles" in done.stdout, done.stdout + done.stderr


def test_a_wrong_coverage_input_fails(tmp_path: Path) -> None:
    text = PIPELINE.read_text(encoding="utf-8")
    broken = tmp_path / "azure-pipelines.yml"
    broken.write_text(text.replace("failIfCoverageEmpty: true", "failIfCoverageEmpty: [true]"))
    done = check_pipeline(_with_coverage_v2(tmp_path), broken)
    assert done.returncode == 1 and "failIfCoverageEmpty" in done.stdout, done.stdout + done.stderr


def test_devcontainer_is_valid(shared_schemas: Path) -> None:
    done = check_jsonschema("--schemafile", shared_schemas / "devcontainer.schema.json", DEVCONTAINER)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_devcontainer_fails(shared_schemas: Path, tmp_path: Path) -> None:
    config = json.loads(DEVCONTAINER.read_text(encoding="utf-8"))
    config["mounts"][0]["type"] = "volumes"  # the type is "bind" or "volume"
    broken = tmp_path / "devcontainer.json"
    broken.write_text(json.dumps(config), encoding="utf-8")
    done = check_jsonschema("--schemafile", shared_schemas / "devcontainer.schema.json", broken)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "volumes" in done.stdout


def test_databricks_bundle_is_valid(shared_schemas: Path) -> None:
    # The bundle schema's patterns use \p{L}: checked with the default (ECMAScript) regexes.
    done = check_jsonschema("--schemafile", shared_schemas / "databricks-bundle.schema.json", BUNDLE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_databricks_bundle_fails(shared_schemas: Path, tmp_path: Path) -> None:
    text = BUNDLE.read_text(encoding="utf-8")
    broken = tmp_path / "databricks.yml"
    broken.write_text(text.replace("notebook_path: ./notebooks/run_silver.py", "notebook: ./x.py"))
    done = check_jsonschema("--schemafile", shared_schemas / "databricks-bundle.schema.json", broken)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "'notebook' was unexpected" in done.stdout
