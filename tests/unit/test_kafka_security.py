"""Every Kafka client of the system connects with the security settings (MASSLINE_KAFKA_SECURITY_PROTOCOL, ...).

The clients are built by the factories in massline.kafka alone (checked over the source), and each factory's
client carries the protocol, mechanism, credentials and TLS context the settings name.
"""

from __future__ import annotations

import re
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from massline.deadletters import _Session
from massline.kafka import admin_client, broker_factory, consumer_client, outbox_producer, producer_client
from massline.service import ServiceRuntime
from massline.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]
CONSTRUCTORS = re.compile(r"\b(AIOKafkaConsumer|AIOKafkaProducer|AIOKafkaAdminClient|KafkaBroker)\(")

CASES = [
    ("SASL_PLAINTEXT", "SCRAM-SHA-512"),
    ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
    ("SASL_PLAINTEXT", "PLAIN"),
    ("SASL_SSL", "SCRAM-SHA-512"),
]


def _settings(protocol: str, mechanism: str, **extra: Any) -> ServiceSettings:
    return ServiceSettings(kafka_security_protocol=protocol, kafka_sasl_mechanism=mechanism,
                           kafka_sasl_username="massline-svc", kafka_sasl_password="s3cret-pw", **extra)


def _client_security(client: Any) -> dict[str, Any]:
    inner = getattr(client, "_client", None) or client.client  # the producer names its client differently
    return {"security_protocol": inner._security_protocol, "sasl_mechanism": inner._sasl_mechanism,
            "sasl_plain_username": inner._sasl_plain_username, "sasl_plain_password": inner._sasl_plain_password,
            "ssl": inner._ssl_context is not None}


async def _every_client(settings: ServiceSettings) -> dict[str, dict[str, Any]]:
    """The connection arguments of each client the system builds: services, relay, probe, CLI, topics."""
    runtime: ServiceRuntime[ServiceSettings] = ServiceRuntime("probe-service", settings, migrations_dir=REPO)
    broker_kwargs = runtime.broker._connection_kwargs
    consumer_kwargs = broker_factory(settings, "x", CollectorRegistry()).config.broker_config.builder.keywords
    session = _Session(settings, group_id="g", producer=True)
    clients = {
        "outbox relay": outbox_producer(settings, "svc"),
        "admin (topics)": admin_client(settings),
        "consumer (probe, lag)": consumer_client(settings, client_id="massline-x-probe"),
        "producer": producer_client(settings),
        "dead letters consumer": session.consumer,
        "dead letters admin": session.admin,
        "dead letters producer": session.producer,
    }
    found = {name: _client_security(client) for name, client in clients.items()}
    for kwargs, name in ((broker_kwargs, "service broker (FastStream producer)"),
                         (consumer_kwargs, "service subscribers (FastStream consumers)")):
        found[name] = {k: kwargs.get(k) for k in ("sasl_mechanism", "sasl_plain_username", "sasl_plain_password")} | {
            "security_protocol": kwargs.get("security_protocol", "PLAINTEXT"),  # aiokafka's default when unset
            "ssl": kwargs.get("ssl_context") is not None}
    for client in [*clients.values(), *runtime.broker.subscribers]:
        if hasattr(client, "_closed"):
            client._closed = True  # never started: nothing to close, and no warning about it
    return found


@pytest.mark.parametrize(("protocol", "mechanism"), CASES)
async def test_every_client_factory_connects_with_the_security_settings(protocol: str, mechanism: str) -> None:
    found = await _every_client(_settings(protocol, mechanism))
    assert len(found) == 9
    for name, security in found.items():
        assert security == {"security_protocol": protocol, "sasl_mechanism": mechanism,
                            "sasl_plain_username": "massline-svc", "sasl_plain_password": "s3cret-pw",
                            "ssl": protocol == "SASL_SSL"}, name


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    ca_key, ca = tmp_path / "ca.key", tmp_path / "ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out",
                    str(ca), "-days", "1", "-subj", "/CN=massline-test-ca"], check=True, capture_output=True)
    return ca


async def test_tls_alone_gives_every_client_a_verifying_context_with_the_ca_file(ca_file: Path) -> None:
    ca = ca_file
    settings = ServiceSettings(kafka_security_protocol="SSL", kafka_ssl_cafile=str(ca))
    found = await _every_client(settings)
    assert {s["security_protocol"] for s in found.values()} == {"SSL"}
    assert all(s["ssl"] for s in found.values())
    context = admin_client(settings)._client._ssl_context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert any(c.get("subject") == ((("commonName", "massline-test-ca"),),) for c in context.get_ca_certs())


async def test_plaintext_is_the_default_and_sends_no_credentials() -> None:
    found = await _every_client(ServiceSettings())
    assert {s["security_protocol"] for s in found.values()} == {"PLAINTEXT"}
    assert not any(s["sasl_plain_username"] or s["ssl"] for s in found.values())


def test_sasl_without_credentials_is_refused_with_the_settings_to_set() -> None:
    with pytest.raises(ValidationError, match="MASSLINE_KAFKA_SASL_USERNAME and MASSLINE_KAFKA_SASL_PASSWORD"):
        ServiceSettings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="svc")


def test_the_password_never_shows_in_the_settings_repr() -> None:
    assert "s3cret-pw" not in repr(_settings("SASL_PLAINTEXT", "PLAIN"))


def test_topic_creation_is_off_in_production_unless_asked() -> None:
    assert ServiceSettings().creates_topics
    assert not ServiceSettings(env="production").creates_topics
    assert ServiceSettings(env="production", kafka_create_topics=True).creates_topics
    assert not ServiceSettings(kafka_create_topics=False).creates_topics


def test_only_massline_kafka_builds_kafka_clients() -> None:
    """A client built elsewhere would connect without the security settings."""
    offenders = []
    for path in sorted([*REPO.joinpath("shared", "massline").rglob("*.py"), *REPO.joinpath("services").rglob("*.py")]):
        if path == REPO / "shared" / "massline" / "kafka.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if CONSTRUCTORS.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "build Kafka clients with massline.kafka's factories:\n" + "\n".join(offenders)
