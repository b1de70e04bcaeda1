"""databricks.yml names only things that exist, and deploys what the docs promise.

Every notebook, file and artifact path the bundle names exists in the repository (or is the
wheel its artifact build makes); workspace paths are workspace files or Volumes; each
pipeline in conf/pipelines has a job running bronze -> silver -> gold; targets dev
(development, default), staging and prod (production, run as a service principal) pass their
env overlay to the jobs.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
FILES = "${workspace.file_path}/"
JOB_PARAM = re.compile(r"\{\{job\.parameters\.(\w+)\}\}")
LAYERS = ["bronze", "silver", "gold"]


def _load() -> dict[str, Any]:
    # Through JSON: a job built from another's anchor (``<<: *serverless_job``) gets its own
    # copies of the shared parts, as the bundle CLI materializes them, not the same objects.
    loaded = yaml.safe_load((REPO / "databricks.yml").read_text(encoding="utf-8"))
    return json.loads(json.dumps(loaded))


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    """Every (key path, string value) in the document."""
    if isinstance(node, dict):
        return [item for k, v in node.items() for item in _strings(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [item for i, v in enumerate(node) for item in _strings(v, f"{path}[{i}]")]
    return [(path, node)] if isinstance(node, str) else []


def _artifact_outputs(bundle: dict[str, Any]) -> list[str]:
    return [f["source"] for a in bundle.get("artifacts", {}).values() for f in a.get("files", [])]


def _wheel_refs(job: dict[str, Any]) -> list[str]:
    refs = [lib["whl"] for task in job["tasks"] for lib in task.get("libraries", []) if "whl" in lib]
    refs += [d for env in job.get("environments", []) for d in env["spec"].get("dependencies", [])]
    return refs


def bundle_problems(bundle: dict[str, Any], repo: Path) -> list[str]:
    """What in ``bundle`` names something that does not exist (empty when all is well)."""
    problems = []
    for name, artifact in bundle.get("artifacts", {}).items():
        if not (repo / artifact.get("path", ".")).is_dir():
            problems.append(f"artifacts.{name}.path: {artifact.get('path')} is not a folder")
        script = shlex.split(artifact["build"])[0]
        if not (repo / script).is_file():
            problems.append(f"artifacts.{name}.build: {script} does not exist")
    outputs = _artifact_outputs(bundle)
    for key, job in bundle["resources"]["jobs"].items():
        defaults = {p["name"]: p["default"] for p in job.get("parameters", [])}
        for ref in _wheel_refs(job):
            if ref.removeprefix("./") not in outputs:
                problems.append(f"jobs.{key}: wheel {ref} is not an artifact output ({outputs})")
        for path, value in _strings(job):
            value = JOB_PARAM.sub(lambda m, d=defaults: d.get(m.group(1), m.group(0)), value)
            if path.endswith(".notebook_path") and not (repo / value).is_file():
                problems.append(f"jobs.{key}{path}: notebook {value} does not exist")
            if FILES in value:
                relative = value.split(FILES, 1)[1].split("{{")[0]
                if relative and not (repo / relative).exists():
                    problems.append(f"jobs.{key}{path}: {value} names {relative}, which does not exist")
    for path, value in _strings(bundle):
        if value.startswith("/") and not value.startswith(("/Workspace/", "/Volumes/")):
            problems.append(f"{path.lstrip('.')}: {value} is neither a workspace file nor a Volume path")
    return problems


def test_every_path_the_bundle_names_exists() -> None:
    assert bundle_problems(_load(), REPO) == []


def test_a_wrong_path_is_reported() -> None:
    bundle = _load()
    broken = copy.deepcopy(bundle)
    broken["resources"]["jobs"]["devices_job_cluster"]["tasks"][1]["notebook_task"]["notebook_path"] = (
        "./notebooks/run_silvr.py"
    )
    broken["resources"]["jobs"]["devices"]["parameters"][1]["default"] = "${workspace.file_path}/config"
    broken["resources"]["jobs"]["devices"]["environments"][0]["spec"]["dependencies"] = ["./dist/*.whl"]
    broken["variables"]["scratch_volume"]["default"] = "/mnt/scratch"
    broken["artifacts"]["lakehouse"]["build"] = "scripts/build.sh"
    missing_conf = "${workspace.file_path}/config/pipelines/devices.yml names config/pipelines/devices.yml"
    assert bundle_problems(broken, REPO) == [
        "artifacts.lakehouse.build: scripts/build.sh does not exist",
        "jobs.devices: wheel ./dist/*.whl is not an artifact output (['dist/lakehouse_etl-*.whl'])",
        "jobs.devices.parameters[1].default: ${workspace.file_path}/config names config, "
        "which does not exist",
        *(
            f"jobs.devices.tasks[{i}].python_wheel_task.parameters[2]: {missing_conf}, which does not exist"
            for i in range(3)
        ),
        "jobs.devices_job_cluster.tasks[1].notebook_task.notebook_path: "
        "notebook ./notebooks/run_silvr.py does not exist",
        "variables.scratch_volume.default: /mnt/scratch is neither a workspace file nor a Volume path",
    ]


def test_the_artifact_is_the_wheel_the_build_script_makes() -> None:
    (artifact,) = _load()["artifacts"].values()
    assert artifact["type"] == "whl"
    assert shlex.split(artifact["build"]) == ["scripts/build-wheel.sh"]
    assert artifact["files"] == [{"source": "dist/lakehouse_etl-*.whl"}]  # build-wheel.sh's output


def _layer_of(task: dict[str, Any]) -> str:
    if "notebook_task" in task:
        return Path(task["notebook_task"]["notebook_path"]).stem.removeprefix("run_")
    params = task["python_wheel_task"]["parameters"]
    return params[params.index("--layer") + 1]


def test_one_job_per_pipeline_runs_bronze_then_silver_then_gold() -> None:
    jobs = _load()["resources"]["jobs"]
    pipelines = sorted(p.stem for p in (REPO / "conf" / "pipelines").glob("*.yml"))
    for variant in ("{}", "{}_job_cluster"):
        for pipeline in pipelines:
            job = jobs[variant.format(pipeline)]
            defaults = {p["name"]: p["default"] for p in job["parameters"]}
            assert defaults["pipeline"] == pipeline and defaults["env"] == "${var.env}"
            tasks = job["tasks"]
            assert [_layer_of(t) for t in tasks] == LAYERS
            after = [t.get("depends_on") for t in tasks]
            assert after == [None, [{"task_key": "bronze"}], [{"task_key": "silver"}]]


def test_serverless_by_default_with_the_wheel_in_the_job_environment() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    job = _load()["resources"]["jobs"]["devices"]
    assert "job_clusters" not in job and all("job_cluster_key" not in t for t in job["tasks"])
    (env,) = job["environments"]
    assert env["spec"]["dependencies"] == ["./dist/lakehouse_etl-*.whl"]
    for task in job["tasks"]:
        wheel_task = task["python_wheel_task"]
        assert task["environment_key"] == env["environment_key"]
        assert re.sub(r"[-_.]+", "-", wheel_task["package_name"]) == project["name"]
        assert wheel_task["entry_point"] in project["scripts"]


def test_targets_pass_their_env_overlay_and_prod_runs_as_a_service_principal() -> None:
    bundle = _load()
    targets = bundle["targets"]
    assert [name for name, t in targets.items() if t.get("default")] == ["dev"]
    assert targets["dev"]["mode"] == "development"
    for name in ("staging", "prod"):
        assert targets[name]["mode"] == "production"
        assert targets[name]["run_as"] == {"service_principal_name": "${var.service_principal}"}
    for name, target in targets.items():
        env = target["variables"]["env"]
        assert env == name and (REPO / "conf" / "envs" / f"{env}.yml").is_file()


def test_no_dbfs_path_and_integration_scratch_on_a_volume() -> None:
    bundle = _load()
    assert not [v for _, v in _strings(bundle) if "dbfs" in v.lower()]
    job = bundle["resources"]["jobs"]["integration_tests"]
    env_vars = job["job_clusters"][0]["new_cluster"]["spark_env_vars"]
    assert env_vars["LAKEHOUSE_SCRATCH"] == "${var.scratch_volume}"
    for target in ("dev", "staging"):
        assert bundle["targets"][target]["variables"]["scratch_volume"].startswith("/Volumes/")


@pytest.mark.parametrize("job", ["devices", "devices_job_cluster", "integration_tests"])
def test_jobs_never_overlap_themselves(job: str) -> None:
    assert _load()["resources"]["jobs"][job]["max_concurrent_runs"] == 1
