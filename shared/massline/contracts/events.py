"""Every event type in the system. Payloads carry no personal data (phones, ID numbers, birth dates)."""

from __future__ import annotations

import uuid
import zlib
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import topics
from .envelope import Event, upcaster

__all__ = [
    "VOTE_SHARDS",
    "AccountChanged",
    "AccountClosed",
    "AccountFiled",
    "AccountFindingClosed",
    "AccountFindingEscalated",
    "AccountFindingOpened",
    "AccountSnapshotRecorded",
    "AccountSuspended",
    "ActivitySubmitted",
    "AuditHead",
    "CampaignLoaded",
    "CastVote",
    "CategoryInfo",
    "EntryRanking",
    "EntryStanding",
    "ExpertAssigned",
    "ExpertScoreReopened",
    "FraudAlertRaised",
    "MetricsReported",
    "NominationApproved",
    "NominationRejected",
    "NominationReturned",
    "NominationSubmitted",
    "NominationWithdrawn",
    "NotificationFailed",
    "NotificationSent",
    "OrganisationSaved",
    "PhaseChanged",
    "PhaseInfo",
    "RankingComputed",
    "RegistryReportProduced",
    "ResultsPublished",
    "StandingReason",
    "TallyUpdated",
    "VoteCast",
    "VoteFlagged",
    "VoteInvalidated",
    "VoteLogRoot",
    "VoteLogSealed",
    "VoteReinstated",
    "VoteRules",
    "network_shard",
]


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- campaigns -------------------------------------------------------------------------------


class CategoryInfo(_Part):
    id: str
    name: str
    name_en: str = ""
    kind: str = ""
    winners: int | None = None


class PhaseInfo(_Part):
    id: str
    name: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class VoteRules(_Part):
    votes_per_day: int = Field(10, ge=1, description="Votes each verified voter may cast per day.")
    per_entry_daily_cap: int | None = Field(None, description="Most votes one voter may give one entry per day.")
    show_counts: Literal["always", "rank_only", "hidden"] = "always"
    timezone: str = "Asia/Shanghai"


class CampaignLoaded(Event):
    """A campaign definition (a new version of it) was loaded; rules are handed on to voting and scoring."""

    topic = topics.CAMPAIGN
    key_field = "campaign_id"

    campaign_id: str
    version: int
    title: str
    timezone: str
    categories: list[CategoryInfo]
    phases: list[PhaseInfo]
    current_phase: str | None = None
    vote_rules: VoteRules
    scoring: dict[str, Any] = Field(default_factory=dict, description="The campaign's scoring section as loaded.")
    activity_deadline: datetime | None = Field(
        None, description="The end of the period in which the practice activity must be held (规定期限); after it an "
                          "entry without an activity held in the period forfeits the activity part, where the "
                          "campaign says so.")
    activity_summary_deadline: datetime | None = Field(
        None, description="When the activity summary is due. A later summary is marked late; what else follows is "
                          "`activity_late_summary`.")
    activity_late_summary: Literal["mark_late", "forfeit", "refuse"] = Field(
        "mark_late", description="What a summary after its deadline means: only marked late (the default), the "
                                 "activity part forfeited, or the summary refused.")
    approval_with_open_cases: Literal["warn", "refuse"] = Field(
        "warn", description="What approving the results does while votes are held for review (open anti-fraud "
                            "cases) that could change a rank: the approval lists them (`warn`) or is refused.")


class PhaseChanged(Event):
    """The operator moved the campaign into another phase."""

    topic = topics.CAMPAIGN
    key_field = "campaign_id"

    campaign_id: str
    phase: str
    previous_phase: str | None = None


# --- nominations -----------------------------------------------------------------------------


class NominationSubmitted(Event):
    """A nominating unit submitted (or resubmitted) a nomination for review."""

    topic = topics.NOMINATION
    key_field = "nomination_id"

    nomination_id: uuid.UUID
    unit_id: str
    unit_name: str
    category_id: str
    entry_name: str = Field(description="Public name of the account or case.")
    platform: str | None = None
    resubmission: bool = False


