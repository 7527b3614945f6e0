"""A campaign's phase at a moment, the one rule every service that acts on phases follows.

The operator's last phase (`PhaseChanged`, or the phase a reloaded definition carries on) wins. Without one,
the phase is the one whose dates in the campaign definition hold the moment: from `starts_at` (included) to
`ends_at` (excluded); between phases, before the first and after the last, there is none. A date written
without an offset is in the campaign's time zone (`timezone` in its definition), as the definition reads it.
Submission applies it to its definition, voting to the phases `CampaignLoaded` carried.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Protocol


class PhaseDates(Protocol):
    """A phase of a campaign definition with its dates (the definition's `Phase`, the event's `PhaseInfo`)."""

    @property
    def id(self) -> str: ...

    @property
    def starts_at(self) -> datetime | None: ...

    @property
    def ends_at(self) -> datetime | None: ...


def _in_zone(moment: datetime, zone: tzinfo) -> datetime:
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def phase_at(phases: Iterable[PhaseDates], at: datetime, zone: tzinfo) -> str | None:
    """The phase whose dates hold `at` (timezone-aware), or None; a phase missing a date never holds."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("phase_at needs a timezone-aware instant")
    for phase in phases:
        if phase.starts_at is None or phase.ends_at is None:
            continue
        if _in_zone(phase.starts_at, zone) <= at < _in_zone(phase.ends_at, zone):
            return phase.id
    return None


def effective_phase(current_phase: str | None, phases: Iterable[PhaseDates], now: datetime,
                    zone: tzinfo) -> str | None:
    """The operator's phase when set; without one, the phase the definition's dates give for `now`."""
    if current_phase:
        return current_phase
    return phase_at(phases, now, zone)
