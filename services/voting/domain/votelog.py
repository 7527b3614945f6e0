"""The sealed vote log, without I/O: what a vote's leaf holds, its receipt, and which days are due for sealing.

The tree and the leaf encoding are `massline.votelog` (standalone, so anyone can check with it); docs/transparency.md
says it all. A leaf holds no personal data: the vote's id, entry, count and day, its state when sealed, and `voter`,
a keyed hash of the voter's pseudonym under a key per campaign derived from the service's secret and never
published: the votes of one voter in one campaign share it (anyone can check the daily quota), and it cannot be
turned back into a phone number or linked across campaigns.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from massline.votelog import hash_of_leaf

COUNTED = "counted"
RECEIPT_FIELDS = ("vote_id", "day", "leaf")  # the receipt's fields, in the order an answer gives them


@functools.lru_cache(maxsize=16384)
def log_voter(secret: str, campaign_id: str, voter_id: str) -> str:
    """The voter as the campaign's vote log names them: HMAC-SHA256 under the campaign's own key, 32 hex digits."""
    key = hmac.new(secret.encode(), f"vote-log-key:{campaign_id}".encode(), hashlib.sha256).digest()
    return hmac.new(key, voter_id.encode(), hashlib.sha256).hexdigest()[:32]


def leaf_of(campaign_id: str, vote_id: uuid.UUID, voter: str, entry_id: uuid.UUID, count: int, day: date,
            status: str) -> dict[str, Any]:
    return {"campaign_id": campaign_id, "count": count, "day": day.isoformat(), "entry_id": str(entry_id),
            "status": status, "vote_id": str(vote_id), "voter": voter}


def receipt(campaign_id: str, vote_id: uuid.UUID, voter: str, entry_id: uuid.UUID, count: int,
            day: date) -> dict[str, str]:
    """What the voter keeps: the vote, its day, and the hash of its leaf as sealed while it counts."""
    leaf = leaf_of(campaign_id, vote_id, voter, entry_id, count, day, COUNTED)
    return {"vote_id": str(vote_id), "day": day.isoformat(), "leaf": hash_of_leaf(leaf)}


@dataclass(frozen=True)
class LoggedDay:
    """A campaign's day as the sealer sees it: its votes, the latest cast, and the leaves of its latest seal."""

    day: date
    votes: int
    last_cast_at: datetime
    sealed_leaves: int


def day_end(day: date, timezone: str) -> datetime:
    """Midnight after `day` in the campaign's time zone, where its daily quota resets."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(timezone))


def first_open_day(now: datetime, timezone: str, voting_open: bool) -> date | None:
    """The campaign's day from which no day can be due yet: today while voting is open (a day is due only once its
    midnight has passed), none when voting is closed (the close makes every day due). Lets the sealer skip reading
    the day that is taking votes."""
    return now.astimezone(ZoneInfo(timezone)).date() if voting_open else None


def days_due(days: list[LoggedDay], now: datetime, timezone: str, voting_open: bool,
             grace: timedelta) -> list[date]:
    """The days to seal now: with votes their latest seal lacks, and either over (its midnight passed `grace`
    ago) or voting closed and no vote came in the last `grace` (the close). `grace` lets votes in flight land."""
    due = []
    for d in days:
        if d.votes <= d.sealed_leaves:
            continue
        if now >= day_end(d.day, timezone) + grace or (not voting_open and now >= d.last_cast_at + grace):
            due.append(d.day)
    return due
