"""Voter verification (a one-time SMS code, within limits and behind a captcha when due, or a WeChat-style open id)
and the voter's quota for today."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from massline.sms import SmsSendError

from .. import domain
from .. import repository as repo
from ..deps import VotingDeps
from ..domain import (
    CampaignNotFound,
    CaptchaRequired,
    CaptchaWrong,
    CodeExpired,
    CodeInvalid,
    CodeNotSent,
    CodeRecentlySent,
    MethodUnavailable,
    NoCodeSent,
    TooManyAttempts,
    VotingError,
    wechat,
)
from ..domain.sms_guard import SCOPES, UNKNOWN, WINDOWS, Counts, Scope


def _code_hash(secret: str, campaign_id: str, phone_hash: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{campaign_id}:{phone_hash}:{code}".encode(), hashlib.sha256).hexdigest()


async def _campaign(deps: VotingDeps, campaign_id: str) -> repo.CampaignRow:
    campaign = await repo.get_campaign(deps.rt.pool, campaign_id)
    if campaign is None:
        raise CampaignNotFound()
    return campaign


@dataclass(frozen=True)
class CaptchaAnswer:
    captcha_id: str
    answer: str


def _limit_keys(secret: str, phone_hash: str, address: str | None) -> dict[Scope, str]:
    """The counter key of each scope: keyed hashes, never the number or the address itself."""
    return {"phone": f"phone:{phone_hash}",
            "address": "address:" + (domain.address_hash(secret, address) if address else UNKNOWN),
            "network": "network:" + domain.keyed_hash(secret, "network", domain.client_network(address))}


async def _sent_so_far(conn: repo.Conn, keys: dict[Scope, str],
                       now: datetime) -> tuple[Counts, list[repo.SmsSlice], datetime]:
    """Codes sent per (scope, window) and slice, as of the time returned; the current slices, their counters locked.

    The current slices' rows are locked (a code is only ever added to a current slice, so two requests on one key
    are decided one after the other), then the earlier slices still counted are read. The clock is read again once
    the locks are held: a request that waited for them past the turn of a slice locks the new slice's rows too and
    counts as of then, so it does not add to a slice that later requests have already read. Left over: the one
    request on a key that is committing its code in the old slice as it turns goes unseen by the first requests
    after the turn (a plain read), so an interval may hold one code over a limit.
    """
    while True:
        current = [(keys[scope], w, domain.slice_start(now, w)) for scope in SCOPES for w in WINDOWS]
        locked = await repo.lock_sms_counts(conn, current)
        later = domain.utcnow()
        if all(domain.slice_start(later, w) == domain.slice_start(now, w) for w in WINDOWS):
            break
        now = later
    earlier = await repo.earlier_sms_counts(
        conn, [(key, w, domain.first_counted_slice(now, w), start) for key, w, start in current])
    counts: Counts = {
        (scope, w): {**earlier.get((keys[scope], w), {}), domain.slice_start(now, w): locked.get((keys[scope], w), 0)}
        for scope in SCOPES for w in WINDOWS}
    return counts, current, now


async def _solved(deps: VotingDeps, conn: repo.Conn, captcha: CaptchaAnswer | None) -> None:
    """The captcha that had to come along is solved and was not answered before; it is now."""
    if captcha is None:
        raise CaptchaRequired()
    check = await deps.captcha.check(captcha.captcha_id, captcha.answer)
    if check.challenge_id is None or check.expires_at is None:
        raise CaptchaWrong()  # expired, altered or not ours: nothing to record
    if not check.solved:
        raise CaptchaWrong(spent=(check.challenge_id, check.expires_at))
    if not await repo.use_captcha(conn, check.challenge_id, datetime.fromtimestamp(check.expires_at, UTC)):
        raise CaptchaWrong()


async def _admit_and_save(deps: VotingDeps, campaign_id: str, phone_hash: str, address: str | None,
                          captcha: CaptchaAnswer | None, carrier: bool = False) -> str:
    """Within one transaction: the resend interval, the limits, the captcha when due; then the new code, counted."""
    s = deps.settings
    now = domain.utcnow()
    async with deps.rt.unit_of_work() as uow:
        prev = await repo.lock_code(uow.conn, campaign_id, phone_hash)
        if prev is not None and (now - prev.sent_at).total_seconds() < s.code_resend_interval_s:
            raise CodeRecentlySent(s.code_resend_interval_s - int((now - prev.sent_at).total_seconds()))
        counts, slices, counted_at = await _sent_so_far(uow.conn, _limit_keys(s.secret_key, phone_hash, address), now)
        decision = domain.sms_code_decision(counts, s.sms_limits, counted_at, carrier=carrier,
                                            exempt=domain.exempt(address, s.sms_limits.exempt_networks))
        if decision.refusal is not None:
            raise decision.refusal
        if decision.captcha_needed:
            await _solved(deps, uow.conn, captcha)
        code = domain.new_code()
        await repo.save_code(uow.conn, campaign_id, phone_hash, _code_hash(s.secret_key, campaign_id, phone_hash, code),
                             now, now + timedelta(seconds=s.code_ttl_s))
        await repo.add_sms_code(uow.conn, slices)
        await repo.prune_sms_limits(uow.conn, now)
    return code


async def send_sms_code(deps: VotingDeps, campaign_id: str, phone: str, address: str | None = None,
                        captcha: CaptchaAnswer | None = None) -> dict[str, Any]:
    """Send a one-time code to a phone; the number itself is never stored.

    At most one per resend interval to a phone, and within the limits per phone, client address (`address`, as the
    gateway saw it) and network in the hour and the day (`settings.sms_limits`); once the network has been sent a
    few codes within the hour (many, for a carrier's number), only with a solved captcha. A refused request changes
    nothing, except that a wrong captcha answer uses its challenge up.
    """
    s = deps.settings
    await _campaign(deps, campaign_id)
    phone_hash = domain.keyed_hash(s.secret_key, "phone", phone)
    try:
        code = await _admit_and_save(deps, campaign_id, phone_hash, address, captcha,
                                     carrier=domain.number_kind(phone) == "mobile")
    except CaptchaWrong as exc:
        if exc.spent is not None:
            await repo.use_captcha(deps.rt.pool, exc.spent[0], datetime.fromtimestamp(exc.spent[1], UTC))
        deps.metrics.sms_codes.labels(exc.code).inc()
        raise
    except VotingError as exc:
        deps.metrics.sms_codes.labels(exc.code).inc()
        raise
    try:
        await deps.sms.send(phone_hash, phone, code)
    except SmsSendError as exc:
        # Not sent: the stored code goes, so the voter can ask again at once (it still counted towards the limits).
        await repo.delete_code(deps.rt.pool, campaign_id, phone_hash)
        deps.metrics.sms_codes.labels(exc.code).inc()
        raise CodeNotSent(exc.code if exc.code in ("sms_throttled", "phone_number_invalid") else "sms_unavailable") \
            from None
    deps.metrics.sms_codes.labels("sent").inc()
    return {"sent": True, "expires_in_s": s.code_ttl_s, "resend_after_s": s.code_resend_interval_s}


async def new_captcha(deps: VotingDeps, campaign_id: str) -> dict[str, Any]:
    """A captcha challenge for the campaign's page to show when a code request asks for one."""
    await _campaign(deps, campaign_id)
    challenge = await deps.captcha.challenge()
    return {"captcha_id": challenge.captcha_id, "kind": challenge.kind, "image": challenge.image,
            "expires_in_s": challenge.expires_in_s}


def captcha_answer(deps: VotingDeps, captcha_id: str) -> dict[str, Any]:
    """Development only: the answer of a challenge this process drew, so tests can solve it."""
    answer = None if deps.settings.env == "production" else deps.captcha.answer_of(captcha_id)
    if answer is None:
        raise NoCodeSent(in_production=True)  # 404 without a word on why
    return {"answer": answer}


async def _issue(deps: VotingDeps, campaign_id: str, voter_id: str, method: str,
                 number_kind: str | None = None, code_sent_at: datetime | None = None) -> dict[str, Any]:
    s = deps.settings
    await repo.upsert_voter(deps.rt.pool, campaign_id, voter_id, method)
    ticket = domain.issue_ticket(s.secret_key, voter_id=voter_id, campaign_id=campaign_id, method=method,
                                 ttl_s=s.ticket_ttl_s, number_kind=number_kind,
                                 code_sent_at=int(code_sent_at.timestamp()) if code_sent_at else None)
    return {"ticket": ticket, "expires_in_s": s.ticket_ttl_s, "voter": voter_id[:8]}


async def verify_sms_code(deps: VotingDeps, campaign_id: str, phone: str, code: str) -> dict[str, Any]:
    """Exchange a valid code for a voter ticket; a wrong code counts an attempt, a right one is used up."""
    s = deps.settings
    await _campaign(deps, campaign_id)
    phone_hash = domain.keyed_hash(s.secret_key, "phone", phone)
    async with deps.rt.unit_of_work() as uow:
        row = await repo.lock_code(uow.conn, campaign_id, phone_hash)
        if row is None or row.expires_at < domain.utcnow():
            raise CodeExpired()
        if row.attempts >= s.code_max_attempts:
            raise TooManyAttempts()
        wrong = not hmac.compare_digest(row.code_hash, _code_hash(s.secret_key, campaign_id, phone_hash, code))
        if wrong:
            await repo.count_attempt(uow.conn, campaign_id, phone_hash)
        else:
            await repo.delete_code(uow.conn, campaign_id, phone_hash)
    if wrong:
        raise CodeInvalid()
    return await _issue(deps, campaign_id, domain.keyed_hash(s.secret_key, "voter", phone_hash), "sms",
                        domain.number_kind(phone), row.sent_at)


async def verify_wechat(deps: VotingDeps, campaign_id: str, open_id: str) -> dict[str, Any]:
    """Development only: a ticket for an open id taken on trust (refused in production, where the open id comes
    from WeChat itself through `wechat_sign_in`)."""
    s = deps.settings
    if s.env == "production":
        raise MethodUnavailable()
    await _campaign(deps, campaign_id)
    return await _issue(deps, campaign_id, domain.keyed_hash(s.secret_key, "voter-wechat", open_id), "wechat")


def verification_methods(deps: VotingDeps) -> dict[str, Any]:
    """How voters can verify here: SMS always, WeChat when the official account is configured."""
    return {"sms": True, "wechat": deps.settings.wechat_enabled}


async def wechat_authorize(deps: VotingDeps, campaign_id: str, redirect_uri: str) -> dict[str, Any]:
    """Where to send the voter to authorise with WeChat (snsapi_base), with a signed state good for this campaign
    and return address for `wechat_state_ttl_s`."""
    s = deps.settings
    if not s.wechat_enabled:
        raise MethodUnavailable()
    await _campaign(deps, campaign_id)
    state = wechat.new_state(s.secret_key, campaign_id, redirect_uri, s.wechat_state_ttl_s)
    return {"authorize_url": wechat.authorize_url(s.wechat_authorize_url, s.wechat_app_id, redirect_uri, state),
            "expires_in_s": s.wechat_state_ttl_s}


async def wechat_sign_in(deps: VotingDeps, campaign_id: str, code: str, state: str,
                         redirect_uri: str) -> dict[str, Any]:
    """The voter is back from WeChat: the state is checked, the code becomes an openid, and the openid (kept only
    as a keyed hash, the voter id) gets a ticket as an SMS-verified phone does."""
    s = deps.settings
    if not s.wechat_enabled:
        raise MethodUnavailable()
    wechat.check_state(s.secret_key, state, campaign_id, redirect_uri)
    await _campaign(deps, campaign_id)
    openid = await deps.wechat.openid(code)
    return await _issue(deps, campaign_id, domain.keyed_hash(s.secret_key, "voter-wechat", openid), "wechat")


def last_code_sent(deps: VotingDeps, phone: str) -> dict[str, Any]:
    """Development only: the code the development SMS provider recorded for a phone."""
    s = deps.settings
    if s.env == "production":
        raise NoCodeSent(in_production=True)
    code = deps.sms.sent.get(domain.keyed_hash(s.secret_key, "phone", phone))
    if code is None:
        raise NoCodeSent()
    return {"code": code}


async def quota_today(deps: VotingDeps, campaign_id: str, authorization: str | None) -> dict[str, Any]:
    """The votes the ticket holder has left today; a ticket without the page-view claim comes back stamped."""
    s = deps.settings
    ticket = domain.read_ticket(s.secret_key, domain.bearer_token(authorization), campaign_id)
    campaign = await _campaign(deps, campaign_id)
    limit = domain.daily_limit(campaign.vote_rules)
    day = domain.voting_day(domain.utcnow(), campaign.timezone)
    used = await repo.used_today(deps.rt.pool, campaign_id, ticket.voter_id, day)
    answer: dict[str, Any] = {"remaining_today": max(limit - used, 0), "votes_per_day": limit, "day": day.isoformat()}
    if ticket.page_viewed_at is None:
        answer["ticket"] = domain.stamp_page_view(s.secret_key, ticket)
    return answer
