"""Restore drill (`make restore-drill`): back up the database while votes flow, restore it on a fresh cluster, check.

1. Starts the whole system (embedded PostgreSQL and broker, five services, the gateway) on free loopback ports in a
   temporary home, loads the demo and opens a campaign for voting (counts shown, so the standings can be compared
   vote by vote).
2. Drives votes through the gateway (the load of `make chaos`: many voters with tickets minted with the service's
   key, each vote with its own idempotency key) and, while they flow, takes `pg_dump -Fc` of every database of the
   cluster. Every vote answered 2xx before the dump began is recorded.
3. Stops everything it started (by pid), initialises a fresh PostgreSQL cluster and a fresh (empty) broker in a new
   home, restores each dump with `pg_restore`, starts the services on it, and runs `massline replay` so the
   outboxes publish every kept event to the new broker again.
4. Checks, until the system has converged: every vote answered 2xx before the dump is in the restored vote log
   under the vote id its answer gave, and the public standings (counted + held + invalidated per entry) agree with
   the restored vote log.

Prints a summary and writes it to docs/operations.md (between the restore-drill markers). Exit status 1 when a
check fails.
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
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

import chaos  # noqa: E402
from chaos import Load, wait_until  # noqa: E402
from machine import describe as describe_machine  # noqa: E402
from support import Api, open_voting  # noqa: E402

CAMPAIGN = "restore-drill"
SECRET = "restore-drill-secret-not-for-production"
REPORT = ROOT / "docs" / "operations.md"
NAMES = ["演练甲", "演练乙", "演练丙", "演练丁"]
BEGIN, END = "<!-- restore-drill:begin -->", "<!-- restore-drill:end -->"


def say(msg: str) -> None:
    print(f"[restore-drill] {msg}", flush=True)


def new_stack(home: Path) -> Any:
    from services.operations.devstack import Stack, free_port

    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)  # PostgreSQL runs as its own system user and must reach its data folder
    return Stack(home=home, gateway_port=free_port(), progress=say, extra_env={
        "MASSLINE_SECRET_KEY": SECRET, "MASSLINE_ENV": "development", "MASSLINE_LOG_LEVEL": "WARNING",
        "MASSLINE_CAMPAIGNS_DIR": str(ROOT / "campaigns"), "MASSLINE_TRUSTED_PROXIES": "127.0.0.1/32"})


def pg(stack: Any, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One of the server's own client programs against the stack's cluster, as the postgres role."""
    postgres = stack.postgres
    return subprocess.run([postgres._bin(tool), "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres", *args],
                          capture_output=True, text=True, check=True)


def databases(stack: Any) -> list[str]:
    out = pg(stack, "psql", "-d", "postgres", "-tAc",
             "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY 1")
    return [line for line in out.stdout.split() if line]


