"""Nomination rules: whether a campaign lets a unit register a nomination, checked without I/O."""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from .campaign import LEVEL_NAMES, PLATFORM_NAMES, PLATFORMS, CampaignDefinition, FormField

__all__ = [
    "CONTENT_HOLD_CODES",
    "INACTIVE_STATUSES",
    "PLATFORM_DOMAINS",
    "SPAM_TERMS",
    "ExistingNomination",
    "ProposedNomination",
    "QuotaShortfall",
    "RuleViolation",
    "ViolationCode",
    "check_form",
    "check_nomination",
    "count_by_unit_and_category",
    "is_valid_mobile",
    "is_well_formed_link",
    "link_host",
    "normalise_mobile",
    "platform_for_url",
    "quota_shortfalls",
]


class ViolationCode(StrEnum):
    """Stable codes; clients key their handling on these, so they never change meaning."""

    PHASE_CLOSED = "phase_closed"
    UNKNOWN_CATEGORY = "unknown_category"
    SELF_NOMINATION_NOT_ALLOWED = "self_nomination_not_allowed"
    FIELD_REQUIRED = "field_required"
    FIELD_TOO_LONG = "field_too_long"
    INVALID_PHONE = "invalid_phone"
    INVALID_LINK = "invalid_link"
    LINK_DOMAIN_NOT_ALLOWED = "link_domain_not_allowed"
    INVALID_NUMBER = "invalid_number"
    INVALID_VALUE = "invalid_value"
    BLOCKED_TERM = "blocked_term"
    PLATFORM_NOT_ALLOWED = "platform_not_allowed"
    MATRIX_ENTRY_NOT_ALLOWED = "matrix_entry_not_allowed"
    LINK_PLATFORM_MISMATCH = "link_platform_mismatch"
    BELOW_FOLLOWER_THRESHOLD = "below_follower_threshold"
    ACCOUNT_EXCLUDED = "account_excluded"
    CASE_TOO_OLD = "case_too_old"
    ACCOUNT_ALREADY_NOMINATED = "account_already_nominated"
    QUOTA_UNIT_EXCEEDED = "quota_unit_exceeded"
    QUOTA_PERSONAL_EXCEEDED = "quota_personal_exceeded"
    QUOTA_OPERATING_ENTITY_EXCEEDED = "quota_operating_entity_exceeded"


@dataclass(frozen=True)
class RuleViolation:
    code: str
    field: str | None
    message_zh: str
    message_en: str

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "code": str(self.code)}


# Content a person must look at before it may be published: the nomination is held, not refused,
# because a legitimate entry can quote a word or link a site the list did not foresee.
CONTENT_HOLD_CODES: frozenset[str] = frozenset({"blocked_term", "link_domain_not_allowed"})

# Gambling and advertising spam of the kind injected into a government page (seed 003: 太阳城赌城_太阳城娱乐场),
# checked in every campaign on top of its own blocked terms.
SPAM_TERMS: tuple[str, ...] = (
    "赌城", "赌场", "博彩", "娱乐场", "百家乐", "六合彩", "时时彩", "彩票代购", "网赌", "真人荷官", "线上娱乐城",
    "老虎机", "代开发票", "刷单返利",
)

# Withdrawn and rejected nominations give their quota place back; every other status keeps it.
INACTIVE_STATUSES: frozenset[str] = frozenset({"withdrawn", "rejected"})

# Attributes of ProposedNomination that double as the values of form fields with the same id.
_BOUND_ATTRIBUTES = (
    "category",
    "platform",
    "account_name",
    "account_id",
    "account_url",
    "level",
    "operating_entity",
    "followers",
    "posts",
    "interactions",
    "case_month",
)


