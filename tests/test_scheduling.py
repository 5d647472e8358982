"""The scheduling recipes in docs/scheduling: checked as far as this machine allows."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SCHEDULING = Path(__file__).parent.parent / "docs" / "scheduling"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path):
    service = (SCHEDULING / "paperdigest.service").read_text()
    executable = Path(sys.executable).parent / "paperdigest"
    service = service.replace("%h/paperdigest/.venv/bin/paperdigest", str(executable))
    service = service.replace("WorkingDirectory=%h/paperdigest", f"WorkingDirectory={tmp_path}")
    (tmp_path / "paperdigest.service").write_text(service)
    shutil.copy(SCHEDULING / "paperdigest.timer", tmp_path / "paperdigest.timer")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "paperdigest.service"), str(tmp_path / "paperdigest.timer")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_timer_in_new_york_time():
    timer = (SCHEDULING / "paperdigest.timer").read_text()
    assert "OnCalendar=Mon..Fri *-*-* 01:30:00 America/New_York" in timer


def test_workflow_valid_yaml():
    workflow = yaml.safe_load((SCHEDULING / "github-actions-daily-digest.yml").read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"] == "0 6 * * 1-5"
    assert "workflow_dispatch" in triggers
    assert workflow["permissions"]["contents"] == "write"
    steps = workflow["jobs"]["digest"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    assert any("paperdigest $args" in step.get("run", "") for step in steps)
    assert any("git push" in step.get("run", "") for step in steps)


def test_crontab_line_fields():
    lines = [line for line in (SCHEDULING / "crontab.txt").read_text().splitlines() if line and not line.startswith("#")]
    schedule = [line for line in lines if "paperdigest-daily.sh" in line]
    assert len(schedule) == 1
    assert schedule[0].split()[:5] == ["0", "6", "*", "*", "1-5"]


def fake_paperdigest(folder: Path, codes: list[int]) -> Path:
    """A stand-in for the CLI that exits with the given codes, one per call."""
    state = folder / "calls"
    script = folder / "fake-paperdigest"
    script.write_text(
        "#!/bin/sh\n"
        f'n=$(cat "{state}" 2>/dev/null || echo 0)\n'
        f'echo $((n + 1)) > "{state}"\n'
        f"set -- {' '.join(str(c) for c in codes)}\n"
        'shift "$n"\n'
        'exit "${1:-0}"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.mark.parametrize(
    ("codes", "calls", "status"),
    [([4, 4, 0], 3, 0), ([3], 1, 3), ([4] * 10, 6, 4), ([5], 1, 5)],
)
def test_daily_script_retries_only_stale(tmp_path, codes, calls, status):
    fake = fake_paperdigest(tmp_path, codes)
    env = dict(os.environ, PAPERDIGEST=str(fake), PAPERDIGEST_RETRY_SECONDS="0")
    result = subprocess.run(["sh", str(SCHEDULING / "paperdigest-daily.sh"), str(tmp_path)], env=env, timeout=60)
    assert result.returncode == status
    assert int((tmp_path / "calls").read_text()) == calls
