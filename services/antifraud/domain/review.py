"""What a case does and what deciding it would do: the policy's verdict on a finding, the standings as anti-fraud
counts them, competition ranks, which entries a decision would move, and an identity's risk."""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

from massline import audit

from . import devices
from .coordination import contrast
from .findings import Finding
from .registry import OPERATOR_REASONS, REASONS, REASONS_ZH, RULES, Thresholds
from .signals import DAY, TEN_MINUTES, cautious_excess, window_start

Policy = Literal["auto", "flag", "invalidate"]
Decision = Literal["confirm", "overturn"]
TARGET_STATUS: dict[str, str] = {"confirm": "invalidated", "overturn": "overturned"}


def decision_entry(campaign_id: str, case_id: uuid.UUID, action: str, actor: str, reason_code: str,
                   vote_ids: Iterable[uuid.UUID], reason: str | None, status_before: str | None = None) -> audit.Entry:
    """A decision on a case as the audit trail chains it: the votes it changed as a count and a digest (SHA-256 of
    their ids, sorted, one per line), never the voters."""
    ids = sorted(str(v) for v in vote_ids)
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()
    details = {"case_id": str(case_id), "reason_code": reason_code, "votes_changed": len(ids), "votes_sha256": digest,
               "status_before": status_before, "reason": reason}
    return audit.Entry(campaign_id, f"fraud.{action}", f"case:{case_id}", details, actor)


def case_status(policy: str, f: Finding) -> str:
    """What a case does to its votes: the policy decides, and under `auto` the rule's level."""
    if policy == "invalidate" or (policy == "auto" and f.level == "invalidate"):
        return "invalidated"
    return "flagged"


def reason_texts(code: str) -> dict[str, str]:
    """The detector's own wording of a reason code, in English and Chinese (the code itself if it has none)."""
    return {"reason": REASONS.get(code, code), "reason_zh": REASONS_ZH.get(code, code)}


class StandingRow(NamedTuple):
    """One entry's counted votes in its category, with its names when anti-fraud knows them."""

    category_id: str
    entry_id: uuid.UUID
    counted: int
    entry_name: str | None
    unit_name: str | None


class CaseVotes(NamedTuple):
    """A case's votes for one entry: `held` out of the count now, `counted` still in (an overturned case's), and
    `held_alone`, those held that no other case holds (flagged or invalidated)."""

    category_id: str | None
    entry_id: uuid.UUID | None
    held: int
    counted: int
    held_alone: int = 0


def competition_ranks(totals: dict[Any, int]) -> dict[Any, int]:
    """Ranks with ties sharing one (1, 2, 2, 4): one plus the entries with strictly more votes."""
    first: dict[int, int] = {}
    for i, v in enumerate(sorted(totals.values(), reverse=True)):
        first.setdefault(v, i + 1)
    return {k: first[v] for k, v in totals.items()}


@dataclass
class Standings:
    """Each category's entries and their counted votes (state 'counted' in anti-fraud's own votes)."""

    totals: dict[str, dict[uuid.UUID, int]] = field(default_factory=dict)
    names: dict[uuid.UUID, tuple[str | None, str | None]] = field(default_factory=dict)
    _sorted: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[StandingRow]) -> Standings:
        s = cls()
        for r in rows:
            s.totals.setdefault(r.category_id, {})[r.entry_id] = r.counted
            s.names[r.entry_id] = (r.entry_name, r.unit_name)
        return s

    def know(self, category_id: str | None, entry_id: uuid.UUID | None) -> None:
        """An entry whose votes are all held or invalidated has none counted: it stands at 0."""
        if category_id is not None and entry_id is not None:
            if entry_id not in self.totals.setdefault(category_id, {}):
                self.totals[category_id][entry_id] = 0
                self._sorted.pop(category_id, None)

    def _ascending(self, category_id: str) -> list[int]:
        if category_id not in self._sorted:
            self._sorted[category_id] = sorted(self.totals.get(category_id, {}).values())
        return self._sorted[category_id]

    def moved(self, category_id: str, new: dict[uuid.UUID, int]) -> int:
        """How many entries of the category change rank if the entries in `new` had these totals instead.

        Costs O(k²) for the k entries changed (a bisection per breakpoint), not a sort of the whole category (unless
        k² exceeds the category's size): the queue asks this once per case. An entry outside `new` with v votes moves
        exactly when the number of changed entries above it differs before and after; that number only changes at
        the changed entries' totals, so the totals between two consecutive breakpoints either all move or none does.
        """
        totals = self.totals.setdefault(category_id, {})
        new = {e: v for e, v in new.items() if totals.get(e, 0) != v}
        if not new:
            return 0
        for e in new:
            self.know(category_id, e)
        asc = self._ascending(category_id)

        def above(v: int) -> int:  # entries of the category with strictly more than v now
            return len(asc) - bisect.bisect_right(asc, v)

        old = {e: totals[e] for e in new}
        if len(new) ** 2 > len(totals):  # many entries changed: ranking the category again is cheaper
            now, then = competition_ranks(totals), competition_ranks({**totals, **new})
            return sum(now[e] != then[e] for e in totals)
        n = 0
        for e, v in new.items():
            rank_then = 1 + above(v) - sum(o > v for o in old.values()) + sum(w > v for w in new.values())
            n += rank_then != 1 + above(old[e])
        points = sorted(set(old.values()) | set(new.values()))
        for lo, hi in itertools.pairwise(points):
            if sum(w >= hi for w in new.values()) != sum(o >= hi for o in old.values()):
                n += bisect.bisect_left(asc, hi) - bisect.bisect_left(asc, lo) - sum(lo <= o < hi
                                                                                      for o in old.values())
        return n


