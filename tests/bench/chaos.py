"""Fault suite (`make chaos`): the whole system under a vote load, one fault after another, reconciled after each.

Starts the system the way `make run` does (supervisord, embedded PostgreSQL and Tansu, the demo campaign) on
free loopback ports in a temporary home, and drives votes through the gateway: many voters, each vote with its
own idempotency key; every answer is kept (2xx with the vote id, the code of every other answer, connection
errors). One after another it

1. kills each service with SIGKILL (submission, voting, antifraud, scoring, notification, gateway);
2. kills PostgreSQL's postmaster with SIGKILL;
3. kills the Tansu broker with SIGKILL (supervisord starts it again, empty; the services heal it);
4. starts a second instance of voting and of antifraud (their consumer groups rebalance), then stops them;
5. publishes a random 10 % of the records on the vote, tally and vote-decision topics a second time (same
   bytes, key and headers);
6. cuts anti-fraud off the network for 30 s without stopping it: it runs in a network namespace whose loopback
   forwards the database and broker ports over a veth pair, and the host side of the pair is set down.

The load runs until the system answers again (three more seconds), then pauses; the suite then waits until
the system has converged: every process running and ready, and the reconciliation clean. The reconciliation
compares every vote answered 2xx with the vote log (voting.votes), the vote log with voting's outbox, the
standings, the held and invalidated votes, anti-fraud's screened votes and scoring's tallies, the daily quota
rows with the vote log (a batch half applied would show there), and looks for notices and webhooks sent twice
(a webhook receiver here counts what arrives). The table and a reading of it go to docs/reliability.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from support import Api, open_voting  # noqa: E402

# The demo campaign's definition with its counts shown while voting (the demo hides them, and a tally that hides
# counts could not be reconciled vote by vote against the log).
CAMPAIGN = "chaos-counts-shown"
SECRET = "chaos-secret-not-for-production"
REPORT = ROOT / "docs" / "reliability.md"
SERVICES = ["submission", "voting", "antifraud", "scoring", "notification"]
PROGRAMS = ["postgres", "tansu", *SERVICES, "gateway"]
REDELIVERED_TOPICS = ["massline.vote.v1", "massline.tally.v1", "massline.vote-decision.v1"]
QUOTA = 10  # the demo campaign's votes per voter and day


def say(msg: str) -> None:
    print(f"[chaos] {time.strftime('%H:%M:%S')} {msg}", flush=True)


# --- a TCP forwarder (also run inside the network namespace as `chaos.py --forward ...`) -------------------------

async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def forward(specs: list[str]) -> None:
    """Listen on each `host:port` and connect every client to its `=host:port`, bytes both ways."""

    def handler(target: tuple[str, int]) -> Any:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                up_reader, up_writer = await asyncio.open_connection(*target)
            except OSError:
                writer.close()
                return
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

        return handle

    servers = []
    for spec in specs:
        listen, target = spec.split("=")
        lhost, lport = listen.rsplit(":", 1)
        thost, tport = target.rsplit(":", 1)
        servers.append(await asyncio.start_server(handler((thost, int(tport))), lhost, int(lport)))
    print("ready", flush=True)
    await asyncio.Event().wait()


# --- the vote load --------------------------------------------------------------------------------------------

@dataclass
class Answer:
    start: float
    end: float
    kind: str  # 2xx, 4xx, 5xx, conn
    status: int
    code: str
    key: str
    vote_id: str | None


class Load:
    """Votes through the gateway from a thread of its own, paced; every answer kept."""

    def __init__(self, gateway: str, tickets: list[str], entries: list[str], rate: float, workers: int) -> None:
        self.gateway = gateway
        self.entries = entries
        self.rate = rate
        self.workers = workers
        # Each voter is used at most QUOTA times, so a refusal is never the quota doing its job.
        self.voters: deque[tuple[int, str]] = deque((i, t) for i, t in enumerate(tickets))
        self.used: Counter[int] = Counter()
        # Most voters come from networks of their own; one in twenty share one /24, ten of them a device, and all
        # vote for the first entry: anti-fraud invalidates or holds those votes, so decisions travel too.
        self.addresses = {i: f"10.250.7.{1 + i % 250}" if i % 20 == 0 else f"10.{(i // 250) % 250}.{i % 250}.{1 + i % 200}"
                          for i in range(len(tickets))}
        self.answers: list[Answer] = []
        self.running = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._next = 0.0
        self._in_flight = 0

    def start(self) -> None:
        self.running.set()
        self.thread.start()

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def stop(self) -> None:
        self.stopping.set()
        self.running.set()
        self.thread.join(timeout=30)

    def in_flight(self) -> int:
        return self._in_flight

    async def _main(self) -> None:
        import httpx

        limits = httpx.Limits(max_connections=self.workers * 2, max_keepalive_connections=self.workers)
        async with httpx.AsyncClient(base_url=self.gateway, timeout=20, limits=limits) as client:
            await asyncio.gather(*(self._worker(client) for _ in range(self.workers)))

    async def _worker(self, client: Any) -> None:
        import httpx

        while not self.stopping.is_set():
            if not self.running.is_set():
                await asyncio.sleep(0.05)
                continue
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + 1 / self.rate
            if slot > now:
                await asyncio.sleep(slot - now)
            if not self.running.is_set() or not self.voters:
                continue
            voter, ticket = self.voters.popleft()
            self.used[voter] += 1
            if self.used[voter] < QUOTA:
                self.voters.append((voter, ticket))
            key = uuid.uuid4().hex
            headers = {"Authorization": f"Bearer {ticket}", "X-Forwarded-For": self.addresses[voter]}
            entry = self.entries[0] if voter % 20 == 0 else random.choice(self.entries)
            body: dict[str, Any] = {"entry_id": entry, "count": 1, "idempotency_key": key}
            if voter % 20 == 0:
                body["device"] = f"shared-{voter // 200}"  # ten identities per device: anti-fraud invalidates
            start = time.monotonic()
            self._in_flight += 1
            try:
                r = await client.post(f"/api/voting/campaigns/{CAMPAIGN}/votes", headers=headers, json=body)
            except httpx.HTTPError as exc:
                self.answers.append(Answer(start, time.monotonic(), "conn", 0, type(exc).__name__, key, None))
                continue
            finally:
                self._in_flight -= 1
            end = time.monotonic()
            try:
                data = r.json()
            except ValueError:
                data = {}
            if 200 <= r.status_code < 300:
                self.answers.append(Answer(start, end, "2xx", r.status_code, "", key, data.get("vote_id")))
            else:
                code = (data.get("error") or {}).get("code", "") if isinstance(data, dict) else ""
                self.answers.append(Answer(start, end, f"{r.status_code // 100}xx", r.status_code, code, key, None))

    def accepted(self) -> dict[str, str | None]:
        return {a.key: a.vote_id for a in list(self.answers) if a.kind == "2xx"}


# --- a webhook receiver ---------------------------------------------------------------------------------------

class Receiver:
    """A plain HTTP endpoint that answers 200 and counts each X-Massline-Event-Id it receives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.events: Counter[str] = Counter()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self.ready = threading.Event()

    def start(self) -> None:
        self.thread.start()
        self.ready.wait(10)

    async def _serve(self) -> None:
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.ready.set()
        async with server:
            await server.serve_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                await reader.readexactly(int(headers.get("content-length", "0")))
                if "x-massline-event-id" in headers:
                    self.events[headers["x-massline-event-id"]] += 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError, ValueError):
            pass
        finally:
            writer.close()


