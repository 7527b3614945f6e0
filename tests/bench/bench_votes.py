"""Benchmark of the vote path (`make bench-votes`): a separate load generator drives the cast-vote API.

Starts the embedded stack (PostgreSQL, Tansu, every service), opens a campaign with entries, mints
voter tickets for many voters, then runs wrk against the voting service for the configured time,
and reports: accepted votes per second, latency, errors, acceptance-to-standings lag, the voting
service's memory at the first minute and at the end, and a reconciliation of accepted vote ids
against the standings (lost / double). The same server's bare endpoint is measured in the same run
so the vote path can be quoted as a ratio. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from machine import describe as describe_machine  # noqa: E402
from support import Api, open_voting  # noqa: E402

from services.operations.devstack import Stack, free_port  # noqa: E402
from services.voting import domain  # noqa: E402

SECRET = "bench-secret-not-for-production"
CAMPAIGN = "bench-votes"


def say(msg: str) -> None:
    print(f"[bench-votes] {msg}", flush=True)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing wrk from the distribution's packages")
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
        return shutil.which("wrk") or ""
    raise SystemExit("wrk is needed (Debian/Ubuntu: apt-get install wrk)")


def run_wrk(wrk: str, args: argparse.Namespace, script: str, url: str, seconds: int, *, timeout: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """One wrk run with the benchmark's threads and connections, and a Lua script beside this file."""
    return subprocess.run([wrk, "-t", str(args.threads), "-c", str(args.connections), "-d", f"{seconds}s",
                           *(["--timeout", "10s"] if timeout else []), "--latency",
                           "-s", str(Path(__file__).with_name(script)), url], env=env, capture_output=True, text=True)


