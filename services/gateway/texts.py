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
    "captcha_required": ("请先输入图中的字符，再获取验证码。",
                         "Type the characters in the picture first, then ask for the code."),
    "captcha_wrong": ("图中字符输入不正确或图片已过期，请按新图片重新输入。",
                      "Those characters did not match or the picture expired; type the ones in the new picture."),
    "sms_throttled": ("短信发送过于频繁，请稍等一分钟再获取验证码。",
                      "Too many messages to this number just now; wait a minute, then ask again."),
    "phone_number_invalid": ("这个手机号码收不到短信，请核对后重新输入。",
                             "This number cannot receive text messages; check it and try again."),
    "sms_unavailable": ("短信服务暂时不可用，请稍后再试。", "Text messages cannot be sent right now; please try again "
                        "shortly."),
    "wechat_state_invalid": ("微信授权已过期，请重新点击“微信验证”。",
                             "The WeChat authorisation expired; tap “Verify with WeChat” again."),
    "wechat_code_invalid": ("微信授权未成功，请重新点击“微信验证”。",
                            "WeChat did not confirm you; tap “Verify with WeChat” again."),
    "wechat_unavailable": ("微信验证暂时不可用，请稍后再试或用手机号验证。",
                           "WeChat verification is not available right now; try later or verify by text message."),
    "verification_method_unavailable": ("本活动未开通微信验证，请用手机号验证。",
                                        "WeChat verification is not offered here; verify by text message."),
    "image_not_an_image": ("这个文件不是图片，请上传 PNG、JPEG 或 WebP 图片。",
                           "This file is not a picture; upload a PNG, JPEG or WebP image."),
    "image_unsupported_format": ("不支持这种图片格式（{format}），请上传 PNG、JPEG 或 WebP 图片。",
                                 "This picture format ({format}) is not accepted; upload a PNG, JPEG or WebP image."),
    "image_too_large": ("图片太大：最大 {max_bytes} 字节，请压缩后再上传。",
                        "The picture is too large: at most {max_bytes} bytes; make it smaller and try again."),
    "image_too_many_pixels": ("图片尺寸太大：最多 {max_pixels} 像素，请缩小后再上传。",
                              "The picture has too many pixels: at most {max_pixels}; scale it down and try again."),
    "image_missing": ("请先选择一张图片。", "Choose a picture first."),
    "validation_failed": ("填写的内容有误，请按提示修改。", "Some of what you entered is not valid; see the notes."),
    "malformed_json": ("请求格式有误，请刷新页面后重试。", "The request was garbled; reload the page and try again."),
    "service_unavailable": ("服务暂时不可用，请稍后再试。", "The service is not available right now; please try again "
                            "shortly."),
    "internal_error": ("服务出错了，请稍后再试。", "Something went wrong on our side; please try again shortly."),
    "network_error": ("网络连接失败，请检查网络后重试。", "Could not reach the site; check your connection and try again."),
    "campaign_not_found": ("没有找到这个活动。", "There is no such campaign."),
    "not_found": ("没有找到您要的内容。", "Nothing was found here."),
    "vote_not_sealed": ("该票尚未封存：投票日结束后（或投票截止时）封存，请稍后再核验。",
                        "This vote is not sealed yet: a day is sealed after it ends (or at the close of voting)."),
    "invalid_credentials": ("用户名或密码不正确。", "Wrong username or password."),
    "too_many_sign_ins": ("登录失败次数过多，请 {retry_after_s} 秒后再试。",
                          "Too many failed sign-ins; try again in {retry_after_s} seconds."),
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
    "role_not_allowed": ("您的账号角色不能使用这个功能。", "Your account's role cannot use this."),
    # the expert review
    "not_an_expert": ("您不是本活动的评审专家。", "You are not an expert of this campaign."),
    "not_assigned": ("这个作品没有分配给您评审。", "This entry is not assigned to you."),
    "expert_recused": ("您已回避这个作品，不能再为它评分。", "You are recused from this entry and cannot score it."),
    "entry_not_active": ("这个作品已退出评选，无需评分。", "This entry has left the selection; it needs no score."),
    "review_deadline_passed": ("专家评审已截止，不能再评分。", "The expert review has closed; scores are no longer "
                               "accepted."),
    "score_locked": ("评分已提交并锁定；如需修改，请联系评审委员会重新开放。",
                     "This score was submitted and is locked; ask the committee to reopen it to change it."),
    "activity_forfeited": ("该单位未在规定期限内开展实践活动，这一部分视作放弃，无需评分。",
                           "The activity was not held within its period; this part is forfeited and needs no score."),
    "activity_evidence_missing": ("请至少提供一个活动佐证链接。", "Give at least one link that shows the activity."),
    "activity_link_invalid": ("佐证链接应以 http:// 或 https:// 开头。",
                              "Evidence links must start with http:// or https://."),
    "activity_not_yet_held": ("活动开展日期不能晚于今天。", "The day the activity was held cannot be in the future."),
    "open_fraud_cases": ("尚有待复核的投票可能改变排名，本活动规定须先完成复核再审批。",
                         "Votes held for review could change a rank; this campaign approves only after the review."),
    "criteria_incomplete": ("请为每个评分项都打分。", "Please give points for every criterion."),
    # anti-fraud review
    "cases_not_found": ("选中的案件中有的已不存在或不属于本活动，所有案件均未处理；请刷新页面后重试。",
                        "Some of the selected cases are not cases of this campaign; none was decided. Reload the "
                        "page and try again."),
    "criterion_unknown": ("有评分项不属于本次评审，请刷新页面后重试。",
                          "Some criteria are not part of this review; reload the page and try again."),
    "score_out_of_range": ("分值超出范围：每项须在 0 到 {max_points} 分之间。",
                           "Points out of range: each criterion allows 0 to {max_points}."),
    "score_not_submitted": ("这项评分目前没有锁定（可能已被重新开放，或专家尚未提交），无需重新开放。",
                            ("This score is not locked now (it may have been reopened already, or was never "
                             "submitted); there is nothing to reopen.")),
    "reopen_reason_required": ("请填写重新开放的理由（至少 2 个字）：理由会记入评分的处理记录。",
                               ("Please give a reason for reopening (at least 2 characters); it is kept in the "
                                "score's record.")),
    "panel_not_found": ("没有这个评审组。", "There is no such expert panel."),
    # the committee, the supervisor, publication
    "points_invalid": ("请填写调整分值：-100 到 100 之间的非零数字。", "Enter the points: a number from -100 to 100, "
                       "not 0."),
    "adjustment_zero": ("调整分值不能为 0。", "An adjustment of 0 points changes nothing."),
    "entry_not_found": ("本活动中没有这个参评作品。", "There is no such entry in this campaign."),
    "nothing_to_approve": ("还没有可以审批的排名。", "There is no ranking to approve yet."),
    "not_approved": ("结果须经主管单位审批后才能发布。", "The supervising unit must approve the results before "
                     "they are published."),
    "approval_stale": ("审批后排名又有变化，须由主管单位重新审批后才能发布。",
                       "A ranking changed after the approval; the supervising unit must approve it again."),
    "already_published": ("这一版结果已经发布过了（第 {version} 版）。",
                          "These results are already published (version {version})."),
    "winners_invalid": ("入选数量须为不小于 0 的整数。", "The number of winners must be a whole number, 0 or more."),
    "results_not_published": ("结果尚未公布。", "The results have not been published yet."),
    # the operator
    "case_not_found": ("没有这个异常投票案件。", "There is no such case."),
    "decision_not_allowed": ("这个案件已经是该状态，无需重复处理。", "The case is already in that state."),
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
    "held_note": ("票数不含待核查和已作废的票。疑似异常的票先“待核查”，核查完成前不计入票数：核查确认有效的恢复计入，"
                  "确认无效的作废。",
                  "Vote counts leave out held and invalidated votes. Votes that look irregular are held for review "
                  "and do not count until they are reviewed: those found valid count again, the rest are "
                  "invalidated."),
    "held_n": ("待核查 {n} 票", "{n} held for review"),
    "invalidated_n": ("已作废 {n} 票", "{n} invalidated"),
    "counted_n": ("计入 {n} 票", "{n} counted"),
    "reason_held": ("待核查：{reason}（{n} 票）", "Held: {reason} ({n})"),
    "reason_invalidated": ("已作废：{reason}（{n} 票）", "Invalidated: {reason} ({n})"),
    "no_results": ("结果尚未公布，敬请关注。", "The results have not been published yet."),
    "vote": ("投票", "Vote"),
    "vote_for": ("投票给", "Vote for"),
    "vote_count": ("票数", "Number of votes"),
    "votes_per_day": ("每人每天可投 {n} 票，可集中投给一个作品。", "Each person has {n} votes a day, all to one entry if "
                      "they like."),
    "verify_title": ("手机号验证", "Verify your mobile number"),
    "verified_title": ("已验证", "Verified"),
    "resend_in": ("{n} 秒后可重新获取", "Ask again in {n} s"),
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
    "receipt_no": ("回执编号：{vote_id}", "Receipt number: {vote_id}"),
    "receipt_check": ("核验回执", "Check the receipt"),
    "vote_log": ("投票记录公示", "Sealed vote log"),
    "anchors_title": ("本结果依据的可核验记录", "What this result can be checked against"),
    "anchors_intro": ("计算本结果时封存的每日投票记录树根，以及各服务决策审计链的链头。任何人都可以用公开数据复核"
                      "（massline verify、massline audit verify，方法见 transparency 与 audit 文档）。",
                      "The sealed vote-log roots of each day and the head of each service's hash-chained record of "
                      "decisions when this result was published. Anyone can check them from published data "
                      "(massline verify, massline audit verify; docs/transparency.md and docs/audit.md)."),
    "anchor_day": ("投票日", "Voting day"),
    "anchor_root": ("默克尔树根", "Merkle root"),
    "anchor_votes": ("票数记录", "Vote records"),
    "anchor_service": ("服务", "Service"),
    "anchor_seq": ("序号", "Sequence"),
    "anchor_head": ("审计链头", "Audit chain head"),
    "vote_log_intro": ("每个投票日结束（及投票截止）时，当日全部投票封存为一棵默克尔树，下表为各日的树根。记录中没有任何个人信息；"
                       "任何人都可据此核验自己的投票是否被计入，并复算各作品票数（方法见 transparency 文档）。",
                       "At the end of each voting day (and at the close of voting) that day's votes are sealed as a "
                       "Merkle tree; below are the roots. The log holds no personal data: anyone can check their own "
                       "vote is in it and recount every entry's votes (see the transparency document)."),
    "seal_day": ("投票日", "Day"),
    "seal_root": ("树根（SHA-256）", "Root (SHA-256)"),
    "seal_leaves": ("票数记录", "Votes"),
    "sealed_at": ("封存时间", "Sealed at"),
    "no_seals": ("尚无封存记录（投票日结束后封存）。", "Nothing sealed yet (a day is sealed after it ends)."),
    "vote_log_complete": ("投票已截止，全部投票均已封存。", "Voting is closed and every vote is sealed."),
    "check_receipt": ("核验我的投票", "Check my vote"),
    "check_receipt_hint": ("输入回执编号，浏览器将下载该票的包含证明并在本机计算校验，不依赖本站的判断。",
                           "Enter the receipt number: your browser fetches the vote's inclusion proof and checks it "
                           "itself, without taking this site's word for it."),
    "check": ("核验", "Check"),
    "receipt_ok": ("核验通过：该票位于 {day} 封存记录第 {index} 条（共 {size} 条），封存时状态：{status}。",
                   "Checked: the vote is leaf {index} of {size} in the seal of {day}; sealed as {status}."),
    "leaf_counted": ("已计入", "counted"),
    "leaf_held": ("暂扣待核", "held for review"),
    "leaf_invalidated": ("已作废", "invalidated"),
    "receipt_bad": ("核验失败：证明与公示的树根不符。", "Check failed: the proof does not lead to the published root."),
    "receipt_unavailable": ("无法核验：{reason}", "Cannot check: {reason}"),
    "phone_invalid": ("请输入11位手机号码。", "Enter an 11-digit mobile number."),
    "code_format": ("验证码是6位数字。", "The code is 6 digits."),
    "captcha": ("图中字符", "Characters in the picture"),
    "captcha_image": ("图形验证码：请输入图中的字符", "Captcha: type the characters this picture shows"),
    "captcha_refresh": ("看不清，换一张", "Show another picture"),
    "captcha_prompt": ("请输入图中的字符。", "Type the characters in the picture."),
    "voting_closed": ("现在不在网络投票阶段。", "Public voting is not open now."),
    "sign_out_voter": ("换个号码", "Use another number"),
    "wechat_verify": ("微信验证", "Verify with WeChat"),
    "wechat_verified": ("已通过微信验证，可以投票了。", "Verified with WeChat: you can vote now."),
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
    "inbox": ("消息", "Notices"),
    "inbox_empty": ("暂无消息。", "No notices yet."),
    "inbox_none": ("此角色没有个人消息箱。", "This role has no inbox of its own."),
    "unread": ("未读", "unread"),
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
    "activity_held_by": ("活动须在此前开展", "The activity must be held before"),
    "activity_late_marked": ("总结逾期仅标记为逾期", "a late summary is only marked late"),
    "activity_held_on": ("活动开展日期", "Day the activity was held"),
    "activity_outside_period": ("不在规定期限内，实践活动得分视作放弃", "outside the period: the activity part is forfeited"),
    "activity_summary_late": ("总结逾期提交", "summary late"),
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
    "status_all_ready": ("所有服务运行正常。", "Every service is running."),
    "status_degraded": ("部分服务暂时不可用，投票和报名可能受影响。", "Some services are not available right now; "
                        "voting or nominations may be affected."),
    "status_ready": ("正常", "Ready"),
    "status_not_ready": ("未就绪", "Not ready"),
    "status_unreachable": ("无法连接", "Unreachable"),
    "status_service": ("服务", "Service"),
    "status_state": ("状态", "State"),
    "status_checked": ("检查时间", "Checked at"),
    "status_json": ("供程序读取的 JSON", "The same as JSON, for programs"),
    "rules": ("活动规则", "Rules"),
    "privacy": ("隐私声明", "Privacy statement"),
    "filing_police": ("公安备案", "Public security filing"),
    "entry_picture": ("账号头像", "Account picture"),
    "image_title": ("头像或标志", "Avatar or logo"),
    "image_hint": ("PNG、JPEG 或 WebP 图片，不超过 900 KB、4000 万像素；将裁成正方形并去除拍摄信息等元数据。",
                   "A PNG, JPEG or WebP picture up to 900 KB and 40 megapixels; it is cropped square and its "
                   "metadata (camera, location) removed."),
    "image_file": ("选择图片", "Choose a picture"),
    "image_upload": ("上传", "Upload"),
    "image_ok": ("头像已更新。", "The picture is updated."),
    "updated": ("更新于", "Updated"),
    "open_console": ("进入工作台", "Open the console"),
    "role_note": ("本页面供推荐单位和审核单位使用。", "For nominating units and reviewing offices."),
    # the expert
    "my_assignments": ("我的评审任务", "My assignments"),
    "review_deadline": ("评审截止", "Review closes"),
    "no_assignments": ("目前没有分配给您的作品。", "Nothing is assigned to you yet."),
    "component_expert": ("账号评分", "Account score"),
    "component_activity": ("实践活动评分", "Activity score"),
    "points_range": ("{min}–{max} 分", "{min}–{max} points"),
    "save_draft": ("保存草稿", "Save as draft"),
    "submit_score": ("提交评分", "Submit the score"),
    "submit_note": ("提交后评分锁定，不能再修改。", "Once submitted, the score is locked."),
    "score_total": ("得分", "Score"),
    "assignment_to_score": ("待评分", "To score"),
    "assignment_draft": ("草稿（未计入）", "Draft (does not count)"),
    "assignment_submitted": ("已提交（已锁定）", "Submitted (locked)"),
    "assignment_recused": ("已回避", "Recused"),
    "recuse": ("申请回避", "Recuse"),
    "recusal_reason": ("回避理由", "Reason for recusal"),
    "recuse_intro": ("与这个作品有利益关系时，请说明理由后回避；回避后您给出的评分不再计入。",
                     "If you have a conflict of interest with this entry, recuse with a reason; any score you gave "
                     "stops counting."),
    "activity_summary_status": ("实践活动总结", "Activity summary"),
    "score_saved": ("草稿已保存（尚未计入）。", "Draft saved (it does not count yet)."),
    "score_submitted": ("评分已提交。", "The score has been submitted."),
    "recused_ok": ("已回避该作品。", "You are recused from this entry."),
    "reopened_for_you": (("评审委员会已重新开放这项评分：请按下面的理由修改后重新提交；"
                          "重新提交之前，这项评分不计入排名。"),
                         ("The committee reopened this score: please correct it as the reason below says and submit "
                          "it again; until then it does not count.")),
    "reopened_resubmitted": ("这项评分曾由评审委员会重新开放，您已修改并重新提交。",
                             "The committee reopened this score; you have corrected it and submitted it again."),
    "reopen_history": ("重新开放记录", "Reopenings of this score"),
    # the committee and supervisor
    "final_review": ("终评与发布", "Final review and publication"),
    "no_rankings": ("还没有排名。", "There is no ranking yet."),
    "components": ("各项得分", "Components"),
    "explanation": ("计算依据", "How it was computed"),
    "comp_initial": ("初评", "Initial"),
    "initial_figures": ("初评数据", "Initial figures"),
    "registry_snapshot": ("账号备案库快照", "Account registry snapshot"),
    "registry_account": ("备案账号", "Registry account"),
    "registry_hint": ("从本单位在账号备案库中备案的账号中选择：认证名称、账号ID、平台、级别和运营数据（{day}及以前最近一期快照）由备案库填入。",
                      "Pick one of your unit's accounts filed in the account registry: its verified name, id, "
                      "platform, level and figures (the latest snapshot on or before {day}) fill the nomination."),
    "registry_free_text": ("不从备案库选择，直接填写账号信息", "Not from the registry: fill in the account's details"),
    "registry_none": ("本单位在账号备案库中还没有账号。", "Your unit has no accounts in the registry yet."),
    "registry_status": ("备案状态", "Registry status"),
    "registry_status_filed": ("已备案", "filed"),
    "registry_status_active": ("正常", "active"),
    "registry_status_suspended": ("已暂停", "suspended"),
    "registry_status_closed": ("已注销", "closed"),
    "registry_verified_name": ("认证名称", "Verified name"),
    "registry_platform_id": ("平台与账号ID", "Platform and account id"),
    "registry_eligible_now": ("现在能否参评", "Eligible now"),
    "registry_yes": ("符合条件", "yes"),
    "registry_figures": ("{day}：粉丝 {followers} · 发稿 {posts} · 互动 {interactions}",
                         "{day}: followers {followers} · posts {posts} · interactions {interactions}"),
    "comp_vote": ("网络投票", "Public vote"),
    "comp_expert": ("专家评审", "Experts"),
    "comp_activity": ("实践活动", "Activity"),
    "adjust": ("调整分值", "Adjust a total"),
    "adjust_entry": ("调整的作品", "Entry to adjust"),
    "adjust_points": ("调整分值（正数加分，负数减分）", "Points (positive adds, negative takes away)"),
    "adjust_reason": ("调整理由", "Reason for the adjustment"),
    "record_adjustment": ("记录调整", "Record the adjustment"),
    "adjustments": ("调整记录", "Adjustments"),
    "no_adjustments": ("没有调整。", "No adjustments."),
    "approval": ("主管单位审批", "Supervisor's approval"),
    "approval_note": ("审批意见", "Approval note"),
    "approve_results": ("审批通过当前排名", "Approve the rankings as they are"),
    "approval_none": ("尚未审批。", "Not approved yet."),
    "approval_current": ("已审批（{by}，{at}），排名未再变化。", "Approved by {by} at {at}; nothing changed since."),
    "approval_stale_note": ("已审批（{by}，{at}），但此后排名有变化，须重新审批。",
                            "Approved by {by} at {at}, but a ranking changed since; it must be approved again."),
    "publication": ("发布结果", "Publication"),
    "winners_for": ("“{name}”入选数量（留空按活动方案）", "Winners in “{name}” (empty: as the campaign plans)"),
    "publish": ("发布结果", "Publish the results"),
    "published_version": ("已发布第 {v} 版。", "Version {v} is published."),
    "see_public_results": ("查看公开结果", "See the public results"),
    "pending_scores": ("待提交的专家评分：{n} 项", "Expert scores still to come: {n}"),
    "forfeited_scores": ("实践活动视作放弃、无需评分的专家评分：{n} 项（不计为待提交）",
                         "Activity scores not needed because the part is forfeited: {n} (not counted as to come)"),
    "open_cases_warn": ("以下作品尚有待核查的投票（反作弊案件未结）。核查若恢复这些票，排名可能改变；现在审批即按当前排名审批。",
                        "These entries have votes held for review (open anti-fraud cases). If the review reinstates "
                        "them a rank may change; approving now approves the ranking as it stands."),
    "open_cases_refuse": ("以下作品尚有待核查的投票，可能改变排名。本活动规定须先完成核查，才能审批。",
                          "These entries have votes held for review that could change a rank. This campaign "
                          "approves only after the review."),
    "open_case_line": ("{name}：待核查 {n} 票，现排第 {rank} 名", "{name}: {n} votes held for review, rank {rank} now"),
    "open_case_moves": ("若恢复计入则排第 {rank} 名，可能改变排名", "rank {rank} if reinstated: the review could change a rank"),
    "open_case_stays": ("核查结果不会改变排名", "the review cannot change a rank"),
    "open_case_moves_together": ("与本类别其他待核查的票一并恢复时可能改变排名",
                                 "reinstated together with the category's other held votes, a rank could change"),
    "warnings": ("提示", "Warnings"),
    "adjusted_ok": ("调整已记录，排名已重新计算。", "The adjustment is recorded and the ranking recomputed."),
    "approved_ok": ("已审批当前排名。", "The rankings are approved."),
    "published_ok": ("结果已发布。", "The results are published."),
    "expert_scores": ("专家评分明细", "Expert scores"),
    "expert_scores_of": ("查看本类别的专家评分", "Expert scores in this category"),
    "expert_scores_intro": (("每位专家对每个作品的评分及其状态。专家提出更正或发现录入有误时，可重新开放已锁定的评分："
                             "专家修改后重新提交，在此之前这项评分不计入排名。每次重新开放都记录理由、操作人和时间。"),
                            ("Every expert's score of every entry, with its state. When an expert asks for a "
                             "correction or a score was entered wrongly, a locked score can be reopened: the expert "
                             "changes it and submits it again, and until then it does not count. Every reopening "
                             "records the reason, who did it and when.")),
    "expert_name": ("评审专家", "Expert"),
    "entry_name": ("参评作品", "Entry"),
    "score_part": ("评审内容", "What was scored"),
    "criteria_points": ("各评分项", "Points per criterion"),
    "no_expert_scores": ("还没有分配专家或专家评分。", "No expert is assigned to this entry and no score has come."),
    "score_state_locked": ("已提交（已锁定）", "Submitted (locked)"),
    "score_state_resubmitted": ("重新提交（已锁定）", "Submitted again (locked)"),
    "score_state_reopened": ("已重新开放，待专家重新提交（暂不计入）",
                             "Reopened: waiting for the expert to submit again (does not count)"),
    "score_state_draft": ("草稿（未计入）", "Draft (does not count)"),
    "score_state_to_score": ("待评分", "Not scored yet"),
    "score_state_forfeited": ("实践活动视作放弃，无需评分", "Activity part forfeited: no score needed"),
    "score_state_recused": ("专家已回避（不计入）", "The expert is recused (does not count)"),
    "reopen": ("重新开放评分", "Reopen the score"),
    "reopen_reason": ("重新开放的理由", "Reason for reopening"),
    "reopen_hint": ("例如：专家来函说明某一评分项录入有误。",
                    "For example: the expert wrote that one criterion was entered wrongly."),
    "reopened_line": ("重新开放：{by}，{at}", "Reopened by {by} at {at}"),
    "reopen_confirm_title": ("确认重新开放评分", "Confirm: reopen this score"),
    "reopen_confirm_effect": (("确认后这项评分解除锁定，专家可以修改并重新提交；"
                               "在重新提交之前它不计入排名，排名会立即重新计算。"),
                              ("Once confirmed, the score is unlocked and the expert can change it and submit it "
                               "again; until then it does not count, and the ranking is recomputed at once.")),
    "reopen_confirm_approval": ("主管单位已审批当前排名；重新开放后排名会变化，须重新审批。",
                                ("The supervising unit approved the current rankings; after this change they must be "
                                 "approved again.")),
    "reopen_confirm_published": (("结果已发布第 {v} 版：已发布的版本不会改变，"
                                  "更正后的结果须重新审批，并作为新版本发布。"),
                                 ("Version {v} of the results is published: it stays as it is, and the corrected "
                                  "results must be approved again and published as a new version.")),
    "reopen_confirm_unknown": ("这项评分在当前的评审记录中找不到，可能已经变化；确认后由评分服务判断能否重新开放。",
                               ("This score is not in the current review as shown; on confirming, the scoring "
                                "service decides whether it can be reopened.")),
    "confirm_reopen": ("确认重新开放", "Reopen it"),
    "cancel": ("取消", "Cancel"),
    "reopened_ok": ("评分已重新开放，等待专家修改后重新提交。",
                    "The score is reopened; it waits for the expert to submit it again."),
    "go_to_score": ("查看这项评分", "Go to the score"),
    # the operator
    "operations": ("运行监测", "Operations"),
    "vote_rate": ("投票速率", "Vote rate"),
    "rate_average": ("近 {m} 分钟平均：每分钟 {n} 票", "Average over the last {m} minutes: {n} votes a minute"),
    "rate_short": ("近 {s} 秒共 {n} 票（采样不足一分钟，暂不折算每分钟速率）",
                   "{n} votes in the last {s} seconds (under a minute sampled: no rate a minute yet)"),
    "rate_chart": ("近 {m} 分钟每分钟的票数", "Votes in each of the last {m} minutes"),
    "rate_peak": ("其中最多的一分钟：{n} 票", "Busiest of those minutes: {n} votes"),
    "rate_axis": ("票/分钟", "votes/min"),
    "rate_time_axis": ("时间", "time"),
    "rate_gaps": ("没有柱的分钟：网关当时没有采样（例如刚启动）；最右一根柱是正在进行的一分钟。",
                  "A minute without a bar: the gateway was not sampling then (it had just started, say); the last "
                  "bar is the minute in progress."),
    "rate_none": ("暂无数据（每 15 秒采样一次，两次采样后才有速率）。",
                  "No figures yet (sampled every 15 seconds; a rate needs two samples)."),
    "rate_bar": ("{at}：{n} 票", "{at}: {n} votes"),
    "rate_bar_none": ("{at}：未采样", "{at}: not sampled"),
    "rate_scope": ("只统计本活动的投票；投票服务重启后，累计数从零开始。",
                   "This campaign's votes only; the totals start again from zero when the voting service restarts."),
    "health": ("系统状况", "System health"),
    "alerts": ("告警", "Alerts"),
    "alerts_not_connected": ("告警未接入：网关没有配置 Prometheus，本页不显示任何告警状态。接入方法：把环境变量 "
                             "MASSLINE_PROMETHEUS_URL 设为 Prometheus 的地址（例如 http://prometheus:9090）后重启网关，"
                             "本页即列出正在告警和待触发的告警，并附处理手册。",
                             "Alerting is not connected: the gateway has no Prometheus to ask, so this page shows no "
                             "alert state. To connect it, set MASSLINE_PROMETHEUS_URL to Prometheus's address (e.g. "
                             "http://prometheus:9090) and restart the gateway; this page then lists the firing and "
                             "pending alerts with their runbooks."),
    "alerts_unreadable": ("无法读取 Prometheus（{url}）的告警：告警状态未知。", "Could not read the alerts from "
                          "Prometheus ({url}): the alert states are unknown."),
    "alerts_none": ("Prometheus（{url}）目前没有正在告警或待触发的告警。",
                    "Prometheus ({url}) has no firing or pending alert now."),
    "alert_since": ("开始于", "since"),
    "runbook": ("处理手册", "Runbook"),
    "lag_scope": ("各消费组尚未处理的消息数，由各服务自报（每几秒测量一次）。",
                  "Messages each consumer group has not applied yet, as each service measures it (every few "
                  "seconds)."),
    "broker_lag": ("代理端统计", "Broker's count"),
    "service_lag": ("服务自报", "Service's count"),
    "outbox": ("发件箱", "Outbox"),
    "outbox_scope": ("各服务已记录、尚未发布到消息代理的事件；“—”表示该服务没有报告这一项。",
                     "Events each service recorded and has not published to the broker yet; \"—\": the service "
                     "does not report it."),
    "outbox_pending": ("待发布事件", "Events waiting"),
    "outbox_age": ("最早一条已等待", "Oldest has waited"),
    "seconds_n": ("{n} 秒", "{n} s"),
    "votes_accepted": ("本活动已接受的票数", "Votes accepted in this campaign"),
    "votes_refused": ("本活动被拒绝的投票请求", "Vote requests refused in this campaign"),
    "fraud_cases": ("异常投票案件", "Fraud review queue"),
    "pipeline": ("事件处理", "Event processing"),
    "consumer_group": ("消费组", "Consumer group"),
    "topic": ("主题", "Topic"),
    "consumer_lag": ("待处理消息", "Messages waiting"),
    "dead_letters": ("死信（无法处理的消息）", "Dead letters (messages that could not be applied)"),
    "service_unreachable": ("无法读取“{s}”服务的指标", "Could not read the metrics of the {s} service"),
    "errors": ("各服务错误", "Errors per service"),
    "errors_last_minutes": ("近 {n} 分钟", "the last {n} minutes"),
    "errors_last_seconds": ("近 {n} 秒", "the last {n} seconds"),
    "errors_since_start": ("自启动以来", "since each service started"),
    "errors_none": ("{w}各服务均无错误：没有 5xx 应答，也没有死信。",
                    "No errors in any service ({w}): no 5xx answers and no dead letters."),
    "errors_some": ("{w}有服务出错，见下表。", "Some services failed ({w}); see the table."),
    "errors_scope": ("数字为{w}的次数；“累计”为服务启动以来的次数。",
                     "Counts for {w}; \"in all\": since the service started."),
    "service": ("服务", "Service"),
    "since_start_total": ("（累计 {n}）", "({n} in all)"),
    "server_errors": ("5xx 应答", "5xx answers"),
    "dead_lettered": ("死信", "Dead letters"),
    "no_errors": ("无错误", "No errors"),
    "has_errors": ("有错误", "Errors"),
    "metrics_unreadable": ("无法读取指标", "Metrics unreadable"),
    "refusals_by_code": ("拒绝的投票请求（4xx，全部活动，按代码）：",
                         "Vote requests refused (4xx, all campaigns, by code):"),
    "no_refusals": ("没有拒绝的投票请求", "No vote request refused"),
    "voter_pseudonym": ("投票人（匿名）", "Voter (pseudonymous)"),
    "network": ("网段", "Network"),
    "device": ("设备", "Device"),
    "case_status_filter": ("案件状态", "Case status"),
    "show": ("显示", "Show"),
    "all": ("全部", "All"),
    "no_cases": ("没有案件。", "No cases."),
    "case": ("案件", "Case"),
    "case_reason": ("原因", "Reason"),
    "case_votes": ("涉及投票", "Votes held"),
    "case_opened": ("发现时间", "Opened"),
    "evidence": ("证据", "Evidence"),
    "vote_sample": ("涉及的投票（匿名标识）", "The votes (pseudonymous)"),
    "decisions": ("处理记录", "Decisions"),
    "case_decision": ("处理决定", "Decision"),
    "confirm": ("确认作废（这些票不计入）", "Confirm (these votes do not count)"),
    "overturn": ("推翻（这些票恢复计入）", "Overturn (these votes count again)"),
    "record_case_decision": ("提交处理决定", "Record the decision"),
    "case_decided_ok": ("处理决定已记录。", "The decision is recorded."),
    "per_entry": ("各作品作废与待查票数", "Invalidated and held votes per entry"),
    "invalidated_votes": ("已作废", "Invalidated"),
    "flagged_votes": ("待核查", "Held"),
    "nothing_invalidated": ("没有作废或待查的票。", "No vote is invalidated or held."),
    # the operator's review queue, bulk decisions and what-if ranks
    "sort_by": ("排序", "Order"),
    "sort_impact": ("按对名次的影响", "By effect on the ranks"),
    "sort_newest": ("最新发现的在前", "Newest first"),
    "impact_scope": ("会改变名次的案件排在前面，其次按涉及票数从多到少：待核查或已作废的案件按其票数恢复计入后计算，"
                     "已推翻的案件按确认作废后计算。",
                     "Cases whose decision would change a rank come first, then those with the most votes: a held or "
                     "invalidated case as if its votes counted again, an overturned one as if it were confirmed."),
    "changes_rank": ("会改变名次", "Changes a rank"),
    "impact_votes_release": ("不计入的票 {n} 票", "{n} votes out of the count"),
    "impact_votes_confirm": ("确认后将作废 {n} 票", "confirming removes {n} votes"),
    "page_range": ("第 {a}–{b} 个，共 {n} 个", "{a}–{b} of {n}"),
    "pages": ("翻页", "Pages"),
    "previous_page": ("上一页", "Previous page"),
    "next_page": ("下一页", "Next page"),
    "select_case": ("选中此案件", "Select this case"),
    "bulk_decision": ("批量处理选中的案件", "Decide the selected cases"),
    "bulk_submit": ("提交批量处理决定", "Record the decision for the selected cases"),
    "bulk_none_selected": ("请先勾选要处理的案件。", "Select the cases to decide first."),
    "bulk_decision_missing": ("请选择处理决定：确认作废或推翻。", "Choose a decision: confirm or overturn."),
    "bulk_decided": ("已处理 {n} 个案件；{m} 个已是该状态，未重复处理。",
                     "{n} cases decided; {m} already were so and were left as they are."),
    "what_if": ("名次推演", "What-if ranks"),
    "what_if_scope": ("按异常投票监测服务记录的有效票计算：现在的名次，与待核查的票全部恢复计入、或待核查的案件全部确认作废后的名次。",
                      "From the votes the anti-fraud service counts: the ranks now, if every held vote counted "
                      "again, and if every held case were confirmed."),
    "rank_now": ("现在", "Now"),
    "if_released": ("待核查票全部恢复计入", "If every held vote counted"),
    "if_confirmed": ("待核查案件全部确认作废", "If every held case were confirmed"),
    "rank_n": ("第 {n} 名", "No. {n}"),
    "votes_n": ("{n} 票", "{n} votes"),
    "what_if_moves": ("{n} 个作品名次会变化", "{n} entries would change rank"),
    "what_if_still": ("名次不变", "No rank changes"),
    "no_held": ("当前没有待核查的案件，名次不会因核查而变化。", "No case is held for review: no review can change a rank now."),
    "what_if_unavailable": ("暂时无法推演名次。", "The what-if ranks are not available right now."),
    "scoring_console": ("专家评分", "Expert scoring"),
}