@dataclass(frozen=True, kw_only=True)
class ProposedNomination:
    """A nomination a unit wants to register or correct.

    Structured attributes and `form` feed the same form fields: a field whose id matches an
    attribute (platform, followers, ...) takes the attribute when it is set, else the form value.
    """

    unit_id: str
    category: str
    # Set when an existing nomination is corrected, so it is not counted against itself.
    id: str | None = None
    platform: str | None = None
    account_name: str | None = None
    account_id: str | None = None
    account_url: str | None = None
    level: str | None = None
    operating_entity: str | None = None
    followers: int | str | None = None
    posts: int | str | None = None
    interactions: int | str | None = None
    case_month: str | date | None = None
    is_self_nomination: bool = False
    # Several accounts entered as one (矩阵), e.g. a university's whole family of accounts.
    is_matrix: bool = False
    # Last public report (通报) of the account by an internet-affairs office, if any is known.
    reported_at: date | None = None
    form: Mapping[str, Any] = field(default_factory=dict)

    def form_values(self) -> dict[str, Any]:
        values = dict(self.form)
        for name in _BOUND_ATTRIBUTES:
            attribute = getattr(self, name)
            if attribute is not None:
                values[name] = attribute
        return values


@dataclass(frozen=True, kw_only=True)
class ExistingNomination:
    """What the rules need to know about a nomination already registered in the campaign."""

    id: str
    unit_id: str
    category: str
    # Looked up from the definition when not given.
    category_kind: str | None = None
    platform: str | None = None
    account_id: str | None = None
    operating_entity: str | None = None
    status: str = "submitted"


@dataclass(frozen=True)
class QuotaShortfall:
    unit_id: str
    category: str
    minimum: int
    actual: int

    @property
    def missing(self) -> int:
        return self.minimum - self.actual

    @property
    def message_zh(self) -> str:
        return f"该类别原则上应推荐不少于{self.minimum}个，目前{self.actual}个，尚缺{self.missing}个"

    @property
    def message_en(self) -> str:
        return (
            f"at least {self.minimum} nominations are expected in this category; "
            f"{self.actual} so far, {self.missing} short"
        )


# --- value checks -------------------------------------------------------------------------

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_MOBILE_PREFIX = re.compile(r"^(?:\+86|0086|86)(?=1\d{10}$)")
_PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")


def normalise_mobile(value: Any) -> str | None:
    """The 11-digit mainland mobile number in `value`, or None if it is not one."""
    if not isinstance(value, str):
        return None
    digits = _PHONE_SEPARATORS.sub("", value)
    digits = _MOBILE_PREFIX.sub("", digits)
    return digits if _MOBILE.fullmatch(digits) else None


def is_valid_mobile(value: Any) -> bool:
    return normalise_mobile(value) is not None


# Host suffixes of the platforms' account and content pages, including their share-link domains.
PLATFORM_DOMAINS: dict[str, tuple[str, ...]] = {
    "weibo": ("weibo.com", "weibo.cn"),
    "wechat": ("mp.weixin.qq.com", "weixin.qq.com"),
    "douyin": ("douyin.com", "iesdouyin.com"),
    "kuaishou": ("kuaishou.com", "kuaishou.cn", "gifshow.com", "chenzhongtech.com"),
    "toutiao": ("toutiao.com",),
    "yidian": ("yidianzixun.com",),
    "baidu": ("baidu.com",),
    "bilibili": ("bilibili.com", "b23.tv"),
    "uc": ("uc.cn",),
    "xiaohongshu": ("xiaohongshu.com", "xhslink.com"),
    "zhihu": ("zhihu.com",),
}
_SUFFIXES = sorted(
    ((suffix, platform) for platform, suffixes in PLATFORM_DOMAINS.items() for suffix in suffixes),
    key=lambda pair: -len(pair[0]),
)
_HOST = re.compile(r"^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def link_host(url: Any) -> str | None:
    """The lower-case host of a well-formed http(s) link, or None.

    Links carrying credentials or a bare IP address are refused: neither belongs on a public page.
    """
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a malformed port only shows when read
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or parts.username or parts.password or not host:
        return None
    try:
        host = host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    return host if _HOST.fullmatch(host) else None


def is_well_formed_link(url: Any) -> bool:
    return link_host(url) is not None


def _host_matches(host: str, suffix: str) -> bool:
    return host == suffix or host.endswith("." + suffix)


def platform_for_url(url: Any) -> str | None:
    """The platform a link points into, by its host; None for links outside the known platforms."""
    host = link_host(url)
    if host is None:
        return None
    return next((platform for suffix, platform in _SUFFIXES if _host_matches(host, suffix)), None)


def _domain_allowed(host: str, allowed: Sequence[str]) -> bool:
    return not allowed or any(_host_matches(host, d) for d in allowed)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_LINK_IN_TEXT = re.compile(r"https?://[^\s<>\"'，。；、）)】]+", re.IGNORECASE)
_LIST_SEPARATORS = re.compile(r"[\s,，、;；|]+")
_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2060\ufeff]+")


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple, set, dict)):
        return not value
    return False