def parse_wrk(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    if m:
        out["requests"] = float(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non2xx"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = float(sum(int(g) for g in m.groups())) if m else 0.0
    m = re.search(r"LATENCY p50=(\d+) p90=(\d+) p99=(\d+) max=(\d+)", text)
    if m:
        out.update({k: int(v) / 1000.0 for k, v in zip(("p50_ms", "p90_ms", "p99_ms", "max_ms"), m.groups(), strict=False)})
    return out


def histogram_quantile(text: str, name: str, q: float) -> float | None:
    buckets = []
    for line in text.splitlines():
        if line.startswith(f"{name}_bucket"):
            le = re.search(r'le="([^"]+)"', line).group(1)  # type: ignore[union-attr]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    if not buckets or buckets[-1][1] == 0:
        return None
    total = buckets[-1][1]
    target = q * total
    prev_le, prev_count = 0.0, 0.0
    for le, count in buckets:
        if count >= target:
            if le == float("inf"):
                return prev_le
            span = count - prev_count
            return prev_le + (le - prev_le) * ((target - prev_count) / span if span else 1)
        prev_le, prev_count = le, count
    return prev_le


async def standings_sum(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(
            "SELECT coalesce(sum(votes), 0) FROM voting.standings WHERE campaign_id = $1", CAMPAIGN))
    finally:
        await conn.close()


async def logged_vote_ids(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT vote_id::text FROM voting.votes WHERE campaign_id = $1 AND idempotency_key "
                                "<> 'warm'", CAMPAIGN)
        return {r[0] for r in rows}
    finally:
        await conn.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def write_report(section: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\nMeasured figures, with the command and the machine.\n"
    begin, end = "<!-- bench-votes:begin -->", "<!-- bench-votes:end -->"
    block = f"{begin}\n{section}\n{end}"
    if begin in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "90")))
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--voters", type=int, default=50_000)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_VOTING_WORKERS", "1")))
    args = parser.parse_args()
    wrk = ensure_wrk()
    home = Path(tempfile.mkdtemp(prefix="massline-bench-"))
    work = home / "wrk"
    work.mkdir()
    stack = Stack(home=home, gateway_port=free_port(), durable=True, progress=say,
                  extra_env={"MASSLINE_SECRET_KEY": SECRET, "MASSLINE_ENV": "development",
                             "MASSLINE_LOG_LEVEL": "WARNING", "MASSLINE_CAMPAIGNS_DIR": str(ROOT / "campaigns")},
                  service_env={"voting": {"MASSLINE_WORKERS": str(args.workers)}})
    try:
        stack.start_infrastructure()
        stack.start_services()
        api = Api(stack.gateway_url)
        names = [f"第{i + 1}号参评账号" for i in range(args.entries)]
        entries = open_voting(api, CAMPAIGN, names)
        voting = stack.service_url("voting")
        now = time.time()
        (work / "tickets.txt").write_text("\n".join(
            domain.issue_ticket(SECRET, voter_id=f"bench-voter-{i:07d}", campaign_id=CAMPAIGN, method="sms",
                                ttl_s=3600, now=now) for i in range(args.voters)) + "\n")
        (work / "entries.txt").write_text("\n".join(entries) + "\n")
        env = {**os.environ, "BENCH_TICKETS": str(work / "tickets.txt"), "BENCH_ENTRIES": str(work / "entries.txt"),
               "BENCH_OUT": str(work), "BENCH_PATH": f"/campaigns/{CAMPAIGN}/votes"}
        # The vote path opens within the rules cache time after the phase change.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = httpx.post(f"{voting}/campaigns/{CAMPAIGN}/votes", json={"entry_id": entries[0], "count": 1,
                           "idempotency_key": "warm"},
                           headers={"Authorization": "Bearer " + domain.issue_ticket(
                               SECRET, voter_id="warm", campaign_id=CAMPAIGN, method="sms", ttl_s=600)})
            if r.status_code in (200, 201):
                break
            time.sleep(0.3)
        procs = {name: psutil.Process(stack.services[name].pid) for name in ("voting", "antifraud")}

        def rss(name: str) -> float:
            proc = procs[name]
            return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20

        memory: dict[str, float] = {}

        def sample_memory() -> None:
            time.sleep(min(60, args.duration))
            for name in procs:
                memory[f"{name}_first_minute"] = rss(name)

        sampler = threading.Thread(target=sample_memory, daemon=True)
        # A person browsing during the surge: the public pages through the gateway, twice a second.
        pages: dict[str, list[float]] = {"standings": [], "entries": []}
        page_errors: list[int] = []
        browsing = threading.Event()

        def browse() -> None:
            urls = {"standings": f"{stack.gateway_url}/c/{CAMPAIGN}/standings",
                    "entries": f"{stack.gateway_url}/c/{CAMPAIGN}/entries?category=institutional"}
            with httpx.Client(timeout=10) as client:
                while not browsing.is_set():
                    for name, url in urls.items():
                        t0 = time.perf_counter()
                        try:
                            status = client.get(url).status_code
                        except httpx.HTTPError:
                            status = 0
                        pages[name].append((time.perf_counter() - t0) * 1000)
                        if status != 200:
                            page_errors.append(status)
                    time.sleep(0.5)

        browser = threading.Thread(target=browse, daemon=True)
        say(f"driving {voting}/campaigns/{CAMPAIGN}/votes for {args.duration}s "
            f"({args.connections} connections, {args.voters} voters, {args.entries} entries)")
        started = time.monotonic()
        sampler.start()
        browser.start()
        run = run_wrk(wrk, args, "votes.lua", voting, args.duration, env=env)
        elapsed = time.monotonic() - started
        browsing.set()
        browser.join(timeout=15)
        for name in procs:
            memory[f"{name}_end"] = rss(name)
        sampler.join(timeout=1)
        wrk_done = time.monotonic()
        antifraud = stack.service_url("antifraud")

        def scored() -> float:
            m = re.search(r"^massline_fraud_votes_scored_total ([\d.e+]+)$", httpx.get(f"{antifraud}/metrics").text, re.M)
            return float(m.group(1)) if m else 0.0

        scored_at_end = scored()
        votes = parse_wrk(run.stdout)
        say(run.stdout.strip().splitlines()[-1] if run.stdout else run.stderr)
        accepted_ids: set[str] = set()
        accepted_lines = 0
        for f in work.glob("accepted-*.txt"):
            ids = f.read_text().split()
            accepted_lines += len(ids)
            accepted_ids.update(ids)
        accepted_ids.discard("")
        # Every vote the server committed (some answers were cut off when wrk stopped) must reach the standings.
        committed = asyncio.run(logged_vote_ids(stack.database_url))
        last, stable_since = -1, time.monotonic()
        while time.monotonic() - stable_since < 5 and time.monotonic() - started < args.duration + 120:
            total = asyncio.run(standings_sum(stack.database_url)) - 1  # less the warm-up vote
            if total != last:
                last, stable_since = total, time.monotonic()
            if total >= len(committed):
                break
            time.sleep(0.5)
        standings_total = asyncio.run(standings_sum(stack.database_url)) - 1
        # Requests in flight when wrk stopped commit a moment later: compare with the final log.
        committed = asyncio.run(logged_vote_ids(stack.database_url))
        # Anti-fraud keeping up: every committed vote (and the warm-up one) run through the detectors.
        while scored() < len(committed) + 1 and time.monotonic() - wrk_done < 120:
            time.sleep(0.5)
        antifraud_caught_up = time.monotonic() - wrk_done if scored() >= len(committed) + 1 else float("nan")
        held = re.search(r"^massline_fraud_networks_held ([\d.e+]+)$", httpx.get(f"{antifraud}/metrics").text, re.M)
        networks_held = float(held.group(1)) if held else float("nan")
        metrics = httpx.get(f"{voting}/metrics").text
        lag50 = histogram_quantile(metrics, "massline_standings_lag_seconds", 0.5)
        lag99 = histogram_quantile(metrics, "massline_standings_lag_seconds", 0.99)
        say("measuring the bare endpoint of the same server")
        bare = parse_wrk(run_wrk(wrk, args, "bare.lua", f"{voting}/health/live", 15, timeout=False).stdout)
        accepted_rate = len(accepted_ids) / elapsed
        # Latency below saturation: the same load paced to about half the rate just measured.
        paced_target = max(100.0, round(accepted_rate * 0.5, -2))
        say(f"measuring latency at about {paced_target:,.0f} votes/s (paced)")
        paced_dir = work / "paced"
        paced_dir.mkdir()
        paced = parse_wrk(run_wrk(wrk, args, "votes.lua", voting, 20, env={
            **env, "BENCH_OUT": str(paced_dir), "BENCH_DELAY_MS": str(args.connections * 1000 / paced_target)}).stdout)
        # lost: answered 201 but not in the vote log, or committed but missing from the standings;
        # double: one vote id answered twice, or standings above what was committed.
        lost = len(accepted_ids - committed) + max(len(committed) - standings_total, 0)
        double = (accepted_lines - len(accepted_ids)) + max(standings_total - len(committed), 0)
        refused = votes.get("non2xx", 0)
        section = f"""## Votes — `make bench-votes`

Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {describe_machine()}, everything co-located:
PostgreSQL (fsync on), Tansu, the six services, the gateway and the load generator (wrk,
{args.threads} threads, {args.connections} connections) on the same machine. wrk drives the voting
service's `POST /campaigns/{{id}}/votes` directly for {args.duration} s with {args.voters:,} voters
(tickets minted with the service's key) voting one vote at a time for {args.entries} entries
(Zipf-like popularity); voting runs {args.workers} worker process(es).

| figure | value |
| --- | --- |
| requests per second (all answers) | {votes.get('rps', 0):,.0f} |
| accepted votes per second | {accepted_rate:,.0f} |
| refused requests (quota reached: voters out of votes for the day) | {refused:,.0f} |
| socket errors | {votes.get('socket_errors', 0):,.0f} |
| latency p50 / p90 / p99 / max (ms) | {votes.get('p50_ms', 0):.1f} / {votes.get('p90_ms', 0):.1f} / {votes.get('p99_ms', 0):.1f} / {votes.get('max_ms', 0):.1f} |
| acceptance → standings lag p50 / p99 (s) | {lag50 if lag50 is not None else float('nan'):.3f} / {lag99 if lag99 is not None else float('nan'):.3f} |
| voting service memory, first minute → end (MiB) | {memory.get('voting_first_minute', float('nan')):.0f} → {memory['voting_end']:.0f} |
| anti-fraud memory, first minute → end (MiB); networks it holds at the end | {memory.get('antifraud_first_minute', float('nan')):.0f} → {memory['antifraud_end']:.0f}; {networks_held:,.0f} |
| reconciliation: distinct accepted vote ids / committed votes / standings | {len(accepted_ids):,} / {len(committed):,} / {standings_total:,} → lost={lost} double={double} |
| anti-fraud: votes not yet scored when the load stopped; all scored this long after (s) | {max(len(committed) + 1 - scored_at_end, 0):,.0f}; {antifraud_caught_up:.1f} |
| latency p50 / p99 at {paced.get('rps', 0):,.0f} votes/s (paced to half the rate above, 20 s) (ms) | {paced.get('p50_ms', 0):.1f} / {paced.get('p99_ms', 0):.1f} |
| bare endpoint (`GET /health/live`, same server) | {bare.get('rps', 0):,.0f} req/s, p50 {bare.get('p50_ms', 0):.1f} ms |
| public pages during the surge, p50 / p99 (ms): standings · entries | {pct(pages["standings"], 50):.0f} / {pct(pages["standings"], 99):.0f} · {pct(pages["entries"], 50):.0f} / {pct(pages["entries"], 99):.0f} ({len(pages["standings"]) + len(pages["entries"])} loads, {len(page_errors)} not 200) |
| vote path as a share of the bare endpoint | {votes.get('rps', 0) / bare['rps'] if bare.get('rps') else float('nan'):.2f} |

Command: `make bench-votes` (`BENCH_DURATION`, `BENCH_VOTING_WORKERS` change the run).
"""
        print(section)
        write_report(section)
        say("wrote docs/benchmarks.md")
    finally:
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
