"""The approval-step model: a chain of signatures (unit, offices, committee) that a request passes one step at a time.

Nominations in submission and account requests in the registry both go through such a chain: the step whose opinion
is awaited is an index into the steps; approving the last step completes the chain; every decision is a history line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

_IDENT = r"^[a-z][a-z0-9_]*$"

StepId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=_IDENT, max_length=64)]
StepName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ApprovalStep(BaseModel):
    """One signature in a chain: a unit's or office's opinion on a nomination or account request, or a sign-off on
    results."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: StepId
    name: StepName
    name_en: str | None = None
    role: Literal["unit", "office", "committee", "supervisor"]
    seal_required: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a request's history: what happened, at which step, by whom, and why."""

    action: str
    step_id: str | None
    actor: str
    reason: str | None = None


def is_last_step(steps: Sequence[ApprovalStep], index: int) -> bool:
    """Whether approving the step at `index` completes the chain."""
    return index + 1 >= len(steps)


def next_index(steps: Sequence[ApprovalStep], index: int) -> int:
    """The awaited step after the one at `index` approves (the same index when it was the last)."""
    return index if is_last_step(steps, index) else index + 1
