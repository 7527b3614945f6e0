"""The event envelope and the topic catalog: what every producer and consumer agrees on."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from massline.contracts import (
    TOPICS,
    CastVote,
    EventParseError,
    NominationApproved,
    PhaseChanged,
    VoteCast,
    dead_letter_topic,
    make_envelope,
    network_shard,
    parse_envelope,
    registered_events,
    topics,
)
from massline.contracts.envelope import Event, upcaster

ROOT = Path(__file__).resolve().parents[2]


def test_envelope_round_trip_keeps_identity_and_payload() -> None:
    event = PhaseChanged(campaign_id="c1", phase="voting", previous_phase="initial_review")
    env = make_envelope(event, campaign_id="c1", producer="submission")
    parsed_env, parsed = parse_envelope(env.to_bytes())
    assert parsed == event
    assert parsed_env.event_id == env.event_id
    assert parsed_env.schema_version == 1 and parsed_env.producer == "submission"


def test_occurred_at_is_always_utc() -> None:
    shanghai = timezone(timedelta(hours=8))
    env = make_envelope(PhaseChanged(campaign_id="c", phase="voting"), campaign_id="c", producer="x",
                        occurred_at=datetime(2024, 11, 20, 8, 0, tzinfo=shanghai))
    assert env.occurred_at == datetime(2024, 11, 20, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty_message"),
        (b"{not json", "malformed_json"),
        (b"[1, 2]", "not_an_object"),
        (b'{"event_id": "x"}', "invalid_envelope"),
    ],
)
def test_unreadable_messages_say_why(raw: bytes, code: str) -> None:
    with pytest.raises(EventParseError) as exc:
        parse_envelope(raw)
    assert exc.value.code == code


def _raw(event_type: str, payload: dict, version: int = 1) -> bytes:
    return json.dumps({"event_id": str(uuid.uuid4()), "event_type": event_type, "schema_version": version,
                       "occurred_at": "2024-11-20T00:00:00Z", "producer": "t", "campaign_id": "c",
                       "payload": payload}).encode()


def test_unknown_event_type_and_bad_payload_are_refused() -> None:
    with pytest.raises(EventParseError) as exc:
        parse_envelope(_raw("NoSuchThingHappened", {}))
    assert exc.value.code == "unknown_event_type"
    with pytest.raises(EventParseError) as exc:
        parse_envelope(_raw("VoteCast", {"vote_id": "nope"}))
    assert exc.value.code == "invalid_payload"


def test_newer_schema_versions_are_refused_not_misread() -> None:
    with pytest.raises(EventParseError) as exc:
        parse_envelope(_raw("PhaseChanged", {"campaign_id": "c", "phase": "voting"}, version=99))
    assert exc.value.code == "unsupported_schema_version"


def test_an_added_field_is_compatible() -> None:
    _, event = parse_envelope(_raw("PhaseChanged", {"campaign_id": "c", "phase": "voting", "new_field": 1}))
    assert event == PhaseChanged(campaign_id="c", phase="voting")


def test_upcaster_turns_an_old_payload_into_the_current_one() -> None:
    class SampleRenamed(Event):
        """A test event whose v1 called the field `title`."""

        topic = topics.CAMPAIGN
        key_field = "campaign_id"
        schema_version = 2
        campaign_id: str
        name: str

    @upcaster("SampleRenamed", 1)
    def _v1_to_v2(payload: dict) -> dict:
        payload = dict(payload)
        payload["name"] = payload.pop("title")
        return payload

    _, event = parse_envelope(_raw("SampleRenamed", {"campaign_id": "c", "title": "old"}, version=1))
    assert event.name == "old"  # type: ignore[attr-defined]


def test_every_event_is_past_tense_on_a_catalogued_topic_with_a_dead_letter_twin() -> None:
    for name, cls in registered_events().items():
        if name == "SampleRenamed":
            continue
        assert name.endswith(("ed", "Cast", "Sent", "Withdrawn")), name
        assert cls.topic in TOPICS, name
        assert dead_letter_topic(cls.topic) == f"{cls.topic}.dlq"
        assert cls.key_field in cls.model_fields, name


def test_vote_events_never_carry_a_phone_number() -> None:
    fields = set(VoteCast.model_fields) | set(CastVote.model_fields) | set(NominationApproved.model_fields)
    assert not fields & {"phone", "mobile", "id_number", "birth_month", "contact_phone"}


def test_committed_asyncapi_document_matches_the_code() -> None:
    from services.operations.docs import asyncapi_document

    committed = (ROOT / "docs" / "asyncapi.json").read_text(encoding="utf-8")
    assert committed == asyncapi_document(), "docs/asyncapi.json is stale: run `make asyncapi` and commit it"
    doc = json.loads(committed)
    channels = json.dumps(doc["channels"])
    for topic in TOPICS:
        if topic in (topics.RESULT,):  # published once results exist
            continue
        assert topic in channels, f"{topic} missing from the AsyncAPI document"


def test_production_refuses_a_default_or_short_secret() -> None:
    from massline.settings import ServiceSettings, secret_problem

    assert secret_problem(ServiceSettings(env="development")) is None  # the development default is fine there
    assert "default" in secret_problem(ServiceSettings(env="production", secret_key="change-me-in-production"))
    assert "shorter" in secret_problem(ServiceSettings(env="production", secret_key="short-secret"))
    assert secret_problem(ServiceSettings(env="production", secret_key="x" * 64)) is None


PARTITIONS = TOPICS[topics.VOTE].partitions


def _vote(voter_id: str = "v-1", **network: str) -> dict:
    return {"vote_id": str(uuid.uuid4()), "voter_id": voter_id, "entry_id": str(uuid.uuid4()), "category_id": "gov",
            "count": 2, "cast_at": "2026-11-20T08:00:00+00:00", **network}


@pytest.mark.parametrize(
    ("network", "shard"),
    [
        ({"subnet": "10.0.0.0/24", "ip_hash": "h-1"}, 3482919157 % PARTITIONS),  # CRC-32 of the subnet
        ({"ip_hash": "h-1"}, 3362855263 % PARTITIONS),                          # no subnet: the address hash
        ({}, 3737753381 % PARTITIONS),                                          # no network: the voter ("v-1")
    ],
)
def test_a_version_1_vote_is_read_as_a_batch_of_one_on_its_network_shard(network: dict, shard: int) -> None:
    """Outboxes recorded before votes travelled in batches replay into the same standings."""
    vote = _vote(**network)
    _, event = parse_envelope(_raw("VoteCast", vote, version=1))
    assert isinstance(event, VoteCast)
    assert event.network_shard == shard and event.key() == str(shard)
    assert [(str(v.vote_id), v.count, v.subnet, v.ip_hash) for v in event.votes] == [
        (vote["vote_id"], 2, network.get("subnet"), network.get("ip_hash"))]


def test_a_version_2_batch_keeps_its_votes_and_the_key_it_was_published_under() -> None:
    votes = [_vote("v-1", subnet="10.0.0.0/24"), _vote("v-2", subnet="10.9.9.0/24")]
    _, event = parse_envelope(_raw("VoteCast", {"voter_shard": 5, "votes": votes}, version=2))
    assert isinstance(event, VoteCast)
    assert event.network_shard == 5 and event.key() == "5"
    assert [(str(v.vote_id), v.voter_id, v.subnet) for v in event.votes] == [
        (votes[0]["vote_id"], "v-1", "10.0.0.0/24"), (votes[1]["vote_id"], "v-2", "10.9.9.0/24")]


def test_network_shards_are_stable_and_cover_the_vote_topic() -> None:
    shards = {network_shard(f"10.{i // 256}.{i % 256}.0/24", None, "v") for i in range(2000)}
    assert shards == set(range(PARTITIONS))
    # CRC-32, not Python's hash(): the same in every process and release.
    assert network_shard("10.0.0.0/24", None, "v") == 3482919157 % PARTITIONS


def test_every_vote_of_one_subnet_shares_a_shard_whatever_its_address_or_voter() -> None:
    assert {network_shard("10.0.0.0/24", f"h-{i}", f"voter-{i}") for i in range(200)} == {
        network_shard("10.0.0.0/24", None, "v")}


def test_a_vote_without_a_subnet_falls_back_to_its_address_hash_then_to_its_voter() -> None:
    by_address = {network_shard(None, "h-1", f"voter-{i}") for i in range(200)}
    assert by_address == {3362855263 % PARTITIONS}
    assert network_shard("", "h-1", "voter-7") == 3362855263 % PARTITIONS  # an empty subnet is no subnet
    assert network_shard(None, None, "voter-7") == network_shard("", "", "voter-7") == 608077056 % PARTITIONS
    assert {network_shard(None, None, f"voter-{i}") for i in range(2000)} == set(range(PARTITIONS))


def test_an_empty_vote_batch_is_refused() -> None:
    for payload, version in (({"network_shard": 1, "votes": []}, 3), ({"voter_shard": 1, "votes": []}, 2)):
        with pytest.raises(EventParseError) as exc:
            parse_envelope(_raw("VoteCast", payload, version=version))
        assert exc.value.code == "invalid_payload"


def test_ids_are_version_7_unique_and_ordered_by_time() -> None:
    from massline.contracts.ids import uuid7

    ids = [uuid7(now_ms=1_700_000_000_000 + i // 100) for i in range(1000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert len(set(ids)) == 1000
    # Ordered by their millisecond; random within one.
    assert [i.int >> 80 for i in ids] == sorted(i.int >> 80 for i in ids)
    assert ids[0].int >> 80 == 1_700_000_000_000
    env = make_envelope(PhaseChanged(campaign_id="c", phase="voting"), campaign_id="c", producer="t")
    assert env.event_id.version == 7


def test_every_network_shard_is_sent_to_its_own_partition_so_no_consumer_of_the_vote_topic_sits_idle() -> None:
    spec = TOPICS[topics.VOTE]
    shards = {network_shard(f"10.{i % 256}.{i // 256}.0/24", None, "v") for i in range(5000)}
    assert {spec.partition_of(str(s)) for s in shards} == set(range(spec.partitions))
    assert spec.partition_of(b"7") == 7 and spec.partition_of(None) is None and spec.partition_of("x") is None
    # other topics are left to the producer's partitioner
    assert TOPICS[topics.VOTE_DECISION].partition_of("7") is None
