"""Campaign definitions: the versioned rules of one selection campaign (推选活动), loaded from YAML."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from massline.approval import ApprovalStep

__all__ = [
    "BOUND_FIELD_TYPES",
    "LEVEL_NAMES",
    "PHASE_ORDER",
    "PLATFORMS",
    "PLATFORM_NAMES",
    "Activity",
    "ApprovalStep",
    "Banner",
    "CampaignDefinition",
    "CampaignDefinitionError",
    "Category",
    "Choice",
    "ContentRules",
    "Criterion",
    "Eligibility",
    "ExcludedAccount",
    "Filing",
    "FollowerThreshold",
    "FormField",
    "InitialMetric",
    "Phase",
    "Quotas",
    "ReferencePeriod",
    "Results",
    "Scoring",
    "ScoringComponent",
    "VoteConversion",
    "VoteTier",
    "Voting",
    "load_campaign_file",
    "parse_campaign",
]

# The order in which a campaign runs; a definition may leave phases out but never reorder them.
PHASE_ORDER: tuple[str, ...] = (
    "nomination",  # 报名推荐 / 征集阶段
    "initial_review",  # 初评
    "voting",  # 网络投票 / 互动阶段
    "expert_review",  # 专家评审
    "final_review",  # 终评
    "publication",  # 展示阶段 / 成果发布
)

# (Chinese, English) display names; the ids are what definitions and nominations carry.
PLATFORM_NAMES: dict[str, tuple[str, str]] = {
    "weibo": ("新浪微博", "Weibo"),
    # The follower thresholds of seed 000 speak of 微信公众号: "wechat" is the official account.
    "wechat": ("微信公众号", "WeChat official account"),
    "kuaishou": ("快手", "Kuaishou"),
    "douyin": ("抖音", "Douyin"),
    "toutiao": ("今日头条", "Toutiao"),
    "yidian": ("一点资讯", "Yidian"),
    "baidu": ("百度", "Baidu"),
    "bilibili": ("B站", "Bilibili"),
    "uc": ("UC头条", "UC"),
    "xiaohongshu": ("小红书", "Xiaohongshu"),
    "zhihu": ("知乎", "Zhihu"),
    "mini_program": ("小程序", "mini program"),
    "app": ("手机客户端", "mobile app"),
    "other": ("其他平台", "other platform"),
}
PLATFORMS: frozenset[str] = frozenset(PLATFORM_NAMES)

LEVEL_NAMES: dict[str, tuple[str, str]] = {
    "provincial": ("省级", "provincial"),
    "city": ("市级", "city"),
}

# Form fields whose ids the nomination rules read; their type is fixed so the rules can trust the value.
BOUND_FIELD_TYPES: dict[str, str] = {
    "category": "category",
    "platform": "platform",
    "account_url": "url",
    "level": "select",
    "followers": "integer",
    "posts": "integer",
    "interactions": "integer",
    "case_month": "date_month",
}

_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_IDENT = r"^[a-z][a-z0-9_]*$"
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
_DOMAIN = r"^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"

# Identifiers end up in indexed PostgreSQL columns (an index entry holds at most about 2.7 kB), counts in int columns.
_ID_MAX_LENGTH = 64
_INT4_MAX = 2**31 - 1
Slug = Annotated[str, StringConstraints(strip_whitespace=True, pattern=_SLUG, max_length=_ID_MAX_LENGTH)]
Ident = Annotated[str, StringConstraints(strip_whitespace=True, pattern=_IDENT, max_length=_ID_MAX_LENGTH)]
Count = Annotated[int, Field(gt=0, le=_INT4_MAX)]
Amount = Annotated[int, Field(ge=0, le=_INT4_MAX)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
YearMonth = Annotated[str, StringConstraints(strip_whitespace=True, pattern=_YEAR_MONTH)]
Domain = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=253, pattern=_DOMAIN)
]
Percent = Annotated[float, Field(gt=0, le=100)]


def _refuse_bare_day(value: Any) -> Any:
    # A bare day is ambiguous for an end (start or end of that day?), so every instant states its time.
    if isinstance(value, date) and not isinstance(value, datetime):
        raise ValueError("give a date and a time, e.g. 2024-08-26T00:00:00, not a bare day; 请写明具体时间")
    if isinstance(value, str) and _DATE_ONLY.fullmatch(value.strip()):
        raise ValueError("give a date and a time, e.g. 2024-08-26T00:00:00, not a bare day; 请写明具体时间")
    return value


# Naive values are read in the campaign timezone once the whole definition is known.
Instant = Annotated[datetime, BeforeValidator(_refuse_bare_day)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Category(_Model):
    """One 征集类别; nominations are ranked and winners counted per category."""

    id: Ident
    name: Text
    name_en: Text
    kind: Literal["institutional", "personal", "creative"]
    winners: Count | None = None
    self_nomination_allowed: bool = False
    description: str | None = None


class Phase(_Model):
    """A stretch of the campaign; it runs from starts_at (included) to ends_at (excluded)."""

    id: Literal["nomination", "initial_review", "voting", "expert_review", "final_review", "publication"]
    name: Text
    name_en: str | None = None
    starts_at: Instant
    ends_at: Instant

    def contains(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


class Quotas(_Model):
    max_per_unit: Count | None = None
    max_personal_per_unit: Count | None = None
    max_per_operating_entity: Count | None = None
    # 原则上 "at least N": reviewers see the shortfall; a unit is never blocked by it.
    min_per_unit_per_category: Count | None = None


class FollowerThreshold(_Model):
    """Minimum followers for accounts on a platform at a level; "*" stands for any other."""

    platform: Text
    level: Literal["provincial", "city", "*"] = "*"
    min_followers: Amount


class ExcludedAccount(_Model):
    """An account barred from the campaign, e.g. one publicly reported (通报) by an office."""

    platform: Text
    account_id: str | None = None
    name: str | None = None
    reason: Text
    # Without a date the exclusion holds for the whole campaign.
    reported_on: date | None = None

    @model_validator(mode="after")
    def _identifies_an_account(self) -> ExcludedAccount:
        if not (self.account_id or "").strip() and not (self.name or "").strip():
            raise ValueError("give account_id or name; 请填写账号ID或账号名称")
        return self


class Eligibility(_Model):
    platforms: list[Text] = Field(default_factory=list)
    follower_thresholds: list[FollowerThreshold] = Field(default_factory=list)
    single_account_only: bool = False
    excluded_accounts: list[ExcludedAccount] = Field(default_factory=list)
    reported_within_months: Count | None = None
    cases_from: YearMonth | None = None
    collective_nomination_only: bool = False

    @field_validator("platforms")
    @classmethod
    def _known_platforms(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in PLATFORMS]
        if unknown:
            raise ValueError(
                f"unknown platform id(s) {', '.join(unknown)}; known: {', '.join(sorted(PLATFORMS))}"
            )
        if len(set(value)) != len(value):
            raise ValueError("platforms are listed more than once; 平台重复")
        return value


class ReferencePeriod(_Model):
    """The days the registry is read for (both included, in the campaign's time zone): an account flagged idle
    on any of them may not take part, and `ends_on` is the reference date whose snapshot feeds the initial
    assessment (the latest snapshot taken on or before it)."""

    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _in_order(self) -> ReferencePeriod:
        if self.starts_on > self.ends_on:
            raise ValueError("starts_on must not come after ends_on; 参照期起止有误")
        return self


class Choice(_Model):
    value: Text
    label: str | None = None
    label_en: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"value": data}
        return data


FieldType = Literal[
    "text",
    "textarea",
    "phone",
    "email",
    "date_month",
    "select",
    "category",
    "platform",
    "url",
    "url_list",
    "integer",
]
_LENGTH_LIMITED_TYPES = frozenset({"text", "textarea", "url", "email"})


class FormField(_Model):
    """One field of the nomination form (推荐表). Fields are private unless marked public."""

    id: Ident
    label: Text
    label_en: Text
    type: FieldType
    required: bool = False
    max_length: Count | None = None
    # Personal data (phone, birth month, ethnicity, political status, gender) must never reach a public page.
    public: bool = False
    choices: list[Choice] | None = None
    hint: str | None = None
    hint_en: str | None = None

    @model_validator(mode="after")
    def _options_fit_type(self) -> FormField:
        if self.type == "select" and not self.choices:
            raise ValueError("a select field needs choices; 下拉字段须列出选项")
        if self.type != "select" and self.choices is not None:
            raise ValueError(f"choices only apply to select fields, not {self.type}")
        if self.max_length is not None and self.type not in _LENGTH_LIMITED_TYPES:
            raise ValueError(f"max_length does not apply to {self.type} fields")
        if self.choices and len({c.value for c in self.choices}) != len(self.choices):
            raise ValueError("choices repeat a value; 选项重复")
        return self

    def choice_values(self) -> list[str]:
        return [c.value for c in self.choices or ()]


class Activity(_Model):
    """The practice activity (互动实践活动) every entry must run and report on.

    Two dates: the activity must be *held* within its period (`held_from`, `held_by`; 规定期限内开展), or the
    entry forfeits the activity part where the scoring section says so; the *summary* is due by
    `summary_deadline`, and what a late summary means is `late_summary`: only marked late (`mark_late`, the
    default, since seed 000 names no consequence for it), the activity part forfeited (`forfeit`), or the
    summary refused (`refuse`). Without `held_by` the period ends at the summary deadline.
    """

    required: bool = True
    held_from: Instant | None = None
    held_by: Instant | None = None
    summary_deadline: Instant | None = None
    late_summary: Literal["mark_late", "forfeit", "refuse"] = "mark_late"
    min_count: Count = 1

    @model_validator(mode="after")
    def _deadline_when_required(self) -> Activity:
        if self.required and self.summary_deadline is None:
            raise ValueError("a required activity needs a summary_deadline; 须设定活动总结报送截止时间")
        end = self.period_end
        if self.held_from is not None and end is not None and _naive(self.held_from) >= _naive(end):
            raise ValueError("held_from must come before held_by; 活动开展期限起止有误")
        return self

    @property
    def period_end(self) -> datetime | None:
        """The end of the period in which the activity must be held: `held_by`, else the summary deadline."""
        return self.held_by or self.summary_deadline

    def held_in_period(self, held_at: datetime) -> bool:
        """Whether an activity held at this instant (the start of its day) lies within the period."""
        end = self.period_end
        return (self.held_from is None or held_at >= self.held_from) and (end is None or held_at < end)


class ScoringComponent(_Model):
    id: Literal["initial", "vote", "expert", "activity"]
    name: Text
    name_en: str | None = None
    weight: Percent


class InitialMetric(_Model):
    metric: Literal["followers", "posts", "interactions"]
    weight: Percent


class VoteTier(_Model):
    up_to_rank: Count
    score: Annotated[float, Field(ge=0)]


class VoteConversion(_Model):
    """How public votes become the vote component's score (out of `top`)."""

    method: Literal["rank_step", "linear", "tiers"]
    top: Annotated[float, Field(gt=0)] = 100
    step: Annotated[float, Field(gt=0)] | None = None
    floor: Annotated[float, Field(ge=0)] = 0
    tiers: list[VoteTier] | None = None

    @model_validator(mode="after")
    def _parameters_fit_method(self) -> VoteConversion:
        if self.method == "rank_step" and self.step is None:
            raise ValueError("rank_step needs step (points lost per rank); 须设定名次递减分值")
        if self.method == "tiers":
            if not self.tiers:
                raise ValueError("tiers needs a list of tiers; 须列出分档")
            ranks = [t.up_to_rank for t in self.tiers]
            if ranks != sorted(set(ranks)):
                raise ValueError("tiers must go up by rank without repeats; 分档名次须递增")
        elif self.tiers is not None:
            raise ValueError(f"tiers only apply to method tiers, not {self.method}")
        if self.floor > self.top:
            raise ValueError("floor is above top")
        return self

    def score(self, rank: int, votes: int = 0, top_votes: int = 0) -> float:
        """Score of an entry placed `rank` (1 = most votes), with its votes and the leader's."""
        if rank < 1:
            raise ValueError("rank starts at 1")
        if self.method == "rank_step":
            assert self.step is not None
            return max(self.floor, self.top - (rank - 1) * self.step)
        if self.method == "linear":
            if top_votes <= 0:
                return self.floor
            return max(self.floor, self.top * votes / top_votes)
        for tier in self.tiers or ():
            if rank <= tier.up_to_rank:
                return tier.score
        return self.floor


class Criterion(_Model):
    id: Ident
    name: Text
    name_en: str | None = None
    max_points: Annotated[float, Field(gt=0)]


class Scoring(_Model):
    scheme: Literal["weighted"] = "weighted"
    components: list[ScoringComponent] = Field(min_length=1)
    initial_metrics: list[InitialMetric] = Field(default_factory=list)
    # Each metric is scaled against the best entry (relative_to_max) or by its rank among entries.
    initial_normalization: Literal["relative_to_max", "rank"] = "relative_to_max"
    # Compare an entry's metrics with its whole category, or only with the category's entries on the
    # same platform (followers on WeChat and on Douyin are not the same currency).
    initial_normalization_scope: Literal["category", "platform"] = "category"
    vote_conversion: VoteConversion | None = None
    expert_criteria: list[Criterion] = Field(default_factory=list)
    activity_criteria: list[Criterion] = Field(default_factory=list)
    activity_forfeit_if_missing: bool = False

    def weight(self, component_id: str) -> float:
        return next((c.weight for c in self.components if c.id == component_id), 0.0)


class Voting(_Model):
    votes_per_day: Count
    all_to_one_entry_allowed: bool = True
    per_entry_daily_cap: Count | None = None
    show_counts: Literal["always", "rank_only", "hidden"] = "always"
    verification: list[Literal["sms", "wechat"]] = Field(min_length=1)
    # 严禁第三方恶意刷票: votes the anti-fraud service attributes to brushing are not counted.
    brushing_forbidden: bool = True


class ContentRules(_Model):
    # Empty means any well-formed http(s) link is accepted.
    allowed_link_domains: list[Domain] = Field(default_factory=list)
    blocked_terms: list[Text] = Field(default_factory=list)


# A picture a page shows: a path on this site (the pages' content security policy loads images from it only).
SitePath = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^/[A-Za-z0-9._~%-][A-Za-z0-9._~/%-]*$",
                                            max_length=500)]