class NominationApproved(Event):
    """An approval step approved the nomination; when `final`, it becomes an entry of the campaign."""

    topic = topics.NOMINATION
    key_field = "nomination_id"

    nomination_id: uuid.UUID
    unit_id: str
    unit_name: str
    category_id: str
    entry_name: str
    platform: str | None = None
    summary: str = Field("", description="Public summary, neutralised text.")
    step_id: str
    final: bool


class NominationReturned(Event):
    """A reviewer returned the nomination to its unit for correction."""

    topic = topics.NOMINATION
    key_field = "nomination_id"

    nomination_id: uuid.UUID
    unit_id: str
    category_id: str
    entry_name: str
    step_id: str
    reason: str


class NominationRejected(Event):
    """A reviewer rejected the nomination for good."""

    topic = topics.NOMINATION
    key_field = "nomination_id"

    nomination_id: uuid.UUID
    unit_id: str
    category_id: str
    entry_name: str
    reason: str


class NominationWithdrawn(Event):
    """The nominating unit withdrew the nomination."""

    topic = topics.NOMINATION
    key_field = "nomination_id"

    nomination_id: uuid.UUID
    unit_id: str
    category_id: str


class ActivitySubmitted(Event):
    """The practice activity summary (互动实践活动总结) arrived; `on_time` against the campaign deadline."""

    topic = topics.NOMINATION
    key_field = "nomination_id"

    nomination_id: uuid.UUID
    category_id: str
    submitted_at: datetime
    on_time: bool = Field(description="Whether the summary arrived by its deadline.")
    held_on: date | None = Field(
        None, description="The day the activity was held, as the unit states it with its evidence; absent from "
                          "events recorded before it was asked for.")
    held_in_period: bool | None = Field(
        None, description="Whether `held_on` lies within the campaign's activity period; absent from events recorded "
                          "before it was asked for (then read as held in the period).")
    evidence_links: int = Field(0, ge=0, description="How many evidence links (posts, pages) the unit gave.")


class MetricsReported(Event):
    """Account metrics for the initial score: as reported by the unit, verified by the office, or taken from the
    account registry's snapshot."""

    topic = topics.NOMINATION
    key_field = "nomination_id"

    nomination_id: uuid.UUID
    category_id: str
    platform: str | None = None
    followers: int = Field(ge=0)
    posts: int = Field(ge=0)
    interactions: int = Field(ge=0)
    source: Literal["reported", "verified", "registry"] = Field(
        description="reported by the unit, verified by an office, or read from the account registry's snapshot "
                    "for the campaign's reference date (interactions: its reposts plus comments).")
    snapshot_id: uuid.UUID | None = Field(None, description="The registry snapshot the figures came from.")
    taken_on: date | None = Field(None, description="The day that snapshot describes.")


# --- votes -----------------------------------------------------------------------------------


class CastVote(_Part):
    """One accepted vote as the anti-fraud detectors and the standings read it."""

    vote_id: uuid.UUID
    voter_id: str = Field(description="Pseudonymous voter id (keyed hash), never a phone number.")
    entry_id: uuid.UUID
    category_id: str
    count: int = Field(ge=1)
    cast_at: datetime
    ip_hash: str | None = None
    subnet: str | None = Field(None, description="Network prefix (/24 IPv4, /64 IPv6) for concentration checks.")
    device_hash: str | None = None
    identity_verified_at: datetime | None = None
    user_agent_hash: str | None = Field(
        None, description="Keyed hash of the client's User-Agent header; absent when the client sent none.")
    page_viewed_at: datetime | None = Field(
        None, description="When the ticket holder first loaded the campaign's public page, if it did before voting.")
    number_kind: Literal["mobile", "virtual", "data"] | None = Field(
        None, description="The kind of phone number the voter verified with, from its first three digits: a "
                          "carrier's `mobile` number, a `virtual` operator's (resold) number, or a `data`-only SIM; "
                          "absent when not known (WeChat, a number from outside the mainland). Never the number.")
    code_sent_at: datetime | None = Field(
        None, description="When the verification code the voter's identity was verified with was sent: where the "
                          "voter's sitting began. Absent for other methods (WeChat) and older tickets.")


