"""Anti-fraud subscribers (score every VoteCast) and the operator review routes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, Sequence

import asyncpg
from fastapi import APIRouter, Query
from prometheus_client import Counter

from massline.consumer import Delivered
from massline.contracts import VoteCast, VoteFlagged, VoteInvalidated, VoteReinstated, topics
from massline.errors import ApiError, RequestBody
from massline.service import Runtime, ServiceRuntime

from . import domain
from .repository import Q
from .settings import AntifraudSettings

router = APIRouter(tags=["antifraud"])




async def on_votes(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    """Count each vote into its velocity windows; votes past a limit become cases (flagged or invalidated)."""
    s: AntifraudSettings = rt.settings  # type: ignore[assignment]
    limits = {"voter": s.voter_votes_per_minute, "subnet": s.subnet_votes_per_minute, "device": s.voter_votes_per_minute}
    rows: list[tuple[str, str, str, Any, int]] = []
    for item in batch:
        e: VoteCast = item.event  # type: ignore[assignment]
        minute = domain.minute_of(e.cast_at)
        for dimension, key in (("voter", e.voter_id), ("subnet", e.subnet), ("device", e.device_hash)):
            if key:  # missing network data is scored with what is known, never punished for being missing
                rows.append((item.envelope.campaign_id, dimension, key, minute, 1))
    if not rows:
        return
    counts = await conn.fetch(Q.bump_velocity, *[list(col) for col in zip(*rows)])
    over = {(r["campaign_id"], r["dimension"], r["key"], r["minute"]): r["votes"] for r in counts
            if r["votes"] > limits[r["dimension"]]}
    if not over:
        return
    metrics: Counter = rt.state["flags"]
    for item in batch:
        e = item.event
        minute = domain.minute_of(e.cast_at)
        for dimension, key in (("voter", e.voter_id), ("subnet", e.subnet), ("device", e.device_hash)):
            votes = over.get((item.envelope.campaign_id, dimension, key, minute))
            finding = domain.velocity_finding(dimension, votes, limits[dimension], minute) if votes else None
            if finding is None:
                continue
            status = "invalidated" if s.policy == "invalidate" else "flagged"
            case_id = uuid.uuid4()
            created = await conn.fetchval(Q.insert_case, case_id, item.envelope.campaign_id, e.vote_id, e.voter_id,
                                          e.entry_id, e.category_id, e.count, finding.reason_code,
                                          finding.explanation, finding.evidence, status)
            if created is None:
                continue
            event_cls = VoteInvalidated if status == "invalidated" else VoteFlagged
            await rt.outbox.record(conn, event_cls(
                vote_id=e.vote_id, voter_id=e.voter_id, entry_id=e.entry_id, category_id=e.category_id,
                count=e.count, reason_code=finding.reason_code, explanation=finding.explanation,
                decision_id=case_id), campaign_id=item.envelope.campaign_id)
            metrics.labels(finding.reason_code, status).inc()
            break  # one case per vote is enough evidence to review it


@router.get("/campaigns/{campaign_id}/cases")
async def list_cases(
    campaign_id: str, rt: Runtime,
    status: Annotated[Literal["flagged", "invalidated", "reinstated", "dismissed"] | None, Query()] = None,
) -> dict[str, Any]:
    """The operator review queue: each case with its reason, explanation and evidence."""
    rows = await rt.pool.fetch(Q.list_cases, campaign_id, status)
    return {"cases": [{**dict(r), "id": str(r["id"]), "vote_id": str(r["vote_id"]), "entry_id": str(r["entry_id"]),
                       "created_at": r["created_at"].isoformat(),
                       "decided_at": r["decided_at"].isoformat() if r["decided_at"] else None} for r in rows]}


class CaseDecision(RequestBody):
    decision: Literal["invalidate", "reinstate", "dismiss"]
    operator: str


@router.post("/cases/{case_id}/decision")
async def decide(case_id: uuid.UUID, body: CaseDecision, rt: Runtime) -> dict[str, Any]:
    """Confirm (invalidate) or overturn (reinstate / dismiss) a case; every decision is audited and is an event."""
    async with rt.pool.acquire() as conn, conn.transaction():
        case = await conn.fetchrow(Q.lock_case, case_id)
        if case is None:
            raise ApiError(404, "case_not_found", "案件不存在", "No such case")
        target = {"invalidate": "invalidated", "reinstate": "reinstated", "dismiss": "dismissed"}[body.decision]
        allowed = {"flagged": {"invalidated", "dismissed"}, "invalidated": {"reinstated"},
                   "reinstated": {"invalidated"}, "dismissed": {"invalidated"}}
        if target not in allowed[case["status"]]:
            raise ApiError(409, "decision_not_allowed", "该案件当前状态不允许此操作",
                           f"A {case['status']} case cannot be {target}", {"status": case["status"]})
        await conn.execute(Q.decide_case, case_id, target, body.operator)
        event_cls = {"invalidated": VoteInvalidated, "reinstated": VoteReinstated}.get(target)
        if event_cls is not None:
            await rt.outbox.record(conn, event_cls(
                vote_id=case["vote_id"], voter_id=case["voter_id"], entry_id=case["entry_id"],
                category_id=case["category_id"], count=case["count"], reason_code=case["reason_code"],
                explanation=f"{body.operator}: {case['explanation']}", decision_id=case_id),
                campaign_id=case["campaign_id"])
    return {"id": str(case_id), "status": target}


@router.get("/campaigns/{campaign_id}/invalidations")
async def invalidations(campaign_id: str, rt: Runtime) -> dict[str, Any]:
    """Per entry, how many votes were invalidated and why: never a silent change of counts."""
    rows = await rt.pool.fetch(Q.invalidated_per_entry, campaign_id)
    return {"entries": [{"entry_id": str(r["entry_id"]), "reason_code": r["reason_code"], "votes": r["votes"],
                         "cases": r["cases"]} for r in rows]}


def register(rt: ServiceRuntime) -> None:
    rt.state["flags"] = Counter("massline_fraud_cases", "Cases opened by detectors", ["reason", "status"],
                                registry=rt.registry)

    async def handler(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        await on_votes(conn, batch, rt)

    rt.subscribe(topics.VOTE, "detectors", handler, events=[VoteCast],
                 description="Score every accepted vote against the velocity detectors.")
