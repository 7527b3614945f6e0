"""A campaign's vote rules as the vote path applies them: the phase, the votable entries, the daily limits.

The phase follows the rule submission follows (`massline.phases`): the operator's last phase if any, else the
phase the definition's dates give at the moment of the vote, in the campaign's time zone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from massline import phases as campaign_phases
from massline.contracts import PhaseInfo
from massline.localtime import zone

from .errors import EntryNotVotable, OverDailyLimit, PhaseClosed

DEFAULT_VOTES_PER_DAY = 10


def daily_limit(vote_rules: dict[str, Any]) -> int:
    """Votes per voter and day, as the campaign's vote rules say (10 where they say nothing)."""
    return int(vote_rules.get("votes_per_day", DEFAULT_VOTES_PER_DAY))


def entry_cap(vote_rules: dict[str, Any]) -> int | None:
    """Votes per voter, entry and day, where the campaign caps them; None for no cap."""
    cap = vote_rules.get("per_entry_daily_cap")
    return int(cap) if cap else None


def phase_dates(phases: Sequence[dict[str, Any]]) -> tuple[PhaseInfo, ...]:
    """The definition's phases with their dates, from what `CampaignLoaded` carried (as stored)."""
    return tuple(PhaseInfo.model_validate(p) for p in phases)


def phase_now(current_phase: str | None, phases: Sequence[PhaseInfo], timezone: str, now: datetime) -> str | None:
    """The campaign's phase at `now`: the operator's last phase, else the one the definition's dates give."""
    return campaign_phases.effective_phase(current_phase, phases, now, zone(timezone)[0])


def closes_voting(previous_phase: str | None, phase: str, phases: Sequence[PhaseInfo], timezone: str,
                  at: datetime) -> bool:
    """Whether the operator's move to `phase` at `at` ends voting: the phase before it (the operator's last, else
    the dates') was voting, and the new one is not."""
    return phase != "voting" and phase_now(previous_phase, phases, timezone, at) == "voting"


@dataclass(frozen=True)
class CampaignRules:
    """What a vote is checked against before it joins a batch. `phase` is the operator's last phase (None when
    none was set); `phases` the definition's phases with their dates."""

    id: str
    timezone: str
    phase: str | None
    votes_per_day: int
    per_entry_daily_cap: int | None
    entries: dict[uuid.UUID, tuple[str, bool]]  # entry id -> (category, votable)
    phases: tuple[PhaseInfo, ...] = ()

    def phase_at(self, now: datetime) -> str | None:
        return phase_now(self.phase, self.phases, self.timezone, now)

    def admit(self, entry_id: uuid.UUID, count: int, now: datetime) -> str:
        """The category of the entry voted for, when the vote may be cast at `now`; a refusal otherwise.

        Voting must be open at `now`, the entry approved and still votable, and the count at most a day's votes
        (whether it fits what is left today is decided in the batch).
        """
        if self.phase_at(now) != "voting":
            raise PhaseClosed()
        entry = self.entries.get(entry_id)
        if entry is None or not entry[1]:
            raise EntryNotVotable()
        if count > self.votes_per_day:
            raise OverDailyLimit(self.votes_per_day)
        return entry[0]
