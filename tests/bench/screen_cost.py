"""What scoring costs in memory: one honest grid cell through `domain.detect` (the same pipeline as the consumer's,
with `MemoryWindows`), timed a few times; votes per second at the median. PostgreSQL's share of the consumer's cost
is not in it (see `make bench-votes` for the whole system).

    python tests/bench/screen_cost.py [--cell "cgnat 2500"] [--regime day3] [--runs 3]
    python tests/bench/screen_cost.py --bench-like 60000   # the traffic of `make bench-votes`, in memory

`--bench-like N`: N votes shaped as `make bench-votes` sends them (50,000 voters picked at random, one vote each
time, for 20 entries drawn by Zipf, each from a random 10.x address, no device or user agent), 1,500 a second, in
the consumer's batches of 500: what anti-fraud's own code costs on the benchmark's load, without PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import eval_fraud


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="cgnat 2500")
    parser.add_argument("--regime", default="day3", choices=("first_hour", "day3"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bench-like", type=int, default=0, metavar="N")
    args = parser.parse_args()
    if args.bench_like:
        bench_like(args.bench_like, args.runs, args.seed)
        return
    cells = {(c.name, c.regime): c for c in eval_fraud.grid()}
    cell = cells[(args.cell, args.regime)]
    world = cell.generate(args.seed)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        asyncio.run(eval_fraud.screen(world, cell.regime))
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"{args.cell} ({args.regime}, seed {args.seed}): {len(world.votes)} votes, median {median:.2f} s over "
          f"{args.runs} runs ({', '.join(f'{x:.2f}' for x in times)}): {len(world.votes) / median:,.0f} votes/s")


def bench_like(n: int, runs: int, seed: int) -> None:
    from massline.contracts import CastVote
    from services.antifraud import domain

    rng = random.Random(seed)
    entries = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(20)]
    weights = [1 / (i + 1) for i in range(20)]
    start = datetime(2026, 12, 6, 2, tzinfo=UTC)
    verified = [start - timedelta(seconds=rng.randint(0, 3000)) for _ in range(50_000)]
    votes = []
    for i in range(n):
        voter = rng.randrange(50_000)
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"
        votes.append(CastVote(vote_id=uuid.UUID(int=rng.getrandbits(128)), voter_id=f"v{voter}",
                              entry_id=rng.choices(entries, weights)[0], category_id="cases", count=1,
                              cast_at=start + timedelta(seconds=i / 1500), ip_hash=f"ip-{ip}",
                              subnet=ip.rsplit(".", 1)[0] + ".0/24", identity_verified_at=verified[voter]))
    t = domain.Thresholds()

    async def once() -> None:
        store = domain.MemoryWindows()
        for i in range(0, n, 500):
            await domain.detect([domain.VoteSignal.of("bench", v, t) for v in votes[i:i + 500]], store, t)

    times = []
    for _ in range(runs):
        began = time.perf_counter()
        asyncio.run(once())
        times.append(time.perf_counter() - began)
    median = statistics.median(times)
    print(f"bench-like, {n} votes (seed {seed}): median {median:.2f} s over {runs} runs "
          f"({', '.join(f'{x:.2f}' for x in times)}): {n / median:,.0f} votes/s")


if __name__ == "__main__":
    main()