# The largest count a form takes (as the largest verified one): more is a typing mistake, and past 2^63 PostgreSQL's
# bigint column would refuse it.
MAX_FORM_NUMBER = 10**12


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        digits = value.strip()
        if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(MAX_FORM_NUMBER)):
            return None
        value = int(digits)
    if isinstance(value, int):
        return value if 0 <= value <= MAX_FORM_NUMBER else None
    return None


def _year_month(value: Any) -> str | None:
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, str) and _YEAR_MONTH.fullmatch(value.strip()):
        return value.strip()
    return None


def _links(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part for part in _LIST_SEPARATORS.split(value.strip()) if part]
    if isinstance(value, (list, tuple)):
        return [part.strip() if isinstance(part, str) else part for part in value]
    return [value]


def _key(text: Any) -> str:
    """Comparison form of names and ids: full-width folded, case and spacing ignored."""
    if not isinstance(text, str):
        return ""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def _platform_name(platform: str) -> tuple[str, str]:
    return PLATFORM_NAMES.get(platform, (platform, platform))


# --- the form -----------------------------------------------------------------------------


def check_form(
    definition: CampaignDefinition, values: Mapping[str, Any], *, partial: bool = False
) -> list[RuleViolation]:
    """Check form values against the definition's form; `partial` skips required fields (drafts).

    Values for ids the form does not define are ignored: nothing outside the form is stored or shown.
    """
    violations: list[RuleViolation] = []
    for form_field in definition.form:
        value = values.get(form_field.id)
        if _is_empty(value):
            if form_field.required and not partial:
                violations.append(
                    RuleViolation(
                        ViolationCode.FIELD_REQUIRED,
                        form_field.id,
                        f"请填写{form_field.label}",
                        f"{form_field.label_en} is required",
                    )
                )
            continue
        violations.extend(_check_value(definition, form_field, value))
    return violations


def _check_value(definition: CampaignDefinition, f: FormField, value: Any) -> list[RuleViolation]:
    out: list[RuleViolation] = []

    def add(code: ViolationCode, zh: str, en: str) -> None:
        out.append(RuleViolation(code, f.id, zh, en))

    if f.type in ("text", "textarea", "email", "url"):
        if not isinstance(value, str):
            add(ViolationCode.INVALID_VALUE, f"{f.label}应为文字", f"{f.label_en} must be text")
            return out
        if f.max_length is not None and len(value.strip()) > f.max_length:
            add(ViolationCode.FIELD_TOO_LONG, f"{f.label}不超过{f.max_length}字，当前{len(value.strip())}字",
                f"{f.label_en} allows at most {f.max_length} characters; it has {len(value.strip())}")
    if f.type in ("text", "textarea"):
        out.extend(_blocked_terms(definition, f, value))
        out.extend(_links_in_text(definition, f, value))
    elif f.type == "email":
        if not _EMAIL.fullmatch(value.strip()):
            add(ViolationCode.INVALID_VALUE, f"{f.label}不是有效的电子邮箱",
                f"{f.label_en} is not an e-mail address")
    elif f.type == "phone":
        if not is_valid_mobile(value):
            add(ViolationCode.INVALID_PHONE, f"{f.label}应为11位手机号码",
                f"{f.label_en} must be an 11-digit mainland mobile number")
    elif f.type == "date_month":
        if _year_month(value) is None:
            add(ViolationCode.INVALID_VALUE, f"{f.label}应为年月，如2021-01",
                f"{f.label_en} must be a month such as 2021-01")
    elif f.type == "select":
        if value not in f.choice_values():
            add(ViolationCode.INVALID_VALUE, f"{f.label}须从选项中选择",
                f"{f.label_en} must be one of {', '.join(f.choice_values())}")
    elif f.type == "category":
        if not isinstance(value, str) or definition.category(value) is None:
            out.append(_unknown_category(definition, f.id, value))
    elif f.type == "platform":
        allowed = definition.eligibility.platforms
        if not isinstance(value, str) or value not in PLATFORMS or (allowed and value not in allowed):
            out.append(_platform_not_allowed(definition, f.id, value))
    elif f.type in ("url", "url_list"):
        for link in [value] if f.type == "url" else _links(value):
            out.extend(_check_link(definition, f, link))
    elif f.type == "integer":
        if _as_int(value) is None:
            add(ViolationCode.INVALID_NUMBER, f"{f.label}应为0到{MAX_FORM_NUMBER}之间的整数",
                f"{f.label_en} must be a whole number from 0 to {MAX_FORM_NUMBER}")
    return out