def network_shard(subnet: str | None, ip_hash: str | None, voter_id: str) -> int:
    """The shard of a vote's network: stable across processes and releases (CRC-32 modulo the vote topic's
    partitions).

    The network is the vote's subnet; a vote without one falls back to its address hash, and a vote
    with neither to its voter, so every vote has a shard and all votes of one network share it.
    """
    return zlib.crc32((subnet or ip_hash or voter_id).encode()) % VOTE_SHARDS


VOTE_SHARDS = topics.TOPICS[topics.VOTE].partitions


class VoteCast(Event):
    """Votes accepted and committed together: one micro-batch's votes of one network shard.

    Internal: network signals are hashed, never raw. One message per batch and shard instead of one
    per vote keeps the broker and every consumer's per-message work off the hot path; the shard is
    the message key, so all votes of one network travel on one partition, in order.
    Version 1 carried a single vote; it is read as a batch of one. Version 2 was keyed by voter
    shard; it is read with that shard as its network shard (the key it was published under).
    """

    topic = topics.VOTE
    key_field = "network_shard"
    schema_version = 3

    network_shard: int = Field(
        ge=0, description="`network_shard(subnet, ip_hash, voter_id)` of every vote in the batch; the message key.")
    votes: list[CastVote] = Field(min_length=1, description="The votes, in the order they were accepted.")


@upcaster("VoteCast", 1)
def _vote_cast_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """A single vote becomes a version 2 batch of one, its shard already that of the vote's network."""
    voter_id, subnet, ip_hash = (payload.get(k) for k in ("voter_id", "subnet", "ip_hash"))
    shard = network_shard(subnet if isinstance(subnet, str) else None, ip_hash if isinstance(ip_hash, str) else None,
                          voter_id if isinstance(voter_id, str) else "")
    return {"voter_shard": shard, "votes": [payload]}


@upcaster("VoteCast", 2)
def _vote_cast_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """A version 2 batch keeps its votes; its voter shard, the key it was published under, is its shard."""
    upcast = {k: v for k, v in payload.items() if k != "voter_shard"}
    if "voter_shard" in payload:
        upcast["network_shard"] = payload["voter_shard"]
    return upcast


class _VoteDecision(Event):
    vote_id: uuid.UUID
    voter_id: str
    entry_id: uuid.UUID
    category_id: str
    count: int = Field(ge=1)
    reason_code: str
    explanation: str
    explanation_zh: str | None = Field(
        None, description="The explanation in Chinese, with the same numbers; absent from events recorded before it "
                          "was written (then read `explanation`).",
        examples=["2026-11-20（UTC）有 6 个不同身份使用同一设备投票（上限 4 个）"])
    decision_id: uuid.UUID
    reason_text: str | None = Field(
        None, description="A short label of the rule behind `reason_code`, in English, the same for every vote the "
                          "rule decides. Public: the standings show it beside the votes held or invalidated for "
                          "that reason, so it names no voter, address, device or number. Absent from events "
                          "recorded before it was added (then read `reason_code`).",
        examples=["many identities voting from one device"])
    reason_text_zh: str | None = Field(
        None, description="`reason_text` in Chinese; absent from events recorded before it was added (then read "
                          "`reason_text`, else `reason_code`).",
        examples=["多个身份使用同一设备投票"])


class VoteFlagged(_VoteDecision):
    """A vote was held out of the count for review; it counts again only if reinstated."""

    topic = topics.VOTE_DECISION
    key_field = "vote_id"


