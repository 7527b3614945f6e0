"""Test fixtures: a real PostgreSQL and a real Kafka-compatible broker, started for the session by the tests.

They are started only when a test asks for them (integration and e2e tiers), on free loopback ports,
and stopped by process id at the end. Nothing attaches to a server the session did not start.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.operations.devstack import EmbeddedKafka, EmbeddedPostgres, Stack, free_port

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


@dataclass
class Infrastructure:
    postgres: EmbeddedPostgres
    kafka: EmbeddedKafka
    home: Path

    def new_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        psql = self.postgres._bin("psql")
        subprocess.run([psql, "-h", "127.0.0.1", "-p", str(self.postgres.port), "-U", "postgres", "-d", "postgres",
                        "-tAc", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
        return self.postgres.dsn(name)

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    home = Path(tempfile.mkdtemp(prefix="massline-test-"))
    postgres = EmbeddedPostgres(home / "pgdata", home / "logs", home / "run", durable=False)
    kafka = EmbeddedKafka(home / "logs", home / "run")
    try:
        postgres.start()
        kafka.start()
        yield Infrastructure(postgres, kafka, home)
    finally:
        kafka.stop()
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def database_url(infrastructure: Infrastructure) -> str:
    """A DSN of a fresh, empty database on the session's PostgreSQL."""
    return infrastructure.new_database()


@pytest.fixture
def kafka_bootstrap(infrastructure: Infrastructure) -> str:
    return infrastructure.bootstrap


@pytest.fixture(scope="session")
def system(infrastructure: Infrastructure) -> Iterator[Stack]:
    """The whole system: six services and the gateway, on the session's database and broker."""
    stack = Stack(
        home=infrastructure.home / "system",
        gateway_port=free_port(),
        database_url=infrastructure.new_database(),
        kafka_bootstrap=infrastructure.bootstrap,
        durable=False,
        extra_env={"MASSLINE_ENV": "test", "MASSLINE_KAFKA_SESSION_TIMEOUT_MS": "6000",
                   "MASSLINE_KAFKA_HEARTBEAT_INTERVAL_MS": "500", "MASSLINE_CAMPAIGNS_DIR": str(ROOT / "campaigns")},
        # The tests ask for many SMS codes from this machine, to the same numbers in many campaigns: its own address
        # is exempt from the limits per address and network, and a phone's limits are raised. A test that plays a
        # voter elsewhere sends X-Forwarded-For, which the gateway reads from a local proxy, and meets the network's
        # limits and the captcha as production has them (the phone's, as production has them, are tested in
        # tests/integration/test_sms_code_limits.py).
        service_env={"voting": {"MASSLINE_SMS_LIMITS__EXEMPT_NETWORKS": "127.0.0.0/8,::1/128",
                                "MASSLINE_SMS_LIMITS__PHONE_PER_HOUR": "1000",
                                "MASSLINE_SMS_LIMITS__PHONE_PER_DAY": "1000"},
                     "gateway": {"MASSLINE_TRUSTED_PROXIES": "127.0.0.1/32,::1/128"}},
    )
    stack.kafka = infrastructure.kafka  # lets the e2e test restart the memory broker (it loses every topic)
    try:
        stack.start_services()
        yield stack
    except Exception:
        for name, proc in stack.services.items():
            print(f"--- {name} log ---\n{proc.log_tail(60)}")
        raise
    finally:
        logs = ARTIFACTS / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        stack.stop_services()
        for log in stack.log_dir.glob("*.log"):
            shutil.copy(log, logs / log.name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tiers run in order (unit, component, integration, e2e): fast failures first.
    # The fuzz tier goes last: its generated requests change what they may (users, campaigns) on the shared system.
    order = {"unit": 0, "component": 1, "integration": 2, "e2e": 3}
    items.sort(key=lambda item: 4 if Path(str(item.fspath)).name == "test_fuzz.py"
               else order.get(Path(str(item.fspath)).parent.name, 9))
