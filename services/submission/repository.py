"""Submission storage: campaigns and their versions, organisations, users, nominations and their history.

The only caller of the named queries in queries.sql. Every function takes the connection (or pool) it runs on, so
the caller's unit of work decides the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypedDict, get_args

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from massline.queries import load_queries

from .domain.campaign import CampaignDefinition
from .domain.content import HoldReason
from .domain.nomination import HistoryEntry, Nomination, NominationStatus
from .domain.registry import IdleFinding, RegistryAccount, Snapshot
from .domain.rules import ExistingNomination
from .domain.sign_in import Attempts

Q = load_queries(Path(__file__).with_name("queries.sql"))

# What the functions run on: a connection of a unit of work, or the pool for a single read.
Db = asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool


# --- people --------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredUser:
    username: str
    display_name: str
    password_hash: str
    role: str
    organisation_id: str | None
    disabled_at: datetime | None = None


@dataclass(frozen=True)
class UserListing:
    """One user as `massline users list` shows it: never the password hash."""
    username: str
    display_name: str
    role: str
    organisation_id: str | None
    disabled_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    kind: str
    level: str
    parent_id: str | None


async def get_user(db: Db, username: str) -> StoredUser | None:
    row = await db.fetchrow(Q.get_user, username)
    return StoredUser(**dict(row)) if row else None


async def upsert_user(db: Db, user: StoredUser) -> None:
    await db.execute(Q.upsert_user, user.username, user.display_name, user.password_hash, user.role,
                     user.organisation_id)


async def insert_user(db: Db, user: StoredUser) -> bool:
    """Adds the user unless the username is taken; whether it was added."""
    status = await db.execute(Q.insert_user, user.username, user.display_name, user.password_hash, user.role,
                              user.organisation_id)
    return bool(status.endswith(" 1"))


async def list_users(db: Db) -> list[UserListing]:
    return [UserListing(**dict(r)) for r in await db.fetch(Q.list_users)]


async def set_password(db: Db, username: str, password_hash: str) -> None:
    await db.execute(Q.set_password, username, password_hash)


async def set_disabled(db: Db, username: str, disabled: bool) -> None:
    await db.execute(Q.set_disabled, username, disabled)


async def count_admins(db: Db) -> int:
    """Admins who can sign in (not disabled)."""
    return int(await db.fetchval(Q.count_admins))


async def lock_admins(db: Db) -> list[str]:
    """Every admin's username who can sign in (not disabled), their rows locked until the transaction ends."""
    return [r["username"] for r in await db.fetch(Q.lock_admins)]


async def get_organisation(db: Db, organisation_id: str) -> Organisation | None:
    row = await db.fetchrow(Q.get_organisation, organisation_id)
    return Organisation(**dict(row)) if row else None


async def upsert_organisation(db: Db, org: Organisation) -> None:
    await db.execute(Q.upsert_organisation, org.id, org.name, org.kind, org.level, org.parent_id)


async def subtree(db: Db, organisation_id: str) -> list[str]:
    """The organisation and every organisation under it."""
    return [r["id"] for r in await db.fetch(Q.subtree, organisation_id)]


async def all_organisation_ids(db: Db) -> list[str]:
    return [r["id"] for r in await db.fetch(Q.all_organisation_ids)]


async def all_organisations(db: Db) -> list[Organisation]:
    return [Organisation(**dict(r)) for r in await db.fetch(Q.all_organisations)]


class UnitRow(TypedDict):
    id: str
    name: str
    parent_id: str | None
    parent_name: str | None


async def units_in(db: Db, organisation_ids: Sequence[str]) -> list[UnitRow]:
    """The nominating units among these organisations, by name, with their parent office."""
    return [UnitRow(id=r["id"], name=r["name"], parent_id=r["parent_id"], parent_name=r["parent_name"])
            for r in await db.fetch(Q.units_in, list(organisation_ids))]


# --- campaigns -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CampaignSummary:
    id: str
    version: int
    title: str
    current_phase: str | None


@dataclass(frozen=True)
class StoredCampaign:
    id: str
    version: int
    title: str
    current_phase: str | None
    definition: CampaignDefinition


async def get_campaign(db: Db, campaign_id: str) -> StoredCampaign | None:
    row = await db.fetchrow(Q.get_campaign, campaign_id)
    if row is None:
        return None
    return StoredCampaign(id=row["id"], version=row["version"], title=row["title"],
                          current_phase=row["current_phase"],
                          definition=CampaignDefinition.model_validate(row["definition"]))


async def list_campaigns(db: Db) -> list[CampaignSummary]:
    """Every loaded campaign, the most recently loaded first."""
    return [CampaignSummary(id=r["id"], version=r["version"], title=r["title"], current_phase=r["current_phase"])
            for r in await db.fetch(Q.list_campaigns)]


