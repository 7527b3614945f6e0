"""Brushing detectors on hand-made traffic: each catches its pattern, and shared NAT or missing data is not punished."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from massline.contracts import CastVote

from services.antifraud import domain

T = domain.Thresholds()
T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=timezone.utc)
TARGET = uuid.UUID(int=99)
OTHERS = [uuid.UUID(int=i) for i in range(1, 11)]


def cast(voter: str, entry: uuid.UUID = TARGET, at: datetime = T0, count: int = 1, *, ip: str | None = "ip",
         subnet: str | None = "203.0.113.0/24", device: str | None = None, verified: datetime | None = None):
    vote = CastVote(vote_id=uuid.uuid4(), voter_id=voter, entry_id=entry, category_id="cases", count=count,
                    cast_at=at, ip_hash=ip, subnet=subnet, device_hash=device or f"dev-{voter}",
                    identity_verified_at=verified or at - timedelta(days=3))
    return domain.VoteSignal.of("c", vote, T)


def run(votes: list[domain.VoteSignal], per_batch: int = 50,
        held_at: dict[uuid.UUID, datetime] | None = None) -> dict[str, set[uuid.UUID]]:
    """Feed votes in time order through the pipeline; the votes each reason covered (decisive findings only).

    held_at, when given, receives the time of the batch that first held each vote (its last vote's cast time).
    """
    store = domain.MemoryWindows()
    covered: dict[str, set[uuid.UUID]] = {}
    votes = sorted(votes, key=lambda v: v.cast_at)

    async def go() -> None:
        for i in range(0, len(votes), per_batch):
            batch = votes[i:i + per_batch]
            for finding, vs in await domain.detect(batch, store, T):
                if finding.decisive:
                    covered.setdefault(finding.reason_code, set()).update(v.vote_id for v in vs)
                    for v in vs:
                        if held_at is not None:
                            held_at.setdefault(v.vote_id, batch[-1].cast_at)
    asyncio.run(go())
    return covered


def ids(votes: list[domain.VoteSignal]) -> set[uuid.UUID]:
    return {v.vote_id for v in votes}


def test_one_identity_voting_faster_than_a_person_is_caught_with_every_vote_of_that_minute():
    votes = [cast("bot", at=T0 + timedelta(seconds=i)) for i in range(T.voter_per_minute + 1)]
    assert run(votes)["velocity_voter"] == ids(votes)


def test_one_device_used_by_many_identities_in_a_minute_is_caught():
    votes = [cast(f"v{i}", OTHERS[i % 3], T0 + timedelta(seconds=i), device="phone-farm-1", subnet=f"198.51.{i}.0/24")
             for i in range(T.device_per_minute + 1)]
    assert run(votes)["velocity_device"] == ids(votes)


def test_a_device_shared_by_a_family_is_not_punished_but_a_device_farm_is():
    family = [cast(f"fam{i}", at=T0 + timedelta(minutes=30 * i), device="family-phone") for i in range(3)]
    farm = [cast(f"farm{i}", at=T0 + timedelta(minutes=10 * i), device="farm-phone")
            for i in range(T.device_voters_per_day)]
    found = run(family + farm)
    assert found["device_shared"] == ids(farm)  # every farm vote of the day, the early ones too


def test_a_campus_nat_voting_heavily_for_its_own_university_is_not_punished():
    # 600 students behind one address in one hour, 40 % for their own university, the rest elsewhere.
    votes = []
    for i in range(600):
        entry = TARGET if i % 5 < 2 else OTHERS[i % len(OTHERS)]
        votes.append(cast(f"student{i}", entry, T0 + timedelta(seconds=6 * i), count=3, ip="campus-nat",
                          subnet="202.117.8.0/24"))
    assert run(votes) == {}


def test_a_botnet_network_giving_all_its_votes_to_one_entry_is_caught_within_the_minute():
    honest = [cast(f"h{i}", OTHERS[i % 10], T0 + timedelta(seconds=i), subnet=f"198.51.{i}.0/24") for i in range(50)]
    bots = [cast(f"bot{i}", TARGET, T0 + timedelta(seconds=i * 2), count=10, subnet="192.0.2.0/24") for i in range(20)]
    found = run(honest + bots)
    assert found["concentration_subnet"] == ids(bots)


def test_a_small_entry_is_not_punished_for_a_few_votes_from_one_network():
    votes = [cast(f"v{i}", TARGET, T0 + timedelta(seconds=i * 5), count=2, subnet="192.0.2.0/24") for i in range(10)]
    assert run(votes) == {}


def test_a_lockstep_wave_from_shared_networks_is_caught_and_honest_votes_in_the_same_seconds_are_not():
    honest = [cast(f"h{i}", TARGET, T0 + timedelta(seconds=i * 0.4), subnet=f"198.51.{i}.0/24") for i in range(5)]
    wave = [cast(f"bot{i}", TARGET, T0 + timedelta(seconds=i * 0.1), subnet=f"192.0.{i % 8}.0/24",
                 device=f"rnd{i}") for i in range(40)]
    found = run(honest + wave, per_batch=10)
    assert found["lockstep_group"] <= ids(wave)
    assert len(found["lockstep_group"]) >= 0.9 * len(wave)


def test_a_busy_entry_at_its_usual_rate_is_no_burst():
    # The previous hour gave the entry 5 requests per second; 30 in ten seconds is its normal pace.
    busy = [cast(f"p{i}", TARGET, T0 - timedelta(hours=1) + timedelta(seconds=i * 0.2),
                 subnet=f"10.{i % 200}.{i % 7}.0/24")
            for i in range(18000)]
    now = [cast(f"n{i}", TARGET, T0 + timedelta(seconds=i * 0.3), subnet=f"100.64.{i % 4}.0/24") for i in range(30)]
    found = run(busy + now, per_batch=500)
    assert "lockstep_group" not in found
    assert domain.burst_threshold(18000, T) == pytest.approx(300)


def test_fresh_identities_from_one_network_for_one_entry_are_caught_but_fresh_campus_students_are_not():
    bots = []
    for i in range(T.fresh_min_votes + 2):
        at = T0 + timedelta(seconds=20 * i)
        bots.append(cast(f"new{i}", TARGET, at, count=10, subnet="192.0.2.0/24", verified=at - timedelta(seconds=60)))
    students = []
    for i in range(40):
        at = T0 + timedelta(seconds=10 * i)
        entry = TARGET if i % 5 < 2 else OTHERS[i % 10]
        students.append(cast(f"s{i}", entry, at, subnet="202.117.8.0/24", verified=at - timedelta(seconds=90)))
    found = run(bots + students)
    assert found["fresh_identity_surge"] == ids(bots)


def test_machine_regular_gaps_are_caught_and_human_gaps_are_not():
    timer = [cast("timer", OTHERS[i % 3], T0 + timedelta(seconds=420 * i + 0.1 * (i % 2))) for i in range(6)]
    human_gaps = [30, 400, 95, 1200, 61]
    human, at = [], T0
    for gap in [0] + human_gaps:
        at += timedelta(seconds=gap)
        human.append(cast("human", OTHERS[0], at))
    found = run(timer + human, per_batch=1)
    assert found["regular_gaps"] == ids(timer)
    assert domain.regular_gaps([T0 + timedelta(seconds=60 * i) for i in range(T.regular_min_votes - 1)], T) is None


@pytest.mark.parametrize("subnet", [None, "", "garbage", "999.1.1.0/24", "10.0.0.0/8", "unknown"])
def test_missing_or_garbage_network_data_is_unknown_and_never_punished(subnet):
    votes = [cast(f"v{i}", TARGET, T0 + timedelta(seconds=i), count=10, ip=None, subnet=subnet, device="null")
             for i in range(100)]
    assert all(v.subnet is None and v.device_hash is None and v.ip_hash is None for v in votes)
    assert run(votes) == {}


def test_network_volume_alone_only_raises_an_alert():
    votes = [cast(f"v{i}", OTHERS[i % 10], T0 + timedelta(seconds=i * 0.1), ip="carrier-nat", subnet="100.64.0.0/24")
             for i in range(T.subnet_per_minute + 1)]
    store = domain.MemoryWindows()
    results = asyncio.run(domain.detect(votes, store, T))
    reasons = {f.reason_code: f.decisive for f, _ in results}
    assert reasons == {"velocity_ip": False, "velocity_subnet": False}
    assert all(not covered for _, covered in results)


def test_every_reason_has_a_readable_explanation_with_its_numbers():
    votes = [cast("bot", at=T0 + timedelta(seconds=i)) for i in range(T.voter_per_minute + 1)]
    finding, _ = asyncio.run(domain.detect(votes, domain.MemoryWindows(), T))[0]
    assert finding.reason_code in domain.REASONS
    assert f"{T.voter_per_minute + 1} vote requests from one identity" in finding.explanation
    assert finding.evidence == {"requests": T.voter_per_minute + 1, "limit": T.voter_per_minute}


def test_subnets_are_kept_only_as_a_24_or_a_64():
    assert domain.clean_subnet(" 203.0.113.0/24 ") == "203.0.113.0/24"
    assert domain.clean_subnet("2001:db8:1:2::/64") == "2001:db8:1:2::/64"
    assert domain.clean_subnet("203.0.113.7") is None


def test_a_class_rallying_for_its_university_on_the_campus_nat_is_not_punished_but_a_fresh_botnet_is():
    # 300 students already voted today through the campus NAT; then a class of 40 verifies and votes at once.
    earlier = [cast(f"s{i}", OTHERS[i % 10], T0 - timedelta(hours=3) + timedelta(seconds=30 * i), count=2,
                    subnet="202.117.8.0/24") for i in range(300)]
    rally = []
    for i in range(40):
        at = T0 + timedelta(seconds=3 * i)
        rally.append(cast(f"class{i}", TARGET, at, count=10, subnet="202.117.8.0/24",
                          verified=at - timedelta(seconds=60)))
    assert run(earlier + rally) == {}
    botnet = []
    for i in range(40):
        at = T0 + timedelta(seconds=3 * i)
        botnet.append(cast(f"bot{i}", TARGET, at, count=10, subnet="192.0.2.0/24", verified=at - timedelta(seconds=60)))
    found = run(earlier + botnet)
    assert set().union(*found.values()) == ids(botnet)


def camouflaged_crew(subnet: str, n: int, start: datetime) -> list[domain.VoteSignal]:
    """Identities with their own (spoofed) devices, one after another, each giving 6 votes to the target and 4 to
    popular entries at a human pace, the target vote third."""
    votes, rng = [], random.Random(subnet)
    for i in range(n):
        at = start + timedelta(seconds=90 * i)
        for entry, count in [(OTHERS[0], 1), (OTHERS[1], 1), (TARGET, 6), (OTHERS[0], 1), (OTHERS[2], 1)]:
            votes.append(cast(f"{subnet}-crew{i}", entry, at, count, subnet=subnet, device=f"spoofed-{subnet}-{i}"))
            at += timedelta(seconds=3 + rng.expovariate(1 / 20))
    return votes


def test_a_network_whose_identities_all_vote_for_one_entry_is_caught_with_their_camouflage_votes():
    crew = camouflaged_crew("192.0.2.0/24", 20, T0)
    honest = [cast(f"h{i}", OTHERS[i % 10], T0 + timedelta(seconds=17 * i), subnet=f"198.51.{i}.0/24")
              for i in range(100)]
    held_at: dict[uuid.UUID, datetime] = {}
    found = run(crew + honest, per_batch=1, held_at=held_at)
    assert found == {"covoting_subnet": ids(crew)}  # the votes for popular entries too, and no honest vote
    # Once the network is known, a later identity's votes are held within two minutes of being cast: its votes for
    # popular entries are held when it votes for the target, not before (alone they look like anyone's).
    late = [v for v in crew if v.voter_id.endswith(("crew15", "crew16", "crew17", "crew18", "crew19"))]
    assert all((held_at[v.vote_id] - v.cast_at).total_seconds() <= 120 for v in late)


def test_a_campus_that_mostly_votes_for_its_university_and_a_small_office_that_all_does_are_not_punished():
    # 200 students on one NAT: 85 % of them give their university about half their votes, the others vote elsewhere.
    campus, rng = [], random.Random(7)
    for i in range(200):
        at = T0 + timedelta(seconds=30 * i)
        for entry in [TARGET, OTHERS[i % 10]] if i % 20 >= 3 else [OTHERS[i % 10], OTHERS[(i + 1) % 10]]:
            campus.append(cast(f"student{i}", entry, at, 5, ip="campus-nat", subnet="202.117.8.0/24"))
            at += timedelta(seconds=3 + rng.expovariate(1 / 20))
    # Then a class of 40 gives its university all ten votes within two minutes, as the campus is allowed to.
    rally = [cast(f"class{i}", TARGET, T0 + timedelta(hours=2, seconds=3 * i), 10, ip="campus-nat",
                  subnet="202.117.8.0/24") for i in range(40)]
    # An office whose nine people all give all their votes to their employer, from the office's one address.
    office = [cast(f"staff{i}", OTHERS[4], T0 + timedelta(seconds=40 * i), 10, ip="office", subnet="198.18.7.0/24")
              for i in range(T.covote_min_identities - 1)]
    assert run(campus + rally + office) == {}


def test_identities_of_one_network_voting_again_after_the_same_interval_are_caught_before_five_votes_each():
    # A timer makes each identity vote for the target every 420 s; new identities join every ten minutes.
    drip = [cast(f"drip{i}", TARGET, T0 + timedelta(seconds=600 * i + 420 * k + 0.3 * (k % 2)), subnet="192.0.2.0/24")
            for i in range(6) for k in range(3)]
    # People on a busy NAT voting again for the same entry after all sorts of intervals.
    gaps = [35, 410, 95, 1200, 61, 250, 700, 48, 3000, 130]
    people = [cast(f"p{i}", TARGET, T0 + timedelta(seconds=60 * i + g * k), subnet="100.64.0.0/24")
              for i, g in enumerate(gaps) for k in range(2)]
    held_at: dict[uuid.UUID, datetime] = {}
    found = run(drip + people, per_batch=1, held_at=held_at)
    assert found == {"timer_subnet": ids(drip)}
    # Caught at the third identity's second vote (no identity has more than three votes yet), with the network's
    # earlier votes for the target; from then on every vote that repeats the interval is held in the batch it
    # arrives in (a new identity's first vote, which has no interval yet, at the network's next one).
    third = sorted(v.cast_at for v in drip if v.voter_id == "drip2")[1]
    assert min(held_at.values()) == third
    repeats = [v for v in drip if v.cast_at > min(w.cast_at for w in drip if w.voter_id == v.voter_id)]
    assert all(held_at[v.vote_id] == v.cast_at for v in repeats if v.cast_at > third)


def test_a_co_voting_finding_explains_itself_with_its_numbers():
    crew = camouflaged_crew("192.0.2.0/24", T.covote_min_identities, T0)

    async def go() -> list:
        store, out = domain.MemoryWindows(), []
        for v in sorted(crew, key=lambda v: v.cast_at):
            out += [f for f, _ in await domain.detect([v], store, T)]
        return out
    [finding, *_] = asyncio.run(go())
    assert finding.reason_code == "covoting_subnet" and finding.reason_code in domain.REASONS
    assert finding.evidence["identities"] == T.covote_min_identities
    assert finding.evidence["share_of_identities"] >= T.covote_share
    assert f"{T.covote_min_identities} of the {finding.evidence['network_identities']} identities" in \
        finding.explanation
    assert "192.0.2.0/24" in finding.explanation
