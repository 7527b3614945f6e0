"""The alerts Prometheus evaluates, read from its HTTP API for the operator's page.

Only when `MASSLINE_PROMETHEUS_URL` names a Prometheus: the page then lists what `/api/v1/alerts` says is firing
or pending, each with its summary and its runbook (docs/runbooks/<alertname>.md). Without it the page says that
alerting is not connected; it never shows a state it did not read. When Prometheus also scrapes the broker's lag
exporter, the lag per consumer group is read from it too (`massline_broker_consumer_lag`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx

ALERT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
BROKER_LAG_QUERY = "sum by (group) (massline_broker_consumer_lag)"


@dataclass(frozen=True)
class Alert:
    name: str
    state: str  # firing | pending
    severity: str
    summary: str
    summary_zh: str
    since: str  # activeAt, as Prometheus gave it
    runbook: str  # where its runbook is read


@dataclass(frozen=True)
class Alerting:
    """What the page says about alerting: not connected, connected but unreadable (`error`), or the alerts."""

    url: str
    connected: bool
    error: str | None = None
    alerts: list[Alert] = field(default_factory=list)
    broker_lag: dict[str, float] = field(default_factory=dict)


def runbook_link(name: str, annotations: dict[str, Any]) -> str:
    """The alert's own `runbook_url` when the rule gives one, else the gateway's copy of docs/runbooks/<name>.md."""
    given = annotations.get("runbook_url")
    if isinstance(given, str) and given.lower().startswith(("http://", "https://", "/")):
        return given
    return f"/console/runbooks/{name}" if ALERT_NAME.match(name) else ""


def parse_alerts(body: Any) -> list[Alert]:
    """Prometheus's documented answer (`{"status": "success", "data": {"alerts": [...]}}`): firing first."""
    if not isinstance(body, dict) or body.get("status") != "success":
        raise ValueError("Prometheus did not answer success")
    out = []
    for a in (body.get("data") or {}).get("alerts") or []:
        labels, notes = a.get("labels") or {}, a.get("annotations") or {}
        name, state = str(labels.get("alertname", "")), str(a.get("state", ""))
        if state not in ("firing", "pending") or not name:
            continue
        out.append(Alert(name=name, state=state, severity=str(labels.get("severity", "")),
                         summary=str(notes.get("summary") or notes.get("description") or ""),
                         summary_zh=str(notes.get("summary_zh") or ""), since=str(a.get("activeAt") or ""),
                         runbook=runbook_link(name, notes)))
    return sorted(out, key=lambda x: (x.state != "firing", x.severity != "critical", x.name))


def parse_lag(body: Any) -> dict[str, float]:
    """An instant vector `sum by (group)`: group -> lag."""
    if not isinstance(body, dict) or body.get("status") != "success":
        return {}
    lag = {}
    for row in (body.get("data") or {}).get("result") or []:
        group = (row.get("metric") or {}).get("group")
        value = row.get("value") or []
        if group and len(value) == 2:
            lag[str(group)] = float(value[1])
    return lag


async def read_alerting(client: httpx.AsyncClient, url: str) -> Alerting:
    """The alerts (and the broker's lag per group) as Prometheus at `url` says now; `url` empty: not connected."""
    if not url:
        return Alerting(url="", connected=False)
    base = url.rstrip("/")
    try:
        r = await client.get(f"{base}/api/v1/alerts", timeout=3)
        r.raise_for_status()
        alerts = parse_alerts(r.json())
    except (httpx.HTTPError, ValueError) as exc:
        return Alerting(url=base, connected=True, error=type(exc).__name__)
    try:
        q = await client.get(f"{base}/api/v1/query", params={"query": BROKER_LAG_QUERY}, timeout=3)
        lag = parse_lag(q.json()) if q.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        lag = {}
    return Alerting(url=base, connected=True, alerts=alerts, broker_lag=lag)
