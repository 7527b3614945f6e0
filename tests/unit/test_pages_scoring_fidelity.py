"""The committee's final review and the public results as people read them: scores written half-up with two
decimals as the explanations write them, open anti-fraud cases that could change a rank warned about before
approval, forfeited activity scores not listed as to come, and per entry the votes counted, held and invalidated
with their reasons."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt

from services.gateway.app import create_app
from services.gateway.score_sheet import score_sheet
from services.gateway.visitor import STAFF_COOKIE

A, B = str(uuid.uuid4()), str(uuid.uuid4())
CAMPAIGN = {"id": "c1", "title": "推选活动", "title_en": "The selection", "organizer": "o", "timezone": "Asia/Shanghai",
            "current_phase": "final_review", "phases": [], "voting": {"show_counts": "always", "votes_per_day": 10},
            "categories": [{"id": "gov", "name": "政务账号", "name_en": "Government accounts"}]}
VOTE_A = {"weight": 30, "votes": 10, "held": 4, "invalidated": 30,
          "held_reasons": [{"reason_code": "device_shared", "votes": 4, "reason": "many identities voting from one "
                            "device", "reason_zh": "多个身份使用同一设备投票"}],
          "invalidations": [{"reason_code": "burst", "votes": 30, "reason": "a burst of new voters",
                             "reason_zh": "短时间内大量新身份投票"}]}


def _entry(entry_id: str, name: str, rank: int, total: float, vote: dict[str, Any]) -> dict[str, Any]:
    return {"entry_id": entry_id, "entry_name": name, "unit_id": "u", "unit_name": f"{name}单位", "rank": rank,
            "total": total, "components": {"initial": 0.0, "vote": 100.0, "expert": 54.38, "activity": 0.0},
            "explanation": {"vote": vote, "expert": {"weight": 30, "scores": [54.37, 54.38], "formula":
                                                     "mean(54.37, 54.38) = 54.38"}}}


FINAL = {"campaign_id": "c1", "title": "推选活动", "approval": None, "published_version": None, "adjustments": [],
         "expert_scores": [], "approval_with_open_cases": "warn",
         "expert_review": {"pending": [], "recusals": [], "reopenings": [],
                           "forfeited": [{"expert_id": "expert-wu", "entry_id": B, "component": "activity"}]},
         "rankings": {"gov": {"rule_version": "c1@v1:abc", "inputs_digest": "d", "warnings": [], "entries": [
             _entry(A, "甲号", 1, 78.125, VOTE_A), _entry(B, "乙号", 2, 54.375, {"weight": 30, "votes": 40,
                                                                               "held": 0, "invalidated": 0})]}},
         "open_cases": [{"category_id": "gov", "entry_id": A, "entry_name": "甲号", "held_votes": 4, "rank": 1,
                         "rank_if_reinstated": 1, "ranks_changed": [], "could_change_rank": False,
                         "together_could_change_rank": False, "reasons": VOTE_A["held_reasons"]},
                        {"category_id": "gov", "entry_id": B, "entry_name": "乙号", "held_votes": 450, "rank": 2,
                         "rank_if_reinstated": 1, "ranks_changed": [{"entry_id": B}], "could_change_rank": True,
                         "together_could_change_rank": True, "reasons": []}]}
_JUMP = {"entry_id": B, "entry_name": "乙号", "unit_name": "乙号单位", "window_start": "2026-11-25T06:30:00+00:00",
         "window_end": "2026-11-25T06:40:00+00:00", "identities": 403, "campaign_identities": 900, "share": 0.45,
         "share_before": 0.2, "ratio": 1.9, "excess": 220, "surge": False, "counted_votes": 2681, "flagged_votes": 0,
         "invalidated_votes": 0, "new_identities": 380, "new_counted_votes": 2600}
JUMPS = {"jumps": [_JUMP, {**_JUMP, "entry_id": A, "entry_name": "甲号", "ratio": 6.0, "surge": True,
                           "flagged_votes": 300, "counted_votes": 0}]}
RESULTS = {"campaign_id": "c1", "version": 1, "published_at": "2026-11-28T00:00:00+00:00", "categories": {
    "gov": {"name": "政务账号", "entries": [{**_entry(A, "甲号", 1, 78.125, VOTE_A), "winner": True}]}}}


async def _page(path: str, role: str | None = None, *, antifraud: bool = True) -> str:
    def answer(request: httpx.Request) -> httpx.Response:
        bodies = {"/campaigns/c1": CAMPAIGN, "/campaigns/c1/final-review": FINAL, "/campaigns/c1/results": RESULTS}
        if antifraud and request.url.params.get("whole_campaign") == "true":  # the voting period's, not the last day's
            bodies["/campaigns/c1/jumps"] = JUMPS
        body = bodies.get(request.url.path)
        return httpx.Response(200, json=body) if body else httpx.Response(404, json={"error": {"code": "not_found"}})

    upstream = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    cookies = {}
    if role:
        cookies[STAFF_COOKIE] = jwt.encode({"sub": f"{role}-1", "role": role, "exp": int(time.time()) + 600},
                                           "test-secret-not-checked-by-the-gateway", algorithm="HS256")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(client=upstream)),
                                 base_url="http://pages", cookies=cookies) as client:
        r = await client.get(path)
    await upstream.aclose()
    assert r.status_code == 200, r.text
    return r.text


async def test_the_final_review_warns_the_supervisor_of_open_cases_that_could_change_a_rank() -> None:
    page = await _page("/console/c/c1/final-review", "supervisor")
    assert 'id="open-cases"' in page and "现在审批即按当前排名审批" in page
    assert f'data-entry="{B}" data-could-change-rank="yes"' in page and "若恢复计入则排第 1 名" in page
    assert f'data-entry="{A}" data-could-change-rank="no"' in page and "核查结果不会改变排名" in page
    assert "待核查：多个身份使用同一设备投票（4 票）" in page
    english = await _page("/console/c/c1/final-review?lang=en", "supervisor")
    assert "rank 1 if reinstated: the review could change a rank" in english


async def test_the_final_review_writes_scores_as_its_explanations_do_and_keeps_forfeits_out_of_pending() -> None:
    page = await _page("/console/c/c1/final-review", "committee")
    assert '<strong class="total">78.13</strong>' in page and '<strong class="total">54.38</strong>' in page
    assert "mean(54.37, 54.38) = 54.38" in page and "<dd>54.38</dd>" in page
    assert "待提交的专家评分" not in page  # nothing is to come: the forfeited part is not pending
    assert 'id="forfeited-scores"' in page and "无需评分的专家评分：1 项" in page


async def test_the_final_review_shows_the_committee_the_jumps_of_the_voting_period_no_case_covers() -> None:
    page = await _page("/console/c/c1/final-review", "committee")
    section = page.split('<section aria-labelledby="jumps-title" id="jumps">')[1].split("</section>")[0]
    assert "投票期间份额突增的作品" in section and 'id="jumps-uncovered"' in section
    assert "1 次份额突增无案件覆盖" in section
    rows = {r.split('"')[1]: r for r in section.split("data-entry=")[1:]}
    assert "无案件覆盖" in rows[B] and "其中 380 个身份此前从未投票（2600 票计入）" in rows[B]
    assert "无案件覆盖" not in rows[A] and "规则视为激增" in rows[A]
    assert "人工暂缓计入…" not in section  # the committee reads; the operators hold
    admin = await _page("/console/c/c1/final-review", "admin")
    assert f"/console/c/c1/holds/new?entry_id={B}" in admin
    english = await _page("/console/c/c1/final-review?lang=en", "supervisor")
    assert "Jumps no case covers: 1." in english
    # the anti-fraud service out: the review still opens, the section says it cannot tell
    out = await _page("/console/c/c1/final-review", "committee", antifraud=False)
    part = out.split('<section aria-labelledby="jumps-title" id="jumps">')[1].split("</section>")[0]
    assert '<p class="meta">—</p>' in part and '<strong class="total">78.13</strong>' in out


async def test_public_results_show_votes_counted_held_and_invalidated_with_reasons() -> None:
    page = await _page("/c/c1/results")
    assert '<td class="num">78.13</td>' in page
    assert "计入 10 票 / 待核查 4 票 / 已作废 30 票" in page
    assert "已作废：短时间内大量新身份投票（30 票）" in page and "待核查：多个身份使用同一设备投票（4 票）" in page
    english = await _page("/c/c1/results?lang=en")
    assert "Invalidated: a burst of new voters (30)" in english


def test_the_score_sheet_shows_a_forfeited_activity_as_forfeited_not_to_score() -> None:
    final = {**FINAL, "expert_review": {**FINAL["expert_review"], "pending": [
        {"expert_id": "expert-li", "entry_id": A, "component": "expert"}]}}
    [sheet] = score_sheet(final, "")
    rows = {e["entry_id"]: [(r["expert_id"], r["component"], r["state"]) for r in e["rows"]] for e in sheet["entries"]}
    assert rows == {A: [("expert-li", "expert", "to_score")], B: [("expert-wu", "activity", "forfeited")]}


async def test_the_expert_scores_page_names_the_forfeited_state() -> None:
    page = await _page("/console/c/c1/expert-scores", "committee")
    assert 'data-state="forfeited"' in page and "实践活动视作放弃，无需评分" in page


async def test_the_final_review_names_the_registry_snapshot_the_initial_figures_came_from() -> None:
    snapshot = {"id": str(uuid.uuid4()), "taken_on": "2024-07-31"}
    entry = FINAL["rankings"]["gov"]["entries"][0]  # type: ignore[index]
    entry["explanation"]["initial"] = {"weight": 20, "source": "registry", "snapshot": snapshot}
    try:
        page = await _page("/console/c/c1/final-review", "committee")
    finally:
        del entry["explanation"]["initial"]
    card = page[page.index(f'id="e-{A}"'):page.index(f'id="e-{B}"')]
    assert "初评数据" in card and "账号备案库快照" in card
    assert snapshot["id"] in card and "2024-07-31" in card
    assert "账号备案库快照" not in page[page.index(f'id="e-{B}"'):]
