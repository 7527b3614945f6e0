"""Schemathesis against a running system: every operation of a service's OpenAPI document, with generated input.

The only check is the one a client would notice first: no answer is a server error (5xx). Used by the fuzz tier of
`make test` (a small budget, a fixed seed) and by `make fuzz` (a large one).
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

SERVICES = ("submission", "voting", "antifraud", "scoring", "notification", "registry")
CAMPAIGN = "shaanxi-2024-accounts"
# Sign-in locks a name after a few wrong passwords: fuzzing it would lock the demo users out of the rest.
EXCLUDED_PATHS = ("/auth/login",)


@dataclass
class FuzzRun:
    target: str
    cases: int
    server_errors: int
    passed: bool
    output: str


def staff_token(gateway: str, username: str = "admin", password: str = "admin-demo-password") -> str:
    r = httpx.post(f"{gateway}/api/submission/auth/login", json={"username": username, "password": password},
                   timeout=30)
    r.raise_for_status()
    return str(r.json()["access_token"])


def voter_ticket(gateway: str, phone: str = "13700000001") -> str:
    base = f"{gateway}/api/voting/campaigns/{CAMPAIGN}/voters"
    httpx.post(f"{base}/sms-code", json={"phone": phone}, timeout=30).raise_for_status()
    code = httpx.get(f"{gateway}/api/voting/dev/sms-codes/{phone}", timeout=30).json()["code"]
    r = httpx.post(f"{base}/sms-verify", json={"phone": phone, "code": code}, timeout=30)
    r.raise_for_status()
    return str(r.json()["ticket"])


def run(target: str, openapi_url: str, *, token: str, examples: int, seed: int, base_url: str | None = None,
        report_dir: Path | None = None, timeout_s: float = 900) -> FuzzRun:
    """One schemathesis run (its command line, pinned in the test dependencies) over one OpenAPI document."""
    st = Path(sys.executable).with_name("st")
    command = [str(st), "run", openapi_url, "--checks", "not_a_server_error", "--max-examples", str(examples),
               "--seed", str(seed), "--workers", "1", "--header", f"Authorization: Bearer {token}",
               "--generation-deterministic", "--no-color"]
    for path in EXCLUDED_PATHS:
        command += ["--exclude-path", path]
    if base_url:
        command += ["--url", base_url]
    if report_dir is not None:
        command += ["--report", "ndjson", "--report-ndjson-path", str(report_dir / f"{target}.ndjson")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    output = done.stdout + done.stderr
    generated = re.search(r"(\d+) generated", output)
    failures = re.findall(r"Server error", output)
    return FuzzRun(target, int(generated.group(1)) if generated else 0, len(failures), done.returncode == 0, output)