# --- reconciliation -------------------------------------------------------------------------------------------

@dataclass
class Reconciliation:
    lost: dict[str, int] = field(default_factory=dict)
    double: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)  # work not done yet (not a loss until it stays)
    info: dict[str, int] = field(default_factory=dict)

    @property
    def lost_total(self) -> int:
        return sum(self.lost.values())

    @property
    def double_total(self) -> int:
        return sum(self.double.values())

    @property
    def clean(self) -> bool:
        return not self.lost_total and not self.double_total and not any(self.pending.values())

    def differences(self) -> str:
        parts = [f"lost {k}={v}" for k, v in self.lost.items() if v]
        parts += [f"double {k}={v}" for k, v in self.double.items() if v]
        parts += [f"{k}={v}" for k, v in self.pending.items() if v]
        return ", ".join(parts) or "none"


async def reconcile(dsn: str, accepted: dict[str, str | None], received: Counter[str]) -> Reconciliation:
    import asyncpg

    rec = Reconciliation()
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        rows = await conn.fetch("SELECT idempotency_key, vote_id::text AS vote_id, entry_id::text AS entry_id, count "
                                "FROM voting.votes WHERE campaign_id = $1", CAMPAIGN)
        log_by_key: dict[str, list[Any]] = {}
        for r in rows:
            log_by_key.setdefault(r["idempotency_key"], []).append(r)
        log_ids = {r["vote_id"] for r in rows}
        per_entry: Counter[str] = Counter()
        for r in rows:
            per_entry[r["entry_id"]] += r["count"]
        # Answered 2xx: in the log once, under the vote id the answer gave.
        rec.lost["log"] = sum(1 for k in accepted if k not in log_by_key)
        rec.double["log"] = sum(len(log_by_key[k]) - 1 for k in accepted if len(log_by_key.get(k, [])) > 1)
        rec.info["answer_vote_id_mismatch"] = sum(
            1 for k, v in accepted.items() if v and k in log_by_key and log_by_key[k][0]["vote_id"] != v)
        rec.info["committed_not_answered_2xx"] = sum(1 for k in log_by_key if k not in accepted)
        rec.info["votes_logged"] = len(rows)
        # The outbox: each logged vote in exactly one VoteCast.
        outboxed = Counter({r["vote_id"]: r["n"] for r in await conn.fetch(
            "SELECT v->>'vote_id' AS vote_id, count(*) AS n FROM voting.outbox o, "
            "jsonb_array_elements(convert_from(o.body, 'UTF8')::jsonb->'payload'->'votes') v "
            "WHERE o.event_type = 'VoteCast' GROUP BY 1")})
        rec.lost["outbox"] = sum(1 for v in log_ids if v not in outboxed)
        rec.double["outbox"] = sum(n - 1 for n in outboxed.values() if n > 1)
        unpublished = 0
        for schema in SERVICES:
            unpublished += await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL")
        rec.pending["unpublished_events"] = unpublished
        # The standings: counted + held + invalidated per entry equals the log.
        standings = {r["entry_id"]: r for r in await conn.fetch(
            "SELECT entry_id::text AS entry_id, votes, held, invalidated FROM voting.standings WHERE campaign_id = $1",
            CAMPAIGN)}
        diff = {e: (standings[e]["votes"] + standings[e]["held"] + standings[e]["invalidated"]
                    if e in standings else 0) - per_entry.get(e, 0) for e in set(per_entry) | set(standings)}
        rec.lost["standings"] = sum(-d for d in diff.values() if d < 0)
        rec.double["standings"] = sum(d for d in diff.values() if d > 0)
        states = {r["entry_id"]: r for r in await conn.fetch(
            "SELECT v.entry_id::text AS entry_id, "
            "coalesce(sum(v.count) FILTER (WHERE s.state = 'held'), 0) AS held, "
            "coalesce(sum(v.count) FILTER (WHERE s.state = 'invalidated'), 0) AS invalidated "
            "FROM voting.votes v JOIN voting.vote_validity s USING (vote_id) WHERE v.campaign_id = $1 "
            "GROUP BY 1", CAMPAIGN)}
        rec.pending["standings_vs_vote_states"] = sum(
            abs(s["held"] - (states[e]["held"] if e in states else 0))
            + abs(s["invalidated"] - (states[e]["invalidated"] if e in states else 0))
            for e, s in standings.items())
        # Anti-fraud screened every logged vote once, and its decisions reached voting.
        screened = {r["vote_id"]: r["state"] for r in await conn.fetch(
            "SELECT vote_id::text AS vote_id, state FROM antifraud.votes WHERE campaign_id = $1", CAMPAIGN)}
        rec.lost["antifraud"] = sum(1 for v in log_ids if v not in screened)
        rec.double["antifraud"] = sum(1 for v in screened if v not in log_ids)
        voting_state = {r["vote_id"]: r["state"] for r in await conn.fetch(
            "SELECT vote_id::text AS vote_id, state FROM voting.vote_validity")}
        wanted = {"counted": "counted", "flagged": "held", "invalidated": "invalidated"}
        rec.pending["decisions_not_applied"] = sum(
            1 for v, state in screened.items() if wanted.get(state, state) != voting_state.get(v, "counted"))
        rec.info["held_or_invalidated"] = sum(1 for s in screened.values() if s != "counted")
        # Scoring's latest tally per category equals the counted votes.
        tallied: dict[str, int] = {}
        for r in await conn.fetch("SELECT standings FROM scoring.tallies WHERE campaign_id = $1", CAMPAIGN):
            items = json.loads(r["standings"]) if isinstance(r["standings"], str) else r["standings"]
            for item in items:
                tallied[item["entry_id"]] = int(item.get("votes") or 0)
        tdiff = {e: tallied.get(e, 0) - (standings[e]["votes"] if e in standings else 0)
                 for e in set(tallied) | set(standings)}
        rec.lost["tallies"] = sum(-d for d in tdiff.values() if d < 0)
        rec.double["tallies"] = sum(d for d in tdiff.values() if d > 0)
        # A batch half applied: the quota rows say how many votes each voter cast that day.
        rec.double["quota_rows"] = await conn.fetchval(
            "SELECT count(*) FROM voting.daily_quota q FULL JOIN (SELECT campaign_id, voter_id, day, sum(count) AS n "
            "FROM voting.votes GROUP BY 1, 2, 3) v USING (campaign_id, voter_id, day) "
            "WHERE coalesce(q.used, 0) <> coalesce(v.n, 0)")
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM voting.entry_daily_quota)"):
            rec.double["entry_quota_rows"] = await conn.fetchval(
                "SELECT count(*) FROM voting.entry_daily_quota q FULL JOIN (SELECT campaign_id, voter_id, entry_id, "
                "day, sum(count) AS n FROM voting.votes GROUP BY 1, 2, 3, 4) v "
                "USING (campaign_id, voter_id, entry_id, day) WHERE coalesce(q.used, 0) <> coalesce(v.n, 0)")
        # Notices: the same thing told to the same recipient on the same channel twice, or sent twice.
        rec.double["notices"] = await conn.fetchval(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM notification.deliveries "
            "GROUP BY recipient, channel, template, refs) d WHERE n > 1")
        rec.double["sends"] = await conn.fetchval(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM notification.delivery_attempts "
            "WHERE outcome = 'delivered' GROUP BY delivery_id) d WHERE n > 1")
        hooks = await conn.fetch("SELECT source_event_id::text AS event_id, status FROM notification.webhook_deliveries")
        rec.double["webhooks"] = sum(n - 1 for n in received.values() if n > 1)
        rec.double["webhook_rows"] = sum(n - 1 for n in Counter(h["event_id"] for h in hooks).values() if n > 1)
        rec.lost["webhooks"] = sum(1 for h in hooks if h["status"] in ("delivered", "dead")
                                   and h["event_id"] not in received)
        rec.pending["webhooks_pending"] = sum(1 for h in hooks if h["status"] in ("pending", "sending"))
        rec.info["webhooks_received"] = len(received)
        rec.info["notices"] = await conn.fetchval("SELECT count(*) FROM notification.deliveries")
    finally:
        await conn.close()
    return rec


