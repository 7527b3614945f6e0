"""The standings: ranks, what the public sees of them, and how vote decisions move votes between counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# A vote's state: counted in `votes`, `held` for review (out of the count until decided), or `invalidated`.
COUNTED, HELD, INVALIDATED = "counted", "held", "invalidated"


def competition_ranks(votes: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Rank by votes, ties share a rank and the next rank skips (1, 2, 2, 4)."""
    ordered = sorted(votes, key=lambda kv: (-kv[1], kv[0]))
    ranks: dict[str, int] = {}
    previous: int | None = None
    rank = 0
    for position, (entry, count) in enumerate(ordered, start=1):
        if count != previous:
            rank = position
            previous = count
        ranks[entry] = rank
    return ranks


@dataclass(frozen=True)
class EntryCounts:
    """One votable entry with its votes per state, and its held and invalidated votes per reason."""

    entry_id: uuid.UUID
    name: str
    unit_name: str
    category_id: str
    votes: int
    held: int
    invalidated: int
    reasons: list[dict[str, Any]]  # {state, reason_code, votes, reason_text, reason_text_zh}


def tally_hides_counts(show_counts: str, phase: str | None, final: bool) -> bool:
    """Whether a TallyUpdated (a public topic) leaves the vote counts out: while voting is open in a campaign
    that does not show counts. The final tally, and any after voting, carries them."""
    return show_counts != "always" and phase == "voting" and not final


def public_standings(campaign_id: str, phase: str | None, show_counts: str,
                     rows: Sequence[EntryCounts]) -> dict[str, Any]:
    """The standings per category as the public reads them.

    While voting is open the campaign decides what shows: counts and ranks (`always`), ranks only, or
    nothing (`hidden`); after voting everything shows. No voter, address or device is ever in them.
    """
    voting_open = phase == "voting"
    by_category: dict[str, list[EntryCounts]] = {}
    for r in rows:
        by_category.setdefault(r.category_id, []).append(r)
    out: dict[str, Any] = {"campaign_id": campaign_id, "phase": phase, "categories": {}}
    for cat, items in sorted(by_category.items()):
        ranks = competition_ranks((str(r.entry_id), r.votes) for r in items)
        entries = []
        for r in sorted(items, key=lambda r: (ranks[str(r.entry_id)], r.name)):
            item: dict[str, Any] = {"entry_id": str(r.entry_id), "name": r.name, "unit_name": r.unit_name}
            if not voting_open or show_counts != "hidden":
                item["rank"] = ranks[str(r.entry_id)]
            if not voting_open or show_counts == "always":
                item["votes"] = r.votes
                item["held"] = r.held
                item["invalidated"] = r.invalidated
                item["reasons"] = public_reasons(r.reasons)
            if not voting_open or show_counts != "hidden":
                # where ranks show, so does whether anti-fraud holds or invalidated some of the entry's votes, and why
                # (the ranks move with it); the numbers only where counts show
                item["has_held"] = r.held > 0
                item["has_invalidated"] = r.invalidated > 0
                if "reasons" not in item:
                    item["reasons"] = public_reasons(r.reasons, counts=False)
            entries.append(item)
        out["categories"][cat] = entries
    out["counts_shown"] = not voting_open or show_counts == "always"
    return out


