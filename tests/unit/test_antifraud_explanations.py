"""What operators read: every detector explains itself in Chinese beside the English, with the same numbers."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from massline.auth import Caller
from massline.contracts import CastVote
from services.antifraud import domain
from services.antifraud.holds import _texts

T = domain.Thresholds()
T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
TARGET = uuid.UUID(int=99)
OTHERS = [uuid.UUID(int=i) for i in range(1, 11)]
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def figures(explanation: str, explanation_zh: str) -> tuple[list[str], list[str]]:
    """The figures of both texts, but the clock's name, which each says its own way: "(UTC+8)", "北京时间"."""
    assert explanation.count("(UTC+8)") == explanation_zh.count("北京时间"), (explanation, explanation_zh)
    return (sorted(NUMBER.findall(explanation.replace("(UTC+8)", ""))), sorted(NUMBER.findall(explanation_zh)))
HAN = re.compile(r"[\u4e00-\u9fff]")


def cast(voter: str, entry: uuid.UUID = TARGET, at: datetime = T0, count: int = 1, *, ip: str | None = "ip",
         subnet: str | None = "203.0.113.0/24", device: str | None = None, verified: datetime | None = None,
         ua: str | None = None, page: bool = True):
    vote = CastVote(vote_id=uuid.uuid4(), voter_id=voter, entry_id=entry, category_id="cases", count=count,
                    cast_at=at, ip_hash=ip, subnet=subnet, device_hash=device or f"dev-{voter}",
                    identity_verified_at=verified or at - timedelta(days=3), user_agent_hash=ua,
                    page_viewed_at=at - timedelta(seconds=20) if page else None)
    return domain.VoteSignal.of("c", vote, T)


def findings(votes: list[domain.VoteSignal], per_batch: int = 50) -> dict[str, domain.Finding]:
    """The first finding of each reason code, decisive or not, with the votes fed in time order."""
    store, out = domain.MemoryWindows(), {}
    votes = sorted(votes, key=lambda v: v.cast_at)

    async def go() -> None:
        for i in range(0, len(votes), per_batch):
            for f, _ in await domain.detect(votes[i:i + per_batch], store, T):
                out.setdefault(f.reason_code, f)
    asyncio.run(go())
    return out


def crew(subnet: str, n: int) -> list[domain.VoteSignal]:
    """Identities with their own devices, each giving the target 6 votes and popular entries 4, at a human pace."""
    votes = []
    for i in range(n):
        at = T0 + timedelta(seconds=90 * i)
        for k, (entry, count) in enumerate([(OTHERS[0], 1), (OTHERS[1], 1), (TARGET, 6), (OTHERS[0], 1)]):
            votes.append(cast(f"crew{i}", entry, at + timedelta(seconds=11 * k + i % 3), count, subnet=subnet,
                              device=f"spoofed-{i}"))
    return votes


