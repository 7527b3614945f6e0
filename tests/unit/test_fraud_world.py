"""The anti-fraud evaluation's world describes what it claims, and its metrics compute what they say."""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import itertools

import eval_fraud as ef
import fraud_world as fw
from fraud_world import (
    Assembly,
    Burst,
    Campus,
    CarrierNat,
    Cell,
    CloudPhoneTurns,
    Devoted,
    Drawer,
    Farm,
    FreshDrip,
    FreshSurge,
    Livestream,
    Mimic,
    Office,
    PopularPeak,
    SharedDevices,
    SimPool,
    SimVote,
    SlowDrip,
    VillageClerks,
)


def by_voter(votes: list[SimVote]) -> dict[str, list[SimVote]]:
    return fw.identities(votes)


@pytest.fixture(scope="module")
def mixed() -> fw.World:
    """Every honest population and an attack, small."""
    return Cell("mixed", "day3", 20, 600, [Campus(120, 3, 2, 0.7), CarrierNat(150, 5), PopularPeak(150),
                                            Office(40)], Burst(60, Farm(subnets=2))).generate(7)


def test_no_identity_exceeds_ten_votes_a_day(mixed: fw.World) -> None:
    for voter, votes in by_voter(mixed.votes).items():
        assert sum(v.count for v in votes) <= 10, voter
        assert all(1 <= v.count <= 10 for v in votes)
        assert len({v.attack for v in votes}) == 1 and len({v.verified_t for v in votes}) == 1


def test_generation_is_deterministic_given_the_seed() -> None:
    cell = Cell("c", "first_hour", 10, 200, [Campus(50)], FreshSurge(farm=Farm()))
    assert cell.generate(3).votes == cell.generate(3).votes
    assert cell.generate(3).votes != cell.generate(4).votes


def test_campus_students_share_k_nat_addresses_in_the_stated_subnets(mixed: fw.World) -> None:
    campus = [v for v in mixed.votes if v.label == "campus"]
    assert len({v.voter for v in campus}) == 120
    assert len({v.ip for v in campus}) == 3 and len({v.subnet for v in campus}) == 2
    others = {v.subnet for v in mixed.votes if v.label != "campus"}
    assert not others & {v.subnet for v in campus}
    assert len({v.device for v in campus}) == 120  # own phones


def test_campus_loyalty_is_the_share_voting_for_the_school() -> None:
    for loyalty in (0.4, 1.0):
        w = Cell("c", "first_hour", 20, 50, [Campus(200, 1, 1, loyalty, entry=11)]).generate(1)
        students = by_voter([v for v in w.votes if v.label == "campus"])
        for_school = sum(any(v.entry == 11 for v in vs) for vs in students.values())
        assert loyalty * 200 <= for_school <= loyalty * 200 + 0.2 * (1 - loyalty) * 200 + 1


def test_ordinary_voters_have_their_own_network_and_device(mixed: fw.World) -> None:
    ordinary = by_voter([v for v in mixed.votes if v.label in ("ordinary", "popular")])
    nets = [vs[0].subnet for vs in ordinary.values()]
    assert len(set(nets)) == len(nets)
    assert len({vs[0].device for vs in ordinary.values()}) == len(ordinary)
    assert any(":" in n for n in nets) and any(n.endswith("/24") for n in nets)  # IPv6 /64s among them


def test_families_share_one_phone_two_or_three_identities() -> None:
    w = Cell("c", "day3", 30, 3000).generate(2)
    per_device = defaultdict(set)
    for v in w.votes:
        if v.label == "family":
            per_device[v.device].add(v.voter)
    assert per_device and all(2 <= len(ids) <= 3 for ids in per_device.values())