async def lock_campaign(db: Db, campaign_id: str) -> None:
    """Submissions to one campaign take turns until the transaction ends (quotas span units)."""
    await db.execute(Q.lock_campaign, campaign_id)


async def save_campaign(db: Db, d: CampaignDefinition, source_yaml: str, loaded_by: str) -> str | None:
    """Stores the definition as the campaign's current one and as a version; returns the campaign's phase."""
    definition = d.model_dump(mode="json")
    phase: str | None = await db.fetchval(Q.upsert_campaign, d.id, d.version, d.title, definition)
    await db.execute(Q.insert_campaign_version, d.id, d.version, definition, source_yaml, loaded_by)
    return phase


async def save_phase(db: Db, campaign_id: str, phase: str, previous: str | None, changed_by: str) -> None:
    await db.execute(Q.set_phase, campaign_id, phase)
    await db.execute(Q.insert_phase_change, campaign_id, phase, previous, changed_by)


# --- nominations ---------------------------------------------------------------------------

@dataclass(frozen=True)
class NominationForm:
    """What a nomination's form stores: its category, public name, keys and fields."""

    category_id: str
    entry_name: str
    platform: str | None
    account_key: str | None
    operating_entity_key: str | None
    level: str | None
    public_fields: dict[str, Any]
    private_fields: dict[str, Any]
    # Set when the account was picked from the registry.
    registry_account_id: uuid.UUID | None = None


@dataclass(frozen=True)
class NominationRecord:
    """A stored nomination with its unit's name, as the views and the review read it."""

    id: uuid.UUID
    campaign_id: str
    unit_id: str
    unit_name: str
    category_id: str
    entry_name: str
    platform: str | None
    status: str
    step_index: int
    revision: int
    held_reasons: list[dict[str, Any]]
    public_fields: dict[str, Any]
    private_fields: dict[str, Any]
    registry_account_id: uuid.UUID | None = None

    def nomination(self) -> Nomination:
        """The nomination as its review decides on it."""
        summary = str(self.public_fields.get("introduction") or self.public_fields.get("main_deeds") or "")
        return Nomination(
            id=self.id, campaign_id=self.campaign_id, unit_id=self.unit_id, unit_name=self.unit_name,
            category_id=self.category_id, entry_name=self.entry_name, platform=self.platform,
            status=_STATUSES[self.status],
            step_index=self.step_index, summary=summary,
            held_reasons=tuple(HoldReason(h["code"], h["field"], h["message_zh"], h["message"])
                               for h in self.held_reasons))


# The statuses the table's CHECK constraint allows, as the domain names them.
_STATUSES: dict[str, NominationStatus] = {s: s for s in get_args(NominationStatus)}


async def get_nomination(db: Db, nomination_id: uuid.UUID, *, lock: bool = False) -> NominationRecord | None:
    """The nomination, locked until the transaction ends when `lock`."""
    row = await db.fetchrow(Q.lock_nomination if lock else Q.get_nomination, nomination_id)
    if row is None:
        return None
    return NominationRecord(**{f: row[f] for f in NominationRecord.__dataclass_fields__})


async def active_nominations(db: Db, campaign_id: str) -> list[ExistingNomination]:
    """The campaign's nominations that hold a quota place (neither withdrawn nor rejected)."""
    return [ExistingNomination(id=str(r["id"]), unit_id=r["unit_id"], category=r["category_id"],
                               platform=r["platform"], account_id=r["account_key"],
                               operating_entity=r["operating_entity_key"], status=r["status"])
            for r in await db.fetch(Q.campaign_nominations_active, campaign_id)]


def _held(nomination: Nomination) -> list[dict[str, Any]]:
    return [h.to_dict() for h in nomination.held_reasons]


async def insert_nomination(db: Db, nomination: Nomination, form: NominationForm, *, self_nomination: bool) -> None:
    await db.execute(Q.insert_nomination, nomination.id, nomination.campaign_id, nomination.unit_id,
                     form.category_id, form.entry_name, form.platform, form.account_key, form.operating_entity_key,
                     form.level, form.public_fields, form.private_fields, self_nomination, nomination.status,
                     nomination.step_index, _held(nomination), form.registry_account_id)


async def update_form(db: Db, nomination_id: uuid.UUID, form: NominationForm) -> None:
    """A corrected form; the revision counts up."""
    await db.execute(Q.update_nomination_form, nomination_id, form.category_id, form.entry_name, form.platform,
                     form.account_key, form.operating_entity_key, form.level, form.public_fields,
                     form.private_fields, form.registry_account_id)


async def save_state(db: Db, nomination: Nomination) -> None:
    """The nomination's status and approval step."""
    await db.execute(Q.set_status, nomination.id, nomination.status, nomination.step_index)


