"""`massline audit verify`: recompute every audit chain from the database and name the first row that changed.

Each of submission, antifraud and scoring keeps a chain per campaign (shared/massline/audit.py, docs/audit.md).
Every row's hash is recomputed and every link followed; the head must be the last row; and every head a published
version of the results carried (ResultsPublished.audit_heads, kept in scoring's published_results) must still be a
row of its chain. Exit 0 when all hold, 1 on a break, 3 when the database cannot be reached.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg
import typer

from massline import audit
from massline.db import create_pool
from massline.settings import ServiceSettings

audit_app = typer.Typer(help="Check the hash-chained audit trail of every decision (docs/audit.md).",
                        no_args_is_help=True)

CHAINED = ("submission", "antifraud", "scoring")


@dataclass
class Report:
    checks: dict[tuple[str, str], audit.ChainCheck] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def breaks(self) -> list[audit.Break]:
        return [c.broken for c in self.checks.values() if c.broken is not None]


async def _verify_service(dsn: str, service: str, campaign: str | None, report: Report) -> None:
    pool = await create_pool(dsn, service, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            if not await audit.kept(conn):
                report.notes.append(f"{service}: no audit trail (service not migrated)")
                return
            for c in [campaign] if campaign else await audit.campaigns(conn):
                check = await audit.verify_campaign(conn, service, c)
                if check.seq or check.broken:  # a service that decided nothing in the campaign has no chain
                    report.checks[(service, c)] = check
            if service == "scoring":
                await _check_anchors(conn, campaign, report)
    finally:
        await pool.close()


async def _check_anchors(conn: asyncpg.pool.PoolConnectionProxy[asyncpg.Record], campaign: str | None,
                         report: Report) -> None:
    """Every head a publication carried must still be a row of its chain."""
    from services.scoring import repository

    for row in await repository.published_anchors(conn, campaign):
        for h in row["audit_heads"]:
            check = report.checks.get((h["service"], row["campaign_id"]))
            if check is None:
                check = audit.ChainCheck(h["service"], row["campaign_id"])
                report.checks[(h["service"], row["campaign_id"])] = check
            if h["seq"] > 0:
                check.check_anchor(int(h["seq"]), str(h["hash"]), f"results version {row['version']}")


async def verify_all(dsn: str, campaign: str | None) -> Report:
    report = Report()
    for service in CHAINED:
        await _verify_service(dsn, service, campaign, report)
    return report


@audit_app.command("verify")
def verify(campaign: str | None = typer.Option(None, help="Only this campaign's chains.")) -> None:
    """Recompute every chain; print each one's state and the first changed row of a broken one (exit 1)."""
    settings = ServiceSettings()
    try:
        report = asyncio.run(verify_all(settings.database_url, campaign))
    except (OSError, asyncpg.PostgresError) as exc:
        typer.echo(f"error: database_unreachable: cannot reach the database ({type(exc).__name__}: {exc})"
                   " / 无法连接数据库", err=True)
        raise typer.Exit(3) from None
    for note in report.notes:
        typer.echo(note)
    for (service, c), check in sorted(report.checks.items()):
        if check.broken is None:
            typer.echo(f"ok      {service} {c}: {check.rows} row(s), head seq {check.seq} {check.last_hash[:16]}…")
        else:
            typer.echo(f"BROKEN  {check.broken.line()}")
    breaks = report.breaks()
    if not report.checks:
        typer.echo("no audit chain" + (f" for campaign {campaign}" if campaign else ""))
    typer.echo(f"{len(report.checks) - len(breaks)} chain(s) intact, {len(breaks)} broken")
    if breaks:
        raise typer.Exit(1)