SCENARIOS = {
    "velocity_voter": lambda: ([cast("bot", at=T0 + timedelta(seconds=i)) for i in range(T.voter_per_minute + 1)], 50),
    "velocity_device": lambda: ([cast(f"v{i}", OTHERS[i % 3], T0 + timedelta(seconds=i), device="farm",
                                      subnet="198.51.7.0/24") for i in range(T.device_per_minute + 1)], 50),
    "velocity_ip": lambda: ([cast(f"v{i}", OTHERS[i % 10], T0 + timedelta(seconds=i * 0.1), ip="nat",
                                  subnet="100.64.0.0/24") for i in range(T.subnet_per_minute + 1)], 50),
    "velocity_subnet": lambda: ([cast(f"v{i}", OTHERS[i % 10], T0 + timedelta(seconds=i * 0.1), ip="nat",
                                      subnet="100.64.0.0/24") for i in range(T.subnet_per_minute + 1)], 50),
    "device_shared": lambda: ([cast(f"farm{i}", at=T0 + timedelta(minutes=10 * i), device="farm-phone",
                                    subnet=f"100.{i % 3}.3.0/24") for i in range(T.device_voters_per_day)], 50),
    "concentration_subnet": lambda: (
        [cast(f"h{i}", OTHERS[i % 10], T0 + timedelta(seconds=i), subnet=f"198.51.{i}.0/24") for i in range(50)]
        + [cast(f"bot{i}", TARGET, T0 + timedelta(seconds=i * 2), count=10, subnet="192.0.2.0/24")
           for i in range(20)], 50),
    "lockstep_group": lambda: ([cast(f"bot{i}", TARGET, T0 + timedelta(seconds=i * 0.1), subnet=f"192.0.{i % 8}.0/24",
                                     device=f"rnd{i}") for i in range(40)], 10),
    "fresh_identity_surge": lambda: ([cast(f"new{i}", TARGET, T0 + timedelta(seconds=20 * i), count=10,
                                           subnet="192.0.2.0/24", verified=T0 + timedelta(seconds=20 * i - 60))
                                      for i in range(T.fresh_min_votes + 2)], 50),
    "fresh_identity_entry_surge": lambda: ([cast(f"new{i}", TARGET, T0 + timedelta(seconds=5 * i),
                                                 subnet=f"10.{i}.0.0/24", verified=T0 + timedelta(seconds=5 * i - 60))
                                            for i in range(T.fresh_entry_alert)], 50),
    "regular_gaps": lambda: ([cast("timer", OTHERS[i % 3], T0 + timedelta(seconds=420 * i + 0.1 * (i % 2)))
                              for i in range(6)], 1),
    "covoting_subnet": lambda: (crew("192.0.2.0/24", T.covote_min_identities + 2), 1),
    "timer_subnet": lambda: ([cast(f"drip{i}", TARGET, T0 + timedelta(seconds=600 * i + 420 * k + 0.3 * (k % 2)),
                                   subnet="192.0.2.0/24") for i in range(6) for k in range(3)], 1),
    "synchronised_networks": lambda: (
        [cast(f"p{i}", OTHERS[i % 10], T0 - timedelta(minutes=30) + timedelta(seconds=5 * i),
              subnet=f"198.51.{i % 250}.0/24") for i in range(100)]
        + [cast(f"w{n}-{i}", TARGET, T0 + timedelta(seconds=wave + i * 0.5), 3, subnet=f"192.{n}.77.0/24")
           for wave in (0, 180) for n in range(6) for i in range(12)], 20),
    "network_wave": lambda: (
        [cast(f"p{i}", OTHERS[i % 10], T0 + timedelta(seconds=5 * i), subnet=f"198.51.{i % 250}.0/24")
         for i in range(60)]
        + [cast(f"w{i}", TARGET, T0 + timedelta(seconds=100 + 0.5 * i), 10, subnet="192.0.2.0/24")
           for i in range(T.wave_min_identities + 5)], 10),
    "browser_turns": lambda: (
        [cast(f"p{i}", OTHERS[i % 10], T0 + timedelta(seconds=5 * i), subnet=f"198.51.{i % 250}.0/24")
         for i in range(60)] + [turn(i) for i in range(T.turns_min)], 5),
    "address_turns": lambda: (
        [cast(f"p{i}", OTHERS[i % 10], T0 + timedelta(seconds=5 * i), subnet=f"198.51.{i % 250}.0/24")
         for i in range(60)] + [turn(i, ua=f"model-{i}", device=f"new-phone-{i}") for i in range(T.address_turns_min)],
        5),
    "coordinated_cohort": lambda: (
        [cast(f"p{i}", OTHERS[i % 10], T0 - timedelta(minutes=30) + timedelta(seconds=5 * i), ua=f"ua-{i % 20}",
              subnet=f"198.51.{i % 250}.0/24", verified=T0 - timedelta(minutes=30) + timedelta(seconds=5 * i - 90),
              page=i % 7 > 0) for i in range(300)]
        + [cast(f"sms{i}", TARGET, T0 + timedelta(seconds=i), count=10, subnet=f"10.{i}.0.0/24", ua="farm-ua",
                verified=T0 + timedelta(seconds=i - 3), page=False) for i in range(30)], 10),
}


