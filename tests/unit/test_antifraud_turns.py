"""One browser voting for many identities in turn (代投): someone at an office PC types a colleague's number, the
colleague reads the code out, the vote goes in, a new private window for the next. Against it, people who share a
PC at a shift change, and people who merely send the same browser string from behind one address."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import datetime, timedelta

import pytest

from massline.contracts import CastVote
from services.antifraud import domain
from services.voting.domain import issue_ticket, read_ticket, stamp_page_view
from tests.unit.test_antifraud_detectors import T0, TARGET, T, crowd, run
from tests.unit.test_antifraud_explanations import findings

OFFICE_NAT = "office-nat-1"
OFFICE_NET = "1.85.60.0/24"
EDGE = "ua-edge-109"
CHROME = "ua-chrome-109"


def sitting(voter: str, asked: datetime, code_s: float, vote_s: float, *, entry: uuid.UUID = TARGET,
            ip: str = OFFICE_NAT, subnet: str = OFFICE_NET, ua: str = EDGE, device: str | None = None,
            count: int = 10) -> domain.VoteSignal:
    """One identity's sitting: its code sent at `asked`, typed `code_s` later, its vote `vote_s` after that."""
    verified = asked + timedelta(seconds=code_s)
    at = verified + timedelta(seconds=vote_s)
    vote = CastVote(vote_id=uuid.uuid4(), voter_id=voter, entry_id=entry, category_id="cases", count=count, cast_at=at,
                    ip_hash=ip, subnet=subnet, device_hash=device, identity_verified_at=verified,
                    user_agent_hash=ua, page_viewed_at=verified + timedelta(seconds=1), code_sent_at=asked)
    return domain.VoteSignal.of("c", vote, T)


def insider(rng: random.Random, n: int, start: datetime, *, ua: str = EDGE) -> list[domain.VoteSignal]:
    """`n` colleagues in turn at one PC: a new private window each (a new fingerprint, or none), the number typed
    and the code read out (12–40 s), the vote (2–6 s); then the next window (4–15 s) and its page (3–10 s)."""
    out, at = [], start
    for i in range(n):
        v = sitting(f"colleague{i}", at, rng.uniform(12, 40), rng.uniform(2, 6), ua=ua,
                    device=f"private-{i}" if rng.random() < 0.5 else None)
        out.append(v)
        at = v.cast_at + timedelta(seconds=rng.uniform(4, 15) + rng.uniform(3, 10))
    return out


def own_times(rng: random.Random, n: int, start: datetime, span_s: float, *, ua: str,
              ip: str = OFFICE_NAT, name: str = "staff") -> list[domain.VoteSignal]:
    """`n` people behind one address sending one browser string (PCs installed from one image), each at their own
    time within `span_s`: the code typed 12–120 s after asking, the vote 6 s to half an hour after verifying."""
    return [sitting(f"{name}{i}", start + timedelta(seconds=rng.uniform(0, span_s)), rng.uniform(12, 120),
                    min(rng.lognormvariate(3.5, 0.9), 1800), ua=ua, ip=ip, device=f"pc-{name}{i}", count=1)
            for i in range(n)]


def shift_change(rng: random.Random, pcs: int, per_pc: int, start: datetime) -> list[domain.VoteSignal]:
    """A hospital's nurse stations at a shift change: on each PC (one image, one address for the hospital) the
    outgoing and incoming shift's `per_pc` nurses take turns, 20–120 s apart, for their own hospital."""
    out = []
    for pc in range(pcs):
        at = start + timedelta(seconds=rng.uniform(0, 600))
        for j in range(per_pc):
            v = sitting(f"nurse{pc}-{j}", at, rng.uniform(12, 40), rng.uniform(3, 20), ip="hospital-nat",
                        subnet="1.85.70.0/24", ua=CHROME, device=f"station-{pc}", count=10)
            out.append(v)
            at = v.cast_at + timedelta(seconds=rng.uniform(20, 120))
    return out


