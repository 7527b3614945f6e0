"""A second, independent traffic mix for the anti-fraud service, scored as a black box.

Written from a description of a public voting campaign, not from the detectors: it knows no detector, threshold
or reason code. It reuses only the harness of `eval_fraud.py` (`screen`, `score`, `worst`) and the `SimVote` /
`World` records of `fraud_world.py`; every population below is its own.

The campaign slice
    24 entries of Zipf-like popularity (entry i has weight 1/(i+1)); a cell is 30 minutes (1,800 s) of an evening.
    Every identity is one phone number verified by SMS code and has 10 ballots for the day, given in requests of
    1–10. Regime "first_hour": the campaign has just opened, every identity verifies during the slice and arrivals
    ramp up linearly (from 30 % to 100 % of the peak rate) with three or four WeChat-share bumps. Regime "day3":
    the campaign opened two days earlier, a population-specific share of voters are returning (verified one to two
    days ago) and the arrival rate is flat apart from the bumps.

How an honest person votes
    Arrives (opens the shared link), requests an SMS code and types it (log-normal, median 40 s, 8 s to 5 min);
    88 % then load the page with the new ticket one to three seconds later (the rest vote from a link that never
    loads it), read and vote (log-normal from verification, median 35 s, σ 1.0, 3 s to 15 min). A returning voter
    loads the page when arriving (85 %) and votes after a median 25 s. Ballots: all 10 (70 %) or 1–9; a third give
    all of them to their favourite entry (popularity-weighted), the others make one to four requests 2 s to 2 min
    apart, each to the favourite with probability 0.6, otherwise to any entry by popularity. 15 % come back for a
    second (and 5 % a third) visit minutes later with the rest of their ballots, mobile users often from another
    address. Phone numbers: 96 % ordinary carriers, 3.5 % virtual operators (170/171/162/165/167), 0.5 % data
    cards (145–149). User agents come from a realistic Chinese mix with per-install and per-version detail:
    WeChat in-app on Android (XWEB, MMWEBID per install, NetType WIFI/4G/5G) 38 %, WeChat on iPhone 25 %, Safari
    on iPhone 8 %, Huawei browser 8 %, Xiaomi MIUI browser 5 %, Quark 4 %, desktop Chrome (reduced UA, so few
    distinct strings) 5 %, WeChat for Windows 3 %, no header 2 %. Half the voters are on home broadband (an address
    drawn anywhere in 35 Chinese broadband /8s, so /24s rarely repeat), half on mobile data (addresses drawn from
    a dozen mobile-carrier /16s, so a /24 is shared by a couple of strangers now and then). Each person has their
    own device fingerprint.

Honest populations (labels)
    ordinary     3,000 voters (6,000 in the mixed cells) as above; on day 3, 70 % are returning.
    campus       1,200 students behind 4 NAT addresses in one or two CERNET /24s; a notice in the class groups at
                 10–25 % of the slice starts a rally (arrivals gamma-shaped, shape 2, scale 3–6 min); a share of
                 40–100 % (per seed) give all 10 ballots to their school, the others vote as ordinary people;
                 own phones, slightly quicker than average (median 25 s from code to vote); half returning on day 3.
    cgnat        600 mobile users behind 24–48 addresses of one carrier-grade NAT /24, mobile user agents,
                 otherwise ordinary.
    company      100–300 staff behind one or two office addresses; a colleague posts the link in the company group
                 at lunch (arrivals over ~10 minutes); 60 % vote from company laptops that send one identical
                 desktop Chrome user agent (distinct fingerprints), the rest from their phones on the office Wi-Fi;
                 85 % vote all 10 for their own unit; 30 % have numbers from the company's virtual-operator plan.
    viral        an entry shared in a 2,000-member WeChat group and mentioned on TV: 1,000–1,500 new voters arrive
                 within a few minutes (gamma, shape 2, scale 70 s), distinct mobile and broadband addresses, 90 %
                 WeChat in-app browsers, 85 % give all 10 to that entry; human delays; all freshly verified.
    family       (own) 150 households of 2–4 members sharing one phone: same device, address and user agent, each
                 member verifies their own number and votes, one after another 1–5 minutes apart, usually for the
                 same entry; 60 % of households are returning on day 3.
    kiosk        (own) three community centres, each with one tablet on the centre's broadband, opening at 0–40 %
                 of the slice; elderly residents take turns until the end: a volunteer types each one's own SMS code
                 (median 90 s), the resident reads and votes all 10 for the community's entry (90 %; median 60 s),
                 the next sits down 5–60 s later, so five to ten residents per tablet vote within the slice.
    direct_link  (own) 500 people who follow a deep link from an SMS or WeChat message: 70 % never load the page,
                 they vote 1–6 s after typing the code, one request of all 10 ballots for the linked entry (by
                 popularity); distinct addresses and ordinary phones; 20 % returning on day 3.
    privacy      (own) 400 users of privacy browsers: Firefox with fingerprinting resistance (one identical user
                 agent per platform) or Brave/Via (reduced Chrome strings); the fingerprint changes with every
                 request, or none is sent (40 %); otherwise ordinary.

Attack families (label "attack:<family>", all for one mid-popularity entry, entry 11, from a third of the slice)
    burst           300 identities from 4 /24s (cloud or proxy addresses, the last octet drawn per identity) firing
                    in 3–4 waves a few minutes apart, each wave within 12 s (script) or 20 s (human).
    shared_devices  15 emulators (script) or 24 phones (human), each used for 12–30 identities in turn (one every
                    10–30 s or 40–150 s); emulators sit on one server's /24, phones toggle airplane mode for a new
                    mobile address every one to four identities.
    camouflage      300 identities arriving uniformly over 10 minutes, each giving 6–8 ballots to the target and the
                    rest (2–4) to other entries by popularity, in 2–4 requests; script: a residential proxy pool of 60
                    /24s, human: distinct broadband addresses.
    fresh_surge     800 (or enough to finish first if unchecked) freshly verified identities on distinct residential
                    addresses and devices, each voting all 10 for the target within 5 minutes of the attack start.
    slow_drip       one identity every 2–5 minutes from a fresh address, all 10 for the target.
    Sophistication is the cell's style, client × numbers:
        client "script": no page view (95 %), 0.5–4 s from code to vote, requests 0.2–2 s apart, one copied WeChat
            iPhone user agent for the whole farm, no fingerprint or a random one per identity;
        client "human": workers on real phones: page views (90 %), human delays (median 30 s), the realistic user
            agent mix, own fingerprints; on day 3 half of their identities are aged (verified on earlier days,
            except in fresh surges);
        numbers "platform": SMS-code platform numbers, 60 % virtual operators, 15 % data cards, 25 % ordinary;
        numbers "sim": real SIM cards, 97 % ordinary carriers.

A load tester's replay (cells "replay-nopage/…" and "replay-page/…"): the same people and farms, but every client
verifies and votes 0.3–2 s after typing the code, and nobody (or everybody) loads the page, the way a trace is
often replayed through an API: delay and page habits then tell no one apart, honest or not, and only places,
devices, user agents, numbers and timing are left.

The grid: every honest population beside 3,000 ordinary voters; every attack family × the four styles beside
3,000 ordinary voters; and the issue's mixed cell (6,000 ordinary, campus 1,200 / 4 NAT, cgnat 600 and all five
attack families) once with scripted platform farms and once with human SIM-card farms; the replays of five honest
populations, of every family in two styles and of the scripted mixed cell; each in both regimes.
The table gives the worst case over the seeds of every figure; a diagnostics section then says, for every honest
population over the false-positive target and every attack family under its recall target, which reason codes
flagged the honest voters (or caught the attack) and what the flagged or missed identities' traffic looked like.

    python tests/bench/blind_mix.py [--seeds N] [--quick] [--cells SUBSTR] [--out PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(__file__).resolve().parent
for p in (ROOT, BENCH):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import eval_fraud  # noqa: E402
from fraud_world import ENTRIES, VOTES_PER_DAY, SimVote, World, identities  # noqa: E402

SPAN_S = 1800.0
TARGET = 11      # the attacked entry (rank 12 of 24)
SCHOOL = 7
UNIT = 15
VIRAL = 19
COMMUNITY = 13
DAY_S = 86_400.0

FP_MAX = eval_fraud.FP_MAX
PRECISION = eval_fraud.PRECISION
RECALL = eval_fraud.RECALL
FIRST_FLAG_S = eval_fraud.FIRST_FLAG_S
LOSS_MAX = eval_fraud.LOSS_MAX

POPULARITY = [1.0 / (i + 1) for i in range(ENTRIES)]

# --------------------------------------------------------------------------------------------
# Small facts of the world: numbers, addresses, user agents

CARRIER = ["134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "178", "182",
           "183", "184", "187", "188", "198", "133", "153", "173", "177", "180", "181", "189", "191", "199", "130",
           "131", "132", "155", "156", "166", "175", "176", "185", "186", "192"]
VIRTUAL = ["170", "171", "162", "165", "167"]
DATA = ["145", "146", "147", "148", "149"]

BROADBAND_8 = [14, 27, 36, 42, 49, 58, 59, 60, 61, 101, 106, 110, 111, 113, 114, 115, 116, 117, 119, 120, 121, 122,
               123, 124, 125, 171, 175, 180, 182, 183, 218, 219, 220, 221, 222]
MOBILE_16 = ["223.104", "223.105", "223.106", "223.107", "117.136", "112.96", "112.97", "39.144", "39.149",
             "39.170", "111.55", "36.143"]
CLOUD_16 = ["47.92", "47.97", "47.101", "120.55", "119.23", "118.89", "8.134", "139.196"]
CAMPUS_16 = ["202.112", "202.114", "219.224", "219.245", "211.69", "222.200"]

ANDROID_MODELS = ["NOH-AN00", "ALN-AL00", "JAD-AL50", "ELS-AN00", "ANA-AN00", "CET-AL00", "ANY-AN00", "PGT-AN10",
                  "2211133C", "23049RAD8C", "M2012K11AC", "22081212C", "2201123C", "22101317C", "M2104K10AC",
                  "PHB110", "PFFM10", "PGFM10", "V2229A", "V2134A", "V2302A", "V2307A", "SM-S9180", "RMX3706"]
HUAWEI_MODELS = ANDROID_MODELS[:8]
XIAOMI_MODELS = ANDROID_MODELS[8:15]
BUILDS = ["SP1A.210812.016", "TKQ1.220829.002", "UKQ1.230804.001", "RKQ1.211119.001", "HUAWEINOH-AN00",
          "HONORANY-AN00", "QP1A.190711.020", "TP1A.220624.014"]
IOS = ["15_7", "16_1_2", "16_3", "16_5", "16_6", "17_0_3", "17_1_1", "17_2", "17_3_1", "17_4", "17_5_1"]
WECHAT = [("8.0.38", "0x1800262c", "0x28002639"), ("8.0.40", "0x18002831", "0x2800283D"),
          ("8.0.42", "0x18002a2f", "0x28002A35"), ("8.0.43", "0x18002b2c", "0x28002B37"),
          ("8.0.44", "0x18002c2d", "0x28002C51"), ("8.0.47", "0x18002f2c", "0x28002F36")]
NETWORKS = ["WIFI", "WIFI", "WIFI", "4G", "5G", "5G"]
LAPTOP_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/118.0.0.0 Safari/537.36")
SCRIPT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.42(0x18002a2f) NetType/WIFI Language/zh_CN")
PRIVACY_UAS = ["Mozilla/5.0 (Android 10; Mobile; rv:115.0) Gecko/115.0 Firefox/115.0",
               "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Firefox/115.0",
               "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
               "Mobile Safari/537.36",
               "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 "
               "Mobile Safari/537.36"]


def pick(rng: random.Random, weighted: Sequence[tuple[float, str]]) -> str:
    return rng.choices([v for _, v in weighted], weights=[w for w, _ in weighted])[0]


def lognormal(rng: random.Random, median: float, sigma: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, median * math.exp(rng.gauss(0.0, sigma))))


def phone(rng: random.Random, kind: str) -> str:
    head = rng.choice({"carrier": CARRIER, "virtual": VIRTUAL, "data": DATA}[kind])
    return head + f"{rng.randrange(10**8):08d}"


def retail_phone(rng: random.Random) -> str:
    return phone(rng, pick(rng, [(0.96, "carrier"), (0.035, "virtual"), (0.005, "data")]))


def broadband_ip(rng: random.Random) -> str:
    return f"{rng.choice(BROADBAND_8)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(2, 255)}"


def mobile_ip(rng: random.Random) -> str:
    return f"{rng.choice(MOBILE_16)}.{rng.randrange(256)}.{rng.randrange(2, 255)}"


def subnet_of(ip: str) -> str:
    a, b, c, _ = ip.split(".")
    return f"{a}.{b}.{c}.0/24"


def fingerprint(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def chrome_version(rng: random.Random) -> str:
    return f"{rng.randrange(96, 121)}.0.{rng.randrange(4600, 6200)}.{rng.randrange(40, 230)}"


def user_agent(rng: random.Random, kind: str | None = None) -> str | None:
    """One install's User-Agent string; `kind` forces a family (wechat_android, wechat_ios, ...)."""
    kind = kind or pick(rng, [(0.38, "wechat_android"), (0.25, "wechat_ios"), (0.08, "safari"), (0.08, "huawei"),
                              (0.05, "miui"), (0.04, "quark"), (0.05, "desktop"), (0.03, "wechat_windows"),
                              (0.02, "none")])
    av = rng.choice(["10", "11", "12", "13", "14"])
    ios = rng.choice(IOS)
    wx, ios_hex, android_hex = rng.choice(WECHAT)
    net = rng.choice(NETWORKS)
    if kind == "wechat_android":
        return (f"Mozilla/5.0 (Linux; Android {av}; {rng.choice(ANDROID_MODELS)} Build/{rng.choice(BUILDS)}; wv) "
                f"AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/{chrome_version(rng)} Mobile "
                f"Safari/537.36 XWEB/{rng.randrange(5000, 11000)} MMWEBSDK/2023{rng.randrange(501, 1231):04d} "
                f"MMWEBID/{rng.randrange(10000)} MicroMessenger/{wx}.{rng.randrange(2400, 2600)}({android_hex}) "
                f"WeChat/arm64 Weixin NetType/{net} Language/zh_CN ABI/arm64")
    if kind == "wechat_ios":
        return (f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                f"Mobile/15E148 MicroMessenger/{wx}({ios_hex}) NetType/{net} Language/zh_CN")
    if kind == "safari":
        version = ".".join(ios.split("_")[:2])
        return (f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                f"Version/{version} Mobile/15E148 Safari/604.1")
    if kind == "huawei":
        return (f"Mozilla/5.0 (Linux; Android {av}; HarmonyOS; {rng.choice(HUAWEI_MODELS)}; HMSCore "
                f"6.{rng.randrange(9, 14)}.0.{rng.randrange(300, 333)}) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{chrome_version(rng)} HuaweiBrowser/{rng.randrange(12, 15)}.0.{rng.randrange(0, 6)}."
                f"{rng.randrange(300, 330)} Mobile Safari/537.36")
    if kind == "miui":
        return (f"Mozilla/5.0 (Linux; U; Android {av}; zh-cn; {rng.choice(XIAOMI_MODELS)} Build/{rng.choice(BUILDS)}) "
                f"AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/{chrome_version(rng)} Mobile "
                f"Safari/537.36 XiaoMi/MiuiBrowser/{rng.randrange(16, 18)}.{rng.randrange(1, 9)}."
                f"{rng.randrange(10000, 99999)} swan-mibrowser")
    if kind == "quark":
        return (f"Mozilla/5.0 (Linux; U; Android {av}; zh-CN; {rng.choice(ANDROID_MODELS)} Build/{rng.choice(BUILDS)}) "
                f"AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/{chrome_version(rng)} "
                f"Quark/6.{rng.randrange(2, 9)}.{rng.randrange(0, 9)}.{rng.randrange(100, 700)} Mobile Safari/537.36")
    if kind == "desktop":
        return (f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{rng.randrange(114, 121)}.0.0.0 Safari/537.36")
    if kind == "wechat_windows":
        return (f"Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{chrome_version(rng)} Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) "
                f"WindowsWechat(0x63090{rng.randrange(0xA00, 0xC20):x}) XWEB/{rng.randrange(8000, 11000)} Flue")
    return None


def mobile_user_agent(rng: random.Random) -> str | None:
    return user_agent(rng, pick(rng, [(0.45, "wechat_android"), (0.3, "wechat_ios"), (0.1, "safari"),
                                      (0.08, "huawei"), (0.07, "miui")]))


# --------------------------------------------------------------------------------------------
# People, clients and the vote log


@dataclass
class Identity:
    voter: str
    label: str
    attack: bool
    phone: str
    verified_t: float = math.nan
    ballots: int = VOTES_PER_DAY


@dataclass
class Client:
    """A browser or app install: its fingerprint and User-Agent; a privacy browser changes fingerprint per load."""

    fingerprint: str | None
    ua: str | None
    rotating: bool = False

    def device(self, rng: random.Random) -> str | None:
        return fingerprint(rng) if self.rotating and self.fingerprint else self.fingerprint


Where = Callable[[], str]  # the address of the next visit


def fixed(ip: str) -> Where:
    return lambda: ip


@dataclass
class Habit:
    """How a person behaves between arriving and voting."""

    page_p: float = 0.88
    sms_median: float = 40.0
    read_median: float = 35.0
    read_sigma: float = 1.0
    loyalty: float = 1 / 3          # gives every ballot to the favourite
    visits: tuple[float, float, float] = (0.8, 0.15, 0.05)


class Gen:
    """One cell's vote log under construction."""

    def __init__(self, seed: int, regime: str, span_s: float = SPAN_S) -> None:
        self.rng = random.Random(seed)
        self.regime = regime
        self.span_s = span_s
        self.votes: list[SimVote] = []

    def identity(self, label: str, phone_number: str, attack: bool = False) -> Identity:
        return Identity(f"v{self.rng.getrandbits(64):016x}", label, attack, phone_number)

    def emit(self, who: Identity, t: float, entry: int, count: int, ip: str, client: Client,
             page_t: float | None) -> None:
        if not 0.0 <= t < self.span_s or count <= 0:
            return
        assert who.ballots >= count, "an identity has at most 10 ballots a day"
        who.ballots -= count
        self.votes.append(SimVote(
            key=f"k{len(self.votes)}-{self.rng.getrandbits(32):08x}", voter=who.voter, label=who.label,
            attack=who.attack, entry=entry, count=count, t=t, ip=ip, subnet=subnet_of(ip), device=client.device(self.rng),
            ua=client.ua, verified_t=who.verified_t, page_t=page_t, phone=who.phone))

    def returning(self, share: float) -> bool:
        return self.regime == "day3" and self.rng.random() < share

    def earlier_day(self) -> float:
        return -self.rng.uniform(1.0, 2.0) * DAY_S - self.rng.uniform(0.0, 20_000.0)

    def popular_entry(self) -> int:
        return self.rng.choices(range(ENTRIES), weights=POPULARITY)[0]

    # --- arrivals ---

    def arrivals(self, n: int) -> list[float]:
        """Ordinary arrivals: a linear ramp (first hour) or a flat rate (day 3), 25 % in WeChat-share bumps."""
        rng, end = self.rng, self.span_s
        bumps = [rng.uniform(0.0, end) for _ in range(rng.randint(3, 4))]
        out: list[float] = []
        while len(out) < n:
            if rng.random() < 0.25:
                t = rng.choice(bumps) + rng.gammavariate(2.0, 60.0)
            else:
                t = rng.uniform(0.0, end)
                if self.regime == "first_hour" and rng.random() > 0.3 + 0.7 * t / end:
                    continue
            if t < end:
                out.append(t)
        return out

    def rally(self, n: int, at: float, shape: float, scale: float) -> list[float]:
        return [at + self.rng.gammavariate(shape, scale) for _ in range(n)]

    # --- honest behaviour ---

    def ballot_plan(self, favourite: int, loyalty: float) -> list[tuple[int, int]]:
        rng = self.rng
        total = VOTES_PER_DAY if rng.random() < 0.7 else rng.randint(1, 9)
        if rng.random() < loyalty:
            parts = split(rng, total, 1 if rng.random() < 0.7 else 2)
            return [(favourite, c) for c in parts]
        parts = split(rng, total, rng.choices([1, 2, 3, 4], weights=[0.35, 0.35, 0.2, 0.1])[0])
        return [(favourite if rng.random() < 0.6 else self.popular_entry(), c) for c in parts]

    def person(self, who: Identity, arrive: float, where: Where, client: Client, favourite: int, habit: Habit,
               returning: bool, plan: list[tuple[int, int]] | None = None) -> float:
        """One honest person's visits; returns the time of their last request."""
        rng = self.rng
        plan = plan or self.ballot_plan(favourite, habit.loyalty)
        visits = min(len(plan), rng.choices([1, 2, 3], weights=habit.visits)[0])
        cuts = sorted(rng.sample(range(1, len(plan)), visits - 1)) if visits > 1 else []
        groups = [plan[a:b] for a, b in zip([0, *cuts], [*cuts, len(plan)], strict=True)]
        t = arrive
        if returning:
            who.verified_t = self.earlier_day()
        for i, group in enumerate(groups):
            if i:
                t += lognormal(rng, 300.0, 0.8, 60.0, 1500.0)
            ip = where()
            if i == 0 and not returning:
                who.verified_t = t + lognormal(rng, habit.sms_median, 0.6, 8.0, 300.0)
                page_t = who.verified_t + rng.uniform(0.5, 3.0) if rng.random() < habit.page_p else None
                t = who.verified_t + lognormal(rng, habit.read_median, habit.read_sigma, 3.0, 900.0)
            else:
                page_t = t if rng.random() < 0.85 else None
                t += lognormal(rng, habit.read_median * 0.7, habit.read_sigma, 3.0, 600.0)
            for j, (entry, count) in enumerate(group):
                if j:
                    t += lognormal(rng, 8.0, 0.8, 2.0, 120.0)
                self.emit(who, t, entry, count, ip, client, page_t)
        return t

    def ordinary(self, n: int) -> None:
        rng = self.rng
        for arrive in self.arrivals(n):
            who = self.identity("ordinary", retail_phone(rng))
            self.person(who, arrive, self.home_or_mobile(), Client(fingerprint(rng), user_agent(rng)),
                        self.popular_entry(), Habit(), self.returning(0.7))

    def home_or_mobile(self) -> Where:
        """Home broadband (fixed), or mobile data (a new address on a later visit, 60 % of the time)."""
        rng = self.rng
        if rng.random() < 0.5:
            return fixed(broadband_ip(rng))
        ip, first = mobile_ip(rng), True

        def where() -> str:
            nonlocal ip, first
            if not first and rng.random() < 0.6:
                ip = mobile_ip(rng)
            first = False
            return ip
        return where

    # --- the suspicious-looking honest populations ---

    def campus(self, n: int = 1200, nats: int = 4) -> None:
        rng = self.rng
        blocks = [f"{rng.choice(CAMPUS_16)}.{rng.randrange(256)}" for _ in range(rng.randint(1, 2))]
        addresses = [f"{blocks[i % len(blocks)]}.{rng.randrange(2, 255)}" for i in range(nats)]
        loyalty = rng.uniform(0.4, 1.0)
        notice = rng.uniform(0.1, 0.25) * self.span_s
        for arrive in self.rally(n, notice, 2.0, rng.uniform(180.0, 360.0)):
            who = self.identity("campus", retail_phone(rng))
            nat = rng.choice(addresses)
            loyal = rng.random() < loyalty
            habit = Habit(read_median=25.0 if loyal else 35.0)
            plan = [(SCHOOL, VOTES_PER_DAY)] if loyal and rng.random() < 0.6 else \
                [(SCHOOL, c) for c in split(rng, VOTES_PER_DAY, 2)] if loyal else None
            self.person(who, arrive, fixed(nat), Client(fingerprint(rng), mobile_user_agent(rng)),
                        self.popular_entry(), habit, self.returning(0.5), plan)

    def cgnat(self, n: int = 600) -> None:
        rng = self.rng
        block = f"{rng.choice(MOBILE_16)}.{rng.randrange(256)}"
        pool = [f"{block}.{h}" for h in rng.sample(range(2, 255), rng.randint(24, 48))]
        for arrive in self.arrivals(n):
            who = self.identity("cgnat", retail_phone(rng))
            self.person(who, arrive, lambda: rng.choice(pool), Client(fingerprint(rng), mobile_user_agent(rng)),
                        self.popular_entry(), Habit(), self.returning(0.7))

    def company(self) -> None:
        rng = self.rng
        n = rng.randint(100, 300)
        offices = [broadband_ip(rng) for _ in range(rng.randint(1, 2))]
        plan_block = rng.choice(VIRTUAL) + f"{rng.randrange(10**4):04d}"
        lunch = rng.uniform(0.2, 0.6) * self.span_s
        for arrive in self.rally(n, lunch, 1.5, 200.0):
            number = plan_block + f"{rng.randrange(10**4):04d}" if rng.random() < 0.3 else retail_phone(rng)
            who = self.identity("company", number)
            office = rng.choice(offices)
            client = Client(fingerprint(rng), LAPTOP_UA if rng.random() < 0.6 else mobile_user_agent(rng))
            plan = [(UNIT, VOTES_PER_DAY)] if rng.random() < 0.85 else None
            self.person(who, arrive, fixed(office), client, UNIT, Habit(read_median=25.0),
                        self.returning(0.5), plan)

    def viral(self) -> None:
        rng = self.rng
        n = rng.randint(1000, 1500)
        at = rng.uniform(0.15, 0.5) * self.span_s
        for arrive in self.rally(n, at, 2.0, 70.0):
            who = self.identity("viral", retail_phone(rng))
            kind = "wechat_android" if rng.random() < 0.55 else "wechat_ios" if rng.random() < 0.8 else None
            plan = [(VIRAL, VOTES_PER_DAY)] if rng.random() < 0.85 else None
            self.person(who, arrive, self.home_or_mobile(), Client(fingerprint(rng), user_agent(rng, kind)),
                        VIRAL, Habit(), False, plan)

    def family(self, households: int = 150) -> None:
        rng = self.rng
        for arrive in self.arrivals(households):
            home = broadband_ip(rng)
            client = Client(fingerprint(rng), mobile_user_agent(rng))
            shared = self.popular_entry()
            returning = self.returning(0.6)
            t = arrive
            for _ in range(rng.randint(2, 4)):
                who = self.identity("family", retail_phone(rng))
                favourite = shared if rng.random() < 0.8 else self.popular_entry()
                plan = [(favourite, VOTES_PER_DAY)] if rng.random() < 0.6 else None
                habit = Habit(visits=(1.0, 0.0, 0.0))
                t = self.person(who, t, fixed(home), client, favourite, habit, returning, plan)
                t += rng.uniform(60.0, 300.0)  # the next member's turn

    def kiosk(self) -> None:
        rng = self.rng
        for _ in range(3):
            address = broadband_ip(rng)
            tablet = Client(fingerprint(rng), user_agent(rng, pick(rng, [(0.5, "huawei"), (0.5, "wechat_android")])))
            t = rng.uniform(0.0, 0.4) * self.span_s
            while t < self.span_s:
                who = self.identity("kiosk", phone(rng, "carrier"))
                who.verified_t = t + lognormal(rng, 90.0, 0.4, 30.0, 300.0)  # the volunteer types the code
                returning = self.returning(0.3)
                if returning:
                    who.verified_t = self.earlier_day()
                start = max(t, who.verified_t)
                page_t = start + rng.uniform(1.0, 4.0)
                vote_t = start + lognormal(rng, 60.0, 0.5, 15.0, 400.0)
                entry = COMMUNITY if rng.random() < 0.9 else self.popular_entry()
                self.emit(who, vote_t, entry, VOTES_PER_DAY, address, tablet, page_t)
                t = vote_t + rng.uniform(5.0, 60.0)  # the next resident sits down

    def direct_link(self, n: int = 500) -> None:
        rng = self.rng
        for arrive in self.arrivals(n):
            who = self.identity("direct_link", retail_phone(rng))
            ip = self.home_or_mobile()()
            client = Client(fingerprint(rng), mobile_user_agent(rng))
            if self.returning(0.2):
                who.verified_t = self.earlier_day()
                vote_t = arrive + rng.uniform(2.0, 10.0)
            else:
                who.verified_t = arrive + lognormal(rng, 30.0, 0.5, 8.0, 200.0)
                vote_t = who.verified_t + rng.uniform(1.0, 6.0)
            page_t = who.verified_t + rng.uniform(0.3, 1.0) if rng.random() < 0.3 else None
            self.emit(who, vote_t, self.popular_entry(), VOTES_PER_DAY, ip, client, page_t)

    def privacy(self, n: int = 400) -> None:
        rng = self.rng
        for arrive in self.arrivals(n):
            who = self.identity("privacy", retail_phone(rng))
            client = Client(None if rng.random() < 0.4 else fingerprint(rng), rng.choice(PRIVACY_UAS), rotating=True)
            self.person(who, arrive, self.home_or_mobile(), client, self.popular_entry(), Habit(), self.returning(0.7))


def split(rng: random.Random, total: int, parts: int) -> list[int]:
    """`total` ballots in `parts` non-empty requests (fewer when there are too few ballots)."""
    parts = max(1, min(parts, total))
    cuts = sorted(rng.sample(range(1, total), parts - 1)) if parts > 1 else []
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


# --------------------------------------------------------------------------------------------
# Farms


@dataclass(frozen=True)
class Style:
    client: str   # "script" or "human"
    numbers: str  # "platform" or "sim"

    @property
    def name(self) -> str:
        return f"{self.client}+{self.numbers}"


STYLES = [Style("script", "platform"), Style("script", "sim"), Style("human", "platform"), Style("human", "sim")]


class Farm:
    """One attack family's identities, clients and timing in a given style."""

    def __init__(self, gen: Gen, family: str, style: Style, start: float) -> None:
        self.g, self.family, self.style, self.start = gen, family, style, start
        self.script = style.client == "script"

    def identity(self) -> Identity:
        rng = self.g.rng
        kind = pick(rng, [(0.6, "virtual"), (0.15, "data"), (0.25, "carrier")]) if self.style.numbers == "platform" \
            else pick(rng, [(0.97, "carrier"), (0.03, "virtual")])
        return self.g.identity(f"attack:{self.family}", phone(rng, kind), attack=True)

    def client(self) -> Client:
        rng = self.g.rng
        if self.script:
            return Client(None if rng.random() < 0.5 else fingerprint(rng), SCRIPT_UA)
        return Client(fingerprint(rng), user_agent(rng))

    def vote(self, who: Identity, t: float, plan: list[tuple[int, int]], ip: str, client: Client,
             may_age: bool = True) -> float:
        """Verifies (or, a human farm on day 3, may use an aged identity) and gives the planned requests from `t`;
        returns the time of the last request."""
        rng = self.g.rng
        aged = may_age and not self.script and self.g.returning(0.5)
        if self.script:
            who.verified_t = t - rng.uniform(0.5, 4.0)
            page_t = t - rng.uniform(0.2, 1.0) if rng.random() < 0.05 else None
        elif aged:
            who.verified_t = self.g.earlier_day()
            page_t = t - lognormal(rng, 15.0, 0.6, 2.0, 120.0) if rng.random() < 0.9 else None
        else:
            who.verified_t = t - lognormal(rng, 30.0, 0.7, 4.0, 400.0)
            page_t = who.verified_t + rng.uniform(0.5, 3.0) if rng.random() < 0.9 else None
        for j, (entry, count) in enumerate(plan):
            if j:
                t += rng.uniform(0.2, 2.0) if self.script else lognormal(rng, 8.0, 0.8, 2.0, 120.0)
            self.g.emit(who, t, entry, count, ip, client, page_t)
        return t

    def all_in(self) -> list[tuple[int, int]]:
        rng = self.g.rng
        return [(TARGET, VOTES_PER_DAY)] if self.script or rng.random() < 0.6 else \
            [(TARGET, c) for c in split(rng, VOTES_PER_DAY, 2)]

    def burst(self, n: int = 300) -> None:
        rng = self.g.rng
        pool = CLOUD_16 if self.script else BROADBAND_8
        blocks = [f"{rng.choice(pool)}.{rng.randrange(256)}" if self.script else
                  f"{rng.choice(pool)}.{rng.randrange(256)}.{rng.randrange(256)}" for _ in range(4)]
        waves = rng.randint(3, 4)
        width = 12.0 if self.script else 20.0
        wave_at = [self.start + i * rng.uniform(120.0, 240.0) for i in range(waves)]
        for i in range(n):
            block = blocks[i % len(blocks)]
            ip = f"{block}.{rng.randrange(2, 255)}"
            self.vote(self.identity(), wave_at[i % waves] + rng.uniform(0.0, width), self.all_in(), ip, self.client())

    def shared_devices(self) -> None:
        rng = self.g.rng
        devices = 15 if self.script else 24
        server = f"{rng.choice(CLOUD_16)}.{rng.randrange(256)}"
        for _ in range(devices):
            client = Client(fingerprint(rng), SCRIPT_UA if self.script else mobile_user_agent(rng))
            t = self.start + rng.uniform(0.0, 60.0)
            ip = f"{server}.{rng.randrange(2, 255)}" if self.script else mobile_ip(rng)
            for k in range(rng.randint(12, 30)):
                if not self.script and k and rng.random() < 0.4:
                    ip = mobile_ip(rng)  # airplane mode on and off
                t = self.vote(self.identity(), t, self.all_in(), ip, client)
                t += rng.uniform(10.0, 30.0) if self.script else rng.uniform(40.0, 150.0)

    def camouflage(self, n: int = 300) -> None:
        rng = self.g.rng
        proxies = [f"{rng.choice(BROADBAND_8)}.{rng.randrange(256)}.{rng.randrange(256)}" for _ in range(60)]
        for _ in range(n):
            t = self.start + rng.uniform(0.0, 600.0)
            ip = f"{rng.choice(proxies)}.{rng.randrange(2, 255)}" if self.script else broadband_ip(rng)
            to_target = rng.randint(6, 8)
            parts = split(rng, to_target, rng.randint(1, 2)) if not self.script else [to_target]
            plan = [(TARGET, c) for c in parts]
            others = split(rng, VOTES_PER_DAY - to_target, rng.randint(1, 2))
            plan += [(self.other_entry(), c) for c in others]
            rng.shuffle(plan)
            self.vote(self.identity(), t, plan, ip, self.client())

    def other_entry(self) -> int:
        while (entry := self.g.popular_entry()) == TARGET:
            pass
        return entry

    def fresh_surge(self, n: int) -> None:
        rng = self.g.rng
        for _ in range(n):
            ip = broadband_ip(rng) if rng.random() < 0.6 else mobile_ip(rng)
            client = Client(fingerprint(rng), SCRIPT_UA if self.script else user_agent(rng))
            self.vote(self.identity(), self.start + rng.uniform(0.0, 300.0), self.all_in(), ip, client, may_age=False)

    def slow_drip(self) -> None:
        rng = self.g.rng
        t = self.start + rng.uniform(0.0, 60.0)
        while t < self.g.span_s:
            self.vote(self.identity(), t, [(TARGET, VOTES_PER_DAY)], broadband_ip(rng), self.client())
            t += rng.uniform(120.0, 300.0)


FAMILIES = ("burst", "shared_devices", "camouflage", "fresh_surge", "slow_drip")
HONEST = ("campus", "cgnat", "company", "viral", "family", "kiosk", "direct_link", "privacy")


# --------------------------------------------------------------------------------------------
# Cells


@dataclass(frozen=True)
class Cell:
    name: str
    regime: str
    honest: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    style: Style | None = None
    ordinary: int = 3000
    replay: str = ""   # "", "nopage" or "page": every client is a load tester's (see `replayed`)

    @property
    def title(self) -> str:
        return f"{self.name} [{self.regime}]"


def build(cell: Cell, seed: int) -> World:
    g = Gen(hash_seed(cell.title, seed), cell.regime)
    g.ordinary(cell.ordinary)
    for population in cell.honest:
        getattr(g, population)()
    if cell.families and cell.style:
        honest = Counter[int]()
        for v in g.votes:
            honest[v.entry] += v.count
        surge = max(800, math.ceil(1.15 * (max(honest.values()) - honest[TARGET]) / VOTES_PER_DAY))
        for family in cell.families:
            farm = Farm(g, family, cell.style, SPAN_S / 3)
            if family == "fresh_surge":
                farm.fresh_surge(surge)
            else:
                getattr(farm, family)()
    votes = sorted(g.votes, key=lambda v: v.t)
    if cell.replay:
        votes = replayed(votes, cell.replay == "page", random.Random(hash_seed(cell.title, seed) + 1))
    first = min((v.t for v in votes if v.attack), default=None)  # the attack's first vote
    return World(votes=votes, span_s=SPAN_S, target=TARGET if cell.families else None, attack_start=first)


def replayed(votes: list[SimVote], page: bool, rng: random.Random) -> list[SimVote]:
    """The same people and farms played by a load tester's client: whoever verifies in the slice votes 0.3–2 s after
    typing the code, and nobody (`page` False) or everybody (True, half a second after verifying) loads the page —
    so delay and page habits tell no one apart, honest or not."""
    first: dict[str, float] = {}
    for v in votes:
        first.setdefault(v.voter, v.t)
    verified = {voter: t - rng.uniform(0.3, 2.0) for voter, t in first.items()}
    out = []
    for v in votes:
        fresh = v.verified_t >= 0.0
        verified_t = verified[v.voter] if fresh else v.verified_t
        page_t = (verified_t + 0.5 if fresh else first[v.voter] - 1.0) if page else None
        out.append(dataclasses.replace(v, verified_t=verified_t, page_t=page_t))
    return out


def hash_seed(title: str, seed: int) -> int:
    return int.from_bytes(title.encode(), "big") % (2**61 - 1) * 1_000_003 + seed


def grid(quick: bool = False) -> list[Cell]:
    regimes = ["first_hour"] if quick else ["first_hour", "day3"]
    styles = [STYLES[0], STYLES[3]] if quick else STYLES
    n = 1500 if quick else 3000
    cells: list[Cell] = []
    for regime in regimes:
        cells.append(Cell("honest/ordinary", regime, ordinary=n))
        cells += [Cell(f"honest/{h}", regime, honest=(h,), ordinary=n) for h in HONEST]
        cells += [Cell(f"{f}/{s.name}", regime, families=(f,), style=s, ordinary=n) for f in FAMILIES for s in styles]
        cells += [Cell(f"mixed/{s.name}", regime, honest=("campus", "cgnat"), families=FAMILIES, style=s,
                       ordinary=2 * n) for s in (STYLES[0], STYLES[3])]
        for mode in ("nopage", "page"):
            cells += [Cell(f"replay-{mode}/honest/{h}", regime, honest=(h,), ordinary=n, replay=mode)
                      for h in ("campus", "cgnat", "company", "viral", "family")]
            cells += [Cell(f"replay-{mode}/{f}/{s.name}", regime, families=(f,), style=s, ordinary=n, replay=mode)
                      for f in FAMILIES for s in (STYLES[0], STYLES[3])]
            cells.append(Cell(f"replay-{mode}/mixed/{STYLES[0].name}", regime, honest=("campus", "cgnat"),
                              families=FAMILIES, style=STYLES[0], ordinary=2 * n, replay=mode))
    return cells


# --------------------------------------------------------------------------------------------
# Running and scoring one cell × seed


@dataclass
class Profile:
    """What one identity's traffic looked like, from the log alone."""

    page: bool
    fresh: bool
    delay_s: float | None       # verification to first request (fresh identities)
    ids_per_ip: int             # identities seen on its busiest address
    ids_per_subnet: int
    ids_per_device: int
    ids_per_ua: int
    virtual: bool               # virtual-operator or data number
    requests: int
    top_share: float            # share of its ballots to its most-voted entry
    top_entry: int
    first_t: float


@dataclass
class Group:
    """Flagged (or missed) identities of one population, with reason codes by identity."""

    profiles: list[Profile] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    total: int = 0
    invalidated: int = 0  # identities with a vote invalidated (the rest of the flagged were only held)


@dataclass
class Run:
    cell: Cell
    seed: int
    metrics: eval_fraud.Metrics
    recall: dict[str, tuple[float, float]]     # family → (identities, ballots)
    first_flag: dict[str, float]               # family → seconds from its first vote to its first decision
    flagged_honest: dict[str, Group]           # honest label → flagged identities
    unflagged_honest: dict[str, Group]         # honest label → a sample of the others
    missed: dict[str, Group]                   # family → unflagged attack identities
    caught: dict[str, Group]                   # family → flagged attack identities
    votes: int
    seconds: float


def profiles(votes: Sequence[SimVote]) -> dict[str, Profile]:
    by_ip: dict[str, set[str]] = {}
    by_subnet: dict[str, set[str]] = {}
    by_device: dict[str, set[str]] = {}
    by_ua: dict[str, set[str]] = {}
    for v in votes:
        for index, value in ((by_ip, v.ip), (by_subnet, v.subnet), (by_device, v.device), (by_ua, v.ua)):
            if value:
                index.setdefault(value, set()).add(v.voter)

    def most(index: dict[str, set[str]], values: Iterable[str | None]) -> int:
        return max((len(index[x]) for x in values if x), default=0)

    out = {}
    for voter, vs in identities(votes).items():
        first = vs[0]
        per_entry = Counter[int]()
        for v in vs:
            per_entry[v.entry] += v.count
        out[voter] = Profile(
            page=any(v.page_t is not None and v.page_t <= v.t for v in vs), fresh=first.verified_t >= 0,
            delay_s=first.t - first.verified_t if first.verified_t >= 0 else None,
            ids_per_ip=most(by_ip, (v.ip for v in vs)), ids_per_subnet=most(by_subnet, (v.subnet for v in vs)),
            ids_per_device=most(by_device, (v.device for v in vs)), ids_per_ua=most(by_ua, (v.ua for v in vs)),
            virtual=first.phone[:3] in VIRTUAL + DATA, requests=len(vs),
            top_share=max(per_entry.values()) / sum(per_entry.values()), top_entry=per_entry.most_common(1)[0][0],
            first_t=first.t)
    return out


def run_one(cell: Cell, seed: int) -> Run:
    began = time.perf_counter()
    world = build(cell, seed)
    states, decided, reasons, unknown = asyncio.run(eval_fraud.screen(world, cell.regime))
    metrics = eval_fraud.score(world.votes, states, decided, world.attack_start, reasons=reasons)
    metrics.unknown_decisions = unknown
    prof = profiles(world.votes)
    rng = random.Random(seed)
    flagged_honest: dict[str, Group] = {}
    unflagged_honest: dict[str, Group] = {}
    missed: dict[str, Group] = {}
    caught: dict[str, Group] = {}
    recall: dict[str, tuple[float, float]] = {}
    first_flag: dict[str, float] = {}
    per_family: dict[str, list[int]] = {}  # ids, flagged ids, ballots, flagged ballots
    began_at: dict[str, float] = {}
    for v in world.votes:
        if v.attack:
            began_at.setdefault(v.label, v.t)
    for voter, vs in identities(world.votes).items():
        head = vs[0]
        flagged = [v for v in vs if v.key in states]
        codes = {c for v in flagged for c in reasons.get(v.key, ())}
        if head.attack:
            family = head.label.split(":", 1)[1]
            agg = per_family.setdefault(family, [0, 0, 0, 0])
            agg[0] += 1
            agg[1] += bool(flagged)
            agg[2] += sum(v.count for v in vs)
            agg[3] += sum(v.count for v in flagged)
            if flagged:
                when = min(decided[v.key] for v in flagged) - began_at[head.label]
                first_flag[family] = min(first_flag.get(family, math.inf), max(0.0, when))
            group = (caught if flagged else missed).setdefault(family, Group())
        else:
            group = (flagged_honest if flagged else unflagged_honest).setdefault(head.label, Group())
        group.total += 1
        group.codes.update(codes)
        group.invalidated += any(states[v.key] == "invalidated" for v in flagged)
        if flagged or head.attack or (len(group.profiles) < 400 and rng.random() < 0.5):
            group.profiles.append(prof[voter])
    for family, (n, f, b, fb) in per_family.items():
        recall[family] = (f / n, fb / b if b else 0.0)
        first_flag.setdefault(family, math.inf)
    return Run(cell, seed, metrics, recall, first_flag, flagged_honest, unflagged_honest, missed, caught,
               len(world.votes), time.perf_counter() - began)


# --------------------------------------------------------------------------------------------
# Reporting


@dataclass
class Worst:
    cell: Cell
    runs: list[Run]
    metrics: eval_fraud.Metrics
    recall: dict[str, tuple[float, float]]
    first_flag: dict[str, float]

    @classmethod
    def of(cls, runs: list[Run]) -> Worst:
        recall: dict[str, tuple[float, float]] = {}
        first: dict[str, float] = {}
        for r in runs:
            for family, (a, b) in r.recall.items():
                pa, pb = recall.get(family, (1.0, 1.0))
                recall[family] = (min(a, pa), min(b, pb))
            for family, s in r.first_flag.items():
                first[family] = max(s, first.get(family, 0.0))
        return cls(runs[0].cell, runs, eval_fraud.worst([r.metrics for r in runs]), recall, first)

    def failures(self) -> list[str]:
        m, out = self.metrics, []
        if self.cell.families:
            if m.precision_ids is not None and m.precision_ids < PRECISION:
                out.append("precision ids")
            if m.precision_votes is not None and m.precision_votes < PRECISION:
                out.append("precision votes")
            for family, (a, _) in self.recall.items():
                need = RECALL.get(family)
                if need is not None and a < need:
                    out.append(f"recall {family}")
                if need is not None and self.first_flag.get(family, 0.0) > FIRST_FLAG_S:
                    out.append(f"first flag {family}")
            if not m.ranks_equal:
                out.append("ranks")
        out += [f"FP {label}" for label, (a, b) in m.fp.items() if max(a, b) > FP_MAX]
        if m.max_loss > LOSS_MAX:
            out.append("honest loss")
        return out


def num(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "–"
    if math.isinf(x):
        return "never"
    return f"{100 * x:.2f} %" if pct else f"{x:.3f}" if x < 10 else f"{x:.0f}"


def table(worsts: list[Worst]) -> str:
    header = ["cell", "regime", "P ids", "P votes", "FP ids / votes by honest population", "recall ids / votes",
              "ranks equal", "max honest loss", "first flag s", "fails"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for w in worsts:
        m = w.metrics
        fp = ", ".join(f"{label} {num(a, True)} / {num(b, True)}" for label, (a, b) in m.fp.items())
        recall = ", ".join(f"{f} {num(a)} / {num(b)}" for f, (a, b) in w.recall.items()) or "–"
        first = ", ".join(f"{f} {num(s)}" for f, s in w.first_flag.items()) or "–"
        ranks = "yes" if m.ranks_equal else f"no ({m.ranks_differ})"
        cells = [w.cell.name, w.cell.regime, num(m.precision_ids), num(m.precision_votes), fp, recall, ranks,
                 num(m.max_loss, True), first, ", ".join(w.failures()) or "ok"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def describe(profs: list[Profile]) -> str:
    if not profs:
        return "none"

    def share(xs: Iterable[bool]) -> str:
        xs = list(xs)
        return f"{100 * sum(xs) / len(xs):.0f} %"

    def med(xs: Iterable[float | None]) -> str:
        ys = [x for x in xs if x is not None]
        return f"{statistics.median(ys):.0f}" if ys else "–"

    delays = sorted(p.delay_s for p in profs if p.delay_s is not None)
    entry, n = Counter(p.top_entry for p in profs).most_common(1)[0]
    p10 = f"{delays[len(delays) // 10]:.0f}" if delays else "–"
    return (f"n={len(profs)}; page view {share(p.page for p in profs)}; fresh {share(p.fresh for p in profs)}; "
            f"code→vote p10/median {p10}/{med(delays)} s; identities per address {med(p.ids_per_ip for p in profs)}, "
            f"per /24 {med(p.ids_per_subnet for p in profs)}, per device {med(p.ids_per_device for p in profs)}, "
            f"per UA {med(p.ids_per_ua for p in profs)}; virtual/data numbers {share(p.virtual for p in profs)}; "
            f"requests {statistics.mean(p.requests for p in profs):.1f}; top-entry share "
            f"{statistics.mean(p.top_share for p in profs):.2f}, commonest top entry {entry} "
            f"({100 * n / len(profs):.0f} %); first vote t {min(p.first_t for p in profs):.0f}–"
            f"{max(p.first_t for p in profs):.0f} s")


def merged(runs: list[Run], pick_groups: Callable[[Run], dict[str, Group]], key: str) -> Group:
    out = Group()
    for r in runs:
        g = pick_groups(r).get(key)
        if g:
            out.profiles += g.profiles
            out.codes.update(g.codes)
            out.total += g.total
            out.invalidated += g.invalidated
    return out


def codes_text(g: Group) -> str:
    return ", ".join(f"{c} {n}" for c, n in g.codes.most_common(6)) or "none"


def diagnostics(worsts: list[Worst]) -> str:
    lines = ["## Diagnostics (summed over seeds; reason codes counted by identity)", ""]
    for w in worsts:
        m = w.metrics
        bad_fp = [label for label, (a, b) in m.fp.items() if max(a, b) > FP_MAX or (m.max_loss > LOSS_MAX and a)]
        low = [f for f, (a, _) in w.recall.items() if (RECALL.get(f) or 0.0) > a or (f == "slow_drip" and a < 0.5)]
        if not bad_fp and not low:
            continue
        lines.append(f"### {w.cell.title}")
        for label in bad_fp:
            flagged = merged(w.runs, lambda r: r.flagged_honest, label)
            rest = merged(w.runs, lambda r: r.unflagged_honest, label)
            lines.append(f"- honest **{label}**: {flagged.total} of {flagged.total + rest.total} identities flagged "
                         f"({flagged.invalidated} invalidated, the rest held); codes: {codes_text(flagged)}")
            lines.append(f"  - flagged: {describe(flagged.profiles)}")
            lines.append(f"  - not flagged (sample): {describe(rest.profiles)}")
        for family in low:
            missed = merged(w.runs, lambda r: r.missed, family)
            caught = merged(w.runs, lambda r: r.caught, family)
            lines.append(f"- attack **{family}**: {missed.total} of {missed.total + caught.total} identities missed "
                         f"({caught.invalidated} invalidated); codes on the caught: {codes_text(caught)}")
            lines.append(f"  - missed: {describe(missed.profiles)}")
            lines.append(f"  - caught: {describe(caught.profiles)}")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="first hour only, two styles, 1,500 ordinary voters")
    parser.add_argument("--cells", action="append", default=[], metavar="SUBSTR", help="cells whose title contains it")
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    seeds = 1 if args.quick and args.seeds == 3 else args.seeds
    cells = [c for c in grid(args.quick) if not args.cells or any(s in c.title for s in args.cells)]
    began = time.perf_counter()
    jobs = [(c, s) for c in cells for s in range(seeds)]
    runs: dict[Cell, list[Run]] = {c: [] for c in cells}
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for run in pool.map(run_one, [c for c, _ in jobs], [s for _, s in jobs]):
            runs[run.cell].append(run)
            print(f"{run.cell.title} seed {run.seed}: {run.votes} requests, {run.seconds:.1f} s", file=sys.stderr)
    worsts = [Worst.of(runs[c]) for c in cells]
    wall = time.perf_counter() - began
    from machine import describe as describe_machine

    command = "python tests/bench/blind_mix.py" + (" --quick" if args.quick else "") + \
        "".join(f" --cells {c!r}" for c in args.cells) + (f" --seeds {args.seeds}" if args.seeds != 3 else "")
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report = "\n\n".join([
        f"# Blind mix: worst case over {seeds} seed(s) per cell ({wall:.0f} s wall, {len(jobs)} runs)",
        f"Measured {stamp} with `make eval-blind` (`{command}`) on {describe_machine()}. The traffic is "
        "`tests/bench/blind_mix.py` (its docstring describes the world), written apart from the detectors and "
        "from `fraud_world.py`'s populations; `docs/antifraud.md` says what was changed after it first ran.",
        f"Targets: precision ≥ {PRECISION}; FP ≤ {100 * FP_MAX:.1f} % per honest population; recall ≥ "
        + ", ".join(f"{f} {r}" for f, r in RECALL.items() if r) + f"; first flag ≤ {FIRST_FLAG_S:.0f} s; "
        f"max honest loss ≤ {100 * LOSS_MAX:.0f} %; ranks equal to honest-only ranks.",
        table(worsts), diagnostics(worsts)])
    print(report)
    if args.out:
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
