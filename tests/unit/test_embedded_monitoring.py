"""`massline run` evaluates the production alert rules with a Prometheus of its own: its configuration scrapes
every process under the job names the rules and the dashboard use, and Prometheus's own checker accepts it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from services.operations.devstack import SERVICES
from services.operations.monitoring import RULES_DIR, prometheus_config

JOBS = {**{name: 8101 + i for i, name in enumerate(SERVICES)}, "gateway": 8000, "lag-exporter": 8200}


def test_every_process_is_scraped_under_its_job_name_with_the_rules_loaded() -> None:
    config = json.loads(prometheus_config(JOBS))
    scraped = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert scraped == {job: [f"127.0.0.1:{port}"] for job, port in JOBS.items()}
    assert config["rule_files"] == [str(RULES_DIR / "*.rules.yml")]
    assert list(RULES_DIR.glob("*.rules.yml")), "no rule file to load"


def test_prometheus_accepts_the_configuration(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: make install brings it (Debian's prometheus package)")
        pytest.skip("promtool is not installed")
    path = tmp_path / "prometheus.yml"
    path.write_text(prometheus_config(JOBS), encoding="utf-8")
    checked = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout + checked.stderr


def test_test_files_have_unique_names_across_tiers() -> None:
    """pytest imports test modules by their file name: two tiers with one name stop the whole run."""
    names: dict[str, list[str]] = {}
    for path in Path(__file__).resolve().parents[1].glob("*/test_*.py"):
        names.setdefault(path.name, []).append(path.parent.name)
    assert not {n: tiers for n, tiers in names.items() if len(tiers) > 1}