def held(votes: list[domain.VoteSignal]) -> dict[str, set[uuid.UUID]]:
    """The votes each rule held or invalidated."""
    return run(votes)


def every(found: dict[str, set[uuid.UUID]]) -> set[uuid.UUID]:
    return set().union(*found.values())


@pytest.mark.parametrize("seed", range(4))
def test_colleagues_voted_for_in_turn_at_one_browser_are_held_and_the_office_s_own_voters_are_not(seed: int) -> None:
    rng = random.Random(seed)
    ring = insider(rng, 35, T0)
    office = own_times(rng, 30, T0 - timedelta(minutes=10), 1800, ua=CHROME)  # the same address, their own PCs
    found = held(crowd(600, T0 - timedelta(hours=1), 7200, seed=seed) + ring + office)
    assert {v.vote_id for v in ring} <= found["browser_turns"]
    assert not every(found) & {v.vote_id for v in office}


@pytest.mark.parametrize("seed", range(4))
def test_a_shift_change_at_shared_nurse_stations_is_not_held(seed: int) -> None:
    rng = random.Random(seed)
    nurses = shift_change(rng, 8, 5, T0) + shift_change(rng, 8, 5, T0 + timedelta(hours=8))
    assert not every(held(crowd(600, T0 - timedelta(hours=1), 7200, seed=seed) + nurses)) & {v.vote_id for v in nurses}


@pytest.mark.parametrize(("people", "seed"), [(p, s) for p in (40, 90, 180, 400) for s in range(3)])
def test_an_office_of_one_image_voting_quickly_for_its_own_entry_is_not_held(people: int, seed: int) -> None:
    # At their own times, from one every three minutes to one every 18 s over two hours (sparse ones leave gaps
    # between sittings, dense ones overlap), twice as quick from verifying to voting as the campaign's crowd (they
    # know the entry they back): one browser string and quick votes are the place's, one piece of evidence.
    rng = random.Random(seed)
    office = own_times(rng, people, T0, 7200, ua=CHROME)
    assert not every(held(crowd(300, T0, 7200, seed=seed) + office)) & {v.vote_id for v in office}


def test_turns_for_many_entries_are_not_held_and_a_code_asked_on_another_day_is_no_sitting() -> None:
    rng = random.Random(7)
    ring = insider(rng, 20, T0)
    spread = [domain.VoteSignal.of("c", CastVote(
        vote_id=v.vote_id, voter_id=v.voter_id, entry_id=uuid.UUID(int=i % 4 + 1), category_id="cases",
        count=v.count, cast_at=v.cast_at, ip_hash=v.ip_hash, subnet=v.subnet, device_hash=v.device_hash,
        identity_verified_at=v.verified_at, user_agent_hash=v.ua, code_sent_at=v.asked), T)
        for i, v in enumerate(ring)]  # a library's PC, each reader for their own
    assert not every(held(crowd(300, T0 - timedelta(hours=1), 7200) + spread)) & {v.vote_id for v in spread}
    old = [sitting(f"back{i}", T0 - timedelta(days=1), 20, 86_400 + 40 * i) for i in range(20)]
    assert not every(held(crowd(300, T0 - timedelta(hours=1), 7200) + old)) & {v.vote_id for v in old}


def test_the_finding_says_how_many_took_turns_and_how_fast_in_both_languages() -> None:
    ring = insider(random.Random(3), T.turns_min, T0)
    f = findings(crowd(300, T0 - timedelta(hours=1), 7200) + ring, per_batch=10)["browser_turns"]
    assert f.level == "hold" and f.evidence["identities"] == f.evidence["for_entry"] == T.turns_min == 12
    assert "12 identities voted from one browser" in f.explanation and "never while another's was open" in f.explanation
    assert "依次有 12 个身份投票" in f.explanation_zh and "从不与其他身份的验证过程重叠" in f.explanation_zh
    assert len(ring) == 12 and not findings(crowd(300, T0 - timedelta(hours=1), 7200) + ring[:-1]).get("browser_turns")


