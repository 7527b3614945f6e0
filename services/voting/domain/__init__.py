"""The voting rules, without I/O.

- `voters`: pseudonymous voter identity, signed voter tickets, the voting day, the signals a vote carries;
- `rules`: a campaign's vote rules as a vote is checked against them;
- `ballots`: how a micro-batch of votes is decided (quota, per-entry cap, repeated and reused keys);
- `standings`: ranks, the public standings, how decisions move votes between counts;
- `errors`: the refusals, each with its stable code.
"""

from .ballots import (
    AcceptedVote,
    Answered,
    Ballot,
    BatchDecision,
    BatchState,
    LoggedVote,
    Outcome,
    decide_batch,
    demand,
    refused_keys,
    repeat_of,
    same_request,
    used_before_taking,
    vote_events,
    voters_by_limit,
)
from .errors import (
    CampaignNotFound,
    CodeExpired,
    CodeInvalid,
    CodeRecentlySent,
    EntryNotVotable,
    IdempotencyKeyReused,
    MethodUnavailable,
    NoCodeSent,
    OverDailyLimit,
    PhaseClosed,
    TicketError,
    TicketMissing,
    TooManyAttempts,
    VoteRefused,
    VotingError,
)
from .rules import CampaignRules, closes_voting, daily_limit, entry_cap, phase_dates, phase_now
from .standings import (
    Decision,
    EntryCounts,
    StandingsMoves,
    competition_ranks,
    decision_rounds,
    moves_of,
    public_standings,
    ranked,
)
from .voters import (
    TICKET_AUDIENCE,
    VoterTicket,
    address_hash,
    bearer_token,
    device_hash,
    issue_ticket,
    keyed_hash,
    network_prefix,
    new_code,
    read_ticket,
    stamp_page_view,
    user_agent_hash,
    utcnow,
    voting_day,
)

__all__ = [
    "TICKET_AUDIENCE", "AcceptedVote", "Answered", "Ballot", "BatchDecision", "BatchState", "CampaignNotFound",
    "CampaignRules", "CodeExpired", "CodeInvalid", "CodeRecentlySent", "Decision", "EntryCounts", "EntryNotVotable",
    "IdempotencyKeyReused", "LoggedVote", "MethodUnavailable", "NoCodeSent", "Outcome", "OverDailyLimit",
    "PhaseClosed", "StandingsMoves", "TicketError", "TicketMissing", "TooManyAttempts", "VoteRefused",
    "VoterTicket", "VotingError", "address_hash", "bearer_token", "closes_voting", "competition_ranks", "daily_limit",
    "decide_batch", "decision_rounds", "demand", "device_hash", "entry_cap", "issue_ticket", "keyed_hash",
    "moves_of", "network_prefix", "new_code", "phase_dates", "phase_now", "public_standings", "ranked",
    "read_ticket", "refused_keys", "repeat_of", "same_request", "stamp_page_view", "used_before_taking",
    "user_agent_hash", "utcnow", "vote_events", "voters_by_limit", "voting_day",
]
