"""Voting HTTP routes and event subscribers (thin: rules live in domain.py, SQL in queries.sql)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Sequence

import asyncpg
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field, field_validator
from prometheus_client import Counter, Histogram

from massline.consumer import Delivered
from massline.contracts import (
    CampaignLoaded,
    EntryStanding,
    NominationApproved,
    NominationRejected,
    NominationWithdrawn,
    PhaseChanged,
    TallyUpdated,
    VoteCast,
    VoteFlagged,
    VoteInvalidated,
    VoteReinstated,
    topics,
)
from massline.errors import ApiError, RequestBody
from massline.service import Runtime, ServiceRuntime

from . import domain
from .batcher import VoteBatcher, VoteRefused, VoteRequest
from .repository import Q
from .rules_cache import RulesCache
from .settings import VotingSettings

log = logging.getLogger(__name__)
router = APIRouter(tags=["voting"])

PHONE_PATTERN = r"^1[3-9]\d{9}$"


# --- errors --------------------------------------------------------------------------------

def _err(status: int, code: str, zh: str, en: str, details: Any = None) -> ApiError:
    return ApiError(status, code, zh, en, details)


def phase_closed() -> ApiError:
    return _err(409, "phase_closed", "当前不在网络投票阶段", "Voting is not open in this campaign now")


def campaign_unknown() -> ApiError:
    return _err(404, "campaign_not_found", "活动不存在", "No such campaign")


class Metrics:
    """The vote path's counters, per campaign so that each campaign's operators read their own vote rate.

    Labels stay as few as the campaigns: a campaign is named once the service has vouched for it (a vote accepted,
    or a refusal after the voter's ticket, which is signed for one existing campaign, was checked). Before that the
    campaign in the path is whatever the client sent, and its refusals count under campaign "".
    """

    MAX_CAMPAIGNS = 500  # a guard: far more than run at once
    TICKET_REFUSALS = frozenset({"ticket_invalid", "ticket_expired"})

    def __init__(self, rt: ServiceRuntime) -> None:
        self.accepted = Counter("massline_votes_accepted", "Votes accepted (sum of counts)", ["campaign"],
                                registry=rt.registry)
        self.rejected = Counter("massline_votes_rejected", "Vote requests refused", ["campaign", "code"],
                                registry=rt.registry)
        self._campaigns: set[str] = set()
        self._accepted_in: dict[str, Any] = {}  # the counter of each campaign, looked up once: every vote adds to it
        self.cast_latency = Histogram(
            "massline_vote_cast_seconds", "Time to accept a vote, commit included", registry=rt.registry,
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.standings_lag = Histogram(
            "massline_standings_lag_seconds", "From vote acceptance to standings", registry=rt.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
        )

    def _campaign(self, campaign_id: str, vouched: bool) -> str:
        if campaign_id in self._campaigns:
            return campaign_id
        if vouched and len(self._campaigns) < self.MAX_CAMPAIGNS:
            self._campaigns.add(campaign_id)
            return campaign_id
        return ""

    def voted(self, campaign_id: str, count: int) -> None:
        counter = self._accepted_in.get(campaign_id)
        if counter is None:
            counter = self._accepted_in[campaign_id] = self.accepted.labels(self._campaign(campaign_id, True))
        counter.inc(count)

    def refused(self, campaign_id: str, code: str) -> None:
        self.rejected.labels(self._campaign(campaign_id, code not in self.TICKET_REFUSALS), code).inc()




def _settings(rt: ServiceRuntime) -> VotingSettings:
    return rt.settings  # type: ignore[return-value]


async def _campaign(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: str) -> asyncpg.Record:
    row = await conn.fetchrow(Q.get_campaign, campaign_id)
    if row is None:
        raise campaign_unknown()
    return row


# --- voter verification --------------------------------------------------------------------

class SmsCodeRequest(RequestBody):
    phone: str = Field(pattern=PHONE_PATTERN, description="Mainland mobile number; never stored, only hashed.",
                       examples=["13800138000"])


class SmsConfirmRequest(RequestBody):
    phone: str = Field(pattern=PHONE_PATTERN)
    code: str = Field(pattern=r"^\d{6}$")


class WechatRequest(RequestBody):
    open_id: str = Field(min_length=6, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class SmsProvider:
    """Sends the one-time code. The development provider keeps the last code per phone hash in memory."""

    def __init__(self) -> None:
        self.sent: dict[str, str] = {}

    async def send(self, phone_hash: str, phone: str, text: str, code: str) -> None:
        self.sent[phone_hash] = code
        log.info("verification code sent (development provider)", extra={"phone_hash": phone_hash[:12]})


def _code_hash(secret: str, campaign_id: str, phone_hash: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{campaign_id}:{phone_hash}:{code}".encode(), hashlib.sha256).hexdigest()


@router.post("/campaigns/{campaign_id}/voters/sms-code", status_code=202)
async def send_sms_code(campaign_id: str, body: SmsCodeRequest, rt: Runtime) -> dict[str, Any]:
    """Send a one-time code to a mobile number (检验码); the number itself is never stored."""
    s = _settings(rt)
    await _campaign(rt.pool, campaign_id)
    phone_hash = domain.keyed_hash(s.secret_key, "phone", body.phone)
    now = domain.utcnow()
    async with rt.pool.acquire() as conn, conn.transaction():
        prev = await conn.fetchrow(Q.get_code, campaign_id, phone_hash)
        if prev is not None and (now - prev["sent_at"]).total_seconds() < s.code_resend_interval_s:
            wait = s.code_resend_interval_s - int((now - prev["sent_at"]).total_seconds())
            raise _err(429, "code_recently_sent", f"验证码已发送，请{wait}秒后再试",
                       f"A code was just sent; try again in {wait}s", {"retry_after_s": wait})
        code = domain.new_code()
        await conn.execute(Q.save_code, campaign_id, phone_hash, _code_hash(s.secret_key, campaign_id, phone_hash, code),
                           now, now + timedelta(seconds=s.code_ttl_s))
    await rt.state["sms"].send(phone_hash, body.phone, f"您的投票验证码是{code}，{s.code_ttl_s // 60}分钟内有效。", code)
    return {"sent": True, "expires_in_s": s.code_ttl_s}


async def _issue(rt: ServiceRuntime, campaign_id: str, voter_id: str, method: str) -> dict[str, Any]:
    s = _settings(rt)
    await rt.pool.execute(Q.upsert_voter, campaign_id, voter_id, method)
    ticket = domain.issue_ticket(s.secret_key, voter_id=voter_id, campaign_id=campaign_id, method=method,
                                 ttl_s=s.ticket_ttl_s)
    return {"ticket": ticket, "expires_in_s": s.ticket_ttl_s, "voter": voter_id[:8]}


@router.post("/campaigns/{campaign_id}/voters/sms-verify")
async def verify_sms_code(campaign_id: str, body: SmsConfirmRequest, rt: Runtime) -> dict[str, Any]:
    """Exchange a valid code for a signed, expiring voter ticket."""
    s = _settings(rt)
    await _campaign(rt.pool, campaign_id)
    phone_hash = domain.keyed_hash(s.secret_key, "phone", body.phone)
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(Q.get_code, campaign_id, phone_hash)
        if row is None or row["expires_at"] < domain.utcnow():
            raise _err(400, "code_expired", "验证码已过期，请重新获取", "The code has expired; request a new one")
        if row["attempts"] >= s.code_max_attempts:
            raise _err(429, "too_many_attempts", "尝试次数过多，请重新获取验证码", "Too many attempts; request a new code")
        if not hmac.compare_digest(row["code_hash"], _code_hash(s.secret_key, campaign_id, phone_hash, body.code)):
            await conn.execute(Q.count_attempt, campaign_id, phone_hash)
            wrong = True
        else:
            await conn.execute(Q.delete_code, campaign_id, phone_hash)
            wrong = False
    if wrong:
        raise _err(400, "code_invalid", "验证码不正确", "The code is not correct")
    return await _issue(rt, campaign_id, domain.keyed_hash(s.secret_key, "voter", phone_hash), "sms")


@router.post("/campaigns/{campaign_id}/voters/wechat")
async def verify_wechat(campaign_id: str, body: WechatRequest, rt: Runtime) -> dict[str, Any]:
    """Adapter for a WeChat-style open id. Production needs the platform's signed login, not configured here."""
    s = _settings(rt)
    if s.env == "production":
        raise _err(501, "verification_method_unavailable", "暂不支持微信验证", "WeChat verification is not configured")
    await _campaign(rt.pool, campaign_id)
    return await _issue(rt, campaign_id, domain.keyed_hash(s.secret_key, "voter-wechat", body.open_id), "wechat")


@router.get("/dev/sms-codes/{phone}", include_in_schema=False)
async def dev_last_code(phone: str, rt: Runtime) -> dict[str, Any]:
    """Development only: the code the development SMS provider recorded, so tests can verify."""
    s = _settings(rt)
    if s.env == "production":
        raise _err(404, "not_found", "不存在", "Not found")
    code = rt.state["sms"].sent.get(domain.keyed_hash(s.secret_key, "phone", phone))
    if code is None:
        raise _err(404, "not_found", "没有发送记录", "No code was sent to this number")
    return {"code": code}


# --- casting votes -------------------------------------------------------------------------

class CastVote(RequestBody):
    entry_id: uuid.UUID = Field(description="The entry (an approved nomination) to vote for.")
    count: int = Field(1, ge=1, le=1000, description="Votes to give now: 1 to what is left today.")
    idempotency_key: str = Field(min_length=1, max_length=100, description="Same key, same answer, counted once.")
    device: str | None = Field(None, max_length=200, description="Device fingerprint from the page, if any.")

    @field_validator("count", mode="before")
    @classmethod
    def _int_only(cls, v: Any) -> Any:
        if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
            raise ValueError("count must be a whole number")
        return v


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise _err(401, "ticket_invalid", "请先完成投票验证", "Verify first: a voter ticket is required")
    return authorization[7:].strip()


def _client_ip(request: Request) -> str | None:
    # The gateway overwrites X-Real-IP with the address it saw; a client cannot choose it.
    real = request.headers.get("x-real-ip")
    if real is not None:
        return real.strip() or None  # empty: the gateway could not tell
    return request.client.host if request.client else None


@router.post("/campaigns/{campaign_id}/votes", status_code=201)
async def cast_vote(
    campaign_id: str,
    body: CastVote,
    request: Request,
    rt: Runtime,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Cast votes for one entry. Answers only after the vote and the quota change are committed."""
    # Served by VoteFastPath (fastpath.py) in the running service; this route documents the API and
    # serves any app built without that middleware.
    status, result = await cast_measured(campaign_id, body, _client_ip(request), rt, authorization,
                                         request.headers.get("user-agent"))
    return JSONResponse(result, status_code=status)


async def cast_measured(
    campaign_id: str, body: CastVote, client_ip: str | None, rt: ServiceRuntime, authorization: str | None,
    user_agent: str | None = None,
) -> tuple[int, dict[str, Any]]:
    metrics: Metrics = rt.state["metrics"]
    started = time.perf_counter()
    try:
        status, result = await _cast(campaign_id, body, client_ip, rt, authorization, user_agent)
    except ApiError as exc:
        metrics.refused(campaign_id, exc.code)
        raise
    metrics.cast_latency.observe(time.perf_counter() - started)
    return status, result


async def _cast(
    campaign_id: str, body: CastVote, ip: str | None, rt: ServiceRuntime, authorization: str | None,
    user_agent: str | None = None,
) -> tuple[int, dict[str, Any]]:
    s = _settings(rt)
    try:
        ticket = domain.read_ticket(s.secret_key, _bearer(authorization), campaign_id)
    except domain.TicketError as exc:
        if exc.code == "ticket_expired":
            raise _err(401, "ticket_expired", "投票验证已过期，请重新验证", "Your voter ticket expired; verify again")
        raise _err(401, "ticket_invalid", "投票凭证无效，请重新验证", "The voter ticket is not valid; verify again")
    rules = await rt.state["rules"].get(campaign_id)
    if rules is None:
        raise campaign_unknown()
    if rules.phase != "voting":
        raise phase_closed()
    entry = rules.entries.get(body.entry_id)
    if entry is None or not entry[1]:
        raise _err(404, "entry_not_votable", "该作品不在投票范围内", "This entry is not open for voting")
    if body.count > rules.votes_per_day:
        raise _err(429, "quota_exceeded", f"每人每天最多{rules.votes_per_day}票",
                   f"At most {rules.votes_per_day} votes per day", {"votes_per_day": rules.votes_per_day})
    now = domain.utcnow()
    vote = VoteRequest(
        campaign_id=campaign_id,
        voter_id=ticket.voter_id,
        idempotency_key=body.idempotency_key,
        entry_id=body.entry_id,
        category_id=entry[0],
        count=body.count,
        votes_per_day=rules.votes_per_day,
        per_entry_daily_cap=rules.per_entry_daily_cap,
        day=domain.voting_day(now, rules.timezone),
        cast_at=now,
        ip_hash=domain.address_hash(s.secret_key, ip) if ip else None,
        subnet=domain.network_prefix(ip),
        device_hash=domain.device_hash(s.secret_key, body.device),
        identity_verified_at=datetime.fromtimestamp(ticket.verified_at, timezone.utc),
        user_agent_hash=domain.user_agent_hash(s.secret_key, user_agent),
        # From the ticket (claim `pv`, stamped when the public page loaded): no lookup on the vote path.
        page_viewed_at=(datetime.fromtimestamp(ticket.page_viewed_at, timezone.utc)
                        if ticket.page_viewed_at is not None else None),
    )
    try:
        status, answer = await rt.state["batcher"].cast(vote)
    except VoteRefused as refused:
        if refused.code == "entry_cap_exceeded":
            cap = refused.per_entry_daily_cap
            raise _err(429, "entry_cap_exceeded", f"今日对该作品最多投{cap}票", f"At most {cap} votes per entry per day",
                       {"per_entry_daily_cap": cap, "remaining_today": refused.remaining_today})
        left = refused.remaining_today
        raise _err(429, "quota_exceeded", f"今日票数不足，还剩{left}票", f"Not enough votes left today ({left} left)",
                   {"remaining_today": left, "votes_per_day": refused.votes_per_day})
    if status == 201:
        rt.state["metrics"].voted(campaign_id, body.count)
    return status, answer


@router.get("/campaigns/{campaign_id}/voters/me")
async def my_quota(
    campaign_id: str, rt: Runtime, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    """How many votes the ticket holder has left today.

    The public campaign page asks this whenever it loads with a ticket. A ticket without the page-view claim
    (`pv`) is answered with `ticket`: the same ticket (same holder and expiry) stamped with the time of this
    page view, for the page to keep and vote with, so each vote says whether and when its voter had the
    page open (`page_viewed_at` on the vote) without any lookup on the vote path.
    """
    s = _settings(rt)
    try:
        ticket = domain.read_ticket(s.secret_key, _bearer(authorization), campaign_id)
    except domain.TicketError as exc:
        raise _err(401, exc.code, "投票凭证无效或已过期", "The voter ticket is invalid or expired")
    campaign = await _campaign(rt.pool, campaign_id)
    limit = int(campaign["vote_rules"].get("votes_per_day", 10))
    day = domain.voting_day(domain.utcnow(), campaign["timezone"])
    used = await rt.pool.fetchval(Q.used_today, campaign_id, ticket.voter_id, day)
    answer: dict[str, Any] = {"remaining_today": max(limit - used, 0), "votes_per_day": limit, "day": day.isoformat()}
    if ticket.page_viewed_at is None:
        answer["ticket"] = domain.stamp_page_view(s.secret_key, ticket)
    return answer


# --- standings -----------------------------------------------------------------------------

@router.get("/campaigns/{campaign_id}/standings")
async def standings(
    campaign_id: str, rt: Runtime, category_id: Annotated[str | None, Query(max_length=64)] = None
) -> dict[str, Any]:
    """Live standings per category (count and rank, or rank only / nothing while voting, as the campaign says).

    Where counts are shown, each entry has `votes` (counted), `held` (held for review: not counted until
    reinstated), `invalidated`, and `reasons`: per state (`held`, `invalidated`) each reason code with its
    votes and the rule's label in English and Chinese (`reason`, `reason_zh`; the code itself until the
    decisions carry a label). No voter, address or device is ever shown.
    """
    cache: dict[tuple[str, str | None], tuple[float, dict[str, Any]]] = rt.state["standings_cache"]
    key = (campaign_id, category_id)
    hit = cache.get(key)
    if hit and time.monotonic() - hit[0] < _settings(rt).standings_cache_s:
        return hit[1]
    campaign = await _campaign(rt.pool, campaign_id)
    show = campaign["vote_rules"].get("show_counts", "always")
    voting_open = campaign["current_phase"] == "voting"
    rows = await rt.pool.fetch(Q.standings_for_api, campaign_id, category_id)
    by_category: dict[str, list[asyncpg.Record]] = {}
    for r in rows:
        by_category.setdefault(r["category_id"], []).append(r)
    out: dict[str, Any] = {"campaign_id": campaign_id, "phase": campaign["current_phase"], "categories": {}}
    for cat, items in sorted(by_category.items()):
        ranks = domain.competition_ranks((str(r["entry_id"]), r["votes"]) for r in items)
        entries = []
        for r in sorted(items, key=lambda r: (ranks[str(r["entry_id"])], r["name"])):
            item: dict[str, Any] = {"entry_id": str(r["entry_id"]), "name": r["name"], "unit_name": r["unit_name"]}
            if not voting_open or show != "hidden":
                item["rank"] = ranks[str(r["entry_id"])]
            if not voting_open or show == "always":
                item["votes"] = r["votes"]
                item["held"] = r["held"]
                item["invalidated"] = r["invalidated"]
                item["reasons"] = _public_reasons(r["reasons"])
            entries.append(item)
        out["categories"][cat] = entries
    out["counts_shown"] = not voting_open or show == "always"
    cache[key] = (time.monotonic(), out)
    return out


def _public_reasons(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    reasons: dict[str, list[dict[str, Any]]] = {"held": [], "invalidated": []}
    for r in rows:
        code = r["reason_code"]
        reasons[r["state"]].append({
            "reason_code": code, "votes": r["votes"], "reason": r["reason_text"] or code,
            "reason_zh": r["reason_text_zh"] or code})
    return reasons


@router.get("/campaigns/{campaign_id}/entries")
async def entries(
    campaign_id: str, rt: Runtime, category_id: Annotated[str | None, Query(max_length=64)] = None
) -> dict[str, Any]:
    """Entries open for voting."""
    await _campaign(rt.pool, campaign_id)
    rows = await rt.pool.fetch(Q.list_entries, campaign_id, category_id)
    return {"entries": [{"entry_id": str(r["id"]), "category_id": r["category_id"], "name": r["name"],
                         "unit_name": r["unit_name"]} for r in rows]}


# --- consumers -----------------------------------------------------------------------------

async def on_campaign(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    for item in batch:
        e = item.event
        if isinstance(e, CampaignLoaded):
            await conn.execute(Q.upsert_campaign, e.campaign_id, e.version, e.timezone,
                               e.vote_rules.model_dump(mode="json"), [c.model_dump(mode="json") for c in e.categories],
                               e.current_phase)
        elif isinstance(e, PhaseChanged):
            await conn.execute(Q.set_phase, e.campaign_id, e.phase)
            if e.previous_phase == "voting" and e.phase != "voting":
                await _emit_tallies(conn, rt, e.campaign_id, None, final=True)
    rt.state["standings_cache"].clear()


async def on_nomination(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    for item in batch:
        e = item.event
        if isinstance(e, NominationApproved) and e.final:
            await conn.execute(Q.upsert_entry, e.nomination_id, item.envelope.campaign_id, e.category_id,
                               e.entry_name, e.unit_name, True)
        elif isinstance(e, (NominationWithdrawn, NominationRejected)):
            await conn.execute(Q.set_entry_votable, e.nomination_id, False)
    rt.state["standings_cache"].clear()


async def on_vote(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    """Add a batch of accepted votes to the standings in one statement."""
    totals: dict[Any, list[Any]] = {}
    now = datetime.now(timezone.utc)
    lag = rt.state["metrics"].standings_lag
    for item in batch:
        cast: VoteCast = item.event  # type: ignore[assignment]
        for e in cast.votes:
            key = e.entry_id
            if key not in totals:
                totals[key] = [item.envelope.campaign_id, e.category_id, 0]
            totals[key][2] += e.count
            lag.observe(max((now - e.cast_at).total_seconds(), 0))
    ids = list(totals)
    await _lock_categories(conn, {(v[0], v[1]) for v in totals.values()})
    await conn.execute(Q.add_votes, ids, [totals[i][0] for i in ids], [totals[i][1] for i in ids],
                       [totals[i][2] for i in ids])
    for campaign_id, category_id in {(v[0], v[1]) for v in totals.values()}:
        await _emit_tallies(conn, rt, campaign_id, category_id, final=False)


# The state each decision asks for; `move_votes` (queries.sql) says from which states it applies.
_TARGET_STATE: dict[type, str] = {VoteFlagged: "held", VoteInvalidated: "invalidated", VoteReinstated: "counted"}
# A state's place in a standings move: [campaign, category, votes, held, invalidated].
_STATE_COLUMN = {"counted": 2, "held": 3, "invalidated": 4}


async def on_vote_decision(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    """Flags hold votes out of the count, invalidations take them out for good, reinstatements bring them back.

    A vote is counted, held (VoteFlagged: out of `votes`, into `held`) or invalidated (VoteInvalidated,
    from counted or held: into `invalidated`, subtracted once); VoteReinstated brings a held or invalidated
    vote back into `votes`. A decision that does not change the vote's state (redelivered, or a flag for a
    vote already out) changes nothing. Votes per reason move with them.

    A case can hold thousands of votes: the batch is applied in rounds of set-based statements, each
    vote at most once per round (a vote flagged and reinstated in one batch takes two rounds, in order),
    so the result is the same as applying the events one by one.
    """
    await _lock_categories(conn, {(item.envelope.campaign_id, item.event.category_id) for item in batch})
    await _save_reason_labels(conn, batch)
    touched: set[tuple[str, str]] = set()
    pending = list(batch)
    while pending:
        round_: dict[Any, Delivered] = {}
        later: list[Delivered] = []
        for item in pending:
            if item.event.vote_id in round_:
                later.append(item)  # the same vote again: the next round, after this one
            else:
                round_[item.event.vote_id] = item
        pending = later
        ids = list(round_)
        moved = await conn.fetch(Q.move_votes, ids, [_TARGET_STATE[type(round_[v].event)] for v in ids],
                                 [round_[v].event.reason_code for v in ids])
        moves: dict[Any, list[Any]] = {}
        reasons: dict[tuple[Any, str, str], int] = {}
        for row in moved:
            item = round_[row["vote_id"]]
            e = item.event
            source, target = row["previous_state"], _TARGET_STATE[type(e)]
            move = moves.setdefault(e.entry_id, [item.envelope.campaign_id, e.category_id, 0, 0, 0])
            move[_STATE_COLUMN[source]] -= e.count
            move[_STATE_COLUMN[target]] += e.count
            if source != "counted" and row["previous_reason"]:
                key = (e.entry_id, source, row["previous_reason"])
                reasons[key] = reasons.get(key, 0) - e.count
            if target != "counted":
                key = (e.entry_id, target, e.reason_code)
                reasons[key] = reasons.get(key, 0) + e.count
            if "counted" in (source, target):  # the counted votes, and so the tally, changed
                touched.add((item.envelope.campaign_id, e.category_id))
        if moves:
            entries = sorted(moves)
            await conn.execute(Q.adjust_standings, entries, *[[moves[k][i] for k in entries] for i in range(5)])
        if reasons:
            keys = sorted(reasons, key=lambda k: (str(k[0]), k[1], k[2]))
            await conn.execute(Q.adjust_reasons, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
                               [reasons[k] for k in keys])
    for campaign_id, category_id in touched:
        await _emit_tallies(conn, rt, campaign_id, category_id, final=False)


async def _save_reason_labels(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
    """Keep the rule's short label per reason code, as the decisions carry it, for the public standings."""
    labels: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for item in batch:
        e = item.event
        text, text_zh = getattr(e, "reason_text", None), getattr(e, "reason_text_zh", None)
        if text or text_zh:
            key = (item.envelope.campaign_id, e.reason_code)
            old = labels.get(key, (None, None))
            labels[key] = (text or old[0], text_zh or old[1])
    if labels:
        keys = sorted(labels)
        await conn.execute(Q.save_reason_labels, [k[0] for k in keys], [k[1] for k in keys],
                           [labels[k][0] for k in keys], [labels[k][1] for k in keys])