def test_the_ticket_carries_when_its_code_was_sent_and_keeps_it_when_the_page_is_stamped() -> None:
    secret = "s" * 40
    token = issue_ticket(secret, voter_id="v1", campaign_id="c", method="sms", ttl_s=600, code_sent_at=1_700_000_000)
    ticket = read_ticket(secret, token, "c")
    assert ticket.code_sent_at == 1_700_000_000
    assert read_ticket(secret, stamp_page_view(secret, ticket), "c").code_sent_at == 1_700_000_000
    assert read_ticket(secret, issue_ticket(secret, voter_id="v2", campaign_id="c", method="wechat", ttl_s=600),
                       "c").code_sent_at is None


def test_a_sitting_that_begins_after_its_vote_is_read_as_unknown() -> None:
    v = sitting("x", T0, 20, 5)
    late = CastVote(vote_id=uuid.uuid4(), voter_id="x", entry_id=TARGET, category_id="cases", count=1,
                    cast_at=v.cast_at, ip_hash="a", subnet=OFFICE_NET, identity_verified_at=v.verified_at,
                    user_agent_hash=EDGE, code_sent_at=v.cast_at + timedelta(seconds=5))
    assert v.asked is not None and domain.VoteSignal.of("c", late, T).asked is None


def test_a_colleague_whose_sitting_follows_a_pc_s_run_from_another_pc_is_not_in_its_turns() -> None:
    # An outside check's insider on an office PC's normal browser (its fingerprint kept) sent the office image's
    # browser string; a colleague at her own PC on the same image asked for her code 20 s after the run's last vote
    # and was held with it. A run from one device leaves out the sittings from another.
    rng = random.Random(11)
    ring = [dataclasses.replace(v, device_hash="office-pc-1") for v in insider(rng, 14, T0, ua=CHROME)]
    last = max(v.cast_at for v in ring)
    colleague = sitting("staff-own-pc", last + timedelta(seconds=20), 25, 9, ua=CHROME, device="pc-staff", count=1)
    found = held(crowd(600, T0 - timedelta(hours=1), 7200, seed=11) + ring + [colleague])
    assert {v.vote_id for v in ring} <= found["browser_turns"]
    assert colleague.vote_id not in every(found)


@pytest.mark.parametrize("per_batch", [1, 7, 100])
def test_a_run_across_the_turn_of_the_hour_is_held_whole_however_the_votes_are_batched(per_batch: int) -> None:
    # T0 is on the hour: a run a dozen sittings long before it goes on for a dozen more after. Its later sittings
    # are read with the hour before; one batch holding both hours' votes covers the whole run too (its earlier
    # votes read a run of their hour alone).
    ring = insider(random.Random(4), 40, T0 - timedelta(minutes=18))
    assert sum(v.cast_at < T0 for v in ring) >= 12 and sum(v.cast_at >= T0 for v in ring) >= 12
    covered = run(ring, per_batch=per_batch).get("browser_turns", set())
    assert covered == {v.vote_id for v in ring}


def sim_drawer(rng: random.Random, phones: int, numbers: int, start: datetime) -> list[domain.VoteSignal]:
    """A unit's publicity office voting its drawer of spare SIMs: `phones` office phones side by side on the office's
    line, each its own WeChat string and fingerprint, swapping in the next SIM 60–130 s after the last vote (WeChat
    restarted, the page reopened), the code read on the phone itself (5–12 s), the vote 3–8 s later."""
    out = []
    for phone in range(phones):
        at = start + timedelta(seconds=rng.uniform(0, 120))
        for j in range(numbers):
            v = sitting(f"sim{phone}-{j}", at, rng.uniform(5, 12), rng.uniform(3, 8), ua=f"ua-wechat-{phone}",
                        device=f"office-phone-{phone}")
            out.append(v)
            at = v.cast_at + timedelta(seconds=rng.uniform(60, 130))
    return out


