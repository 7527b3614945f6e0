"""What the pages say, in Chinese first and English: labels, status names, and a sentence for every error code."""

from __future__ import annotations

from typing import Any

LANGS = ("zh", "en")

# Every refusal a service can give, as a sentence a person understands. `{name}` is filled from the
# error's details when present; the service's own message is the fallback for codes not listed here.
ERRORS: dict[str, tuple[str, str]] = {
    "quota_exceeded": ("您今天的票数不够了：今天还剩 {remaining_today} 票，每人每天最多 {votes_per_day} 票。明天可以再投。",
                       "You do not have enough votes left today: {remaining_today} left, {votes_per_day} a day "
                       "per person. You can vote again tomorrow."),
    "entry_cap_exceeded": ("今天给这个作品的票已达上限（每天最多 {per_entry_daily_cap} 票），可以投给其他作品。",
                           "You have given this entry the most votes allowed today ({per_entry_daily_cap}); "
                           "you can still vote for others."),
    "phase_closed": ("现在不是这一步的时间：活动当前阶段不允许此操作。", "This is not possible in the campaign's current "
                     "phase."),
    "entry_not_votable": ("这个作品现在不能投票（可能已撤回或不在投票范围内）。",
                          "This entry cannot be voted for now (it may have been withdrawn)."),
    "ticket_invalid": ("请先验证手机号，再投票。", "Please verify your mobile number before voting."),
    "ticket_expired": ("验证已过期，请重新验证手机号。", "Your verification has expired; please verify your number again."),
    "code_invalid": ("验证码不正确，请核对短信后重新输入。", "That code is not right; check the text message and try again."),
    "code_expired": ("验证码已过期或尚未获取，请重新获取验证码。", "The code has expired or was never sent; request a new one."),
    "code_recently_sent": ("验证码刚刚发出，请 {retry_after_s} 秒后再获取。",
                           "A code was just sent; you can ask for another in {retry_after_s} seconds."),
    "too_many_attempts": ("输错次数太多，请重新获取验证码。", "Too many wrong tries; please request a new code."),
    "validation_failed": ("填写的内容有误，请按提示修改。", "Some of what you entered is not valid; see the notes."),
    "malformed_json": ("请求格式有误，请刷新页面后重试。", "The request was garbled; reload the page and try again."),
    "service_unavailable": ("服务暂时不可用，请稍后再试。", "The service is not available right now; please try again "
                            "shortly."),
    "internal_error": ("服务出错了，请稍后再试。", "Something went wrong on our side; please try again shortly."),
    "network_error": ("网络连接失败，请检查网络后重试。", "Could not reach the site; check your connection and try again."),
    "campaign_not_found": ("没有找到这个活动。", "There is no such campaign."),
    "not_found": ("没有找到您要的内容。", "Nothing was found here."),
    "invalid_credentials": ("用户名或密码不正确。", "Wrong username or password."),
    "unauthenticated": ("请先登录。", "Please sign in."),
    "token_expired": ("登录已过期，请重新登录。", "Your sign-in has expired; please sign in again."),
    "token_invalid": ("登录已失效，请重新登录。", "Your sign-in is no longer valid; please sign in again."),
    "forbidden": ("您的账号无权执行此操作。", "Your account may not do this."),
    "reason_required": ("请填写理由：每个审核决定都要说明理由。", "Please give a reason: every review decision records one."),
    "not_awaiting_review": ("这个推荐已经处理过，不在待审状态。", "This nomination has already been handled."),
    "not_correctable": ("这个推荐现在不能修改。", "This nomination cannot be changed now."),
    "ranking_not_found": ("结果尚未公布。", "The results have not been published yet."),
    "activity_deadline_passed": ("已过实践活动总结的提交截止时间。", "The deadline for the activity summary has passed."),
    "activity_not_required": ("本活动不需要提交实践活动总结。", "This campaign asks for no activity summary."),
}