def turn(i: int, ua: str = "edge", device: str | None = None) -> domain.VoteSignal:
    """The i-th of colleagues voted for in turn at one office PC: asked 45 s apart, verified 25 s later, voted 5 s
    after that, each in a new private window (no fingerprint); or, with a string and a device of its own, the i-th
    number a cloud phone ran, a new phone for each."""
    asked = T0 + timedelta(seconds=45 * i)
    vote = CastVote(vote_id=uuid.uuid4(), voter_id=f"colleague{i}", entry_id=TARGET, category_id="cases", count=10,
                    cast_at=asked + timedelta(seconds=30), ip_hash="office-nat", subnet="192.0.2.0/24",
                    identity_verified_at=asked + timedelta(seconds=25), user_agent_hash=ua, device_hash=device,
                    page_viewed_at=asked + timedelta(seconds=26), code_sent_at=asked)
    return domain.VoteSignal.of("c", vote, T)


def test_every_reason_code_has_a_scenario_and_a_chinese_name() -> None:
    # Every rule has a scenario; every reason — the rules' and an operator's hold — a name in both languages.
    assert set(SCENARIOS) == set(domain.RULES)
    assert set(domain.REASONS) == set(domain.REASONS_ZH) == set(domain.RULES) | set(domain.OPERATOR_REASONS)
    assert all(HAN.search(name) for name in domain.REASONS_ZH.values())
    assert not any(HAN.search(name) for name in domain.REASONS.values())


def test_an_operator_s_hold_explains_itself_in_both_languages_with_the_same_figures() -> None:
    start = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)
    en, zh = _texts(Caller("ops-li", "operator", None), "任务截图", start, start + timedelta(minutes=10), True, 150,
                    1500)
    assert "ops-li" in en and "ops-li" in zh and "任务截图" in zh and "first voted in the campaign then" in en
    assert not HAN.search(en.replace("任务截图", "")) and HAN.search(zh)
    assert figures(en, zh)[0] == figures(en, zh)[1]


@pytest.mark.parametrize("reason", sorted(SCENARIOS))
def test_each_reason_explains_itself_in_chinese_with_the_numbers_of_the_english(reason: str) -> None:
    votes, per_batch = SCENARIOS[reason]()
    finding = findings(votes, per_batch)[reason]
    assert HAN.search(finding.explanation_zh), finding.explanation_zh
    assert not HAN.search(finding.explanation)
    # The same figures (counts, limits, shares, times, the network), none lost and none added in translation.
    en, zh = figures(finding.explanation, finding.explanation_zh)
    assert zh == en, (finding.explanation, finding.explanation_zh)


def test_a_wave_across_networks_names_them_all_in_both_languages() -> None:
    """Three networks, ten identities each, on one cue: each network's finding says how many networks and identities
    the wave had, with the same figures in Chinese."""
    votes = [cast(f"p{i}", OTHERS[i % 10], T0 + timedelta(seconds=5 * i), subnet=f"198.51.{i % 250}.0/24")
             for i in range(60)]
    votes += [cast(f"w{n}-{i}", TARGET, T0 + timedelta(seconds=100 + 0.5 * i), 10, subnet=f"192.0.{n}.0/24")
              for n in range(3) for i in range(10)]
    finding = findings(votes, 10)["network_wave"]
    assert finding.evidence["together"] == 30 and finding.evidence["networks"] == 3
    assert "3 networks began such a wave for the entry, 30 identities in all" in finding.explanation
    assert "3 个网段" in finding.explanation_zh and "合计 30 个身份" in finding.explanation_zh
    en, zh = figures(finding.explanation, finding.explanation_zh)
    assert zh == en, (finding.explanation, finding.explanation_zh)