def _check_link(definition: CampaignDefinition, f: FormField, link: Any) -> list[RuleViolation]:
    host = link_host(link)
    if host is None:
        return [
            RuleViolation(
                ViolationCode.INVALID_LINK,
                f.id,
                f"{f.label}中的链接格式不正确，须为以http://或https://开头的完整网址：{link}",
                f"{f.label_en}: not a well-formed http(s) link: {link}",
            )
        ]
    if not _domain_allowed(host, definition.content.allowed_link_domains):
        return [
            RuleViolation(
                ViolationCode.LINK_DOMAIN_NOT_ALLOWED,
                f.id,
                f"{f.label}中的链接不在允许的网站范围内：{host}",
                f"{f.label_en}: links to {host} are not accepted in this campaign",
            )
        ]
    return []


def _links_in_text(definition: CampaignDefinition, f: FormField, text: str) -> list[RuleViolation]:
    # Free text reaches the public page too, so links inside it obey the same domain list.
    allowed = definition.content.allowed_link_domains
    if not allowed:
        return []
    for link in _LINK_IN_TEXT.findall(text):
        host = link_host(link)
        if host is None or not _domain_allowed(host, allowed):
            return [
                RuleViolation(
                    ViolationCode.LINK_DOMAIN_NOT_ALLOWED,
                    f.id,
                    f"{f.label}中含有不允许的链接：{link}",
                    f"{f.label_en} contains a link that is not accepted: {link}",
                )
            ]
    return []


def _blocked_terms(definition: CampaignDefinition, f: FormField, text: str) -> list[RuleViolation]:
    # Spacing and full-width tricks are folded away so "博 彩" is caught like "博彩".
    folded = _key(text)
    terms = dict.fromkeys([*definition.content.blocked_terms, *SPAM_TERMS])
    hits = [term for term in terms if _key(term) and _key(term) in folded]
    if not hits:
        return []
    return [
        RuleViolation(
            ViolationCode.BLOCKED_TERM,
            f.id,
            f"{f.label}含有不允许出现的内容：{'、'.join(hits)}",
            f"{f.label_en} contains terms that are not allowed: {', '.join(hits)}",
        )
    ]


def _unknown_category(definition: CampaignDefinition, field_id: str, value: Any) -> RuleViolation:
    names = "、".join(c.name for c in definition.categories)
    return RuleViolation(
        ViolationCode.UNKNOWN_CATEGORY,
        field_id,
        f"申报类别“{value}”不存在，可选：{names}",
        f"unknown category {value!r}; choose one of {', '.join(c.id for c in definition.categories)}",
    )


def _platform_not_allowed(definition: CampaignDefinition, field_id: str, platform: Any) -> RuleViolation:
    allowed = definition.eligibility.platforms
    zh, en = _platform_name(str(platform))
    return RuleViolation(
        ViolationCode.PLATFORM_NOT_ALLOWED,
        field_id,
        f"本次活动不接受{zh}平台的账号，可选平台：{'、'.join(_platform_name(p)[0] for p in allowed)}",
        f"accounts on {en} cannot take part; platforms: {', '.join(allowed)}",
    )


# --- the nomination -----------------------------------------------------------------------


