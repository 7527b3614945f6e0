"""Evaluation of the brushing detectors (`make eval-fraud`): generated traffic with ground truth, scored per scenario.

A day of honest voting (a daily rhythm; residential households, a mobile carrier's shared NAT and a
campus NAT voting for its own university) is mixed with one attack per scenario. Every vote is
turned into the `VoteCast` event the voting service publishes and fed, in time order and in
one-second batches, through `domain.detect` — the same code the consumer runs — with the in-memory
store that has the same meaning as the PostgreSQL tables (tests/integration/test_antifraud_store.py
checks the two agree). It prints and writes to docs/antifraud.md, per scenario: precision and recall
on votes (vote requests) and on identities, the false-positive rate on honest votes (and on the campus
NAT alone), and two measures of time, both simulated (broker and consumer delay not counted): when the
first attack vote was flagged after the attack began, and per attack vote the time from being cast to
the batch that flags it (median, 95th percentile, and the share of attack votes flagged within 60 s).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from massline.contracts import CastVote, VoteCast, network_shard  # noqa: E402
from services.antifraud import domain  # noqa: E402
from machine import describe as describe_machine  # noqa: E402

CAMPAIGN = "eval-fraud"
DAY0 = datetime(2026, 11, 20, 16, 0, tzinfo=timezone.utc)  # 00:00 in Asia/Shanghai
ENTRIES = [uuid.UUID(int=i + 1) for i in range(20)]
CAMPUS_ENTRY = ENTRIES[5]


def h(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


@dataclass
class Vote:
    voter: str
    entry: uuid.UUID
    count: int
    at: datetime
    ip: str | None
    subnet: str | None
    device: str | None
    verified_at: datetime | None
    attack: bool
    group: str

    def cast_vote(self) -> CastVote:
        return CastVote(vote_id=uuid.uuid4(), voter_id=self.voter, entry_id=self.entry, category_id="cases",
                        count=self.count, cast_at=self.at, ip_hash=self.ip, subnet=self.subnet,
                        device_hash=self.device, identity_verified_at=self.verified_at)


def vote_events(votes: list[CastVote]) -> list[VoteCast]:
    """The VoteCast events the voting service publishes for one micro-batch: one per network shard."""
    shards: dict[int, list[CastVote]] = {}
    for v in votes:
        shards.setdefault(network_shard(v.subnet, v.ip_hash, v.voter_id), []).append(v)
    return [VoteCast(network_shard=shard, votes=vs) for shard, vs in sorted(shards.items())]


def local_hour_weights() -> list[float]:
    # Share of the day's sessions per local hour: quiet at night, peaks at lunch and in the evening.
    w = [0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.2, 1.3, 1.3, 1.5, 2.2, 1.8, 1.2, 1.1, 1.1, 1.2, 1.4, 1.9,
         2.6, 2.8, 2.0, 0.9]
    return w


def zipf_entry(rng: random.Random) -> uuid.UUID:
    weights = [1 / (i + 1) ** 0.8 for i in range(len(ENTRIES))]
    return rng.choices(ENTRIES, weights)[0]


def honest_traffic(rng: random.Random, voters: int) -> list[Vote]:
    hours = local_hour_weights()
    carrier = [f"100.64.{i}.0/24" for i in range(4)]
    campus = "202.117.8.0/24"
    out: list[Vote] = []
    for n in range(voters):
        kind = rng.choices(["home", "carrier", "campus"], [0.6, 0.25, 0.15])[0]
        voter = h("honest", n)
        if kind == "home":
            a, b = rng.randrange(1, 223), rng.randrange(256)
            subnet, ip = f"{a}.{b}.{rng.randrange(256)}.0/24", h("ip", n)
        elif kind == "carrier":
            subnet = rng.choice(carrier)
            ip = h("ip", subnet, rng.randrange(6))  # CGNAT: a handful of addresses for everyone
        else:
            subnet, ip = campus, h("ip", campus, rng.randrange(2))
        device = h("dev", n) if rng.random() > 0.03 else h("family-dev", n // 2)  # a family sharing a phone
        if rng.random() < 0.01:
            device = None
        if rng.random() < 0.01:
            subnet, ip = rng.choice([None, "garbage", "999.1.1.0/24", ""]), None  # broken network data
        sessions = 1 if rng.random() < 0.7 else 2
        quota = 10
        returning = rng.random() < 0.4
        first: datetime | None = None
        for s in range(sessions):
            hour = rng.choices(range(24), hours)[0]
            at = DAY0 + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
            first = at if first is None or at < first else first
            budget = quota if s == sessions - 1 else rng.randint(1, quota - 1)
            quota -= budget
            while budget > 0:
                if rng.random() < 0.3:
                    count = budget
                else:
                    count = min(budget, rng.randint(1, 5))
                if kind == "campus" and rng.random() < 0.4:
                    entry = CAMPUS_ENTRY
                else:
                    entry = zipf_entry(rng)
                out.append(Vote(voter, entry, count, at, ip, subnet, device, None, False, kind))
                budget -= count
                at += timedelta(seconds=3 + rng.expovariate(1 / 20))
        verified = (DAY0 - timedelta(days=rng.randint(1, 5)) if returning
                    else first - timedelta(seconds=rng.uniform(20, 120)))  # type: ignore[operator]
        for v in out[-30:]:
            if v.voter == voter:
                v.verified_at = verified
    # A class told in its WeChat group to vote for its own university: 40 students verify and give all ten votes
    # within two minutes, from the campus NAT. Allowed by the rules (拉票 is not 刷票); the hardest honest case.
    rally = DAY0 + timedelta(hours=15)
    for n in range(40):
        at = rally + timedelta(seconds=rng.uniform(0, 120))
        out.append(Vote(h("rally", n), CAMPUS_ENTRY, 10, at, h("ip", campus, n % 2), campus, h("rally-dev", n),
                        at - timedelta(seconds=rng.uniform(30, 90)), False, "rally"))
    return out


def attackers(tag: str, n: int, subnets: int, devices: int | None, rng: random.Random) -> list[dict]:
    nets = [f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.0/24" for _ in range(subnets)]
    out = []
    for i in range(n):
        net = nets[i % subnets]
        out.append({"voter": h(tag, i), "subnet": net, "ip": h(tag, "ip", net, rng.randrange(20)),
                    "device": h(tag, "dev", i % devices) if devices else h(tag, "dev", i, rng.random()),
                    "verified": DAY0 - timedelta(days=rng.randint(2, 20))})
    return out


def vote(a: dict, entry: uuid.UUID, count: int, at: datetime, group: str, verified: datetime | None = None) -> Vote:
    return Vote(a["voter"], entry, count, at, a["ip"], a["subnet"], a["device"], verified or a["verified"], True,
                group)


def botnet(rng: random.Random) -> list[Vote]:
    start = DAY0 + timedelta(hours=14)
    return [vote(a, ENTRIES[12], 10, start + timedelta(seconds=rng.uniform(0, 1800)), "botnet")
            for a in attackers("botnet", 1500, 3, 50, rng)]


def lockstep(rng: random.Random) -> list[Vote]:
    crew = attackers("lockstep", 500, 25, None, rng)
    left = {a["voter"]: 10 for a in crew}
    out = []
    for wave in range(30):
        at = DAY0 + timedelta(hours=10, minutes=3 * wave)
        ready = [a for a in crew if left[a["voter"]] > 0]
        for a in rng.sample(ready, min(170, len(ready))):
            left[a["voter"]] -= 1
            out.append(vote(a, ENTRIES[15], 1, at + timedelta(seconds=rng.uniform(0, 4)), "lockstep"))
    return out


def camouflage(rng: random.Random, spoofed: bool = False) -> list[Vote]:
    out = []
    tag = "camo-spoofed" if spoofed else "camouflage"
    for a in attackers(tag, 800, 8, None if spoofed else 80, rng):
        at = DAY0 + timedelta(hours=19, seconds=rng.uniform(0, 7200))
        picks = [(ENTRIES[10], 6)] + [(zipf_entry(rng), 1) for _ in range(4)]
        rng.shuffle(picks)
        for entry, count in picks:
            out.append(vote(a, entry, count, at, tag))
            at += timedelta(seconds=3 + rng.expovariate(1 / 20))
    return out


def slow_drip(rng: random.Random) -> list[Vote]:
    out = []
    for a in attackers("drip", 300, 6, None, rng):
        at = DAY0 + timedelta(hours=2, seconds=rng.uniform(0, 14 * 3600))
        for _ in range(10):
            out.append(vote(a, ENTRIES[8], 1, at, "drip"))
            at += timedelta(seconds=420 + rng.uniform(-0.5, 0.5))
    return out


def fresh_surge(rng: random.Random) -> list[Vote]:
    out = []
    start = DAY0 + timedelta(hours=21)
    for a in attackers("fresh", 400, 8, None, rng):
        at = start + timedelta(seconds=rng.uniform(0, 600))
        out.append(vote(a, ENTRIES[14], 10, at, "fresh", verified=at - timedelta(seconds=rng.uniform(30, 180))))
    return out


SCENARIOS = {
    "honest only": lambda rng: [],
    "botnet (3 subnets, 50 devices)": botnet,
    "lockstep waves (25 subnets)": lockstep,
    "camouflage (device farm)": camouflage,
    "camouflage (spoofed devices)": lambda rng: camouflage(rng, spoofed=True),
    "slow drip (timer, under limits)": slow_drip,
    "fresh-identity surge": fresh_surge,
}


@dataclass
class Outcome:
    name: str
    honest: int = 0
    honest_flagged: int = 0
    rally_flagged: int = 0
    campus: int = 0
    campus_flagged: int = 0
    attack: int = 0
    attack_flagged: int = 0
    ids_attack: int = 0
    ids_attack_flagged: int = 0
    ids_honest_flagged: int = 0
    latencies: list[float] = field(default_factory=list)
    # cast → flag of the attack votes cast after the case that flagged them had opened (its evidence was in)
    after_case: list[float] = field(default_factory=list)
    first_flag_s: float | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def row(self) -> list[str]:
        def ratio(a: int, b: int) -> str:
            return f"{a / b:.3f}" if b else "–"

        flagged = self.attack_flagged + self.honest_flagged
        ids_flagged = self.ids_attack_flagged + self.ids_honest_flagged
        lat = sorted(self.latencies)
        med = f"{statistics.median(lat):.0f}" if lat else "–"
        p95 = f"{lat[int(0.95 * (len(lat) - 1))]:.0f}" if lat else "–"
        within = f"{100 * sum(x <= 60 for x in lat) / self.attack:.1f} %" if self.attack else "–"
        after = (f"{100 * sum(x <= 60 for x in self.after_case) / len(self.after_case):.1f} % of "
                 f"{len(self.after_case)}" if self.after_case else "–")
        return [self.name, str(self.attack), ratio(self.attack_flagged, flagged),
                ratio(self.attack_flagged, self.attack),
                ratio(self.ids_attack_flagged, ids_flagged), ratio(self.ids_attack_flagged, self.ids_attack),
                f"{100 * self.honest_flagged / self.honest:.3f} %", f"{100 * self.campus_flagged / self.campus:.3f} %",
                f"{self.rally_flagged} / 40",
                f"{self.first_flag_s:.0f}" if self.first_flag_s is not None else "–", med, p95, within, after,
                ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items(), key=lambda kv: -kv[1]))]


HEADER = ["scenario", "attack votes", "precision (votes)", "recall (votes)", "precision (ids)", "recall (ids)",
          "honest flagged", "campus flagged", "campus rally flagged", "first flag after attack start (s)",
          "cast → flag median (s)", "cast → flag p95 (s)", "attack votes flagged ≤ 60 s after cast",
          "of those cast after their case opened: flagged ≤ 60 s after cast",
          "findings (decisive, votes covered)"]


async def run(name: str, honest: list[Vote], attack: list[Vote], t: domain.Thresholds) -> Outcome:
    started = time.perf_counter()
    votes = sorted(honest + attack, key=lambda v: v.at)
    store = domain.MemoryWindows()
    truth: dict[uuid.UUID, Vote] = {}
    flagged_at: dict[uuid.UUID, datetime] = {}
    opened: dict[tuple, datetime] = {}  # when each case (subject and window) first tripped
    case_of: dict[uuid.UUID, datetime] = {}  # when the case that first flagged a vote had opened
    reasons: dict[str, set[uuid.UUID]] = {}
    i = 0
    while i < len(votes):
        second = votes[i].at.replace(microsecond=0)
        j = i
        batch = []
        while j < len(votes) and votes[j].at.replace(microsecond=0) == second and j - i < 500:
            e = votes[j].cast_vote()
            truth[e.vote_id] = votes[j]
            batch.append(domain.VoteSignal.of(CAMPAIGN, e, t))
            j += 1
        now = max(v.cast_at for v in batch)
        for finding, covered in await domain.detect(batch, store, t):
            opened.setdefault(finding.identity, now)
            for v in covered:
                if v.vote_id not in flagged_at:
                    flagged_at[v.vote_id] = now
                    case_of[v.vote_id] = opened[finding.identity]
                reasons.setdefault(finding.reason_code, set()).add(v.vote_id)
        i = j
    out = Outcome(name, reasons={k: len(v) for k, v in reasons.items()})
    ids: dict[str, tuple[bool, bool]] = {}
    attack_start = min((v.at for v in attack), default=None)
    for vid, v in truth.items():
        hit = vid in flagged_at
        if v.attack:
            out.attack += 1
            out.attack_flagged += hit
            if hit:
                out.latencies.append((flagged_at[vid] - v.at).total_seconds())
                if v.at >= case_of[vid]:
                    out.after_case.append((flagged_at[vid] - v.at).total_seconds())
                first = (flagged_at[vid] - attack_start).total_seconds()  # type: ignore[operator]
                out.first_flag_s = first if out.first_flag_s is None else min(out.first_flag_s, first)
        else:
            out.honest += 1
            out.honest_flagged += hit
            if v.group in ("campus", "rally"):
                out.campus += 1
                out.campus_flagged += hit
            out.rally_flagged += hit and v.group == "rally"
        was = ids.get(v.voter, (v.attack, False))
        ids[v.voter] = (v.attack, was[1] or hit)
    for is_attack, hit in ids.values():
        out.ids_attack += is_attack
        out.ids_attack_flagged += is_attack and hit
        out.ids_honest_flagged += (not is_attack) and hit
    out.seconds = time.perf_counter() - started
    return out


async def run_postgres(honest: list[Vote], attack: list[Vote], t: domain.Thresholds, batch_size: int) -> dict:
    """The consumer's own handler on real PostgreSQL: detection, cases, outbox, in consumer-sized batches."""
    import shutil
    import tempfile

    from massline.consumer import Delivered
    from massline.contracts import make_envelope
    from massline.db import create_pool, migrate
    from massline.devstack import EmbeddedPostgres
    from services.antifraud import handlers
    from services.antifraud.app import MIGRATIONS, build_runtime
    from services.antifraud.settings import AntifraudSettings

    home = Path(tempfile.mkdtemp(prefix="eval-fraud-"))
    postgres = EmbeddedPostgres(home / "pgdata", home / "logs", home / "run", durable=False)
    try:
        dsn = postgres.start()
        await migrate(dsn, "antifraud", MIGRATIONS)
        pool = await create_pool(dsn, "antifraud", min_size=1, max_size=2)
        rt = build_runtime(AntifraudSettings(database_url=dsn, policy="invalidate"))
        rt._pool = pool
        votes = sorted(honest + attack, key=lambda v: v.at)
        casts = [v.cast_vote() for v in votes]
        truth = {c.vote_id: v for c, v in zip(casts, votes)}
        started = time.perf_counter()
        offsets: dict[int, int] = {}
        for i in range(0, len(casts), batch_size):
            batch = []
            for e in vote_events(casts[i:i + batch_size]):  # each shard on its own partition, as the relay sends
                offsets[e.network_shard] = offsets.get(e.network_shard, -1) + 1
                batch.append(Delivered(make_envelope(e, campaign_id=CAMPAIGN, producer="eval"), e, e.topic,
                                       e.network_shard, offsets[e.network_shard]))
            async with pool.acquire() as conn, conn.transaction():
                committed = await handlers.on_votes(conn, batch, rt)
            committed()
        elapsed = time.perf_counter() - started
        flagged = {r["vote_id"] for r in await pool.fetch("SELECT vote_id FROM votes WHERE state <> 'counted'")}
        events_out = await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'VoteInvalidated'")
        await pool.close()
        return {"votes": len(casts), "seconds": elapsed, "rate": len(casts) / elapsed,
                "attack_flagged": sum(truth[v].attack for v in flagged), "honest_flagged": sum(
                    not truth[v].attack for v in flagged), "attack": len(attack), "invalidated_events": events_out}
    finally:
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


