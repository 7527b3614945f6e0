"""A campaign's vote rules as the vote path applies them: the phase, the votable entries, the daily limits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from .errors import EntryNotVotable, OverDailyLimit, PhaseClosed

DEFAULT_VOTES_PER_DAY = 10


def daily_limit(vote_rules: dict[str, Any]) -> int:
    """Votes per voter and day, as the campaign's vote rules say (10 where they say nothing)."""
    return int(vote_rules.get("votes_per_day", DEFAULT_VOTES_PER_DAY))


def entry_cap(vote_rules: dict[str, Any]) -> int | None:
    """Votes per voter, entry and day, where the campaign caps them; None for no cap."""
    cap = vote_rules.get("per_entry_daily_cap")
    return int(cap) if cap else None


@dataclass(frozen=True)
class CampaignRules:
    """What a vote is checked against before it joins a batch."""

    id: str
    timezone: str
    phase: str | None
    votes_per_day: int
    per_entry_daily_cap: int | None
    entries: dict[uuid.UUID, tuple[str, bool]]  # entry id -> (category, votable)

    def admit(self, entry_id: uuid.UUID, count: int) -> str:
        """The category of the entry voted for, when the vote may be cast now; a refusal otherwise.

        Voting must be open, the entry approved and still votable, and the count at most a day's votes
        (whether it fits what is left today is decided in the batch).
        """
        if self.phase != "voting":
            raise PhaseClosed()
        entry = self.entries.get(entry_id)
        if entry is None or not entry[1]:
            raise EntryNotVotable()
        if count > self.votes_per_day:
            raise OverDailyLimit(self.votes_per_day)
        return entry[0]