def check_nomination(
    definition: CampaignDefinition,
    proposal: ProposedNomination,
    existing: Iterable[ExistingNomination] = (),
    *,
    at: datetime,
) -> list[RuleViolation]:
    """Every rule the proposal breaks; an empty list means it may be registered.

    `existing` holds the nominations already registered in the campaign: at least the unit's own
    (for its quotas) and, to catch an account or operating entity put forward by two units, the
    others too. `at` is the timezone-aware instant of the submission.
    """
    violations: list[RuleViolation] = []
    violations.extend(_phase_rule(definition, at))
    category = definition.category(proposal.category)
    if category is None:
        violations.append(_unknown_category(definition, "category", proposal.category))
    elif proposal.is_self_nomination and (
        definition.eligibility.collective_nomination_only or not category.self_nomination_allowed
    ):
        violations.append(
            RuleViolation(
                ViolationCode.SELF_NOMINATION_NOT_ALLOWED,
                "is_self_nomination",
                f"“{category.name}”不接受个人自荐，须由单位推荐",
                f"{category.name_en} does not accept self-nomination; a unit must nominate",
            )
        )
    values = proposal.form_values()
    violations.extend(check_form(definition, values))
    violations.extend(_eligibility_rules(definition, proposal, values, at))
    others = [
        e
        for e in existing
        if e.status not in INACTIVE_STATUSES and (proposal.id is None or e.id != proposal.id)
    ]
    violations.extend(_duplicate_rules(definition, values, others))
    violations.extend(_quota_rules(definition, proposal, others))
    return _first_per_code_and_field(violations)


def _phase_rule(definition: CampaignDefinition, at: datetime) -> list[RuleViolation]:
    if definition.is_open("nomination", at):
        return []
    nomination = definition.phase("nomination")
    if nomination is None:
        return [
            RuleViolation(
                ViolationCode.PHASE_CLOSED,
                None,
                "本次活动不设报名推荐阶段",
                "this campaign takes no nominations",
            )
        ]
    zone = definition.zone
    start = nomination.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    end = nomination.ends_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return [
        RuleViolation(
            ViolationCode.PHASE_CLOSED,
            None,
            f"当前不在报名推荐时间内（{start}至{end}）",
            f"nominations are accepted only from {start} until {end} ({definition.timezone})",
        )
    ]


def _eligibility_rules(
    definition: CampaignDefinition, proposal: ProposedNomination, values: Mapping[str, Any], at: datetime
) -> list[RuleViolation]:
    el = definition.eligibility
    out: list[RuleViolation] = []
    platform = values.get("platform")
    platform = platform if isinstance(platform, str) and platform.strip() else None

    if platform is not None and (
        platform not in PLATFORMS or (el.platforms and platform not in el.platforms)
    ):
        out.append(_platform_not_allowed(definition, "platform", platform))

    if el.single_account_only and (
        proposal.is_matrix or _several(values.get("account_id")) or _several(values.get("account_url"))
    ):
        out.append(
            RuleViolation(
                ViolationCode.MATRIX_ENTRY_NOT_ALLOWED,
                "account_id",
                "须申报单一平台的具体账号，不支持以矩阵形式申报",
                "enter one concrete account on one platform; account matrices are not accepted",
            )
        )

    if platform is not None:
        out.extend(_link_platform_rule(platform, values.get("account_url"), el.platforms))
        out.extend(_follower_rule(definition, platform, values))
        out.extend(_exclusion_rule(definition, platform, proposal, values, at))

    if el.cases_from is not None:
        month = _year_month(values.get("case_month"))
        if month is not None and month < el.cases_from:
            out.append(
                RuleViolation(
                    ViolationCode.CASE_TOO_OLD,
                    "case_month",
                    f"参选案例原则上应为{el.cases_from}以后的案例，本案例时间为{month}",
                    f"cases must date from {el.cases_from} onwards; this one is from {month}",
                )
            )
    return out


def _several(value: Any) -> bool:
    return isinstance(value, str) and len([p for p in _LIST_SEPARATORS.split(value.strip()) if p]) > 1


