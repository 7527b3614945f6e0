"""The voting rules' refusals: each carries the stable code a voter's client reads, and what the answer says."""

from __future__ import annotations

from dataclasses import dataclass


class VotingError(Exception):
    """A rule said no. `code` is the error code of the answer (and of the refusal counter)."""

    code = "refused"


class CampaignNotFound(VotingError):
    code = "campaign_not_found"


class PhaseClosed(VotingError):
    code = "phase_closed"


class EntryNotVotable(VotingError):
    code = "entry_not_votable"


@dataclass(frozen=True)
class OverDailyLimit(VotingError):
    """One vote asks for more than a whole day's votes."""

    votes_per_day: int
    code = "quota_exceeded"


class VoteRefused(VotingError):
    """A vote of a batch that no longer fits: the daily quota (`quota_exceeded`) or the per-entry cap
    (`entry_cap_exceeded`), with what is left today."""

    def __init__(self, code: str, remaining_today: int, votes_per_day: int,
                 per_entry_daily_cap: int | None = None) -> None:
        super().__init__(code, remaining_today)
        self.code = code
        self.remaining_today = remaining_today
        self.votes_per_day = votes_per_day
        self.per_entry_daily_cap = per_entry_daily_cap


class IdempotencyKeyReused(VotingError):
    """The idempotency key already named another vote of this voter: another entry or another count."""

    code = "idempotency_key_reused"


class TicketError(VotingError):
    """The voter ticket is forged, altered, foreign (`ticket_invalid`) or old (`ticket_expired`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class TicketMissing(TicketError):
    """No `Bearer` ticket at all: the voter has not verified yet."""

    def __init__(self) -> None:
        super().__init__("ticket_invalid")


@dataclass(frozen=True)
class CodeRecentlySent(VotingError):
    """A code went to this phone less than the resend interval ago."""

    retry_after_s: int
    code = "code_recently_sent"


class CodeExpired(VotingError):
    code = "code_expired"


class TooManyAttempts(VotingError):
    code = "too_many_attempts"


class CodeInvalid(VotingError):
    code = "code_invalid"


class MethodUnavailable(VotingError):
    code = "verification_method_unavailable"


class NoCodeSent(VotingError):
    """Development only: the development SMS provider sent no code to this number (or this is production)."""

    code = "not_found"

    def __init__(self, in_production: bool = False) -> None:
        super().__init__(self.code)
        self.in_production = in_production
