"""Results-day burst: how fast 10,000 notifications drain, and that a slow or dead webhook holds up no other.

Runs the notification service as its own process on the embedded stack (PostgreSQL + Tansu), with a
real SMTP server and webhook receivers on loopback ports in this process. Each run publishes
ResultsPublished events for 5,000 units with an e-mail address (5,000 inbox notices + 5,000 e-mails)
and nomination status events forwarded to five webhook subscriptions: three healthy, one that
answers after the client's timeout, one whose port refuses connections. Figures are medians of
the runs; they are printed and written to docs/benchmarks.md.

    make bench-notify          (or: .venv/bin/python tests/bench/bench_notify.py --runs 3)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from machine import describe as describe_machine  # noqa: E402

from massline.auth import Caller, issue_token  # noqa: E402
from massline.contracts import EntryRanking, NominationApproved, ResultsPublished, make_envelope  # noqa: E402
from services.operations.devstack import Stack, free_port  # noqa: E402

UNITS = 5_000
CAMPAIGNS = 10
STATUS_EVENTS = 300
SECRET_KEY = "bench-secret-key-bench-secret-key-0001"
SLOW_S = 3.0
DEADLINE_S = 240.0
SECTION = "## Notifications: results-day burst (`make bench-notify`)"


class Mailbox:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


class Receivers:
    """/ok/<name> answers at once; /slow answers after the client's timeout."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        lock = threading.Lock()
        counts = self.counts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    counts[self.path] = counts.get(self.path, 0) + 1
                if self.path == "/slow":
                    time.sleep(SLOW_S)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


async def setup(api: httpx.AsyncClient, dsn: str, receivers: Receivers) -> dict[str, str]:
    """Contacts for every unit (straight into the table: setting up is not what is measured), subscriptions."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "notification"})
    try:
        addresses = [f"unit:bench-{i:05d}" for i in range(UNITS)]
        await conn.execute("INSERT INTO recipients (address) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
                           addresses)
        await conn.execute(
            "INSERT INTO contacts (address, email) SELECT a, replace(a, ':', '-') || '@bench.example.org' "
            "FROM unnest($1::text[]) a ON CONFLICT (address) DO NOTHING", addresses)
    finally:
        await conn.close()
    dead_port = free_port()  # nothing listens there: every attempt is refused
    targets = {"healthy-a": f"{receivers.url}/ok/a", "healthy-b": f"{receivers.url}/ok/b",
               "healthy-c": f"{receivers.url}/ok/c", "slow": f"{receivers.url}/slow",
               "dead": f"http://127.0.0.1:{dead_port}/hook"}
    ids = {}
    for name, url in targets.items():
        r = await api.post("/webhooks", json={"url": url, "event_types": ["ResultsPublished", "NominationApproved"],
                                              "description": f"bench {name}"})
        r.raise_for_status()
        ids[r.json()["id"]] = name
    return ids


def burst(run: int) -> list:
    """Events of one results day: results for every unit, and status events for the webhooks."""
    events = []
    per_campaign = UNITS // CAMPAIGNS
    for c in range(CAMPAIGNS):
        campaign_id = f"bench-{run}-{c}"
        entries = [
            EntryRanking(entry_id=uuid.uuid4(), entry_name=f"示例账号{u}", unit_id=f"bench-{u:05d}",
                         rank=i + 1, total=100.0 - i * 0.01, components={"vote": 50.0})
            for i, u in enumerate(range(c * per_campaign, (c + 1) * per_campaign))
        ]
        events.append((ResultsPublished(campaign_id=campaign_id, version=1,
                                        categories={"institutional": entries}), campaign_id))
    for i in range(STATUS_EVENTS):
        events.append((NominationApproved(nomination_id=uuid.uuid4(), unit_id=f"bench-{i:05d}", unit_name="示例单位",
                                          category_id="institutional", entry_name=f"示例账号{i}", step_id="city",
                                          final=False), f"bench-{run}-0"))
    return events


async def publish(bootstrap: str, events: list) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 * 1024 * 1024, linger_ms=5)
    await producer.start()
    try:
        futures = []
        for event, campaign_id in events:
            env = make_envelope(event, campaign_id=campaign_id, producer="bench")
            futures.append(await producer.send(event.topic, env.to_bytes(), key=event.key().encode(), headers=[
                ("content-type", b"application/json"), ("event_type", env.event_type.encode()),
                ("event_id", str(env.event_id).encode())]))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def one_run(run: int, stack: Stack, dsn: str, subscriptions: dict[str, str]) -> dict[str, float]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "notification"})
    try:
        events = burst(run)
        campaigns = [f"bench-{run}-{c}" for c in range(CAMPAIGNS)]
        expected_notices = 2 * UNITS  # an inbox notice and an e-mail per unit
        healthy = [s for s, name in subscriptions.items() if name.startswith("healthy")]
        expected_healthy = len(healthy) * (CAMPAIGNS + STATUS_EVENTS)
        start = time.monotonic()
        await publish(stack.kafka_bootstrap, events)
        published = time.monotonic() - start
        notices_at = healthy_at = None
        while time.monotonic() - start < DEADLINE_S:
            notices = await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE campaign_id = ANY($1::text[]) AND status = 'delivered'",
                campaigns)
            hooks = await conn.fetchval(
                "SELECT count(*) FROM webhook_deliveries w WHERE w.campaign_id = ANY($1::text[]) "
                "AND w.status = 'delivered' AND w.subscription_id = ANY($2::uuid[])",
                campaigns, [uuid.UUID(s) for s in healthy])
            now = time.monotonic() - start
            if notices_at is None and notices >= expected_notices:
                notices_at = now
            if healthy_at is None and hooks >= expected_healthy:
                healthy_at = now
            if notices_at is not None and healthy_at is not None:
                break
            await asyncio.sleep(0.2)
        stuck = await conn.fetch(
            "SELECT subscription_id, status, count(*) AS n FROM webhook_deliveries WHERE campaign_id = ANY($1::text[]) "
            "GROUP BY 1, 2", campaigns)
        lagging = {subscriptions[str(r["subscription_id"])]: 0 for r in stuck}
        for r in stuck:
            if r["status"] != "delivered":
                lagging[subscriptions[str(r["subscription_id"])]] += r["n"]
        return {"published_s": published, "notices_s": notices_at or float("nan"),
                "healthy_webhooks_s": healthy_at or float("nan"),
                "slow_undelivered": lagging.get("slow", 0), "dead_undelivered": lagging.get("dead", 0),
                "notices": expected_notices, "healthy_webhooks": expected_healthy}
    finally:
        await conn.close()


def write_section(body: str) -> Path:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\nEach section is written by its benchmark.\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    section = f"{SECTION}\n\n{body.strip()}\n\n"
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    path.write_text(text.rstrip() + "\n", encoding="utf-8")
    return path


async def main(runs: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="massline-bench-notify-"))
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    receivers = Receivers()
    stack = Stack(home=home, gateway_port=0, durable=False, progress=lambda m: print(f"  {m}", flush=True),
                  extra_env={
                      "MASSLINE_ENV": "test", "MASSLINE_SECRET_KEY": SECRET_KEY, "MASSLINE_LOG_LEVEL": "WARNING",
                      "MASSLINE_SMTP_HOST": "127.0.0.1", "MASSLINE_SMTP_PORT": str(smtp.port),
                      "MASSLINE_EMAIL_PER_HOUR": "1000", "MASSLINE_WEBHOOK_TIMEOUT_S": "1.0",
                      "MASSLINE_MAX_ATTEMPTS": "4", "MASSLINE_RETRY_BASE_S": "2", "MASSLINE_RETRY_CAP_S": "10",
                  })
    results = []
    try:
        stack.start_infrastructure()
        stack.start_services(["notification"])
        token = issue_token(SECRET_KEY, Caller("bench", "admin", None), 3600)
        async with httpx.AsyncClient(base_url=stack.service_url("notification"), timeout=30,
                                     headers={"authorization": f"Bearer {token}"}) as api:
            subscriptions = await setup(api, stack.database_url, receivers)
        for run in range(runs):
            figures = await one_run(run, stack, stack.database_url, subscriptions)
            results.append(figures)
            print(f"run {run + 1}: notices {figures['notices_s']:.1f} s, healthy webhooks "
                  f"{figures['healthy_webhooks_s']:.1f} s, still undelivered then: slow "
                  f"{figures['slow_undelivered']}, dead {figures['dead_undelivered']}", flush=True)
    finally:
        stack.stop()
        smtp.stop()
        receivers.server.shutdown()
        shutil.rmtree(home, ignore_errors=True)

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    first = results[0]
    body = f"""
