"""The audit trail over HTTP, the same in every service that keeps one (docs/audit.md).

    GET /campaigns/{id}/audit/head   public: the chain's last row (seq, hash), what a publication carries
    GET /campaigns/{id}/audit        staff: the rows, a page at a time (after=<seq>, limit)

The head is public so anyone can compare it with the heads a ResultsPublished carried. The rows go to staff
only: they name the staff who decided (role:username) and hold the reasons they gave.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from . import audit
from .auth import CallerDep, require_role
from .service import Runtime

# Who may read the rows: the staff who decide or oversee, not units or experts.
READERS = ("admin", "supervisor", "committee", "office", "operator")
CampaignPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="Campaign id.")]


class AuditHead(BaseModel):
    service: str
    campaign_id: str
    seq: int = Field(description="Rows in the chain (0: no decision recorded yet).")
    hash: str = Field(description="Hash of the last row (64 zeros while the chain is empty).")
    at: str | None = Field(None, description="When the last row was appended (UTC).")


class AuditRow(BaseModel):
    campaign_id: str
    seq: int
    at: str
    actor: str = Field(description="role:username of the person, or service:<name> for an automatic decision.")
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    service: str
    campaign_id: str
    head: AuditHead
    rows: list[AuditRow]
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last page.")


def router() -> APIRouter:
    r = APIRouter(tags=["audit trail"])

    @r.get("/campaigns/{campaign_id}/audit/head")
    async def audit_head(campaign_id: CampaignPath, rt: Runtime) -> AuditHead:
        """The campaign's audit chain head in this service. Public."""
        async with rt.pool.acquire() as conn:
            found = await audit.head(conn, rt.name, campaign_id)
        h = found or audit.Head(rt.name, campaign_id, 0, audit.GENESIS)
        return AuditHead(**h.public())

    @r.get("/campaigns/{campaign_id}/audit")
    async def audit_rows(
        campaign_id: CampaignPath, rt: Runtime, caller: CallerDep,
        after: Annotated[int, Query(ge=0, le=2**62, description="Rows with seq greater than this.")] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> AuditPage:
        """The campaign's audit rows in this service, in chain order. Staff only."""
        require_role(caller, *READERS)
        async with rt.pool.acquire() as conn:
            found = await audit.head(conn, rt.name, campaign_id)
            page = await audit.rows(conn, campaign_id, after=after, limit=limit)
        h = found or audit.Head(rt.name, campaign_id, 0, audit.GENESIS)
        return AuditPage(service=rt.name, campaign_id=campaign_id, head=AuditHead(**h.public()),
                         rows=[AuditRow(**row.public()) for row in page],
                         next_after=page[-1].seq if len(page) == limit else None)

    return r
