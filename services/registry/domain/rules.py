"""Seed 002's filing rules (广西政务新媒体管理效能提升工作方案, 二(一) and 三(三)), each with a stable code.

They are checked against the account as proposed and what the registry already holds; every refusal names its
code and says why in Chinese and in English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import Conflict, Invalid
from .regions import Gazetteer

# Every rule the registry enforces: code → (Chinese, English). docs/registry.md lists them.
RULES: dict[str, tuple[str, str]] = {
    "platform_not_approved": ("不得在未经核准的平台上开设政务新媒体", "The platform is not an approved one"),
    "name_missing_region": ("账号名称须体现县级以上行政区域名称",
                            "The verified name must carry the administrative region (county level or above)"),
    "special_purpose_account": ("不得为专项活动或专项工作单独开设政务新媒体",
                                "No account may be opened for a single event or project"),
    "personal_account": ("不得以个人名义开设政务新媒体", "No account may be opened in a person's name"),
    "duplicate_platform_account": ("同一单位不得在同一平台重复开设账号（备案例外须说明理由）",
                                   "A unit may not hold two accounts on one platform unless it files an exception "
                                   "with a reason"),
    "platform_account_taken": ("该平台账号已由其他备案占用", "This platform account id is already filed"),
    "account_closed": ("账号已注销，不能再变更", "The account is closed and cannot change"),
    "request_pending": ("该账号已有审核中的申请", "The account already has a request under review"),
    "status_not_allowed": ("账号当前状态不允许此操作", "Not possible in the account's status"),
    "reason_required": ("须填写理由", "Give a reason"),
    "nothing_changed": ("申请未作任何变更", "The request changes nothing"),
    "person_in_charge_required": ("须指定负责人（本单位工作人员）", "Name the person in charge (a staff member)"),
    "no_reviewing_office": ("本单位没有上级审核部门，无法提交审核", "The unit has no office above it to review"),
}

PURPOSES = ("duties", "special_event", "personal")


def refusal(code: str, details: object = None) -> Invalid:
    zh, en = RULES[code]
    return Invalid(code, zh, en, details)


def conflict(code: str, details: object = None) -> Conflict:
    zh, en = RULES[code]
    return Conflict(code, zh, en, details)


@dataclass(frozen=True)
class Holding:
    """An account the registry holds (or one under review for opening) as the duplicate rules see it."""

    account_id: str
    unit_id: str
    platform: str
    platform_account_id: str


def check_platform(platform: str, approved: Sequence[str]) -> None:
    if platform not in approved:
        raise refusal("platform_not_approved", {"platform": platform, "approved": list(approved)})


def check_name(verified_name: str, gazetteer: Gazetteer) -> str:
    """The region the name carries; refused with `name_missing_region` when it carries none."""
    region = gazetteer.region_of(verified_name)
    if region is None:
        raise refusal("name_missing_region", {"verified_name": verified_name})
    return region


def check_purpose(purpose: str) -> None:
    if purpose == "special_event":
        raise refusal("special_purpose_account")
    if purpose == "personal":
        raise refusal("personal_account")


def check_unique(
    unit_id: str, platform: str, platform_account_id: str, exception_reason: str | None,
    holdings: Sequence[Holding], *, itself: str | None = None,
) -> None:
    """One id per platform in the whole registry; one account per unit and platform unless a filed exception."""
    others = [h for h in holdings if h.account_id != itself and h.platform == platform]
    taken = [h for h in others if h.platform_account_id == platform_account_id]
    if taken:
        raise conflict("platform_account_taken", {"platform": platform, "platform_account_id": platform_account_id})
    same_unit = [h for h in others if h.unit_id == unit_id]
    if same_unit and not (exception_reason or "").strip():
        raise conflict("duplicate_platform_account", {"platform": platform, "existing": same_unit[0].account_id})
