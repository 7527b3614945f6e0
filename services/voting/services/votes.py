"""Casting a vote: the ticket and the campaign's rules are checked here, the quota in the batch (`batcher.py`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from .. import domain
from ..batcher import VoteRequest
from ..deps import VotingDeps
from ..domain import Answered, CampaignNotFound, VotingError
from ..domain.votelog import log_voter
from ..schemas import CastVote


async def cast_vote(
    deps: VotingDeps, campaign_id: str, body: CastVote, client_ip: str | None, authorization: str | None,
    user_agent: str | None = None,
) -> Answered:
    """(201, answer) for a vote that counts; the first answer again (same status and body, `replayed`) for the
    same request under a key answered before; a VotingError otherwise (`idempotency_key_reused` for the key with
    another request). Answers only after the vote and the quota change are committed. Counted in the vote
    metrics, a replay not again."""
    metrics = deps.metrics
    started = time.perf_counter()
    try:
        answered = await deps.batcher.cast(await _ballot(deps, campaign_id, body, client_ip, authorization,
                                                         user_agent))
    except VotingError as exc:
        metrics.refused(campaign_id, exc.code)
        raise
    if not answered.replayed:
        metrics.voted(campaign_id, body.count)
    metrics.cast_latency.observe(time.perf_counter() - started)
    return answered


async def _ballot(
    deps: VotingDeps, campaign_id: str, body: CastVote, ip: str | None, authorization: str | None,
    user_agent: str | None,
) -> VoteRequest:
    """The vote as the batch decides it, once the ticket is good and the campaign's rules admit it."""
    secret = deps.settings.secret_key
    ticket = domain.read_ticket(secret, domain.bearer_token(authorization), campaign_id)
    rules = await deps.rules.get(campaign_id)
    if rules is None:
        raise CampaignNotFound()
    now = domain.utcnow()
    category_id = rules.admit(body.entry_id, body.count, now)
    return VoteRequest(
        campaign_id=campaign_id,
        voter_id=ticket.voter_id,
        idempotency_key=body.idempotency_key,
        entry_id=body.entry_id,
        category_id=category_id,
        count=body.count,
        votes_per_day=rules.votes_per_day,
        per_entry_daily_cap=rules.per_entry_daily_cap,
        day=domain.voting_day(now, rules.timezone),
        cast_at=now,
        ip_hash=domain.address_hash(secret, ip) if ip else None,
        subnet=domain.network_prefix(ip),
        device_hash=domain.device_hash(secret, body.device),
        identity_verified_at=datetime.fromtimestamp(ticket.verified_at_s, UTC),
        user_agent_hash=domain.user_agent_hash(secret, user_agent),
        # From the ticket (claim `pv`, stamped when the public page loaded): no lookup on the vote path.
        page_viewed_at=(datetime.fromtimestamp(ticket.page_viewed_at, UTC)
                        if ticket.page_viewed_at is not None else None),
        number_kind=ticket.number_kind,
        code_sent_at=(datetime.fromtimestamp(ticket.code_sent_at, UTC) if ticket.code_sent_at is not None else None),
        log_voter=log_voter(secret, campaign_id, ticket.voter_id),
    )