def impact(standings: Standings, status: str, per_entry: Iterable[CaseVotes]) -> dict[str, Any]:
    """What deciding the case would do to the ranks: a held or invalidated case as if its votes counted again (its
    own votes, whatever other cases hold them too: an attack split over overlapping cases still sorts first), an
    overturned one as if confirmed (its counted votes removed). `alone`: the same for this case decided by itself,
    the votes other cases also hold staying out (an overturned case's are its counted votes either way)."""
    release = status != "overturned"
    rows = list(per_entry)
    whole = _moves(standings, [(r, r.held if release else -r.counted) for r in rows])
    alone = _moves(standings, [(r, r.held_alone if release else -r.counted) for r in rows])
    return {**whole, "alone": alone}


def _moves(standings: Standings, deltas: list[tuple[CaseVotes, int]]) -> dict[str, Any]:
    """How many entries would change rank if each row's entry changed by its delta, and the votes changed."""
    votes = 0
    changes: dict[str, dict[uuid.UUID, int]] = {}
    for r, delta in deltas:
        if r.entry_id is None or r.category_id is None:
            continue
        standings.know(r.category_id, r.entry_id)
        votes += abs(delta)
        if delta:
            now = standings.totals[r.category_id][r.entry_id]
            changes.setdefault(r.category_id, {})[r.entry_id] = max(now + delta, 0)
    moved = sum(standings.moved(cat, new) for cat, new in changes.items())
    return {"changes_rank": moved > 0, "entries_moved": moved, "votes": votes}


def case_odds(c: Any, t: Thresholds) -> float:
    """How much likelier a case's votes are a script's than the campaign's other voters': a coordination case's own
    weight of evidence (its `score`, log odds); for the other rules, the odds their level stands for (a device's
    case at a person's pace holds, at a farm's is sure)."""
    if c["score"]:
        return float(math.exp(c["score"]))
    level = RULES[c["reason_code"]].level if c["reason_code"] in RULES else "hold"
    if c["reason_code"] == "device_shared":
        level = devices.case_level(str(c.get("subject", "")))
    return t.invalidate_odds if level == "invalidate" else t.hold_odds


def with_odds(c: dict[str, Any], t: Thresholds) -> dict[str, Any]:
    """A case as operators read it: its `odds` and their log (`score`), whichever rule found it; none for an
    operator's own (a person's judgement on evidence the traffic does not carry has no odds to show)."""
    if c.get("reason_code") in OPERATOR_REASONS:
        return {**c, "odds": None, "score": None}
    odds = case_odds(c, t)
    return {**c, "odds": round(odds, 1), "score": round(math.log(odds), 3)}


def identity_risk(cases: Iterable[Any], t: Thresholds) -> dict[str, Any]:
    """An identity's risk: the strongest case holding its votes, as odds against the campaign's other voters
    (`case_odds`), and the strongest decision its cases took ("invalidate" only where a case invalidated its votes:
    a case held for a person stays at "hold" whatever its odds, as it lacked the independent pieces of evidence that
    invalidate). Overturned cases do not count."""
    live = [c for c in cases if c["status"] != "overturned"]
    odds = max([case_odds(c, t) for c in live], default=1.0)
    level = "invalidate" if any(c["status"] == "invalidated" for c in live) \
        else "hold" if live or odds >= t.hold_odds else "none"
    return {"odds": round(odds, 1), "score": round(math.log(odds), 3), "level": level}


