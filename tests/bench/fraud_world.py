"""The world the anti-fraud evaluation simulates: how honest people and vote farms behave.

This module is written from a description of voters and farms, never from the detectors: it knows no
detector, threshold or reason code. It produces, for one *cell* (a population mix, a time regime and a
seed), a list of simulated vote requests with ground truth (`SimVote.attack`, `SimVote.label`).

The campaign
    24 entries in one category. Each identity (one verified phone number) may give up to 10 votes a
    day, in requests of 1–10, to one entry or several. The simulated span is 10–60 minutes of an
    evening (20:00 Asia/Shanghai). Entry popularity is Zipf-like (weight 1/rank); each person has a
    favourite drawn from it with personal spread (15 % uniform), gives everything to it about a third
    of the time, and otherwise splits across requests, mostly to the favourite.

Time regimes
    "first_hour": the campaign has just opened, every identity verifies by SMS during the span and
    the arrival rate ramps up as the link spreads. "day3": the third day, 70 % of ordinary voters are
    returning (verified 1–3 days ago, their first page view was then); the rate is steady with drift.

Honest populations (label in brackets)
    * ordinary residential voters [ordinary]: own address, each in its own /24 (or own IPv6 /64 for
      15 %), own device fingerprint, a user agent from a realistic mix (WeChat in-app on iPhone and on
      Android with per-install build ids, mobile Safari, Chrome for Android, Huawei/Quark browsers,
      desktop Chrome/Edge, WeChat for Windows, ~2 % none). Arrivals follow a rate with WeChat-share
      bumps. A fresh voter opens the page, gets and types the SMS code (median 40 s), the page's
      script loads with the new ticket a second or so later (85 % of voters; the rest vote through
      links that never load the page), then reads and votes (verify → first vote: log-normal, median
      35 s, heavy tail to many minutes; 3 % of those who load the page picked the count there before
      verifying and tap "vote" within a second or so of the code being accepted). Requests 2 s to a minute
      apart. 8 % come back for a second session within the span, splitting their 10 votes.
    * families [family]: 3 % of ordinary identities are in households of 2–3 identities on one phone
      (same device, address and user agent), voting one after another minutes apart.
    * broken clients [garbled]: 1.5 % of identities send missing or garbage data: no or empty address,
      subnet "unknown" / "999.1.1.0/24" / "", no, empty or constant ("unknown") device, no user agent.
    * a campus [campus]: N students behind k NAT addresses (1–8, in 1–3 /24s), own phones and human
      delays; a WeChat group message starts a rally (arrivals ramp up and decay over minutes,
      gamma-shaped); a share L (loyalty) of the students vote for their school, 60 % of those all 10;
      the rest behave as ordinary voters throughout the span. On day 3 half are returning. A campus on its
      own phones (`CampusPhones`): 55 % iPhones kept on the current system and WeChat, all on the campus
      Wi-Fi, so a fifth of the students send one string; with the class group's deep link the loyal ones
      vote about 4 s after the code (one in five within 2 s), as a live stream's viewers on the host's link.
    * carrier-grade NAT [cgnat]: M mobile users behind a handful of addresses in one /24 of a mobile
      carrier, mobile user agents, otherwise ordinary.
    * a popular entry at its peak [popular]: a TV mention brings a smooth surge (rise in minutes,
      decay over ten) of new ordinary people, 85 % of them for that entry.
    * a live stream [livestream]: a host on a short-video app shows the campaign's QR code; viewers scan it
      within a minute or two, open the page in the app's browser (its user agent: system, model, app version),
      verify and vote in a hurry (code typed in ~25 s, vote ~8 s later), 85 % all ten for the host's entry.
    * a school assembly [assembly]: every class told at the same moment to vote for their school; each building
      on its own network carrying only its students; phones out within seconds, then human delays.
    * devoted fans [devoted]: people who come back whenever something reminds them (reminders at random,
      minutes apart on average) and give one or two votes to their favourite each time, until their ten are spent.
    * an office [office]: dozens to hundreds of staff behind one address, mostly desktop browsers,
      voting after an internal notice for their own unit's entry (loyalty 85 %). Some units put the same
      system image on every PC: their staff's browsers send one user agent string. Some companies' internet
      goes out through a cloud NAT gateway: one or two addresses in a cloud's data centre.
    * staff on their phones [office]: a unit whose staff vote on their phones over 4G after an internal notice, each
      on the carrier's address of the moment in the city (a /24 of the carrier's few /16s there), mobile browsers;
      a share of them carry the employer's group plan with one virtual operator (one segment), the rest their own
      carriers' numbers; a share of them carry the phones the unit issued, one model with one WeChat version: one
      browser string.
    * village clerks [villagers]: in a village office the clerk takes the villagers one after another on the
      clerk's own phone (one browser, one fingerprint, the village's broadband line): types the villager's number,
      the villager reads the code off an old handset, says whom to vote for; the next sits down a minute or so
      later. A share of each village (its loyalty) votes for the village's own case.
    * people on a VPN [ordinary]: 1 % of ordinary people browse through a VPN or an accelerator whose exits are
      a few addresses in each of a few dozen data-centre networks, shared by all its users.

Data centres
    Homes, phones and offices get their addresses from carriers. Servers, cloud phones (云手机) and VPN exits sit in
    data centres: the large clouds' ranges (Alibaba, Tencent, Huawei, Baidu, as they announce them) and small
    hosting companies' and carriers' IDC rooms, whose ranges few lists know. No home or phone has an address there.

Attack families (label "attack:<family>"; each targets one mid-ranked entry)
    Each family says *when* its identities vote and *for what*; a `Farm` style says what they look
    like on the wire: address diversity (a few /24s with a few addresses each, or residential proxies:
    a distinct residential /24 per identity), devices (shared by n identities, spoofed unique per
    identity, rotated per vote), user agent (one string, a pool of 5, or the honest mix), verification
    (scripted: seconds before the first vote; human-like; aged: verified on an earlier day — in the
    first hour, at the opening; headless: a headless browser verifies, the page loads with the new ticket, and it
    waits a random few seconds, its sleep, before voting), page view (none, or faked a few seconds before
    voting) and timing jitter.
    * burst: identities fire within seconds of each other in a few waves minutes apart (each in every wave, or each
      in one wave only, all ten at once).
    * shared_devices: each phone/emulator serves many identities one after another.
    * camouflage: farm identities also vote for popular entries to look normal.
    * cloud_phones: a cloud-phone service's phones (real Android images in a data centre, 云手机群控), each with
      its own address there (about ten per /24, on three /24s, each a large cloud's or, one time in four, a small
      IDC's), its own fingerprint and a real model's in-app user agent, the page loaded, human-like delays; half
      on a code platform's numbers; started in batches of 25 minutes apart, every phone all ten for the target.
    * cloud_phones, in turns: a few rented cloud phones, each on an address of its own in a data centre, running
      numbers one after another: for each number a "new phone" (一键新机: a new model string, its browser's storage
      wiped), the page, a code platform's number or a SIM card's, the code relayed, all ten for the target.
    * mimic: identities copying a person's session whole (the page opened, the code typed, a look at the entries,
      then all ten for the target), each on its own residential address and device, a few at a time over most of
      the span: only their numbers (a code platform's) differ from people's.
    * sim_pool: a SIM pool (猫池) on a few 4G routers, each a bank of SIM cards (data SIMs bought in batches, some
      carriers' numbers): a script on each verifies one card after another through the API (no page), votes all
      ten a second or few after the code, then the next card; the carrier gives a router a new address in its mobile
      /24s every few minutes; each router's script sends one WeChat string of its own.
    * sim_drawer: an insider's drawer of SIM cards (unused staff lines of the unit's group plan, numbers of one
      carrier's segment): a few office phones of one purchase on the office's line, each swapping in the next card
      (power off, swap, restart, WeChat and the link reopened: a minute or two), the code arriving on the phone
      itself and typed at once, all ten for the unit's entry. The page keeps each phone's fingerprint across swaps.
    * fresh_surge: freshly verified identities from an SMS farm, each on its own residential address
      and device, all voting for one entry within minutes; size = multiple of the entry's honest votes
      in the cell.
    * together: farms striking at the same time, each for its own entry.
    * slow_drip: identities giving one vote every few minutes, under any rate limit (a fixed interval with
      jitter: the jitter is the farm's parameter).

Devices
    A person votes from their own phone (a family shares one), and its page sends the same fingerprint every
    time; 2 % of people browse with fingerprinting protection, which gives the page a new fingerprint at every
    visit (requests more than two minutes apart). A farm's devices are its style: shared, spoofed (one per
    identity) or rotated (a new fingerprint every vote).
    Some cells fingerprint with too little entropy ("model" fingerprints): what the page can read of a phone is
    its model, system version, screen and language, so everyone with the same phone sends the same value. The
    market has about 500 such combinations, their popularity falling as 1/rank^0.8: the commonest is about 8 %
    of the phones, the tenth about 1 %, the hundredth 0.2 %. A farm's phones and emulators are phones too: each
    sends the value of the model it is (or spoofs), drawn from the same market.

Phone numbers
    Every identity verifies with its own mainland mobile number. People buy their SIMs one at a time, so
    their numbers follow the market: about 95.5 % a carrier's own segments (China Mobile, Telecom, Unicom,
    Broadnet, in their subscriber shares), about 4 % resold by virtual operators (170, 171, 162, 165, 167)
    and 0.5 % data or IoT SIMs that receive SMS (145–149). An employer may hand out a group plan: in the
    office-on-a-group-plan population 40 % of the staff carry the same virtual operator's numbers. A farm
    either gets its numbers the same way ("retail": SIMs bought or rented one by one, people paid to vote)
    or from a code-receiving platform ("platform"), whose stock is mostly virtual-operator numbers with some
    data/IoT SIMs and a minority of carrier numbers (the share is the farm's parameter).

All identities, honest or not, stay within 10 votes a day (the voting service enforces it).
Everything is deterministic given the cell and the seed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

ENTRIES = 24
VOTES_PER_DAY = 10
# Privacy browsers (fingerprinting protection) give the page a new fingerprint at every visit: a person's requests
# more than two minutes apart are two visits.
PRIVACY_SHARE = 0.02
VISIT_GAP_S = 120.0
DAY = 86_400.0

# Where residential and mobile addresses come from: first octets of large Chinese ISP allocations.
RESIDENTIAL_OCTETS = [27, 36, 39, 42, 49, 58, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 115, 116, 117, 118,
                      119, 120, 121, 122, 123, 124, 125, 171, 175, 180, 182, 183, 202, 210, 211, 218, 219, 220, 221,
                      222, 223]
GARBAGE_SUBNETS = [None, "", "unknown", "999.1.1.0/24"]
# Data centres: the large clouds' ranges (as announced) and small hosting companies' and carriers' IDC rooms.
CLOUD_RANGES = ["47.92.0.0/14", "47.96.0.0/11", "39.96.0.0/13", "8.128.0.0/10", "120.24.0.0/14", "121.40.0.0/14",
                "101.132.0.0/15", "106.14.0.0/15", "116.62.0.0/16", "118.178.0.0/16",  # Alibaba Cloud
                "81.68.0.0/14", "49.232.0.0/14", "1.12.0.0/14", "175.24.0.0/14", "106.52.0.0/14", "124.220.0.0/14",
                "42.192.0.0/15", "43.136.0.0/13",  # Tencent Cloud
                "121.36.0.0/15", "124.70.0.0/15", "119.3.0.0/16", "139.9.0.0/16", "116.63.0.0/16",  # Huawei Cloud
                "180.76.0.0/16", "106.12.0.0/15"]  # Baidu AI Cloud
IDC_RANGES = ["110.42.0.0/16", "58.218.0.0/16", "61.160.0.0/16", "122.228.0.0/16", "103.45.0.0/16",
              "43.248.0.0/16", "154.8.0.0/16"]
_DATA_CENTRES = [ipaddress.ip_network(r) for r in CLOUD_RANGES + IDC_RANGES]
VPN_SHARE = 0.01

# Mainland number segments by what sells them (MIIT's allocation), with their weights within the group.
CARRIER_SEGMENTS = (["134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "172", "178",
                     "182", "183", "184", "187", "188", "195", "197", "198"] * 56  # China Mobile, ~56 %
                    + ["133", "153", "173", "177", "180", "181", "189", "190", "191", "193", "199"] * 48  # Telecom
                    + ["130", "131", "132", "155", "156", "166", "175", "176", "185", "186", "196"] * 38  # Unicom
                    + ["192"] * 10)  # Broadnet
VIRTUAL_SEGMENTS = ["170", "170", "171", "171", "162", "165", "167"]
DATA_SEGMENTS = ["145", "146", "147", "148", "149"]
RETAIL_VIRTUAL, RETAIL_DATA = 0.04, 0.005
# Model fingerprints: phone model, system, screen and language combinations in the market, popularity 1/rank^0.8.
MODELS = 500
MODEL_CUMULATIVE = list(itertools.accumulate(1 / (k + 1) ** 0.8 for k in range(MODELS)))


# --------------------------------------------------------------------------------------------
# What the generator produces


@dataclass(frozen=True)
class SimVote:
    """One vote request as the voting service would accept it, with ground truth."""

    key: str                # unique in the cell (the idempotency key over HTTP)
    voter: str              # pseudonymous identity
    label: str              # population: ordinary, family, garbled, campus, cgnat, popular, office, attack:<family>
    attack: bool
    entry: int              # 0 … ENTRIES-1; entry 0 is the most popular
    count: int              # votes in this request (1–10)
    t: float                # seconds since the cell's start
    ip: str | None          # the client address the gateway would see (or garbage)
    subnet: str | None      # its /24 or /64 as the voting service derives it (or garbage)
    device: str | None      # the page's fingerprint as sent (hashed downstream)
    ua: str | None          # User-Agent header as sent (hashed downstream)
    verified_t: float       # when the identity verified, seconds since the cell's start (negative: before)
    page_t: float | None    # when the identity first loaded the campaign page with its ticket, if ever
    asked_t: float | None = None  # when its verification code was sent (the SMS arrives, is read and typed after)
    phone: str = ""         # the identity's phone number (for the HTTP mode's SMS verification)


@dataclass
class World:
    votes: list[SimVote]
    span_s: float
    target: int | None = None          # the attacked entry
    attack_start: float | None = None  # the attack's first vote

    @property
    def honest(self) -> list[SimVote]:
        return [v for v in self.votes if not v.attack]


# --------------------------------------------------------------------------------------------
# Small facts of the world


def digest(*parts: object, n: int = 16) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:n]


def network_prefix(ip: str | None) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) of an address; None for missing or garbage."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    return str(ipaddress.ip_network(f"{addr}/{24 if addr.version == 4 else 64}", strict=False))


def popularity(n: int = ENTRIES) -> list[float]:
    return [1.0 / (i + 1) for i in range(n)]


def lognormal(rng: random.Random, median: float, sigma: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, median * math.exp(rng.gauss(0.0, sigma))))


def code_wait(voter: str) -> float:
    """From asking for a code to having typed it: the SMS arrives (a few seconds, sometimes a minute), is read and
    typed. Drawn from the identity's own stream, so the rest of the world is the same with or without it."""
    return lognormal(random.Random(digest("code-wait", voter)), 18, 0.6, 4, 300)


