"""Live progress: in a terminal, `lakehouse run` keeps a status line of what it is doing under
readable log lines and ends with the summary table; without a terminal, stderr is JSON lines."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from lakehouse.log import StatusLine


def _run_in_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal; returns (exit code, stdout, what the terminal got)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))  # 40 rows, 160 columns
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, env=env, cwd=cwd)
    os.close(slave)
    screen = bytearray()
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            screen += chunk
        elif proc.poll() is not None:
            break
    out = proc.stdout.read().decode() if proc.stdout else ""
    os.close(master)
    return proc.wait(timeout=60), out, screen.decode(errors="replace")


def test_a_run_in_a_terminal_shows_a_status_line_and_ends_with_the_table(
    tmp_path: Path, two_datasets: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "LAKEHOUSE_LOG_FORMAT"}
    code, out, screen = _run_in_terminal(
        [
            sys.executable,
            "-m",
            "lakehouse",
            "run",
            "--config",
            str(two_datasets),
            "--env",
            "",
            "--dataset",
            "readings",
        ],
        env,
        tmp_path,
    )
    assert code == 0, out + screen
    statuses = re.findall(r"\r\x1b\[2K(▶ [^\r\n]*)", screen)
    assert "▶ readings/bronze: landing listed (files 1, new 1)" in statuses
    assert any(
        s.startswith("▶ readings/silver: silver finished (read 2, written 2, quarantined 0") for s in statuses
    )
    # At the end the status is erased: the last line on the terminal is the run's last log line.
    last = screen.rstrip().split("\n")[-1]
    assert "run finished" in last and "▶" not in last.rsplit("\x1b[2K", 1)[-1]
    assert '{"' not in screen  # readable lines, not JSON
    assert re.search(r"^readings\s+silver\s+succeeded\s+2\s+2\s+0", out, re.M), out


def test_the_status_line_names_the_layer_and_its_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    line = StatusLine()
    event = {"event": "landing listed", "dataset": "d", "layer": "bronze", "files": 3, "new": 1}
    assert line.track(None, "info", dict(event)) == event
    assert capsys.readouterr().err == "\r\x1b[2K▶ d/bronze: landing listed (files 3, new 1)"
