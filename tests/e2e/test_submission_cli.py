"""Operators run campaigns from the command line against the running system: validate, load, list, advance phases.

A definition with an error is refused whole, with the field named, and the running campaign stays as it was.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from support import wait_for

from services.operations.devstack import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = "cli-cases"


def test_campaign_commands_against_the_running_system(system, tmp_path: Path) -> None:
    env = {**os.environ, **system.env()}
    env.pop("MASSLINE_ADMIN_PASSWORD", None)  # the test system's admin has the development password

    def massline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.operations", "campaign", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    url = system.gateway_url
    henan = (ROOT / "campaigns" / "henan-2021-cases.yaml").read_text(encoding="utf-8")
    good = tmp_path / "v1.yaml"
    good.write_text(henan.replace("id: henan-2021-cases", f"id: {CAMPAIGN}", 1), encoding="utf-8")

    out = massline("validate", str(good))
    assert out.returncode == 0, out.stderr
    assert f"valid ({CAMPAIGN} v1, 3 categories)" in out.stdout
    out = massline("load", str(good), "--url", url)
    assert out.returncode == 0, out.stderr
    assert f"loaded {CAMPAIGN} v1" in out.stdout

    # version 2 with two mistakes: each is named, and nothing of version 2 reaches the system
    broken = tmp_path / "v2.yaml"
    broken.write_text(
        good.read_text(encoding="utf-8")
        .replace("version: 1", "version: 2", 1)
        .replace("min_per_unit_per_category: 2", "min_per_unit_per_category: -2", 1)
        .replace("kind: cases", "kind: cases\nwinners_total: 40", 1),
        encoding="utf-8",
    )
    for command in (("validate", str(broken)), ("load", str(broken), "--url", url)):
        out = massline(*command)
        assert out.returncode == 1
        assert "quotas.min_per_unit_per_category:" in out.stderr
        assert "winners_total: unknown key" in out.stderr
    campaign = httpx.get(f"{url}/api/submission/campaigns/{CAMPAIGN}").json()
    assert campaign["version"] == 1 and campaign["current_phase"] is None

    # the server's own refusal is shown with its code: the same version cannot be loaded twice
    out = massline("load", str(good), "--url", url)
    assert out.returncode == 1
    assert "campaign_version_not_newer" in out.stderr

    out = massline("list", "--url", url)
    assert out.returncode == 0
    assert any(line.split("\t")[:3] == [CAMPAIGN, "v1", "-"] for line in out.stdout.splitlines())

    out = massline("phase", CAMPAIGN, "voting", "--url", url)
    assert out.returncode == 0, out.stderr
    assert f"{CAMPAIGN}: - -> voting" in out.stdout
    out = massline("phase", CAMPAIGN, "counting", "--url", url)
    assert out.returncode == 1
    assert "validation_failed" in out.stderr and "phase:" in out.stderr
    out = massline("phase", CAMPAIGN, "initial_review", "--url", url)  # henan has no initial review
    assert out.returncode == 1 and "unknown_phase" in out.stderr
    assert httpx.get(f"{url}/api/submission/campaigns/{CAMPAIGN}").json()["current_phase"] == "voting"

    # every change is an event: the voting service learns the new phase from the bus
    wait_for("voting to learn the phase", lambda: httpx.get(
        f"{url}/api/voting/campaigns/{CAMPAIGN}/standings").json().get("phase") == "voting")

    # the statistics sheet comes through the gateway as a workbook a reviewer can open
    token = httpx.post(f"{url}/api/submission/auth/login",
                       json={"username": "admin", "password": "admin-demo-password"}).json()["access_token"]
    sheet = httpx.get(f"{url}/api/submission/campaigns/{CAMPAIGN}/exports/statistics",
                      headers={"Authorization": f"Bearer {token}"})
    assert sheet.status_code == 200
    assert f'filename="{CAMPAIGN}-statistics.xlsx"' in sheet.headers["content-disposition"]
    first = load_workbook(io.BytesIO(sheet.content)).active["A1"].value
    assert first.endswith("征集统计表")

    out = massline("list", "--url", "http://127.0.0.1:9")
    assert out.returncode == 2 and "cannot reach" in out.stderr


def test_the_command_line_finds_the_gateway_the_launcher_started_on_its_own_port(system) -> None:
    """Beside a system started on a port other than 8000, `massline campaign list` needs no --url: the launcher
    recorded its gateway; MASSLINE_GATEWAY_URL still says another one."""
    assert system.gateway_port != 8000
    env = {k: v for k, v in os.environ.items()
           if k not in ("MASSLINE_DATABASE_URL", "MASSLINE_KAFKA_BOOTSTRAP_SERVERS", "MASSLINE_GATEWAY_URL")}
    env["MASSLINE_HOME"] = str(system.home)

    def campaign_list(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.operations", "campaign", "list"], env={**env, **extra},
                              cwd=ROOT, capture_output=True, text=True, timeout=120)

    loaded = httpx.get(f"{system.gateway_url}/api/submission/campaigns", timeout=30).json()["campaigns"]
    assert loaded
    out = campaign_list()
    assert out.returncode == 0, out.stderr
    assert f"gateway {system.gateway_url}" in out.stderr
    assert sorted(line.split("\t")[0] for line in out.stdout.splitlines()) == sorted(c["id"] for c in loaded)

    elsewhere = f"http://127.0.0.1:{free_port()}"
    out = campaign_list(MASSLINE_GATEWAY_URL=elsewhere)
    assert out.returncode == 2 and f"cannot reach {elsewhere}" in out.stderr
