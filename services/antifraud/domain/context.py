"""What every rule reads for one batch: the counters after the batch was added, the identities' recent votes,
and where findings and timing evidence go."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from .findings import Finding
from .registry import Thresholds
from .signals import DISTINCT_DIMENSIONS, CounterKey, Earlier, VoterPast, VoteSignal, _key


class Evidence(NamedTuple):
    """One signal behind a coordination finding: what it is, how many times likelier under a script than among
    the campaign's other voters, and what an operator reads."""

    signal: str
    ratio: float
    text: str
    text_zh: str


@dataclass
class Context:
    counts: dict[CounterKey, int]
    distinct: dict[CounterKey, int]
    history: dict[tuple[str, str], list[Earlier]]
    t: Thresholds
    past: dict[uuid.UUID, VoterPast]
    requests: dict[tuple[str, str, datetime], int] = field(default_factory=dict)
    found: dict[tuple[str, str, str, datetime], Finding] = field(default_factory=dict)
    # Per vote of the batch: timing evidence (a burst it came in) for the coordination rule.
    timing: dict[uuid.UUID, list[Evidence]] = field(default_factory=dict)
    # Votes whose cohorts the coordination rule could not compare yet: too few other identities in the campaign
    # that day (`coordination.check`); judged again in a later batch (`pipeline.detect`).
    early: list[VoteSignal] = field(default_factory=list)
    # Votes whose entry cohort showed a script's habit commoner than elsewhere and made no finding while the day held
    # too little beyond the cohort's ten minutes to tell a surge against (a campaign's opening), or too few newcomers
    # to read a habit against but cautiously (the minutes after the day's ballot renews): judged again as the day
    # fills (`coordination.unwritten`, `coordination._thin`).
    pending: list[VoteSignal] = field(default_factory=list)
    # Votes that saw a network's wave for their entry start, judged once the seconds after it have passed
    # (`timing.judge_waves`).
    waves: list[tuple[VoteSignal, bool]] = field(default_factory=list)  # … and whether as a share across networks
    # Counters a rule marks for later batches (a fingerprint seen as many phones', a device found: `devices`), added
    # once per batch.
    marks: dict[CounterKey, int] = field(default_factory=dict)
    # Per campaign: the entries the batch's votes are for. Another entry whose identities share a habit far more than
    # the rest of the campaign's is left out of a cohort's baseline for that habit (`coordination.standout`).
    entries: dict[str, frozenset[str]] = field(default_factory=dict)
    standouts: dict[tuple[str, str, str, str], str | None] = field(default_factory=dict)
    # A cohort's comparison for each set of traits its identities of the batch have (`coordination.check`).
    comparisons: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    # The sittings on the batch's browsers (`turns`), as the store holds them after the batch; and, per browser, its
    # runs of turns, found once per batch.
    sittings: dict[CounterKey, Collection[str]] = field(default_factory=dict)
    turns: dict[CounterKey, Any] = field(default_factory=dict)

    def c(self, v: VoteSignal, dimension: str, key: str | None) -> int:
        """A counter in the vote's window of `dimension`."""
        return self.counts.get(_key(v, dimension, key), 0) if key else 0

    def ids(self, dimension: str, key: str | None, v: VoteSignal) -> int:
        """A distinct-identity count in the vote's window of `dimension`."""
        return self.distinct.get((v.campaign_id, dimension, key, v.window(DISTINCT_DIMENSIONS[dimension])), 0) \
            if key else 0

    def put(self, f: Finding) -> None:
        """One finding per subject and window: the first of the batch is kept."""
        self.found.setdefault(f.identity, f)
