"""The operations page's alert panel reads Prometheus's HTTP API: a small server here answers /api/v1/alerts and
/api/v1/query as Prometheus documents them (https://prometheus.io/docs/prometheus/latest/querying/api/), on a free
loopback port, and is stopped at the end."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.gateway.alerts import BROKER_LAG_QUERY, read_alerting

ALERTS = {"status": "success", "data": {"alerts": [
    {"labels": {"alertname": "OutboxBacklog", "severity": "warning", "service": "voting"},
     "annotations": {"summary": "voting's outbox has events waiting for more than 60 s"},
     "state": "pending", "activeAt": "2026-01-01T02:00:00.123456789Z", "value": "1e+00"},
    {"labels": {"alertname": "ConsumerLagHigh", "severity": "critical", "group": "voting.standings"},
     "annotations": {"summary": "voting.standings is 5000 messages behind", "summary_zh": "实时排名落后 5000 条消息",
                     "runbook_url": "https://runbooks.example.org/ConsumerLagHigh"},
     "state": "firing", "activeAt": "2026-01-01T01:58:00Z", "value": "5e+03"},
    {"labels": {"alertname": "Watchdog"}, "annotations": {}, "state": "inactive", "activeAt": "", "value": "0"},
]}}
LAG = {"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": {"group": "voting.standings"}, "value": [1767232800.0, "5000"]},
    {"metric": {"group": "antifraud.detectors"}, "value": [1767232800.0, "0"]}]}}


class Prometheus(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, Any]] = {}
    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.asked.append(self.path)
        if url.path == "/api/v1/query" and parse_qs(url.query).get("query") == [BROKER_LAG_QUERY]:
            body = self.answers.get("query")
        else:
            body = self.answers.get(url.path)
        data = json.dumps(body).encode() if body is not None else b"not found"
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def prometheus() -> Iterator[tuple[str, type[Prometheus]]]:
    handler = type("Handler", (Prometheus,), {"answers": {}, "asked": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)  # port 0: a free one
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def test_firing_and_pending_alerts_are_read_with_their_summaries_and_runbooks(prometheus) -> None:
    url, handler = prometheus
    handler.answers.update({"/api/v1/alerts": ALERTS, "query": LAG})
    async with httpx.AsyncClient() as client:
        alerting = await read_alerting(client, url + "/")
    assert alerting.connected and alerting.error is None
    # Firing first; an inactive alert is not listed.
    assert [(a.name, a.state, a.severity) for a in alerting.alerts] == [
        ("ConsumerLagHigh", "firing", "critical"), ("OutboxBacklog", "pending", "warning")]
    lag, outbox = alerting.alerts
    assert (lag.summary_zh, lag.runbook) == ("实时排名落后 5000 条消息", "https://runbooks.example.org/ConsumerLagHigh")
    # Without a runbook_url the link is the gateway's copy of docs/runbooks/<alertname>.md.
    assert (outbox.summary, outbox.runbook) == ("voting's outbox has events waiting for more than 60 s",
                                                "/console/runbooks/OutboxBacklog")
    assert outbox.since == "2026-01-01T02:00:00.123456789Z"
    assert alerting.broker_lag == {"voting.standings": 5000.0, "antifraud.detectors": 0.0}
    assert handler.asked[0] == "/api/v1/alerts"


async def test_no_alert_is_no_alert_and_a_prometheus_without_the_lag_exporter_is_fine(prometheus) -> None:
    url, handler = prometheus
    handler.answers.update({"/api/v1/alerts": {"status": "success", "data": {"alerts": []}}})
    async with httpx.AsyncClient() as client:
        alerting = await read_alerting(client, url)
    assert (alerting.connected, alerting.error, alerting.alerts, alerting.broker_lag) == (True, None, [], {})


async def test_a_prometheus_that_cannot_be_read_is_said_so_not_taken_for_quiet(prometheus) -> None:
    url, handler = prometheus
    async with httpx.AsyncClient() as client:
        missing = await read_alerting(client, url)  # answers 404
        handler.answers["/api/v1/alerts"] = {"status": "error", "errorType": "timeout", "error": "query timed out"}
        failed = await read_alerting(client, url)
    assert missing.connected and missing.error == "HTTPStatusError" and missing.alerts == []
    assert failed.connected and failed.error == "ValueError"


async def test_without_a_url_alerting_is_not_connected() -> None:
    async with httpx.AsyncClient() as client:
        alerting = await read_alerting(client, "")
    assert not alerting.connected and alerting.alerts == []