def split(rng: random.Random, total: int, parts: int) -> list[int]:
    """`total` votes in `parts` requests of at least one vote each."""
    parts = max(1, min(parts, total))
    cuts = sorted(rng.sample(range(1, total), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, total]
    return [b - a for a, b in itertools.pairwise(bounds)]


class UserAgents:
    """A realistic mix of user agents: many distinct strings, WeChat's in-app browser dominating."""

    IOS: ClassVar[list[Any]] = ["15_8", "16_6_1", "16_7_5", "17_0_3", "17_1_2", "17_2_1", "17_3_1", "17_4_1", "17_5_1", "17_6_1", "18_0",
           "18_1_1", "18_2"]
    WECHAT: ClassVar[list[Any]] = [("8.0.44", "0x1800442c"), ("8.0.47", "0x18002f2f"), ("8.0.49", "0x18003137"),
              ("8.0.50", "0x1800323d"), ("8.0.53", "0x18003531")]
    ANDROID_MODELS: ClassVar[list[Any]] = [("12", "V2227A"), ("13", "PJD110"), ("13", "2211133C"), ("14", "23049RAD8C"), ("12", "ALN-AL00"),
                      ("12", "NOH-AN00"), ("10", "ANA-AN00"), ("12", "LIO-AN00"), ("13", "PGT-AN10"),
                      ("11", "M2012K11AC"), ("14", "V2307A"), ("13", "PHB110"), ("13", "RMX3706"), ("14", "PJZ110"),
                      ("12", "SM-S9080"), ("10", "HMA-AL00"), ("14", "24031PN0DC"), ("13", "CPH2451")]
    CHROME: ClassVar[list[Any]] = ["116", "118", "120", "122", "124", "126", "128", "130"]

    def __init__(self) -> None:
        self.kinds: list[tuple[str, float, Callable[[random.Random], str | None]]] = [
            ("wechat_ios", 0.30, self.wechat_ios),
            ("wechat_android", 0.30, self.wechat_android),
            ("safari", 0.10, self.safari),
            ("chrome_android", 0.08, self.chrome_android),
            ("other_android", 0.07, self.other_android),
            ("desktop", 0.08, self.desktop),
            ("wechat_windows", 0.05, self.wechat_windows),
            ("none", 0.02, lambda rng: None),
        ]

    def pick(self, rng: random.Random, mobile_only: bool = False, desktop_bias: float = 0.0) -> str | None:
        kinds = [(k, w * (1 + desktop_bias * 8 if k in ("desktop", "wechat_windows") else 1), f)
                 for k, w, f in self.kinds if not (mobile_only and k in ("desktop", "wechat_windows"))]
        _, _, make = rng.choices(kinds, [w for _, w, _ in kinds])[0]
        return make(rng)

    def wechat_ios(self, rng: random.Random) -> str:
        ios = rng.choices(self.IOS, [i + 1 for i in range(len(self.IOS))])[0]
        wx, code = rng.choices(self.WECHAT, [1, 2, 3, 4, 6])[0]
        net = rng.choices(["WIFI", "4G", "5G"], [6, 2, 2])[0]
        return (f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                f"Mobile/15E148 MicroMessenger/{wx}({code}) NetType/{net} Language/zh_CN")

    def wechat_android(self, rng: random.Random) -> str:
        android, model = rng.choice(self.ANDROID_MODELS)
        wx, code = rng.choices(self.WECHAT, [1, 2, 3, 4, 6])[0]
        chrome = rng.choice(self.CHROME[3:])
        net = rng.choices(["WIFI", "4G", "5G"], [6, 2, 2])[0]
        # MMWEBID is a per-install number: WeChat on Android gives nearly every phone its own string.
        return (f"Mozilla/5.0 (Linux; Android {android}; {model} Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
                f"(KHTML, like Gecko) Version/4.0 Chrome/{chrome}.0.6367.179 Mobile Safari/537.36 "
                f"XWEB/1300{rng.randrange(10, 99)} MMWEBSDK/20240404 MMWEBID/{rng.randrange(10000)} "
                f"MicroMessenger/{wx}.2620({code}) WeChat/arm64 Weixin NetType/{net} Language/zh_CN ABI/arm64")

    def safari(self, rng: random.Random) -> str:
        ios = rng.choice(self.IOS)
        version = ios.split("_")[0] + "." + ios.split("_")[1]
        return (f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                f"Version/{version} Mobile/15E148 Safari/604.1")

    def chrome_android(self, rng: random.Random) -> str:
        # Chrome's reduced user agent: one string per major version.
        return (f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{rng.choice(self.CHROME)}.0.0.0 Mobile Safari/537.36")

    def other_android(self, rng: random.Random) -> str:
        android, model = rng.choice(self.ANDROID_MODELS)
        tail = rng.choice([f"HuaweiBrowser/{rng.choice(['13.0.5.303', '14.0.5.302', '15.0.4.312'])}",
                           f"Quark/{rng.choice(['6.9.5.480', '7.0.0.541', '7.2.1.570'])}",
                           f"UCBrowser/{rng.choice(['15.5.6.1230', '16.0.8.1290'])}",
                           f"MQQBrowser/{rng.choice(['14.6', '15.0'])}"])
        return (f"Mozilla/5.0 (Linux; U; Android {android}; zh-cn; {model} Build/HUAWEI{model}) AppleWebKit/537.36 "
                f"(KHTML, like Gecko) Version/4.0 Chrome/{rng.choice(self.CHROME)}.0.0.0 Mobile Safari/537.36 {tail}")

    def desktop(self, rng: random.Random) -> str:
        chrome = rng.choice(self.CHROME)
        base = (f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{chrome}.0.0.0 Safari/537.36")
        return base + (f" Edg/{chrome}.0.0.0" if rng.random() < 0.4 else "")

    def wechat_windows(self, rng: random.Random) -> str:
        return ("Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 "
                f"Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) "
                f"WindowsWechat(0x63090{rng.choice('abc')}13) "
                f"XWEB/{rng.choice(['8555', '9185', '11275'])} Flue")


UA = UserAgents()


class InAppAgents:
    """User agents of a short-video app's in-app browser (a live stream's viewers open the page inside the app):
    the phone's system and model, the app's version, the network; iPhones send few distinct strings, Android
    phones one per model, system and build."""

    VERSIONS: ClassVar[list[tuple[str, float]]] = [("28.9.0", 1), ("29.3.0", 2), ("29.6.0", 3), ("29.9.0", 4),
                                                   ("30.1.0", 5)]
    CHANNELS: ClassVar[dict[str, str]] = {"V": "vivo_1128_64", "P": "oppo_1128_64", "2": "xiaomi_1128_64",
                                          "A": "huawei_1128_64", "N": "huawei_1128_64", "L": "huawei_1128_64",
                                          "M": "xiaomi_1128_64", "R": "realme_1128_64", "S": "samsung_1128_64",
                                          "H": "huawei_1128_64", "C": "oppo_1128_64"}

    def pick(self, rng: random.Random) -> str:
        version = rng.choices([v for v, _ in self.VERSIONS], [w for _, w in self.VERSIONS])[0]
        net = rng.choices(["WIFI", "4G", "5G"], [4, 3, 3])[0]
        if rng.random() < 0.45:
            ios = rng.choices(UserAgents.IOS, [i + 1 for i in range(len(UserAgents.IOS))])[0]
            return (f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                    f"Mobile/15E148 aweme_{version} JsSdk/2.0 NetType/{net} Channel/App Store ByteLocale/zh "
                    "Region/CN AppTheme/light WKWebView/1 BytedanceWebview/d8a21c6")
        android, model = rng.choice(UserAgents.ANDROID_MODELS)
        chrome = rng.choice(UserAgents.CHROME[2:])
        return (f"Mozilla/5.0 (Linux; Android {android}; {model} Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
                f"(KHTML, like Gecko) Version/4.0 Chrome/{chrome}.0.6099.193 Mobile Safari/537.36 aweme_{version} "
                f"AppName/aweme app_version/{version} ByteLocale/zh-CN Region/CN AppSkin/white AppTheme/light "
                f"BytedanceWebview/d8a21c6 NetType/{net} Channel/{self.CHANNELS.get(model[0], 'douyin_1128_64')}")


IN_APP = InAppAgents()


class CampusPhones:
    """What students carry on a campus: more iPhones than the crowd, kept on the current system; WeChat updated as
    soon as it asks; everyone on the campus Wi-Fi (the NAT's addresses are the Wi-Fi's). The class group's link
    opens in WeChat. iPhones on one system and WeChat version send one string; WeChat on Android its own per
    install. A few open it on a dorm PC."""

    IOS: ClassVar[list[tuple[str, float]]] = [("18_2", 40), ("18_1_1", 25), ("18_0", 10), ("17_6_1", 15), ("17_5_1", 10)]
    WECHAT: ClassVar[list[tuple[tuple[str, str], float]]] = [(("8.0.53", "0x18003531"), 70),
                                                              (("8.0.50", "0x1800323d"), 20),
                                                              (("8.0.49", "0x18003137"), 10)]

    def pick(self, rng: random.Random, iphone: float = 0.55) -> str | None:
        if rng.random() < 0.1:
            return UA.pick(rng, desktop_bias=12.0)
        if rng.random() < iphone:
            ios = rng.choices([v for v, _ in self.IOS], [w for _, w in self.IOS])[0]
            wx, code = rng.choices([v for v, _ in self.WECHAT], [w for _, w in self.WECHAT])[0]
            return (f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                    f"Gecko) Mobile/15E148 MicroMessenger/{wx}({code}) NetType/WIFI Language/zh_CN")
        ua = UA.wechat_android(rng) if rng.random() < 0.85 else UA.other_android(rng)
        return ua.replace("NetType/4G", "NetType/WIFI").replace("NetType/5G", "NetType/WIFI")


CAMPUS_PHONES = CampusPhones()


# --------------------------------------------------------------------------------------------
# The generator's state for one cell


@dataclass
class Person:
    """One identity and what the wire shows of it."""

    voter: str
    label: str
    ip: str | None
    subnet: str | None
    device: str | None
    ua: str | None
    verified_t: float = 0.0
    page_t: float | None = None
    attack: bool = False
    phone: str = ""
    asked_t: float | None = None  # when its code was sent, where known (else the SMS's wait before `verified_t`)
    used: int = 0  # votes given today
    privacy: bool = False  # a browser that gives the page a new fingerprint at every visit
    last_t: float | None = None  # the person's latest request
    visit: int = 0  # the visit (sitting) it came in

    def left(self) -> int:
        return VOTES_PER_DAY - self.used


def in_data_centre(a: int, b: int, c: int) -> bool:
    address = ipaddress.ip_address(f"{a}.{b}.{c}.0")
    return any(address in net for net in _DATA_CENTRES)


class Gen:
    """Shared state while one cell is generated: randomness per component, unique addresses, ids."""

    # people who pick the count on the page before verifying and tap "vote" the moment the code is accepted
    TAP = 0.03

    def __init__(self, seed: int, regime: str, span_s: float, fingerprints: str = "own") -> None:
        assert regime in ("first_hour", "day3"), regime
        assert fingerprints in ("own", "model"), fingerprints
        self.seed, self.regime, self.span, self.fingerprints = seed, regime, span_s, fingerprints
        self.used_nets: set[str] = set()
        self.serial = 0
        self.votes: list[SimVote] = []
        self.weights = popularity()
        self.places: dict[str, str] = {}  # a population's address and browser string, for an attack among them

    def rng(self, component: str) -> random.Random:
        return random.Random(f"{self.seed}:{self.regime}:{component}")

    # --- addresses -------------------------------------------------------------------------
    def fresh_net(self, rng: random.Random, first: int | None = None) -> tuple[int, int, int]:
        while True:
            a = first if first is not None else rng.choice(RESIDENTIAL_OCTETS)
            b, c = rng.randrange(256), rng.randrange(256)
            net = f"{a}.{b}.{c}.0/24"
            if net not in self.used_nets and not in_data_centre(a, b, c):
                self.used_nets.add(net)
                return a, b, c

    def data_centre_net(self, rng: random.Random, ranges: list[str]) -> tuple[int, int, int]:
        """A /24 of a data centre, in one of `ranges`, that nothing else in the cell uses."""
        while True:
            net = ipaddress.ip_network(rng.choice(ranges))
            block = int(net.network_address) + (rng.randrange(net.num_addresses >> 8) << 8)
            a, b, c, _ = (block >> 24) & 255, (block >> 16) & 255, (block >> 8) & 255, 0
            if f"{a}.{b}.{c}.0/24" not in self.used_nets:
                self.used_nets.add(f"{a}.{b}.{c}.0/24")
                return a, b, c

    def vpn_exit(self, voter: str) -> str:
        """The address a VPN user's traffic leaves from: one of a few in each of the VPN's 30 data-centre /24s
        (the same for every cell of a seed; its own random stream)."""
        pick = random.Random(f"{self.seed}:{self.regime}:vpn:{voter}")
        k = pick.randrange(30)
        net = random.Random(f"{self.seed}:vpn-net:{k}")
        exit_net = ipaddress.ip_network(net.choice(CLOUD_RANGES))
        block = int(exit_net.network_address) + (net.randrange(exit_net.num_addresses >> 8) << 8)
        return str(ipaddress.ip_address(block + 10 + pick.randrange(4)))

    def residential(self, rng: random.Random, ipv6_share: float = 0.15) -> str:
        """An address in a /24 (or /64) nobody else in the cell uses."""
        if rng.random() < ipv6_share:
            while True:
                net = f"2409:8a{rng.randrange(16, 100):02d}:{rng.randrange(1 << 16):x}:{rng.randrange(1 << 16):x}"
                if net not in self.used_nets:
                    self.used_nets.add(net)
                    return f"{net}:{rng.randrange(1 << 16):x}:{rng.randrange(1 << 16):x}:{rng.randrange(1 << 16):x}:" \
                           f"{rng.randrange(1, 1 << 16):x}"
        a, b, c = self.fresh_net(rng)
        return f"{a}.{b}.{c}.{rng.randrange(2, 255)}"

    def pool(self, rng: random.Random, addresses: int, subnets: int, first: int | None = None) -> list[str]:
        """`addresses` addresses spread over `subnets` /24s (a NAT pool, a farm's uplinks)."""
        nets = [self.fresh_net(rng, first) for _ in range(max(1, subnets))]
        hosts: list[str] = []
        for i in range(addresses):
            a, b, c = nets[i % len(nets)]
            while True:
                ip = f"{a}.{b}.{c}.{rng.randrange(2, 255)}"
                if ip not in hosts:
                    hosts.append(ip)
                    break
        return hosts

    # --- identities ------------------------------------------------------------------------
    def fingerprint(self, *device: object) -> str:
        """What a device's page sends: its own value, or (model fingerprints) its model's, from the market's shares
        (its own random stream, so that the rest of the cell is the same whatever the fingerprints)."""
        if self.fingerprints == "model":
            return f"fp-model-{random.Random(digest('model', *device)).choices(range(MODELS), cum_weights=MODEL_CUMULATIVE)[0]}"
        return "fp-" + digest(*device, n=32)

    def phone(self, virtual: float = RETAIL_VIRTUAL, data: float = RETAIL_DATA,
              segment: str | None = None) -> str:
        """A number unique in the cell: its segment drawn by what sells numbers (own randomness, so the rest of
        the cell is the same whatever the numbers), the eight digits after it from the identity's serial."""
        pick = random.Random(f"{self.seed}:{self.regime}:phone:{self.serial}")
        u = pick.random()
        head = segment or pick.choice(VIRTUAL_SEGMENTS if u < virtual else DATA_SEGMENTS if u < virtual + data
                                      else CARRIER_SEGMENTS)
        return f"{head}{(self.serial * 7919 + self.seed * 104729) % 10**8:08d}"

    def person(self, rng: random.Random, label: str, ip: str | None, *, device: str | None = None,
               ua: str | type[Ellipsis] | None = ..., attack: bool = False, mobile_only: bool = False,
               desktop_bias: float = 0.0, numbers: tuple[float, float, str | None] | None = None) -> Person:
        self.serial += 1
        voter = digest("voter", self.seed, self.regime, label, self.serial, n=24)
        phone = self.phone(*numbers) if numbers else self.phone()
        # its own random stream, so that the rest of each cell is the same with or without it
        privacy = not attack and device is None and random.Random(f"privacy:{voter}").random() < PRIVACY_SHARE
        return Person(voter=voter, label=label, ip=ip, subnet=network_prefix(ip),
                      device=device if device is not None else self.fingerprint("device", voter),
                      ua=UA.pick(rng, mobile_only, desktop_bias) if ua is ... else ua,  # type: ignore[arg-type]
                      attack=attack, phone=phone, privacy=privacy)

    def garble(self, rng: random.Random, p: Person) -> None:
        """A broken client or a proxy that loses the address: some of the signals are missing or garbage."""
        p.label = "garbled"
        broken = rng.sample(["net", "device", "ua"], rng.choice([1, 1, 2, 3]))
        if "net" in broken:
            p.subnet = rng.choice(GARBAGE_SUBNETS)
            p.ip = rng.choice([None, "", "unknown"]) if p.subnet in (None, "", "unknown") else p.ip
        if "device" in broken:
            p.device = rng.choice([None, "", "unknown"])
        if "ua" in broken:
            p.ua = rng.choice([None, ""])

    def vote(self, p: Person, t: float, entry: int, count: int, *, device: str | type[Ellipsis] | None = ...) -> None:
        assert 1 <= count <= p.left(), (p.voter, count, p.used)
        p.used += count
        if p.last_t is not None and t - p.last_t > VISIT_GAP_S:
            p.visit += 1
        p.last_t = t
        if p.privacy and device is ...:
            device = "fp-" + digest("private", p.voter, p.visit, n=32)
        self.votes.append(SimVote(
            key=digest("vote", self.seed, self.regime, len(self.votes), p.voter, n=20), voter=p.voter, label=p.label,
            attack=p.attack, entry=entry, count=count, t=round(t, 3), ip=p.ip, subnet=p.subnet,
            device=p.device if device is ... else device, ua=p.ua, verified_t=round(p.verified_t, 3),  # type: ignore
            page_t=None if p.page_t is None else round(p.page_t, 3), phone=p.phone,
            asked_t=round(p.verified_t - code_wait(p.voter) if p.asked_t is None else p.asked_t, 3)))

    # --- human behaviour -------------------------------------------------------------------
    def favourite(self, rng: random.Random) -> int:
        if rng.random() < 0.15:
            return rng.randrange(ENTRIES)
        return rng.choices(range(ENTRIES), self.weights)[0]

    def returning_share(self, day3: float = 0.7) -> float:
        return 0.0 if self.regime == "first_hour" else day3

    def onboard(self, rng: random.Random, p: Person, arrival: float, returning: bool, page_share: float = 0.85
                ) -> float:
        """Verification and page view of a person arriving at `arrival`; returns when they can first vote."""
        viewer = rng.random() < page_share
        if returning:
            p.verified_t = -rng.uniform(1.0, 3.0) * DAY
            p.page_t = p.verified_t + rng.uniform(2, 60) if viewer else None
            return arrival + lognormal(rng, 20, 0.8, 4, 600)
        p.verified_t = arrival + lognormal(rng, 40, 0.5, 12, 600)       # phone typed, SMS read, code typed
        p.page_t = p.verified_t + rng.uniform(0.5, 4) if viewer else None  # the page's script with the new ticket
        at = p.verified_t + lognormal(rng, 35, 0.9, 6, 1800)            # look at the entries, decide, vote
        thumb = random.Random(f"tap:{p.voter}")  # its own stream: the rest of the cell stays the same
        if viewer and thumb.random() < self.TAP:
            p.page_t = p.verified_t + thumb.uniform(0.2, 0.5)
            at = p.page_t + thumb.uniform(0.3, 1.2)
        return at

    def session(self, rng: random.Random, p: Person, start: float, votes: int, picks: Callable[[], int],
                all_to_one: bool) -> float:
        """Requests of one sitting: `votes` votes from `start`; returns the time of the last request."""
        first = picks()
        counts = [votes] if all_to_one else split(rng, votes, rng.choices([1, 2, 3, 4, 5], [45, 25, 15, 10, 5])[0])
        t = start
        for i, count in enumerate(counts):
            entry = first if (i == 0 or all_to_one or rng.random() < 0.5) else picks()
            self.vote(p, t, entry, count)
            t += lognormal(rng, 10, 0.7, 2, 120)
        return t

    def ordinary_day(self, rng: random.Random, p: Person, arrival: float, returning: bool,
                     favourite: int | None = None, page_share: float = 0.85) -> float:
        """An ordinary voter's evening: onboarding, one sitting (sometimes two), up to 10 votes."""
        fav = self.favourite(rng) if favourite is None else favourite
        budget = VOTES_PER_DAY if rng.random() < 0.55 else rng.randint(1, VOTES_PER_DAY - 1)
        t = self.onboard(rng, p, arrival, returning, page_share)
        picks = lambda: fav if rng.random() < 0.6 else self.favourite(rng)  # noqa: E731
        all_to_one = rng.random() < 0.35
        if budget > 1 and rng.random() < 0.08 and t < self.span * 0.6:
            first = rng.randint(1, budget - 1)
            end = self.session(rng, p, t, first, picks, all_to_one)
            t = end + rng.uniform(300, max(301, self.span - end))
            budget -= first
        return self.session(rng, p, t, budget, picks, all_to_one)


# --------------------------------------------------------------------------------------------
# Arrival rhythms


def rhythm_arrivals(rng: random.Random, n: int, start: float, end: float, regime: str, bumps: int = 4) -> list[float]:
    """Arrival times with a realistic rhythm: ramp after opening (first hour) or drift (day 3), plus
    bumps when the link is shared in big WeChat groups."""
    phase = rng.uniform(0, 2 * math.pi)
    peaks = [(rng.uniform(start, end), rng.uniform(60, 180), rng.uniform(0.5, 1.5)) for _ in range(bumps)]

    def rate(t: float) -> float:
        base = (1 - math.exp(-(t + 60) / 600)) if regime == "first_hour" else 1 + 0.3 * math.sin(t / 600 + phase)
        return base + sum(a * math.exp(-((t - c) / w) ** 2) for c, w, a in peaks)

    top = max(rate(start + (end - start) * i / 200) for i in range(201)) * 1.05
    out: list[float] = []
    while len(out) < n:
        t = rng.uniform(start, end)
        if rng.random() * top < rate(t):
            out.append(t)
    return sorted(out)


def surge_arrivals(rng: random.Random, n: int, start: float, shape: float, scale: float, end: float) -> list[float]:
    """A rally or a TV mention: arrivals rise and decay (gamma-shaped), cut at the span's end."""
    out: list[float] = []
    while len(out) < n:
        t = start + rng.gammavariate(shape, scale)
        if t < end:
            out.append(t)
    return sorted(out)


# --------------------------------------------------------------------------------------------
# Honest populations


@dataclass
class Ordinary:
    """Residential voters on their own addresses and phones (families and broken clients among them)."""

    identities: int
    family_share: float = 0.03
    garbled_share: float = 0.015
    label: str = "ordinary"

    def generate(self, g: Gen) -> None:
        rng = g.rng(f"ordinary:{self.label}")
        arrivals = rhythm_arrivals(rng, self.identities, 0, g.span * 0.9, g.regime)
        i = 0
        while i < len(arrivals):
            returning = rng.random() < g.returning_share()
            if rng.random() < self.family_share / 2.5 and i + 1 < len(arrivals):
                size = min(rng.choice([2, 3]), len(arrivals) - i)
                ip, device = g.residential(rng), g.fingerprint("family", g.seed, i)
                ua = UA.pick(rng, mobile_only=True)
                t = arrivals[i]
                for _ in range(size):  # one after another on the same phone
                    p = g.person(rng, "family", ip, device=device, ua=ua)
                    end = g.ordinary_day(rng, p, t, returning and rng.random() < 0.8)
                    t = end + rng.uniform(20, 600)
                i += size
                continue
            p = g.person(rng, self.label, g.residential(rng))
            if random.Random(f"vpn?:{p.voter}").random() < VPN_SHARE:  # its own stream: the rest is the same
                p.ip = g.vpn_exit(p.voter)
                p.subnet = network_prefix(p.ip)
            if rng.random() < self.garbled_share:
                g.garble(rng, p)
            g.ordinary_day(rng, p, arrivals[i], returning)
            i += 1


@dataclass
class Campus:
    """Students behind a campus NAT rallying (拉票, allowed) for their own school."""

    students: int
    nat_addresses: int = 2        # k
    subnets: int = 1              # /24s the k addresses sit in
    loyalty: float = 0.7          # share of students voting for their school
    entry: int = 11
    rally_at: float = 0.25        # share of the span when the WeChat group message goes out
    rally_scale_s: float = 150.0  # gamma scale of the ramp and decay
    phones: bool = False          # the students' own phone mix (`CampusPhones`) instead of the crowd's
    # the group's link opens the school's entry with the count picked: a loyal student taps "vote" about four seconds
    # after the code is accepted (one in ten within two), as a live stream's viewers do with the host's link
    deep_link: bool = False

    def generate(self, g: Gen) -> None:
        rng = g.rng("campus")
        nat = g.pool(rng, self.nat_addresses, min(self.subnets, self.nat_addresses), first=202)
        loyal = round(self.students * self.loyalty)
        rally = surge_arrivals(rng, loyal, g.span * self.rally_at, 2.0, self.rally_scale_s, g.span)
        others = rhythm_arrivals(rng, self.students - loyal, 0, g.span * 0.9, g.regime)
        for n, arrival in enumerate(rally + others):
            p = g.person(rng, "campus", rng.choice(nat), mobile_only=rng.random() < 0.8,
                         **({"ua": CAMPUS_PHONES.pick(rng)} if self.phones else {}))
            returning = rng.random() < g.returning_share(0.5)
            if n >= loyal:
                g.ordinary_day(rng, p, arrival, returning)
                continue
            t = g.onboard(rng, p, arrival, returning)
            if self.deep_link and not returning:
                thumb = random.Random(f"link:{p.voter}")  # its own stream: the rest of the cell stays the same
                p.page_t = p.verified_t + thumb.uniform(0.2, 0.6)
                t = p.page_t + lognormal(thumb, 3.2, 0.6, 0.6, 300)
            if rng.random() < 0.6:  # all ten for the school, in one to three taps
                g.session(rng, p, t, VOTES_PER_DAY, lambda: self.entry, all_to_one=rng.random() < 0.6)
            else:
                school = rng.randint(3, 9)
                t = g.session(rng, p, t, school, lambda: self.entry, all_to_one=True)
                g.session(rng, p, t, VOTES_PER_DAY - school, lambda: g.favourite(rng), all_to_one=False)


@dataclass
class CarrierNat:
    """Mobile users behind a handful of carrier-grade NAT addresses in one /24."""

    users: int
    addresses: int = 6

    def generate(self, g: Gen) -> None:
        rng = g.rng("cgnat")
        nat = g.pool(rng, self.addresses, 1, first=117)
        for arrival in rhythm_arrivals(rng, self.users, 0, g.span * 0.9, g.regime):
            p = g.person(rng, "cgnat", rng.choice(nat), mobile_only=True)
            g.ordinary_day(rng, p, arrival, rng.random() < g.returning_share())


@dataclass
class PopularPeak:
    """A TV mention: a smooth surge of new ordinary people, most voting for one entry."""

    identities: int
    entry: int = 14
    at: float = 0.3
    scale_s: float = 180.0
    loyalty: float = 0.85

    def generate(self, g: Gen) -> None:
        rng = g.rng("popular")
        for arrival in surge_arrivals(rng, self.identities, g.span * self.at, 1.6, self.scale_s, g.span):
            p = g.person(rng, "popular", g.residential(rng))
            fav = self.entry if rng.random() < self.loyalty else None
            g.ordinary_day(rng, p, arrival, rng.random() < g.returning_share(0.3), favourite=fav)


@dataclass
class Livestream:
    """A live stream on a short-video app: the host shows the campaign's QR code and asks the viewers to vote for
    their entry. Viewers scan it within a minute or two (more when the host shows it again), open the page inside
    the app's browser, verify and vote in a hurry (the stream goes on), most of them all ten for the host's entry.
    Each on their own phone and mobile or home address. One in ten picked the count before verifying and taps "vote"
    the moment the code is accepted."""

    viewers: int
    entry: int = 6
    at: float = 0.3
    scale_s: float = 40.0
    loyalty: float = 0.85
    # picked the count on the page before verifying and tap "vote" the moment the code is accepted, under a second
    quick: float = 0.1
    # the host's link opens the host's entry with the count already picked: the viewer taps "vote" as soon as the
    # page shows the code accepted, about four seconds after it (one in ten within two), nothing to find first
    deep_link: bool = False

    def generate(self, g: Gen) -> None:
        rng = g.rng("livestream")
        for arrival in surge_arrivals(rng, self.viewers, g.span * self.at, 1.3, self.scale_s, g.span):
            p = g.person(rng, "livestream", g.residential(rng, ipv6_share=0.3), ua=IN_APP.pick(rng))
            if rng.random() < g.returning_share(0.3):  # voted on an earlier day: the ticket still holds
                p.verified_t = -rng.uniform(1.0, 3.0) * DAY
                p.page_t = p.verified_t + rng.uniform(2, 60)
                t = arrival + lognormal(rng, 6, 0.6, 2, 120)
            else:
                p.verified_t = arrival + lognormal(rng, 25, 0.4, 8, 300)  # the code typed between the host's words
                p.page_t = p.verified_t + rng.uniform(0.5, 2)               # scanned: the page is where they are
                t = p.page_t + lognormal(rng, 6, 0.6, 1.5, 300)              # the host's entry, tapped
                thumb = random.Random(f"quick:{p.voter}")  # its own stream: the rest of the cell stays the same
                if self.deep_link:  # the page they scanned shows the code accepted, the button under the thumb
                    p.page_t = p.verified_t + thumb.uniform(0.2, 0.6)
                    t = p.page_t + lognormal(thumb, 3.2, 0.6, 0.6, 300)
                elif thumb.random() < self.quick:
                    p.page_t = p.verified_t + thumb.uniform(0.2, 0.5)
                    t = p.page_t + thumb.uniform(0.3, 1.2)
            if rng.random() < self.loyalty:
                g.session(rng, p, t, VOTES_PER_DAY, lambda: self.entry, all_to_one=rng.random() < 0.8)
            else:
                picks = lambda: self.entry if rng.random() < 0.5 else g.favourite(rng)  # noqa: E731
                g.session(rng, p, t, rng.randint(1, VOTES_PER_DAY), picks, all_to_one=False)

@dataclass
class Assembly:
    """A school's assembly: the head teacher tells every class to vote for the school now. Each classroom building
    has its own network (one NAT address in its own /24) carrying only its students; everyone hears it at the same
    moment, takes out a phone within seconds and votes with human delays."""

    students: int
    rooms: int = 6
    entry: int = 12
    at: float = 0.4

    def generate(self, g: Gen) -> None:
        rng = g.rng("assembly")
        nets = [g.pool(rng, 1, 1, first=211)[0] for _ in range(self.rooms)]
        told = g.span * self.at
        for i in range(self.students):
            p = g.person(rng, "assembly", nets[i % self.rooms], mobile_only=True)
            t = g.onboard(rng, p, told + rng.uniform(0, 15), rng.random() < g.returning_share())
            g.session(rng, p, t, VOTES_PER_DAY, lambda: self.entry, all_to_one=rng.random() < 0.6)


@dataclass
class Devoted:
    """Fans who keep coming back: each time something reminds them (a message, a notification, a break) they open
    the page and give one or two votes to their favourite, until their ten are spent."""

    fans: int
    mean_gap_s: float = 240.0  # between reminders (exponential: reminders come when they come)

    def generate(self, g: Gen) -> None:
        rng = g.rng("devoted")
        for arrival in rhythm_arrivals(rng, self.fans, 0, g.span * 0.5, g.regime):
            p = g.person(rng, "devoted", g.residential(rng))
            fav = g.favourite(rng)
            t = g.onboard(rng, p, arrival, rng.random() < g.returning_share())
            while t < g.span and p.left() > 0:
                g.vote(p, t, fav, min(rng.choice([1, 1, 1, 2]), p.left()))
                t += 30.0 + rng.expovariate(1.0 / max(self.mean_gap_s - 30.0, 1.0))  # at least half a minute


@dataclass
class Office:
    """Staff of a unit behind its one address, voting for their unit's entry after an internal notice."""

    staff: int
    entry: int = 17
    loyalty: float = 0.85
    at: float = 0.2
    scale_s: float = 300.0
    group_plan: float = 0.0  # share of the staff on the employer's group plan with one virtual operator
    imaged: float = 0.0  # share of the staff on the unit's PCs, installed from one image: one user agent string
    gateway: int = 0  # addresses of a cloud NAT gateway its internet goes out through (0: its own line's one)
    mobile: bool = False  # the staff vote on their phones over 4G, each on the carrier's address of the moment
    issued: float = 0.0  # share of the staff (mobile) on the phones the unit issued: one model, one WeChat version

    def generate(self, g: Gen) -> None:
        rng = g.rng("office")
        [address] = g.pool(rng, 1, 1, first=61)
        cloud = random.Random(f"{g.seed}:{g.regime}:gateway")
        if self.gateway:
            a, b, c = g.data_centre_net(cloud, CLOUD_RANGES)
            gateway = [f"{a}.{b}.{c}.{20 + k}" for k in range(self.gateway)]
        plan = random.Random(f"{g.seed}:{g.regime}:group-plan")
        image = random.Random(f"{g.seed}:{g.regime}:image")
        office_ua = UA.desktop(image)
        g.places.update(office=address, office_ua=office_ua)
        city = random.Random(f"{g.seed}:{g.regime}:city")
        carrier = [(city.choice(RESIDENTIAL_OCTETS), city.randrange(256)) for _ in range(3)]  # its /16s in the city
        issued = UA.wechat_android(city)
        for arrival in surge_arrivals(rng, self.staff, g.span * self.at, 1.5, self.scale_s, g.span):
            numbers = (1.0, 0.0, "170") if plan.random() < self.group_plan else None
            ua = office_ua if image.random() < self.imaged else issued if city.random() < self.issued else ...
            a, b = city.choice(carrier)
            where = f"{a}.{b}.{city.randrange(256)}.{city.randrange(2, 255)}" if self.mobile \
                else cloud.choice(gateway) if self.gateway else address
            p = g.person(rng, "office", where, desktop_bias=0.0 if self.mobile else 1.0, numbers=numbers,
                         ua=ua, mobile_only=self.mobile)
            fav = self.entry if rng.random() < self.loyalty else None
            g.ordinary_day(rng, p, arrival, rng.random() < g.returning_share(), favourite=fav)


@dataclass
class SharedPcs:
    """A hospital's nurse stations: PCs installed from one image behind its one address, each with its page's own
    device id; at a shift change the nurses going off and coming on take turns on each PC, one after another (20 s
    to two minutes apart), most for their hospital's entry."""

    pcs: int
    per_pc: int
    entry: int = 23
    loyalty: float = 0.9
    at: float = 0.3

    def generate(self, g: Gen) -> None:
        rng = g.rng("shared-pcs")
        [address] = g.pool(rng, 1, 1, first=61)
        ua = UA.desktop(random.Random(f"{g.seed}:{g.regime}:ward-image"))
        for pc in range(self.pcs):
            t = g.span * self.at + rng.uniform(0, 900)
            device = g.fingerprint("ward-pc", g.seed, pc)
            for _ in range(self.per_pc):
                p = g.person(rng, "nurses", address, device=device, ua=ua, desktop_bias=1.0)
                p.asked_t = t
                p.verified_t = t + lognormal(rng, 20, 0.5, 6, 120)    # the code on her own phone, typed
                p.page_t = p.verified_t + rng.uniform(0.5, 3)
                at = p.page_t + lognormal(rng, 8, 0.6, 2, 120)          # the entry found, tapped
                g.vote(p, at, self.entry if rng.random() < self.loyalty else g.favourite(rng), VOTES_PER_DAY)
                t = at + rng.uniform(20, 120)                           # the next one sits down


@dataclass
class VillageClerks:
    """Village clerks helping villagers vote (村委会文书代为操作): in each village office the clerk takes the
    villagers one after another on the clerk's own phone, over the village's line; each villager's code is read off
    an old handset and typed; `loyalty` of them vote for their village's own case, the rest for whom they like."""

    villages: int
    villagers: tuple[int, int] = (10, 22)
    loyalty: float = 0.65
    at: float = 0.05

    def generate(self, g: Gen) -> None:
        rng = g.rng("village-clerks")
        for k in range(self.villages):
            [address] = g.pool(rng, 1, 1)
            ua, device = UA.wechat_android(rng), g.fingerprint("clerk-phone", g.seed, k)
            village = rng.randrange(ENTRIES)
            t = g.span * self.at + rng.uniform(0, g.span * 0.3)
            for _ in range(rng.randint(*self.villagers)):
                p = g.person(rng, "villagers", address, device=device, ua=ua)
                p.asked_t = t + rng.uniform(6, 15)                      # the number typed, the picture puzzle
                p.verified_t = p.asked_t + lognormal(rng, 40, 0.5, 12, 180)  # read off the handset, typed
                p.page_t = p.verified_t + rng.uniform(0.5, 3)
                at = p.page_t + lognormal(rng, 12, 0.6, 3, 90)          # asked whom, the entry found
                g.vote(p, at, village if rng.random() < self.loyalty else g.favourite(rng), VOTES_PER_DAY)
                t = at + lognormal(rng, 45, 0.5, 15, 200)               # the next villager sits down


# --------------------------------------------------------------------------------------------
# Attacks


@dataclass(frozen=True)
class Farm:
    """What a farm's identities look like on the wire."""

    subnets: int = 0             # 0: residential proxies, a distinct /24 per identity
    per_subnet: int = 4          # addresses per /24 when subnets > 0
    devices: str = "spoofed"     # "shared:<n identities per device>" | "spoofed" (unique per identity) |
    # "rotated" (a new fingerprint every vote)
    ua: str = "mix"              # "one" | "pool" (of `ua_pool` strings) | "mix"
    verify: str = "scripted"     # "scripted" (seconds before voting) | "human" | "aged" (an earlier day; in the
    # first hour: at the opening) | "headless" (the page loads with the new ticket; voting `sleep_s` after verifying)
    sleep_s: tuple[float, float] = (1.0, 3.0)  # a headless script's random sleep after verifying (uniform)
    page: str = "none"           # "none" | "faked" (loaded by the script a few seconds before the first vote)
    jitter_s: float = 2.0
    ua_pool: int = 5             # strings in a "pool"
    numbers: float = 0.0         # share of virtual-operator or data/IoT numbers beyond the retail mix: 0 for
    # "retail" numbers (bought or rented one by one), e.g. 0.8 for a code-receiving platform's stock


@dataclass
class Attack:
    """Base of the attack families: identities with a farm style, votes scheduled by the family."""

    identities: int = 300
    farm: Farm = field(default_factory=Farm)
    entry: int = 9
    at: float = 0.33  # share of the span when the attack starts

    family = "attack"

    def label(self) -> str:
        return f"attack:{self.family}"

    def crew(self, g: Gen, rng: random.Random, n: int) -> list[Person]:
        f = self.farm
        pool = g.pool(rng, f.subnets * f.per_subnet, f.subnets) if f.subnets else []
        uas = {"one": [UA.wechat_android(rng)],
               "pool": [UA.pick(rng, mobile_only=True) for _ in range(f.ua_pool)]}.get(f.ua)
        shared = int(f.devices.split(":")[1]) if f.devices.startswith("shared") else 0
        out = []
        for i in range(n):
            # a farm phone keeps its uplink; behind residential proxies every identity has its own address
            slot = i // shared if shared else i
            ip = pool[slot % len(pool)] if pool else g.residential(rng, ipv6_share=0.05)
            device = g.fingerprint("farm-device", g.seed, self.family, i // shared) if shared else None
            ua = rng.choice(uas) if uas else UA.pick(rng, mobile_only=True)
            numbers = (f.numbers * 7 / 8, f.numbers / 8, None) if f.numbers else None
            out.append(g.person(rng, self.label(), ip, device=device, ua=ua, attack=True, numbers=numbers))
        return out

    def prepare(self, g: Gen, rng: random.Random, p: Person, first_vote: float) -> None:
        """Verification and page view before the identity's first vote."""
        f = self.farm
        if f.verify == "aged":
            p.verified_t = (-rng.uniform(1.0, 5.0) * DAY if g.regime == "day3"
                            else rng.uniform(0, min(120.0, first_vote - 5)))
        elif f.verify == "headless":
            sleep = rng.uniform(*f.sleep_s)
            p.verified_t = first_vote - sleep
            p.page_t = p.verified_t + min(rng.uniform(0.2, 0.8), sleep / 2)  # the page's own request, new ticket
            return
        elif f.verify == "human":
            p.verified_t = first_vote - lognormal(rng, 35, 0.9, 6, 1800)
        else:
            p.verified_t = first_vote - rng.uniform(2, 12)
        p.page_t = first_vote - rng.uniform(1, min(30.0, max(1.5, first_vote - p.verified_t))) \
            if f.page == "faked" else None
        if p.page_t is not None and p.page_t < p.verified_t:
            p.page_t = p.verified_t + 0.5

    def cast(self, g: Gen, rng: random.Random, p: Person, t: float, entry: int, count: int) -> None:
        device = g.fingerprint("rotated", g.seed, p.voter, t) if self.farm.devices == "rotated" else ...
        g.vote(p, t + rng.uniform(0, self.farm.jitter_s), entry, count, device=device)

    def generate(self, g: Gen) -> None:
        raise NotImplementedError


@dataclass
class Burst(Attack):
    """Coordinated bursts: many identities firing within seconds, in waves minutes apart. Every identity fires in
    every wave (a share of its ten each time), or, with `once`, in one wave only, all ten at once (a crew larger than
    one wave, each identity used up when it fires)."""

    waves: int = 3
    wave_s: float = 5.0
    gap_s: float = 180.0
    once: bool = False
    family = "burst"

    def generate(self, g: Gen) -> None:
        rng = g.rng(self.label())
        crew = self.crew(g, rng, self.identities)
        per_wave = split(rng, VOTES_PER_DAY, self.waves)
        start = g.span * self.at
        if self.once:
            for i, p in enumerate(crew):
                at = start + (i % self.waves) * self.gap_s + rng.uniform(0, self.wave_s)
                self.prepare(g, rng, p, at)
                self.cast(g, rng, p, at, self.entry, VOTES_PER_DAY)
            return
        for p in crew:
            self.prepare(g, rng, p, start)
        for w, count in enumerate(per_wave):
            at = start + w * self.gap_s
            for p in crew:
                self.cast(g, rng, p, at + rng.uniform(0, self.wave_s), self.entry, count)


@dataclass
class SharedDevices(Attack):
    """Phones or emulators each serving many identities one after another."""

    per_identity_s: float = 25.0  # log in as the next identity, vote
    family = "shared_devices"

    def generate(self, g: Gen) -> None:
        rng = g.rng(self.label())
        crew = self.crew(g, rng, self.identities)
        n = int(self.farm.devices.split(":")[1]) if self.farm.devices.startswith("shared") else 1
        start = g.span * self.at
        for i, p in enumerate(crew):
            t = start + rng.uniform(0, 20) + (i % n) * self.per_identity_s * rng.uniform(0.7, 1.3)
            self.prepare(g, rng, p, t)
            for count in split(rng, VOTES_PER_DAY, rng.choice([1, 1, 2])):
                self.cast(g, rng, p, t, self.entry, count)
                t += rng.uniform(2, 6)


@dataclass
class Camouflage(Attack):
    """Farm identities that also vote for popular entries, over a quarter of an hour."""

    target_votes: int = 6
    window_s: float = 900.0
    family = "camouflage"

    def generate(self, g: Gen) -> None:
        rng = g.rng(self.label())
        crew = self.crew(g, rng, self.identities)
        start = g.span * self.at
        popular = list(range(5))
        for p in crew:
            t = start + rng.uniform(0, self.window_s)
            self.prepare(g, rng, p, t)
            picks = [(self.entry, c) for c in split(rng, self.target_votes, rng.choice([1, 2]))]
            picks += [(e, 1) for e in rng.choices(popular, popularity(5), k=VOTES_PER_DAY - self.target_votes)]
            rng.shuffle(picks)
            for entry, count in picks:
                self.cast(g, rng, p, t, entry, count)
                t += lognormal(rng, 10, 0.7, 2, 120)


@dataclass
class FreshSurge(Attack):
    """SMS-farm identities, each on its own residential address and device: verify, vote at once."""

    multiple: float = 2.0     # votes of the surge as a multiple of the entry's honest votes in the cell
    window_s: float = 300.0
    family = "fresh_surge"

    def generate(self, g: Gen) -> None:
        rng = g.rng(self.label())
        baseline = sum(v.count for v in g.votes if v.entry == self.entry and not v.attack)
        crew = self.crew(g, rng, max(1, math.ceil(self.multiple * baseline / VOTES_PER_DAY)))
        start = g.span * self.at
        for p in crew:
            t = start + rng.uniform(0, self.window_s)
            self.prepare(g, rng, p, t)
            self.cast(g, rng, p, t, self.entry, VOTES_PER_DAY)


@dataclass
class Mimic(Attack):
    """Identities copying a person's session whole (`Gen.onboard`: the page, the code, a look at the entries), each on
    its own residential address and device, starting evenly over `window_s`, all ten for the target; as many as
    give `multiple` times the entry's honest votes. Its farm's `numbers` say where the numbers came from; nothing
    else differs from people."""

    multiple: float = 0.5
    window_s: float = 1500.0
    family = "mimic"

    def generate(self, g: Gen) -> None:
        rng = g.rng(self.label())
        start = g.span * self.at
        baseline = sum(v.count for v in g.votes if v.entry == self.entry and not v.attack)
        for p in self.crew(g, rng, max(1, math.ceil(self.multiple * baseline / VOTES_PER_DAY))):
            t = g.onboard(rng, p, start + rng.uniform(0, self.window_s), returning=False, page_share=1.0)
            if t < g.span:
                g.vote(p, t, self.entry, VOTES_PER_DAY)


@dataclass
class SimPool(Attack):
    """A SIM pool on `routers` 4G routers: one card after another per router, every `every_s`, all ten 1–4 s after the
    code, no page; a new address in the carrier's mobile /24s every `renew_s`; one WeChat string per router."""

    routers: int = 4
    every_s: tuple[float, float] = (15.0, 40.0)
    renew_s: tuple[float, float] = (120.0, 300.0)
    data: float = 0.6  # share of the cards that are data SIMs (the rest carriers' numbers)
    family = "sim_pool"

    def generate(self, g: Gen) -> None:
        rng = g.rng(self.label())
        nets = [g.fresh_net(rng, first=223) for _ in range(12)]  # the carrier's mobile /24s

        def address() -> str:
            a, b, c = rng.choice(nets)
            return f"{a}.{b}.{c}.{rng.randrange(2, 255)}"

        routers = [[g.span * self.at + rng.uniform(0, 60), UA.wechat_android(rng), address(), 0.0]
                   for _ in range(self.routers)]
        for _ in range(self.identities):
            router = min(routers, key=lambda r: r[0])
            t, ua, ip, renewed = router
            if t >= g.span:
                break
            if t - renewed > rng.uniform(*self.renew_s):
                ip, renewed = address(), t
            p = g.person(rng, self.label(), ip, ua=ua, attack=True, numbers=(0.0, self.data, None))
            p.verified_t, p.page_t, p.device = t, None, None  # the API: no page, no device id
            self.cast(g, rng, p, t + rng.uniform(1, 4), self.entry, VOTES_PER_DAY)
            router[:] = [t + rng.uniform(*self.every_s), ua, ip, renewed]


@dataclass
class SlowDrip(Attack):
    """One vote at a time every few minutes per identity, to the end of the span."""

    interval_s: float = 300.0
    family = "slow_drip"

    def generate(self, g: Gen) -> None:
        rng = g.rng(self.label())
        crew = self.crew(g, rng, self.identities)
        start = g.span * self.at
        for p in crew:
            t = start + rng.uniform(0, self.interval_s)
            self.prepare(g, rng, p, t)
            while t < g.span and p.left() > 0:
                self.cast(g, rng, p, t, self.entry, 1)
                t += self.interval_s


@dataclass
class FreshDrip(Attack):
    """A script dripping fresh identities: one every `every_s` (give or take a third), each verifying and giving all
    ten at once, too few in any ten minutes to look like a surge."""

    every_s: float = 100.0
    family = "slow_drip"

    def generate(self, g: Gen) -> None:
        rng = g.rng(self.label() + ":fresh")
        t = g.span * self.at
        for p in self.crew(g, rng, self.identities):
            if t >= g.span:
                break
            self.prepare(g, rng, p, t)
            self.cast(g, rng, p, t, self.entry, VOTES_PER_DAY)
            t += self.every_s * rng.uniform(2 / 3, 4 / 3)


@dataclass
class Turns(Attack):
    """Someone at one office PC voting for colleagues in turn (代投): types a colleague's number, the colleague
    reads the code out, all ten go to the unit's entry, then a new private window for the next (a new fingerprint,
    or none). From the office's address (`Gen.places`, when an office votes too), on the PC's own browser or, with
    `same_image`, on the office PCs' one string."""

    same_image: bool = False
    family = "turns"

    def generate(self, g: Gen) -> None:
        rng = g.rng(self.label())
        address = g.places.get("office") or g.pool(rng, 1, 1, first=61)[0]
        ua = g.places.get("office_ua", UA.desktop(rng)) if self.same_image else UA.desktop(rng)
        t = g.span * self.at
        for _ in range(self.identities):
            p = g.person(rng, self.label(), address, ua=ua, attack=True, desktop_bias=1.0)
            if rng.random() < 0.5:
                p.device = None  # a private window the page could not fingerprint
            p.asked_t = t
            p.verified_t = t + lognormal(rng, 22, 0.4, 8, 90)         # the number typed, the code read out
            p.page_t = p.verified_t + rng.uniform(0.5, 2)
            at = p.page_t + rng.uniform(2, 8)
            g.vote(p, at, self.entry, VOTES_PER_DAY)
            t = at + rng.uniform(6, 30)                                # a new private window, the page


@dataclass
class Drawer(Attack):
    """An insider's drawer of SIM cards (单位行业卡) voted one by one on `phones` office phones of one purchase, side by
    side on the office's line: each phone swaps in the next card (power off, swap, restart, WeChat and the link
    reopened), asks for the card's code, which arrives on the phone itself, and votes all ten for the unit."""

    phones: int = 6
    swap_s: tuple[float, float] = (55.0, 125.0)
    family = "sim_drawer"

    def generate(self, g: Gen) -> None:
        rng = g.rng(self.label())
        address = g.places.get("office") or g.pool(rng, 1, 1, first=61)[0]
        ua, segment = UA.wechat_android(rng), rng.choice(CARRIER_SEGMENTS)  # one purchase; the plan's carrier
        for k in range(self.phones):
            device = g.fingerprint("office-phone", g.seed, self.family, k)
            t = g.span * self.at + rng.uniform(0, 120)
            for _ in range(self.identities // self.phones):
                p = g.person(rng, self.label(), address, device=device, ua=ua, attack=True,
                             numbers=(0.0, 0.0, segment))
                p.asked_t = t
                p.verified_t = t + rng.uniform(4, 12)                   # the SMS on this phone, its code typed
                p.page_t = p.verified_t + rng.uniform(0.5, 2)
                at = p.page_t + rng.uniform(2, 8)
                g.vote(p, at, self.entry, VOTES_PER_DAY)
                t = at + rng.uniform(*self.swap_s) + rng.uniform(5, 10)  # the next card, the link reopened


@dataclass
class CloudPhones(Attack):
    """A cloud-phone service's phones (云手机群控): real Android images in a data centre, each with its own address and
    fingerprint, a real model's in-app browser, the page loaded and human-like delays; started in batches."""

    networks: int = 3
    per_network: int = 10  # addresses per /24: one phone each, or a handful behind each
    batch: int = 25
    batch_gap_s: float = 200.0
    idc_share: float = 0.25  # each /24 a small IDC's (on few lists) rather than a large cloud's, this often
    platform: float = 0.5  # share of the phones on a code platform's numbers
    family = "cloud_phones"

    def generate(self, g: Gen) -> None:
        rng = g.rng(self.label())
        nets = [g.data_centre_net(rng, IDC_RANGES if rng.random() < self.idc_share else CLOUD_RANGES)
                for _ in range(self.networks)]
        addresses = [f"{a}.{b}.{c}.{10 + k}" for k in range(self.per_network) for a, b, c in nets]
        numbers = (self.platform * 7 / 8, self.platform / 8, None)
        start = g.span * self.at
        for i in range(self.identities):
            p = g.person(rng, self.label(), addresses[i % len(addresses)], ua=UA.pick(rng, mobile_only=True),
                         attack=True, numbers=numbers)
            first = start + (i // self.batch) * self.batch_gap_s * rng.uniform(0.8, 1.2) + rng.uniform(0, 90)
            if first >= g.span:
                break
            p.verified_t = first - lognormal(rng, 35, 0.9, 6, 600)
            p.page_t = p.verified_t + rng.uniform(1, max(1.5, first - p.verified_t - 1))
            t, left = first, VOTES_PER_DAY
            while left:
                count = left if rng.random() < 0.5 else rng.randint(1, left)
                g.vote(p, t, self.entry, count)
                left -= count
                t += rng.uniform(2, 8)


@dataclass
class CloudPhoneTurns(Attack):
    """A few rented cloud phones (云手机), each on an address of its own in a data centre, running numbers one after
    another: for each number the phone taps "new phone" (一键新机: a new model string, its browser's storage wiped),
    opens the page, takes a number from a code platform (or a SIM card it is sent), solves the picture puzzle, waits
    for the code to be relayed, votes all ten for the target, then the next number after a pause."""

    phones: int = 25
    networks: int = 3
    idc_share: float = 1.0  # each /24 a small IDC's (on few lists) rather than a large cloud's, this often
    platform: float = 0.5  # share of the numbers from a code platform (the rest the farm's SIM cards)
    pause_s: tuple[float, float] = (20.0, 60.0)
    family = "cloud_phones"

    def generate(self, g: Gen) -> None:
        rng = g.rng(self.label())
        nets = [g.data_centre_net(rng, IDC_RANGES if rng.random() < self.idc_share else CLOUD_RANGES)
                for _ in range(self.networks)]
        numbers = (self.platform * 7 / 8, self.platform / 8, None)
        for k in range(self.phones):
            a, b, c = nets[k % len(nets)]
            address = f"{a}.{b}.{c}.{rng.randrange(2, 254)}"
            t = g.span * self.at + rng.uniform(0, 90)
            for _ in range(self.identities // self.phones):
                p = g.person(rng, self.label(), address, ua=UA.pick(rng, mobile_only=True), attack=True,
                             numbers=numbers)                           # a new phone: its device id, its string
                p.page_t = t
                p.asked_t = t + rng.uniform(2, 4) + rng.uniform(3, 6)   # the number taken, the puzzle solved
                p.verified_t = p.asked_t + lognormal(rng, 12, 0.6, 4, 90)  # the code relayed, typed in
                at = p.verified_t + rng.uniform(2, 6)
                g.vote(p, at, self.entry, VOTES_PER_DAY)
                t = at + rng.uniform(*self.pause_s)


@dataclass
class Together(Attack):
    """Farms striking at the same time, each for its own entry (one operator's crews, or rival ones)."""

    parts: tuple[Attack, ...] = ()
    family = "together"

    def generate(self, g: Gen) -> None:
        for attack in self.parts:
            attack.generate(g)


# --------------------------------------------------------------------------------------------
# A cell


Population = Ordinary | Campus | CarrierNat | PopularPeak | Office | Devoted | Assembly | Livestream | SharedPcs


@dataclass
class Cell:
    """One evaluation cell: a background of ordinary voters, honest special populations, one attack."""

    name: str
    regime: str = "day3"
    minutes: float = 30.0
    background: int = 3000
    populations: list[Population] = field(default_factory=list)
    attack: Attack | None = None
    params: str = ""
    fingerprints: str = "own"  # "own" (a device's own value) | "model" (its model's: too little entropy)

    def generate(self, seed: int) -> World:
        g = Gen(seed, self.regime, self.minutes * 60, self.fingerprints)
        Ordinary(self.background).generate(g)
        for population in self.populations:
            population.generate(g)
        target = start = None
        if self.attack is not None:
            honest = len(g.votes)
            self.attack.generate(g)
            target = self.attack.entry
            start = min((v.t for v in g.votes[honest:]), default=None)
        votes = sorted(g.votes, key=lambda v: (v.t, v.key))
        return World(votes, g.span, target, start)


def identities(votes: Iterable[SimVote]) -> dict[str, list[SimVote]]:
    out: dict[str, list[SimVote]] = {}
    for v in votes:
        out.setdefault(v.voter, []).append(v)
    return out