async def save_held_reasons(db: Db, nomination: Nomination) -> None:
    await db.execute(Q.set_held_reasons, nomination.id, _held(nomination))


async def add_history(db: Db, nomination_id: uuid.UUID, entries: Iterable[HistoryEntry]) -> None:
    for e in entries:
        await db.execute(Q.add_history, nomination_id, e.action, e.step_id, e.actor, e.reason)


@dataclass(frozen=True)
class HistoryRow:
    action: str
    step_id: str | None
    actor: str
    reason: str | None
    at: datetime


async def history(db: Db, nomination_id: uuid.UUID) -> list[HistoryRow]:
    """The nomination's history, oldest first."""
    return [HistoryRow(**dict(r)) for r in await db.fetch(Q.history, nomination_id)]


@dataclass(frozen=True)
class NominationListRow:
    id: uuid.UUID
    campaign_id: str
    unit_id: str
    unit_name: str
    category_id: str
    entry_name: str
    platform: str | None
    level: str | None
    status: str
    step_index: int
    revision: int
    held_reasons: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


async def list_nominations(
    db: Db, campaign_id: str, unit_ids: Sequence[str], status: str | None
) -> list[NominationListRow]:
    """The campaign's nominations of these units, oldest first; `status` filters when given."""
    rows = await db.fetch(Q.list_nominations, campaign_id, list(unit_ids), status)
    return [NominationListRow(**dict(r)) for r in rows]


