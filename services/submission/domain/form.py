"""What a nomination form yields: its public and private fields, its name, its keys and its reported metrics."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .campaign import CampaignDefinition

# Form fields whose value is personal data: stored once, never in events or public answers.
PERSONAL_FIELDS = frozenset({"submitter_name", "name", "ethnicity", "birth_month", "political_status", "gender",
                             "mobile", "phone", "id_number", "position"})


def match_key(value: Any) -> str | None:
    """The value as two nominations are compared: without spaces, case-folded; None when empty."""
    if value is None or value == "":
        return None
    return "".join(str(value).split()).casefold()


def account_key(form: Mapping[str, Any]) -> str | None:
    return match_key(form.get("account_id") or form.get("account_url"))


def operating_entity_key(form: Mapping[str, Any]) -> str | None:
    return match_key(form.get("operating_entity"))


def split_fields(d: CampaignDefinition, form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The public fields (those the definition publishes, never personal data) and the private rest."""
    public_ids = set(d.public_field_ids())
    public = {k: v for k, v in form.items() if k in public_ids and k not in PERSONAL_FIELDS}
    private = {k: v for k, v in form.items() if k not in public}
    return public, private


def public_only(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Stored public fields as they may be shown: a personal field never leaves, whatever was stored."""
    return {k: v for k, v in fields.items() if k not in PERSONAL_FIELDS}


def entry_name(form: Mapping[str, Any]) -> str:
    """The public name of the account or case."""
    for key in ("account_name", "case_name", "entry_name", "name_of_case"):
        if form.get(key):
            return str(form[key])[:200]
    return "(未命名)"


def reported_metrics(form: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """Followers, posts and interactions as the unit reported them, when all three are whole numbers."""
    try:
        return int(form["followers"]), int(form["posts"]), int(form["interactions"])
    except (KeyError, TypeError, ValueError):
        return None


def first_office_step(d: CampaignDefinition) -> int:
    """Index of the first approval step an office signs; the unit's own steps come before it."""
    for i, step in enumerate(d.approval_steps):
        if step.role == "office":
            return i
    return len(d.approval_steps)


def instant_inside_nomination(d: CampaignDefinition, now: datetime) -> datetime:
    """The instant the rules judge a submission at: now, or the phase's start when the operator opened the
    nomination phase outside its dates (the operator's phase is checked separately)."""
    phase = d.phase("nomination")
    if phase is not None and phase.starts_at and phase.ends_at:
        return now if phase.contains(now) else phase.starts_at
    return now
