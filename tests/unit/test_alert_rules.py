"""The alert rules: valid for Prometheus, unit-tested firing and quiet, each with its runbook, on real metrics.

promtool (Debian's prometheus package; `make install` installs it as root) checks the rules and the Prometheus
configuration and runs deploy/prometheus/tests/*.test.yml. Without promtool these tests skip on a developer's
machine and fail in CI, where an untested rule must not pass for tested.

Every metric a rule names must be one some massline process really exposes: the names are collected from the
registries the services, the gateway and the lag exporter build, so a renamed metric breaks this test instead of
silencing an alert.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from massline.broker_lag import PartitionLag

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules" / "massline.rules.yml"
RUNBOOKS = ROOT / "docs" / "runbooks"
SECTIONS = ("## What it means", "## How to confirm", "## What to do", "## How to know it is over")
# Series Prometheus makes itself, not a process.
PROMETHEUS_OWN = {"up"}
PROMQL_WORDS = {"sum", "by", "rate", "increase", "deriv", "histogram_quantile", "max", "and", "or", "unless", "offset",
                "absent", "le", "job", "instance", "group", "topic", "reason", "outcome", "service", "status",
                "dependency"}


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        message = "promtool is missing: `make install` installs Debian's prometheus package (as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def _alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_promtool(), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_rules_and_the_prometheus_configuration() -> None:
    rules = _run("check", "rules", str(RULES.relative_to(ROOT)))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = _run("check", "config", str((PROMETHEUS / "prometheus.yml").relative_to(ROOT)))
    assert config.returncode == 0, config.stdout + config.stderr
    assert f"{len(_alerts())} rules found" in config.stdout, "prometheus.yml does not load every rule"


def test_the_rule_unit_tests_pass() -> None:
    tests = sorted(str(p.relative_to(ROOT)) for p in (PROMETHEUS / "tests").glob("*.test.yml"))
    assert tests
    result = _run("test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in (PROMETHEUS / "tests").glob("*.test.yml"):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in _alerts()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - quiet == set(), "alerts never tested quiet"


def test_every_alert_has_a_severity_a_summary_and_its_runbook() -> None:
    index = (RUNBOOKS / "README.md").read_text(encoding="utf-8")
    for rule in _alerts():
        name = rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        notes = rule["annotations"]
        assert notes["summary"] and notes["description"], name
        assert notes["runbook_url"] == f"docs/runbooks/{name}.md", name
        runbook = ROOT / notes["runbook_url"]
        assert runbook.is_file(), f"{name} has no runbook"
        text = runbook.read_text(encoding="utf-8")
        assert text.startswith(f"# {name}\n"), runbook
        missing = [s for s in SECTIONS if s not in text]
        assert missing == [], f"{runbook.name} lacks {missing}"
        assert f"({name}.md)" in index, f"docs/runbooks/README.md does not list {name}"


def _exposed_names(registry: CollectorRegistry) -> set[str]:
    """The series names a registry serves, as Prometheus stores them (counters with _total, histograms' _bucket)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",),
                "summary": ("_count", "_sum"), "info": ("_info",)}
    names = set()
    for family in registry.collect():
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
    return names


def _registries() -> list[CollectorRegistry]:
    from services.antifraud.app import create_app as antifraud
    from services.gateway.app import create_app as gateway
    from services.notification.app import create_app as notification
    from services.operations.lag_exporter import LagExporter, LagExporterSettings
    from services.scoring.app import create_app as scoring
    from services.submission.app import create_app as submission
    from services.voting.app import create_app as voting

    registries = [app().state.runtime.registry for app in (submission, voting, antifraud, scoring, notification)]
    registries.append(gateway().state.deps.proxy_metrics.registry)
    exporter = LagExporter(LagExporterSettings())
    exporter.reading.lags, exporter.reading.read_at = [PartitionLag("voting.standings", "t", 0, 1, 2, 1)], 1.0
    registries.append(exporter.registry)
    return registries


def test_every_metric_a_rule_reads_is_served_by_a_massline_process() -> None:
    exposed = PROMETHEUS_OWN.union(*(_exposed_names(r) for r in _registries()))
    assert {"process_resident_memory_bytes", "python_gc_collections_total"} <= exposed  # the process's own series
    named: set[str] = set()
    for rule in _alerts():
        # Metric names: identifiers outside quotes that are not PromQL words or label names.
        expr = re.sub(r'"[^"]*"', '""', rule["expr"])
        named.update(w for w in re.findall(r"\b[a-z_][a-z0-9_]*\b", expr) if w not in PROMQL_WORDS)
    assert named - exposed == set(), "rules read metrics nothing serves"
