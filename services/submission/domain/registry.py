"""The account registry as a campaign reads it: which account a nomination may pick, and the figures it brings.

The registry service files the accounts; submission learns of them from its events (massline.registry.v1) and
keeps what the rules below need: each account's public record, its snapshots and its idle findings.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from massline.contracts import MetricsReported

from .campaign import CampaignDefinition, ReferencePeriod
from .rules import RuleViolation

__all__ = [
    "ELIGIBLE_STATUSES",
    "IdleFinding",
    "RegistryAccount",
    "Snapshot",
    "check_account_source",
    "check_registry_account",
    "registry_form",
    "registry_metrics",
    "snapshot_for",
]

# Filed and active accounts may take part; suspended and closed ones may not.
ELIGIBLE_STATUSES = frozenset({"filed", "active"})

_STATUS_NAMES = {"filed": ("已备案", "filed"), "active": ("正常", "active"), "suspended": ("已暂停", "suspended"),
                 "closed": ("已注销", "closed")}


@dataclass(frozen=True)
class RegistryAccount:
    """An account's public registry record (the person in charge is never part of it)."""

    account_id: uuid.UUID
    unit_id: str
    platform: str
    level: str
    platform_account_id: str
    verified_name: str
    region: str
    status: str


@dataclass(frozen=True)
class Snapshot:
    """The unit's figures for an account on a day."""

    snapshot_id: uuid.UUID
    taken_on: date
    followers: int
    posts: int
    reposts: int
    comments: int

    @property
    def interactions(self) -> int:
        """Seed 000's interactions (互动量): the reposts and the comments the account's posts received."""
        return self.reposts + self.comments


@dataclass(frozen=True)
class IdleFinding:
    """A health finding that marks the account idle (休眠、僵尸、空壳), from the day it was observed until closed."""

    finding_id: uuid.UUID
    code: str
    observed_on: date
    closed_on: date | None = None
    resolution: str | None = None

    def flags(self, period: ReferencePeriod) -> bool:
        """Whether the account stood flagged idle on any day of the period (a withdrawn finding never did)."""
        if self.resolution == "withdrawn":
            return False
        return self.observed_on <= period.ends_on and (self.closed_on is None or self.closed_on >= period.starts_on)


def snapshot_for(snapshots: Iterable[Snapshot], reference_date: date) -> Snapshot | None:
    """The latest snapshot taken on or before the reference date (of one day, the one recorded last wins: the
    caller passes them in the order they were recorded)."""
    chosen: Snapshot | None = None
    for s in snapshots:
        if s.taken_on <= reference_date and (chosen is None or s.taken_on >= chosen.taken_on):
            chosen = s
    return chosen


def _violation(code: str, zh: str, en: str) -> RuleViolation:
    return RuleViolation(code, "registry_account_id", zh, en)


def check_account_source(d: CampaignDefinition, registry_account_id: uuid.UUID | None) -> list[RuleViolation]:
    """Whether the campaign takes the account the way it was given (picked from the registry or typed in)."""
    if d.nomination_accounts == "registry" and registry_account_id is None:
        return [_violation("registry_account_required", "本次活动须从本单位备案账号中选择参评账号",
                           "this campaign takes accounts from the registry: pick one of your unit's filed accounts")]
    if d.nomination_accounts == "free_text" and registry_account_id is not None:
        return [_violation("registry_not_used", "本次活动不从账号备案库选择账号，请直接填写账号信息",
                           "this campaign does not take accounts from the registry: fill in the account's details")]
    return []


def check_registry_account(
    d: CampaignDefinition, account: RegistryAccount | None, unit_id: str, findings: Iterable[IdleFinding],
    snapshot: Snapshot | None,
) -> list[RuleViolation]:
    """The registry's part of eligibility: the unit's own account, filed or active, not flagged idle during the
    reference period, with figures on or before the reference date."""
    if account is None:
        return [_violation("account_not_in_registry", "账号备案库中没有该账号",
                           "the account is not in the registry")]
    if account.unit_id != unit_id:
        return [_violation("account_not_yours", "该账号不属于本单位，只能推荐本单位备案的账号",
                           "the account belongs to another unit; nominate your unit's own filed accounts")]
    if account.status not in ELIGIBLE_STATUSES:
        zh, en = _STATUS_NAMES.get(account.status, (account.status, account.status))
        return [_violation("account_not_active", f"该账号{zh}，已暂停或注销的账号不得参评",
                           f"the account is {en}; suspended and closed accounts may not take part")]
    period = d.reference_days()
    assert period is not None  # the definition refuses registry accounts without one
    idle = [f for f in findings if f.flags(period)]
    if idle:
        first = min(idle, key=lambda f: f.observed_on)
        span = f"{period.starts_on.isoformat()}—{period.ends_on.isoformat()}"
        return [_violation("account_idle", f"该账号在参照期（{span}）内被认定为休眠、僵尸或空壳账号"
                                           f"（{first.code}，{first.observed_on.isoformat()}）",
                           f"the account was flagged idle during the reference period {span} "
                           f"({first.code} on {first.observed_on.isoformat()})")]
    if snapshot is None:
        day = period.ends_on.isoformat()
        return [_violation("account_no_snapshot", f"账号备案库中没有该账号{day}及以前的运营数据，请先报送",
                           f"the registry holds no figures for the account on or before {day}; report them first")]
    return []


def registry_form(form: Mapping[str, Any], account: RegistryAccount, snapshot: Snapshot | None) -> dict[str, Any]:
    """The form with the registry's verified values in place of typed ones: name, platform id, platform, level,
    and the snapshot's followers, posts and interactions."""
    filled = {**form, "account_name": account.verified_name, "account_id": account.platform_account_id,
              "platform": account.platform, "level": account.level}
    if snapshot is not None:
        filled.update(followers=snapshot.followers, posts=snapshot.posts, interactions=snapshot.interactions)
    return filled


def registry_metrics(nomination_id: uuid.UUID, category_id: str, platform: str | None,
                     snapshot: Snapshot) -> MetricsReported:
    """The initial assessment's figures from the registry, naming the snapshot they came from."""
    return MetricsReported(nomination_id=nomination_id, category_id=category_id, platform=platform,
                           followers=snapshot.followers, posts=snapshot.posts, interactions=snapshot.interactions,
                           source="registry", snapshot_id=snapshot.snapshot_id, taken_on=snapshot.taken_on)
