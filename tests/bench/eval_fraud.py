"""Evaluation of the anti-fraud service as a black box (`make eval-fraud`), on traffic from a described world.

The traffic comes from `fraud_world.py` — a description of how honest people and vote farms behave,
written without the detector code and knowing none of its thresholds. Each cell of a grid (an honest
population or an attack family with its parameters, in the "first hour" or "day three" regime) is
generated for several seeds, fed in acceptance order and in one-second batches (at most 2000 votes)
through `services.antifraud.screening.Screening` — the only part of the service this file uses —
and scored against ground truth. Per cell the WORST case over the seeds is reported beside the targets.

Metrics ("votes" are ballots: a request giving 3 votes counts 3; "flagged" = held or invalidated):
  precision by identity and by vote of everything flagged; precision of what was invalidated;
  recall of the attack by identity (any of its votes flagged) and by vote; false-positive rate per honest
  population label (identities, votes); whether the competition ranks of the entries on counted votes
  equal the ranks on honest votes alone (and how many entries differ); the largest share of its honest
  votes any entry lost; first flag: batch time when an attack vote first got a decision minus the
  attack's first vote (simulated seconds).

Modes:
  python tests/bench/eval_fraud.py [--quick] [--cells SUBSTR ...] [--seeds N] [--jobs N] [--no-write]
  python tests/bench/eval_fraud.py --http [--cells SUBSTR ...] [--speed X]   the whole system through the public
      HTTP path, at real time by default (about 15 minutes a cell). Compressing time changes what time-window
      detectors see: at --speed 4 the burst cell's vote recall fell from 1.00 (real time, and in memory) to 0.10.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import os
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(__file__).resolve().parent
for p in (ROOT, BENCH):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import fraud_world as fw  # noqa: E402
from fraud_world import (  # noqa: E402
    Assembly,
    Burst,
    Camouflage,
    Campus,
    CarrierNat,
    Cell,
    CloudPhones,
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
    SharedPcs,
    SimPool,
    SimVote,
    SlowDrip,
    Together,
    Turns,
    VillageClerks,
    World,
)

CAMPAIGN = "eval-fraud"
OPENED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 20:00 in Asia/Shanghai
START = {"first_hour": OPENED, "day3": OPENED + timedelta(days=2)}
ENTRY_IDS = [uuid.UUID(int=(0xE17 << 64) + i + 1) for i in range(fw.ENTRIES)]
BATCH_MAX = 2000

# --- targets ---------------------------------------------------------------------------------
PRECISION = 0.95
PRECISION_INVALIDATED = 0.99
FP_MAX = 0.005
RECALL = {"burst": 0.95, "shared_devices": 0.95, "camouflage": 0.8, "fresh_surge": 0.8, "slow_drip": None,
          "together": 0.8, "turns": 0.95, "cloud_phones": 0.8, "mimic": None,
          "sim_pool": 0.8, "sim_drawer": 0.95}
FIRST_FLAG_S = 60.0
# Families that show themselves only one identity after another (a run of turns at one browser takes its first dozen
# sittings, ten minutes or so, before anything tells it from a colleague voting alone): first flag reported, no target.
PACED = {"turns", "sim_drawer"}
LOSS_MAX = 0.01


# --------------------------------------------------------------------------------------------
# The grid


def grid(quick: bool = False) -> list[Cell]:
    """Honest-population cells and attack cells, each in the regimes where it matters."""
    bg = 1500 if quick else 3000
    honest: list[tuple[str, str, list]] = [("background only", "ordinary voters", [])]
    for loyalty in (0.4, 0.7, 1.0):
        for k, subnets in ((1, 1), (8, 3)):
            honest.append((f"campus L{int(loyalty * 100)} k{k}",
                           f"400 students, {k} NAT address(es) in {subnets} /24, loyalty {loyalty:.0%}",
                           [Campus(400, k, subnets, loyalty)]))
    # the students' own phones (`CampusPhones`: one string for each iPhone system and WeChat version, all on the
    # campus Wi-Fi), the class group's link opening the school's entry with the count picked
    for loyalty, k, subnets, deep_link in ((0.7, 2, 1, False), (1.0, 1, 1, True), (0.7, 4, 1, True), (1.0, 8, 3, True)):
        honest.append((f"campus WeChat L{int(loyalty * 100)} k{k}" + (" deep link" if deep_link else ""),
                       f"400 students on their own phones (55 % iPhones, current system and WeChat, campus Wi-Fi), "
                       f"{k} NAT address(es) in {subnets} /24, loyalty {loyalty:.0%}"
                       + (", the group's link opening the school's entry with the count picked: a vote ~4 s after "
                          "the code" if deep_link else ""),
                       [Campus(400, k, subnets, loyalty, phones=True, deep_link=deep_link)]))
    for users, addresses in ((300, 4), (2500, 8)):
        honest.append((f"cgnat {users}", f"{users} mobile users behind {addresses} addresses in one /24",
                       [CarrierNat(users, addresses)]))
    honest.append(("popular entry peak", "TV mention: 1500 new voters, 85 % for one entry", [PopularPeak(1500)]))
    for viewers in (400, 1500):
        honest.append((f"livestream {viewers}", f"a host's live stream shows the QR code: {viewers} viewers scan it, "
                       "vote in the app's browser within seconds of verifying, 85 % all ten for the host's entry",
                       [Livestream(viewers)]))
    honest.append(("livestream 1500 deep link", "as livestream 1500, the host's link opening the host's entry with the "
                   "count picked: viewers tap vote about 4 s after verifying, one in ten within 2 s",
                   [Livestream(1500, deep_link=True)]))
    for staff in (60, 300):
        honest.append((f"office {staff}", f"{staff} staff behind one address, 85 % for their unit",
                       [Office(staff)]))
    for students, rooms in ((300, 6), (1200, 12)):
        honest.append((f"assembly {students}/{rooms}", f"{students} students told at once to vote for their school, "
                       f"{rooms} buildings each on its own /24", [Assembly(students, rooms)]))
    for gap in (120, 480):
        honest.append((f"devoted fans {gap // 60} min", f"600 fans coming back at random, {gap // 60} min apart on "
                       "average, one or two votes each time", [Devoted(600, mean_gap_s=gap)]))
    honest.append(("office 300 group plan", "300 staff behind one address, 85 % for their unit, 40 % on one "
                   "virtual operator's group plan", [Office(300, group_plan=0.4)]))
    honest.append(("office 120 cloud gateway", "120 staff whose internet goes out through a cloud NAT gateway's 2 "
                   "addresses, 85 % for their unit", [Office(120, gateway=2)]))
    honest.append(("office 300 imaged PCs", "300 staff behind one address, all for their unit only, 70 % on the "
                   "unit's PCs installed from one image (one user agent)", [Office(300, loyalty=1.0, imaged=0.7)]))
    honest.append(("company phones group plan 4G", "300 staff voting on their phones over 4G (each on the carrier's "
                   "address of the moment), 85 % for their unit, 60 % on one virtual operator's group plan",
                   [Office(300, group_plan=0.6, mobile=True)]))
    honest.append(("company phones one model 4G", "300 staff voting on their phones over 4G in their city (3 of the "
                   "carrier's /16s), 85 % for their unit, 60 % on the phones the unit issued: one model, one WeChat "
                   "version, one browser string", [Office(300, mobile=True, issued=0.6)]))
    for pcs, per_pc in ((12, 6), (30, 10)):
        honest.append((f"nurse stations {pcs}x{per_pc}", f"a hospital's {pcs} PCs of one image behind one address, "
                       f"each passed between {per_pc} nurses at a shift change (20–120 s apart), 90 % for their "
                       "hospital", [SharedPcs(pcs, per_pc)]))
    for loyalty in (0.65, 1.0):
        honest.append((f"village clerks L{int(loyalty * 100)}", "8 village offices, each clerk taking 10–22 "
                       "villagers in turn on the clerk's phone (the code read off each villager's handset), "
                       f"{loyalty:.0%} for their village's case", [VillageClerks(8, loyalty=loyalty)]))

    one_net = dict(ua="one", verify="scripted", page="none")
    attacks: list[tuple[str, str, fw.Attack]] = [
        ("burst 2x/24 one-UA", "300 ids, 2 /24s × 4 addr, spoofed devices, one UA, scripted verify, 3 waves of 5 s",
         Burst(300, Farm(subnets=2, **one_net, jitter_s=1))),
        ("burst 10x/24 mixUA", "300 ids, 10 /24s × 4 addr, spoofed devices, honest UA mix, human verify, faked page, "
         "jitter 10 s", Burst(300, Farm(subnets=10, ua="mix", verify="human", page="faked", jitter_s=10))),
        ("shared dev 20/phone", "400 ids, 20 per device, 1 /24 × 4 addr, one UA, scripted verify",
         SharedDevices(400, Farm(subnets=1, devices="shared:20", **one_net))),
        ("shared dev 8/phone proxies", "400 ids, 8 per device, residential proxies, UA pool, human verify, faked "
         "page, jitter 60 s", SharedDevices(400, Farm(devices="shared:8", ua="pool", verify="human", page="faked",
                                                      jitter_s=60))),
        ("camouflage 8x/24 spoofed", "500 ids, 6/10 to target, 8 /24s × 4 addr, spoofed devices, UA mix, human "
         "verify, jitter 30 s", Camouflage(500, Farm(subnets=8, ua="mix", verify="human", jitter_s=30))),
        ("camouflage proxies rotated", "500 ids, 6/10 to target, residential proxies, device rotated per vote, UA "
         "mix, human verify, faked page", Camouflage(500, Farm(devices="rotated", ua="mix", verify="human",
                                                               page="faked", jitter_s=30))),
    ]
    for multiple in (0.5, 2.0, 10.0):
        attacks.append((f"fresh surge {multiple:g}x", f"{multiple:g}× the entry's honest votes, own residential "
                        "address + device each, UA mix, verify 2–12 s before voting, no page, 5 min",
                        FreshSurge(farm=Farm(), multiple=multiple)))
    attacks.append(("fresh surge 2x humanlike", "2× honest votes, own address + device, UA mix, human verify "
                    "delay, faked page, 10 min", FreshSurge(farm=Farm(verify="human", page="faked", jitter_s=20),
                                                           multiple=2.0, window_s=600)))
    # A headless browser's script: it verifies, its page loads with the new ticket, and it sleeps a random few
    # seconds before voting (a sleep a person could take too, or one no person can: the script's choice).
    for lo, hi in ((1, 3), (0.5, 5)):
        attacks.append((f"fresh surge 2x headless {lo:g}–{hi:g} s", f"2× the entry's honest votes, own residential "
                        f"address + device each, UA mix, headless: page loaded, votes {lo:g}–{hi:g} s after "
                        "verifying, 5 min", FreshSurge(farm=Farm(verify="headless", sleep_s=(lo, hi), jitter_s=0),
                                                       multiple=2.0)))
    # Workers on real phones behaving like people, each identity in one wave only, from four /24s: on SIM cards
    # bought one by one, and on a code platform's numbers.
    human_once = dict(subnets=4, per_subnet=20, ua="mix", verify="human", page="faked", jitter_s=15)
    attacks.append(("burst 4x/24 human once", "300 ids, 4 /24s × 20 addr, spoofed devices, honest UA mix, human "
                    "verify, faked page, each id all 10 in one of 3 waves (20 s)",
                    Burst(300, Farm(**human_once), wave_s=5, once=True)))
    # The same farms with a code-receiving platform's numbers (mostly virtual-operator and data/IoT segments).
    platform = [
        ("burst 4x/24 human once platform", "as burst 4x/24 human once, numbers from a code platform (80 %)",
         Burst(300, Farm(**human_once, numbers=0.8), wave_s=5, once=True)),
        ("burst 10x/24 mixUA platform", "as burst 10x/24 mixUA, numbers from a code platform (80 % virtual/data)",
         Burst(300, Farm(subnets=10, ua="mix", verify="human", page="faked", jitter_s=10, numbers=0.8))),
        ("camouflage proxies rotated platform", "as camouflage proxies rotated, numbers from a code platform (80 %)",
         Camouflage(500, Farm(devices="rotated", ua="mix", verify="human", page="faked", jitter_s=30, numbers=0.8))),
        ("fresh surge 0.5x platform", "as fresh surge 0.5x, numbers from a code platform (80 %)",
         FreshSurge(farm=Farm(numbers=0.8), multiple=0.5)),
        ("fresh surge 2x humanlike platform", "as fresh surge 2x humanlike, numbers from a code platform (80 %)",
         FreshSurge(farm=Farm(verify="human", page="faked", jitter_s=20, numbers=0.8), multiple=2.0, window_s=600)),
        ("fresh surge 2x humanlike platform 30%", "as fresh surge 2x humanlike, 30 % of the numbers from a code "
         "platform", FreshSurge(farm=Farm(verify="human", page="faked", jitter_s=20, numbers=0.3), multiple=2.0,
                                window_s=600)),
    ]
    attacks.append(("slow drip 6x/24", "150 ids, 1 vote / 5 min each, 6 /24s × 4 addr, spoofed devices, UA pool",
                    SlowDrip(150, Farm(subnets=6, ua="pool", verify="aged", jitter_s=1), interval_s=300)))
    attacks.append(("slow drip proxies", "150 ids, 1 vote / 4 min + 0–40 s, residential proxies, UA mix, aged",
                    SlowDrip(150, Farm(ua="mix", verify="aged", jitter_s=40), interval_s=240)))
    attacks.append(("slow drip proxies irregular", "150 ids, 1 vote / 4 min + 0–4 min, residential proxies, UA mix, aged",
                    SlowDrip(150, Farm(ua="mix", verify="aged", jitter_s=240), interval_s=240)))
    attacks.append(("slow drip humanlike", "150 ids, 1 vote / 4 min + 0–40 s, residential proxies, UA mix, human "
                    "verify, faked page", SlowDrip(150, Farm(ua="mix", verify="human", page="faked", jitter_s=40),
                                                   interval_s=240)))
    attacks.append(("cloud phones", "150 cloud phones on 3 data-centre /24s × 10 addr (one in four a small IDC's), "
                    "own fingerprints, in-app UAs, page loaded, human delays, half on platform numbers, batches of 25 "
                    "every 200 s", CloudPhones(150)))
    attacks.append(("cloud phones in turns", "25 cloud phones, each on its own address in 3 small IDCs' /24s, "
                    "running 10 numbers one after another (a new phone's id and string for each, the page, half a "
                    "code platform's numbers, the code relayed, 20–60 s between), all 10 for the target",
                    CloudPhoneTurns(250, at=0.15)))
    attacks.append(("fresh drip one-UA", "12 fresh ids, one every 100 s ± 33 s, each all 10 at once, residential "
                    "proxies, one copied UA, scripted verify, no page",
                    FreshDrip(12, Farm(ua="one", verify="scripted", page="none"), every_s=100)))

    # Identities copying a person's whole session, a few at a time over 25 minutes: on numbers bought one by one they
    # are people paid to vote, and nothing tells them apart; on a code platform's, only their numbers differ.
    for share, words in ((0.0, "SIM cards bought one by one"), (1.0, "a code platform's numbers (7/8 virtual, 1/8 "
                                                                      "data SIMs)"), (0.5, "half a platform's")):
        attacks.append((f"mimic 0.5x{' platform' if share == 1 else ' half platform' if share else ''}",
                        f"0.5× the entry's honest votes, each id a person's whole session copied (page, human delays), "
                        f"own residential address + device, UA mix, evenly over 25 min, all 10 for the target; {words}",
                        Mimic(farm=Farm(numbers=share), multiple=0.5, at=0.1)))

    # A headless browser's drip through a residential proxy pool: a fresh identity every 30 s (or 9 s), each with a
    # new nationwide address, one of a handful of spoofed strings, the page loaded, a sleep a person could take.
    for n, every, strings, hi in ((60, 30, 8, 6), (175, 9, 30, 15)):
        attacks.append((f"headless drip {strings} strings", f"{n} fresh ids, one every {every} s ± a third, each all 10 "
                        f"at once, residential proxies, {strings} spoofed strings, headless: page loaded, votes 2–{hi} "
                        "s after verifying", FreshDrip(n, Farm(verify="headless", sleep_s=(2, hi), ua="pool",
                                                               ua_pool=strings, jitter_s=0), every_s=every, at=0.1)))
    attacks.append(("SIM pool 4 routers", "120 ids from a SIM pool on 4 4G routers (60 % data SIMs), one card per "
                    "router every 15–40 s from the fifth minute, all 10 1–4 s after the code, no page, a new address "
                    "in the carrier's 12 /24s every 2–5 min, one WeChat string per router",
                    SimPool(120, at=0.15)))

    attacks.append(("SIM drawer 6 phones", "96 of a unit's spare group-plan SIMs voted one by one on 6 office "
                    "phones on its line (a card swapped in a minute or two after the last vote, the code on the phone "
                    "itself), all 10 for the unit", Drawer(96, at=0.1)))

    attacks += platform
    cells: list[Cell] = []
    for regime in ("first_hour", "day3"):
        for name, params, pops in honest:
            cells.append(Cell(name, regime, 30, bg, pops, None, params))
        for name, params, attack in attacks:
            cells.append(Cell(name, regime, 30, bg, [], attack, params))
        # The same people and farms where the page's fingerprint tells only a phone's model and system
        for name, params, pops, attack in model_fingerprints(honest, attacks):
            cells.append(Cell(f"{name} (model fp)", regime, 30, bg, pops, attack,
                              f"{params}; fingerprints tell only the phone's model and system", "model"))
        for same, words in ((False, "the PC's own browser"), (True, "the office PCs' one browser string")):
            cells.append(Cell(f"insider turns 35{' on the image' if same else ''}", regime, 30, bg,
                              [Office(300, loyalty=1.0, imaged=0.7)], Turns(35, entry=17, same_image=same),
                              f"35 colleagues voted for in turn at one office PC ({words}; private windows: a new "
                              "fingerprint or none), all ten for the unit; beside 300 staff of the office, all for "
                              "the unit, 70 % on its imaged PCs"))
        cells.append(Cell("slow drip proxies 1 h", regime, 60, bg, [],
                          SlowDrip(150, Farm(ua="mix", verify="aged", jitter_s=40), interval_s=240),
                          "as slow drip proxies, over an hour (40 simulated minutes of drip, ten votes each)"))
        cells += opening(regime)
    if quick:
        keep = {"background only", "campus L100 k1", "cgnat 2500", "popular entry peak", "office 300",
                "burst 2x/24 one-UA", "shared dev 8/phone proxies", "camouflage proxies rotated", "fresh surge 2x",
                "slow drip proxies"}
        cells = [c for c in cells if c.name in keep]
    return cells


MODEL_FP_CELLS = ("background only", "campus L100 k8", "cgnat 2500", "popular entry peak", "assembly 1200/12",
                  "office 300 imaged PCs", "shared dev 8/phone proxies", "shared dev 20/phone",
                  "camouflage proxies rotated")


def model_fingerprints(honest: list[tuple[str, str, list]], attacks: list[tuple[str, str, Any]]
                       ) -> list[tuple[str, str, list, Any]]:
    """The cells repeated with model fingerprints (`fraud_world`: a phone's model and system, too little entropy)."""
    out = [(name, params, pops, None) for name, params, pops in honest if name in MODEL_FP_CELLS]
    return out + [(name, params, [], attack) for name, params, attack in attacks if name in MODEL_FP_CELLS]


# --------------------------------------------------------------------------------------------
# Simulated votes → what the consumer sees


EVAL_SECRET = "eval-fraud-secret-not-for-production-use"


def keyed(kind: str, value: str) -> str:
    return hashlib.sha256(f"eval-key|{kind}|{value}".encode()).hexdigest()[:32]


def vote_uuid(key: str) -> uuid.UUID:
    return uuid.UUID(hex=hashlib.sha256(key.encode()).hexdigest()[:32])


def cast_vote(v: SimVote, start: datetime):  # -> massline.contracts.CastVote
    """The vote as the voting service publishes it: the device and user agent hashed (and a client's placeholder
    read as nothing) by the voting service's own functions, as on the public path."""
    from massline.contracts import CastVote
    from services.voting.domain import device_hash, number_kind, user_agent_hash

    at = lambda s: start + timedelta(seconds=s)  # noqa: E731
    return CastVote(
        vote_id=vote_uuid(v.key), voter_id=v.voter, entry_id=ENTRY_IDS[v.entry], category_id="cases", count=v.count,
        cast_at=at(v.t), ip_hash=keyed("ip", v.ip) if v.ip else None, subnet=v.subnet,
        device_hash=device_hash(EVAL_SECRET, v.device), identity_verified_at=at(v.verified_t),
        user_agent_hash=user_agent_hash(EVAL_SECRET, v.ua),
        page_viewed_at=at(v.page_t) if v.page_t is not None and v.page_t <= v.t else None,
        number_kind=number_kind(v.phone) if v.phone else None,
        code_sent_at=at(v.asked_t) if v.asked_t is not None else None)


def batches(votes: Sequence[SimVote]) -> Iterable[list[SimVote]]:
    """About one second of accepted votes per call, at most BATCH_MAX."""
    i = 0
    while i < len(votes):
        second = math.floor(votes[i].t)
        j = i
        while j < len(votes) and math.floor(votes[j].t) == second and j - i < BATCH_MAX:
            j += 1
        yield list(votes[i:j])
        i = j


async def screen(world: World, regime: str) -> tuple[dict[str, str], dict[str, float], dict[str, set[str]], int]:
    """Runs the black box. Returns per vote key: final state (absent: counted), the batch time of its first
    decision, its reason codes; and how many decisions named votes never sent."""
    from services.antifraud.screening import Screening

    s = Screening(overrides=None)
    start = START[regime]
    key_of = {vote_uuid(v.key): v.key for v in world.votes}
    states: dict[str, str] = {}
    decided: dict[str, float] = {}
    reasons: dict[str, set[str]] = {}
    unknown = 0
    for batch in batches(world.votes):
        now = batch[-1].t
        for d in await s.screen(CAMPAIGN, [cast_vote(v, start) for v in batch]):
            key = key_of.get(d.vote_id)
            if key is None:
                unknown += 1
                continue
            action = "invalidated" if d.action == "invalidate" else "held"
            if states.get(key) != "invalidated":
                states[key] = action
            decided.setdefault(key, now)
            reasons.setdefault(key, set()).update(d.reason_codes)
    return states, decided, reasons, unknown


# --------------------------------------------------------------------------------------------
# Metrics


def competition_ranks(totals: Mapping[int, int]) -> dict[int, int]:
    """1, 2, 2, 4: ties share a rank and the next rank skips."""
    ordered = sorted(totals.items(), key=lambda kv: -kv[1])
    ranks: dict[int, int] = {}
    for position, (entry, votes) in enumerate(ordered, start=1):
        tied = position > 1 and votes == ordered[position - 2][1]
        ranks[entry] = ranks[ordered[position - 2][0]] if tied else position
    return ranks


def ratio(a: float, b: float) -> float | None:
    return a / b if b else None


@dataclass
class Metrics:
    precision_ids: float | None = None
    precision_votes: float | None = None
    precision_invalidated: float | None = None
    recall_ids: float | None = None
    recall_votes: float | None = None
    fp: dict[str, tuple[float, float]] = field(default_factory=dict)  # label → (identities, votes)
    ranks_equal: bool = True
    ranks_differ: int = 0
    max_loss: float = 0.0
    first_flag_s: float | None = None  # None: no attack; inf: never flagged
    reasons: dict[str, dict[str, int]] = field(default_factory=dict)  # label → reason code → flagged ballots
    flagged_votes: int = 0
    attack_votes: int = 0
    unknown_decisions: int = 0
    seconds: float = 0.0


def score(votes: Sequence[SimVote], states: Mapping[str, str], decided: Mapping[str, float],
          attack_start: float | None, entries: int = fw.ENTRIES,
          reasons: Mapping[str, Iterable[str]] | None = None) -> Metrics:
    """Scores final vote states ('held' / 'invalidated'; absent: counted) against ground truth."""
    m = Metrics()
    flagged_ballots = attack_flagged_ballots = inv_ballots = inv_attack_ballots = attack_ballots = 0
    ids: dict[str, list] = {}  # voter → [attack, label, flagged, ballots, flagged ballots]
    counted = {e: 0 for e in range(entries)}
    honest = {e: 0 for e in range(entries)}
    honest_lost = {e: 0 for e in range(entries)}
    first: float | None = None
    for v in votes:
        state = states.get(v.key)
        rec = ids.setdefault(v.voter, [v.attack, v.label, False, 0, 0])
        rec[3] += v.count
        if state:
            rec[2] = True
            rec[4] += v.count
            flagged_ballots += v.count
            attack_flagged_ballots += v.count * v.attack
            for code in (reasons or {}).get(v.key, ()):
                per = m.reasons.setdefault("attack" if v.attack else v.label, {})
                per[code] = per.get(code, 0) + v.count
            if state == "invalidated":
                inv_ballots += v.count
                inv_attack_ballots += v.count * v.attack
        else:
            counted[v.entry] += v.count
        if v.attack:
            attack_ballots += v.count
            if v.key in decided:
                first = decided[v.key] if first is None else min(first, decided[v.key])
        else:
            honest[v.entry] += v.count
            honest_lost[v.entry] += v.count if state else 0
    m.flagged_votes, m.attack_votes = flagged_ballots, attack_ballots
    flagged_ids = [r for r in ids.values() if r[2]]
    m.precision_ids = ratio(sum(r[0] for r in flagged_ids), len(flagged_ids))
    m.precision_votes = ratio(attack_flagged_ballots, flagged_ballots)
    m.precision_invalidated = ratio(inv_attack_ballots, inv_ballots)
    attackers = [r for r in ids.values() if r[0]]
    if attackers:
        m.recall_ids = ratio(sum(r[2] for r in attackers), len(attackers))
        m.recall_votes = ratio(attack_flagged_ballots, attack_ballots)
        m.first_flag_s = math.inf if first is None or attack_start is None else max(0.0, first - attack_start)
    by_label: dict[str, list[int]] = {}
    for r in ids.values():
        if not r[0]:
            agg = by_label.setdefault(r[1], [0, 0, 0, 0])
            agg[0] += 1
            agg[1] += r[2]
            agg[2] += r[3]
            agg[3] += r[4]
    m.fp = {label: (a[1] / a[0], a[3] / a[2] if a[2] else 0.0) for label, a in sorted(by_label.items())}
    truth, seen = competition_ranks(honest), competition_ranks(counted)
    m.ranks_differ = sum(truth[e] != seen[e] for e in range(entries))
    m.ranks_equal = m.ranks_differ == 0
    m.max_loss = max((honest_lost[e] / honest[e] for e in range(entries) if honest[e]), default=0.0)
    return m


def worst(runs: Sequence[Metrics]) -> Metrics:
    """The worst case over seeds, figure by figure."""
    def low(xs: Iterable[float | None]) -> float | None:
        xs = [x for x in xs if x is not None]
        return min(xs) if xs else None

    out = Metrics()
    out.precision_ids = low(r.precision_ids for r in runs)
    out.precision_votes = low(r.precision_votes for r in runs)
    out.precision_invalidated = low(r.precision_invalidated for r in runs)
    out.recall_ids = low(r.recall_ids for r in runs)
    out.recall_votes = low(r.recall_votes for r in runs)
    for r in runs:
        for label, (a, b) in r.fp.items():
            pa, pb = out.fp.get(label, (0.0, 0.0))
            out.fp[label] = (max(a, pa), max(b, pb))
    out.ranks_differ = max(r.ranks_differ for r in runs)
    out.ranks_equal = out.ranks_differ == 0
    out.max_loss = max(r.max_loss for r in runs)
    flags = [r.first_flag_s for r in runs if r.first_flag_s is not None]
    out.first_flag_s = max(flags) if flags else None
    out.flagged_votes = max(r.flagged_votes for r in runs)
    out.attack_votes = max(r.attack_votes for r in runs)
    out.unknown_decisions = sum(r.unknown_decisions for r in runs)
    for r in runs:  # summed over seeds
        for label, codes in r.reasons.items():
            per = out.reasons.setdefault(label, {})
            for code, n in codes.items():
                per[code] = per.get(code, 0) + n
    out.seconds = sum(r.seconds for r in runs)
    return out


def failures(cell: Cell, w: Metrics) -> list[str]:
    """The targets this cell's worst case misses."""
    out = []
    if any(p is not None and p < PRECISION for p in (w.precision_ids, w.precision_votes)):
        out.append("precision")
    if w.precision_invalidated is not None and w.precision_invalidated < PRECISION_INVALIDATED:
        out.append("precision(inv)")
    if any(max(a, b) > FP_MAX for a, b in w.fp.values()):
        out.append("FP")
    family = cell.attack.family if cell.attack else None
    target = RECALL.get(family) if family else None
    if target is not None:
        if any(r is None or r < target for r in (w.recall_ids, w.recall_votes)):
            out.append("recall")
        if family not in PACED and (w.first_flag_s is None or w.first_flag_s > FIRST_FLAG_S):
            out.append("first flag")
    if not w.ranks_equal:
        out.append("ranks")
    if w.max_loss > LOSS_MAX:
        out.append("loss")
    return out


# --------------------------------------------------------------------------------------------
# Running the grid in memory


def run_one(cell: Cell, seed: int) -> Metrics:
    started = time.perf_counter()
    world = cell.generate(seed)
    states, decided, reasons, unknown = asyncio.run(screen(world, cell.regime))
    m = score(world.votes, states, decided, world.attack_start, reasons=reasons)
    m.unknown_decisions = unknown
    m.seconds = time.perf_counter() - started
    return m


def fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "–"
    return f"{100 * x:.1f} %" if pct else f"{x:.3f}"


def fp_text(fp: Mapping[str, tuple[float, float]]) -> str:
    bad = [(label, a, b) for label, (a, b) in fp.items() if a or b]
    if not bad:
        return "0 in all"
    bad.sort(key=lambda x: -max(x[1], x[2]))
    return " · ".join(f"{label} {100 * a:.2f}/{100 * b:.2f}" + (" ✗" if max(a, b) > FP_MAX else "")
                      for label, a, b in bad)


HEADER = ["cell", "regime", "parameters", "P ids", "P votes", "P invalidated", "R ids", "R votes",
          "FP % ids/votes by population (non-zero)", "ranks = honest", "max honest loss", "first flag (s)", "verdict"]


def row(cell: Cell, w: Metrics) -> list[str]:
    fails = failures(cell, w)
    family = cell.attack.family if cell.attack else None
    recall_note = "" if not family or RECALL.get(family) is None else f" (≥{RECALL[family]})"
    flag = ("–" if w.first_flag_s is None else "never" if math.isinf(w.first_flag_s) else f"{w.first_flag_s:.0f}")
    return [cell.name, cell.regime.replace("_", " "), cell.params, fmt(w.precision_ids), fmt(w.precision_votes),
            fmt(w.precision_invalidated), fmt(w.recall_ids) + recall_note, fmt(w.recall_votes),
            fp_text(w.fp), "yes" if w.ranks_equal else f"no ({w.ranks_differ} differ)", fmt(w.max_loss, True), flag,
            "PASS" if not fails else "FAIL: " + ", ".join(fails)]


def table(rows: list[list[str]], header: list[str] = HEADER) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def reasons_table(results: list[tuple[Cell, Metrics]]) -> str:
    """Why honest votes were flagged: ballots per population and reason code, summed over seeds."""
    rows = []
    for cell, w in results:
        honest = {label: codes for label, codes in w.reasons.items() if label != "attack"}
        if honest:
            text = " · ".join(f"{label}: " + ", ".join(f"{code} {n}" for code, n in
                                                      sorted(codes.items(), key=lambda kv: -kv[1]))
                              for label, codes in sorted(honest.items(), key=lambda kv: -sum(kv[1].values())))
            rows.append([cell.name, cell.regime.replace("_", " "), text])
    if not rows:
        return "No honest vote was flagged in any cell."
    return table(rows, ["cell", "regime", "honest votes flagged, by population and reason code (all seeds)"])


def summary(results: list[tuple[Cell, Metrics]]) -> str:
    """One line: which targets fail where (a cell failing in both regimes is named once)."""
    where: dict[str, dict[str, list[str]]] = {}
    fp_pops: dict[str, int] = {}
    for cell, w in results:
        for f in failures(cell, w):
            where.setdefault(f, {}).setdefault(cell.name, []).append(cell.regime.replace("_", " "))
        for label, (a, b) in w.fp.items():
            if max(a, b) > FP_MAX:
                fp_pops[label] = fp_pops.get(label, 0) + 1
    passed = sum(not failures(c, w) for c, w in results)
    if not where:
        return f"**All {len(results)} cells meet every target.**"
    parts = []
    for f, cells in where.items():
        n = sum(len(r) for r in cells.values())
        names = ("every cell" if n == len(results) else
                 ", ".join(f"{name} ({'both' if len(r) == 2 else r[0]})" for name, r in cells.items()))
        extra = (" — populations over the limit: " + ", ".join(f"{k} in {v}" for k, v in
                                                              sorted(fp_pops.items(), key=lambda kv: -kv[1]))
                 if f == "FP" else "")
        parts.append(f"**{f}** fails in {n}: {names}{extra}")
    return f"**{passed} of {len(results)} cells pass.** " + "; ".join(parts) + "."


TARGETS = (f"Targets (worst case over seeds): precision ≥ {PRECISION} by identity and by vote; invalidated precision "
           f"≥ {PRECISION_INVALIDATED}; FP ≤ {100 * FP_MAX:.1f} % in every honest population (identities and "
           f"votes); "
           f"recall ≥ 0.95 (burst, shared devices, one browser's turns, a drawer of SIMs), ≥ 0.8 (camouflage, fresh "
           f"surge, cloud phones, SIM pool), none for slow drip or mimic; first flag ≤ {FIRST_FLAG_S:.0f} s after the "
           f"attack's first vote (but for turns and a drawer of SIMs, one identity after another); ranks equal to "
           f"honest-only ranks; no entry "
           f"loses > {100 * LOSS_MAX:.0f} % of its honest votes.")


def run_grid(args: argparse.Namespace) -> None:
    from machine import describe as describe_machine

    cells = grid(args.quick)
    if args.cells:
        cells = [c for c in cells if any(s.lower() in f"{c.name} {c.regime}".lower() for s in args.cells)]
    if not cells:
        raise SystemExit("no cell matches --cells")
    seeds = list(range(1, args.seeds + 1))
    total = time.perf_counter()
    jobs = [(i, seed) for i in range(len(cells)) for seed in seeds]
    per_cell: dict[int, list[Metrics]] = {i: [] for i in range(len(cells))}
    print(f"[eval-fraud] {len(cells)} cells × {len(seeds)} seeds on {args.jobs} processes", file=sys.stderr)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_one, cells[i], seed): (i, seed) for i, seed in jobs}
        for n, fut in enumerate(futures, 1):
            i, _seed = futures[fut]
            m = fut.result()
            per_cell[i].append(m)
            if len(per_cell[i]) == len(seeds):
                w = worst(per_cell[i])
                print(f"[eval-fraud] {n}/{len(jobs)} {cells[i].name} ({cells[i].regime}): "
                      + " | ".join(row(cells[i], w)[3:]), file=sys.stderr)
    results = [(cells[i], worst(per_cell[i])) for i in range(len(cells))]
    elapsed = time.perf_counter() - total
    unknown = sum(w.unknown_decisions for _, w in results)
    command = "python tests/bench/eval_fraud.py" + (" --quick" if args.quick else "") + \
              (" --cells " + " ".join(repr(c) for c in args.cells) if args.cells else "") + \
              (f" --seeds {args.seeds}" if args.seeds != 3 else "")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = (f"### Worst cases over seeds (in memory, `Screening` with default settings)\n\n"
            f"Measured {stamp} with `make eval-fraud` (`{command}`) on {describe_machine()}; "
            f"{len(cells)} cells × {len(seeds)} seeds (seeds {seeds[0]}–{seeds[-1]}), {elapsed:.0f} s wall-clock. "
            f"Traffic: `tests/bench/fraud_world.py` (the world is described in its docstring; it knows no detector "
            f"threshold). Every cell has a background of {cells[0].background} ordinary identities over "
            f"{cells[0].minutes:.0f} simulated minutes; attacks target entry #10 of 24 by honest popularity and "
            f"start a third of the way in. Votes are ballots (a request of 3 counts 3); flagged = held or "
            f"invalidated; precision/recall/FP by identity count an identity once any of its votes is flagged. "
            f"First flag: simulated seconds from the attack's first vote to the batch whose decision first named "
            f"an attack vote. \"–\": nothing to measure (nothing flagged, no attack).\n\n"
            f"{TARGETS}\n\n" + table([row(c, w) for c, w in results]) + "\n\n" + summary(results)
            + "\n\nWhere the false positives come from (the reason codes the black box gave):\n\n"
            + reasons_table(results)
            + (f"\n\n{unknown} decisions named votes the evaluation never sent." if unknown else ""))
    print(body)
    if not args.no_write:
        write_doc(ROOT / "docs" / "antifraud.md", body, part="memory")
        print("[eval-fraud] wrote docs/antifraud.md", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# docs/antifraud.md


START_MARK, END_MARK = "<!-- eval-fraud:start -->", "<!-- eval-fraud:end -->"
PARTS = ("memory", "http")


def write_doc(path: Path, body: str, part: str = "memory") -> None:
    """Replaces this mode's part of the section between the eval-fraud markers; keeps the other mode's part."""
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Anti-fraud\n\n{START_MARK}\n{END_MARK}\n"
    if START_MARK not in text:
        text += f"\n{START_MARK}\n{END_MARK}\n"
    before, rest = text.split(START_MARK, 1)
    inside, after = rest.split(END_MARK, 1)
    blocks = {}
    for name in PARTS:
        a, b = f"<!-- eval-fraud-{name}:start -->", f"<!-- eval-fraud-{name}:end -->"
        if a in inside and b in inside:
            blocks[name] = inside.split(a, 1)[1].split(b, 1)[0].strip("\n")
    blocks[part] = body
    section = "\n\n".join(f"<!-- eval-fraud-{name}:start -->\n{blocks[name]}\n<!-- eval-fraud-{name}:end -->"
                          for name in PARTS if name in blocks)
    path.write_text(f"{before}{START_MARK}\n{section}\n{END_MARK}{after}", encoding="utf-8")


# --------------------------------------------------------------------------------------------
# The whole system through the public HTTP path


def opening(regime: str) -> list[Cell]:
    """A campaign's opening minutes: a few hundred voters in four minutes, a campus or an office rallying at
    once, and a farm striking before the campaign has many voters to be compared with (a burst from two networks;
    a surge of fresh identities, each on its own address, before the entry has any history to surge against; a
    headless script in the opening minutes of a campaign that goes on)."""
    few = "300 ordinary voters over 4 minutes"
    return [
        Cell("opening campus", regime, 4, 300, [Campus(80, 2, 1, 0.7, rally_scale_s=40)], None,
             f"{few} + 80 campus (k 2, L 70 %) rallying at once"),
        Cell("opening office", regime, 4, 300, [Office(60, at=0.05, scale_s=40)], None,
             f"{few} + 60 staff behind one address for their unit"),
        Cell("opening burst", regime, 4, 300, [],
             Burst(60, Farm(subnets=2, ua="one", verify="scripted", jitter_s=1), gap_s=60),
             f"{few} + burst 60 ids from 2 /24s (3 waves, 60 s apart)"),
        Cell("opening fresh surge", regime, 4, 300, [], FreshSurge(farm=Farm(), multiple=2.0, at=0.3, window_s=90),
             f"{few} + fresh surge 2× the entry's honest votes in 90 s from the second minute (own address + device "
             "each, UA mix, verify 2–12 s before voting, no page)"),
        Cell("opening two farms", regime, 10, 1500, [],
             Together(parts=(FreshSurge(farm=Farm(), multiple=3.0, at=0.03, window_s=280),
                             Burst(120, Farm(subnets=3, per_subnet=6, ua="mix", jitter_s=20), waves=4, gap_s=90,
                                   at=0.04, entry=11))),
             "1500 ordinary voters over 10 minutes; from the first minute a fresh surge 3× its entry's honest votes in "
             "5 minutes (own address + device each, UA mix, verify 2–12 s before voting, no page) and, for another "
             "entry, 120 ids from 3 /24s × 6 addresses in 4 waves 90 s apart with the same habits"),
        Cell("opening headless", regime, 20, 1500, [],
             FreshSurge(farm=Farm(verify="headless", sleep_s=(1, 3), jitter_s=0), multiple=2.0, at=0.15,
                        window_s=120),
             "1500 ordinary voters over 20 minutes; from the fourth minute a headless browser's script: fresh "
             "identities 2× the entry's honest votes of the 20 minutes in 2 minutes, each on its own residential "
             "address, UA mix, its page loaded with the new ticket, voting 1–3 s after verifying"),
    ]


def http_cells() -> list[Cell]:
    """Small cells for the HTTP mode: hundreds of identities, a few minutes, the first-hour regime (every
    identity verifies by SMS during the run, as on the first day)."""
    return [
        Cell("http burst + campus", "first_hour", 4, 300, [Campus(80, 2, 1, 0.7, rally_scale_s=40)],
             Burst(60, Farm(subnets=2, ua="one", verify="scripted", jitter_s=1), gap_s=60),
             "300 ordinary + 80 campus (k 2, L 70 %) + burst 60 ids from 2 /24s (3 waves, 60 s apart); arrivals over 4 "
             "simulated minutes"),
        Cell("http campus deep link", "first_hour", 8, 400,
             [Campus(200, 1, 1, 1.0, rally_scale_s=60, phones=True, deep_link=True)], None,
             "400 ordinary + 200 students behind one campus address on their own phones (55 % iPhones, current system "
             "and WeChat), all for their school from the class group's link (a vote ~4 s after the code, one in five "
             "within 2 s); 8 simulated minutes"),
        Cell("http networks coming back", "first_hour", 10, 400, [],
             Burst(80, Farm(subnets=5, ua="mix", verify="human", page="faked", jitter_s=10), gap_s=180),
             "400 ordinary + 80 ids on 5 /24s behaving like people (own user agents, human delays, page views), 3 waves "
             "3 min apart; arrivals over 10 simulated minutes"),
        Cell("http imaged office + one-UA farm", "first_hour", 6, 300,
             [Office(100, loyalty=1.0, imaged=0.7, at=0.1, scale_s=60)],
             Burst(60, Farm(subnets=1, ua="one", verify="scripted", jitter_s=1), gap_s=60),
             "300 ordinary + 100 staff on their unit's address, all for their unit, 70 % on PCs from one image (one "
             "user agent) + burst 60 ids from one /24 with one user agent (3 waves, 60 s apart); 6 simulated minutes"),
        Cell("http fresh surge", "first_hour", 4, 300, [],
             FreshSurge(farm=Farm(), multiple=2.0, window_s=90),
             "300 ordinary + fresh surge 2× the entry's honest votes in 90 s; arrivals over 4 simulated minutes"),
        Cell("http one-UA fresh surge", "first_hour", 6, 400, [],
             FreshSurge(farm=Farm(ua="one", numbers=0.8), multiple=3.0, window_s=120),
             "400 ordinary + fresh surge 3× the entry's honest votes in 2 minutes from distinct residential addresses, "
             "one copied user agent, 80 % of the numbers from a code platform; 6 simulated minutes"),
        Cell("http human burst on a platform's numbers", "first_hour", 8, 1500, [],
             Burst(150, Farm(subnets=2, per_subnet=20, ua="mix", verify="human", page="faked", jitter_s=15,
                             numbers=0.8), wave_s=5, gap_s=90, once=True),
             "1500 ordinary + 150 ids on 2 /24s behaving like people (own user agents, human delays, page views), each "
             "all 10 in one of 3 waves 90 s apart, 80 % of the numbers from a code platform; 8 simulated minutes"),
        Cell("http human waves on SIM cards", "first_hour", 8, 1500, [],
             Burst(150, Farm(subnets=2, per_subnet=20, ua="mix", verify="human", page="faked", jitter_s=15),
                   wave_s=5, gap_s=90, once=True),
             "1500 ordinary + 150 ids on 2 /24s behaving like people (own user agents, human delays, page views), each "
             "all 10 in one of 3 waves 90 s apart, on their own SIM cards; 8 simulated minutes"),
        Cell("http headless 1–3 s", "first_hour", 6, 400, [],
             FreshSurge(farm=Farm(verify="headless", sleep_s=(1, 3), jitter_s=0), multiple=4.0, window_s=180),
             "400 ordinary + a headless browser's script: fresh identities 4× the entry's honest votes in 3 minutes, "
             "each on its own residential address, UA mix, its page loaded with the new ticket, voting 1–3 s after "
             "verifying; 6 simulated minutes"),
        Cell("http slow drip", "first_hour", 24, 300, [],
             SlowDrip(40, Farm(ua="mix", verify="human", page="faked", jitter_s=40), interval_s=240, at=0.1),
             "300 ordinary + 40 ids from residential proxies behaving like people (own user agents, human delays, page "
             "views), one vote each every 4 minutes + 0–40 s; 24 simulated minutes"),
        Cell("http fresh drip one-UA", "first_hour", 18, 400, [],
             FreshDrip(12, Farm(ua="one", verify="scripted", page="none"), every_s=80, at=0.1),
             "400 ordinary + a script dripping 12 fresh identities, one every 80 s ± 27 s, each all 10 at once a few "
             "seconds after the code without the page, one copied user agent, residential addresses; 18 simulated "
             "minutes"),
        Cell("http SIM pool", "first_hour", 8, 400, [], SimPool(60, at=0.15),
             "400 ordinary + a SIM pool on 4 4G routers (60 % data SIMs), one card per router every 15–40 s, all 10 "
             "1–4 s after the code through the API (no page, no device id), a new address in the carrier's /24s "
             "every 2–5 min, one WeChat string per router; 8 simulated minutes"),
        Cell("http opening headless", "first_hour", 20, 1500, [],
             FreshSurge(farm=Farm(verify="headless", sleep_s=(1, 3), jitter_s=0), multiple=2.0, at=0.15,
                        window_s=120),
             "1500 ordinary over 20 minutes; from the fourth minute, before the entry has a history, a headless "
             "browser's script: fresh identities 2× the entry's honest votes in 2 minutes, each on its own "
             "residential address, UA mix, its page loaded with the new ticket, voting 1–3 s after verifying"),
    ]


async def run_http_cell(stack, cell: Cell, seed: int, speed: float, log) -> tuple[Metrics, dict]:
    """Plays one cell through the gateway at `speed`× real time and reads the final states back."""
    import asyncpg
    import httpx
    from support import Api, open_voting  # tests/e2e

    world = cell.generate(seed)
    campaign = f"ef-{digest_name(cell.name)}-{seed}"
    api = Api(stack.gateway_url)
    names = [f"第{i + 1}号参评单位" for i in range(fw.ENTRIES)]
    entry_ids = await asyncio.to_thread(open_voting, api, campaign, names,
                                        replace={"show_counts: rank_only": "show_counts: always"})
    base = stack.gateway_url
    voting = f"/api/voting/campaigns/{campaign}"
    # the vote path opens within the rules cache time after the phase change
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=base, timeout=30) as probe:
        while time.monotonic() < deadline:
            r = await probe.get(f"{voting}/entries")
            if r.status_code == 200 and len(r.json().get("entries", [])) == fw.ENTRIES:
                break
            await asyncio.sleep(0.3)
        # a probe identity asks for more than a day's votes: refused as quota_exceeded (nothing cast) once open
        phone = "19999999999"
        await probe.post(f"{voting}/voters/sms-code", json={"phone": phone})
        code = (await probe.get(f"/api/voting/dev/sms-codes/{phone}")).json()["code"]
        ticket = (await probe.post(f"{voting}/voters/sms-verify", json={"phone": phone, "code": code})).json()["ticket"]
        while time.monotonic() < deadline:
            r = await probe.post(f"{voting}/votes", headers={"authorization": f"Bearer {ticket}"},
                                 json={"entry_id": entry_ids[0], "count": 1000, "idempotency_key": "probe"})
            if r.status_code == 429:
                break
            await asyncio.sleep(0.3)

    people = fw.identities(world.votes)
    # identities verified before the cell's start (an earlier day, or a farm verifying ahead) verify at its start
    t_min = min((v.verified_t for vs in people.values() for v in vs if v.verified_t > -1), default=0.0)
    t_min = min(t_min, 0.0)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    client = httpx.AsyncClient(base_url=base, timeout=60, limits=limits)
    client.headers.pop("user-agent", None)
    outcome = {"refused": {}, "errors": 0, "sent": 0, "late_s": [], "retried": 0}
    t0 = time.monotonic() + 1.0

    async def at(sim_t: float) -> None:
        delay = t0 + (sim_t - t_min) / speed - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if sim_t >= t_min:  # not a call the player moved to the start on purpose (verified before it)
            outcome["late_s"].append(max(-delay, 0.0))

    def refused(what: str) -> None:
        outcome["refused"][what] = outcome["refused"].get(what, 0) + 1

    def headers(v: SimVote, ticket: str | None = None) -> dict[str, str]:
        h = {"x-forwarded-for": v.ip if v.ip else "unknown"}
        if v.ua:
            h["user-agent"] = v.ua
        if ticket:
            h["authorization"] = f"Bearer {ticket}"
        return h

    async def identity(vs: list[SimVote]) -> None:
        first = vs[0]
        try:
            await at(max(t_min, first.verified_t - 15))
            for _attempt in range(2):  # a person taps "send" again when nothing arrives
                r = await client.post(f"{voting}/voters/sms-code", json={"phone": first.phone},
                                      headers=headers(first))
                if r.status_code < 500:
                    break
                outcome["retried"] += 1
                await asyncio.sleep(2)
            if r.status_code != 202:
                refused(f"sms-code {r.status_code}")
                return
            code = (await client.get(f"/api/voting/dev/sms-codes/{first.phone}")).json()["code"]
            await at(first.verified_t)
            r = await client.post(f"{voting}/voters/sms-verify", json={"phone": first.phone, "code": code},
                                  headers=headers(first))
            if r.status_code != 200:
                refused(f"verify {r.status_code}")
                return
            ticket = r.json()["ticket"]
            viewed = False
            for v in vs:
                if v.page_t is not None and not viewed and v.page_t <= v.t:
                    # the page, then what its script calls with the ticket (vote.js: GET /voters/me), keeping
                    # the ticket it answers with: stamped with this page view, it is what the page votes with
                    await at(v.page_t)
                    await client.get(f"/c/{campaign}", headers=headers(v))
                    me = await client.get(f"{voting}/voters/me", headers=headers(v, ticket))
                    if me.status_code == 200 and me.json().get("ticket"):
                        ticket = me.json()["ticket"]
                    viewed = True
                await at(v.t)
                body = {"entry_id": entry_ids[v.entry], "count": v.count, "idempotency_key": v.key}
                if v.device:
                    body["device"] = v.device
                r = await client.post(f"{voting}/votes", json=body, headers=headers(v, ticket))
                outcome["sent"] += 1
                if r.status_code not in (200, 201):
                    code_ = r.json().get("error", {}).get("code", r.status_code) if r.content else r.status_code
                    refused(f"vote {code_}")
        except httpx.HTTPError:
            outcome["errors"] += 1

    log(f"{cell.name}: {len(people)} identities, {len(world.votes)} vote requests over "
        f"{(world.votes[-1].t - t_min) / 60:.1f} simulated minutes at {speed:g}× real time")
    played = time.monotonic()
    attack_keys = [v.key for v in world.votes if v.attack]
    first_flag_wall: list[float] = []
    attack_first_wall: float | None = None
    if world.attack_start is not None:
        attack_first_wall = t0 + (world.attack_start - t_min) / speed

    async def watch(stop: asyncio.Event) -> None:
        """Polls the anti-fraud database for the first decision on an attack vote (wall clock)."""
        conn = await asyncpg.connect(stack.database_url)
        try:
            while not stop.is_set() and not first_flag_wall and attack_keys:
                n = await conn.fetchval(
                    "SELECT count(*) FROM antifraud.votes a JOIN voting.votes v ON v.vote_id = a.vote_id "
                    "WHERE v.campaign_id = $1 AND a.state <> 'counted' AND v.idempotency_key = ANY($2::text[])",
                    campaign, attack_keys)
                if n:
                    first_flag_wall.append(time.monotonic())
                await asyncio.sleep(0.5)
        finally:
            await conn.close()

    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(stop))
    await asyncio.gather(*(identity(vs) for vs in people.values()))
    await client.aclose()
    log(f"{cell.name}: played in {time.monotonic() - played:.0f} s; {outcome['sent']} vote requests, refused "
        f"{outcome['refused'] or 'none'}, errors {outcome['errors']}, SMS requests retried after a 5xx "
        f"{outcome['retried']}")

    # Wait until anti-fraud has seen every accepted vote and the states settle.
    conn = await asyncpg.connect(stack.database_url)
    try:
        accepted = await conn.fetchval("SELECT count(*) FROM voting.votes WHERE campaign_id = $1", campaign)
        settle = time.monotonic()
        last = None
        while time.monotonic() - settle < 120:
            seen = await conn.fetchval(
                "SELECT count(*) FROM antifraud.votes a JOIN voting.votes v ON v.vote_id = a.vote_id "
                "WHERE v.campaign_id = $1", campaign)
            flagged = await conn.fetchval(
                "SELECT count(*) FROM antifraud.votes a JOIN voting.votes v ON v.vote_id = a.vote_id "
                "WHERE v.campaign_id = $1 AND a.state <> 'counted'", campaign)
            if seen >= accepted and (seen, flagged) == last:
                break
            last = (seen, flagged)
            await asyncio.sleep(3)
        rows = await conn.fetch(
            "SELECT v.idempotency_key, a.state FROM voting.votes v LEFT JOIN antifraud.votes a "
            "ON a.vote_id = v.vote_id WHERE v.campaign_id = $1", campaign)
    finally:
        await conn.close()
        stop.set()
        await watcher
    by_key = {r["idempotency_key"]: r["state"] for r in rows}
    states = {k: ("invalidated" if s == "invalidated" else "held") for k, s in by_key.items()
              if s in ("flagged", "invalidated")}
    accepted_votes = [v for v in world.votes if v.key in by_key]
    decided: dict[str, float] = {}
    if first_flag_wall and attack_first_wall is not None and world.attack_start is not None:
        # in simulated seconds: wall clock after the attack's first vote, times the speed
        first = world.attack_start + max(0.0, first_flag_wall[0] - attack_first_wall) * speed
        for v in accepted_votes:
            if v.attack and v.key in states:
                decided[v.key] = first
    m = score(accepted_votes, states, decided, world.attack_start)
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        standings = (await c.get(f"{voting}/standings")).json()
    public = {e["entry_id"]: e.get("votes") for cat in standings.get("categories", {}).values() for e in cat}
    counted = {i: 0 for i in range(fw.ENTRIES)}
    for v in accepted_votes:
        if v.key not in states:
            counted[v.entry] += v.count
    agree = sum(public.get(entry_ids[i]) == counted[i] for i in range(fw.ENTRIES))
    late = sorted(outcome["late_s"])
    info = {"identities": len(people), "requests": len(world.votes), "accepted": len(accepted_votes),
            "not_scored": sum(1 for s in by_key.values() if s is None), "refused": outcome["refused"],
            "errors": outcome["errors"], "standings_agree": agree, "retried": outcome["retried"],
            "late_p99_s": late[int(0.99 * (len(late) - 1))] if late else 0.0}
    return m, info