async def _lock_categories(conn: asyncpg.Connection, categories: set[tuple[str, str]]) -> None:
    """Changes to a category's standings, and the tallies read from them, take turns.

    Without this, a tally read while another transaction's votes are not yet committed would miss
    them yet carry a later `as_of`, and downstream (scoring keeps the latest tally) would keep the
    incomplete one — at the close of voting, a final tally short of the last votes. Sorted, so two
    transactions never wait on each other in opposite order.
    """
    for campaign_id, category_id in sorted(categories):
        await conn.execute(Q.lock_category, f"{campaign_id}:{category_id}")


async def _emit_tallies(
    conn: asyncpg.Connection, rt: ServiceRuntime, campaign_id: str, category_id: str | None, *, final: bool
) -> None:
    categories = [category_id] if category_id else [
        r["category_id"] for r in await conn.fetch(Q.campaign_categories_with_entries, campaign_id)
    ]
    await _lock_categories(conn, {(campaign_id, c) for c in categories})
    for cat in categories:
        rows = await conn.fetch(Q.category_standings, campaign_id, cat)
        ranks = domain.competition_ranks((str(r["entry_id"]), r["votes"]) for r in rows)
        standings = [EntryStanding(entry_id=r["entry_id"], votes=r["votes"], rank=ranks[str(r["entry_id"])])
                     for r in sorted(rows, key=lambda r: ranks[str(r["entry_id"])])]
        await rt.outbox.record(
            conn,
            TallyUpdated(category_id=cat, standings=standings, final=final, as_of=datetime.now(timezone.utc)),
            campaign_id=campaign_id,
        )


