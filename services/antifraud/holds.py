"""An operator holding an entry's votes of a time window by hand: the jump no rule explained (a paid crowd of real
people on their own phones looks like a mention), held out of the public count pending review as any held case is.

The hold is a case like a rule's (reason `manual_hold`): it lists in the review queue, is confirmed or overturned
there, and each of its votes held is a VoteFlagged event. A preview shows what it would hold and the ranks if its
votes stopped counting, and changes nothing."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from massline import audit
from massline.auth import Caller
from massline.contracts import Event, VoteFlagged
from massline.errors import ApiError

from . import domain, repository
from .deps import AntifraudDeps

log = logging.getLogger(__name__)

LONGEST = timedelta(hours=24)  # one hold covers at most a day of one entry's votes
CLOCK_SKEW = timedelta(seconds=60)  # an end "now" from a browser whose clock runs a little ahead


def _refuse(code: str, zh: str, en: str, field: str, message: str, status: int = 422) -> ApiError:
    return ApiError(status, code, zh, en, [{"field": field, "code": code, "message": message}])


def _exists(case_id: uuid.UUID, status: str) -> ApiError:
    return ApiError(409, "hold_exists", "这个时段已暂缓计入过（见该案件）",
                    "This window is held already (see its case)", {"case_id": str(case_id), "status": status})


def check_window(start: datetime, end: datetime | None, now: datetime) -> datetime:
    """The window's end (now when not given): after its start, at most a day long, and over (votes still to come
    would not be in a hold made now, and an operator reading "held" must not think they are)."""
    end = end or now
    if end <= start:
        raise _refuse("window_empty", "时段的结束时间须晚于开始时间", "The window must end after it starts", "end",
                      f"{end.isoformat()} is not after {start.isoformat()}")
    if end - start > LONGEST:
        raise _refuse("window_too_long", "一次最多暂缓一个作品 24 小时内的选票",
                      "One hold covers at most 24 hours of an entry's votes", "end", "at most 24 hours after start")
    if end > now + CLOCK_SKEW:
        raise _refuse("window_not_over", "时段尚未结束：只能暂缓已经投出的选票", "The window has not ended: only "
                      "votes already cast can be held", "end", f"{end.isoformat()} is in the future")
    return end


async def _what_it_holds(conn: Any, campaign_id: str, entry_id: uuid.UUID,
                         votes: list[repository.WindowVote]) -> dict[str, Any]:
    """The counted votes a hold would take out — votes, requests, identities —, those other cases hold already, and
    each category's ranks if they stopped counting."""
    counted = [v for v in votes if v.state == "counted"]
    standings = domain.Standings.of(await repository.standings(conn, campaign_id))
    deltas: dict[str, int] = {}
    for v in counted:
        deltas[v.category_id] = deltas.get(v.category_id, 0) - v.count
    categories = domain.ranks_then(standings, [(c, entry_id, d) for c, d in deltas.items()])
    return {"votes": sum(v.count for v in counted), "requests": len(counted),
            "voters": len({v.voter_id for v in counted}),
            "held_already": sum(v.count for v in votes if v.state == "flagged"),
            "changes_rank": any(c["moved"] for c in categories), "categories": categories}


def _texts(caller: Caller, reason: str, start: datetime, end: datetime, new_only: bool, identities: int,
           votes: int) -> tuple[str, str]:
    who_en = "identities that first voted in the campaign then" if new_only else "identities"
    who_zh = "在此时段首次参与本活动投票的身份" if new_only else "身份"
    en = (f"{caller.username} held the {votes} votes of {identities} {who_en}, for the entry from "
          f"{domain.hm(start)} to {domain.hm(end)}: {reason}")
    zh = (f"{caller.username} 暂缓计入 {domain.hm_zh(start)} 至 {domain.hm_zh(end)} 期间 {identities} 个{who_zh}"
          f"为该作品投出的 {votes} 票：{reason}")
    return en, zh