def digest_name(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:6]


def run_http(args: argparse.Namespace) -> None:
    import shutil
    import tempfile

    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from machine import describe as describe_machine

    from services.operations.devstack import Stack, free_port

    def say(msg: str) -> None:
        print(f"[eval-fraud --http] {msg}", file=sys.stderr, flush=True)

    cells = http_cells()
    if args.cells:
        cells = [c for c in cells if any(s.lower() in c.name.lower() for s in args.cells)]
    if not cells:
        raise SystemExit("no HTTP cell matches --cells; cells: " + ", ".join(c.name for c in http_cells()))
    home = Path(tempfile.mkdtemp(prefix="massline-eval-fraud-"))
    stack = Stack(home=home, gateway_port=free_port(), durable=False, progress=say,
                  extra_env={"MASSLINE_ENV": "development", "MASSLINE_LOG_LEVEL": "WARNING",
                             "MASSLINE_CAMPAIGNS_DIR": str(ROOT / "campaigns"),
                             "MASSLINE_SECRET_KEY": "eval-fraud-secret-not-for-production",
                             # the simulated voters, farms included, all get their codes: the detectors are scored
                             **{f"MASSLINE_SMS_LIMITS__{name}": "1000000" for name in (
                                 "ADDRESS_PER_HOUR", "ADDRESS_PER_DAY", "NETWORK_PER_HOUR", "NETWORK_PER_DAY",
                                 "CAPTCHA_AFTER")}},
                  service_env={"gateway": {"MASSLINE_TRUSTED_PROXIES": "127.0.0.1/32"}})
    total = time.perf_counter()
    rows, notes = [], []
    try:
        stack.start_infrastructure()
        stack.start_services()
        for cell in cells:
            started = time.perf_counter()
            m, info = asyncio.run(run_http_cell(stack, cell, args.http_seed, args.speed, say))
            rows.append(row(cell, m))
            same = row(cell, run_one(cell, args.http_seed))  # the same cell and seed, in memory, for comparison
            rows.append([f"{cell.name} (in memory, same seed)", *same[1:]])
            notes.append(f"- {cell.name}: {info['identities']} identities, {info['accepted']} of {info['requests']} "
                         f"vote requests accepted (refused: {info['refused'] or 'none'}; HTTP errors "
                         f"{info['errors']}; SMS requests retried after a 5xx: {info['retried']}), "
                         f"{info['not_scored']} accepted votes without an anti-fraud state, public "
                         f"standings agree with the counted votes for {info['standings_agree']} of {fw.ENTRIES} "
                         f"entries; requests sent up to {info['late_p99_s']:.1f} s late (p99); "
                         f"{time.perf_counter() - started:.0f} s.")
            say(" | ".join(rows[-2]))
            say(" | ".join(rows[-1]))
            say(notes[-1])
    finally:
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = (f"### Through the public HTTP path (`--http`)\n\n"
            f"Measured {stamp} with `python tests/bench/eval_fraud.py --http --speed {args.speed:g}` on "
            f"{describe_machine()}; {time.perf_counter() - total:.0f} s. The whole embedded system (gateway trusting "
            f"127.0.0.1 as a proxy, each identity's own address in X-Forwarded-For); every identity gets an SMS code, "
            f"verifies, loads the campaign page and what its script calls with the ticket (GET /voters/me), then votes "
            f"with its own User-Agent and device, at the world's times scaled {args.speed:g}× (seed {args.http_seed}, "
            f"one run: these are single runs, not worst cases). Final states are read from the anti-fraud "
            f"database; first flag is polled every 0.5 s of wall clock and scaled back to simulated seconds. Each cell "
            f"is followed by the same cell and seed screened in memory.\n\n"
            + table(rows) + "\n\n" + "\n".join(notes))
    print(body)
    if not args.no_write:
        write_doc(ROOT / "docs" / "antifraud.md", body, part="http")
        say("wrote docs/antifraud.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller grid (and background)")
    parser.add_argument("--cells", nargs="*", help="only cells whose name or regime contains one of these")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per cell (worst case reported)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/antifraud.md alone")
    parser.add_argument("--http", action="store_true", help="through the whole system's public HTTP path")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="--http: simulated seconds per real second (compressing time distorts detectors' time "
                        "windows: keep 1 for figures)")
    parser.add_argument("--http-seed", type=int, default=1)
    args = parser.parse_args()
    if args.http:
        run_http(args)
    else:
        run_grid(args)


if __name__ == "__main__":
    main()