class VoteInvalidated(_VoteDecision):
    """A vote no longer counts, with the reason."""

    topic = topics.VOTE_DECISION
    key_field = "vote_id"


class VoteReinstated(_VoteDecision):
    """An invalidation was overturned; the vote counts again."""

    topic = topics.VOTE_DECISION
    key_field = "vote_id"


class VoteLogSealed(Event):
    """A campaign's vote log of one day was sealed: the Merkle root of all its votes (docs/transparency.md).

    Public data only: the root and the leaf count; the leaves (no personal data) are served by the voting API.
    A day is sealed once, after its midnight in the campaign's time zone or at the close of voting; again (`seq` + 1,
    all its votes) only when voting reopened that day. The latest `seq` of a day is the one that counts.
    """

    topic = topics.VOTE
    key_field = "campaign_id"

    campaign_id: str
    day: date = Field(description="The voting day, in the campaign's time zone.")
    seq: int = Field(ge=1, description="1 for the day's first seal; higher when the day was sealed again.")
    root: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex SHA-256 Merkle tree head (RFC 6962).")
    leaf_count: int = Field(ge=1)
    sealed_at: datetime


class FraudAlertRaised(Event):
    """Operators should look at something: a detector crossed its threshold."""

    topic = topics.FRAUD_ALERT
    key_field = "campaign_id"

    campaign_id: str
    alert_id: uuid.UUID
    reason_code: str
    explanation: str
    explanation_zh: str | None = Field(
        None, description="The explanation in Chinese, with the same numbers; absent from events recorded before it "
                          "was written (then read `explanation`).",
        examples=["11-20 12:00:00 UTC 起的 10 分钟内，有 50 个新验证的身份为该作品投票"])
    severity: Literal["info", "warning", "critical"] = "warning"
    entry_id: uuid.UUID | None = None


class StandingReason(_Part):
    """Votes of one entry held or invalidated for one reason, with the rule's public label."""

    state: Literal["held", "invalidated"]
    reason_code: str
    votes: int = Field(ge=0)
    reason: str = Field(description="The rule's label in English (the code when no label came).")
    reason_zh: str = Field(description="The rule's label in Chinese (else the English label, else the code).")


class EntryStanding(_Part):
    entry_id: uuid.UUID
    votes: int | None = Field(None, description="Omitted when the campaign hides counts while voting is open.")
    rank: int
    held: int | None = Field(
        None, description="Votes held out of the count for review (open anti-fraud cases); omitted with the counts.")
    invalidated: int | None = Field(None, description="Votes invalidated for good; omitted with the counts.")
    reasons: list[StandingReason] | None = Field(
        None, description="Held and invalidated votes per reason; omitted with the counts.")


class TallyUpdated(Event):
    """The standings of a category changed; `final` marks the tally at the close of voting."""

    topic = topics.TALLY
    key_field = "category_id"

    category_id: str
    standings: list[EntryStanding]
    final: bool = False
    as_of: datetime


# --- scoring and results ---------------------------------------------------------------------


class EntryRanking(_Part):
    entry_id: uuid.UUID
    entry_name: str
    unit_id: str
    rank: int
    total: float
    components: dict[str, float] = Field(description="Score per component (initial, vote, expert, activity).")
    explanation: dict[str, Any] = Field(default_factory=dict, description="Inputs each component came from.")


class RankingComputed(Event):
    """A category's ranking was (re)computed from its inputs under a rule version."""

    topic = topics.SCORING
    key_field = "category_id"

    category_id: str
    rule_version: str
    inputs_digest: str = Field(description="Hash of every input; the same inputs give the same digest and ranking.")
    entries: list[EntryRanking]
    counts_hidden: bool = Field(
        False, description="True while the campaign hides vote counts (voting open, `show_counts` rank_only or "
                           "hidden): each entry's `explanation.vote.votes` and `no_votes` are null then; ranks, "
                           "scores and totals are given. Absent (false) from events recorded before it was added.")