def register(rt: ServiceRuntime) -> None:
    s = _settings(rt)
    rt.state.update({
        "metrics": Metrics(rt),
        "sms": SmsProvider(),
        "standings_cache": {},
        "rules": RulesCache(lambda: rt.pool, ttl_s=s.rules_cache_s),
        "batcher": VoteBatcher(lambda: rt.pool, rt.outbox, max_batch=s.vote_batch_max,
                               max_wait_s=s.vote_batch_wait_s, concurrency=s.vote_batch_concurrency),
    })

    @rt.background
    async def settle_votes(runtime: ServiceRuntime) -> None:
        await runtime.state["batcher"].run()

    def bind(fn):
        async def handler(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
            await fn(conn, batch, rt)

        handler.__doc__ = fn.__doc__
        return handler

    rt.subscribe(topics.CAMPAIGN, "campaigns", bind(on_campaign), events=[CampaignLoaded, PhaseChanged],
                 description="Learn vote rules and phases from the campaign definition.")
    rt.subscribe(topics.NOMINATION, "entries", bind(on_nomination),
                 events=[NominationApproved, NominationWithdrawn, NominationRejected],
                 description="Finally approved nominations become votable entries.")
    rt.subscribe(topics.VOTE, "standings", bind(on_vote), events=[VoteCast],
                 description="Add accepted votes to the live standings.")
    # The group keeps its first name ("invalidations") so that it goes on from its committed offsets.
    rt.subscribe(topics.VOTE_DECISION, "invalidations", bind(on_vote_decision),
                 events=[VoteFlagged, VoteInvalidated, VoteReinstated],
                 description="Hold flagged votes out of the standings, remove invalidated ones, add reinstated "
                             "ones back.")