def _link_platform_rule(platform: str, url: Any, listed: Sequence[str]) -> list[RuleViolation]:
    if link_host(url) is None:
        return []
    actual = platform_for_url(url)
    if platform in PLATFORM_DOMAINS:
        mismatch = actual != platform
    else:
        # "other" must not hide an account of a platform the campaign names (and its higher threshold).
        mismatch = platform == "other" and actual is not None and (not listed or actual in listed)
    if not mismatch:
        return []
    declared_zh, declared_en = _platform_name(platform)
    actual_zh, actual_en = _platform_name(actual) if actual else ("其他网站", "another site")
    return [
        RuleViolation(
            ViolationCode.LINK_PLATFORM_MISMATCH,
            "account_url",
            f"账号链接指向{actual_zh}，与所填平台{declared_zh}不一致",
            f"the account link points to {actual_en}, not to the declared platform {declared_en}",
        )
    ]


def _follower_rule(
    definition: CampaignDefinition, platform: str, values: Mapping[str, Any]
) -> list[RuleViolation]:
    if not definition.eligibility.follower_thresholds:
        return []
    level = values.get("level")
    level = level if isinstance(level, str) and level.strip() else None
    if level is None and definition.threshold_depends_on_level(platform):
        return [
            RuleViolation(
                ViolationCode.FIELD_REQUIRED,
                "level",
                "请填写账号级别（省级或市级），粉丝量要求因级别而异",
                "the account level (provincial or city) is required: the follower threshold depends on it",
            )
        ]
    threshold = definition.follower_threshold(platform, level)
    if threshold is None:
        return []
    raw = values.get("followers")
    if _is_empty(raw):
        return [
            RuleViolation(ViolationCode.FIELD_REQUIRED, "followers", "请填写粉丝量", "followers are required")
        ]
    followers = _as_int(raw)
    if followers is None:
        return [
            RuleViolation(
                ViolationCode.INVALID_NUMBER,
                "followers",
                f"粉丝量应为0到{MAX_FORM_NUMBER}之间的整数",
                f"followers must be a whole number from 0 to {MAX_FORM_NUMBER}",
            )
        ]
    if followers >= threshold:
        return []
    platform_zh, platform_en = _platform_name(platform)
    level_zh, level_en = LEVEL_NAMES.get(level or "", ("", ""))
    return [
        RuleViolation(
            ViolationCode.BELOW_FOLLOWER_THRESHOLD,
            "followers",
            f"{platform_zh}{level_zh}账号粉丝量应不少于{threshold:,}，当前为{followers:,}",
            f"a {f'{level_en} ' if level_en else ''}{platform_en} account needs at least {threshold:,} "
            f"followers; this one has {followers:,}",
        )
    ]


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _exclusion_rule(
    definition: CampaignDefinition,
    platform: str,
    proposal: ProposedNomination,
    values: Mapping[str, Any],
    at: datetime,
) -> list[RuleViolation]:
    el = definition.eligibility
    today = at.astimezone(definition.zone).date()
    cutoff = _months_before(today, el.reported_within_months) if el.reported_within_months else None

    def recent(reported: date | None) -> bool:
        return reported is None or cutoff is None or reported >= cutoff

    account_id, name = _key(values.get("account_id")), _key(values.get("account_name"))
    for excluded in el.excluded_accounts:
        if excluded.platform != platform:
            continue
        same = (account_id and _key(excluded.account_id) == account_id) or (
            name and _key(excluded.name) == name
        )
        if same and recent(excluded.reported_on):
            return [_excluded(excluded.reason, excluded.reason)]
    if proposal.reported_at is not None and cutoff is not None and proposal.reported_at >= cutoff:
        day = proposal.reported_at.isoformat()
        months = el.reported_within_months
        return [
            _excluded(
                f"{day}被通报，近{months}个月内被通报的账号不得参评",
                f"reported on {day}; accounts reported in the past {months} months may not take part",
            )
        ]
    return []


def _excluded(reason_zh: str, reason_en: str) -> RuleViolation:
    return RuleViolation(
        ViolationCode.ACCOUNT_EXCLUDED,
        "account_id",
        f"该账号不得参评：{reason_zh}",
        f"this account may not take part: {reason_en}",
    )