class ExpertAssigned(Event):
    """An expert was given (more) entries to score; internal, because it names the expert."""

    topic = topics.REVIEW
    key_field = "expert_id"

    expert_id: str = Field(description="The expert's staff username.")
    panel_id: str
    category_ids: list[str]
    entries_count: int = Field(ge=1, description="Assignments the expert now holds in this panel.")
    new_entries: int = Field(ge=1)
    deadline: datetime | None = None


class ExpertScoreReopened(Event):
    """The committee unlocked an expert's submitted score so the expert can correct it; internal (names the expert)."""

    topic = topics.REVIEW
    key_field = "expert_id"

    expert_id: str = Field(description="The expert's staff username.")
    entry_id: uuid.UUID
    entry_name: str = ""
    category_id: str
    component: str = Field(description="`expert` (the expert score) or `activity` (the activity score).")
    reason: str = Field(description="Why the committee reopened it, as the committee wrote it.")


class AuditHead(_Part):
    """The head of a campaign's audit chain in one service: its last row (docs/audit.md)."""

    service: str = Field(description="The service keeping the chain: submission, antifraud or scoring.")
    seq: int = Field(description="Rows in the chain (0: none yet).")
    hash: str = Field(description="SHA-256 (hex) of the last row; 64 zeros while the chain is empty.")


class VoteLogRoot(_Part):
    """A day of the voting service's sealed vote log: the Merkle root the results were computed from."""

    day: str = Field(description="The day sealed (YYYY-MM-DD, the campaign's time zone).")
    root: str = Field(description="The Merkle root of that day's votes (hex).")
    votes: int | None = Field(None, description="Leaves under the root, when the seal says.")


class ResultsPublished(Event):
    """The committee's approved results, published. Immutable: a correction is a new version.

    `audit_heads` anchors the decisions behind the results: each service's audit chain head of the campaign at
    publication; scoring's head is the row recording this publication. `vote_log_roots` are the sealed vote-log
    roots the results were computed from. Both empty in events published before they existed."""

    topic = topics.RESULT
    key_field = "campaign_id"

    campaign_id: str
    version: int
    categories: dict[str, list[EntryRanking]]
    supersedes: int | None = None
    audit_heads: list[AuditHead] = Field(default_factory=list)
    vote_log_roots: list[VoteLogRoot] = Field(default_factory=list)


# --- notifications ---------------------------------------------------------------------------


class NotificationSent(Event):
    """A notification reached its channel."""

    topic = topics.NOTIFICATION
    key_field = "recipient"

    notification_id: uuid.UUID
    source_event_id: uuid.UUID
    recipient: str
    channel: str
    template: str


class NotificationFailed(Event):
    """A notification could not be delivered after its retries."""

    topic = topics.NOTIFICATION
    key_field = "recipient"

    notification_id: uuid.UUID
    source_event_id: uuid.UUID
    recipient: str
    channel: str
    reason: str


# --- account registry ------------------------------------------------------------------------
# Public: the person in charge of an account (a staff member) never travels on the bus.

AccountLevel = Literal["provincial", "city", "county", "unit"]


class _AccountState(Event):
    """What every account event carries: the account's public registry record after the change."""

    key_field = "account_id"

    account_id: uuid.UUID
    unit_id: str = Field(description="The owner unit (an organisation id).")
    unit_name: str = ""
    platform: str = Field(description="wechat, weibo, douyin, toutiao, kuaishou, bilibili, website, app, other.")
    level: AccountLevel
    platform_account_id: str = Field(description="The account's id on its platform.")
    verified_name: str = Field(description="The platform-verified name; it carries the administrative region.")
    region: str = Field("", description="The administrative region the name carries.")
    status: Literal["filed", "active", "suspended", "closed"]


class AccountFiled(_AccountState):
    """An account was filed (备案) after review at each level."""

    topic = topics.REGISTRY

    exception_reason: str | None = Field(
        None, description="Why the unit may hold a second account on this platform (a filed exception), if it does.")


