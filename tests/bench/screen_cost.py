"""What scoring costs in memory: one honest grid cell through `domain.detect` (the same pipeline as the consumer's,
with `MemoryWindows`), timed a few times; votes per second at the median. PostgreSQL's share of the consumer's cost
is not in it (see `make bench-votes` for the whole system).

    python tests/bench/screen_cost.py [--cell "cgnat 2500"] [--regime day3] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
