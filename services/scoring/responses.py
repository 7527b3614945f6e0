"""The bodies of scoring's public routes — rankings and published results — as their readers get them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from massline.contracts import AuditHead, VoteLogRoot

# A number stored as given: a whole number (an adjustment of 0) stays whole in the answer, as it was stored.
Number = float | int


class RankedEntry(BaseModel):
    """One entry of a ranking: its components, total, rank and where each component came from."""

    entry_id: str
    entry_name: str
    unit_id: str
    rank: int
    total: float
    components: dict[str, float] = Field(description="Score per component (initial, vote, expert, activity).")
    explanation: dict[str, Any] = Field(description="Inputs each component came from.")
    unit_name: str = Field(description="The nominating unit's name ('' when unknown).")


class CategoryRankingBody(BaseModel):
    """A category's latest ranking."""

    category_id: str
    category_name: str
    category_name_en: str
    rule_version: str
    inputs_digest: str = Field(description="sha256 of the canonical inputs: the same inputs give the same ranking.")
    computed_at: str = Field(description="ISO 8601, UTC.")
    computations: int = Field(description="How often this category's ranking was stored.")
    tally_as_of: str | None = Field(description="The vote tally it used (ISO 8601), or null before any.")
    voting_closed: bool
    warnings: list[str] = Field(description="Configuration problems the ranking was computed despite.")
    counts_hidden: bool = Field(description="True while the campaign hides vote counts from this caller: each "
                                            "entry's `explanation.vote.votes` and `no_votes` are null.")
    entries: list[RankedEntry]


class CampaignRankings(BaseModel):
    campaign_id: str
    categories: dict[str, CategoryRankingBody] = Field(description="Category id → its latest ranking.")


class CategoryRanking(CategoryRankingBody):
    campaign_id: str
    inputs: dict[str, Any] | None = Field(
        None, description="Only with `inputs=true`: the canonical inputs the digest was computed from.")


class PublishedEntry(BaseModel):
    """An entry as published: rank, total, components, the committee's adjustment and whether it won."""

    entry_id: str
    entry_name: str
    unit_id: str
    unit_name: str
    rank: int
    total: float
    components: dict[str, float]
    explanation: dict[str, Any]
    adjustment: Number = Field(description="The committee's adjustments, summed (points).")
    activity_forfeited: bool
    winner: bool


class PublishedCategory(BaseModel):
    name: str
    name_en: str
    winners_planned: int | None = Field(description="Winners planned in the category; null: every entry listed.")
    rule_version: str
    inputs_digest: str
    entries: list[PublishedEntry]


class PublishedResults(BaseModel):
    """One published version of a campaign's results."""

    campaign_id: str
    title: str
    version: int
    supersedes: int | None = Field(description="The version this one corrects, if any.")
    latest_version: int | None
    superseded: bool = Field(description="A later version replaces this one.")
    published_at: str = Field(description="ISO 8601, UTC.")
    categories: dict[str, PublishedCategory] = Field(description="Category id → its published ranking.")
    audit_heads: list[AuditHead] = Field(
        default_factory=list, description="The campaign's audit chain head in each service at publication "
                                          "(docs/audit.md); scoring's is the row recording this publication.")
    vote_log_roots: list[VoteLogRoot] = Field(
        default_factory=list, description="The sealed vote-log day roots the results were computed from.")


class PublishedVersion(BaseModel):
    version: int
    supersedes: int | None
    published_at: str = Field(description="ISO 8601, UTC.")


class PublishedVersions(BaseModel):
    campaign_id: str
    versions: list[PublishedVersion]