def table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def write_doc(path: Path, body: str) -> None:
    start, end = "<!-- eval-fraud:start -->", "<!-- eval-fraud:end -->"
    text = path.read_text() if path.exists() else f"# Anti-fraud\n\n{start}\n{end}\n"
    if start not in text:
        text += f"\n{start}\n{end}\n"
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    path.write_text(f"{before}{start}\n{body}\n{end}{after}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=20_000, help="honest identities in the simulated day")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/antifraud.md alone")
    parser.add_argument("--postgres-batch", type=int, default=500,
                        help="consumer batch size for the PostgreSQL run (0: skip it)")
    args = parser.parse_args()
    t = domain.Thresholds()
    rows = []
    total = time.perf_counter()
    honest = honest_traffic(random.Random(args.seed), args.voters)
    print(f"honest traffic: {args.voters} identities, {len(honest)} vote requests, "
          f"{sum(v.count for v in honest)} votes", file=sys.stderr)
    for n, (name, make) in enumerate(SCENARIOS.items()):
        attack = make(random.Random(args.seed * 100 + n))
        outcome = asyncio.run(run(name, honest, attack, t))
        rows.append(outcome.row())
        print(f"{name}: {outcome.seconds:.1f} s  " + " | ".join(outcome.row()[1:]), file=sys.stderr)
    pg_note = ""
    if args.postgres_batch:
        pg = asyncio.run(run_postgres(honest, botnet(random.Random(args.seed * 100 + 1)), t, args.postgres_batch))
        pg_note = (f"\n\nThe botnet scenario again through the consumer's own handler (`handlers.on_votes`: detection, "
                   f"cases, invalidations into the outbox) on an embedded PostgreSQL, one transaction per batch of "
                   f"{args.postgres_batch}, policy invalidate: {pg['votes']} vote requests in {pg['seconds']:.1f} s, "
                   f"**{pg['rate']:,.0f} votes per second** on one instance; {pg['attack_flagged']} of {pg['attack']} "
                   f"attack votes and {pg['honest_flagged']} honest ones invalidated, {pg['invalidated_events']} "
                   f"VoteInvalidated events recorded.")
        print(pg_note.strip(), file=sys.stderr)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = (f"Measured {stamp} with `make eval-fraud` (`python tests/bench/eval_fraud.py --voters {args.voters} "
            f"--seed {args.seed}`), in memory, on {describe_machine()}; {time.perf_counter() - total:.0f} s in all. "
            f"Honest traffic: {args.voters} identities, {len(honest)} vote requests in one simulated day.\n\n"
            + table(rows) + pg_note)
    print(body)
    if not args.no_write:
        write_doc(ROOT / "docs" / "antifraud.md", body)


if __name__ == "__main__":
    main()