def test_a_device_farm_reads_in_plain_chinese() -> None:
    votes, _ = SCENARIOS["device_shared"]()
    finding = findings(votes)["device_shared"]
    # the day is the campaign's day the windows are kept by (China Standard Time), and says so
    assert finding.explanation == ("5 different identities voted from one device on 2026-11-20 (UTC+8) "
                                   "(limit 4; a family shares a phone between two or three), through 3 networks "
                                   "(a device people take turns on in one place shows one)")
    assert finding.explanation_zh == ("北京时间 2026-11-20 有 5 个不同身份使用同一设备投票（上限 4 个；一家人共用手机通常只有"
                                      "两三个身份），经由 3 个网段（在固定场所轮流使用的设备只有一个）")


def test_a_coordinated_cohort_names_every_signal_that_contributed_and_its_weight() -> None:
    votes, per_batch = SCENARIOS["coordinated_cohort"]()
    finding = findings(votes, per_batch)["coordinated_cohort"]
    assert finding.level in ("hold", "invalidate") and finding.score > 0
    named = {s["signal"] for s in finding.evidence["signals"]}
    # seconds after verifying without the page: one habit of two (a rush), named once, not as a delay and a page
    assert named >= {"ua", "rush"} and not named & {"delay", "page"}
    texts = {"ua": ("the same user agent", "浏览器标识"), "delay": ("after verifying", "验证后"),
             "rush": ("within 15 s of verifying without loading the campaign's page", "验证后 15 秒内未打开活动页面即投票"),
             "page": ("never loaded the campaign's page", "投票前从未打开活动页面"),
             "burst": ("in a burst", "爆发"), "surge": ("its own history", "自身历史")}
    for signal in named:
        assert texts[signal][0] in finding.explanation and texts[signal][1] in finding.explanation_zh
    assert finding.evidence["odds"] >= T.hold_odds


def test_a_share_of_fewer_than_the_cohort_says_of_how_many() -> None:
    """A third of the farm verified on an earlier day: its rush is read among the others only, and the explanation
    says "of the 13 compared on it" rather than a bare 100 % beside "Of the 20 identities"."""
    votes = [cast(f"p{i}", OTHERS[i % 10], T0 - timedelta(minutes=30) + timedelta(seconds=5 * i), ua=f"ua-{i % 20}",
                  subnet=f"198.51.{i % 250}.0/24", verified=T0 - timedelta(minutes=30) + timedelta(seconds=5 * i - 90),
                  page=i % 7 > 0) for i in range(300)]
    votes += [cast(f"sms{i}", TARGET, T0 + timedelta(seconds=i), count=10, subnet=f"10.{i}.0.0/24", ua="farm-ua",
                   verified=None if i % 3 == 0 else T0 + timedelta(seconds=i - 3), page=False) for i in range(30)]
    finding = findings(votes, 10)["coordinated_cohort"]
    assert "Of the 20 identities" in finding.explanation
    assert "(100% of the 13 compared on it," in finding.explanation and "在参与比较的 13 个中占 100%" in finding.explanation_zh
    en, zh = figures(finding.explanation, finding.explanation_zh)
    assert zh == en


def test_a_script_s_identities_a_moment_slower_are_explained_by_the_instant_ones_beside_them() -> None:
    """A headless script sleeping 1-3 s after verifying, its page loaded: the finding on its identities that voted
    2-5 s after verifying names the ones that voted within 2 s beside them, in both languages, with the same figures."""
    votes = [cast(f"p{i}", OTHERS[i % 10], T0 - timedelta(minutes=30) + timedelta(seconds=5 * i), ua=f"ua-{i % 20}",
                  subnet=f"198.51.{i % 250}.0/24", verified=T0 - timedelta(minutes=30) + timedelta(seconds=5 * i - 90))
             for i in range(300)]
    votes += [cast(f"headless{i}", TARGET, T0 + timedelta(seconds=3 * i), count=10, subnet=f"10.{i}.0.0/24",
                   ua=f"ua-{i % 20}", verified=T0 + timedelta(seconds=3 * i - (1.2 if i % 2 else 3.1)))
              for i in range(40)]
    store, slower = domain.MemoryWindows(), []

    async def go() -> None:
        for i in range(0, len(votes), 5):
            slower.extend(f for f, _ in await domain.detect(votes[i:i + 5], store, T)
                          if f.reason_code == "coordinated_cohort" and f.evidence["traits"].get("delay") == "2-5s")
    asyncio.run(go())
    finding = slower[0]
    assert finding.level == "hold" and {s["signal"] for s in finding.evidence["signals"]} >= {"delay", "instant"}
    assert "voted within 2 s of verifying, faster than a person can act on the page" in finding.explanation
    assert "在验证后 2 秒内投票，快于常人在页面上的操作" in finding.explanation_zh
    en, zh = figures(finding.explanation, finding.explanation_zh)
    assert zh == en


