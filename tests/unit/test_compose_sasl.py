"""The SASL overlay (deploy/compose/docker-compose.sasl.yml) validates offline with the real compose binary,
and gives the broker a SCRAM-SHA-512 listener and every service the login to it."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.unit.test_deploy_files import APP_SERVICES, REPO, SECRETS, _compose_binary

OVERLAY = "deploy/compose/docker-compose.sasl.yml"


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import subprocess

    tmp = tmp_path_factory.mktemp("compose-sasl")
    binary = _compose_binary(tmp)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), **SECRETS}
    result = subprocess.run([str(binary), "-f", "docker-compose.yml", "-f", OVERLAY, "--env-file", os.devnull,
                             "config", "--format", "json"], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, f"the SASL overlay does not validate:\n{result.stderr}"
    assert "not set" not in result.stderr, result.stderr
    services: dict[str, Any] = json.loads(result.stdout)["services"]
    return services


def test_the_broker_listens_with_scram_sha_512_only(merged: dict[str, Any]) -> None:
    env = merged["kafka"]["environment"]
    assert env["KAFKA_CFG_LISTENERS"].startswith("SASL_PLAINTEXT://:9092")
    assert env["KAFKA_CFG_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert "PLAINTEXT://:9092" not in env["KAFKA_CFG_LISTENERS"].replace("SASL_PLAINTEXT", "")
    assert "--command-config" in " ".join(merged["kafka"]["healthcheck"]["test"])


def test_every_service_logs_in_with_the_brokers_user(merged: dict[str, Any]) -> None:
    broker = merged["kafka"]["environment"]
    for name in (*APP_SERVICES, "migrate"):
        env = merged[name]["environment"]
        assert env["MASSLINE_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT", name
        assert env["MASSLINE_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512", name
        assert env["MASSLINE_KAFKA_SASL_USERNAME"] == broker["KAFKA_CLIENT_USERS"], name
        assert env["MASSLINE_KAFKA_SASL_PASSWORD"] == broker["KAFKA_CLIENT_PASSWORDS"], name
        assert env["MASSLINE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092", name  # the base file's, kept


def test_the_overlay_file_exists_where_the_docs_say() -> None:
    assert (REPO / OVERLAY).is_file()
    assert OVERLAY in (REPO / "deploy" / "README.md").read_text()