def dump_all(stack: Any, folder: Path) -> dict[str, int]:
    """`pg_dump -Fc` of every database (each one consistent snapshot): name -> bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name in databases(stack):
        target = folder / f"{name}.dump"
        pg(stack, "pg_dump", "-d", name, "-Fc", "-f", str(target))
        sizes[name] = target.stat().st_size
    return sizes


def restore_all(stack: Any, folder: Path) -> None:
    for dump in sorted(folder.glob("*.dump")):
        stack.postgres.ensure_database(dump.stem)
        pg(stack, "pg_restore", "-d", dump.stem, "--no-owner", "--exit-on-error", str(dump))


async def vote_log(dsn: str) -> tuple[dict[str, str], Counter[str]]:
    """The restored vote log of the campaign: idempotency key -> vote id, and votes per entry."""
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await conn.fetch("SELECT idempotency_key, vote_id::text AS vote_id, entry_id::text AS entry_id, count "
                                "FROM voting.votes WHERE campaign_id = $1", CAMPAIGN)
    finally:
        await conn.close()
    per_entry: Counter[str] = Counter()
    for r in rows:
        per_entry[r["entry_id"]] += r["count"]
    return {r["idempotency_key"]: r["vote_id"] for r in rows}, per_entry


async def snapshot_standings(dsn: str) -> int:
    """Votes the restored standings held before anything ran on them (counted + held + invalidated)."""
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return int(await conn.fetchval(
            "SELECT coalesce(sum(s.votes + s.held + s.invalidated), 0) FROM voting.standings s "
            "JOIN voting.entries e ON e.id = s.entry_id WHERE e.campaign_id = $1", CAMPAIGN))
    finally:
        await conn.close()


def standings(gateway: str) -> Counter[str]:
    """The public standings: counted + held + invalidated votes per entry."""
    import httpx

    body = httpx.get(f"{gateway}/api/voting/campaigns/{CAMPAIGN}/standings", timeout=10).json()
    out: Counter[str] = Counter()
    for rows in (body.get("categories") or {}).values():
        for e in rows:
            out[e["entry_id"]] += int(e.get("votes") or 0) + int(e.get("held") or 0) + int(e.get("invalidated") or 0)
    return out


def open_campaign(gateway: str) -> list[str]:
    from services.operations.demo import load_demo

    load_demo(gateway, say)
    return open_voting(Api(gateway), CAMPAIGN, NAMES,
                       replace={"show_counts: rank_only": "show_counts: always"})


def tickets(voters: int) -> list[str]:
    from services.voting import domain

    now = time.time()
    return [domain.issue_ticket(SECRET, voter_id=f"drill-voter-{i:06d}", campaign_id=CAMPAIGN, method="sms",
                                ttl_s=6 * 3600, now=now) for i in range(voters)]


def backup_under_load(stack: Any, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Votes flow; the dump is taken meanwhile. What was answered before it began, during it and after it."""
    entries = open_campaign(stack.gateway_url)
    chaos.CAMPAIGN = CAMPAIGN  # the load votes in this campaign
    load = Load(stack.gateway_url, tickets(args.voters), entries, args.rate, args.workers)
    load.start()
    try:
        time.sleep(args.warm)
        began = time.monotonic()
        before = {a.key: a.vote_id for a in list(load.answers) if a.kind == "2xx" and a.end < began}
        sizes = dump_all(stack, folder)
        ended = time.monotonic()
        time.sleep(3)
    finally:
        load.stop()
    answers = list(load.answers)
    during = sum(1 for a in answers if a.kind == "2xx" and a.end >= began and a.start <= ended)
    return {"before": before, "sizes": sizes, "dump_s": ended - began, "during": during,
            "kinds": Counter(a.kind for a in answers), "entries": entries,
            "after_began": {a.key for a in answers if a.kind == "2xx" and a.end >= began}}


def replay(stack: Any) -> str:
    out = subprocess.run([sys.executable, "-m", "services.operations", "replay"], env=stack.env(), cwd=ROOT,
                         capture_output=True, text=True, check=True, timeout=300)
    return out.stdout + out.stderr


def check(stack: Any, before: dict[str, str | None], timeout: float) -> dict[str, Any]:
    """Wait for the restored system to agree with itself; what was found last."""
    seen: dict[str, Any] = {}

    def agreed() -> bool:
        log, per_entry = asyncio.run(vote_log(stack.database_url))
        public = standings(stack.gateway_url)
        seen.update(log=log, per_entry=per_entry, public=public,
                    missing=[k for k in before if k not in log],
                    other_id=[k for k, v in before.items() if k in log and v and log[k] != v])
        return not seen["missing"] and not seen["other_id"] and +public == +per_entry

    started = time.monotonic()
    seen["agreed"] = wait_until(agreed, timeout, 1.0)
    seen["converged_s"] = time.monotonic() - started
    return seen


