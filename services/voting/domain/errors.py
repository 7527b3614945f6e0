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


class SmsLimitReached(VotingError):
    """Codes asked for too often: `sms_phone_limit`, `sms_address_limit` or `sms_network_limit` by the scope whose
    limit was reached; `window_s` the window (3600 or 86400), `retry_after_s` the wait until enough of the codes
    counted against it have aged out (their slices stopped counting) for the count to fall below the limit."""

    def __init__(self, scope: str, window_s: int, limit: int, retry_after_s: int) -> None:
        super().__init__(scope, window_s, limit, retry_after_s)
        self.code = f"sms_{scope}_limit"
        self.scope = scope
        self.window_s = window_s
        self.limit = limit
        self.retry_after_s = retry_after_s


class CaptchaRequired(VotingError):
    """Many codes were asked for from this network: this request must carry a solved captcha."""

    code = "captcha_required"


class CaptchaWrong(VotingError):
    """The captcha answer is wrong, or the challenge expired, was used already or is not one of ours.

    `spent`: the challenge's once-only id and expiry (unix seconds) when a wrong answer used it up, to be recorded
    as used even though the request is refused: a challenge takes one answer, right or wrong."""

    code = "captcha_wrong"

    def __init__(self, spent: tuple[str, int] | None = None) -> None:
        super().__init__(self.code)
        self.spent = spent


class CodeNotSent(VotingError):
    """The SMS vendor did not take the code: `sms_throttled`, `phone_number_invalid` or `sms_unavailable` (the
    vendor refused our configuration, or did not answer)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class WechatStateInvalid(VotingError):
    """The `state` that came back from WeChat is not one we signed for this campaign, or it expired."""

    code = "wechat_state_invalid"


class WechatCodeInvalid(VotingError):
    """WeChat refused the authorisation code (invalid, expired or used: errcode 40029, 40163, 41008)."""

    code = "wechat_code_invalid"


class WechatUnavailable(VotingError):
    """WeChat did not answer, or refused our AppID/AppSecret: nothing the voter can change."""

    code = "wechat_unavailable"


class VoteNotSealed(VotingError):
    """No seal holds the vote (yet): its day is not over, or there is no such vote in the campaign."""

    code = "vote_not_sealed"


class SealNotFound(VotingError):
    code = "seal_not_found"