def public_reasons(rows: Iterable[dict[str, Any]], *, counts: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Held and invalidated votes per reason, labelled in English and Chinese (the code where no label came); the
    number of votes per reason unless `counts` is false (a campaign showing ranks only)."""
    reasons: dict[str, list[dict[str, Any]]] = {HELD: [], INVALIDATED: []}
    for r in rows:
        if not counts and not r["votes"]:
            continue
        code = r["reason_code"]
        reasons[r["state"]].append({
            "reason_code": code, **({"votes": r["votes"]} if counts else {}), "reason": r["reason_text"] or code,
            "reason_zh": r["reason_text_zh"] or code})
    return reasons


@dataclass(frozen=True)
class TallyCounts:
    """One entry of a category's tally: counted, held and invalidated votes, and those per reason."""

    entry_id: uuid.UUID
    votes: int
    held: int
    invalidated: int
    reasons: list[dict[str, Any]]  # {state, reason_code, votes, reason_text, reason_text_zh}


def ranked(rows: Iterable[tuple[uuid.UUID, int]]) -> list[tuple[uuid.UUID, int, int]]:
    """A category's entries (id, votes) as (id, votes, rank), best first."""
    rows = list(rows)
    ranks = competition_ranks((str(entry), votes) for entry, votes in rows)
    return [(entry, votes, ranks[str(entry)]) for entry, votes in sorted(rows, key=lambda r: ranks[str(r[0])])]


def tally_standings(rows: Sequence[TallyCounts], hidden: bool) -> list[dict[str, Any]]:
    """A category's standings as a TallyUpdated carries them, best first: rank always; counted, held and
    invalidated votes and the votes per reason (state, code, labels) unless the tally hides counts."""
    by_id = {r.entry_id: r for r in rows}
    out: list[dict[str, Any]] = []
    for entry, votes, rank in ranked((r.entry_id, r.votes) for r in rows):
        if hidden:
            out.append({"entry_id": entry, "rank": rank})
            continue
        r = by_id[entry]
        reasons = [{"state": x["state"], "reason_code": x["reason_code"], "votes": x["votes"],
                    "reason": x["reason_text"] or x["reason_code"],
                    "reason_zh": x["reason_text_zh"] or x["reason_text"] or x["reason_code"]}
                   for x in r.reasons]
        out.append({"entry_id": entry, "rank": rank, "votes": votes, "held": r.held,
                    "invalidated": r.invalidated, "reasons": reasons})
    return out


@dataclass(frozen=True)
class Decision:
    """A review decision on one vote: the state it asks for (`counted`, `held`, `invalidated`) and why."""

    vote_id: uuid.UUID
    campaign_id: str
    category_id: str
    entry_id: uuid.UUID
    count: int
    target: str
    reason_code: str


def decision_rounds(decisions: Sequence[Decision]) -> list[dict[uuid.UUID, Decision]]:
    """The decisions in rounds that touch each vote at most once, in order: a vote decided twice in one batch
    (flagged, then reinstated) is moved in two rounds, so the result is that of applying them one by one."""
    rounds: list[dict[uuid.UUID, Decision]] = []
    pending = list(decisions)
    while pending:
        round_: dict[uuid.UUID, Decision] = {}
        later: list[Decision] = []
        for d in pending:
            if d.vote_id in round_:
                later.append(d)
            else:
                round_[d.vote_id] = d
        rounds.append(round_)
        pending = later
    return rounds


# A state's place in a standings move: [campaign, category, votes, held, invalidated].
_STATE_COLUMN = {COUNTED: 2, HELD: 3, INVALIDATED: 4}


@dataclass
class StandingsMoves:
    """What a round of decisions changes: per entry the votes moved between states, per (entry, state, reason)
    the votes added or taken, and the categories whose counted votes (so whose tally) changed."""

    moves: dict[uuid.UUID, list[Any]]  # entry -> [campaign, category, votes, held, invalidated] (differences)
    reasons: dict[tuple[uuid.UUID, str, str], int]
    touched: set[tuple[str, str]]


def moves_of(round_: dict[uuid.UUID, Decision],
             moved: Iterable[tuple[uuid.UUID, str, str | None]]) -> StandingsMoves:
    """The standings changes of the votes that moved: (vote id, the state it left, the reason it had there)."""
    out = StandingsMoves({}, {}, set())
    for vote_id, source, previous_reason in moved:
        d = round_[vote_id]
        move = out.moves.setdefault(d.entry_id, [d.campaign_id, d.category_id, 0, 0, 0])
        move[_STATE_COLUMN[source]] -= d.count
        move[_STATE_COLUMN[d.target]] += d.count
        if source != COUNTED and previous_reason:
            key = (d.entry_id, source, previous_reason)
            out.reasons[key] = out.reasons.get(key, 0) - d.count
        if d.target != COUNTED:
            key = (d.entry_id, d.target, d.reason_code)
            out.reasons[key] = out.reasons.get(key, 0) + d.count
        # Any move changes the tally: it carries the counted, held and invalidated votes and their reasons, so
        # scoring learns of a held vote invalidated (an open case confirmed) as of one reinstated.
        out.touched.add((d.campaign_id, d.category_id))
    return out
