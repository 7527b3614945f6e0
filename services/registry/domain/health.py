"""Health checks on an account's reported figures (一周一检，两周一查) and the follow-up of what they find.

A check looks at the snapshots of one account and says which rules it breaks on a day:

- `idle_no_update` (休眠): no post for more than `stale_days` days (or no figures reported at all);
- `too_few_posts` (空壳): fewer than `min_posts` posts reported in the last `period_days` days;
- `no_interaction` (僵尸): posts, but not one repost or comment in the last `period_days` days;
- `questions_unanswered`: a public question still open after one working day (weekends and listed holidays
  do not count).

A finding then runs:

    open ──unit: fixed──▶ reported_fixed ──office accepts──▶ closed (fixed)
      ▲                        └──office rejects──▶ open (same deadline)
      └── past its deadline: escalated to the office above the one following it, with a new deadline
    open / reported_fixed ──office withdraws──▶ closed (withdrawn)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from massline.contracts import AccountFindingClosed, AccountFindingEscalated, AccountFindingOpened

from .errors import Conflict, Forbidden

FindingStatus = Literal["open", "reported_fixed", "closed"]

# code -> (idle, zh, en); the text takes the rule's figures.
CHECKS: dict[str, tuple[bool, str, str]] = {
    "idle_no_update": (True, "账号超过{days}天未更新（最近更新：{last}）",
                       "No update for more than {days} days (last update: {last})"),
    "too_few_posts": (False, "近{days}天仅发布{posts}条，少于{minimum}条",
                      "Only {posts} posts in the last {days} days, fewer than {minimum}"),
    "no_interaction": (True, "近{days}天无转发、无评论", "No reposts and no comments in the last {days} days"),
    "questions_unanswered": (False, "有{count}条网民提问超过一个工作日未答复（最早：{since}）",
                             "{count} public questions unanswered for more than one working day (oldest: {since})"),
}


@dataclass(frozen=True)
class HealthRules:
    """The thresholds a check applies; the service's settings give them."""

    stale_days: int = 14
    period_days: int = 14
    min_posts: int = 1
    deadline_days: int = 7
    holidays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Snapshot:
    """An account's figures on a day, as its unit reported or imported them."""

    account_id: uuid.UUID
    unit_id: str
    taken_on: date
    followers: int
    posts: int
    reposts: int
    comments: int
    last_update_on: date | None = None
    open_questions: int = 0
    oldest_question_on: date | None = None
    source: Literal["reported", "imported", "verified"] = "reported"
    id: uuid.UUID | None = None


@dataclass(frozen=True)
class Observation:
    """One rule an account breaks on a day."""

    code: str
    idle: bool
    message: str
    message_en: str


def observation(code: str, **figures: object) -> Observation:
    idle, zh, en = CHECKS[code]
    return Observation(code, idle, zh.format(**figures), en.format(**figures))


# --- working days ------------------------------------------------------------------------------

def is_working_day(day: date, holidays: Iterable[date] = ()) -> bool:
    return day.weekday() < 5 and day not in set(holidays)


def next_working_day(day: date, holidays: Iterable[date] = ()) -> date:
    """The first working day after `day`."""
    off = set(holidays)
    nxt = day + timedelta(days=1)
    while not is_working_day(nxt, off):
        nxt += timedelta(days=1)
    return nxt


def question_overdue(asked_on: date, today: date, holidays: Iterable[date] = ()) -> bool:
    """A question asked on a day must be answered by the end of the next working day; after that it is overdue."""
    return next_working_day(asked_on, holidays) < today


def add_working_days(day: date, count: int, holidays: Iterable[date] = ()) -> date:
    for _ in range(count):
        day = next_working_day(day, holidays)
    return day


# --- the checks --------------------------------------------------------------------------------

def check_account(snapshots: Sequence[Snapshot], today: date, rules: HealthRules,
                  in_service_since: date | None = None) -> list[Observation]:
    """The rules the account breaks on `today`, from its snapshots up to that day (any order).

    An account in service for fewer than `stale_days` days is not yet judged idle for want of figures.
    """
    seen = sorted((s for s in snapshots if s.taken_on <= today), key=lambda s: s.taken_on)
    found: list[Observation] = []
    stale = _stale(seen, today, rules, in_service_since)
    if stale:
        found.append(stale)
    window = [s for s in seen if s.taken_on > today - timedelta(days=rules.period_days)]
    if window:
        posts = sum(s.posts for s in window)
        if posts < rules.min_posts:
            found.append(observation("too_few_posts", days=rules.period_days, posts=posts, minimum=rules.min_posts))
        elif sum(s.reposts + s.comments for s in window) == 0:
            found.append(observation("no_interaction", days=rules.period_days))
        latest = window[-1]
        if (latest.open_questions > 0 and latest.oldest_question_on is not None
                and question_overdue(latest.oldest_question_on, today, rules.holidays)):
            found.append(observation("questions_unanswered", count=latest.open_questions,
                                     since=latest.oldest_question_on.isoformat()))
    return found