def _duplicate_rules(
    definition: CampaignDefinition, values: Mapping[str, Any], others: Sequence[ExistingNomination]
) -> list[RuleViolation]:
    out: list[RuleViolation] = []
    platform, account_id = values.get("platform"), _key(values.get("account_id"))
    if (
        platform
        and account_id
        and any(e.platform == platform and _key(e.account_id) == account_id for e in others)
    ):
        out.append(
            RuleViolation(
                ViolationCode.ACCOUNT_ALREADY_NOMINATED,
                "account_id",
                "该账号已被推荐，同一账号不能重复推荐",
                "this account has already been nominated",
            )
        )
    limit = definition.quotas.max_per_operating_entity
    entity = _key(values.get("operating_entity"))
    if limit is not None and entity:
        count = sum(1 for e in others if _key(e.operating_entity) == entity)
        if count + 1 > limit:
            out.append(
                RuleViolation(
                    ViolationCode.QUOTA_OPERATING_ENTITY_EXCEEDED,
                    "operating_entity",
                    f"同一主体运营的账号最多推荐{limit}个，该主体已有{count}个",
                    f"at most {limit} account(s) per operating entity; this entity already has {count}",
                )
            )
    return out


def _kind(definition: CampaignDefinition, nomination: ExistingNomination) -> str | None:
    if nomination.category_kind is not None:
        return nomination.category_kind
    category = definition.category(nomination.category)
    return category.kind if category else None


def _quota_rules(
    definition: CampaignDefinition, proposal: ProposedNomination, others: Sequence[ExistingNomination]
) -> list[RuleViolation]:
    out: list[RuleViolation] = []
    quotas = definition.quotas
    own = [e for e in others if e.unit_id == proposal.unit_id]
    if quotas.max_per_unit is not None and len(own) + 1 > quotas.max_per_unit:
        out.append(
            RuleViolation(
                ViolationCode.QUOTA_UNIT_EXCEEDED,
                None,
                f"每个单位最多推荐{quotas.max_per_unit}个，本单位已推荐{len(own)}个",
                f"a unit may nominate at most {quotas.max_per_unit}; this unit already has {len(own)}",
            )
        )
    category = definition.category(proposal.category)
    if quotas.max_personal_per_unit is not None and category is not None and category.kind == "personal":
        personal = sum(1 for e in own if _kind(definition, e) == "personal")
        if personal + 1 > quotas.max_personal_per_unit:
            out.append(
                RuleViolation(
                    ViolationCode.QUOTA_PERSONAL_EXCEEDED,
                    "category",
                    f"每个单位最多推荐个人账号{quotas.max_personal_per_unit}个，本单位已推荐{personal}个",
                    f"a unit may nominate at most {quotas.max_personal_per_unit} personal account(s); "
                    f"this unit already has {personal}",
                )
            )
    return out


def _first_per_code_and_field(violations: Iterable[RuleViolation]) -> list[RuleViolation]:
    # Form and eligibility checks can both see one problem; the user needs to read it once.
    seen: set[tuple[str, str | None]] = set()
    unique: list[RuleViolation] = []
    for v in violations:
        if (v.code, v.field) not in seen:
            seen.add((v.code, v.field))
            unique.append(v)
    return unique


# --- minimums -----------------------------------------------------------------------------


def count_by_unit_and_category(existing: Iterable[ExistingNomination]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for e in existing:
        if e.status in INACTIVE_STATUSES:
            continue
        per_unit = counts.setdefault(e.unit_id, {})
        per_unit[e.category] = per_unit.get(e.category, 0) + 1
    return counts


def quota_shortfalls(
    definition: CampaignDefinition,
    counts_by_unit_and_category: Mapping[str, Mapping[str, int]],
    units: Iterable[str] = (),
) -> list[QuotaShortfall]:
    """Categories in which a unit has nominated fewer than the minimum; `units` adds units with none yet."""
    minimum = definition.quotas.min_per_unit_per_category
    if minimum is None:
        return []
    unit_ids = list(dict.fromkeys([*counts_by_unit_and_category, *units]))
    shortfalls: list[QuotaShortfall] = []
    for unit_id in unit_ids:
        counts = counts_by_unit_and_category.get(unit_id, {})
        for category in definition.categories:
            actual = counts.get(category.id, 0)
            if actual < minimum:
                shortfalls.append(QuotaShortfall(unit_id, category.id, minimum, actual))
    return shortfalls