# --- the system -----------------------------------------------------------------------------------------------

class System:
    """The supervised stack and what the suite does to it."""

    def __init__(self, home: Path) -> None:
        from services.operations.devstack import Stack, free_port
        from services.operations.supervision import SupervisedStack

        self.home = home
        self.stack = Stack(home=home, gateway_port=free_port(), progress=say, extra_env={
            "MASSLINE_SECRET_KEY": SECRET, "MASSLINE_ENV": "development", "MASSLINE_LOG_LEVEL": "WARNING",
            "MASSLINE_CAMPAIGNS_DIR": str(ROOT / "campaigns"), "MASSLINE_TRUSTED_PROXIES": "127.0.0.1/32"})
        self.supervised = SupervisedStack(self.stack, say)
        self.extra: list[subprocess.Popen[bytes]] = []  # processes the suite started itself

    def start(self) -> None:
        from services.operations.demo import load_demo

        self.supervised.start()
        load_demo(self.stack.gateway_url, say)

    @property
    def dsn(self) -> str:
        assert self.stack.database_url
        return self.stack.database_url

    def supervisor(self) -> Any:
        from services.operations.supervision import control

        return control(self.stack.run_dir).supervisor

    def pid(self, name: str) -> int:
        return int(self.supervisor().getProcessInfo(name)["pid"])

    def states(self) -> dict[str, tuple[str, int]]:
        return {p["name"]: (p["statename"], p["pid"]) for p in self.supervisor().getAllProcessInfo()
                if p["name"] in PROGRAMS}

    def healthy(self, stopped: tuple[str, ...] = ()) -> bool:
        """Every process running and the gateway's /health (every service ready) 200."""
        import httpx

        try:
            states = self.states()
            if any(states[p][0] != "RUNNING" for p in PROGRAMS if p not in stopped):
                return False
            return httpx.get(f"{self.stack.gateway_url}/health", timeout=5).status_code == 200
        except Exception:  # noqa: BLE001 - not answering is not healthy
            return False

    def health_detail(self) -> str:
        import httpx

        try:
            body = httpx.get(f"{self.stack.gateway_url}/health", timeout=5).json()
            return json.dumps(body, ensure_ascii=False)[:600]
        except Exception as exc:  # noqa: BLE001
            return f"gateway: {type(exc).__name__}"

    def env(self) -> dict[str, str]:
        return self.stack.env()

    def spawn(self, args: list[str], log_name: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        self.stack.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.stack.log_dir / f"{log_name}.log").open("ab") as log:
            proc = subprocess.Popen(args, env=env or self.env(), cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.extra.append(proc)
        return proc

    def end(self, proc: subprocess.Popen[bytes], timeout: float = 25) -> None:
        """Stop a process the suite started (by its pid), gracefully first."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(5)
        if proc in self.extra:
            self.extra.remove(proc)

    def stop(self) -> None:
        for proc in list(self.extra):
            self.end(proc, 10)
        self.supervised.stop()


def wait_until(check: Any, timeout: float, step: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except Exception:  # noqa: BLE001 - not yet
            pass
        time.sleep(step)
    return False


def service_ready(port: int) -> bool:
    import httpx

    return httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=3).status_code == 200


# --- faults ---------------------------------------------------------------------------------------------------

@dataclass
class Result:
    fault: str
    injected: float = 0.0
    healed: float = 0.0  # the end of the fault: the kill itself, the link up, the second instances gone
    back: float | None = None  # the system answering again (every process running, every service ready)
    paused: float = 0.0
    converged: float | None = None
    rec: Reconciliation | None = None
    answers: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    fivexx_not_in_flight: int = 0
    note: str = ""


class Suite:
    def __init__(self, system: System, load: Load, receiver: Receiver, args: argparse.Namespace) -> None:
        self.system = system
        self.load = load
        self.receiver = receiver
        self.args = args
        self.results: list[Result] = []
        self.netns: str | None = None
        self.veth: str | None = None

    # The frame every fault runs in: load on, inject, load until the system answers again, pause, converge.
    def run_fault(self, name: str, inject: Any, *, stopped: tuple[str, ...] = ()) -> Result:
        res = Result(name)
        self.load.resume()
        time.sleep(self.args.warm)
        say(f"fault: {name}")
        res.injected = time.monotonic()
        res.note = inject(res) or ""
        if not res.healed:
            res.healed = res.injected
        say(f"  fault over after {res.healed - res.injected:.1f}s; waiting for the system to answer again")
        if wait_until(lambda: self.system.healthy(stopped), self.args.converge_timeout):
            res.back = time.monotonic()
        # Three more seconds of load on the system as it came back, at least five after the injection.
        time.sleep(max(3.0, res.injected + 5 - time.monotonic()))
        self.load.pause()
        res.paused = time.monotonic()
        self.converge(res, stopped)
        self.count_answers(res)
        self.results.append(res)
        rec = res.rec
        say(f"  {name}: back {fmt(res.back, res.injected)} s, converged {fmt(res.converged, res.healed)} s after the "
            f"fault; lost={rec.lost_total if rec else '?'} double={rec.double_total if rec else '?'}; answers "
            f"{dict(res.answers)} {dict(res.codes)}")
        if rec and not rec.clean:
            say(f"  differences: {rec.differences()}")
        return res

    def converge(self, res: Result, stopped: tuple[str, ...] = ()) -> None:
        # Wait for the answers in flight, so "answered 2xx" is complete before comparing.
        wait_until(lambda: self.load.in_flight() == 0, 30, 0.1)
        deadline = res.healed + self.args.converge_timeout
        rec = None
        while True:
            self.system.supervised.report_exits()
            healthy = self.system.healthy(stopped)
            try:
                rec = asyncio.run(reconcile(self.system.dsn, self.load.accepted(), self.receiver.events))
            except Exception as exc:  # noqa: BLE001 - the database may still be coming back
                say(f"  reconciliation not possible yet: {type(exc).__name__}: {exc}")
                rec = None
            if healthy and rec is not None and rec.clean:
                res.converged = time.monotonic()
                break
            if time.monotonic() > deadline:
                say(f"  NOT converged within {self.args.converge_timeout:.0f}s: healthy={healthy}; "
                    f"{rec.differences() if rec else 'no reconciliation'}")
                if not healthy:
                    say(f"  health: {self.system.health_detail()}")
                break
            time.sleep(1)
        res.rec = rec

    def count_answers(self, res: Result) -> None:
        for a in list(self.load.answers):
            if a.end >= res.injected and a.start <= res.paused:
                res.answers[a.kind] += 1
                if a.kind != "2xx":
                    res.codes[f"{a.status or ''}{' ' if a.status else ''}{a.code}".strip()] += 1
                # A 5xx to a vote that was not in flight when the fault struck (sent after it).
                if a.kind == "5xx" and a.start > res.injected:
                    res.fivexx_not_in_flight += 1

    # 1-3: SIGKILL one process; supervisord starts it again.
    def kill(self, name: str) -> Result:
        def inject(res: Result) -> str:
            pid = self.system.pid(name)
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: self.system.states()[name][1] not in (0, pid), 60, 0.1)
            return f"pid {pid} killed; supervisord started pid {self.system.pid(name)}"

        return self.run_fault(f"kill -9 {name}", inject)

    # 4: a second instance of voting and antifraud joins their groups, then leaves.
    def rebalance(self) -> Result:
        from services.operations.devstack import free_port

        def inject(res: Result) -> str:
            procs = {}
            for name in ("voting", "antifraud"):
                port = free_port()
                procs[name] = (self.system.spawn(self.system.stack.service_command(name, port), f"{name}-second"),
                               port)
            for name, (proc, port) in procs.items():
                if not wait_until(lambda p=port: service_ready(p), 90):
                    say(f"  the second {name} did not become ready (exit {proc.poll()})")
            joined = time.monotonic() - res.injected
            time.sleep(self.args.hold)
            for proc, _ in procs.values():
                self.system.end(proc)
            res.healed = time.monotonic()
            return f"second instances ready after {joined:.1f}s, kept {self.args.hold:.0f}s, then stopped"

        return self.run_fault("voting + antifraud: 1 -> 2 -> 1 instances", inject)

    # 5: 10 % of the records on the vote, tally and decision topics published again, byte for byte.
    def redeliver(self) -> Result:
        def inject(res: Result) -> str:
            counts = asyncio.run(self._redeliver())
            res.healed = time.monotonic()
            return ", ".join(f"{t.split('.')[1]}: {sent} of {seen}" for t, (seen, sent) in counts.items())

        return self.run_fault("redeliver 10 % twice", inject)

    async def _redeliver(self) -> dict[str, tuple[int, int]]:
        from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

        from massline.contracts.topics import TOPICS

        bootstrap = self.system.stack.kafka_bootstrap
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                    auto_offset_reset="earliest", client_id="massline-chaos")
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="massline-chaos")
        await consumer.start()
        await producer.start()
        out: dict[str, tuple[int, int]] = {}
        rng = random.Random(7)
        try:
            for topic in REDELIVERED_TOPICS:
                parts = [TopicPartition(topic, p) for p in range(TOPICS[topic].partitions)]
                consumer.assign(parts)
                await consumer.seek_to_beginning(*parts)
                ends = await consumer.end_offsets(parts)
                chosen = []
                seen = 0
                while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
                    batch = await consumer.getmany(*parts, timeout_ms=1000)
                    for tp, records in batch.items():
                        for rec in records:
                            if rec.offset >= ends[tp]:
                                continue
                            seen += 1
                            if rng.random() < 0.10:
                                chosen.append((tp.partition, rec))
                # Once more each: the chosen records are delivered twice in all.
                for partition, rec in chosen:
                    await producer.send(topic, rec.value, key=rec.key, partition=partition,
                                        headers=list(rec.headers))
                await producer.flush()
                out[topic] = (seen, len(chosen))
        finally:
            await consumer.stop()
            await producer.stop()
        return out

    # 6: anti-fraud cut off the network for 30 s, in a namespace of its own.
    def partition(self) -> Result:
        stack = self.system.stack
        assert stack.postgres and stack.kafka
        pg, kafka, port = stack.postgres.port, stack.kafka.port, stack.service_ports["antifraud"]
        tag = os.getpid() % 100000
        self.netns, self.veth = f"mlchaos{tag}", f"mlc{tag}h"
        peer = f"mlc{tag}n"
        octet = tag % 250
        host_ip, ns_ip = f"10.231.{octet}.1", f"10.231.{octet}.2"
        for cmd in (["ip", "netns", "add", self.netns],
                    ["ip", "link", "add", self.veth, "type", "veth", "peer", "name", peer],
                    ["ip", "link", "set", peer, "netns", self.netns],
                    ["ip", "addr", "add", f"{host_ip}/30", "dev", self.veth],
                    ["ip", "link", "set", self.veth, "up"],
                    ["ip", "netns", "exec", self.netns, "ip", "addr", "add", f"{ns_ip}/30", "dev", peer],
                    ["ip", "netns", "exec", self.netns, "ip", "link", "set", peer, "up"],
                    ["ip", "netns", "exec", self.netns, "ip", "link", "set", "lo", "up"]):
            subprocess.run(cmd, check=True, capture_output=True)
        say(f"  moving antifraud into network namespace {self.netns} ({ns_ip}, veth {self.veth})")
        self.system.supervisor().stopProcess("antifraud", True)
        me = [sys.executable, str(Path(__file__).resolve()), "--forward"]
        host_side = self.system.spawn([*me, f"{host_ip}:{pg}=127.0.0.1:{pg}", f"{host_ip}:{kafka}=127.0.0.1:{kafka}",
                                       f"127.0.0.1:{port}={ns_ip}:{port}"], "forward-host")
        ns_side = self.system.spawn(["ip", "netns", "exec", self.netns, *me, f"127.0.0.1:{pg}={host_ip}:{pg}",
                                     f"127.0.0.1:{kafka}={host_ip}:{kafka}"], "forward-netns")
        command = [("0.0.0.0" if a == "127.0.0.1" else a) for a in stack.service_command("antifraud", port)]
        cut_off = self.system.spawn(["ip", "netns", "exec", self.netns, *command], "antifraud-netns")
        try:
            if not wait_until(lambda: service_ready(port) and self.system.healthy(("antifraud",)), 120):
                raise RuntimeError("antifraud in the namespace did not become ready")
            say("  antifraud runs in the namespace; letting it catch up before the cut")
            moved = Result("antifraud moved into a namespace", injected=time.monotonic())
            moved.healed = moved.paused = moved.injected
            self.converge(moved, ("antifraud",))

            def inject(res: Result) -> str:
                subprocess.run(["ip", "link", "set", self.veth, "down"], check=True)
                time.sleep(self.args.cut)
                subprocess.run(["ip", "link", "set", self.veth, "up"], check=True)
                res.healed = time.monotonic()
                return f"link down {self.args.cut:.0f}s (antifraud kept running, pid {cut_off.pid})"

            return self.run_fault(f"antifraud cut off the network {self.args.cut:.0f}s", inject,
                                  stopped=("antifraud",))
        finally:
            self.system.end(cut_off)
            self.system.end(ns_side, 5)
            self.system.end(host_side, 5)
            self.cleanup_netns()
            self.system.supervisor().startProcess("antifraud", True)
            if not wait_until(lambda: self.system.healthy(), 120):
                say("  antifraud did not come back under supervisord")

    def cleanup_netns(self) -> None:
        if self.veth:
            subprocess.run(["ip", "link", "del", self.veth], capture_output=True)
            self.veth = None
        if self.netns:
            subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
            self.netns = None


def fmt(t: float | None, since: float) -> str:
    return "—" if t is None else f"{t - since:.1f}"


# --- the report -----------------------------------------------------------------------------------------------

def table(results: list[Result]) -> str:
    lines = ["| fault | back (s) | converged (s) | lost | double | answers during the fault: 2xx / 4xx / 5xx / "
             "conn | 5xx not in flight | other answers |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        rec = r.rec
        conv = "**no**" if r.converged is None else fmt(r.converged, r.healed)
        lost = "?" if rec is None else str(rec.lost_total)
        double = "?" if rec is None else str(rec.double_total)
        if rec and rec.lost_total:
            lost = f"**{lost}** ({', '.join(f'{k} {v}' for k, v in rec.lost.items() if v)})"
        if rec and rec.double_total:
            double = f"**{double}** ({', '.join(f'{k} {v}' for k, v in rec.double.items() if v)})"
        a = r.answers
        codes = ", ".join(f"{c} ×{n}" for c, n in r.codes.most_common(4)) or "—"
        lines.append(f"| {r.fault} | {fmt(r.back, r.injected)} | {conv} | {lost} | {double} | "
                     f"{a['2xx']} / {a['4xx']} / {a['5xx']} / {a['conn']} | {r.fivexx_not_in_flight} | {codes} |")
    return "\n".join(lines)


def totals(rec: Reconciliation | None) -> str:
    if rec is None:
        return "the database did not answer"
    i = rec.info
    return (f"{i['votes_logged']:,} votes in the log ({i['committed_not_answered_2xx']:,} of them committed without a "
            f"2xx answer reaching the client), {i['held_or_invalidated']:,} held or invalidated by anti-fraud, "
            f"{i['notices']:,} notices, {i['webhooks_received']:,} webhook events received")


def notes(results: list[Result]) -> str:
    return "\n".join(f"- {r.fault}: {r.note}" for r in results if r.note)


def reading(results: list[Result], args: argparse.Namespace) -> str:
    notes = []
    for r in results:
        rec = r.rec
        if r.converged is None:
            notes.append(f"- **{r.fault}**: did not converge within {args.converge_timeout:.0f} s of the end of the "
                         f"fault; still different: {rec.differences() if rec else 'the database did not answer'}.")
        elif r.converged - r.healed > 60:
            notes.append(f"- **{r.fault}**: converged, but slowly ({r.converged - r.healed:.0f} s; target 60 s).")
        if rec and (rec.lost_total or rec.double_total) and r.converged is not None:
            notes.append(f"- **{r.fault}**: {rec.differences()}.")
        if r.fivexx_not_in_flight:
            notes.append(f"- **{r.fault}**: {r.fivexx_not_in_flight} votes sent after the fault struck were answered "
                         f"5xx ({', '.join(f'{c} ×{n}' for c, n in r.codes.most_common(3))}).")
        if r.answers["conn"]:
            notes.append(f"- **{r.fault}**: {r.answers['conn']} votes got no HTTP answer at all (connection error).")
    return "\n".join(notes) or "- Every fault converged within 60 s with nothing lost or doubled."


def write_report(section: str) -> None:
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else (
        "# Reliability\n\nWhat the system does when its parts fail, measured by `make chaos`.\n")
    begin, end = "<!-- chaos:begin -->", "<!-- chaos:end -->"
    block = f"{begin}\n{section}\n{end}"
    if begin in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    REPORT.write_text(text, encoding="utf-8")


# --- main -----------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--forward", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=float(os.environ.get("CHAOS_RATE", "60")),
                        help="votes per second offered through the gateway")
    parser.add_argument("--workers", type=int, default=48, help="concurrent voters")
    parser.add_argument("--voters", type=int, default=10000)
    parser.add_argument("--warm", type=float, default=5.0, help="seconds of load before each fault")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds the second instances stay")
    parser.add_argument("--cut", type=float, default=30.0, help="seconds anti-fraud is cut off the network")
    parser.add_argument("--converge-timeout", type=float, default=120.0)
    parser.add_argument("--only", help="comma-separated faults: submission,...,gateway,postgres,tansu,"
                                       "rebalance,redeliver,partition")
    parser.add_argument("--no-report", action="store_true", help="print the table; leave docs/ alone")
    parser.add_argument("--keep-home", action="store_true", help="keep the temporary home (logs) for reading")
    args = parser.parse_args()
    if args.forward:
        asyncio.run(forward(args.forward))
        return
    if os.geteuid() != 0:
        raise SystemExit("make chaos needs root: it kills processes of the PostgreSQL system user and uses ip netns")

    import httpx
    from machine import describe as describe_machine

    from services.operations.devstack import free_port
    from services.voting import domain

    os.chdir(ROOT)
    home = Path(tempfile.mkdtemp(prefix="massline-chaos-"))
    home.chmod(0o755)  # PostgreSQL runs as its own system user and must reach its data folder
    system = System(home)
    load: Load | None = None
    suite: Suite | None = None
    started = time.monotonic()
    when = datetime.now(UTC)
    try:
        system.start()
        gateway = system.stack.gateway_url
        open_voting(Api(gateway), CAMPAIGN, ["混沌甲", "混沌乙", "混沌丙", "混沌丁", "混沌戊"],
                    replace={"show_counts: rank_only": "show_counts: always"})
        with httpx.Client(base_url=gateway, timeout=30) as c:
            admin = c.post("/api/submission/auth/login",
                           json={"username": "admin", "password": "admin-demo-password"}).json()["access_token"]
            receiver = Receiver(free_port())
            receiver.start()
            r = c.post("/api/notification/webhooks", headers={"Authorization": f"Bearer {admin}"},
                       json={"url": f"http://127.0.0.1:{receiver.port}/hook", "event_types": ["RankingComputed"],
                             "campaign_id": CAMPAIGN, "description": "chaos receiver"})
            r.raise_for_status()
            entries: list[str] = []

            def entries_known() -> bool:
                entries[:] = [e["entry_id"] for e in
                              c.get(f"/api/voting/campaigns/{CAMPAIGN}/entries").json().get("entries", [])]
                return bool(entries)

            if not wait_until(entries_known, 60, 0.5):
                raise RuntimeError("voting never learned the entries")
        now = time.time()
        tickets = [domain.issue_ticket(SECRET, voter_id=f"chaos-voter-{i:06d}", campaign_id=CAMPAIGN, method="sms",
                                       ttl_s=6 * 3600, now=now) for i in range(args.voters)]
        load = Load(gateway, tickets, entries, args.rate, args.workers)
        suite = Suite(system, load, receiver, args)
        say(f"system up in {time.monotonic() - started:.0f}s; load: {args.rate:g} votes/s through {gateway}, "
            f"{args.voters} voters, {len(entries)} entries")
        load.start()
        time.sleep(10)
        chosen = args.only.split(",") if args.only else [*SERVICES, "gateway", "postgres", "tansu", "rebalance",
                                                          "redeliver", "partition"]
        for step in chosen:
            if step in (*SERVICES, "gateway", "postgres", "tansu"):
                suite.kill(step)
            elif step == "rebalance":
                suite.rebalance()
            elif step == "redeliver":
                suite.redeliver()
            elif step == "partition":
                suite.partition()
            else:
                raise SystemExit(f"unknown fault {step!r}")
        load.stop()
        final = Result("after every fault (load stopped)", injected=time.monotonic())
        final.healed = final.paused = final.injected
        suite.converge(final)
        suite.results.append(final)
        answers = Counter(a.kind for a in load.answers)
        total = time.monotonic() - started
        body = table(suite.results)
        print("\n" + body + "\n", flush=True)
        section = f"""## `make chaos` — measured {when:%Y-%m-%d %H:%M} UTC

Machine: {describe_machine()}; everything on it (PostgreSQL, Tansu, the five services, the gateway under
supervisord, and the load). Load: {args.rate:g} votes/s offered through the gateway by {args.workers}
concurrent clients, {args.voters:,} voters (tickets minted with the service's key), each vote with its own
idempotency key, no retries; {answers['2xx']:,} of {sum(answers.values()):,} votes answered 2xx over the whole
run ({total / 60:.1f} min). One voter in twenty votes from one shared /24, ten identities to a device, for the
first entry, so anti-fraud decides on votes (vote-decision topic) as well. At the end: {totals(final.rec)}. Before each fault {args.warm:g} s of load; the load goes on until every process runs
again and every service is ready, three seconds more, then pauses while the suite waits for convergence.

- **back**: seconds from the fault to every process running and the gateway's `/health` 200 (every service ready).
- **converged**: seconds from the end of the fault (the kill itself; the second instances stopped; the last
  record republished; the link up again) until the system is healthy and the reconciliation is clean.
- **lost / double**: after convergence, over every vote of the run so far: votes answered 2xx missing from the
  vote log; logged votes missing from voting's outbox, from the standings (counted + held + invalidated per entry),
  from anti-fraud's screened votes or from scoring's tallies — or present more than once; quota rows that do not
  add up to the vote log (a batch half applied); notices told twice (same recipient, channel, template and
  references), sends recorded twice, webhooks received twice or recorded as sent but never received.
- **answers during the fault**: every vote whose request overlapped the time from the fault to the pause.
- **5xx not in flight**: 5xx answers to votes sent after the fault struck (so not in flight in the process that
  died).

{body}

What each fault was, as done:

{notes(suite.results)}

What failed or was slow in this run:

{reading(suite.results, args)}

Command: `make chaos` (`python tests/bench/chaos.py --help`; `CHAOS_RATE` sets the load). Needs root (it kills
the PostgreSQL user's postmaster and uses `ip netns`).
"""
        if not args.no_report:
            write_report(section)
            say(f"wrote {REPORT.relative_to(ROOT)}")
        say(f"done in {total / 60:.1f} min")
    finally:
        if load is not None and load.thread.is_alive():
            load.stop()
        if suite is not None:
            suite.cleanup_netns()
        system.stop()
        if args.keep_home:
            say(f"logs kept in {home / 'logs'}")
        else:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
