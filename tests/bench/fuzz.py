"""`make fuzz`: schemathesis with a large budget over every service's OpenAPI document, directly and through the
gateway, on the whole system started here with its demo data. Not a test: it writes its figures to
docs/hostile-input.md (between the fuzz markers) with the command and the machine.

    .venv/bin/python tests/bench/fuzz.py [--examples 150] [--seed 20261203] [--no-write]
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

import fuzzing  # noqa: E402
from machine import describe as describe_machine  # noqa: E402

from services.operations.demo import load_demo  # noqa: E402
from services.operations.devstack import Stack, free_port  # noqa: E402

DOC = ROOT / "docs" / "hostile-input.md"
BEGIN, END = "<!-- fuzz:begin -->", "<!-- fuzz:end -->"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=150, help="schemathesis --max-examples per operation")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/hostile-input.md alone")
    args = parser.parse_args()
    # Stopped from outside, it still stops the system it started (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    home = Path(tempfile.mkdtemp(prefix="massline-fuzz-"))
    home.chmod(0o755)  # the embedded PostgreSQL runs as its own user
    stack = Stack(home=home, gateway_port=free_port(), durable=False, progress=lambda m: print(f"[fuzz] {m}"),
                  extra_env={"MASSLINE_ENV": "test", "MASSLINE_CAMPAIGNS_DIR": str(ROOT / "campaigns")},
                  service_env={"voting": {"MASSLINE_SMS_LIMITS__EXEMPT_NETWORKS": "127.0.0.0/8,::1/128"}})
    started = time.monotonic()
    runs: list[fuzzing.FuzzRun] = []
    try:
        stack.start_infrastructure()
        stack.start_services()
        load_demo(stack.gateway_url, lambda m: print(f"[fuzz] {m}"))
        staff, voter = fuzzing.staff_token(stack.gateway_url), fuzzing.voter_ticket(stack.gateway_url)
        reports = home / "reports"
        reports.mkdir()
        targets = [(s, f"{stack.service_url(s)}/openapi.json", None) for s in fuzzing.SERVICES]
        targets += [(f"{s} through the gateway", f"{stack.service_url(s)}/openapi.json",
                     f"{stack.gateway_url}/api/{s}") for s in fuzzing.SERVICES]
        targets.append(("gateway", f"{stack.gateway_url}/openapi.json", None))
        for name, url, base in targets:
            token = voter if name.startswith("voting") else staff
            result = fuzzing.run(name.replace(" ", "-"), url, token=token, examples=args.examples, seed=args.seed,
                                 base_url=base, report_dir=reports, timeout_s=3600)
            result.target = name
            runs.append(result)
            print(f"[fuzz] {name}: {result.cases} cases, {result.server_errors} server errors"
                  f"{'' if result.passed else ' (failed: see below)'}")
            if not result.passed:
                print(result.output[-3000:])
    finally:
        stack.stop()
    minutes = (time.monotonic() - started) / 60
    table = _table(runs, args, minutes)
    print(table)
    if not args.no_write:
        _write(table)
    return 0 if all(r.passed for r in runs) else 1


def _table(runs: list[fuzzing.FuzzRun], args: argparse.Namespace, minutes: float) -> str:
    total = sum(r.cases for r in runs)
    errors = sum(r.server_errors for r in runs)
    lines = [
        f"Command: `make fuzz` (`.venv/bin/python tests/bench/fuzz.py --examples {args.examples} --seed {args.seed}`),"
        f" {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {minutes:.0f} min.",
        f"Machine: {describe_machine()}. The whole system with its demo data; schemathesis "
        f"{_version()} (check: no server error), one worker, a staff token (a voter ticket for voting).",
        "",
        "| target | cases | server errors | result |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {r.target} | {r.cases:,} | {r.server_errors} | {'ok' if r.passed else 'FAILED'} |" for r in runs]
    lines.append(f"| **all** | **{total:,}** | **{errors}** | {'ok' if all(r.passed for r in runs) else 'FAILED'} |")
    return "\n".join(lines) + "\n"


def _version() -> str:
    from importlib.metadata import version

    return version("schemathesis")


def _write(table: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Hostile input\n"
    section = f"{BEGIN}\n## `make fuzz`\n\n{table}{END}"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")
    print(f"[fuzz] wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