CASE_STATUS: dict[str, tuple[str, str]] = {
    "flagged": ("待核查", "Held for review"),
    "invalidated": ("已确认作废", "Confirmed: invalidated"),
    "overturned": ("已推翻", "Overturned"),
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
    for key in ("code_sent", "verified", "votes_left", "voted", "phone_invalid", "code_format", "captcha_prompt",
                "wechat_verified", "receipt_no", "receipt_check", "receipt_ok", "receipt_bad", "receipt_unavailable",
                "verify_title", "verified_title", "resend_in", "send_code", "leaf_counted", "leaf_held",
                "leaf_invalidated"):
        out[key] = pick(UI, key, lang)
    return out

SERVICES: dict[str, tuple[str, str]] = {
    "submission": ("报名与审核", "Submission"),
    "voting": ("网络投票", "Voting"),
    "antifraud": ("异常投票监测", "Anti-fraud"),
    "scoring": ("评分与结果", "Scoring"),
    "notification": ("通知", "Notification"),
}

VOTE_STATES: dict[str, tuple[str, str]] = {
    "counted": ("计入", "Counted"),
    "flagged": ("待核查", "Held"),
    "invalidated": ("已作废", "Invalidated"),
}

CASE_ACTIONS: dict[str, tuple[str, str]] = {
    "flag": ("自动标记待查", "Held automatically"),
    "invalidate": ("自动作废", "Invalidated automatically"),
    "confirm": ("确认作废", "Confirmed"),
    "overturn": ("推翻", "Overturned"),
}


# The operations page: every code it can show, said in words (tests/unit/test_operations_labels.py checks that each
# code the services define has one).
REFUSALS: dict[str, tuple[str, str]] = {
    "quota_exceeded": ("超出每日票数", "Over the daily quota"),
    "entry_cap_exceeded": ("超出单个作品的每日上限", "Over the daily cap per entry"),
    "phase_closed": ("不在投票阶段", "Voting not open"),
    "vote_not_sealed": ("该票尚未封存", "Vote not sealed yet"),
    "seal_not_found": ("该日无封存记录", "No seal for that day"),
    "entry_not_votable": ("作品不可投票", "Entry not open to votes"),
    "campaign_not_found": ("活动不存在", "No such campaign"),
    "ticket_invalid": ("投票凭证缺失或无效", "Voter ticket missing or invalid"),
    "ticket_expired": ("投票凭证已过期", "Voter ticket expired"),
    "idempotency_key_reused": ("请求标识已用于另一张票", "Idempotency key used for another vote"),
    "refused": ("被投票规则拒绝", "Refused by a voting rule"),
    "code_recently_sent": ("验证码刚发过", "Code sent moments ago"),
    "code_expired": ("验证码已过期", "Code expired"),
    "code_invalid": ("验证码错误", "Wrong code"),
    "too_many_attempts": ("验证码输错次数过多", "Too many wrong codes"),
    "verification_method_unavailable": ("验证方式不可用", "Verification method unavailable"),
    "not_found": ("未找到", "Not found"),
    "captcha_required": ("需要图形验证码", "Captcha required"),
    "captcha_wrong": ("图形验证码错误", "Wrong captcha"),
    "sms_phone_limit": ("手机号获取验证码过于频繁", "Too many codes to one number"),
    "sms_address_limit": ("网络地址获取验证码过于频繁", "Too many codes from one address"),
    "sms_network_limit": ("网段获取验证码过于频繁", "Too many codes from one network"),
    "sms_throttled": ("短信服务商限流", "SMS vendor throttled"),
    "phone_number_invalid": ("手机号无法接收短信", "Number cannot receive SMS"),
    "sms_unavailable": ("短信服务不可用", "SMS service unavailable"),
    "wechat_state_invalid": ("微信授权已过期或无效", "WeChat sign-in expired or invalid"),
    "wechat_code_invalid": ("微信授权码无效", "WeChat code invalid"),
    "wechat_unavailable": ("微信授权服务不可用", "WeChat sign-in unavailable"),
    "validation_failed": ("请求内容有误", "Invalid request"),
    "malformed_json": ("请求格式错误", "Malformed request"),
    "body_too_large": ("请求内容过大", "Request too large"),
    "payload_too_large": ("请求内容过大", "Request too large"),
    "unauthenticated": ("未登录", "Not signed in"),
    "token_expired": ("登录已过期", "Sign-in expired"),
    "token_invalid": ("登录凭证无效", "Sign-in not valid"),
    "role_not_allowed": ("账号角色无权操作", "Role not allowed"),
    "forbidden": ("无权操作", "Forbidden"),
}

CONSUMERS: dict[str, tuple[str, str]] = {
    "campaigns": ("活动定义", "campaign definitions"),
    "entries": ("参评作品", "entries"),
    "nominations": ("推荐进度通知", "nomination notices"),
    "rankings": ("排名通知", "ranking notices"),
    "review": ("评审通知", "review notices"),
    "results": ("结果发布通知", "results notices"),
    "detectors": ("异常投票检测", "fraud detectors"),
    "tallies": ("票数汇总", "vote tallies"),
    "standings": ("实时排名", "live standings"),
    "invalidations": ("作废与恢复的票", "invalidated and reinstated votes"),
    "registry": ("账号备案库", "account registry"),
}

TOPICS: dict[str, tuple[str, str]] = {
    "massline.campaign.v1": ("活动事件", "Campaign events"),
    "massline.nomination.v1": ("推荐事件", "Nomination events"),
    "massline.vote.v1": ("投票事件", "Vote events"),
    "massline.vote-decision.v1": ("投票核查决定", "Vote decisions"),
    "massline.fraud-alert.v1": ("异常投票告警", "Fraud alerts"),
    "massline.tally.v1": ("票数汇总", "Vote tallies"),
    "massline.scoring.v1": ("评分与排名", "Scores and rankings"),
    "massline.result.v1": ("结果发布", "Published results"),
    "massline.review.v1": ("专家评审", "Expert review"),
    "massline.notification.v1": ("通知", "Notifications"),
    "massline.registry.v1": ("账号备案库", "Account registry"),
    "massline.broker-epoch": ("消息服务器纪元（重建检测）", "Broker epoch (rebuild detection)"),
}

ALERT_STATES: dict[str, tuple[str, str]] = {
    "firing": ("正在告警", "Firing"),
    "pending": ("待触发（条件已满足，等待持续时间）", "Pending (condition met, waiting out its duration)"),
}

SEVERITIES: dict[str, tuple[str, str]] = {
    "critical": ("严重", "Critical"),
    "warning": ("警告", "Warning"),
    "info": ("提示", "Info"),
}


def group_name(group: str, lang: str) -> str:
    """A consumer group (`<service>.<consumer>`) in words: 网络投票 · 实时排名; the group itself if unknown."""
    service, _, consumer = group.partition(".")
    if service not in SERVICES or consumer not in CONSUMERS:
        return group
    return f"{pick(SERVICES, service, lang)} · {pick(CONSUMERS, consumer, lang)}"
