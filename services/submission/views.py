"""What the submission routes answer: the shapes units, offices, the public and downstream systems read."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Answer(BaseModel):
    """Base of every answer: the fields are exactly what the client gets."""


# --- people --------------------------------------------------------------------------------

class LoginAnswer(Answer):
    access_token: str = Field(description="Goes in `Authorization: Bearer …`.")
    token_type: str = Field(examples=["bearer"])
    role: str
    organisation_id: str | None
    display_name: str


class CallerView(Answer):
    username: str
    role: str
    organisation_id: str | None


class OrganisationView(Answer):
    id: str
    name: str
    kind: str
    level: str
    parent_id: str | None


# --- campaigns -----------------------------------------------------------------------------

class CampaignSummary(Answer):
    id: str
    version: int
    title: str
    current_phase: str | None = Field(description="The phase the operator set; null before any is set.")


class CampaignList(Answer):
    campaigns: list[CampaignSummary] = Field(description="The most recently loaded first.")


class PublicCampaign(Answer):
    """The campaign as the public may see it; the exclusion list and the reviewers' rules stay inside."""

    id: str
    version: int
    title: str
    title_en: str
    organizer: str
    timezone: str
    kind: str
    categories: list[dict[str, Any]]
    phases: list[dict[str, Any]]
    form: list[dict[str, Any]] = Field(description="The form's fields with their labels.")
    activity: dict[str, Any] | None
    voting: dict[str, Any] | None
    results: dict[str, Any]
    banner: dict[str, Any] | None = None
    rules: str | None = None
    rules_en: str | None = None
    privacy: str | None = None
    privacy_en: str | None = None
    filing: dict[str, Any] = Field(default_factory=dict)
    share: dict[str, Any] | None = None
    nomination_accounts: str = Field("free_text", description="Where nominations take their account from: registry, "
                                                              "free_text or either.")
    reference_period: dict[str, Any] | None = Field(
        None, description="The registry's reference period (starts_on, ends_on), when the definition gives one.")
    current_phase: str | None


class PhaseAnswer(Answer):
    id: str
    current_phase: str | None
    previous_phase: str | None = Field(None, description="Only when the phase changed.")
    changed: bool


# --- nominations ---------------------------------------------------------------------------

class HistoryView(Answer):
    action: str
    step_id: str | None
    actor: str
    reason: str | None
    at: str = Field(description="ISO 8601 instant.")


class MetricsView(Answer):
    followers: int
    posts: int
    interactions: int
    snapshot_id: str | None = Field(None, description="Registry figures: the snapshot they came from.")
    taken_on: str | None = Field(None, description="Registry figures: the day the snapshot describes, YYYY-MM-DD.")


class RegistrySnapshotView(Answer):
    snapshot_id: str
    taken_on: str = Field(description="The day the figures describe, YYYY-MM-DD.")
    followers: int
    posts: int
    reposts: int
    comments: int
    interactions: int = Field(description="Reposts plus comments: the initial assessment's interactions.")

    @classmethod
    def of(cls, s: Any) -> RegistrySnapshotView:
        return cls(snapshot_id=str(s.snapshot_id), taken_on=s.taken_on.isoformat(), followers=s.followers,
                   posts=s.posts, reposts=s.reposts, comments=s.comments, interactions=s.interactions)


class RegistryAccountView(Answer):
    """A registry account as the campaign sees it (its public record; never the person in charge)."""

    account_id: str
    platform: str
    level: str
    platform_account_id: str
    verified_name: str
    region: str
    status: str = Field(description="filed, active, suspended or closed.")
    eligible: bool = Field(description="Whether the campaign takes the account now.")
    refusal: dict[str, Any] | None = Field(
        None, description="Why not: code (account_not_active, account_idle, account_no_snapshot, ...), field and "
                          "the message in Chinese and English.")
    snapshot: RegistrySnapshotView | None = Field(
        None, description="The latest snapshot on or before the campaign's reference date.")


class RegistryAccounts(Answer):
    nomination_accounts: str = Field(description="registry, free_text or either.")
    reference_from: str | None = Field(None, description="The reference period's first day.")
    reference_date: str | None = Field(None, description="The reference period's last day: the figures' day.")
    accounts: list[RegistryAccountView]


class ActivityView(Answer):
    submitted_at: str = Field(description="ISO 8601 instant.")
    on_time: bool = Field(description="Whether the summary arrived by its deadline; a later one is marked late.")
    held_on: str | None = Field(None, description="The day the activity was held, YYYY-MM-DD.")
    held_in_period: bool | None = Field(
        None, description="Whether that day lies within the activity period; false forfeits the activity part.")
    links: list[str] = Field(default_factory=list, description="The evidence links.")


class NominationView(Answer):
    """A nomination with its form, status, approval step and full history."""

    id: str
    campaign_id: str
    unit_id: str
    unit_name: str
    category_id: str
    entry_name: str
    status: str
    current_step: str | None = Field(description="The approval step awaiting its opinion, while submitted.")
    revision: int
    held_reasons: list[dict[str, Any]] = Field(description="Why the content check holds it, while held.")
    form: dict[str, Any]
    history: list[HistoryView]
    metrics: dict[str, MetricsView] = Field(description="Per source: reported, verified, registry.")
    registry: RegistryAccountView | None = Field(
        None, description="The registry account the nomination picked: its status and snapshot now.")
    activity: ActivityView | None
    image: str | None = Field(None, description="The version of the entry's picture, when one was uploaded.")


class NominationSummary(Answer):
    id: str
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
    created_at: str = Field(description="ISO 8601 instant.")
    updated_at: str = Field(description="ISO 8601 instant.")


class NominationList(Answer):
    nominations: list[NominationSummary] = Field(description="Oldest first.")


class Shortfall(Answer):
    unit_id: str
    unit_name: str
    category_id: str
    minimum: int
    actual: int
    missing: int
    message: str
    message_zh: str


class Shortfalls(Answer):
    campaign_id: str
    minimum_per_unit_per_category: int | None
    shortfalls: list[Shortfall]


class PublicEntry(Answer):
    entry_id: str
    category_id: str
    name: str
    platform: str | None
    unit_name: str
    fields: dict[str, Any] = Field(description="Public fields only: never personal data.")
    image: str | None = Field(None, description="The version of the entry's picture, when it has one: "
                                                "`…/entries/{entry_id}/image/{64|256}?v=<image>`.")


class PublicEntries(Answer):
    entries: list[PublicEntry]
