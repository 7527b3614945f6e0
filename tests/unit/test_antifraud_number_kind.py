"""The kind of phone number an identity verified with: read from the number's segment by the voting service, carried
in the ticket (never the number), weighed by the coordination rule as one more trait of a cohort — and not weighed
where many identities of one network back the entry (an employer's group plan)."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from massline.contracts import CastVote
from services.antifraud import domain
from services.voting.domain import issue_ticket, number_kind, read_ticket, stamp_page_view
from tests.unit.test_antifraud_detectors import OTHERS, T0, TARGET, T, crowd, ids, run
from tests.unit.test_antifraud_explanations import figures, findings

SECRET = "s" * 40


@pytest.mark.parametrize(("phone", "kind"), [
    ("13800138000", "mobile"), ("19912345678", "mobile"), ("+86 139 1234 5678", "mobile"),
    ("8617012345678", "virtual"), ("17112345678", "virtual"), ("16512345678", "virtual"), ("16712345678", "virtual"),
    ("14512345678", "data"), ("14812345678", "data"),
    ("12345678901", None), ("1381234567", None), ("+1 415 555 0100", None), ("", None),
])
def test_a_number_s_kind_is_read_from_its_segment(phone: str, kind: str | None) -> None:
    assert number_kind(phone) == kind


def test_the_ticket_carries_the_kind_and_never_the_number_and_keeps_it_when_the_page_is_stamped() -> None:
    token = issue_ticket(SECRET, voter_id="v1", campaign_id="c", method="sms", ttl_s=600, number_kind="virtual")
    assert "17012345678" not in token
    ticket = read_ticket(SECRET, token, "c")
    assert ticket.number_kind == "virtual"
    assert read_ticket(SECRET, stamp_page_view(SECRET, ticket), "c").number_kind == "virtual"
    plain = read_ticket(SECRET, issue_ticket(SECRET, voter_id="v2", campaign_id="c", method="wechat", ttl_s=600), "c")
    assert plain.number_kind is None


def signal(voter: str, entry: uuid.UUID, at, *, subnet: str, kind: str | None, ua: str,
           delay_s: float, ip: str | None = None) -> domain.VoteSignal:
    """A person's vote: their own address (or `ip`, a NAT's), device, user agent, delay and page view."""
    vote = CastVote(vote_id=uuid.uuid4(), voter_id=voter, entry_id=entry, category_id="cases", count=1, cast_at=at,
                    ip_hash=ip or f"ip-{voter}", subnet=subnet, device_hash=f"dev-{voter}",
                    identity_verified_at=at - timedelta(seconds=delay_s), user_agent_hash=ua,
                    page_viewed_at=at - timedelta(seconds=min(delay_s / 2, 20)), number_kind=kind)
    return domain.VoteSignal.of("c", vote, T)


def retail(rng: random.Random) -> str:
    u = rng.random()
    return "virtual" if u < 0.04 else "data" if u < 0.045 else "mobile"


def background(rng: random.Random) -> list[domain.VoteSignal]:
    """An hour of ordinary voters (numbers in the market's mix), and the target entry's own fans at its usual pace."""
    people = [domain.VoteSignal.of("c", CastVote(
        vote_id=v.vote_id, voter_id=v.voter_id, entry_id=v.entry_id, category_id="cases", count=v.count,
        cast_at=v.cast_at, ip_hash=v.ip_hash, subnet=v.subnet, device_hash=v.device_hash,
        identity_verified_at=v.verified_at, user_agent_hash=v.ua,
        page_viewed_at=v.cast_at - timedelta(seconds=5) if v.page else None, number_kind=retail(rng)), T)
        for v in crowd(600, T0 - timedelta(hours=1))]
    fans = [signal(f"fan{i}", TARGET, T0 - timedelta(minutes=30) + timedelta(seconds=60 * i),
                   subnet=f"198.18.{i}.0/24", kind=retail(rng), ua=f"ua-{i % 25}", delay_s=rng.uniform(30, 300))
            for i in range(30)]
    return people + fans


def wave(rng: random.Random, n: int, *, kinds: list[str], one_network: bool, name: str,
         people: bool = False) -> list[domain.VoteSignal]:
    """`n` identities voting for the target within twenty seconds, with people's user agents, delays and page views
    (delays of 30 s to 5 minutes; with `people`, spread like the crowd's, median a minute); on `one_network`, through
    its two NAT addresses (an office's), else each on its own network."""
    out = []
    for i in range(n):
        at = T0 + timedelta(seconds=rng.uniform(0, 20))
        subnet = "203.0.113.0/24" if one_network else f"{100 + i % 50}.{i}.{rng.randrange(256)}.0/24"
        delay = rng.lognormvariate(4.2, 0.6) if people else rng.uniform(30, 300)
        out.append(signal(f"{name}{i}", TARGET, at, subnet=subnet, kind=kinds[i % len(kinds)],
                          ua=f"ua-{rng.randrange(25)}", delay_s=delay, ip=f"nat-{i % 2}" if one_network else None))
    return out


def test_a_wave_of_code_platform_numbers_from_many_networks_is_held_and_the_same_wave_on_carrier_numbers_is_not() -> \
        None:
    rng = random.Random(7)
    before = background(rng)
    platform = wave(random.Random(8), 60, kinds=["virtual"] * 4 + ["mobile"], one_network=False, name="farm")
    held = set().union(*run(before + platform, per_batch=20).values())
    assert len(held & ids(platform)) >= 0.75 * len(platform)
    assert not held & ids(before)
    carriers = wave(random.Random(8), 60, kinds=["mobile"], one_network=False, name="crowd")
    assert not set().union(*run(before + carriers, per_batch=20).values())


def test_on_a_network_where_many_identities_back_the_entry_the_number_kind_weighs_nothing() -> None:
    # An office whose employer's group plan is a virtual operator's, rallying for its unit: whatever else its
    # identities' behaviour says, their numbers add nothing to it.
    rng = random.Random(7)
    before = background(rng)
    held = {}
    for plan, kinds in (("carrier", ["mobile"]), ("virtual", ["virtual", "virtual", "mobile"])):
        office = wave(random.Random(9), 60, kinds=kinds, one_network=True, name="staff")
        found = run(before + office, per_batch=20)
        held[plan] = sorted(v.voter_id for v in office if v.vote_id in set().union(*found.values()))
    assert held["virtual"] == held["carrier"]


def test_a_vote_without_a_known_number_kind_is_scored_on_what_is_known() -> None:
    v = signal("w", OTHERS[0], T0, subnet="198.51.100.0/24", kind=None, ua="ua-1", delay_s=60)
    assert ("num", "?") in v.traits()
    assert domain.VoteSignal.of("c", CastVote(
        vote_id=uuid.uuid4(), voter_id="x", entry_id=TARGET, category_id="cases", count=1, cast_at=T0),
        T).num is None


def test_a_script_mixing_code_platform_numbers_with_carriers_numbers_is_held_whole() -> None:
    # A scripted surge (one user agent, voting a second after the code) on many networks: three in four numbers
    # from a code platform, one in four a carrier's. Its carrier quarter is as rare in the cohort as an honest
    # voter's carrier number would be — but it shares the script's other traits, so it is held with the rest.
    rng = random.Random(7)
    before = background(rng)
    farm = []
    for i in range(80):
        at = T0 + timedelta(seconds=rng.uniform(0, 60))
        farm.append(signal(f"farm{i}", TARGET, at, subnet=f"{100 + i % 50}.{i}.{rng.randrange(256)}.0/24",
                           kind="mobile" if i % 4 == 0 else "virtual", ua="farm-ua", delay_s=1.5))
    held = set().union(*run(before + farm, per_batch=20).values())
    assert ids(farm) <= held and not held & ids(before)


PLATFORM = ["virtual", "virtual", "virtual", "data", "mobile"]  # a code platform's stock beside a few carriers'


def test_a_wave_on_one_network_with_a_code_platform_s_numbers_is_held_whole_and_a_group_plan_s_is_not() -> None:
    # Sixty identities behind one network, voting for the entry within twenty seconds like people (their own user
    # agents, delays, page views). With a group plan (one virtual operator's numbers for two in three) it is an
    # office; with a platform's stock (virtual operators' numbers and data SIMs, a few carriers') it is a farm, and
    # its carrier SIMs on the network it took over are held with the rest.
    rng = random.Random(7)
    before = background(rng)
    office = wave(random.Random(9), 60, kinds=["virtual", "virtual", "mobile"], one_network=True, name="staff",
                  people=True)
    assert not set().union(*run(before + office, per_batch=20).values()) & ids(office)
    farm = wave(random.Random(9), 60, kinds=PLATFORM, one_network=True, name="farm", people=True)
    found = run(before + farm, per_batch=20)
    assert set().union(*found.values()) & ids(before + farm) == ids(farm)
    assert "coordinated_cohort" in found



def test_a_finding_covers_the_votes_that_come_in_its_window_after_it_was_made() -> None:
    # The platform farm's network found, a few of its carrier SIMs vote a minute later, after its last platform
    # number: nothing of theirs makes the finding again (a carrier's number is no platform's), but the finding
    # covers its network's voters of the entry that day, and so their votes.
    rng = random.Random(7)
    before = background(rng)
    farm = wave(random.Random(9), 60, kinds=PLATFORM, one_network=True, name="farm", people=True)
    others = crowd(40, T0 + timedelta(seconds=40), span_s=39, seed=3)  # in between: the late ones' batch is theirs
    late = [signal(f"late{i}", TARGET, T0 + timedelta(seconds=80 + i), subnet="203.0.113.0/24", kind="mobile",
                   ua=f"ua-{i}", delay_s=60 + 7 * i) for i in range(3)]
    found = run(before + farm + others + late, per_batch=20)
    assert ids(late) <= set().union(*found.values())


def cloud_phones(rng: random.Random, n: int, networks: int, per_address: int = 1,
                 first: str = "110.42") -> list[domain.VoteSignal]:
    """A cloud-phone farm: `n` phones in a data centre's networks (under `first`: by default a small hosting
    company's, on no list of hosting networks), each with an address of its own (what such services sell) or
    `per_address` behind each, half of them verified with numbers bought from code platforms (virtual operators';
    no data SIMs), the other half with carriers' SIMs; real phone models' user agents, people's delays and page
    views, voting for the target over half an hour (no burst)."""
    a, b = (int(x) for x in first.split("."))
    return [signal(f"cloud{i}", TARGET, T0 + timedelta(seconds=rng.uniform(0, 1800)),
                   subnet=f"{a}.{b + i % networks}.{17 * (i % networks)}.0/24",
                   kind="virtual" if rng.random() < 0.5 else "mobile", ua=f"ua-{rng.randrange(25)}",
                   delay_s=rng.lognormvariate(4.2, 0.6), ip=f"dc-{i % networks}-{i // networks // per_address}")
            for i in range(n)]


@pytest.mark.parametrize(("seed", "per_address"), [(1, 1), (2, 1), (3, 1), (1, 5), (2, 5)])
def test_cloud_phones_on_addresses_of_their_own_are_held_on_their_platform_numbers(seed: int,
                                                                                  per_address: int) -> None:
    # In a data centre no list knows: every phone on a platform's number is held, and no one else: not the farm's
    # phones on carriers' SIMs either, which look like the people of a carrier's NAT pool (found by its addresses).
    rng = random.Random(seed)
    before = background(rng)
    farm = cloud_phones(random.Random(100 + seed), 150, 3, per_address)
    assert not any(v.host for v in farm)
    found = run(before + farm, per_batch=20)
    assert set().union(*found.values()) == ids([v for v in farm if v.num == "virtual"])
    assert set(found) == {"coordinated_cohort"}


@pytest.mark.parametrize(("seed", "per_address", "platform"), [(1, 1, True), (2, 1, True), (3, 5, True),
                                                                (1, 1, False), (2, 5, False)])
def test_cloud_phones_in_a_known_data_centre_are_held_whatever_their_numbers(seed: int, per_address: int,
                                                                             platform: bool) -> None:
    # In a large cloud's ranges (the shipped list of hosting networks): every phone is held, its carrier SIMs too,
    # and a farm on carriers' SIMs only; no one else (the target's own fans, the crowd, and people voting for the
    # target meanwhile through VPN exits of the same cloud, each alone on its network).
    rng = random.Random(seed)
    before = background(rng)
    farm = cloud_phones(random.Random(100 + seed), 150, 3, per_address, first="47.108")
    if not platform:
        farm = [replace(v, num="mobile") for v in farm]
    vpn = [signal(f"vpn{i}", TARGET, T0 + timedelta(seconds=150 * i + 20), subnet=f"47.120.{i}.0/24", kind="mobile",
                  ua=f"ua-{i}", delay_s=90 + 11 * i) for i in range(12)]
    assert all(v.host for v in farm + vpn)
    found = run(before + farm + vpn, per_batch=20)
    assert set().union(*found.values()) == ids(farm)
    assert set(found) == {"coordinated_cohort"}
    finding = findings(before + farm + vpn, per_batch=20)["coordinated_cohort"]
    assert "data centre" in finding.explanation and "数据中心" in finding.explanation_zh


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_company_behind_a_cloud_gateway_and_people_on_vpns_are_not_held(seed: int) -> None:
    # A company whose internet goes out through a cloud NAT gateway's two addresses, its staff voting for their own
    # unit within ten minutes of the notice (a third on a virtual operator's group plan); and two in a hundred of
    # the crowd voting through a VPN or an accelerator whose exits are a few addresses of a cloud's networks, for
    # whatever they like (the target too).
    rng = random.Random(seed)
    before = background(rng)
    exits = [f"47.{100 + k}.{3 * k}.0/24" for k in range(3)]
    before = [replace(v, subnet=exits[i % 3], ip_hash=f"vpn-{i % 7}", host=True) if i % 50 == 0 else v
              for i, v in enumerate(before)]
    staff = [replace(v, subnet="47.110.9.0/24", host=True)
             for v in place(random.Random(seed * 7), 80, 2, lambda r: "virtual" if r.random() < 0.33 else "mobile",
                            600, "staff")]
    assert not set().union(*run(before + staff, per_batch=20).values())


def place(rng: random.Random, n: int, addresses: int, kind: Callable[[random.Random], str], span_s: float,
          name: str) -> list[domain.VoteSignal]:
    """`n` people of one place (one /24) voting for their own entry over `span_s`, reaching the internet through
    `addresses` addresses of it."""
    return [signal(f"{name}{i}", TARGET, T0 + timedelta(seconds=rng.uniform(0, span_s)), subnet="61.150.12.0/24",
                   kind=kind(rng), ua=f"ua-{rng.randrange(25)}", delay_s=rng.lognormvariate(4.2, 0.6),
                   ip=f"ip-{name}-{rng.randrange(addresses)}") for i in range(n)]


def group_plan(rng: random.Random) -> str:
    """An employer's group plan with a virtual operator: two in three staff on its numbers."""
    return "virtual" if rng.random() < 0.67 else "mobile"


@pytest.mark.parametrize("seed", [1, 2])
def test_places_with_many_addresses_or_a_group_plan_are_not_a_platform_s_stock(seed: int) -> None:
    # A village's households on one broadband /24, each with its own address; a county's audience behind a carrier's
    # NAT pool of two hundred addresses (numbers in the market's mix); a large office on a group plan behind a NAT
    # pool of four addresses, voting within ten minutes of the message.
    rng = random.Random(seed)
    before = background(rng)
    for n, addresses, kind, span_s in ((60, 60, retail, 3600), (200, 200, retail, 1800), (60, 4, group_plan, 600)):
        honest = place(random.Random(seed * 7), n, addresses, kind, span_s, "h")
        assert not set().union(*run(before + honest, per_batch=20).values())


def test_a_cloud_phone_farm_s_case_says_how_many_addresses_of_its_network_its_numbers_came_from() -> None:
    rng = random.Random(1)
    farm = cloud_phones(random.Random(101), 50, 1)
    finding = findings(background(rng) + farm, per_batch=20)["coordinated_cohort"]
    en, zh = finding.explanation, finding.explanation_zh
    addresses = re.search(r"from (\d+) addresses of the one network", en)
    assert addresses and f"来自同一网段的 {addresses.group(1)} 个不同地址" in zh
    assert int(addresses.group(1)) >= T.platform_addresses_min
    assert figures(en, zh)[0] == figures(en, zh)[1]


CARRIER_POOL = [f"117.136.{k}.0/24" for k in (8, 9, 10)]


def town_and_exits(seed: int) -> tuple[list[domain.VoteSignal], list[domain.VoteSignal]]:
    """A town's people voting for their own entry through their carrier's NAT pool (three /24s, an address each
    time), seven a minute, people's delays; and headless browsers whose proxies exit in the same pool, one identity
    every 4–10 s over twenty minutes, each loading the page and voting 1–3 s after its code, 60 % on a platform's
    virtual numbers."""
    rng = random.Random(seed)
    town = [signal(f"town{i}", TARGET, T0 + timedelta(seconds=rng.uniform(-120, 1500)), subnet=rng.choice(CARRIER_POOL),
                   kind=retail(rng), ua=f"ua-{rng.randrange(25)}", delay_s=rng.lognormvariate(4.2, 0.6),
                   ip=f"pool-{rng.randrange(10**6)}") for i in range(175)]
    exits, at = [], 60.0
    for i in range(150):
        at += rng.uniform(4, 10)
        exits.append(signal(f"exit{i}", TARGET, T0 + timedelta(seconds=at), subnet=rng.choice(CARRIER_POOL),
                            kind="virtual" if rng.random() < 0.6 else "mobile", ua=f"ua-{rng.randrange(25)}",
                            delay_s=rng.uniform(1, 3), ip=f"pool-{rng.randrange(10**6)}"))
    return town, exits


@pytest.mark.parametrize("seed", [1, 2])
def test_a_farm_exiting_in_a_town_s_carrier_pool_does_not_take_the_town_s_people_with_it(seed: int) -> None:
    town, exits = town_and_exits(seed)
    held = set().union(*run(background(random.Random(seed)) + town + exits, per_batch=20).values())
    assert not held & ids([v for v in town if v.num != "virtual"])
    assert len(held & ids(exits)) >= 0.75 * len(exits)


def copied_sessions(rng: random.Random, n: int, kind: Callable[[random.Random], str], name: str,
                    span_s: float = 1200) -> list[domain.VoteSignal]:
    """`n` identities voting for the target over `span_s`, each on a network of its own, with people's user agents,
    delays and page views: a person's session copied whole, or people."""
    return [signal(f"{name}{i}", TARGET, T0 + timedelta(seconds=rng.uniform(0, span_s)),
                   subnet=f"{100 + i % 50}.{i}.{rng.randrange(256)}.0/24", kind=kind(rng), ua=f"ua-{rng.randrange(25)}",
                   delay_s=rng.lognormvariate(4.2, 0.6)) for i in range(n)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_unit_s_staff_on_its_group_plan_voting_on_their_phones_over_4g_are_not_held(seed: int) -> None:
    # 120 staff voting for their unit over twenty minutes on their phones, each on the carrier's address of the
    # moment, two in three on the employer's group plan with one virtual operator, beside the entry's fans: the kind
    # of number is theirs, and nothing else about them is a script's.
    rng = random.Random(seed)
    before = background(rng)
    fans = copied_sessions(random.Random(seed + 10), 60, lambda r: "mobile", "fan")
    staff = copied_sessions(random.Random(seed + 20), 120, group_plan, "staff")
    assert not set().union(*run(before + fans + staff, per_batch=20).values())


def sim_pool_cards(rng: random.Random, start_s: float = 60, until_s: float = 1200) -> list[domain.VoteSignal]:
    """A SIM pool: four 4G routers, each sending one browser string, putting a card through every 15–40 s, 60 % of
    them data SIMs and the rest carriers', straight to the API (no page, no fingerprint), 1–4 s after the code; each
    router's address renewed every 2–5 min into one of the carrier's twelve /24s."""
    cards = []
    for router in range(4):
        at, renew, net = start_s + rng.uniform(0, 30), 0.0, 0
        while at < until_s:
            if at >= renew:
                net, renew = rng.randrange(12), at + rng.uniform(120, 300)
            vote = CastVote(vote_id=uuid.uuid4(), voter_id=f"card{len(cards)}", entry_id=TARGET, category_id="cases",
                            count=10, cast_at=T0 + timedelta(seconds=at), ip_hash=f"r{router}-{renew:.0f}",
                            subnet=f"223.104.{40 + net}.0/24", device_hash=None,
                            identity_verified_at=T0 + timedelta(seconds=at - rng.uniform(1, 4)),
                            user_agent_hash=f"router-{router}", page_viewed_at=None,
                            number_kind="data" if rng.random() < 0.6 else "mobile")
            cards.append(domain.VoteSignal.of("c", vote, T))
            at += rng.uniform(15, 40)
    return cards


@pytest.mark.parametrize("seed, until_s", [(2, 700), (3, 700), (9, 700), (6, 820), (7, 940), (3, 820)])
def test_a_sim_pool_s_carrier_cards_are_held_with_its_data_sims_also_alone_in_a_router_s_new_network(
        seed: int, until_s: float) -> None:
    # Each router's string in a rush is its script's, whatever SIM the card is: the carrier cards go with the data
    # SIMs; a card that came first through a router's new /24 is no person alone on their network; and a router's
    # last few cards in a later ten minutes are its own, once the day's findings held enough with its string. The
    # pool stops at different moments of its ten minutes. The entry's own people (from the page, in their own
    # browsers, taking their time) are not held.
    rng = random.Random(seed)
    people = [signal(f"own{i}", TARGET, T0 + timedelta(seconds=rng.uniform(0, 1200)), subnet=f"121.{i}.7.0/24",
                     kind=retail(rng), ua=f"ua-{rng.randrange(25)}", delay_s=rng.lognormvariate(3.5, 0.8))
              for i in range(150)]
    cards = sim_pool_cards(rng, until_s=until_s)
    held = set().union(*run(background(random.Random(seed)) + people + cards, per_batch=10).values())
    assert held >= ids(cards)
    assert not held & ids(people)