WebLink = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://[^\s<>\"']+$", max_length=500)]


class Banner(_Model):
    """The picture across the top of the campaign's pages."""

    image: SitePath
    alt: Text
    alt_en: str | None = None


class Filing(_Model):
    """The site's filing numbers that Chinese law asks every public page to show (ICP 备案, 公安联网备案)."""

    icp: Text | None = None
    icp_url: WebLink = "https://beian.miit.gov.cn/"
    police: Text | None = None
    police_url: WebLink | None = None


class ShareCard(_Model):
    """What a link to the campaign shows when shared (WeChat's card, Open Graph)."""

    title: Text
    description: Text
    image: SitePath


class Results(_Model):
    approval_steps: list[ApprovalStep] = Field(default_factory=list)
    # Approving while votes are held for review that could change a rank: listed as a warning, or refused.
    approval_with_open_cases: Literal["warn", "refuse"] = "warn"
    announce_by: Instant | None = None
    channels: list[Text] = Field(default_factory=list)
    commendation: bool = False


class _DefinitionProblems(ValueError):
    """Cross-field problems, each with its own path, carried through pydantic's error list."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(f"{_path(loc)}: {msg}" for loc, msg in problems))
        self.problems = problems


class CampaignDefinition(_Model):
    """A whole campaign: categories, phases, quotas, eligibility, form, approvals, scoring and voting."""

    id: Slug
    version: Count
    title: Text
    title_en: Text
    organizer: Text
    timezone: Text = "Asia/Shanghai"
    kind: Literal["accounts", "cases"]
    # Where a nomination's account comes from: picked from the unit's filed accounts in the registry, typed in
    # as free text, or either. Free text is the default: a campaign written before the registry keeps working.
    nomination_accounts: Literal["registry", "free_text", "either"] = "free_text"
    # The registry's reference period; without one, the days of the nomination phase.
    reference_period: ReferencePeriod | None = None
    categories: list[Category] = Field(min_length=1)
    phases: list[Phase] = Field(min_length=1)
    quotas: Quotas = Field(default_factory=Quotas)
    eligibility: Eligibility = Field(default_factory=Eligibility)
    form: list[FormField] = Field(min_length=1)
    approval_steps: list[ApprovalStep] = Field(min_length=1)
    activity: Activity | None = None
    scoring: Scoring
    voting: Voting | None = None
    content: ContentRules = Field(default_factory=ContentRules)
    results: Results = Field(default_factory=Results)
    # What the public pages show beside the rules of the selection itself.
    banner: Banner | None = None
    rules: str | None = None
    rules_en: str | None = None
    privacy: str | None = None
    privacy_en: str | None = None
    filing: Filing = Field(default_factory=Filing)
    share: ShareCard | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}, e.g. Asia/Shanghai; 时区无效") from None
        return value

    @model_validator(mode="after")
    def _localise_and_cross_check(self) -> CampaignDefinition:
        zone = self.zone
        for phase in self.phases:
            phase.starts_at = _aware(phase.starts_at, zone)
            phase.ends_at = _aware(phase.ends_at, zone)
        if self.activity is not None:
            a = self.activity
            a.summary_deadline = _aware(a.summary_deadline, zone) if a.summary_deadline else None
            a.held_from = _aware(a.held_from, zone) if a.held_from else None
            a.held_by = _aware(a.held_by, zone) if a.held_by else None
        if self.results.announce_by is not None:
            self.results.announce_by = _aware(self.results.announce_by, zone)
        problems = list(self._problems())
        if problems:
            raise _DefinitionProblems(problems)
        return self

    # --- queries used by the services -------------------------------------------------------

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def phase(self, phase_id: str) -> Phase | None:
        return next((p for p in self.phases if p.id == phase_id), None)

    def phase_at(self, at: datetime) -> Phase | None:
        """The phase running at `at` (timezone-aware), or None between phases and outside the campaign."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("phase_at needs a timezone-aware instant")
        return next((p for p in self.phases if p.contains(at)), None)

    def is_open(self, phase_id: str, at: datetime) -> bool:
        current = self.phase_at(at)
        return current is not None and current.id == phase_id

    def field(self, field_id: str) -> FormField | None:
        return next((f for f in self.form if f.id == field_id), None)

    def reference_days(self) -> ReferencePeriod | None:
        """The registry's reference period: as given, else the nomination phase's days (its end is excluded, so
        its last day is the day before), else None."""
        if self.reference_period is not None:
            return self.reference_period
        phase = self.phase("nomination")
        if phase is None:
            return None
        zone = self.zone
        last = (phase.ends_at - timedelta(microseconds=1)).astimezone(zone).date()
        return ReferencePeriod(starts_on=phase.starts_at.astimezone(zone).date(), ends_on=last)

    def public_field_ids(self) -> list[str]:
        return [f.id for f in self.form if f.public]

    def follower_threshold(self, platform: str, level: str | None) -> int | None:
        """Minimum followers for an account; None if no threshold applies or the level it needs is unknown.

        A threshold naming the platform wins over a "*" one; "*" as platform means only platforms
        that no threshold names, so a WeChat account of unknown level never falls back to the
        catch-all of other platforms.
        """
        thresholds = self.eligibility.follower_thresholds
        named = [t for t in thresholds if t.platform == platform]
        candidates = named or [t for t in thresholds if t.platform == "*"]
        for wanted in ((level,) if level else ()) + ("*",):
            for t in candidates:
                if t.level == wanted:
                    return t.min_followers
        return None

    def threshold_depends_on_level(self, platform: str) -> bool:
        thresholds = self.eligibility.follower_thresholds
        named = [t for t in thresholds if t.platform == platform]
        candidates = named or [t for t in thresholds if t.platform == "*"]
        return any(t.level != "*" for t in candidates)

    # --- cross-field checks -----------------------------------------------------------------

    def _problems(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        yield from self._phase_problems()
        yield from _duplicates("categories", [c.id for c in self.categories])
        yield from self._eligibility_problems()
        yield from self._quota_problems()
        yield from self._form_problems()
        yield from _duplicates("approval_steps", [s.id for s in self.approval_steps])
        for i, step in enumerate(self.approval_steps):
            if step.role not in ("unit", "office"):
                yield (
                    ("approval_steps", i, "role"),
                    f"a nomination is approved by a unit or an office, not a {step.role}; "
                    "推荐审核环节只能由单位或网信办承担",
                )
        for i, step in enumerate(self.results.approval_steps):
            if step.role not in ("committee", "supervisor"):
                yield (
                    ("results", "approval_steps", i, "role"),
                    f"results are approved by a committee or a supervisor, not a {step.role}; "
                    "结果审定只能由评审委员会或主管单位承担",
                )
        yield from _duplicates(("results", "approval_steps"), [s.id for s in self.results.approval_steps])
        yield from self._scoring_problems()
        yield from self._voting_problems()

    def _phase_problems(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        seen: dict[str, int] = {}
        for i, phase in enumerate(self.phases):
            if phase.id in seen:
                yield (
                    ("phases", i, "id"),
                    f"phase {phase.id} appears twice (first at phases[{seen[phase.id]}]); 阶段重复",
                )
                continue
            seen[phase.id] = i
            if phase.starts_at >= phase.ends_at:
                yield (
                    ("phases", i, "ends_at"),
                    f"ends_at {phase.ends_at.isoformat()} is not after starts_at "
                    f"{phase.starts_at.isoformat()}; 结束时间须晚于开始时间",
                )
        for i in range(1, len(self.phases)):
            before, after = self.phases[i - 1], self.phases[i]
            if PHASE_ORDER.index(after.id) <= PHASE_ORDER.index(before.id):
                if after.id != before.id:
                    yield (
                        ("phases", i, "id"),
                        f"phase {after.id} comes after {before.id}; phases run in the order "
                        f"{', '.join(PHASE_ORDER)}; 阶段顺序有误",
                    )
                continue
            if after.starts_at < before.ends_at:
                yield (
                    ("phases", i, "starts_at"),
                    f"{after.id} starts at {after.starts_at.isoformat()}, before {before.id} ends at "
                    f"{before.ends_at.isoformat()}; 阶段时间重叠",
                )

    def _eligibility_problems(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        el = self.eligibility
        listed = set(el.platforms)
        pairs: dict[tuple[str, str], int] = {}
        for i, t in enumerate(el.follower_thresholds):
            if t.platform != "*" and t.platform not in listed:
                yield (
                    ("eligibility", "follower_thresholds", i, "platform"),
                    f"platform {t.platform} is not in eligibility.platforms; 门槛所指平台未列入参评平台",
                )
            key = (t.platform, t.level)
            if key in pairs:
                yield (
                    ("eligibility", "follower_thresholds", i),
                    f"a threshold for {t.platform}/{t.level} is already given at "
                    f"follower_thresholds[{pairs[key]}]; 粉丝量门槛重复",
                )
            pairs.setdefault(key, i)
        for i, account in enumerate(el.excluded_accounts):
            if account.platform not in PLATFORMS:
                yield (
                    ("eligibility", "excluded_accounts", i, "platform"),
                    f"unknown platform id {account.platform}",
                )
        if el.collective_nomination_only:
            for i, c in enumerate(self.categories):
                if c.self_nomination_allowed:
                    yield (
                        ("categories", i, "self_nomination_allowed"),
                        "self-nomination contradicts eligibility.collective_nomination_only; "
                        "仅接受集中推荐时不得允许个人自荐",
                    )

    def _quota_problems(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        q = self.quotas
        if (
            q.max_personal_per_unit is not None
            and q.max_per_unit is not None
            and q.max_personal_per_unit > q.max_per_unit
        ):
            yield (
                ("quotas", "max_personal_per_unit"),
                f"{q.max_personal_per_unit} personal entries exceed the unit quota of {q.max_per_unit}; "
                "个人账号名额不得超过单位总名额",
            )
        if q.max_personal_per_unit is not None and not any(c.kind == "personal" for c in self.categories):
            yield (
                ("quotas", "max_personal_per_unit"),
                "no category is of kind personal; 未设个人类别",
            )

    def _form_problems(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        yield from _duplicates("form", [f.id for f in self.form])
        for i, f in enumerate(self.form):
            bound = BOUND_FIELD_TYPES.get(f.id)
            if bound is not None and f.type != bound:
                yield (
                    ("form", i, "type"),
                    f"field {f.id} is read by the nomination rules and must be of type {bound}",
                )
        level = self.field("level")
        if level is not None and level.choices:
            stray = [v for v in level.choice_values() if v not in LEVEL_NAMES]
            if stray:
                yield (
                    ("form", self.form.index(level), "choices"),
                    f"level choices must be among {', '.join(LEVEL_NAMES)}, not {', '.join(stray)}",
                )
        if self.field("category") is None:
            yield (("form",), "the form needs a field with id category of type category; 缺少申报类别字段")
        if self.nomination_accounts != "free_text" and self.reference_days() is None:
            yield (("reference_period",), "registry accounts need a reference_period or a nomination phase; "
                                          "须设定参照期")
        if self.kind == "accounts" and self.field("platform") is None:
            yield (("form",), "an accounts campaign needs a platform field; 账号类活动须填写所属平台")
        if self.eligibility.cases_from and self.field("case_month") is None:
            yield (
                ("eligibility", "cases_from"),
                "cases_from needs a case_month form field to check against; 须设置案例时间字段",
            )

    def _scoring_problems(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        s = self.scoring
        ids = [c.id for c in s.components]
        yield from _duplicates(("scoring", "components"), ids)
        total = sum(c.weight for c in s.components)
        if not math.isclose(total, 100, abs_tol=1e-6):
            yield (
                ("scoring", "components"),
                f"component weights sum to {total:g}, not 100; 各部分权重之和应为100",
            )
        if "initial" in ids:
            if not s.initial_metrics:
                yield (
                    ("scoring", "initial_metrics"),
                    "the initial component needs initial_metrics; 须设定初评指标",
                )
            else:
                metric_total = sum(m.weight for m in s.initial_metrics)
                if not math.isclose(metric_total, 100, abs_tol=1e-6):
                    yield (
                        ("scoring", "initial_metrics"),
                        f"initial metric weights sum to {metric_total:g}, not 100; 初评指标权重之和应为100",
                    )
                yield from _duplicates(
                    ("scoring", "initial_metrics"), [m.metric for m in s.initial_metrics], "metric"
                )
        if "vote" in ids:
            if s.vote_conversion is None:
                yield (
                    ("scoring", "vote_conversion"),
                    "the vote component needs vote_conversion; 须设定投票得分换算方法",
                )
            if self.voting is None or self.phase("voting") is None:
                yield (
                    ("scoring", "components"),
                    "the vote component needs a voting section and a voting phase; 须设置投票规则和投票阶段",
                )
        if "expert" in ids and not s.expert_criteria:
            yield (
                ("scoring", "expert_criteria"),
                "the expert component needs expert_criteria; 须设定专家评审维度",
            )
        yield from _duplicates(("scoring", "expert_criteria"), [c.id for c in s.expert_criteria])
        if "activity" in ids:
            if self.activity is None:
                yield (
                    ("activity",),
                    "the activity component needs an activity section; 须设置互动实践活动要求",
                )
            if not s.activity_criteria:
                yield (
                    ("scoring", "activity_criteria"),
                    "the activity component needs activity_criteria; 须设定活动评分维度",
                )
        yield from _duplicates(("scoring", "activity_criteria"), [c.id for c in s.activity_criteria])
        if s.activity_forfeit_if_missing and "activity" not in ids:
            yield (
                ("scoring", "activity_forfeit_if_missing"),
                "there is no activity component to forfeit; 未设活动得分部分",
            )

    def _voting_problems(self) -> Iterator[tuple[tuple[str | int, ...], str]]:
        v = self.voting
        if self.phase("voting") is not None and v is None:
            yield (("voting",), "a voting phase needs a voting section; 设有投票阶段须设定投票规则")
        if v is None:
            return
        if self.phase("voting") is None:
            yield (("voting",), "voting rules without a voting phase; 设定了投票规则但无投票阶段")
        if v.per_entry_daily_cap is not None:
            if v.all_to_one_entry_allowed:
                yield (
                    ("voting", "per_entry_daily_cap"),
                    "a per-entry cap contradicts all_to_one_entry_allowed; "
                    "允许全投一个作品时不得设单作品上限",
                )
            elif v.per_entry_daily_cap > v.votes_per_day:
                yield (
                    ("voting", "per_entry_daily_cap"),
                    f"the per-entry cap {v.per_entry_daily_cap} exceeds votes_per_day {v.votes_per_day}",
                )


def _naive(value: datetime) -> datetime:
    """The wall-clock reading, to compare two instants of one definition before the zone is applied."""
    return value.replace(tzinfo=None)


def _aware(value: datetime, zone: tzinfo) -> datetime:
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def _duplicates(
    where: str | tuple[str | int, ...], values: Sequence[str], key: str = "id"
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    prefix = (where,) if isinstance(where, str) else where
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in first:
            yield (
                (*prefix, i, key),
                f"{key} {value} is already used at {_path((*prefix, first[value]))}; 标识重复",
            )
        else:
            first[value] = i


# --- loading ------------------------------------------------------------------------------


class CampaignDefinitionError(ValueError):
    """A campaign definition that cannot be used; `.errors` lists {"field", "message"} per problem."""

    def __init__(self, errors: list[dict[str, str]], source: str | None = None) -> None:
        self.errors = errors
        self.source = source
        head = f"invalid campaign definition{f' {source}' if source else ''}"
        lines = [f"{e['field'] or '(document)'}: {e['message']}" for e in errors]
        super().__init__(head + ":\n  " + "\n  ".join(lines))


def _path(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


_PREFIXES = ("Value error, ", "Assertion failed, ")


def _errors_from(exc: ValidationError) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    for e in exc.errors():
        loc = tuple(e["loc"])
        cause = (e.get("ctx") or {}).get("error")
        if isinstance(cause, _DefinitionProblems):
            errors.extend({"field": _path(loc + sub), "message": msg} for sub, msg in cause.problems)
            continue
        if e["type"] == "extra_forbidden":
            message = "unknown key; 未知字段"
        elif e["type"] == "missing":
            message = "required; 必填"
        else:
            message = e["msg"]
            for prefix in _PREFIXES:
                if message.startswith(prefix):
                    message = message[len(prefix) :]
        errors.append({"field": _path(loc), "message": message})
    return errors


def _nul_at(data: Any) -> tuple[str | int, ...] | None:
    """Where a text (a key or a value) holds NUL, which a YAML escape ("\\0") can write and PostgreSQL refuses.
    Each list or mapping is looked at once, so aliases that repeat or contain themselves end the walk."""
    seen: set[int] = set()
    todo: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while todo:
        at, value = todo.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return at
            continue
        if not isinstance(value, (dict, list)) or id(value) in seen:
            continue
        seen.add(id(value))
        for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
            if isinstance(key, str) and "\x00" in key:
                return at
            todo.append(((*at, key if isinstance(key, (str, int)) else str(key)), item))
    return None


class _StrictLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice instead of silently keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:
            continue  # unhashable keys are reported by the base constructor
        if duplicate:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_campaign(text: str, source: str | None = None) -> CampaignDefinition:
    """Validate a campaign definition written in YAML; raises CampaignDefinitionError."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        raise CampaignDefinitionError([{"field": "", "message": f"not valid YAML: {exc}"}], source) from exc
    except (ValueError, RecursionError) as exc:  # a date-like or tagged scalar that is no value (2024-13-45), or
        # nesting deeper than the parser goes
        raise CampaignDefinitionError([{"field": "", "message": f"not valid YAML: {exc or type(exc).__name__}"}],
                                      source) from exc
    nul = _nul_at(data)
    if nul is not None:
        message = "text may not contain the NUL character (\\u0000); 不能含有空字符"
        raise CampaignDefinitionError([{"field": _path(nul), "message": message}], source)
    if not isinstance(data, dict):
        raise CampaignDefinitionError(
            [{"field": "", "message": "a campaign definition is a YAML mapping; 定义文件须为映射"}], source
        )
    try:
        return CampaignDefinition.model_validate(data)
    except ValidationError as exc:
        raise CampaignDefinitionError(_errors_from(exc), source) from exc


def load_campaign_file(path: str | Path) -> CampaignDefinition:
    """Read and validate one campaign definition file."""
    path = Path(path)
    return parse_campaign(path.read_text(encoding="utf-8"), source=str(path))
