"""The account registry as the campaign reads it: learnt from massline.registry.v1, picked from by nominations, and
the source of registry campaigns' initial-assessment figures."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from massline.auth import Caller
from massline.consumer import Delivered
from massline.contracts import (
    AccountChanged,
    AccountClosed,
    AccountFiled,
    AccountFindingClosed,
    AccountFindingOpened,
    AccountSnapshotRecorded,
    AccountSuspended,
)
from massline.db import Connection
from massline.outbox import Outbox

from .. import repository as repo
from ..deps import SubmissionDeps
from ..domain.campaign import CampaignDefinition
from ..domain.errors import Forbidden
from ..domain.registry import (
    IdleFinding,
    RegistryAccount,
    Snapshot,
    check_registry_account,
    registry_metrics,
    snapshot_for,
)
from ..domain.rules import RuleViolation
from ..repository import Db, Metrics
from ..views import RegistryAccounts, RegistryAccountView, RegistrySnapshotView
from .access import campaign

REGISTRY_EVENTS = [AccountFiled, AccountChanged, AccountSuspended, AccountClosed, AccountSnapshotRecorded,
                   AccountFindingOpened, AccountFindingClosed]
_ACCOUNT_EVENTS = (AccountFiled, AccountChanged, AccountSuspended, AccountClosed)


@dataclass(frozen=True)
class Picked:
    """The registry account a nomination picked, and the snapshot for the campaign's reference date."""

    account: RegistryAccount
    snapshot: Snapshot | None


async def learn(conn: Connection, batch: Sequence[Delivered], outbox: Outbox) -> None:
    """Accounts, snapshots and idle findings into the read model; a new snapshot that is now the one for a
    campaign's reference date replaces the registry figures of the nominations that picked the account."""
    touched: set[uuid.UUID] = set()
    for d in batch:
        e = d.event
        if isinstance(e, _ACCOUNT_EVENTS):
            account = RegistryAccount(e.account_id, e.unit_id, e.platform, e.level, e.platform_account_id,
                                      e.verified_name, e.region, e.status)
            reason = e.reason if isinstance(e, (AccountSuspended, AccountClosed)) else None
            await repo.save_registry_account(conn, account, e.unit_name, reason, d.envelope.occurred_at)
        elif isinstance(e, AccountSnapshotRecorded):
            snapshot = Snapshot(e.snapshot_id, e.taken_on, e.followers, e.posts, e.reposts, e.comments)
            await repo.save_registry_snapshot(conn, e.account_id, e.unit_id, snapshot, e.last_update_on, e.source,
                                              d.envelope.occurred_at)
            touched.add(e.account_id)
        elif isinstance(e, AccountFindingOpened) and e.idle:
            await repo.open_idle_finding(conn, e.account_id, e.unit_id,
                                         IdleFinding(e.finding_id, e.code, e.observed_on), e.deadline)
        elif isinstance(e, AccountFindingClosed):
            await repo.close_idle_finding(conn, e.finding_id, e.closed_on, e.resolution)
    for account_id in sorted(touched):
        await _refresh_figures(conn, account_id, outbox)


async def _refresh_figures(conn: Connection, account_id: uuid.UUID, outbox: Outbox) -> None:
    snapshots = await repo.registry_snapshots(conn, account_id)
    definitions: dict[str, CampaignDefinition] = {}
    for n in await repo.nominations_of_registry_account(conn, account_id):
        if n.campaign_id not in definitions:
            definitions[n.campaign_id] = (await campaign(conn, n.campaign_id)).definition
        period = definitions[n.campaign_id].reference_days()
        chosen = snapshot_for(snapshots, period.ends_on) if period else None
        if chosen is None or chosen.snapshot_id == n.snapshot_id:
            continue
        await _save_figures(conn, n.id, chosen, "registry")
        await outbox.record(conn, registry_metrics(n.id, n.category_id, n.platform, chosen), campaign_id=n.campaign_id)


async def _save_figures(db: Db, nomination_id: uuid.UUID, s: Snapshot, by: str) -> None:
    await repo.save_metrics(db, nomination_id, "registry",
                            Metrics(s.followers, s.posts, s.interactions, s.snapshot_id, s.taken_on), by)


async def pick(db: Db, d: CampaignDefinition, unit_id: str,
               account_id: uuid.UUID) -> tuple[Picked | None, list[RuleViolation]]:
    """The registry account a unit picked, with the snapshot for the reference date, and what refuses it."""
    account = await repo.registry_account(db, account_id)
    if account is None:
        return None, check_registry_account(d, None, unit_id, (), None)
    period = d.reference_days()
    snapshot = snapshot_for(await repo.registry_snapshots(db, account_id), period.ends_on) if period else None
    findings = await repo.registry_idle_findings(db, account_id)
    return Picked(account, snapshot), check_registry_account(d, account, unit_id, findings, snapshot)


async def save_picked_figures(db: Db, nomination_id: uuid.UUID, picked: Picked | None, by: str) -> bool:
    """Stores the picked account's snapshot as the nomination's registry figures (none: forgets them); whether
    there are figures to announce."""
    if picked is None or picked.snapshot is None:
        await repo.forget_metrics(db, nomination_id, "registry")
        return False
    await _save_figures(db, nomination_id, picked.snapshot, by)
    return True


async def _account_view(db: Db, d: CampaignDefinition, unit_id: str,
                        account: RegistryAccount) -> RegistryAccountView:
    picked, refused = await pick(db, d, unit_id, account.account_id)
    snapshot = picked.snapshot if picked else None
    return RegistryAccountView(
        account_id=str(account.account_id), platform=account.platform, level=account.level,
        platform_account_id=account.platform_account_id, verified_name=account.verified_name,
        region=account.region, status=account.status, eligible=not refused,
        refusal=refused[0].to_dict() if refused else None,
        snapshot=None if snapshot is None else RegistrySnapshotView.of(snapshot))


async def unit_accounts(deps: SubmissionDeps, campaign_id: str, caller: Caller) -> RegistryAccounts:
    """The caller's unit's registry accounts for the nomination form's picker: each with its status, whether the
    campaign takes it (and the code when not) and the snapshot its figures would come from."""
    unit_id = caller.organisation_id
    if unit_id is None:
        raise Forbidden("no_organisation", "账号未关联推荐单位", "Your account belongs to no nominating unit")
    async with deps.rt.pool.acquire() as conn:
        d = (await campaign(conn, campaign_id)).definition
        accounts = await repo.registry_accounts_of_unit(conn, unit_id)
        views = [await _account_view(conn, d, unit_id, a) for a in accounts]
    period = d.reference_days()
    return RegistryAccounts(
        nomination_accounts=d.nomination_accounts,
        reference_from=period.starts_on.isoformat() if period else None,
        reference_date=period.ends_on.isoformat() if period else None,
        accounts=views)


async def registry_state(db: Db, d: CampaignDefinition, unit_id: str,
                         account_id: uuid.UUID | None) -> RegistryAccountView | None:
    """What the office's review shows of a nomination's registry account: its record, status and snapshot."""
    if account_id is None:
        return None
    account = await repo.registry_account(db, account_id)
    return None if account is None else await _account_view(db, d, unit_id, account)
