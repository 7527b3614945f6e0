"""Voting HTTP routes: voter verification, votes, the voter's quota, entries and standings.

Each route reads its input, calls one use case (`services/`), and turns a refusal into its API answer
(`api_errors.py`). The vote route is served by the fast path (`fastpath.py`) in the running service.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from .api_errors import api_error, page_ticket_error
from .deps import Deps
from .domain import TicketError, VotingError
from .schemas import (
    REPLAYED_HEADER,
    CaptchaChallenge,
    CastVote,
    Entries,
    SealedLeaves,
    SealList,
    SmsCodeRequest,
    SmsCodeSent,
    SmsConfirmRequest,
    Standings,
    TicketIssued,
    VerificationMethods,
    VoteAnswer,
    VoteDecisions,
    VoteProof,
    VoterQuota,
    WechatAuthorize,
    WechatRequest,
    WechatReturn,
)
from .services import catalog, seals, standings, voters, votes

router = APIRouter(tags=["voting"])

CategoryFilter = Annotated[str | None, Query(max_length=64)]
Authorization = Annotated[str | None, Header()]


# --- voter verification --------------------------------------------------------------------

@router.post("/campaigns/{campaign_id}/voters/sms-code", status_code=202, response_model=SmsCodeSent)
async def send_sms_code(campaign_id: str, body: SmsCodeRequest, request: Request, deps: Deps) -> dict[str, Any]:
    """Send a one-time code to a mobile number (检验码); the number itself is never stored.

    Limited per phone, per client address and per /24 or /64 network in the hour and the day: 429
    `code_recently_sent`, `sms_phone_limit`, `sms_address_limit` or `sms_network_limit` with `Retry-After`. Once
    the network was sent a few codes within the hour, the request must carry a solved captcha (`captcha_id`,
    `captcha_answer`; `POST …/voters/captcha`): 428 `captcha_required` without one, 422 `captcha_wrong` when the
    answer is wrong or the challenge expired or was answered before.
    """
    captcha = None
    if body.captcha_id and body.captcha_answer:
        captcha = voters.CaptchaAnswer(body.captcha_id, body.captcha_answer)
    try:
        return await voters.send_sms_code(deps, campaign_id, body.phone, _client_ip(request), captcha)
    except VotingError as exc:
        raise api_error(exc) from None


@router.post("/campaigns/{campaign_id}/voters/captcha", response_model=CaptchaChallenge)
async def new_captcha(campaign_id: str, deps: Deps) -> dict[str, Any]:
    """A captcha challenge to show when a code request is answered `captcha_required` or `captcha_wrong`."""
    try:
        return await voters.new_captcha(deps, campaign_id)
    except VotingError as exc:
        raise api_error(exc) from None


@router.post("/campaigns/{campaign_id}/voters/sms-verify", response_model=TicketIssued)
async def verify_sms_code(campaign_id: str, body: SmsConfirmRequest, deps: Deps) -> dict[str, Any]:
    """Exchange a valid code for a signed, expiring voter ticket."""
    try:
        return await voters.verify_sms_code(deps, campaign_id, body.phone, body.code)
    except VotingError as exc:
        raise api_error(exc) from None


@router.get("/campaigns/{campaign_id}/voters/methods", response_model=VerificationMethods)
async def verification_methods(campaign_id: str, deps: Deps) -> dict[str, Any]:
    """How a voter can verify: SMS, and WeChat when the official account is configured."""
    return voters.verification_methods(deps)


@router.get("/campaigns/{campaign_id}/voters/wechat/authorize", response_model=WechatAuthorize)
async def wechat_authorize(campaign_id: str, deps: Deps,
                           redirect_uri: Annotated[str, Query(min_length=8, max_length=1000,
                                                              pattern=r"^https?://")]) -> dict[str, Any]:
    """Where to send the voter to authorise with WeChat (snsapi_base); WeChat comes back to `redirect_uri` with a
    code and the signed state. 404 `verification_method_unavailable` when WeChat is not configured."""
    try:
        return await voters.wechat_authorize(deps, campaign_id, redirect_uri)
    except VotingError as exc:
        raise api_error(exc) from None


@router.post("/campaigns/{campaign_id}/voters/wechat/return", response_model=TicketIssued)
async def wechat_return(campaign_id: str, body: WechatReturn, deps: Deps) -> dict[str, Any]:
    """The code and state WeChat gave the return address, for a voter ticket. 400 `wechat_state_invalid` (not ours,
    another campaign or expired), 400 `wechat_code_invalid` (WeChat refused the code), 503 `wechat_unavailable`."""
    try:
        return await voters.wechat_sign_in(deps, campaign_id, body.code, body.state, body.redirect_uri)
    except VotingError as exc:
        raise api_error(exc) from None


@router.post("/campaigns/{campaign_id}/voters/wechat", response_model=TicketIssued)
async def verify_wechat(campaign_id: str, body: WechatRequest, deps: Deps) -> dict[str, Any]:
    """Development only: a ticket for an open id taken on trust. 404 in production, where the open id comes from
    WeChat itself (`…/voters/wechat/authorize`, then `…/voters/wechat/return`)."""
    try:
        return await voters.verify_wechat(deps, campaign_id, body.open_id)
    except VotingError as exc:
        raise api_error(exc) from None


@router.get("/dev/captchas/{captcha_id}", include_in_schema=False)
def dev_captcha_answer(captcha_id: str, deps: Deps) -> dict[str, Any]:
    """Development only: the answer of a captcha challenge, so tests can solve it."""
    try:
        return voters.captcha_answer(deps, captcha_id)
    except VotingError as exc:
        raise api_error(exc) from None


@router.get("/dev/sms-codes/{phone}", include_in_schema=False)
async def dev_last_code(phone: str, deps: Deps) -> dict[str, Any]:
    """Development only: the code the development SMS provider recorded, so tests can verify."""
    try:
        return voters.last_code_sent(deps, phone)
    except VotingError as exc:
        raise api_error(exc) from None


# --- casting votes -------------------------------------------------------------------------

def _client_ip(request: Request) -> str | None:
    # The gateway overwrites X-Real-IP with the address it saw; a client cannot choose it.
    real = request.headers.get("x-real-ip")
    if real is not None:
        return real.strip() or None  # empty: the gateway could not tell
    return request.client.host if request.client else None


@router.post("/campaigns/{campaign_id}/votes", status_code=201, response_model=VoteAnswer,
             responses={422: {"description": "A field is not valid (`validation_failed`), or the idempotency key "
                                             "was already used for another entry or count "
                                             "(`idempotency_key_reused`); nothing was counted."}})
async def cast_vote(
    campaign_id: str, body: CastVote, request: Request, deps: Deps, authorization: Authorization = None
) -> JSONResponse:
    """Cast votes for one entry. Answers only after the vote and the quota change are committed.

    The idempotency key names the request: sent again with the same entry and count, it gets the first answer
    (the same status and body, with the header `Idempotent-Replayed: true`) and counts once; with another entry
    or count it is refused with `idempotency_key_reused`.
    """
    # Served by VoteFastPath (fastpath.py) in the running service; this route documents the API and
    # serves any app built without that middleware.
    try:
        status, answer, replayed = await votes.cast_vote(deps, campaign_id, body, _client_ip(request),
                                                         authorization, request.headers.get("user-agent"))
    except VotingError as exc:
        raise api_error(exc) from None
    return JSONResponse(answer, status_code=status, headers={REPLAYED_HEADER: "true"} if replayed else None)


@router.get("/campaigns/{campaign_id}/voters/me", response_model=VoterQuota, response_model_exclude_unset=True)
async def my_quota(campaign_id: str, deps: Deps, authorization: Authorization = None) -> dict[str, Any]:
    """How many votes the ticket holder has left today.

    The public campaign page asks this whenever it loads with a ticket. A ticket without the page-view claim
    (`pv`) is answered with `ticket`: the same ticket (same holder and expiry) stamped with the time of this
    page view, for the page to keep and vote with, so each vote says whether and when its voter had the
    page open (`page_viewed_at` on the vote) without any lookup on the vote path.
    """
    try:
        return await voters.quota_today(deps, campaign_id, authorization)
    except TicketError as exc:
        raise page_ticket_error(exc) from None
    except VotingError as exc:
        raise api_error(exc) from None


# --- standings -----------------------------------------------------------------------------

@router.get("/campaigns/{campaign_id}/standings", response_model=Standings, response_model_exclude_unset=True)
async def public_standings(campaign_id: str, deps: Deps, category_id: CategoryFilter = None) -> dict[str, Any]:
    """Live standings per category (count and rank, or rank only / nothing while voting, as the campaign says).

    Where counts are shown, each entry has `votes` (counted), `held` (held for review: not counted until
    reinstated), `invalidated`, and `reasons`: per state (`held`, `invalidated`) each reason code with its
    votes and the rule's label in English and Chinese (`reason`, `reason_zh`; the code itself until the
    decisions carry a label). No voter, address or device is ever shown.
    """
    try:
        return await standings.public_standings(deps, campaign_id, category_id)
    except VotingError as exc:
        raise api_error(exc) from None


@router.get("/campaigns/{campaign_id}/entries", response_model=Entries)
async def entries(campaign_id: str, deps: Deps, category_id: CategoryFilter = None) -> dict[str, Any]:
    """Entries open for voting."""
    try:
        return await catalog.votable_entries(deps, campaign_id, category_id)
    except VotingError as exc:
        raise api_error(exc) from None


# --- the sealed vote log (docs/transparency.md) --------------------------------------------

@router.get("/campaigns/{campaign_id}/vote-log/seals", response_model=SealList)
async def vote_log_seals(campaign_id: str, deps: Deps) -> dict[str, Any]:
    """The vote-log roots the campaign's counts come from: the latest seal of each voting day (Merkle tree head,
    RFC 6962), and `complete` once voting is closed and every vote is sealed."""
    return await seals.published_seals(deps.rt.pool, campaign_id, datetime.now(UTC))


@router.get("/campaigns/{campaign_id}/vote-log/proof", response_model=VoteProof)
async def vote_log_proof(campaign_id: str, vote_id: Annotated[uuid.UUID, Query()], deps: Deps) -> dict[str, Any]:
    """A vote's leaf and its audit path to the root of the latest seal of its day. 404 `vote_not_sealed` before its
    day is sealed (after the day ends, or at the close of voting)."""
    try:
        return await seals.inclusion_proof(deps.rt.pool, deps.seal_trees, campaign_id, vote_id)
    except VotingError as exc:
        raise api_error(exc) from None


@router.get("/campaigns/{campaign_id}/vote-log/days/{day}/leaves", response_model=SealedLeaves)
async def vote_log_leaves(
    campaign_id: str, day: date, deps: Deps,
    seq: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="A seal of the day; else the latest.")] = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=seals.LEAVES_PAGE_MAX)] = 1000,
) -> dict[str, Any]:
    """The leaves of a day's seal in tree order, a page at a time: no personal data, so all are public. 404
    `seal_not_found` when the day has no seal."""
    try:
        return await seals.day_leaves(deps.rt.pool, campaign_id, day, seq, offset, limit)
    except VotingError as exc:
        raise api_error(exc) from None


@router.get("/campaigns/{campaign_id}/vote-log/decisions", response_model=VoteDecisions)
async def vote_log_decisions(campaign_id: str, deps: Deps) -> dict[str, Any]:
    """Every vote of a sealed day an anti-fraud decision touched, with its state now (held, invalidated, or counted
    again) and the reason: what turns the sealed leaves into the standings. Votes of a day not yet sealed are left
    out, so that no one holding receipts learns within seconds which of them were caught."""
    return await seals.decisions(deps.rt.pool, campaign_id)