def village_clerk(rng: random.Random, villagers: int, start: datetime, village: int = 0) -> list[domain.VoteSignal]:
    """A village clerk taking villagers one after another on the clerk's own phone (the village office's line), every
    one of them for their village's case: the number typed, the code read off the villager's old handset (20–90 s),
    the vote 5–20 s later, the next villager sitting down 15–150 s after."""
    out, at = [], start
    for j in range(villagers):
        v = sitting(f"villager{village}-{j}", at, rng.uniform(20, 90), rng.uniform(5, 20), ip=f"village-{village}",
                    subnet=f"36.40.{village}.0/24", ua=f"ua-clerk-{village}", device=f"clerk-phone-{village}")
        out.append(v)
        at = v.cast_at + timedelta(seconds=rng.uniform(15, 150))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_a_drawer_of_sims_voted_one_by_one_on_office_phones_is_held_and_clerks_helping_loyal_villagers_are_not(
        seed: int) -> None:
    # Each office phone keeps its fingerprint while its SIMs change a minute or two apart, each code arriving on the
    # phone itself. A village clerk's phone takes villagers at the same pace, all for their village, but each code is
    # read off another handset; a nurse station passes between a shift's nurses, each code on her own phone.
    rng = random.Random(seed)
    drawer = sim_drawer(rng, 6, 16, T0)
    clerks = [v for k in range(6) for v in village_clerk(rng, 22, T0 + timedelta(seconds=rng.uniform(0, 900)), k)]
    nurses = shift_change(rng, 4, 16, T0)
    found = held(crowd(600, T0 - timedelta(hours=1), 7200, seed=seed) + drawer + clerks + nurses)
    assert {v.vote_id for v in drawer} <= found.get("browser_turns", set())
    assert not every(found) & {v.vote_id for v in clerks + nurses}
    text = findings(drawer[:16])["browser_turns"].explanation
    assert "16 identities voted from one browser" in text and "read on the device that asked for it" in text


@pytest.mark.parametrize("seed", range(3))
def test_a_drawer_phone_is_held_by_its_sixth_card_and_quick_nurses_passing_their_pcs_are_not(seed: int) -> None:
    # A drawer phone's cards are held as soon as six have voted in a row, not after twelve: no one else reads a string
    # of codes on one device. A ward whose nurses type their codes quickly (off their own phones, 11–42 s a sitting,
    # a quarter of them within 20 s) passes each of its 30 PCs between ten: read as it grows, a run of six or eight
    # of them now and then has half its sittings that quick, never three in four.
    rng = random.Random(seed)
    drawer = sim_drawer(rng, 1, 6, T0)
    nurses = []
    for pc in range(30):
        at = T0 + timedelta(seconds=rng.uniform(0, 1800))
        for j in range(10):
            v = sitting(f"nurse{pc}-{j}", at, rng.uniform(8, 30), rng.uniform(3, 12), ip="hospital-nat",
                        subnet="1.85.70.0/24", ua=CHROME, device=f"station-{pc}", count=10)
            nurses.append(v)
            at = v.cast_at + timedelta(seconds=rng.uniform(20, 120))
    found = held(crowd(600, T0 - timedelta(hours=1), 7200, seed=seed) + drawer + nurses)
    assert {v.vote_id for v in drawer} <= found.get("browser_turns", set())
    assert not every(found) & {v.vote_id for v in nurses}
    case = findings(drawer)["browser_turns"]  # the limit it names is the one it was held by, not a browser's twelve
    assert "(limit 5 in a row on one device reading its own codes;" in case.explanation
    assert "（同一设备读取自身验证码时连续上限 5 个；" in case.explanation_zh


@pytest.mark.parametrize("seed", range(3))
def test_students_on_their_own_phones_autofilling_their_codes_one_after_another_behind_one_address_are_not_held(
        seed: int) -> None:
    # A campus's quiet hour: students on one phone model and WeChat version (one user agent string) behind the
    # campus's address, each on their own phone, the code filled in from the SMS as it lands, the host's deep link
    # putting their school's entry under the thumb: sittings as short as a drawer phone's, one after another a minute
    # or two apart, all for the school. Each phone is its own device: no turns.
    rng = random.Random(seed)
    students, at = [], T0
    for j in range(30):
        v = sitting(f"student{j}", at, rng.uniform(5, 10), rng.uniform(2, 6), ip="campus-nat", subnet="1.85.90.0/24",
                    ua="ua-wechat-ios", device=f"phone-{j}")
        students.append(v)
        at = v.cast_at + timedelta(seconds=rng.uniform(40, 170))
    found = held(crowd(600, T0 - timedelta(hours=1), 7200, seed=seed) + students)
    assert not every(found) & {v.vote_id for v in students}


