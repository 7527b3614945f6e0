"""Voter tickets: only tickets this service signed, for this campaign, not yet expired, are accepted."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from services.voting import domain
from services.voting.domain import TicketError, issue_ticket, keyed_hash, read_ticket, stamp_page_view, user_agent_hash

SECRET = "a-secret-of-at-least-thirty-two-bytes!!"


def test_a_fresh_ticket_reads_back() -> None:
    token = issue_ticket(SECRET, voter_id="v1", campaign_id="c1", method="sms", ttl_s=60, now=1_000)
    t = read_ticket(SECRET, token, "c1", now=1_030)
    assert (t.voter_id, t.campaign_id, t.method, t.verified_at, t.expires_at) == ("v1", "c1", "sms", 1_000, 1_060)


def test_a_ticket_says_when_it_was_verified_to_the_millisecond_and_keeps_it_when_the_page_is_stamped() -> None:
    token = issue_ticket(SECRET, voter_id="v1", campaign_id="c1", method="sms", ttl_s=60, now=1_000.734)
    t = read_ticket(SECRET, token, "c1", now=1_030)
    assert (t.verified_at, t.verified_at_s) == (1_000, 1_000.734)
    stamped = read_ticket(SECRET, stamp_page_view(SECRET, t, now=1_002.5), "c1", now=1_030)
    assert stamped.verified_at_s == 1_000.734 and stamped.page_viewed_at == 1_002


def test_the_same_claims_verify_with_the_jwt_library_too() -> None:
    token = issue_ticket(SECRET, voter_id="v1", campaign_id="c1", method="sms", ttl_s=60)
    assert jwt.decode(token, SECRET, algorithms=["HS256"], audience="massline-voter")["sub"] == "v1"


def _code(token: str, campaign: str = "c1", now: float = 1_030) -> str:
    with pytest.raises(TicketError) as exc:
        read_ticket(SECRET, token, campaign, now=now)
    return exc.value.code


def test_expired_foreign_forged_and_altered_tickets_are_refused() -> None:
    token = issue_ticket(SECRET, voter_id="v1", campaign_id="c1", method="sms", ttl_s=60, now=1_000)
    assert _code(token, now=1_060) == "ticket_expired"
    assert _code(token, campaign="c2") == "ticket_invalid"
    assert _code(issue_ticket("another-secret-entirely-32-bytes-long", voter_id="v1", campaign_id="c1",
                              method="sms", ttl_s=60, now=1_000)) == "ticket_invalid"
    header, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert _code(f"{header}.{forged_payload}.{sig}") == "ticket_invalid"
    assert _code(f"{header}.{payload}.{sig[:-2]}xx") == "ticket_invalid"
    assert _code("not.a.ticket") == "ticket_invalid"
    assert _code("") == "ticket_invalid"
    none_alg = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    assert _code(f"{none_alg}.{payload}.") == "ticket_invalid"


def test_a_staff_token_is_not_a_voter_ticket() -> None:
    staff = jwt.encode({"sub": "admin", "aud": "massline-staff", "exp": 2_000, "iat": 1_000, "cid": "c1"}, SECRET,
                       algorithm="HS256")
    assert _code(staff) == "ticket_invalid"


def test_a_ticket_stamped_on_the_page_reads_back_with_its_page_view_and_the_same_life() -> None:
    token = issue_ticket(SECRET, voter_id="v1", campaign_id="c1", method="sms", ttl_s=60, now=1_000)
    plain = read_ticket(SECRET, token, "c1", now=1_010)
    assert plain.page_viewed_at is None  # a ticket without the claim (all issued before it) still votes
    stamped = stamp_page_view(SECRET, plain, now=1_010)
    t = read_ticket(SECRET, stamped, "c1", now=1_030)
    assert (t.voter_id, t.campaign_id, t.method, t.verified_at, t.expires_at, t.page_viewed_at) == (
        "v1", "c1", "sms", 1_000, 1_060, 1_010)  # stamping never lengthens a ticket's life
    assert jwt.decode(stamped, SECRET, algorithms=["HS256"], audience="massline-voter",
                      options={"verify_exp": False})["pv"] == 1_010
    assert _code(stamped, now=1_060) == "ticket_expired"
    # The claim is signed: a holder cannot move the page view.
    header, payload, sig = stamped.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["pv"] = 900
    moved = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert _code(f"{header}.{moved}.{sig}") == "ticket_invalid"


def test_the_user_agent_is_kept_only_as_a_keyed_hash_and_a_missing_one_as_none() -> None:
    ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) MicroMessenger/8.0.47"
    assert user_agent_hash(SECRET, ua) == keyed_hash(SECRET, "ua", ua)
    assert ua not in user_agent_hash(SECRET, ua)  # type: ignore[operator]
    assert user_agent_hash(SECRET, ua) != user_agent_hash(SECRET, ua + " ")
    assert user_agent_hash(SECRET, None) is None and user_agent_hash(SECRET, "") is None
    long = "Mozilla/5.0 " + "x" * 5000  # hashed, not remembered
    assert user_agent_hash(SECRET, long) == keyed_hash(SECRET, "ua", long)


@pytest.mark.parametrize("placeholder", [None, "", "unknown", " NULL ", "undefined", "0", "00000000", "-"])
def test_a_placeholder_device_or_user_agent_is_no_value_so_a_broken_client_is_not_one_shared_phone(placeholder):
    assert domain.device_hash("s" * 32, placeholder) is None
    assert domain.user_agent_hash("s" * 32, placeholder) is None
    assert domain.device_hash("s" * 32, "fp-3f9a") == domain.keyed_hash("s" * 32, "device", "fp-3f9a")
