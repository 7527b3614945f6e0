"""Detector rules without I/O: velocity windows and the explanation an operator reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Finding:
    reason_code: str
    explanation: str
    evidence: dict


def velocity_finding(dimension: str, votes_in_minute: int, limit: int, minute: datetime) -> Finding | None:
    """Too many votes from one voter / network / device in one minute. Missing keys are never punished."""
    if votes_in_minute <= limit:
        return None
    names = {"voter": "one voter", "subnet": "one network (/24 or /64)", "device": "one device"}
    return Finding(
        f"velocity_{dimension}",
        f"{votes_in_minute} votes from {names[dimension]} in the minute starting {minute:%H:%M} UTC "
        f"(limit {limit})",
        {"dimension": dimension, "votes_in_minute": votes_in_minute, "limit": limit, "minute": minute.isoformat()},
    )