async def hold(deps: AntifraudDeps, campaign_id: str, entry_id: uuid.UUID, start: datetime, end: datetime | None,
               new_only: bool, reason: str, caller: Caller, preview: bool) -> dict[str, Any]:
    """Hold (or, with `preview`, only show) the entry's votes of [start, end) — with `new_only`, those of the
    identities whose first vote in the campaign fell in it — as one case of the operator's, held for review.

    Refused with nothing changed: an unknown entry (404 `entry_not_found`), a window that is empty, longer than a
    day or not over (422), no vote to hold (422 `nothing_to_hold`), the same window held already (409
    `hold_exists`, with the case's id)."""
    now = datetime.now(UTC)
    start = start.astimezone(UTC)
    end = check_window(start, end.astimezone(UTC) if end else None, now)
    subject = f"manual:{entry_id}|{end.isoformat()}|{'new' if new_only else 'all'}"
    async with deps.rt.unit_of_work() as uow:
        conn = uow.conn
        if not await repository.entry_known(conn, campaign_id, entry_id):
            raise _refuse("entry_not_found", "本活动没有这个作品", "No such entry in this campaign", "entry_id",
                          str(entry_id), status=404)
        existing = await repository.case_of_subject(conn, campaign_id, domain.MANUAL_HOLD, subject, start)
        if existing is not None:
            raise _exists(existing["id"], existing["status"])
        votes = await repository.hold_window_votes(conn, campaign_id, entry_id, start, end, new_only)
        counted = [v for v in votes if v.state == "counted"]
        if not counted:
            raise _refuse("nothing_to_hold", "该时段没有可暂缓计入的选票（没有选票，或都已被暂缓或作废）",
                          "No vote of that window to hold (none, or all held or invalidated already)", "start",
                          f"{start.isoformat()} to {end.isoformat()}")
        out = {"campaign_id": campaign_id, "entry_id": str(entry_id), "start": start, "end": end,
               "identities": "new" if new_only else "all", "preview": preview,
               **await _what_it_holds(conn, campaign_id, entry_id, votes)}
        if preview:
            return out
        explanation = _texts(caller, reason, start, end, new_only, out["voters"], out["votes"])
        evidence = {"start": start.isoformat(), "end": end.isoformat(), "identities": out["identities"],
                    "voters": out["voters"], "votes": out["votes"], "by": audit.staff(caller.role, caller.username)}
        case = await repository.open_manual_case(conn, campaign_id, subject, start, entry_id, explanation, evidence)
        if not case.created:  # held by another request since the check above
            raise _exists(case.id, case.status)
        await repository.link_votes(conn, case.id, [v.vote_id for v in votes])
        changed = await repository.flag_votes(conn, [v.vote_id for v in counted])
        texts = domain.reason_texts(domain.MANUAL_HOLD)
        events: list[tuple[Event, str]] = [(VoteFlagged(
            vote_id=r.vote_id, voter_id=r.voter_id, entry_id=r.entry_id, category_id=r.category_id, count=r.count,
            reason_code=domain.MANUAL_HOLD, explanation=explanation[0], explanation_zh=explanation[1],
            reason_text=texts["reason"], reason_text_zh=texts["reason_zh"], decision_id=case.id), r.campaign_id)
            for r in changed]
        await uow.record_many(events)
        await repository.audit(conn, case.id, "hold", caller.username, caller.role, reason, len(changed), None)
        await audit.append(conn, [domain.decision_entry(campaign_id, case.id, "hold",
                                                        audit.staff(caller.role, caller.username),
                                                        domain.MANUAL_HOLD, (r.vote_id for r in changed), reason)])
    deps.metrics.cases.labels(domain.MANUAL_HOLD, "flagged").inc()
    deps.metrics.votes.labels("flagged").inc(len(changed))
    log.info("window held by an operator", extra={"campaign_id": campaign_id})
    return {**out, "case_id": str(case.id), "status": "flagged", "votes_held": sum(r.count for r in changed)}
