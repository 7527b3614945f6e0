"""Brushing (刷票) detectors without I/O, one module per signal family and one registry of rules.

- `registry`: every rule's code, zh/en text, level (invalidate, hold, alert) and thresholds;
- `signals`: what a vote tells the detectors and the windows it counts in;
- `velocity`, `devices`, `networks`, `timing`, `coordination`: the rules of each family;
- `pipeline`: one batch through every rule (`detect`), the same in the consumer and the evaluation;
- `state`: the windows in memory (`MemoryWindows` for evaluations and tests, `NetworkState` beside PostgreSQL);
- `review`: what a case does under a policy, the standings, ranks and what a decision would move, identity risk.

Network signals (an address, a /24 or /64) are never evidence alone: a campus or a mobile carrier puts thousands
of honest voters behind one address. What holds votes is coordination — identities sharing a script's traits far
more than the campaign's other voters — timing, and devices shared by many identities.
"""

from .context import Context, Evidence
from .findings import BY_ZH, WINDOW_ZH, Finding, Selector, hm, matches, rotating_since, sel
from .networks import takeover
from .pipeline import FAMILIES, detect, judge, past_reads, with_batch
from .registry import (
    REASONS,
    REASONS_ZH,
    RULES,
    Rule,
    Thresholds,
    threshold_names,
    validate_overrides,
    with_overrides,
)
from .review import (
    TARGET_STATUS,
    CaseVotes,
    Decision,
    Policy,
    StandingRow,
    Standings,
    case_status,
    competition_ranks,
    decision_entry,
    identity_risk,
    impact,
    ranks_then,
    reason_texts,
)
from .signals import *  # noqa: F403  (the counters' vocabulary: dimensions, keys, VoteSignal)
from .signals import (
    BURST,
    DAY,
    DIMENSIONS,
    DISTINCT_DIMENSIONS,
    HOUR,
    MINUTE,
    NETWORK_DIMENSIONS,
    SHARDED,
    TEN_MINUTES,
    CounterKey,
    Earlier,
    Member,
    NetKey,
    ShardedKey,
    VoterPast,
    VoteSignal,
    clean_key,
    clean_subnet,
    counter_increments,
    delay_bin,
    distinct_members,
    firsts,
    gap_bucket,
    network_of,
    replay_firsts,
    voter_past,
    window_start,
    with_extra,
)
from .state import NEVER, Counting, MemoryWindows, Net, NetworkState, network_increments
from .timing import burst_threshold, regular_gaps

__all__ = [
    "BURST",
    "BY_ZH",
    "DAY",
    "DIMENSIONS",
    "DISTINCT_DIMENSIONS",
    "FAMILIES",
    "HOUR",
    "MINUTE",
    "NETWORK_DIMENSIONS",
    "NEVER",
    "REASONS",
    "REASONS_ZH",
    "RULES",
    "SHARDED",
    "TARGET_STATUS",
    "TEN_MINUTES",
    "WINDOW_ZH",
    "CaseVotes",
    "Context",
    "CounterKey",
    "Counting",
    "Decision",
    "Earlier",
    "Evidence",
    "Finding",
    "Member",
    "MemoryWindows",
    "Net",
    "NetKey",
    "NetworkState",
    "Policy",
    "Rule",
    "Selector",
    "ShardedKey",
    "StandingRow",
    "Standings",
    "Thresholds",
    "VoteSignal",
    "VoterPast",
    "burst_threshold",
    "case_status",
    "clean_key",
    "clean_subnet",
    "competition_ranks",
    "counter_increments",
    "decision_entry",
    "delay_bin",
    "detect",
    "distinct_members",
    "firsts",
    "gap_bucket",
    "hm",
    "identity_risk",
    "impact",
    "judge",
    "matches",
    "network_increments",
    "network_of",
    "past_reads",
    "ranks_then",
    "reason_texts",
    "regular_gaps",
    "replay_firsts",
    "rotating_since",
    "sel",
    "takeover",
    "threshold_names",
    "validate_overrides",
    "voter_past",
    "window_start",
    "with_batch",
    "with_extra",
    "with_overrides",
]
