"""The answer a voter gets for each refusal of the voting rules: status, code, and the message in both languages."""

from __future__ import annotations

from collections.abc import Callable

from massline.errors import ApiError

from .domain import (
    CampaignNotFound,
    CaptchaRequired,
    CaptchaWrong,
    CodeExpired,
    CodeInvalid,
    CodeNotSent,
    CodeRecentlySent,
    EntryNotVotable,
    IdempotencyKeyReused,
    MethodUnavailable,
    NoCodeSent,
    OverDailyLimit,
    PhaseClosed,
    SealNotFound,
    SmsLimitReached,
    TicketError,
    TicketMissing,
    TooManyAttempts,
    VoteNotSealed,
    VoteRefused,
    VotingError,
    WechatCodeInvalid,
    WechatStateInvalid,
    WechatUnavailable,
)


def _refused(exc: VoteRefused) -> ApiError:
    left = exc.remaining_today
    if exc.code == "entry_cap_exceeded":
        cap = exc.per_entry_daily_cap
        return ApiError(429, "entry_cap_exceeded", f"今日对该作品最多投{cap}票",
                        f"At most {cap} votes per entry per day", {"per_entry_daily_cap": cap, "remaining_today": left})
    return ApiError(429, "quota_exceeded", f"今日票数不足，还剩{left}票", f"Not enough votes left today ({left} left)",
                    {"remaining_today": left, "votes_per_day": exc.votes_per_day})


def _ticket(exc: TicketError) -> ApiError:
    """A ticket refused on the vote path."""
    if isinstance(exc, TicketMissing):
        return ApiError(401, "ticket_invalid", "请先完成投票验证", "Verify first: a voter ticket is required")
    if exc.code == "ticket_expired":
        return ApiError(401, "ticket_expired", "投票验证已过期，请重新验证", "Your voter ticket expired; verify again")
    return ApiError(401, "ticket_invalid", "投票凭证无效，请重新验证", "The voter ticket is not valid; verify again")


def page_ticket_error(exc: TicketError) -> ApiError:
    """A ticket refused when the public page asks for the voter's quota."""
    if isinstance(exc, TicketMissing):
        return _ticket(exc)
    return ApiError(401, exc.code, "投票凭证无效或已过期", "The voter ticket is invalid or expired")


def _over_limit(exc: OverDailyLimit) -> ApiError:
    n = exc.votes_per_day
    return ApiError(429, "quota_exceeded", f"每人每天最多{n}票", f"At most {n} votes per day", {"votes_per_day": n})


def _recently_sent(exc: CodeRecentlySent) -> ApiError:
    wait = exc.retry_after_s
    return ApiError(429, "code_recently_sent", f"验证码已发送，请{wait}秒后再试",
                    f"A code was just sent; try again in {wait}s", {"retry_after_s": wait},
                    {"Retry-After": str(wait)})


