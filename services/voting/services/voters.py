"""Voter verification (a one-time SMS code, or a WeChat-style open id) and the voter's quota for today."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from .. import domain
from .. import repository as repo
from ..deps import VotingDeps
from ..domain import (
    CampaignNotFound,
    CodeExpired,
    CodeInvalid,
    CodeRecentlySent,
    MethodUnavailable,
    NoCodeSent,
    TooManyAttempts,
)


def _code_hash(secret: str, campaign_id: str, phone_hash: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{campaign_id}:{phone_hash}:{code}".encode(), hashlib.sha256).hexdigest()


async def _campaign(deps: VotingDeps, campaign_id: str) -> repo.CampaignRow:
    campaign = await repo.get_campaign(deps.rt.pool, campaign_id)
    if campaign is None:
        raise CampaignNotFound()
    return campaign


async def send_sms_code(deps: VotingDeps, campaign_id: str, phone: str) -> dict[str, Any]:
    """Send a one-time code to a phone, at most one per resend interval; the number itself is never stored."""
    s = deps.settings
    await _campaign(deps, campaign_id)
    phone_hash = domain.keyed_hash(s.secret_key, "phone", phone)
    now = domain.utcnow()
    async with deps.rt.unit_of_work() as uow:
        prev = await repo.lock_code(uow.conn, campaign_id, phone_hash)
        if prev is not None and (now - prev.sent_at).total_seconds() < s.code_resend_interval_s:
            raise CodeRecentlySent(s.code_resend_interval_s - int((now - prev.sent_at).total_seconds()))
        code = domain.new_code()
        await repo.save_code(uow.conn, campaign_id, phone_hash, _code_hash(s.secret_key, campaign_id, phone_hash, code),
                             now, now + timedelta(seconds=s.code_ttl_s))
    await deps.sms.send(phone_hash, phone, f"您的投票验证码是{code}，{s.code_ttl_s // 60}分钟内有效。", code)
    return {"sent": True, "expires_in_s": s.code_ttl_s}


async def _issue(deps: VotingDeps, campaign_id: str, voter_id: str, method: str) -> dict[str, Any]:
    s = deps.settings
    await repo.upsert_voter(deps.rt.pool, campaign_id, voter_id, method)
    ticket = domain.issue_ticket(s.secret_key, voter_id=voter_id, campaign_id=campaign_id, method=method,
                                 ttl_s=s.ticket_ttl_s)
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
    return await _issue(deps, campaign_id, domain.keyed_hash(s.secret_key, "voter", phone_hash), "sms")


async def verify_wechat(deps: VotingDeps, campaign_id: str, open_id: str) -> dict[str, Any]:
    """A ticket for a WeChat-style open id; refused in production, where the platform's signed login is needed."""
    s = deps.settings
    if s.env == "production":
        raise MethodUnavailable()
    await _campaign(deps, campaign_id)
    return await _issue(deps, campaign_id, domain.keyed_hash(s.secret_key, "voter-wechat", open_id), "wechat")


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
