"""azure-pipelines.yml: what each stage runs, caches, publishes and deploys with.

Every step runs a script of this repository (so it also runs on a laptop); caches live under
$(Pipeline.Workspace); coverage and JUnit results are published; CD goes dev -> staging ->
prod through deployment jobs on environments, signs in with an Azure service connection (no
personal access token) and deploys with scripts/deploy.sh. scripts/deploy.sh itself is run
for its checks that need no workspace.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TEXT = (REPO / "azure-pipelines.yml").read_text(encoding="utf-8")
PIPELINE = yaml.safe_load(TEXT)
STAGES = {stage["stage"]: stage for stage in PIPELINE["stages"]}
# Scripts the pipeline runs that another open issue adds; checked like the others once present.
PENDING = {"scripts/test-connect.sh": "issue 9 (Spark Connect lane) adds it"}


def _steps(stage: dict[str, Any]) -> list[dict[str, Any]]:
    steps = []
    for job in stage["jobs"]:
        steps += job.get("steps", [])
        steps += job.get("strategy", {}).get("runOnce", {}).get("deploy", {}).get("steps", [])
    return steps


def _all_steps() -> list[dict[str, Any]]:
    return [step for stage in PIPELINE["stages"] for step in _steps(stage)]


def test_every_step_runs_a_script_of_the_repository() -> None:
    commands = [shlex.split(s["script"])[0] for s in _all_steps() if "script" in s]
    commands += [s["inputs"]["scriptPath"] for s in _all_steps() if s.get("task") == "AzureCLI@2"]
    assert commands, "no script steps found"
    assert set(PENDING) <= set(commands)
    for command in commands:
        assert command.startswith("scripts/"), command
        if command in PENDING and not (REPO / command).exists():
            continue
        assert (REPO / command).is_file(), f"{command} does not exist"
        assert os.access(REPO / command, os.X_OK), f"{command} is not executable"
    azure_cli = [s for s in _all_steps() if s.get("task") == "AzureCLI@2"]
    assert azure_cli and all(s["inputs"]["scriptLocation"] == "scriptPath" for s in azure_cli)


def test_ci_runs_lint_and_tests_with_coverage_the_spark35_and_connect_lanes_and_the_wheel() -> None:
    jobs = {job["job"]: job for job in STAGES["CI"]["jobs"]}
    assert set(jobs) == {"tests", "spark35", "connect", "wheel"}
    scripts = {name: [s["script"] for s in job["steps"] if "script" in s] for name, job in jobs.items()}
    (tests,) = scripts["tests"]
    assert tests.startswith("scripts/test.sh ") and "--cov=lakehouse" in tests
    assert "--cov-report=xml:reports/coverage.xml" in tests
    assert scripts["spark35"] == ["scripts/test-compat.sh"]
    assert scripts["connect"] == ["scripts/test-connect.sh"]
    assert scripts["wheel"] == ["scripts/build-wheel.sh --build-number $(Build.BuildId) --outdir dist"]
    tasks = {s.get("task"): s["inputs"] for s in jobs["tests"]["steps"] if "task" in s}
    assert tasks["PublishTestResults@2"]["testResultsFiles"] == "reports/junit.xml"
    assert tasks["PublishCodeCoverageResults@2"]["summaryFileLocation"].endswith("/reports/coverage.xml")
    (artifact,) = [s for s in jobs["wheel"]["steps"] if s.get("task") == "PublishPipelineArtifact@1"]
    assert artifact["inputs"] == {"targetPath": "dist", "artifact": "wheel"}
    assert PIPELINE["pr"]["branches"]["include"] == ["main"]
    assert PIPELINE["trigger"]["branches"]["include"] == ["main"]


def test_pip_and_ivy_caches_live_under_the_pipeline_workspace() -> None:
    variables = PIPELINE["variables"]
    assert variables["PIP_CACHE_DIR"].startswith("$(Pipeline.Workspace)/")
    assert variables["IVY_DIR"].startswith("$(Pipeline.Workspace)/")
    assert variables["PYSPARK_SUBMIT_ARGS"] == "--conf spark.jars.ivy=$(IVY_DIR) pyspark-shell"
    caches = [s["inputs"]["path"] for s in _all_steps() if s.get("task") == "Cache@2"]
    assert caches and set(caches) == {"$(PIP_CACHE_DIR)", "$(IVY_DIR)"}
    assert "$(HOME)" not in TEXT  # not a macro Azure Pipelines defines


@pytest.mark.parametrize(
    ("stage", "depends_on", "arguments"),
    [
        ("Dev", "CI", "dev --wheel $(Pipeline.Workspace)/wheel --run devices"),
        ("Staging", "Dev", "staging --wheel $(Pipeline.Workspace)/wheel --run integration_tests"),
        ("Prod", "Staging", "prod --wheel $(Pipeline.Workspace)/wheel"),
    ],
)
def test_cd_stage_is_a_deployment_job_on_an_environment(stage: str, depends_on: str, arguments: str) -> None:
    spec = STAGES[stage]
    assert spec["dependsOn"] == depends_on
    (job,) = spec["jobs"]
    assert "deployment" in job and job["environment"] == f"lakehouse-{stage.lower()}"
    steps = job["strategy"]["runOnce"]["deploy"]["steps"]
    assert {"download": "current", "artifact": "wheel"} in steps
    (deploy,) = [s for s in steps if s.get("task") == "AzureCLI@2"]
    assert deploy["inputs"]["arguments"] == arguments
    assert deploy["inputs"]["azureSubscription"] == f"lakehouse-databricks-{stage.lower()}"
    assert deploy["env"]["DATABRICKS_AUTH_TYPE"] == "azure-cli"
    assert spec["variables"] == [{"group": f"lakehouse-{stage.lower()}"}]


def test_cd_runs_only_for_main_and_never_with_a_personal_token() -> None:
    assert "refs/heads/main" in STAGES["Dev"]["condition"]
    for forbidden in ("DATABRICKS_TOKEN", "pip install databricks-cli", "nutter run", "dbfs"):
        assert forbidden not in TEXT


def _deploy(*args: str, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    unset = ("BUNDLE_VAR_service_principal", "servicePrincipalId")
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "deploy.sh"), *args],
        capture_output=True,
        text=True,
        env={**clean, "PATH": path, **env},
    )


def test_deploy_script_checks_its_arguments_before_calling_the_cli(tmp_path: Path) -> None:
    path = f"{tmp_path}:/usr/bin:/bin"
    done = _deploy("qa", path=path)
    assert done.returncode == 2 and "unknown target 'qa'" in done.stderr
    done = _deploy("prod", path=path)
    assert done.returncode == 2 and "set BUNDLE_VAR_service_principal" in done.stderr
    done = _deploy("dev", "--wheel", str(tmp_path), path=path)
    assert done.returncode == 2 and "expected one lakehouse_etl-*.whl" in done.stderr
    done = _deploy("dev", path=path)
    assert done.returncode == 1 and "Databricks CLI is not on PATH" in done.stderr


def test_deploy_script_refuses_the_legacy_cli() -> None:
    # nutter depends on the legacy databricks-cli pip package: its `databricks` is in the venv.
    legacy = Path(sys.executable).parent / "databricks"
    assert legacy.is_file(), "the dev extra installs nutter and with it the legacy CLI"
    done = _deploy("dev", path=f"{legacy.parent}:/usr/bin:/bin")
    assert done.returncode == 1
    assert "is not the current Databricks CLI (it says: Version 0.18" in done.stderr
