"""Anti-fraud as a library, in memory: the consumer's own detection and policy, for evaluations.

`Screening.screen` takes accepted votes in the order they were accepted and answers what the service
would do to which votes at that moment: hold them out of the count for review, or invalidate them.
A decision may name votes of earlier calls (a case that opens covers the votes already cast).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from massline.contracts import CastVote

from . import domain


@dataclass(frozen=True)
class Decision:
    vote_id: uuid.UUID
    action: Literal["hold", "invalidate"]
    reason_codes: tuple[str, ...]


class Screening:
    """One campaign store in memory; the thresholds of the service's defaults, with `overrides` applied, and
    the service's default policy (`auto`: what a rule is sure of is invalidated, the rest held)."""

    def __init__(self, overrides: dict[str, float] | None = None, policy: str = "auto") -> None:
        self.t = domain.with_overrides(domain.Thresholds(), overrides)
        self.policy = policy
        self.store = domain.MemoryWindows()

    async def screen(self, campaign_id: str, votes: Sequence[CastVote]) -> list[Decision]:
        signals = [domain.VoteSignal.of(campaign_id, v, self.t) for v in votes]
        out: list[Decision] = []
        for finding, covered in await domain.detect(signals, self.store, self.t):
            if not finding.decisive:
                continue
            action: Literal["hold", "invalidate"] = (
                "invalidate" if domain.case_status(self.policy, finding) == "invalidated" else "hold")
            for v in covered:
                out.append(Decision(v.vote_id, action, (finding.reason_code,)))
        return out