Command: `make bench-notify` (`.venv/bin/python tests/bench/bench_notify.py --runs {runs}`), {datetime.now(UTC):%Y-%m-%d}.
Machine: {describe_machine()}. Embedded PostgreSQL and Tansu; the notification service as one process; the SMTP server
(aiosmtpd) and the webhook receivers on loopback in the benchmark process.

Each run: {CAMPAIGNS} ResultsPublished events naming {UNITS:,} units that each have an e-mail address, so
{first['notices']:,} notifications (an inbox notice and an e-mail per unit), plus {STATUS_EVENTS} nomination status
events; every event goes to five webhook subscriptions: three healthy, one answering after {SLOW_S:.0f} s (the
client gives up after 1 s and retries), one whose port refuses connections. Median of {runs} runs:

| figure | median |
| --- | --- |
| publishing the burst to the broker | {med('published_s'):.1f} s |
| all {first['notices']:,} notifications delivered (inbox written, e-mail accepted by SMTP) | {med('notices_s'):.1f} s |
| all {first['healthy_webhooks']:,} deliveries to the three healthy webhooks | {med('healthy_webhooks_s'):.1f} s |
| deliveries to the slow endpoint not yet delivered at that point | {med('slow_undelivered'):.0f} |
| deliveries to the dead endpoint not yet delivered at that point | {med('dead_undelivered'):.0f} |

The healthy endpoints finish while the slow and dead ones still hold most of theirs (retrying with backoff,
then dead-lettered): those occupy at most their per-endpoint slots and never the others'.
"""
    print(body)
    print(f"written to {write_section(body)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(parser.parse_args().runs))