def test_a_botnet_network_reads_as_a_network_in_chinese() -> None:
    votes, _ = SCENARIOS["concentration_subnet"]()
    text = findings(votes)["concentration_subnet"].explanation_zh
    assert text.startswith("北京时间 11-20 20:00:00 起的一分钟内，网段 192.0.2.0/24 向该作品投出 ")
    assert "（阈值 90%、20%、50%，且不少于 40 票）" in text


def test_a_network_s_case_says_it_covers_the_network_s_later_such_votes_of_the_day() -> None:
    # 30 identities on one network, one string, never loading the page, all for the target, among 300 people: the
    # finding stands for the network's day, and its case grows with the votes cast after it was made; it says so.
    people = [cast(f"p{i}", OTHERS[i % len(OTHERS)], T0 - timedelta(minutes=30) + timedelta(seconds=6 * i), 5,
                   subnet=f"198.{i % 250}.{i % 7}.0/24", ua=f"ua-{i % 25}") for i in range(300)]
    farm = [cast(f"f{i}", TARGET, T0 + timedelta(seconds=40 * i), 10, subnet="198.18.9.0/24", ua="unit-image-ua",
                 page=False) for i in range(30)]
    finding = findings(people + farm, 10)["coordinated_cohort"]
    assert finding.explanation.startswith("Of the ") and "from 198.18.9.0/24 on 2026-11-20 (UTC+8) (every vote from " \
        "the network that day of those with the traits below is covered, those cast later too)" in finding.explanation
    assert "（该网段当天具有下列特征者的全部选票一并处理，此后投出的也包括在内）" in finding.explanation_zh


def test_a_case_held_at_odds_that_would_invalidate_says_why_in_both_languages() -> None:
    """A headless browser's sprint from three cloud servers, one browser string: its string and its data centre's
    network each stand out hundreds of times, yet both are traits a place's people share (a unit's imaged PCs, a
    company's cloud gateway): one piece of evidence, held for a person. The case says so, not that it lacks two strong
    traits."""
    votes = [cast(f"p{i}", OTHERS[i % 10], T0 - timedelta(minutes=30) + timedelta(seconds=5 * i), ua=f"ua-{i % 20}",
                  subnet=f"198.51.{i % 250}.0/24", verified=T0 - timedelta(minutes=30) + timedelta(seconds=5 * i - 90))
             for i in range(300)]
    votes += [cast(f"sprint{i}", TARGET, T0 + timedelta(seconds=6 * i), count=10, subnet=f"47.92.{i % 3}.0/24",
                   ip=f"server-{i % 3}", ua="headless-ua", verified=T0 + timedelta(seconds=6 * i - 1 - (i % 5) / 2.5))
              for i in range(30)]
    store, held = domain.MemoryWindows(), []

    async def go() -> None:
        for i in range(0, len(votes), 5):
            held.extend(f for f, _ in await domain.detect(votes[i:i + 5], store, T)
                        if f.reason_code == "coordinated_cohort" and set(f.evidence["traits"]) == {"ua", "host"})
    asyncio.run(go())
    finding = held[0]
    assert finding.level == "hold" and finding.evidence["odds"] >= T.invalidate_odds
    assert "fewer than three independent pieces of evidence" in finding.explanation
    assert "fewer than two of its traits" not in finding.explanation
    assert "不足三项独立证据" in finding.explanation_zh and "显著特征不足两项" not in finding.explanation_zh
    en, zh = figures(finding.explanation, finding.explanation_zh)
    assert zh == en
