"""Campaign definitions and phases: loading a version, moving between phases, what the public reads."""

from __future__ import annotations

from massline.auth import Caller

from .. import repository as repo
from ..deps import SubmissionDeps
from ..domain.campaign import CampaignDefinitionError, parse_campaign
from ..domain.campaign_state import campaign_loaded_event, change_phase, require_newer_version
from ..domain.errors import Invalid
from ..domain.form import public_only
from ..views import CampaignList, CampaignSummary, PhaseAnswer, PublicCampaign, PublicEntries, PublicEntry
from .access import campaign

# What the public sees of a definition: not the exclusion list, quotas or the reviewers' approval steps.
_PUBLIC_PARTS = {"id", "version", "title", "title_en", "organizer", "timezone", "kind", "categories", "phases",
                 "voting", "results", "form", "activity",
                 "banner", "rules", "rules_en", "privacy", "privacy_en", "filing", "share", "nomination_accounts",
                 "reference_period"}


async def load_campaign(deps: SubmissionDeps, definition_yaml: str, caller: Caller) -> CampaignSummary:
    """Loads a definition as a new version of its campaign; a definition with any error is refused whole."""
    try:
        d = parse_campaign(definition_yaml)
    except CampaignDefinitionError as exc:
        raise Invalid("invalid_campaign_definition", "活动定义有误，请按字段修正",
                      "The campaign definition has errors", exc.errors) from None
    async with deps.rt.unit_of_work() as uow:
        current = await repo.get_campaign(uow.conn, d.id)
        require_newer_version(d, current.version if current else None)
        phase = await repo.save_campaign(uow.conn, d, definition_yaml, caller.username)
        await uow.record(campaign_loaded_event(d, phase), campaign_id=d.id)
    return CampaignSummary(id=d.id, version=d.version, title=d.title, current_phase=phase)


async def list_campaigns(deps: SubmissionDeps) -> CampaignList:
    return CampaignList(campaigns=[
        CampaignSummary(id=c.id, version=c.version, title=c.title, current_phase=c.current_phase)
        for c in await repo.list_campaigns(deps.rt.pool)])


async def public_campaign(deps: SubmissionDeps, campaign_id: str) -> PublicCampaign:
    """Categories, phases, vote rules and form labels, with the phase the operator set."""
    c = await campaign(deps.rt.pool, campaign_id)
    public = c.definition.model_dump(mode="json", include=_PUBLIC_PARTS)
    return PublicCampaign(**public, current_phase=c.current_phase)


async def move_to_phase(deps: SubmissionDeps, campaign_id: str, phase: str, caller: Caller) -> PhaseAnswer:
    """Moves the campaign into a phase its definition has; every change is recorded and announced."""
    async with deps.rt.unit_of_work() as uow:
        c = await campaign(uow.conn, campaign_id)
        previous = c.current_phase
        event = change_phase(c.definition, previous, phase)
        if event is None:
            return PhaseAnswer(id=campaign_id, current_phase=previous, changed=False)
        await repo.save_phase(uow.conn, campaign_id, phase, previous, caller.username)
        await uow.record(event, campaign_id=campaign_id)
    return PhaseAnswer(id=campaign_id, current_phase=phase, previous_phase=previous, changed=True)


async def public_entries(deps: SubmissionDeps, campaign_id: str) -> PublicEntries:
    """The campaign's approved entries with their public fields only: no personal data, ever."""
    await campaign(deps.rt.pool, campaign_id)
    rows = await repo.public_entries(deps.rt.pool, campaign_id)
    return PublicEntries(entries=[
        PublicEntry(entry_id=str(r.id), category_id=r.category_id, name=r.entry_name, platform=r.platform,
                    unit_name=r.unit_name, fields=public_only(r.public_fields), image=r.image)
        for r in rows])
