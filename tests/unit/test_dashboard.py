"""The Grafana dashboard charts every metric family the services expose, and nothing they do not.

The families are read from the registries the services really serve on /metrics, built the way the
services build them (each backend's ServiceRuntime with its metrics and subscribers; the gateway's
proxy metrics), without starting anything. A new metric with no panel fails here.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "massline.json"
BACKENDS = ("submission", "voting", "antifraud", "scoring", "notification", "registry")

# Names a panel may chart before any process exposes them (empty: every charted series is exposed); the
# test below fails while a name here is exposed.
NOT_YET_EXPOSED: frozenset[str] = frozenset()
# Prometheus's own series: no service exposes them.
SCRAPE_SERIES = frozenset({"up"})
METRIC_NAME = re.compile(r"\b((?:massline|faststream|process|python)_[a-z0-9_]+|up)\b(?!\s*\()")


def _registries() -> Iterator[tuple[str, CollectorRegistry]]:
    for name in BACKENDS:
        yield name, importlib.import_module(f"services.{name}.app").build_runtime().registry
    from services.gateway.app import create_app

    yield "gateway", create_app().state.deps.proxy_metrics.registry
    from massline.broker_lag import PartitionLag
    from services.operations.lag_exporter import LagExporter, LagExporterSettings

    exporter = LagExporter(LagExporterSettings())
    # What it serves after a reading: one group's lag on one partition.
    exporter.reading.lags, exporter.reading.read_at = [PartitionLag("g", "t", 0, committed=3, end=4, lag=1)], 1.0
    yield "lag-exporter", exporter.registry


def _sample_names(family: Any) -> set[str]:
    """The series names a family appears under in the exposition (what a query names)."""
    suffixes: dict[str, tuple[str, ...]] = {
        "counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count"),
        "info": ("_info",), "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    }
    return {family.name + s for s in suffixes.get(family.type, ("",))}


def _label_names(registry: CollectorRegistry) -> dict[str, set[str]]:
    """Family name -> its label names (an empty labelled metric exposes no sample to read them from)."""
    out: dict[str, set[str]] = {}
    for collector in list(registry._collector_to_names):
        labels = set(getattr(collector, "_labelnames", ()))
        for family in collector.describe() if hasattr(collector, "describe") else ():
            out.setdefault(family.name, set()).update(labels)
    return out


@pytest.fixture(scope="module")
def exposed() -> dict[str, dict[str, Any]]:
    """Family name -> {"samples": series names, "labels": label names, "services": who exposes it}."""
    families: dict[str, dict[str, Any]] = {}
    for service, registry in _registries():
        labels = _label_names(registry)
        for family in registry.collect():
            entry = families.setdefault(family.name, {"samples": set(), "labels": set(), "services": set()})
            entry["samples"] |= _sample_names(family)
            entry["labels"] |= labels.get(family.name, set())
            entry["services"].add(service)
    assert "massline_votes_accepted" in families and "massline_gateway_requests" in families
    return families


def _panels() -> list[dict[str, Any]]:
    dashboard = json.loads(DASHBOARD.read_text())
    out: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def _exprs() -> list[str]:
    return [t["expr"] for p in _panels() for t in p.get("targets", []) if t.get("expr")]


def _uses(expr: str, names: set[str]) -> bool:
    return any(re.search(rf"\b{re.escape(n)}\b", expr) for n in names)


def test_every_exposed_metric_family_has_a_panel(exposed):
    exprs = _exprs()
    missing = {name for name, f in exposed.items() if not any(_uses(e, f["samples"]) for e in exprs)}
    assert not missing, f"metric families with no panel in {DASHBOARD.name}: {sorted(missing)}"


def test_the_dashboard_queries_only_exposed_series(exposed):
    samples = set().union(*(f["samples"] for f in exposed.values()))
    queried = {m for e in _exprs() for m in METRIC_NAME.findall(e)}
    unknown = queried - samples - SCRAPE_SERIES - NOT_YET_EXPOSED
    assert not unknown, f"the dashboard queries series no service exposes: {sorted(unknown)}"
    stale = NOT_YET_EXPOSED & samples
    assert not stale, f"now exposed, remove from NOT_YET_EXPOSED: {sorted(stale)}"
    assert NOT_YET_EXPOSED <= queried, f"allowed but charted nowhere: {sorted(NOT_YET_EXPOSED - queried)}"


def test_process_cpu_and_memory_are_charted_per_service():
    exprs = _exprs()
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes"):
        assert any(name in e and "by (job" in e and 'job=~"$service"' in e for e in exprs), name


def _variable(name: str) -> dict[str, Any]:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert name in variables, f"no templating variable {name!r}"
    return variables[name]


def _values_query(variable: dict[str, Any]) -> tuple[str, str]:
    query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
    match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
    assert match, f"variable {variable['name']} is not a label_values query: {query}"
    return match[1], match[2]


def test_service_variable_lists_the_jobs_and_filters_the_panels(exposed):
    _, label = _values_query(_variable("service"))
    assert label == "job"
    assert _variable("service")["multi"] and _variable("service")["includeAll"]
    shared = {n for n, f in exposed.items() if len(f["services"]) > 1}
    filtered = {n for n in shared if any(_uses(e, exposed[n]["samples"]) and 'job=~"$service"' in e
                                         for e in _exprs())}
    assert filtered == shared, f"not chartable per service: {sorted(shared - filtered)}"


def test_campaign_variable_filters_every_per_campaign_metric(exposed):
    series, label = _values_query(_variable("campaign"))
    assert label == "campaign"
    per_campaign = {n for n, f in exposed.items() if "campaign" in f["labels"]}
    assert per_campaign, "no exposed metric carries a campaign label"
    assert re.match(r"\w+", series)[0] in set().union(*(exposed[n]["samples"] for n in per_campaign))
    for expr in _exprs():
        for name in per_campaign:
            if _uses(expr, exposed[name]["samples"]):
                assert 'campaign=~"$campaign"' in expr, f"not filtered by campaign: {expr}"


def test_panels_are_well_formed():
    panels = _panels()
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "duplicate panel ids make Grafana drop panels"
    seen: set[tuple[int, int]] = set()
    for p in panels:
        if p["type"] == "row":
            continue
        assert p.get("targets"), f"panel {p['title']!r} has no query"
        assert all(t.get("refId") for t in p["targets"])
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, f"panel {p['title']!r} is wider than the grid"
        cells = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & seen, f"panel {p['title']!r} overlaps another"
        seen |= cells