def _wait(seconds: int) -> tuple[str, str]:
    """A wait as a person reads it: minutes under two hours, hours beyond (rounded up)."""
    if seconds < 7200:
        minutes = max(1, -(-seconds // 60))
        return f"{minutes}分钟", f"{minutes} minute{'s' if minutes > 1 else ''}"
    hours = -(-seconds // 3600)
    return f"{hours}小时", f"{hours} hours"


_LIMIT_WORDS = {
    "phone": ("该手机号获取验证码过于频繁", "Too many codes were sent to this number"),
    "address": ("您所在的网络地址获取验证码过于频繁", "Too many codes were asked for from your address"),
    "network": ("您所在的网络获取验证码过于频繁", "Too many codes were asked for from your network"),
}


def _sms_limit(exc: SmsLimitReached) -> ApiError:
    zh, en = _LIMIT_WORDS.get(exc.scope, _LIMIT_WORDS["network"])
    wait_zh, wait_en = _wait(exc.retry_after_s)
    window = "hour" if exc.window_s == 3600 else "day"
    return ApiError(429, exc.code, f"{zh}，请{wait_zh}后再试", f"{en}; try again in {wait_en}",
                    {"retry_after_s": exc.retry_after_s, "window": window, "limit": exc.limit},
                    {"Retry-After": str(exc.retry_after_s)})


def _no_code(exc: NoCodeSent) -> ApiError:
    if exc.in_production:
        return ApiError(404, "not_found", "不存在", "Not found")
    return ApiError(404, "not_found", "没有发送记录", "No code was sent to this number")


def _not_sent(exc: CodeNotSent) -> ApiError:
    if exc.code == "sms_throttled":
        return ApiError(429, "sms_throttled", "短信发送过于频繁，请稍后再试",
                        "Too many messages to this number just now; try again in a minute",
                        {"retry_after_s": 60}, {"Retry-After": "60"})
    if exc.code == "phone_number_invalid":
        return ApiError(422, "phone_number_invalid", "手机号码无效，请检查后重试",
                        "This mobile number cannot receive messages; check it")
    return ApiError(503, "sms_unavailable", "短信服务暂时不可用，请稍后再试",
                    "The SMS service is unavailable just now; try again later", None, {"Retry-After": "30"})


_FIXED: dict[type[VotingError], ApiError] = {
    CampaignNotFound: ApiError(404, "campaign_not_found", "活动不存在", "No such campaign"),
    VoteNotSealed: ApiError(404, "vote_not_sealed", "该票尚未封存（当日投票结束后封存）或不存在",
                            "No seal holds this vote yet (a day is sealed after it ends) or there is no such vote"),
    SealNotFound: ApiError(404, "seal_not_found", "该日没有封存记录", "No seal of the vote log for that day"),
    PhaseClosed: ApiError(409, "phase_closed", "当前不在网络投票阶段", "Voting is not open in this campaign now"),
    EntryNotVotable: ApiError(404, "entry_not_votable", "该作品不在投票范围内", "This entry is not open for voting"),
    IdempotencyKeyReused: ApiError(422, "idempotency_key_reused",
                                   "该幂等键已用于另一次投票（作品或票数不同），请换用新的键",
                                   "This idempotency key was already used for another vote (another entry or "
                                   "count); use a new key"),
    CodeExpired: ApiError(400, "code_expired", "验证码已失效（已过期、已使用或尚未获取），请重新获取",
                          "No code is waiting for this number (it expired, was used, or was never sent); "
                          "request a new one"),
    TooManyAttempts: ApiError(429, "too_many_attempts", "尝试次数过多，请重新获取验证码",
                              "Too many attempts; request a new code"),
    CodeInvalid: ApiError(400, "code_invalid", "验证码不正确", "The code is not correct"),
    CaptchaRequired: ApiError(428, "captcha_required", "请先输入图形验证码",
                              "Solve the captcha first: POST …/voters/captcha for a challenge, then send its "
                              "captcha_id and your captcha_answer with the phone"),
    CaptchaWrong: ApiError(422, "captcha_wrong", "图形验证码不正确或已失效，请重新输入",
                           "The captcha answer is wrong or the captcha expired; try a new one"),
    # 404, not 501: the method is not offered on this deployment, which is no server failure (nor an alert).
    MethodUnavailable: ApiError(404, "verification_method_unavailable", "暂不支持微信验证",
                                "WeChat verification is not configured"),
    WechatStateInvalid: ApiError(400, "wechat_state_invalid", "微信授权已过期或无效，请重新授权",
                                 "The WeChat authorisation expired or is not valid; start again"),
    WechatCodeInvalid: ApiError(400, "wechat_code_invalid", "微信授权码无效或已使用，请重新授权",
                                "WeChat did not accept the authorisation code; start again"),
    WechatUnavailable: ApiError(503, "wechat_unavailable", "微信验证暂时不可用，请稍后再试或使用手机号验证",
                                "WeChat verification is unavailable just now; try later or verify by SMS"),
}

_BUILT: list[tuple[type[VotingError], Callable[..., ApiError]]] = [
    (VoteRefused, _refused), (TicketError, _ticket), (OverDailyLimit, _over_limit),
    (CodeRecentlySent, _recently_sent), (NoCodeSent, _no_code), (SmsLimitReached, _sms_limit),
    (CodeNotSent, _not_sent),
]


def api_error(exc: VotingError) -> ApiError:
    """The API's answer to a refusal (a fresh ApiError each time: the error handler may keep it)."""
    fixed = _FIXED.get(type(exc))
    if fixed is not None:
        return ApiError(fixed.status, fixed.code, fixed.message_zh, fixed.message_en, fixed.details, fixed.headers)
    for kind, build in _BUILT:
        if isinstance(exc, kind):
            return build(exc)
    return ApiError(400, exc.code, "请求被拒绝", "The request was refused")