UI: dict[str, tuple[str, str]] = {
    "site": ("走好网上群众路线 推选活动", "Walking the Mass Line Online · Selections"),
    "skip": ("跳到正文", "Skip to content"),
    "campaigns": ("推选活动", "Campaigns"),
    "no_campaigns": ("目前没有活动。", "There are no campaigns yet."),
    "phase": ("当前阶段", "Current phase"),
    "phases": ("活动安排", "Schedule"),
    "categories": ("征集类别", "Categories"),
    "entries": ("参评作品", "Entries"),
    "see_entries": ("查看参评作品", "See the entries"),
    "search": ("搜索", "Search"),
    "search_label": ("按名称或单位搜索", "Search by name or unit"),
    "all_categories": ("全部类别", "All categories"),
    "category": ("类别", "Category"),
    "no_entries": ("没有找到参评作品。", "No entries found."),
    "unit": ("推荐单位", "Nominating unit"),
    "platform": ("平台", "Platform"),
    "standings": ("实时排名", "Live standings"),
    "results": ("评选结果", "Results"),
    "rank": ("名次", "Rank"),
    "votes": ("票数", "Votes"),
    "total": ("综合得分", "Total score"),
    "winner": ("入选", "Selected"),
    "published": ("发布时间", "Published"),
    "standings_hidden": ("本活动投票期间不公布排名。", "This campaign shows no standings while voting is open."),
    "counts_hidden": ("投票期间只公布名次，不公布票数。", "While voting is open only ranks are shown, not vote counts."),
    "no_results": ("结果尚未公布，敬请关注。", "The results have not been published yet."),
    "vote": ("投票", "Vote"),
    "vote_for": ("投票给", "Vote for"),
    "vote_count": ("票数", "Number of votes"),
    "votes_per_day": ("每人每天可投 {n} 票，可集中投给一个作品。", "Each person has {n} votes a day, all to one entry if "
                      "they like."),
    "verify_title": ("手机号验证", "Verify your mobile number"),
    "verify_intro": ("投票前请验证手机号。号码只用于验证，不会公开。", "Verify your mobile number before voting. It is used "
                     "only to verify you and never shown."),
    "phone": ("手机号码", "Mobile number"),
    "send_code": ("获取验证码", "Send me a code"),
    "code": ("短信验证码", "Code from the text message"),
    "verify": ("验证", "Verify"),
    "code_sent": ("验证码已发送，请查看短信。", "A code has been sent; check your text messages."),
    "verified": ("已验证，可以投票了。", "Verified: you can vote now."),
    "votes_left": ("今日剩余 {n} 票", "{n} votes left today"),
    "voted": ("投票成功：已投 {count} 票。", "Thank you: {count} votes cast."),
    "phone_invalid": ("请输入11位手机号码。", "Enter an 11-digit mobile number."),
    "code_format": ("验证码是6位数字。", "The code is 6 digits."),
    "voting_closed": ("现在不在网络投票阶段。", "Public voting is not open now."),
    "sign_out_voter": ("换个号码", "Use another number"),
    "back": ("返回", "Back"),
    "entry": ("作品详情", "Entry"),
    "login": ("工作人员登录", "Staff sign-in"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出登录", "Sign out"),
    "console": ("工作台", "Console"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "my_nominations": ("本单位的推荐", "Our nominations"),
    "review_queue": ("待审核推荐", "Review queue"),
    "new_nomination": ("新增推荐", "New nomination"),
    "submit": ("提交", "Submit"),
    "save_resubmit": ("修改并重新提交", "Correct and resubmit"),
    "status": ("状态", "Status"),
    "history": ("处理记录", "History"),
    "returned_reason": ("退回理由", "Reason for return"),
    "nomination": ("推荐", "Nomination"),
    "no_nominations": ("还没有推荐。", "No nominations yet."),
    "queue_empty": ("没有待审核的推荐。", "Nothing is waiting for review."),
    "decision": ("审核决定", "Decision"),
    "approve": ("通过", "Approve"),
    "return": ("退回修改", "Return for correction"),
    "reject": ("不予通过", "Reject"),
    "reason": ("理由", "Reason"),
    "record_decision": ("提交审核意见", "Record the decision"),
    "shortfalls": ("推荐数量不足", "Quota shortfalls"),
    "no_shortfalls": ("没有单位推荐数量不足。", "No unit is short of the minimum."),
    "exports": ("导出", "Exports"),
    "export_statistics": ("征集统计表", "Statistics sheet"),
    "export_nominations": ("推荐汇总表", "All nominations"),
    "activity": ("实践活动总结", "Activity summary"),
    "activity_summary": ("活动总结", "Summary"),
    "activity_links": ("相关链接（每行一个）", "Links (one per line)"),
    "activity_deadline": ("截止时间", "Deadline"),
    "activity_done": ("已提交实践活动总结", "Activity summary submitted"),
    "required": ("必填", "required"),
    "field_required": ("请填写{label}。", "Please fill in {label}."),
    "field_too_long": ("{label}最多{max}字，现在{n}字。", "{label} allows at most {max} characters; it has {n}."),
    "field_phone": ("{label}应为11位手机号码。", "{label} must be an 11-digit mobile number."),
    "field_url": ("{label}应以 http:// 或 https:// 开头。", "{label} must start with http:// or https://."),
    "field_integer": ("{label}应为非负整数。", "{label} must be a whole number, zero or more."),
    "fix_below": ("有 {n} 处需要修改：", "{n} things need fixing:"),
    "saved": ("已保存。", "Saved."),
    "submitted_ok": ("推荐已提交。", "The nomination has been submitted."),
    "review_ok": ("审核意见已记录。", "The decision has been recorded."),
    "activity_ok": ("实践活动总结已提交。", "The activity summary has been submitted."),
    "choose": ("请选择", "Choose"),
    "unit_opinion": ("所在单位意见", "The unit's opinion"),
    "at": ("时间", "When"),
    "actor": ("处理人", "By"),
    "language": ("English", "中文"),
    "status_page": ("系统状态", "System status"),
    "updated": ("更新于", "Updated"),
    "open_console": ("进入工作台", "Open the console"),
    "role_note": ("本页面供推荐单位和审核单位使用。", "For nominating units and reviewing offices."),
}

STATUS: dict[str, tuple[str, str]] = {
    "submitted": ("审核中", "Under review"),
    "held_for_review": ("内容待复核", "Held for a content check"),
    "returned": ("已退回，待修改", "Returned for correction"),
    "approved": ("已通过", "Approved"),
    "rejected": ("未通过", "Rejected"),
    "withdrawn": ("已撤回", "Withdrawn"),
}

ACTIONS: dict[str, tuple[str, str]] = {
    "submitted": ("提交", "Submitted"),
    "approved": ("通过", "Approved"),
    "returned": ("退回", "Returned"),
    "rejected": ("不予通过", "Rejected"),
    "withdrawn": ("撤回", "Withdrawn"),
    "corrected": ("修改后重新提交", "Corrected and resubmitted"),
    "held_for_review": ("内容待复核", "Held for a content check"),
    "released": ("复核通过", "Released after the content check"),
    "metrics_verified": ("核实账号数据", "Account figures verified"),
    "activity_submitted": ("提交实践活动总结", "Activity summary submitted"),
}

PLATFORMS: dict[str, tuple[str, str]] = {
    "weibo": ("新浪微博", "Weibo"),
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
    "mini_program": ("小程序", "Mini program"),
    "app": ("手机客户端", "Mobile app"),
    "other": ("其他平台", "Other platform"),
}

PHASES: dict[str, tuple[str, str]] = {
    "nomination": ("报名推荐", "Nomination"),
    "initial_review": ("初评", "Initial review"),
    "voting": ("网络投票", "Public voting"),
    "expert_review": ("专家评审", "Expert review"),
    "final_review": ("终评", "Final review"),
    "publication": ("成果发布", "Publication"),
}


def pick(table: dict[str, tuple[str, str]], key: str | None, lang: str, default: str = "") -> str:
    pair = table.get(key or "")
    if pair is None:
        return default or (key or "")
    return pair[1] if lang == "en" else pair[0]


def fill(text: str, values: dict[str, Any] | None) -> str:
    """Put detail values into a sentence; a placeholder without a value is dropped with its clause intact."""
    for k, v in (values or {}).items():
        text = text.replace("{" + k + "}", str(v))
    return text


def error_sentence(error: dict[str, Any], lang: str) -> str:
    """The sentence for a service's refusal: ours for known codes, else the service's own message."""
    code = error.get("code", "")
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    if code in ERRORS and (code != "quota_exceeded" or "remaining_today" in details):
        sentence = fill(pick(ERRORS, code, lang), details)
        if "{" not in sentence:
            return sentence
    own = error.get("message") if lang == "en" else error.get("message_zh")
    return own or pick(ERRORS, "internal_error", lang)


def messages_for_script(lang: str) -> dict[str, str]:
    """Error sentences and the few UI strings the voting script needs, in one language."""
    out = {code: pick(ERRORS, code, lang) for code in ERRORS}
    for key in ("code_sent", "verified", "votes_left", "voted", "phone_invalid", "code_format"):
        out[key] = pick(UI, key, lang)
    return out
