"""Dead-letter handling with the in-memory test broker: a bad message is set aside with why, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from faststream.kafka import KafkaBroker, KafkaMessage, TestKafkaBroker
from prometheus_client import CollectorRegistry

from massline.consumer import ConsumerMetrics, EventConsumer
from massline.contracts import PhaseChanged, make_envelope, topics
from massline.settings import ServiceSettings


def _consumer(broker: KafkaBroker, applied: list[Any]) -> EventConsumer:
    consumer = EventConsumer(broker=broker, settings=ServiceSettings(), service="probe",
                             metrics=ConsumerMetrics(CollectorRegistry()), pool_getter=lambda: None)  # type: ignore

    async def apply(items: list[Any]) -> None:
        applied.extend(items)

    async def fake_apply(consumer_name: str, handler: Any, items: list[Any]) -> None:
        await apply(items)

    consumer._apply = fake_apply  # type: ignore[method-assign]  # the database part is the integration tier's
    return consumer


async def test_malformed_message_goes_to_dead_letter_topic_with_key_headers_and_reason() -> None:
    broker = KafkaBroker()
    applied: list[Any] = []
    dead: list[KafkaMessage] = []
    consumer = _consumer(broker, applied)

    async def handler(conn: Any, batch: Any) -> None:  # pragma: no cover - replaced above
        pass

    consumer.subscribe(topics.CAMPAIGN, "phases", handler, events=[PhaseChanged])

    @broker.subscriber(f"{topics.CAMPAIGN}.dlq")
    async def on_dead(msg: KafkaMessage) -> None:
        dead.append(msg)

    async with TestKafkaBroker(broker) as br:
        await br.publish(b'{"truncated": ', topics.CAMPAIGN, key=b"campaign-7", headers={"trace": "abc"})
        good = make_envelope(PhaseChanged(campaign_id="c", phase="voting"), campaign_id="c", producer="t")
        await br.publish(good.to_bytes(), topics.CAMPAIGN, key=b"c")

    assert len(dead) == 1
    assert dead[0].raw_message.key == b"campaign-7"
    assert dead[0].headers["trace"] == "abc"
    assert dead[0].headers["x-dead-letter-reason"] == "malformed_json"
    assert dead[0].headers["x-original-topic"] == topics.CAMPAIGN
    assert dead[0].body == b'{"truncated": '
    # the consumer went on: the next, well-formed event was applied
    assert [item.event for item in applied] == [PhaseChanged(campaign_id="c", phase="voting")]


async def test_events_of_other_types_on_the_topic_are_ignored_not_dead_lettered() -> None:
    broker = KafkaBroker()
    applied: list[Any] = []
    dead: list[Any] = []
    consumer = _consumer(broker, applied)

    async def handler(conn: Any, batch: Any) -> None:  # pragma: no cover
        pass

    consumer.subscribe(topics.CAMPAIGN, "phases", handler, events=[PhaseChanged])

    @broker.subscriber(f"{topics.CAMPAIGN}.dlq")
    async def on_dead(msg: KafkaMessage) -> None:
        dead.append(msg)

    from massline.contracts import CampaignLoaded, VoteRules

    loaded = CampaignLoaded(campaign_id="c", version=1, title="t", timezone="Asia/Shanghai", categories=[],
                            phases=[], vote_rules=VoteRules())
    async with TestKafkaBroker(broker) as br:
        await br.publish(make_envelope(loaded, campaign_id="c", producer="t").to_bytes(), topics.CAMPAIGN, key=b"c")
    assert applied == [] and dead == []


@pytest.mark.parametrize("payload", [b"[]", b'{"event_id": "1"}', b"\xff\xfe"])
async def test_every_kind_of_garbage_is_set_aside(payload: bytes) -> None:
    broker = KafkaBroker()
    applied: list[Any] = []
    dead: list[Any] = []
    consumer = _consumer(broker, applied)

    async def handler(conn: Any, batch: Any) -> None:  # pragma: no cover
        pass

    consumer.subscribe(topics.VOTE, "standings", handler)

    @broker.subscriber(f"{topics.VOTE}.dlq")
    async def on_dead(msg: KafkaMessage) -> None:
        dead.append(msg)

    async with TestKafkaBroker(broker) as br:
        await br.publish(payload, topics.VOTE, key=b"k")
    assert len(dead) == 1 and applied == []