def test_a_percent_or_two_of_votes_carry_garbage(mixed: fw.World) -> None:
    w = Cell("c", "day3", 30, 3000).generate(5)
    garbled = [v for v in w.votes if v.label == "garbled"]
    assert 0.008 <= len(garbled) / len(w.votes) <= 0.025
    assert all(v.subnet in fw.GARBAGE_SUBNETS or v.device in (None, "", "unknown") or not v.ua for v in garbled)


def test_user_agents_are_a_realistic_mix(mixed: fw.World) -> None:
    first = [vs[0] for vs in by_voter([v for v in mixed.votes if v.label == "ordinary"]).values()]
    uas = [v.ua for v in first]
    assert len(set(uas)) > len(uas) / 3
    assert sum("MicroMessenger" in (u or "") for u in uas) > len(uas) / 2
    assert 0 < sum(u is None for u in uas) < len(uas) / 15


def test_first_hour_everyone_verifies_during_the_span_with_human_delays() -> None:
    w = Cell("c", "first_hour", 30, 800).generate(1)
    people = by_voter(w.honest)
    delays = sorted(vs[0].t - vs[0].verified_t for vs in people.values())
    assert all(vs[0].verified_t >= 0 for vs in people.values())
    assert 20 <= delays[len(delays) // 2] <= 60 and delays[int(0.95 * len(delays))] > 100
    # a few picked the count on the page before verifying and tapped the moment the code was accepted
    tapped = [d for d in delays if d < 2]
    assert 0.01 <= len(tapped) / len(delays) <= 0.05 and all(d >= 6 for d in delays[len(tapped):])
    assert all(vs[0].page_t is not None for vs in people.values() if vs[0].t - vs[0].verified_t < 2)
    viewed = [vs[0] for vs in people.values() if vs[0].page_t is not None]
    assert 0.75 <= len(viewed) / len(people) <= 0.95
    assert all(v.verified_t < v.page_t < v.t for v in viewed)


def test_day_three_most_honest_voters_verified_days_ago() -> None:
    w = Cell("c", "day3", 30, 800).generate(1)
    people = [vs[0] for vs in by_voter(w.honest).values()]
    returning = sum(v.verified_t < -fw.DAY / 2 for v in people)
    assert 0.6 <= returning / len(people) <= 0.8


def test_fresh_surge_identities_verify_seconds_before_voting_each_on_its_own_network() -> None:
    cell = Cell("c", "day3", 20, 600, [], FreshSurge(farm=Farm(), multiple=2.0, window_s=300))
    w = cell.generate(1)
    attack = [v for v in w.votes if v.attack]
    baseline = sum(v.count for v in w.honest if v.entry == w.target)
    assert 2 * baseline <= sum(v.count for v in attack) < 2 * baseline + 10
    assert all(v.entry == w.target and v.count == 10 for v in attack)
    assert all(2 <= v.t - v.verified_t <= 12 + Farm().jitter_s for v in attack)
    nets = [v.subnet for v in attack]
    assert len(set(nets)) == len(nets) and not set(nets) & {v.subnet for v in w.honest}
    assert len({v.device for v in attack}) == len(attack)
    assert max(v.t for v in attack) - min(v.t for v in attack) <= 300 + Farm().jitter_s


def test_shared_devices_serve_the_stated_number_of_identities() -> None:
    w = Cell("c", "day3", 20, 100, [], SharedDevices(200, Farm(subnets=1, devices="shared:20"))).generate(1)
    per_device = defaultdict(set)
    for v in w.votes:
        if v.attack:
            per_device[v.device].add(v.voter)
    assert sorted(len(ids) for ids in per_device.values()) == [20] * 10
    assert len({v.subnet for v in w.votes if v.attack}) == 1


def test_model_fingerprints_are_shared_by_everyone_on_the_same_phone_at_the_market_s_shares() -> None:
    # Where the page tells only a phone's model: the commonest value on about 8 % of the phones, about 500 values in
    # the market; a farm's phone sends its model's value too, one value for all its identities.
    w = Cell("c", "day3", 20, 3000, [], SharedDevices(200, Farm(subnets=1, devices="shared:20")),
             fingerprints="model").generate(1)
    honest = {v.voter: v.device for v in w.votes if not v.attack and v.device and v.device.startswith("fp-model-")}
    per_value = defaultdict(int)
    for device in honest.values():
        per_value[device] += 1
    top = max(per_value.values()) / len(honest)
    assert 0.05 < top < 0.11 and len(per_value) <= fw.MODELS
    farm = defaultdict(set)
    for v in w.votes:
        if v.attack:
            farm[v.device].add(v.voter)
    assert all(d.startswith("fp-model-") for d in farm) and sum(len(x) for x in farm.values()) == 200
    own = Cell("c", "day3", 20, 3000, []).generate(1)
    assert max(len(ids) for ids in by_device(own.votes).values()) <= 3  # a family's phone at most


def by_device(votes: list[SimVote]) -> dict[str | None, set[str]]:
    out: dict[str | None, set[str]] = defaultdict(set)
    for v in votes:
        if v.device and v.device.startswith("fp-"):
            out[v.device].add(v.voter)
    return out


def test_bursts_fire_within_seconds_in_waves() -> None:
    w = Cell("c", "day3", 20, 100, [], Burst(100, Farm(subnets=2, jitter_s=1), waves=3, wave_s=5, gap_s=180)
             ).generate(1)
    times = sorted(v.t for v in w.votes if v.attack)
    start = times[0]
    waves = {round((t - start) / 180) for t in times}
    assert waves == {0, 1, 2}
    assert all(abs(t - start - 180 * round((t - start) / 180)) <= 6.5 for t in times)
    assert len({v.subnet for v in w.votes if v.attack}) == 2


def test_a_burst_of_identities_each_firing_once_gives_all_ten_in_one_wave() -> None:
    w = Cell("c", "day3", 20, 100, [], Burst(90, Farm(subnets=3, per_subnet=20, verify="human", page="faked",
                                                      jitter_s=15), waves=3, wave_s=5, gap_s=180, once=True)
             ).generate(1)
    crew = by_voter([v for v in w.votes if v.attack])
    assert len(crew) == 90 and all(len(vs) == 1 and vs[0].count == 10 for vs in crew.values())
    start = min(vs[0].t for vs in crew.values())
    waves = [round((vs[0].t - start) / 180) for vs in crew.values()]
    assert sorted(set(waves)) == [0, 1, 2] and min(waves.count(w) for w in (0, 1, 2)) == 30
    assert all(vs[0].verified_t < vs[0].t for vs in crew.values())  # verified before its wave, as people do


def test_rotated_devices_change_every_vote_and_slow_drip_keeps_its_pace() -> None:
    w = Cell("c", "day3", 30, 100, [], SlowDrip(20, Farm(devices="rotated", jitter_s=0), interval_s=300)).generate(1)
    drip = by_voter([v for v in w.votes if v.attack])
    for votes in drip.values():
        assert all(v.count == 1 for v in votes)
        assert len({v.device for v in votes}) == len(votes)
        gaps = [b.t - a.t for a, b in itertools.pairwise(votes)]
        assert all(abs(g - 300) < 1e-6 for g in gaps)


def test_an_assembly_is_told_at_once_each_building_on_its_own_network() -> None:
    w = Cell("c", "day3", 30, 100, [Assembly(120, rooms=6)]).generate(2)
    students = by_voter([v for v in w.votes if v.label == "assembly"])
    nets = {votes[0].subnet for votes in students.values()}
    assert len(students) == 120 and len(nets) == 6
    assert not nets & {v.subnet for v in w.votes if v.label != "assembly"}  # the buildings' networks are theirs
    firsts = sorted(votes[0].t for votes in students.values())
    told = w.span_s * 0.4
    assert firsts[0] >= told and firsts[len(firsts) // 2] - told < 60  # half within a minute of being told
    assert all(votes[0].entry == 12 and sum(v.count for v in votes) == fw.VOTES_PER_DAY for votes in students.values())


def test_a_live_stream_s_viewers_vote_in_a_hurry_from_the_app_s_browser_on_their_own_networks() -> None:
    world = Cell("c", "first_hour", 20, 200, [Livestream(300, entry=6, at=0.3)]).generate(5)
    viewers = by_voter([v for v in world.votes if v.label == "livestream"])
    assert len(viewers) == 300
    firsts = [min(vs, key=lambda v: v.t) for vs in viewers.values()]
    # they scan the code the host shows: most within two minutes of it
    shown = 20 * 60 * 0.3
    assert sorted(v.t - shown for v in firsts)[150] < 120
    # in a hurry: a few seconds from verifying to voting, with the page they scanned loaded
    delays = sorted(v.t - v.verified_t for v in firsts)
    assert 4 < delays[150] < 15
    # one in ten picked the count before verifying and tapped the moment the code was accepted
    assert 0.05 < sum(d < 2 for d in delays) / len(delays) < 0.16
    assert all(v.page_t is not None and v.verified_t <= v.page_t <= v.t for v in firsts)
    # the app's browser: one app token, many strings (system, model, version, network)
    uas = [v.ua for v in firsts]
    assert all(ua and "aweme_" in ua for ua in uas)
    top = max(uas.count(ua) for ua in set(uas))
    assert len(set(uas)) > 100 and top < 0.1 * len(uas)
    # their own phones and networks; most give all ten to the host's entry
    assert len({v.subnet for v in firsts}) == 300 and len({v.device for v in firsts}) == 300
    loyal = sum(all(v.entry == 6 for v in vs) and sum(v.count for v in vs) == 10 for vs in viewers.values())
    assert 0.75 < loyal / 300 < 0.92

def test_a_few_people_get_a_new_fingerprint_at_every_visit_and_never_within_one() -> None:
    w = Cell("c", "day3", 60, 2000, [Devoted(1000, mean_gap_s=300)]).generate(4)
    honest = by_voter([v for v in w.votes if not v.attack and v.label in ("ordinary", "devoted")])
    changing = 0
    for votes in honest.values():
        for a, b in itertools.pairwise(votes):
            if a.device != b.device:
                assert b.t - a.t > fw.VISIT_GAP_S
        changing += len({v.device for v in votes}) > 1
    fans = [votes for votes in honest.values() if votes[0].label == "devoted"]
    assert 0.005 < sum(len({v.device for v in votes}) > 1 for votes in fans) / len(fans) < 0.04
    assert changing < 0.02 * len(honest)


def test_devoted_fans_come_back_at_random_a_vote_or_two_each_time() -> None:
    w = Cell("c", "day3", 60, 100, [Devoted(200, mean_gap_s=240)]).generate(3)
    fans = by_voter([v for v in w.votes if v.label == "devoted"])
    gaps = [b.t - a.t for votes in fans.values() for a, b in itertools.pairwise(votes)]
    assert len(fans) == 200 and all(1 <= v.count <= 2 for votes in fans.values() for v in votes)
    assert all(sum(v.count for v in votes) <= fw.VOTES_PER_DAY for votes in fans.values())
    assert min(gaps) >= 30 and 200 < sum(gaps) / len(gaps) < 280
    # reminders come when they come: the gaps vary about as much as their length beyond the half minute
    rest = [g - 30 for g in gaps]
    mean = sum(rest) / len(rest)
    assert 0.8 < math.sqrt(sum((g - mean) ** 2 for g in rest) / len(rest)) / mean < 1.2


# --- metrics on a tiny hand-made example --------------------------------------------------------


def sv(key: str, voter: str, entry: int, count: int, t: float, attack: bool = False, label: str = "ordinary"
       ) -> SimVote:
    return SimVote(key, voter, "attack:burst" if attack else label, attack, entry, count, t, "1.2.3.4", "1.2.3.0/24",
                   "d", "ua", 0.0, None)


def test_metrics_on_a_hand_made_example() -> None:
    votes = [
        sv("h1", "alice", 0, 10, 1.0),                  # entry 0: 10 honest
        sv("h2", "bob", 1, 6, 2.0),                     # entry 1: 6 + 2 honest
        sv("h3", "carol", 1, 2, 3.0, label="campus"),
        sv("h4", "dave", 2, 4, 4.0, label="campus"),     # entry 2: 4 honest
        sv("a1", "mallory", 2, 10, 10.0, attack=True),
        sv("a2", "trudy", 2, 5, 11.0, attack=True),
        sv("a3", "trudy", 0, 5, 12.0, attack=True),
    ]
    # the black box holds mallory and carol, invalidates trudy's vote for entry 2; misses a3
    states = {"a1": "held", "h3": "held", "a2": "invalidated"}
    decided = {"a1": 25.0, "h3": 30.0, "a2": 40.0}
    m = ef.score(votes, states, decided, attack_start=10.0, entries=3,
                 reasons={"a1": {"device_shared"}, "h3": {"device_shared", "subnet"}})
    assert m.precision_votes == pytest.approx(15 / 17)       # 10 + 5 attack of 17 flagged
    assert m.precision_ids == pytest.approx(2 / 3)           # mallory, trudy, carol
    assert m.precision_invalidated == 1.0
    assert m.recall_ids == 1.0 and m.recall_votes == pytest.approx(15 / 20)
    assert m.fp == {"campus": (0.5, pytest.approx(2 / 6)), "ordinary": (0.0, 0.0)}
    assert m.first_flag_s == 15.0
    # counted: e0 = 10 + 5 = 15, e1 = 6, e2 = 4; honest: e0 10, e1 8, e2 4 → same order
    assert m.ranks_equal and m.ranks_differ == 0
    assert m.max_loss == pytest.approx(2 / 8)
    assert m.reasons == {"attack": {"device_shared": 10}, "campus": {"device_shared": 2, "subnet": 2}}
    assert ef.failures(Cell("x", attack=Burst()), m) == ["precision", "FP", "recall", "loss"]

    # the attack uncaught: entry 2 (19) goes first, then 0 (15), 1 (8): all three ranks differ; never flagged
    m = ef.score(votes, {}, {}, attack_start=10.0, entries=3)
    assert not m.ranks_equal and m.ranks_differ == 3 and math.isinf(m.first_flag_s)
    assert m.precision_votes is None and m.recall_ids == 0.0 and m.max_loss == 0.0

    worst = ef.worst([ef.score(votes, states, decided, 10.0, 3), m])
    assert worst.recall_ids == 0.0 and worst.precision_votes == pytest.approx(15 / 17)
    assert worst.ranks_differ == 3 and math.isinf(worst.first_flag_s) and worst.max_loss == pytest.approx(0.25)


def test_competition_ranks_share_ties_and_skip() -> None:
    assert ef.competition_ranks({0: 5, 1: 9, 2: 5, 3: 1}) == {1: 1, 0: 2, 2: 2, 3: 4}


def test_batches_are_one_second_and_capped() -> None:
    votes = [sv(f"k{i}", f"v{i}", 0, 1, 0.5 + i * 0.0001) for i in range(2500)] + [sv("z", "z", 0, 1, 1.2)]
    sizes = [len(b) for b in ef.batches(votes)]
    assert sizes == [2000, 500, 1]


def test_write_doc_replaces_its_own_part_only(tmp_path: Path) -> None:
    doc = tmp_path / "antifraud.md"
    doc.write_text("# A\n\nintro\n<!-- eval-fraud:start -->\nold\n<!-- eval-fraud:end -->\n\n## After\n")
    ef.write_doc(doc, "memory one", part="memory")
    ef.write_doc(doc, "http one", part="http")
    ef.write_doc(doc, "memory two", part="memory")
    text = doc.read_text()
    assert text.startswith("# A\n\nintro\n<!-- eval-fraud:start -->")
    assert text.endswith("<!-- eval-fraud:end -->\n\n## After\n")
    assert "memory two" in text and "http one" in text and "memory one" not in text and "old" not in text


def test_a_headless_script_votes_its_sleep_after_verifying_with_the_page_loaded_with_the_new_ticket() -> None:
    attack = FreshSurge(farm=Farm(verify="headless", sleep_s=(1.0, 3.0), jitter_s=0), multiple=2.0)
    world = Cell("c", "first_hour", 30, 600, [], attack).generate(3)
    firsts = [min(vs, key=lambda v: v.t) for vs in by_voter([v for v in world.votes if v.attack]).values()]
    delays = [v.t - v.verified_t for v in firsts]
    assert len(firsts) >= 20 and all(1.0 <= d <= 3.0 for d in delays)
    # its sleep is uniform: about half of them vote within 2 s, half later
    assert 0.3 < sum(d < 2 for d in delays) / len(delays) < 0.7
    assert all(v.page_t is not None and v.verified_t < v.page_t < v.t for v in firsts)


def test_a_sim_pool_s_routers_each_send_one_string_through_the_api_renewing_their_addresses() -> None:
    world = Cell("c", "first_hour", 30, 300, [], SimPool(120, at=0.15)).generate(2)
    attack = [v for v in world.votes if v.attack]
    assert len(by_voter(attack)) == 120 and all(v.count == 10 and v.entry == world.target for v in attack)
    assert len({v.ua for v in attack}) == 4 and all(v.page_t is None and v.device is None for v in attack)
    assert all(1 <= v.t - v.verified_t <= 4 + Farm().jitter_s for v in attack)
    assert len({v.subnet for v in attack}) <= 12 and len({v.ip for v in attack}) > 8  # renewed, in the carrier's /24s
    data = sum(v.phone[:3] in fw.DATA_SEGMENTS for v in attack) / len(attack)
    assert 0.45 < data < 0.75


def test_a_unit_s_staff_on_4g_come_from_their_city_s_few_wide_networks_a_share_on_its_issued_phones() -> None:
    world = Cell("c", "day3", 30, 300, [Office(300, mobile=True, issued=0.6, group_plan=0.6)]).generate(4)
    staff = {v.voter: v for v in world.votes if v.label == "office"}.values()
    assert len({v.ip.rsplit(".", 2)[0] for v in staff}) == 3  # the carrier's /16s in the city
    assert len({v.subnet for v in staff}) > 100  # the address of the moment, in many /24s
    issued = max(sum(v.ua == ua for v in staff) for ua in {v.ua for v in staff}) / len(staff)
    assert 0.5 < issued < 0.7
    plan = sum(v.phone.startswith("170") for v in staff) / len(staff)
    assert 0.5 < plan < 0.7


def test_a_drip_through_a_proxy_pool_sends_its_few_strings_from_a_new_network_each() -> None:
    farm = Farm(verify="headless", sleep_s=(2, 6), ua="pool", ua_pool=8, jitter_s=0)
    world = Cell("c", "day3", 30, 300, [], FreshDrip(60, farm, every_s=30, at=0.1)).generate(5)
    attack = [v for v in world.votes if v.attack]
    assert 45 <= len(attack) <= 60 and len({v.ua for v in attack}) <= 8
    assert len({v.subnet for v in attack}) == len(attack)
    assert all(2 <= v.t - v.verified_t <= 6 and v.page_t is not None for v in attack)


def test_session_copies_behave_as_people_and_carry_the_numbers_they_were_given() -> None:
    for share, lo, hi in ((0.0, 0.0, 0.15), (1.0, 0.9, 1.0)):
        world = Cell("c", "day3", 30, 1500, [], Mimic(farm=Farm(numbers=share), multiple=0.5, at=0.1)).generate(6)
        attack = [v for v in world.votes if v.attack]
        baseline = sum(v.count for v in world.honest if v.entry == world.target)
        assert 0.3 * baseline <= sum(v.count for v in attack) <= 0.5 * baseline + 10
        assert all(v.page_t is not None and v.t - v.verified_t >= 0.5 for v in attack)
        resold = sum(v.phone[:3] in fw.VIRTUAL_SEGMENTS + fw.DATA_SEGMENTS for v in attack) / len(attack)
        assert lo <= resold <= hi


def test_a_live_stream_s_deep_link_puts_the_host_s_entry_under_the_viewers_thumbs() -> None:
    world = Cell("c", "first_hour", 20, 200, [Livestream(400, entry=6, at=0.3, deep_link=True)]).generate(5)
    firsts = [min(vs, key=lambda v: v.t) for vs in by_voter([v for v in world.votes if v.label == "livestream"]).values()]
    fresh = sorted(v.t - v.verified_t for v in firsts if v.verified_t > 0)
    # about four seconds from the code to the vote, one in ten within two, nearly all within fifteen
    assert 3 < fresh[len(fresh) // 2] < 5.5
    assert 0.04 < sum(d < 2 for d in fresh) / len(fresh) < 0.2
    assert sum(d < 15 for d in fresh) / len(fresh) > 0.95


def test_a_drawer_of_sims_swaps_cards_on_each_office_phone_and_village_clerks_take_villagers_in_turn() -> None:
    world = Cell("c", "first_hour", 30, 200, [VillageClerks(3, villagers=(12, 12), loyalty=1.0)],
                 Drawer(24, phones=3, at=0.1)).generate(2)
    for label, apart, sitting in (("attack:sim_drawer", (60, 140), (6, 23)), ("villagers", (15, 240), (15, 300))):
        mine = [v for v in world.votes if v.label == label]
        phones = {v.device for v in mine}
        assert len(phones) == 3 and len({v.ip for v in mine}) == 3 - 2 * (label != "villagers")
        for device in phones:
            turns = sorted((v for v in mine if v.device == device), key=lambda v: v.asked_t)
            assert len(turns) in (8, 12) and len({v.voter for v in turns}) == len(turns)
            # one after another: each asked after the last one voted, a card swap (or a villager) apart
            assert all(apart[0] < b.asked_t - a.t < apart[1] for a, b in itertools.pairwise(turns))
            assert all(sitting[0] < v.t - v.asked_t < sitting[1] for v in turns)
            assert len({v.entry for v in turns}) == 1
    drawer = [v for v in world.votes if v.label == "attack:sim_drawer"]
    assert len({v.phone[:3] for v in drawer}) == 1 and all(v.count == 10 for v in drawer)


def test_cloud_phones_in_turns_run_numbers_one_after_another_each_on_its_own_data_centre_address() -> None:
    world = Cell("c", "first_hour", 30, 200, [], CloudPhoneTurns(60, phones=6, at=0.1)).generate(3)
    farm = [v for v in world.votes if v.label == "attack:cloud_phones"]
    assert len({v.voter for v in farm}) == 60 and all(v.count == 10 for v in farm)
    assert all(fw.in_data_centre(*map(int, v.ip.split(".")[:3])) for v in farm)
    for ip in {v.ip for v in farm}:
        turns = sorted((v for v in farm if v.ip == ip), key=lambda v: v.asked_t)
        assert len(turns) == 10
        assert len({v.device for v in turns}) == 10 and len({v.ua for v in turns}) >= 5  # a new phone each time
        assert all(20 < b.asked_t - a.t < 75 for a, b in itertools.pairwise(turns))  # one at a time, a pause between
        assert all(v.page_t is not None and v.page_t < v.asked_t < v.verified_t < v.t for v in turns)
