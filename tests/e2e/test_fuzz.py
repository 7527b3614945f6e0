"""The fuzz tier: schemathesis over every service's OpenAPI document and the gateway, with a fixed seed and a small
budget; not one answer may be a server error. `make fuzz` runs the same with a large budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fuzzing
import pytest

from services.operations.demo import load_demo

pytestmark = pytest.mark.e2e

SEED = 20261203
EXAMPLES = 3
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "fuzz"


@pytest.fixture(scope="module")
def credentials(system: Any) -> dict[str, str]:
    # The demo campaign, voting open, as `make run` has it (loaded once per system: another test may have).
    load_demo(system.gateway_url, lambda _: None)
    return {"staff": fuzzing.staff_token(system.gateway_url),
            "voter": fuzzing.voter_ticket(system.gateway_url, "13700000077")}


@pytest.mark.parametrize("target", [*fuzzing.SERVICES, "gateway", "voting-through-gateway"])
def test_generated_requests_never_get_a_server_error(system: Any, credentials: dict[str, str], target: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if target == "gateway":
        url, base = f"{system.gateway_url}/openapi.json", None
    elif target == "voting-through-gateway":
        url, base = f"{system.service_url('voting')}/openapi.json", f"{system.gateway_url}/api/voting"
    else:
        url, base = f"{system.service_url(target)}/openapi.json", None
    token = credentials["voter" if target.startswith("voting") else "staff"]
    result = fuzzing.run(target, url, token=token, examples=EXAMPLES, seed=SEED, base_url=base, report_dir=ARTIFACTS)
    assert result.cases > 0, result.output[-2000:]
    assert result.passed and result.server_errors == 0, result.output[-4000:]
