"""`lakehouse doctor`: ready on a new project; clear failures (with the fix) for a JAVA_HOME
pointing to no Java, an unset PII salt and a read-only storage root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lakehouse.cli import main

REPO = Path(__file__).resolve().parents[1]


def _doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    code = main(["doctor", *args, "--json"])
    found = json.loads(capsys.readouterr().out)
    assert found["ok"] is (code == 0)
    return code, {c["name"]: c for c in found["checks"]}


def test_new_project_is_ready(
    spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `spark` makes sure this pyspark/delta pair's jar list was remembered by a first start.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAKEHOUSE_CONFIG", raising=False)
    assert main(["init"]) == 0
    capsys.readouterr()
    code, checks = _doctor(capsys)
    assert code == 0
    for name in ("python", "java", "spark packages", "delta jars", "config", "storage root", "landing"):
        assert checks[name]["status"] == "ok", checks[name]
    assert "Java 17" in checks["java"]["detail"] or "Java 2" in checks["java"]["detail"]
    assert "remembered from an earlier start" in checks["delta jars"]["detail"]
    assert checks["chromium"]["required"] is False
    assert main(["doctor"]) == 0
    assert capsys.readouterr().out.strip().endswith("ready: every check a run needs passed")


def test_java_home_without_java_fails_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk-17"))
    monkeypatch.setenv("LAKEHOUSE_CACHE_DIR", str(tmp_path / "no-jar-list"))
    monkeypatch.delenv("LAKEHOUSE_SPARK_JARS", raising=False)
    code, checks = _doctor(capsys, "--config", str(REPO / "conf/pipelines/devices.yml"))
    assert code == 1
    java = checks["java"]
    assert java["status"] == "fail" and java["detail"] == f"JAVA_HOME={tmp_path / 'jdk-17'} has no bin/java"
    assert "JAVA_HOME" in java["fix"] and "17" in java["fix"]
    assert checks["delta jars"]["status"] == "skip"  # no JVM is tried without Java

    assert main(["doctor", "--config", str(REPO / "conf/pipelines/devices.yml")]) == 1
    text = capsys.readouterr().out.splitlines()
    assert any(line.split()[:2] == ["FAIL", "java"] for line in text)
    assert text[-1].startswith("1 check(s) failed, a run would fail: java") or "java" in text[-1]


def test_run_with_java_home_without_java_fails_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "landing/things").mkdir(parents=True)
    pipeline = tmp_path / "p.yml"
    pipeline.write_text(
        f"pipeline: p\nstorage: {{root: {tmp_path / 'lake'}, landing: {tmp_path / 'landing'}}}\n"
        "datasets:\n  things:\n    source: {format: csv, schema: infer}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env.update(JAVA_HOME=str(tmp_path / "jdk-17"), LAKEHOUSE_CACHE_DIR=str(tmp_path / "cache"))
    out = subprocess.run(
        [sys.executable, "-m", "lakehouse", "run", "--config", str(pipeline), "--env", ""],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("lakehouse: SparkSetupError: Spark's JVM could not start: ")
    assert "jdk-17/bin/java: No such file or directory" in lines[0]
    assert "JAVA_HOME" in lines[0] and "lakehouse doctor" in lines[0]


def test_unset_salt_fails_and_a_set_one_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)  # the local overlay reads ./samples/landing
    monkeypatch.setenv("LAKEHOUSE_ROOT", str(tmp_path / "lake"))
    monkeypatch.delenv("LAKEHOUSE_PII_SALT", raising=False)
    code, checks = _doctor(capsys, "--config", "conf/pipelines/devices.yml", "--env", "local")
    assert code == 1
    assert checks["secret"]["status"] == "fail"
    assert "LAKEHOUSE_PII_SALT is not set (used by usage)" in checks["secret"]["detail"]
    assert checks["secret"]["fix"].startswith("export LAKEHOUSE_PII_SALT=")
    assert [n for n, c in checks.items() if c["status"] == "fail"] == ["secret"]

    monkeypatch.setenv("LAKEHOUSE_PII_SALT", "s3cr3t-salt-value")
    assert main(["doctor", "--config", "conf/pipelines/devices.yml", "--env", "local"]) == 0
    out = capsys.readouterr().out
    assert "env:LAKEHOUSE_PII_SALT is set" in out and "s3cr3t-salt-value" not in out


def test_read_only_root_fails(tmp_path: Path) -> None:
    root, landing = tmp_path / "lake", tmp_path / "landing"
    (landing / "things").mkdir(parents=True)
    root.mkdir()
    root.chmod(0o555)  # read-only; root ignores modes, so as root the check runs without capabilities
    jar = tmp_path / "delta.jar"
    jar.write_bytes(b"")
    pipeline = tmp_path / "p.yml"
    pipeline.write_text(
        f"pipeline: p\nstorage: {{root: {root}, landing: {landing}}}\n"
        "datasets:\n  things:\n    source: {format: csv, schema: infer}\n"
    )
    # Dropping every capability (not switching to another user) keeps the checkout's venv
    # readable wherever it lives, e.g. under a private `mktemp -d` folder.
    as_user = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"] if os.geteuid() == 0 else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env.update(HOME=str(tmp_path), LAKEHOUSE_SPARK_JARS=str(jar))
    out = subprocess.run(
        [
            *as_user,
            sys.executable,
            "-m",
            "lakehouse",
            "doctor",
            "--config",
            str(pipeline),
            "--env",
            "",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    checks = {c["name"]: c for c in json.loads(out.stdout)["checks"]}
    assert checks["storage root"]["status"] == "fail"
    assert checks["storage root"]["detail"] == f"cannot write to {root}: Permission denied"
    assert "writable" in checks["storage root"]["fix"]
    assert checks["landing"]["status"] == "ok" and checks["config"]["status"] == "ok"
