"""What a tripped rule says: the finding, its explanation in English and Chinese, and which votes it covers."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from massline.localtime import local_time

from .registry import RULES
from .signals import DAY, VoteSignal, window_start


@dataclass(frozen=True)
class Selector:
    """Which stored votes a finding covers: every vote matching the set fields in [start, end)."""

    campaign_id: str
    start: datetime
    end: datetime
    entry_id: uuid.UUID | None = None
    subnet: str | None = None
    device_hash: str | None = None
    voter_id: str | None = None
    fresh_only: bool = False
    # Instead of the entry's votes: every vote from the network in the window by the identities that voted for the
    # entry from it in the window (their camouflage votes for other entries too).
    voters_of_entry: bool = False
    # Only votes with these traits (None: any): see `VoteSignal.traits`.
    ua: str | None = None
    delay: str | None = None
    page: bool | None = None
    num: str | None = None
    # Only identities that had voted from changing fingerprints that day (a rotating vote), when True.
    rot: bool | None = None
    # Only votes cast in a rush (`VoteSignal.rush`: within seconds of verifying, without the page), when True.
    rush: bool | None = None
    # Only votes cast on a clock (`VoteSignal.clock`: the identity had come back on a clock that day), when True.
    clock: bool | None = None
    # Only votes from a data centre's network (`VoteSignal.host`), when True.
    host: bool | None = None


@dataclass(frozen=True)
class Finding:
    """A detector tripped. Its level (the rule's, from the registry, unless the check says otherwise) decides:
    invalidate or hold opens a case (the campaign's policy may hold what would be invalidated); alert only alerts.

    The explanation is written twice, in English and in Chinese (what operators read first), with the same numbers.
    `score` is the evidence's weight as log odds (coordination findings), 0 for the others.
    """

    reason_code: str
    subject: str
    explanation: str
    explanation_zh: str
    evidence: dict[str, Any]
    selector: Selector
    level: str = ""
    entry_id: uuid.UUID | None = None
    score: float = 0.0
    # The identities it covers, where its selector cannot name them (a browser's run of turns: `turns.in_turn`).
    voters: frozenset[str] = field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        if not self.level:
            object.__setattr__(self, "level", RULES[self.reason_code].level)

    @property
    def decisive(self) -> bool:
        """Opens a case (invalidates or holds votes), rather than only raising an alert."""
        return self.level != "alert"

    @property
    def identity(self) -> tuple[str, str, str, datetime]:
        return (self.selector.campaign_id, self.reason_code, self.subject, self.selector.start)


WINDOW_ZH = {"minute": "一分钟", "hour": "一小时"}
BY_ZH = {"network": "网段", "device": "设备"}


@functools.lru_cache(maxsize=4096)
def hm(at: datetime) -> str:
    # Both sentences of every finding name its window's start, and the votes of a batch share a few windows.
    return local_time(at, lang="en", fmt="moment")


@functools.lru_cache(maxsize=4096)
def hm_zh(at: datetime) -> str:
    return local_time(at, lang="zh", fmt="moment")


def sel(v: VoteSignal, length_s: int, **fields: Any) -> Selector:
    start = v.window(length_s)
    return Selector(v.campaign_id, start, start + timedelta(seconds=length_s), **fields)


def matches(s: Selector, v: VoteSignal) -> bool:
    return (v.campaign_id == s.campaign_id and s.start <= v.cast_at < s.end
            and (s.entry_id is None or v.entry_id == s.entry_id) and (s.subnet is None or v.subnet == s.subnet)
            and (s.device_hash is None or v.device_hash == s.device_hash)
            and (s.voter_id is None or v.voter_id == s.voter_id) and (not s.fresh_only or v.fresh)
            and (s.ua is None or v.ua == s.ua) and (s.delay is None or v.delay == s.delay)
            and (s.page is None or v.page == s.page) and (s.num is None or v.num == s.num)
            and (s.rush is None or (v.rush == "y") == s.rush) and (s.clock is None or v.clock == s.clock)
            and (s.host is None or v.host == s.host))


def first_votes(s: Selector, votes: list[VoteSignal]) -> dict[str, VoteSignal]:
    """Each identity's first vote for the selector's entry that the selector covers."""
    first: dict[str, VoteSignal] = {}
    for v in votes:
        if v.entry_id == s.entry_id and matches(s, v) and (v.voter_id not in first
                                                           or v.cast_at < first[v.voter_id].cast_at):
            first[v.voter_id] = v
    return first


def rotating_since(s: Selector) -> datetime | None:
    """For a selector of rotating identities: the start of the day its window ends in (they rotated since)."""
    if not s.rot:
        return None
    return window_start(s.end - timedelta(microseconds=1), DAY)