def ranks_then(standings: Standings, deltas: Iterable[tuple[str, uuid.UUID, int]]) -> list[dict[str, Any]]:
    """Per category, each entry's counted votes and rank now and after the changes `deltas` (category, entry, change
    of its counted votes), the entries ordered by their rank after, and which of them would move."""
    deltas = list(deltas)
    for category_id, entry_id, _ in deltas:
        standings.know(category_id, entry_id)
    then = {cat: dict(totals) for cat, totals in standings.totals.items()}
    for category_id, entry_id, delta in deltas:
        then[category_id][entry_id] = max(then[category_id][entry_id] + delta, 0)
    categories = []
    for cat in sorted(standings.totals):
        now_totals = standings.totals[cat]
        ranks_now, ranks_after = competition_ranks(now_totals), competition_ranks(then[cat])
        entries = []
        for e in sorted(now_totals, key=lambda e: (ranks_after[e], ranks_now[e], str(e))):
            name, unit = standings.names.get(e, (None, None))
            entries.append({"entry_id": str(e), "entry_name": name, "unit_name": unit,
                            "votes_now": now_totals[e], "rank_now": ranks_now[e],
                            "votes_then": then[cat][e], "rank_then": ranks_after[e],
                            "moved": ranks_now[e] != ranks_after[e]})
        categories.append({"category_id": cat, "entries": entries,
                           "moved": [x["entry_id"] for x in entries if x["moved"]]})
    return categories


class Jump(NamedTuple):
    """An entry's ten minutes whose share of the campaign's identities jumped against its share earlier that day."""

    entry_id: str
    start: datetime
    identities: int  # the entry's identities in the ten minutes
    everyone: int  # the campaign's
    share_before: float  # the entry's share earlier that day
    ratio: float  # how many times its history, read cautiously (`coordination.contrast`)


def jumps(entry_tens: dict[str, dict[datetime, int]], everyone_tens: dict[datetime, int], t: Thresholds, *,
          ratio: float | None = None, least: int | None = None, excess: int | None = None) -> list[Jump]:
    """Per entry, its ten minutes (aligned, or starting halfway) that jumped most against its own history that day,
    read as the coordination rule reads an entry's surge: at least `least` identities (`surge_min_identities` by
    default) and `ratio` (`surge_ratio`) times its share earlier that day (the aligned ten minutes that ended by
    then), once the campaign had `contrast_baseline_min` identities before; or, when `excess` is given, that many
    identities beyond its share earlier that day, both read cautiously (`cautious_excess`): an entry already drawing
    a third of everyone cannot double, but a farm can add hundreds to it. The strongest first. Counts are of
    identities at their first vote in each ten minutes (`entry_trait_ten`, `ids_ten`), so an identity back in a later
    ten minutes counts again in the history, for the entry and for everyone alike."""
    least = t.surge_min_identities if least is None else least
    ratio = t.surge_ratio if ratio is None else ratio
    aligned = sorted(w for w in everyone_tens if window_start(w, TEN_MINUTES) == w)
    days = [window_start(w, DAY) for w in aligned]  # once: a campaign's weeks are thousands of windows per entry
    everyone_so_far = _day_sums(days, aligned, everyone_tens)
    out: list[Jump] = []
    for entry, tens in entry_tens.items():
        if max(tens.values(), default=0) < least:
            continue
        so_far = _day_sums(days, aligned, tens)
        best: Jump | None = None
        for w, here in tens.items():
            everyone = everyone_tens.get(w, 0)
            if here < least or everyone <= 0:
                continue
            # the aligned ten minutes of w's day that ended by w
            i = bisect.bisect_right(aligned, w - timedelta(seconds=TEN_MINUTES)) - 1
            same_day = i >= 0 and days[i] == window_start(w, DAY)
            before, everyone_before = (so_far[i], everyone_so_far[i]) if same_day else (0, 0)
            if everyone_before < t.contrast_baseline_min:
                continue
            share_before, times = contrast(here, everyone, before, everyone_before, t.contrast_prior,
                                           t.contrast_sigmas)
            beyond = excess is not None and cautious_excess(here, everyone, before, everyone_before,
                                                            t.contrast_sigmas) >= excess
            if (times >= ratio or beyond) and (best is None or times > best.ratio):
                best = Jump(entry, w, here, everyone, share_before, times)
        if best is not None:
            out.append(best)
    return sorted(out, key=lambda j: -j.ratio)


def _day_sums(days: list[datetime], aligned: list[datetime], counts: dict[datetime, int]) -> list[int]:
    """For each of the aligned ten minutes (in order, each of the day in `days`), the counts of its day up to it,
    itself included."""
    out: list[int] = []
    for i, w in enumerate(aligned):
        carried = out[-1] if i and days[i - 1] == days[i] else 0
        out.append(carried + counts.get(w, 0))
    return out