class AccountChanged(_AccountState):
    """A change to a filed account passed review (or its status became active)."""

    topic = topics.REGISTRY

    changed_fields: list[str] = Field(default_factory=list, description="Names of the public fields that changed.")


class AccountSuspended(_AccountState):
    """An account was suspended after review."""

    topic = topics.REGISTRY

    reason: str


class AccountClosed(_AccountState):
    """An account was closed (注销) after review."""

    topic = topics.REGISTRY

    reason: str


class AccountSnapshotRecorded(Event):
    """A unit's figures for an account on a day (reported or imported): one point of its activity time series."""

    topic = topics.REGISTRY
    key_field = "account_id"

    snapshot_id: uuid.UUID
    account_id: uuid.UUID
    unit_id: str
    taken_on: date = Field(description="The day the figures describe.")
    followers: int = Field(ge=0)
    posts: int = Field(ge=0, description="Posts published in the period the snapshot covers.")
    reposts: int = Field(ge=0)
    comments: int = Field(ge=0)
    last_update_on: date | None = Field(None, description="The day of the account's latest post.")
    source: Literal["reported", "imported", "verified"] = "reported"
    open_questions: int = Field(0, ge=0, description="Public questions still unanswered on that day.")


class AccountFindingOpened(Event):
    """A health check found a problem (idle, too few posts, no interaction, unanswered questions)."""

    topic = topics.REGISTRY
    key_field = "account_id"

    finding_id: uuid.UUID
    account_id: uuid.UUID
    unit_id: str
    code: str = Field(description="The rule's stable code, e.g. `idle_no_update`.")
    idle: bool = Field(description="Whether the finding marks the account idle (休眠、僵尸、空壳).")
    observed_on: date
    deadline: date = Field(description="The day by which the unit must fix it.")
    message: str = Field("", description="What was found, in Chinese.")
    message_en: str = ""
    followed_by: str = Field("", description="The office (organisation id) following the finding.")
    verified_name: str = Field("", description="The account's verified name (public).")


class AccountFindingEscalated(Event):
    """An overdue finding was escalated to the next level's office."""

    topic = topics.REGISTRY
    key_field = "account_id"

    finding_id: uuid.UUID
    account_id: uuid.UUID
    unit_id: str
    code: str
    escalated_to: str = Field(description="The office (organisation id) now following the finding.")
    deadline: date
    escalations: int = Field(1, ge=1, description="How many times the finding has been escalated, this one included.")
    verified_name: str = ""


class AccountFindingClosed(Event):
    """A finding ended: the unit reported it fixed and an office accepted, or it was withdrawn."""

    topic = topics.REGISTRY
    key_field = "account_id"

    finding_id: uuid.UUID
    account_id: uuid.UUID
    unit_id: str
    code: str
    resolution: Literal["fixed", "withdrawn"]
    closed_on: date
    verified_name: str = ""


class RegistryReportProduced(Event):
    """A monthly registry report (seed 004) was produced, on schedule or on demand."""

    topic = topics.REGISTRY
    key_field = "report_id"

    report_id: uuid.UUID
    month: str = Field(description="The month reported, YYYY-MM.")
    scope: str = Field(description="The organisation id the report covers (a province, city or unit).")
    accounts: int = Field(ge=0)
    idle_accounts: int = Field(ge=0)
    open_findings: int = Field(ge=0)


# --- organisations ---------------------------------------------------------------------------


class OrganisationSaved(Event):
    """A nominating unit or reviewing office was created or updated (submission owns the hierarchy).

    Submission records one for every organisation when it starts, so a new reader learns the whole hierarchy."""

    topic = topics.ORGANISATION
    key_field = "organisation_id"

    organisation_id: str
    name: str
    kind: Literal["office", "unit"]
    level: Literal["provincial", "city", "unit"]
    parent_id: str | None = None