def cloud_phones(rng: random.Random, phones: int, numbers: int, start: datetime) -> list[domain.VoteSignal]:
    """Rented cloud phones, each on an address of its own in a data centre, running `numbers` numbers one after
    another: a new phone for each (一键新机: a new model string, its storage wiped), the code relayed by a platform
    (8–30 s), the vote 2–6 s later, the next number 20–60 s after."""
    out = []
    for phone in range(phones):
        at = start + timedelta(seconds=rng.uniform(0, 90))
        for j in range(numbers):
            v = sitting(f"cloud{phone}-{j}", at, rng.uniform(8, 30), rng.uniform(2, 6), ip=f"idc-{phone}",
                        subnet=f"122.228.{160 + phone % 3}.0/24", ua=f"ua-model-{phone}-{j}",
                        device=f"new-phone-{phone}-{j}")
            out.append(v)
            at = v.cast_at + timedelta(seconds=rng.uniform(20, 60))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_cloud_phones_running_numbers_one_after_another_each_on_its_own_address_are_held(seed: int) -> None:
    # Each number on a new phone's id and string, so no browser repeats: the address alone takes them in turn.
    rng = random.Random(seed)
    farm = cloud_phones(rng, 8, 12, T0)
    found = held(crowd(600, T0 - timedelta(hours=1), 7200, seed=seed) + farm)
    assert {v.vote_id for v in farm} <= found.get("address_turns", set())
    text = findings(farm[:12])["address_turns"].explanation
    assert "12 identities voted from one address" in text and "a device none of the others came from" in text


@pytest.mark.parametrize(("people", "seed"), [(p, s) for p in (60, 150, 400) for s in range(3)])
def test_a_campus_s_students_on_their_own_phones_behind_one_address_all_for_their_school_are_not_held(
        people: int, seed: int) -> None:
    # Students on their own phones (each its own device id and browser) behind the campus's one address, coming over
    # an hour at their own times, every one for the school: never one at a time for long.
    rng = random.Random(seed)
    students = [sitting(f"student{i}", T0 + timedelta(seconds=rng.uniform(0, 3600)), rng.uniform(6, 60),
                        min(rng.lognormvariate(3.0, 1.0), 600), ip="campus-nat", subnet="1.85.90.0/24",
                        ua=f"ua-wechat-{i}", device=f"phone-{i}") for i in range(people)]
    found = held(crowd(600, T0 - timedelta(hours=1), 7200, seed=seed) + students)
    assert not every(found) & {v.vote_id for v in students}


def test_a_colleague_whose_sitting_was_open_with_an_insider_s_in_private_windows_is_not_in_its_turns() -> None:
    # An insider in private windows (no fingerprint to tell the PC by) on the office image's browser string; a
    # colleague at her own PC on that image asks for her code seconds after his thirteenth vote and is still typing
    # it when he begins the next sitting. Two sittings open at once are two pairs of hands: neither is a turn.
    rng = random.Random(5)
    ring = [dataclasses.replace(v, device_hash=None) for v in insider(rng, 24, T0, ua=CHROME)]
    colleague = sitting("staff-own-pc", ring[12].cast_at + timedelta(seconds=3), 40, 10, ua=CHROME,
                        device="pc-staff", count=1)
    assert ring[13].asked < colleague.cast_at  # his next began while hers was open
    found = held(crowd(600, T0 - timedelta(hours=1), 7200, seed=5) + ring + [colleague])
    assert colleague.vote_id not in every(found)
    assert {v.vote_id for v in ring[:12]} <= found["browser_turns"]