def section(args: argparse.Namespace, when: datetime, taken: dict[str, Any], restored: dict[str, Any],
            timings: dict[str, float], replayed: str) -> str:
    before, log = taken["before"], restored["log"]
    in_dump_later = sum(1 for k in taken["after_began"] if k in log)
    sizes = ", ".join(f"`{n}` {s / 2**20:.1f} MiB" for n, s in taken["sizes"].items())
    events = sum(int(n) for n in re.findall(r"(\d+) event\(s\) queued", replayed))
    verdict = "**passed**" if restored["agreed"] else "**FAILED**"
    table = "\n".join(f"| {name} | {restored['per_entry'].get(e, 0):,} | {restored['public'].get(e, 0):,} |"
                      for name, e in zip(NAMES, taken["entries"], strict=True))
    logged = sum(restored["per_entry"].values())
    late = logged - int(timings["snapshot_standings"])
    behind = (f": {late:,} votes were still on their way through the broker when the dump was taken and reached the "
              "standings from the replayed outbox" if late > 0 else "")
    return f"""### Last drill: {when:%Y-%m-%d %H:%M} UTC — {verdict}

Command: `make restore-drill` (`python tests/bench/restore_drill.py --help`). Machine: {describe_machine()}.

- Load: {args.rate:g} votes/s offered through the gateway by {args.workers} clients, {args.voters:,} voters;
  {taken['kinds']['2xx']:,} answered 2xx in all ({dict(taken['kinds'])}).
- Backup: `pg_dump -Fc` of every database ({sizes}) in {taken['dump_s']:.1f} s, taken after {args.warm:g} s of
  load; {taken['during']:,} votes were answered 2xx while it ran.
- Answered 2xx before the dump began: **{len(before):,}**; in the restored vote log: **{len(before) -
  len(restored['missing']):,}** (missing {len(restored['missing'])}, under another vote id
  {len(restored['other_id'])}). Of the {len(taken['after_began']):,} answered after it began, {in_dump_later:,}
  made it into the snapshot (the rest were committed after it, as expected of a backup taken under load).
- Restore: fresh cluster, `pg_restore` {timings['restore']:.1f} s; services ready {timings['start']:.1f} s;
  `massline replay` queued {events:,} outbox events for the fresh broker. The snapshot's vote log held
  {logged:,} votes of this campaign, its standings {timings['snapshot_standings']:,}{behind}.
- Public standings (counted + held + invalidated) against the restored vote log, per entry, {"agreeing" if
  restored['agreed'] else "NOT agreeing"} {restored['converged_s']:.1f} s after the replay:

| entry | votes in the restored log | public standings after the replay |
|---|---:|---:|
{table}
"""


def write_report(text: str) -> None:
    doc = REPORT.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc:
        doc = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, doc, flags=re.S)
    else:
        doc = doc.rstrip() + "\n\n" + block + "\n"
    REPORT.write_text(doc, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=60.0, help="votes per second offered through the gateway")
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--voters", type=int, default=5000)
    parser.add_argument("--warm", type=float, default=20.0, help="seconds of votes before the dump")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds the restored system has to agree")
    parser.add_argument("--no-report", action="store_true", help="print the summary; leave docs/ alone")
    args = parser.parse_args()
    os.chdir(ROOT)
    work = Path(tempfile.mkdtemp(prefix="massline-restore-drill-"))
    work.chmod(0o755)
    when = datetime.now(UTC)
    first = second = None
    try:
        first = new_stack(work / "before")
        first.start_infrastructure()
        first.start_services()
        taken = backup_under_load(first, work / "dumps", args)
        say(f"{len(taken['before'])} votes answered 2xx before the dump; dump took {taken['dump_s']:.1f}s")
        first.stop()
        first = None
        second = new_stack(work / "after")
        second.start_infrastructure()  # a fresh cluster and an empty broker
        t0 = time.monotonic()
        restore_all(second, work / "dumps")
        t1 = time.monotonic()
        in_snapshot = asyncio.run(snapshot_standings(second.database_url))
        second.start_services()
        t2 = time.monotonic()
        replayed = replay(second)
        say(replayed.strip().replace("\n", "; "))
        restored = check(second, taken["before"], args.timeout)
        text = section(args, when, taken, restored, {"restore": t1 - t0, "start": t2 - t1,
                                                       "snapshot_standings": in_snapshot}, replayed)
        print("\n" + text, flush=True)
        if not args.no_report:
            write_report(text)
            say(f"wrote {REPORT.relative_to(ROOT)}")
        if not restored["agreed"]:
            raise SystemExit(1)
    finally:
        for stack in (first, second):
            if stack is not None:
                stack.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