def _stale(seen: Sequence[Snapshot], today: date, rules: HealthRules, since: date | None) -> Observation | None:
    last = max((s.last_update_on for s in seen if s.last_update_on is not None), default=None)
    if last is not None:
        if (today - last).days > rules.stale_days:
            return observation("idle_no_update", days=rules.stale_days, last=last.isoformat())
        return None
    if since is not None and (today - since).days <= rules.stale_days:
        return None
    return observation("idle_no_update", days=rules.stale_days, last="—")


# --- findings ----------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Finding:
    """A rule an account broke, followed until the unit fixes it and an office accepts."""

    id: uuid.UUID
    account_id: uuid.UUID
    unit_id: str
    code: str
    idle: bool
    observed_on: date
    deadline: date
    status: FindingStatus = "open"
    followed_by: str = ""
    escalations: int = 0
    message: str = ""
    message_en: str = ""
    fixed_on: date | None = None
    closed_on: date | None = None
    resolution: Literal["fixed", "withdrawn"] | None = None
    verified_name: str = ""

    @classmethod
    def open(cls, account_id: uuid.UUID, unit_id: str, seen: Observation, today: date, rules: HealthRules,
             followed_by: str, verified_name: str = "") -> tuple[Finding, AccountFindingOpened]:
        f = cls(id=uuid.uuid4(), account_id=account_id, unit_id=unit_id, code=seen.code, idle=seen.idle,
                observed_on=today, deadline=today + timedelta(days=rules.deadline_days), followed_by=followed_by,
                message=seen.message, message_en=seen.message_en, verified_name=verified_name)
        return f, AccountFindingOpened(finding_id=f.id, account_id=account_id, unit_id=unit_id, code=f.code,
                                       idle=f.idle, observed_on=today, deadline=f.deadline, message=f.message,
                                       message_en=f.message_en, followed_by=followed_by,
                                       verified_name=verified_name)

    def report_fixed(self, unit_id: str, today: date) -> Finding:
        if unit_id != self.unit_id:
            raise Forbidden("finding_not_yours", "只有账号主办单位可以报告整改", "Only the owning unit reports a fix",
                            {"finding_id": str(self.id)})
        self._require("open")
        return replace(self, status="reported_fixed", fixed_on=today)

    def accept(self, today: date) -> tuple[Finding, AccountFindingClosed]:
        self._require("reported_fixed")
        return self._closed("fixed", today)

    def reject(self) -> Finding:
        self._require("reported_fixed")
        return replace(self, status="open", fixed_on=None)

    def withdraw(self, today: date) -> tuple[Finding, AccountFindingClosed]:
        if self.status == "closed":
            self._require("open")
        return self._closed("withdrawn", today)

    def overdue(self, today: date) -> bool:
        return self.status == "open" and today > self.deadline

    def escalate(self, to_office: str, today: date, rules: HealthRules) -> tuple[Finding, AccountFindingEscalated]:
        new = replace(self, followed_by=to_office, escalations=self.escalations + 1,
                      deadline=today + timedelta(days=rules.deadline_days))
        return new, AccountFindingEscalated(finding_id=new.id, account_id=new.account_id, unit_id=new.unit_id,
                                            code=new.code, escalated_to=to_office, deadline=new.deadline,
                                            escalations=new.escalations, verified_name=new.verified_name)

    def _closed(self, resolution: Literal["fixed", "withdrawn"], today: date) -> tuple[Finding, AccountFindingClosed]:
        new = replace(self, status="closed", closed_on=today, resolution=resolution)
        return new, AccountFindingClosed(finding_id=new.id, account_id=new.account_id, unit_id=new.unit_id,
                                         code=new.code, resolution=resolution, closed_on=today,
                                         verified_name=new.verified_name)

    def _require(self, status: FindingStatus) -> None:
        if self.status != status:
            raise Conflict("finding_status_not_allowed", "该问题当前状态不允许此操作",
                           "The finding's status does not allow this",
                           {"finding_id": str(self.id), "status": self.status, "allowed": [status]})
