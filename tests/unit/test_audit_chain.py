"""The audit chain without a database: its canonical encoding, its hashes, and which row a check names."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from massline import audit
from massline.contracts import ResultsPublished
from services.scoring.anchors import seals_of

AT = datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=UTC)


def chain(n: int, campaign: str = "c1") -> list[audit.Row]:
    rows, prev = [], audit.GENESIS
    for seq in range(1, n + 1):
        entry = audit.Entry(campaign, "nomination.approve", f"nomination:{seq}", {"step": "office", "n": seq},
                            audit.staff("office", "office1"))
        row = audit.make_row(entry, seq, prev, AT + timedelta(seconds=seq))
        rows.append(row)
        prev = row.hash
    return rows


def head_of(rows: list[audit.Row]) -> audit.Head:
    return audit.Head("submission", rows[-1].campaign_id, rows[-1].seq, rows[-1].hash)


def test_canonical_encoding_is_one_spelling_per_value() -> None:
    assert audit.canonical({"b": 1, "a": [True, None, "推选"], "c": {"z": "", "y": -2}}) == \
        '{"a":[true,null,"推选"],"b":1,"c":{"y":-2,"z":""}}'.encode()
    assert audit.canonical({"q": 'a"\\\n'}) == b'{"q":"a\\"\\\\\\n"}'
    assert audit.canonical({"b": 1, "a": 2}) == audit.canonical({"a": 2, "b": 1})


@pytest.mark.parametrize("value", [{"points": 1.5}, {"x": [float("nan")]}, {1: "key not text"}, {"t": AT}])
def test_canonical_encoding_refuses_what_has_no_single_spelling(value: object) -> None:
    with pytest.raises(audit.NotCanonical):
        audit.canonical(value)


def test_times_are_written_in_utc_with_microseconds() -> None:
    beijing = timezone(timedelta(hours=8))
    assert audit.timestamp(AT.astimezone(beijing)) == "2024-05-01T08:00:00.123456Z"
    with pytest.raises(ValueError):
        audit.timestamp(datetime(2024, 5, 1))


def test_a_row_hash_is_sha256_of_the_previous_hash_and_the_canonical_row() -> None:
    first = chain(1)[0]
    body = ('{"action":"nomination.approve","actor":"office:office1","at":"2024-05-01T08:00:01.123456Z",'
            '"campaign_id":"c1","details":{"n":1,"step":"office"},"seq":1,"subject":"nomination:1"}')
    assert first.prev_hash == "0" * 64
    assert first.hash == hashlib.sha256(("0" * 64 + body).encode()).hexdigest()
    assert first.details == '{"n":1,"step":"office"}'


def test_an_intact_chain_verifies() -> None:
    rows = chain(5)
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert audit.verify_rows("submission", "c1", rows, head_of(rows)) is None


def test_a_changed_field_is_named_as_a_hash_mismatch_of_its_row() -> None:
    rows = chain(5)
    rows[2] = replace(rows[2], details='{"n":3,"step":"province"}')
    broken = audit.verify_rows("submission", "c1", rows, head_of(chain(5)))
    assert broken is not None
    assert (broken.service, broken.campaign_id, broken.seq, broken.kind) == ("submission", "c1", 3, "hash_mismatch")


def test_details_that_are_no_longer_json_are_a_hash_mismatch() -> None:
    rows = chain(3)
    rows[1] = replace(rows[1], details="not json")
    broken = audit.verify_rows("submission", "c1", rows, head_of(rows))
    assert broken is not None and (broken.seq, broken.kind) == (2, "hash_mismatch")


def test_a_deleted_row_is_named_as_a_broken_link() -> None:
    rows = chain(5)
    del rows[1]
    broken = audit.verify_rows("submission", "c1", rows, head_of(chain(5)))
    assert broken is not None and (broken.seq, broken.kind) == (2, "broken_link")
    assert "row 2 is missing" in broken.detail


def test_a_row_rewritten_with_a_recomputed_hash_breaks_the_next_link() -> None:
    rows = chain(4)
    forged = audit.make_row(audit.Entry("c1", "nomination.reject", "nomination:2", {}, "office:office1"), 2,
                            rows[0].hash, AT)
    rows[1] = forged
    broken = audit.verify_rows("submission", "c1", rows, head_of(rows))
    assert broken is not None and (broken.seq, broken.kind) == (3, "broken_link")


def test_a_deleted_tail_no_longer_reaches_the_head() -> None:
    rows = chain(5)
    broken = audit.verify_rows("submission", "c1", rows[:3], head_of(rows))
    assert broken is not None and (broken.seq, broken.kind) == (4, "broken_link")


def test_a_head_published_with_the_results_must_still_be_in_the_chain() -> None:
    rows = chain(3)
    check = audit.ChainCheck("submission", "c1")
    for r in rows:
        check.feed(r)
    assert check.check_anchor(2, rows[1].hash, "results version 1") is None
    broken = check.check_anchor(3, "f" * 64, "results version 2")
    assert broken is not None and (broken.seq, broken.kind) == (3, "anchor_mismatch")


def test_results_published_before_the_anchors_existed_still_parse() -> None:
    old = ResultsPublished.model_validate({"campaign_id": "c1", "version": 1, "categories": {}})
    assert old.audit_heads == [] and old.vote_log_roots == []
    new = ResultsPublished.model_validate({"campaign_id": "c1", "version": 2, "categories": {},
                                           "audit_heads": [{"service": "scoring", "seq": 4, "hash": "ab" * 32}]})
    assert new.audit_heads[0].seq == 4


def test_vote_log_seals_are_read_as_the_voting_service_lists_them_in_day_order() -> None:
    listed = [{"day": "2024-05-02", "seq": 1, "root": "bb", "leaf_count": 7, "sealed_at": "2024-05-03T00:00:30Z"},
              {"day": "2024-05-01", "seq": 2, "root": "aa", "leaf_count": 3, "sealed_at": "2024-05-02T00:00:30Z"},
              {"day": "2024-05-03"}, "junk"]
    assert [(r.day, r.root, r.votes) for r in seals_of({"seals": listed})] == [("2024-05-01", "aa", 3),
                                                                              ("2024-05-02", "bb", 7)]
    assert seals_of({"detail": "not found"}) == []