async def export_nominations(db: Db, campaign_id: str, unit_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Everything a reviewer exports, personal fields included; the caller decides which of them leave."""
    return [dict(r) for r in await db.fetch(Q.export_nominations, campaign_id, list(unit_ids))]


@dataclass(frozen=True)
class PublicEntryRow:
    id: uuid.UUID
    category_id: str
    entry_name: str
    platform: str | None
    unit_name: str
    public_fields: dict[str, Any]
    image: str | None = None


async def public_entries(db: Db, campaign_id: str) -> list[PublicEntryRow]:
    """The campaign's approved nominations with their public fields and their picture's version."""
    return [PublicEntryRow(**dict(r)) for r in await db.fetch(Q.public_entries, campaign_id)]


# --- entry pictures ------------------------------------------------------------------------

async def save_entry_image(db: Db, nomination_id: uuid.UUID, version: str, large: bytes, small: bytes,
                           by: str) -> None:
    await db.execute(Q.save_entry_image, nomination_id, version, large, small, by)


async def entry_image_version(db: Db, nomination_id: uuid.UUID) -> str | None:
    value = await db.fetchval(Q.entry_image_version, nomination_id)
    return None if value is None else str(value)


async def entry_image(db: Db, nomination_id: uuid.UUID, size: int) -> tuple[str, bytes] | None:
    """A nomination's picture at a size (256 or 64) with its version, whatever the nomination's status."""
    row = await db.fetchrow(Q.entry_image, nomination_id, size)
    return None if row is None else (str(row["version"]), bytes(row["content"]))


async def public_entry_image(db: Db, campaign_id: str, entry_id: uuid.UUID, size: int) -> tuple[str, bytes] | None:
    """An approved entry's picture at a size, with its version; None for any other entry."""
    row = await db.fetchrow(Q.public_entry_image, campaign_id, entry_id, size)
    return None if row is None else (str(row["version"]), bytes(row["content"]))


# --- metrics and the practice activity -----------------------------------------------------

@dataclass(frozen=True)
class Metrics:
    followers: int
    posts: int
    interactions: int
    # Registry figures name the snapshot they came from.
    snapshot_id: uuid.UUID | None = None
    taken_on: date | None = None


async def save_metrics(db: Db, nomination_id: uuid.UUID, source: str, metrics: Metrics, recorded_by: str) -> None:
    """The account's metrics as the unit reported them, as an office verified them, or as the registry's snapshot
    holds them (one row per source)."""
    await db.execute(Q.upsert_metrics, nomination_id, source, metrics.followers, metrics.posts, metrics.interactions,
                     recorded_by, metrics.snapshot_id, metrics.taken_on)


async def forget_metrics(db: Db, nomination_id: uuid.UUID, source: str) -> None:
    await db.execute(Q.delete_metrics, nomination_id, source)


async def metrics(db: Db, nomination_id: uuid.UUID) -> dict[str, Metrics]:
    """The nomination's metrics per source (reported, verified, registry)."""
    return {r["source"]: Metrics(r["followers"], r["posts"], r["interactions"], r["snapshot_id"], r["taken_on"])
            for r in await db.fetch(Q.metrics, nomination_id)}


@dataclass(frozen=True)
class ActivityRow:
    summary: str
    links: list[str]
    submitted_at: datetime
    on_time: bool
    held_on: date | None = None
    held_in_period: bool | None = None


async def save_activity(db: Db, nomination_id: uuid.UUID, activity: ActivityRow) -> None:
    await db.execute(Q.insert_activity, nomination_id, activity.summary, activity.links, activity.submitted_at,
                     activity.on_time, activity.held_on, activity.held_in_period)


async def get_activity(db: Db, nomination_id: uuid.UUID) -> ActivityRow | None:
    row = await db.fetchrow(Q.get_activity, nomination_id)
    return ActivityRow(**dict(row)) if row else None


# --- sign-in attempts -------------------------------------------------------------------------------------------

async def sign_in_attempts(db: Db, keys: list[str]) -> list[Attempts]:
    return [Attempts(**dict(r)) for r in await db.fetch(Q.sign_in_attempts, keys)]


async def lock_sign_in_attempts(db: Db, keys: list[str], now: datetime) -> list[Attempts]:
    """The keys' records, created if missing and locked for update (in key order: no deadlock)."""
    await db.execute(Q.lock_sign_in_attempts, keys, now)
    return [Attempts(**dict(r)) for r in await db.fetch(Q.sign_in_attempts_for_update, keys)]


async def save_sign_in_attempt(db: Db, attempts: Attempts) -> None:
    await db.execute(Q.save_sign_in_attempt, attempts.key, attempts.failures, attempts.window_start,
                     attempts.locked_until, attempts.locks)


async def forget_sign_in_attempts(db: Db, key: str) -> None:
    await db.execute(Q.forget_sign_in_attempts, key)


async def prune_sign_in_attempts(db: Db, before: datetime) -> int:
    return int((await db.execute(Q.prune_sign_in_attempts, before)).split()[-1])


# --- the account registry, as learnt from its events ------------------------------------------

async def save_registry_account(db: Db, a: RegistryAccount, unit_name: str, reason: str | None,
                                as_of: datetime) -> None:
    await db.execute(Q.upsert_registry_account, a.account_id, a.unit_id, unit_name, a.platform, a.level,
                     a.platform_account_id, a.verified_name, a.region, a.status, reason, as_of)


async def save_registry_snapshot(db: Db, account_id: uuid.UUID, unit_id: str, s: Snapshot,
                                 last_update_on: date | None, source: str, recorded_at: datetime) -> None:
    await db.execute(Q.upsert_registry_snapshot, s.snapshot_id, account_id, unit_id, s.taken_on, s.followers,
                     s.posts, s.reposts, s.comments, last_update_on, source, recorded_at)


async def open_idle_finding(db: Db, account_id: uuid.UUID, unit_id: str, f: IdleFinding, deadline: date) -> None:
    await db.execute(Q.open_idle_finding, f.finding_id, account_id, unit_id, f.code, f.observed_on, deadline)


async def close_idle_finding(db: Db, finding_id: uuid.UUID, closed_on: date, resolution: str) -> None:
    await db.execute(Q.close_idle_finding, finding_id, closed_on, resolution)


def _registry_account(r: Any) -> RegistryAccount:
    return RegistryAccount(r["account_id"], r["unit_id"], r["platform"], r["level"], r["platform_account_id"],
                           r["verified_name"], r["region"], r["status"])


async def registry_account(db: Db, account_id: uuid.UUID) -> RegistryAccount | None:
    row = await db.fetchrow(Q.registry_account, account_id)
    return None if row is None else _registry_account(row)


async def registry_accounts_of_unit(db: Db, unit_id: str) -> list[RegistryAccount]:
    return [_registry_account(r) for r in await db.fetch(Q.registry_accounts_of_unit, unit_id)]


async def registry_snapshots(db: Db, account_id: uuid.UUID) -> list[Snapshot]:
    """The account's snapshots in the order they were recorded."""
    return [Snapshot(r["snapshot_id"], r["taken_on"], r["followers"], r["posts"], r["reposts"], r["comments"])
            for r in await db.fetch(Q.registry_snapshots, account_id)]


async def registry_idle_findings(db: Db, account_id: uuid.UUID) -> list[IdleFinding]:
    return [IdleFinding(r["finding_id"], r["code"], r["observed_on"], r["closed_on"], r["resolution"])
            for r in await db.fetch(Q.registry_idle_findings, account_id)]


@dataclass(frozen=True)
class RegistryNomination:
    """A nomination that picked a registry account, and the snapshot its figures came from (if any)."""

    id: uuid.UUID
    campaign_id: str
    category_id: str
    platform: str | None
    snapshot_id: uuid.UUID | None


async def nominations_of_registry_account(db: Db, account_id: uuid.UUID) -> list[RegistryNomination]:
    """The active nominations (neither withdrawn nor rejected) that picked the account."""
    return [RegistryNomination(r["id"], r["campaign_id"], r["category_id"], r["platform"], r["snapshot_id"])
            for r in await db.fetch(Q.nominations_of_registry_account, account_id)]
