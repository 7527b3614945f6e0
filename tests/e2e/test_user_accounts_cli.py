"""An operator creates an administrator with `massline users create-admin` beside the running system, and that
administrator signs in through the gateway and manages the system; disabled, it can no longer sign in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "ops-admin-password-1"


def test_a_created_admin_signs_in_through_the_gateway(system) -> None:
    env = {**system.env(), "MASSLINE_ADMIN_USERNAME": "ops.admin", "MASSLINE_ADMIN_PASSWORD": PASSWORD}

    def massline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.operations", "users", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    out = massline("create-admin")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "created administrator ops.admin"

    url = system.gateway_url
    login = httpx.post(f"{url}/api/submission/auth/login", json={"username": "ops.admin", "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    assert login.json()["role"] == "admin"
    # an administrator's work: adding an office
    office = httpx.put(f"{url}/api/submission/organisations", headers={"Authorization": f"Bearer {token}"},
                       json={"id": "ops-office", "name": "Ops office", "kind": "office", "level": "provincial"})
    assert office.status_code == 200, office.text

    out = massline("disable", "ops.admin")
    assert out.returncode == 0, out.stderr
    refused = httpx.post(f"{url}/api/submission/auth/login", json={"username": "ops.admin", "password": PASSWORD})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "account_disabled"
