"""A loaded campaign's version and phase: which changes are allowed and the events that announce them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from massline import phases
from massline.contracts import CampaignLoaded, CategoryInfo, PhaseChanged, PhaseInfo, VoteRules

from .campaign import CampaignDefinition
from .errors import Invalid, NotNow

PHASES = ("nomination", "initial_review", "voting", "expert_review", "final_review", "publication")
# Offices give their opinions while units nominate and during the initial review.
REVIEW_PHASES = frozenset({"nomination", "initial_review"})
# A unit may withdraw until the results are published.
WITHDRAWAL_PHASES = frozenset(PHASES) - {"publication"}


def effective_phase(current_phase: str | None, definition: CampaignDefinition, now: datetime) -> str | None:
    """The operator's phase wins; without one, the phase the definition's dates give for now (the rule voting
    follows too: `massline.phases`)."""
    return phases.effective_phase(current_phase, definition.phases, now, definition.zone)


def require_phase(phase: str | None, allowed: Collection[str], action_zh: str, action_en: str) -> None:
    """Refuses with `phase_closed` an action the campaign's phase does not allow."""
    if phase not in allowed:
        raise NotNow("phase_closed", f"当前阶段不能{action_zh}", f"{action_en} is not possible in this phase",
                     {"current_phase": phase, "allowed_phases": sorted(allowed)})


def require_nominating(phase: str | None) -> None:
    """New nominations are taken only in the nomination phase."""
    require_phase(phase, {"nomination"}, "报名推荐", "Nominating")


def require_newer_version(definition: CampaignDefinition, loaded_version: int | None) -> None:
    """A definition replaces the loaded one only with a greater version number."""
    if loaded_version is not None and definition.version <= loaded_version:
        raise NotNow("campaign_version_not_newer", f"版本号须大于当前版本{loaded_version}",
                     f"The version must be greater than the loaded version {loaded_version}",
                     {"loaded_version": loaded_version})


def change_phase(
    definition: CampaignDefinition, previous: str | None, phase: str
) -> PhaseChanged | None:
    """The event moving the campaign into `phase`, or None when it is there already."""
    if definition.phase(phase) is None:
        raise Invalid("unknown_phase", "该活动没有此阶段", "This campaign has no such phase",
                      {"phases": [p.id for p in definition.phases]})
    if previous == phase:
        return None
    return PhaseChanged(campaign_id=definition.id, phase=phase, previous_phase=previous)


def campaign_loaded_event(d: CampaignDefinition, current_phase: str | None) -> CampaignLoaded:
    """What the other services learn of a loaded definition: categories, phases, vote rules and scoring."""
    voting = d.voting
    return CampaignLoaded(
        campaign_id=d.id,
        version=d.version,
        title=d.title,
        timezone=d.timezone,
        categories=[CategoryInfo(id=c.id, name=c.name, name_en=c.name_en, kind=c.kind, winners=c.winners)
                    for c in d.categories],
        phases=[PhaseInfo(id=p.id, name=p.name, starts_at=p.starts_at, ends_at=p.ends_at) for p in d.phases],
        current_phase=current_phase,
        vote_rules=VoteRules(
            votes_per_day=voting.votes_per_day if voting else 10,
            per_entry_daily_cap=voting.per_entry_daily_cap if voting else None,
            show_counts=voting.show_counts if voting else "always",
            timezone=d.timezone,
        ),
        scoring=d.scoring.model_dump(mode="json") if d.scoring else {},
        activity_deadline=d.activity.period_end if d.activity else None,
        activity_summary_deadline=d.activity.summary_deadline if d.activity else None,
        activity_late_summary=d.activity.late_summary if d.activity else "mark_late",
        approval_with_open_cases=d.results.approval_with_open_cases,
    )
