"""Topics are declared once (the catalog) and made on the broker by `massline topics apply`.

`massline topics check` says what is missing or differs; a service with topic creation off (production) never
creates a topic: it is not ready, naming the missing ones, until `massline topics apply` ran.
Each test has an empty embedded broker of its own.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from massline.contracts.topics import EPOCH_TOPIC, TOPICS, VOTE, declared_topics
from services.operations.devstack import EmbeddedKafka
from services.scoring.app import build_runtime
from services.scoring.settings import ScoringSettings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_broker(tmp_path: Path) -> Iterator[str]:
    kafka = EmbeddedKafka(tmp_path / "logs", tmp_path / "run")
    try:
        yield kafka.start()
    finally:
        kafka.stop()


def massline(bootstrap: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line as an operator runs it, against this broker only."""
    env = {**os.environ, "MASSLINE_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "services.operations", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def rows(output: str) -> dict[str, list[str]]:
    """The report table: topic -> its cells."""
    return {line.split()[0]: line.split(None, 5) for line in output.splitlines()[1:] if line.strip()}


async def test_apply_creates_every_declared_topic_once_and_check_then_passes(empty_broker: str) -> None:
    before = massline(empty_broker, "topics", "check")
    assert before.returncode == 1, before.stderr
    assert {name: cells[-1] for name, cells in rows(before.stdout).items()} == {
        d.name: "missing" for d in declared_topics(168 * 3_600_000)}

    applied = massline(empty_broker, "topics", "apply")
    assert applied.returncode == 0, applied.stderr
    table = rows(applied.stdout)
    assert set(table) == {d.name for d in declared_topics(0)} and {c[-1] for c in table.values()} == {"created"}
    assert table[VOTE][1:5] == ["12", "12", "604800000", "604800000"]
    assert table[f"{VOTE}.dlq"][1:3] == ["1", "1"] and table[EPOCH_TOPIC][3:5] == ["-1", "-1"]

    admin = AIOKafkaAdminClient(bootstrap_servers=empty_broker)
    await admin.start()
    try:
        described = await admin.describe_topics(list(TOPICS))
    finally:
        await admin.close()
    assert {d["topic"]: len(d["partitions"]) for d in described} == {n: s.partitions for n, s in TOPICS.items()}

    again = massline(empty_broker, "topics", "apply")
    assert again.returncode == 0 and {c[-1] for c in rows(again.stdout).values()} == {"ok"}
    assert "0 topic(s) created" in again.stderr
    assert massline(empty_broker, "topics", "check").returncode == 0


async def test_a_topic_with_other_partitions_or_retention_is_reported_and_never_shrunk(empty_broker: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=empty_broker)
    await admin.start()
    try:
        await admin.create_topics([
            NewTopic(VOTE, 4, 1, topic_configs={"retention.ms": "604800000"}),
            NewTopic("massline.campaign.v1", 2, 1, topic_configs={"retention.ms": "3600000"}),
        ])
    finally:
        await admin.close()
    applied = massline(empty_broker, "topics", "apply")
    assert applied.returncode == 1
    table = rows(applied.stdout)
    assert table[VOTE][2] == "4" and "differs: 4 partitions, 12 declared" in table[VOTE][5]
    campaign = table["massline.campaign.v1"][5]
    assert "2 partitions, 1 declared (never decreased)" in campaign
    assert "retention.ms 3600000, 604800000 declared" in campaign
    assert table["massline.tally.v1"][5] == "created"

    check = massline(empty_broker, "topics", "check")
    assert check.returncode == 1 and "massline.campaign.v1" in check.stderr

    # The embedded broker has no CreatePartitions: asked to add partitions, the report says it refused.
    increased = massline(empty_broker, "topics", "apply", "--increase-partitions")
    assert increased.returncode == 1
    assert "partitions not increased" in rows(increased.stdout)[VOTE][5]


def test_an_unreachable_broker_is_a_clear_error(tmp_path: Path) -> None:
    from services.operations.devstack import free_port

    result = massline(f"127.0.0.1:{free_port()}", "topics", "check")
    assert result.returncode == 3
    assert "error: broker_unreachable: cannot reach the broker" in result.stderr


async def _ready_checks(rt: Any, done: Any) -> dict[str, Any]:
    """Readiness, asked until `done(checks)` (the service's own watch runs every half second here)."""
    for _ in range(240):
        checks = await rt.readiness()
        if done(checks):
            return checks
        await asyncio.sleep(0.5)
    return checks


async def test_a_service_with_creation_off_is_not_ready_naming_the_missing_topic_until_apply(
    empty_broker: str, infrastructure: Any
) -> None:
    settings = ScoringSettings(database_url=infrastructure.new_database(), kafka_bootstrap_servers=empty_broker,
                               env="test", kafka_create_topics=False, broker_check_interval_s=0.5,
                               kafka_session_timeout_ms=6000, kafka_heartbeat_interval_ms=500)
    rt = build_runtime(settings)
    await rt.start(join_in_background=True)
    try:
        checks = await _ready_checks(rt, lambda c: "topics missing" in c.get("broker_error", ""))
        assert checks["ready"] is False
        assert "topics missing on the broker: " in checks["broker_error"]
        assert "massline.scoring.v1" in checks["broker_error"] or "massline.campaign.v1" in checks["broker_error"]
        assert "massline topics apply" in checks["broker_error"]

        admin = AIOKafkaAdminClient(bootstrap_servers=empty_broker)
        await admin.start()
        try:
            assert await admin.list_topics() == []  # the service created nothing
        finally:
            await admin.close()

        assert massline(empty_broker, "topics", "apply").returncode == 0
        checks = await _ready_checks(rt, lambda c: c["ready"])
        assert checks["ready"] is True, checks
        assert rt.joined
    finally:
        await rt.stop()
