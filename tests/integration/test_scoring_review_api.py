"""Expert review, final review and publication against real PostgreSQL, through the scoring HTTP API."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from test_scoring_projection import (  # noqa: F401  (the fixture is used by name)
    CAMPAIGN,
    CATEGORY,
    SCORING,
    A,
    B,
    C,
    Scoring,
    campaign_loaded,
    scoring,
    seed_000_category,
    tally,
)

from massline.auth import Caller, issue_token
from massline.contracts import ActivitySubmitted, CampaignLoaded, StandingReason, TallyUpdated
from services.scoring import app as scoring_app
from services.scoring import rankings
from services.scoring.settings import ScoringSettings

pytestmark = pytest.mark.integration

CRITERIA = {**SCORING,
            "expert_criteria": [{"id": "standardization", "name": "规范性", "name_en": "Standardization",
                                 "max_points": 25},
                                {"id": "reach", "name": "传播力", "name_en": "Reach", "max_points": 25},
                                {"id": "influence", "name": "影响力", "name_en": "Influence", "max_points": 25},
                                {"id": "service", "name": "服务性", "name_en": "Service", "max_points": 25}],
            "activity_criteria": [{"id": "conduct", "name": "活动开展情况", "max_points": 40},
                                  {"id": "effect", "name": "活动效果", "max_points": 60}]}


def points(a: float, b: float, c: float, d: float) -> dict[str, float]:
    return {"standardization": a, "reach": b, "influence": c, "service": d}


class Http:
    """The scoring API on the test's schema, with a staff token per user."""

    def __init__(self, scoring: Scoring, client: httpx.AsyncClient, secret: str) -> None:  # noqa: F811
        self.scoring, self.client, self.secret = scoring, client, secret

    async def call(self, method: str, path: str, user: str, role: str, **kw: Any) -> httpx.Response:
        token = issue_token(self.secret, Caller(user, role, None), 600)
        return await self.client.request(method, f"/campaigns/{CAMPAIGN}{path}",
                                         headers={"Authorization": f"Bearer {token}"}, **kw)

    async def admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.call(method, path, "admin", "admin", **kw)

    async def expert(self, name: str, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.call(method, path, name, "expert", **kw)

    async def committee(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.call(method, path, "committee-wang", "committee", **kw)

    async def supervisor(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.call(method, path, "supervisor-zhao", "supervisor", **kw)

    async def public(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(f"/campaigns/{CAMPAIGN}{path}", **kw)

    async def ranking(self) -> dict[str, dict[str, Any]]:
        row = await self.scoring.ranking()
        return {e["entry_id"]: e for e in row["entries"]}


@pytest.fixture
async def api(scoring: Scoring):  # noqa: F811
    await seed_000_category(scoring)
    await scoring.deliver(campaign_loaded(scoring=CRITERIA))
    app = scoring_app.create_app(ScoringSettings(database_url="postgresql://unused@127.0.0.1:1/none"))
    rt = app.state.runtime
    rt._pool = scoring.pool  # the lifespan (broker, relay) is not started here; routes only need the pool
    scoring.rt._pool = scoring.pool  # the periodic jobs are called directly
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scoring") as client:
        yield Http(scoring, client, rt.settings.secret_key)


async def _panel(api: Http, k: int = 2, **extra: Any) -> None:
    r = await api.admin("PUT", "/panels/p1", json={"name": "机构账号评审组", "category_ids": [CATEGORY],
                                                    "experts_per_entry": k, **extra})
    assert r.status_code == 200, r.text
    for name, unit in (("expert-li", "xa"), ("expert-wu", None), ("expert-he", None)):
        r = await api.admin("PUT", f"/panels/p1/experts/{name}", json={"display_name": name, "unit_id": unit})
        assert r.status_code == 200, r.text


async def test_assignment_gives_each_entry_k_experts_without_conflicts_and_balances_the_load(api: Http):
    await _panel(api, k=2)
    r = await api.admin("POST", "/panels/p1/assignments")
    assert r.status_code == 200, r.text
    body = r.json()
    experts = {e: v["expert"] for e, v in body["assignments"].items()}
    assert all(len(x) == 2 for x in experts.values()) and set(experts) == {str(A), str(B), str(C)}
    # expert-li belongs to unit xa, which nominated A: never assigned to it
    assert "expert-li" not in experts[str(A)]
    assert {"expert_id": "expert-li", "entry_id": str(A), "kind": "same_unit"} in body["conflicts_detected"]
    load = {x: sum(x in v for v in experts.values()) for x in ("expert-li", "expert-wu", "expert-he")}
    assert max(load.values()) - min(load.values()) <= 1
    # the expert sees only their own assignments, with the campaign's criteria
    mine = (await api.expert("expert-li", "GET", "/my-assignments")).json()
    assert {a["entry_id"] for a in mine["assignments"]} <= {str(B), str(C)}
    assert [c["name"] for c in mine["criteria"]["expert"]] == ["规范性", "传播力", "影响力", "服务性"]
    # running it again assigns nothing new
    again = (await api.admin("POST", "/panels/p1/assignments")).json()
    assert again["new_assignments"] == {"expert": 0, "activity": 0}


async def test_bad_scores_are_refused_with_a_code_and_change_nothing(api: Http):
    await _panel(api, k=2)
    experts = {e: v["expert"] for e, v in (await api.admin("POST", "/panels/p1/assignments")).json()[
        "assignments"].items()}
    who = experts[str(B)][0]
    stranger = next(x for x in ("expert-li", "expert-wu", "expert-he") if x not in experts[str(B)])
    before = await api.ranking()

    cases = [
        (who, points(26, 20, 20, 20), 422, "score_out_of_range"),
        (who, points(-1, 20, 20, 20), 422, "score_out_of_range"),
        (who, {"standardization": 20}, 422, "criteria_incomplete"),
        (who, {**points(20, 20, 20, 20), "beauty": 5}, 422, "criterion_unknown"),
        (stranger, points(20, 20, 20, 20), 403, "not_assigned"),
    ]
    for expert, criteria, status, code in cases:
        r = await api.expert(expert, "PUT", f"/my-assignments/{B}/expert", json={"criteria": criteria})
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    r = await api.call("PUT", f"/my-assignments/{B}/expert", "office", "office",
                       json={"criteria": points(20, 20, 20, 20)})
    assert r.json()["error"]["code"] == "role_not_allowed"
    r = await api.expert("nobody", "GET", "/my-assignments")
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_an_expert"
    assert await api.ranking() == before
    assert (await api.expert(who, "GET", "/my-assignments")).json()["assignments"][0]["status"] == "to_score"


async def test_a_submitted_score_counts_is_locked_and_reopens_only_with_a_reason(api: Http):
    await _panel(api, k=2)
    experts = {e: v["expert"] for e, v in (await api.admin("POST", "/panels/p1/assignments")).json()[
        "assignments"].items()}
    first, second = experts[str(B)]
    r = await api.expert(first, "PUT", f"/my-assignments/{B}/expert", json={"criteria": points(20, 20, 20, 20)})
    assert r.status_code == 200 and r.json()["score"] == 80 and r.json()["locked"] is True
    # a draft does not count
    r = await api.expert(second, "PUT", f"/my-assignments/{B}/expert",
                         json={"criteria": points(25, 25, 25, 25), "submit": False})
    assert r.json()["status"] == "draft"
    b = (await api.ranking())[str(B)]
    assert b["components"]["expert"] == 80 and b["explanation"]["expert"]["experts"] == 1

    locked = await api.expert(first, "PUT", f"/my-assignments/{B}/expert", json={"criteria": points(1, 1, 1, 1)})
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "score_locked"
    no_reason = await api.committee("POST", "/expert-scores/reopen",
                                    json={"expert_id": first, "entry_id": str(B), "component": "expert"})
    assert no_reason.status_code == 422
    r = await api.committee("POST", "/expert-scores/reopen", json={
        "expert_id": first, "entry_id": str(B), "component": "expert", "reason": "录入有误"})
    assert r.status_code == 200, r.text
    assert (await api.ranking())[str(B)]["explanation"]["expert"]["pending"] is True
    # the expert's own assignments say the score was reopened, by whom, when and why; nobody else's do
    mine = {a["entry_id"]: a for a in (await api.expert(first, "GET", "/my-assignments")).json()["assignments"]
            if a["component"] == "expert"}
    assert mine[str(B)]["reopened"] is True and mine[str(B)]["locked"] is False
    (told,) = mine[str(B)]["reopenings"]
    assert (told["reason"], told["reopened_by"]) == ("录入有误", "committee-wang")
    assert abs(datetime.fromisoformat(told["reopened_at"]) - datetime.now(UTC)) < timedelta(minutes=5)
    assert set(told) == {"reopened_at", "reopened_by", "reason"}
    assert all(not a["reopenings"] for e, a in mine.items() if e != str(B))
    theirs = (await api.expert(second, "GET", "/my-assignments")).json()["assignments"]
    assert all(not a["reopened"] and not a["reopenings"] for a in theirs)
    r = await api.expert(first, "PUT", f"/my-assignments/{B}/expert", json={"criteria": points(15, 15, 15, 15)})
    assert r.status_code == 200
    assert (await api.ranking())[str(B)]["components"]["expert"] == 60
    again = next(a for a in (await api.expert(first, "GET", "/my-assignments")).json()["assignments"]
                 if (a["entry_id"], a["component"]) == (str(B), "expert"))
    assert again["reopened"] is False and again["locked"] is True
    assert [h["reason"] for h in again["reopenings"]] == ["录入有误"]
    review = (await api.committee("GET", "/expert-review")).json()
    assert [x["reason"] for x in review["reopenings"]] == ["录入有误"]


async def test_the_final_review_names_every_criterion_of_an_expert_score_and_keeps_its_id(api: Http):
    await _panel(api, k=1)
    experts = (await api.admin("POST", "/panels/p1/assignments")).json()["assignments"]
    (who,) = experts[str(B)]["expert"]
    given = points(22, 20, 21.5, 23)
    r = await api.expert(who, "PUT", f"/my-assignments/{B}/expert", json={"criteria": given})
    assert r.status_code == 200, r.text

    view = (await api.committee("GET", "/final-review")).json()
    (score,) = [s for s in view["expert_scores"] if (s["entry_id"], s["component"]) == (str(B), "expert")]
    assert score["criteria"] == given  # by id, as the expert gave them
    assert [(p["id"], p["name"], p["name_en"], p["points"], p["max_points"]) for p in score["criteria_points"]] == [
        ("standardization", "规范性", "Standardization", 22, 25), ("reach", "传播力", "Reach", 20, 25),
        ("influence", "影响力", "Influence", 21.5, 25), ("service", "服务性", "Service", 23, 25)]

    # the names are the campaign's current ones; points for a criterion it no longer has stay, unnamed
    changed = {**CRITERIA, "expert_criteria": [
        {"id": "standardization", "name": "规范程度", "name_en": "Conformity", "max_points": 25},
        {"id": "reach", "name": "传播力", "max_points": 25}, {"id": "influence", "name": "影响力", "max_points": 25},
        {"id": "originality", "name": "原创性", "max_points": 25}]}
    await api.scoring.deliver(campaign_loaded(version=2, scoring=changed))
    view = (await api.committee("GET", "/final-review")).json()
    (score,) = [s for s in view["expert_scores"] if (s["entry_id"], s["component"]) == (str(B), "expert")]
    assert [(p["id"], p["name"], p["name_en"]) for p in score["criteria_points"]] == [
        ("standardization", "规范程度", "Conformity"), ("reach", "传播力", None), ("influence", "影响力", None),
        ("service", None, None)]
    assert score["criteria_points"][-1]["points"] == 23 and score["criteria_points"][-1]["max_points"] is None


async def test_a_recused_expert_is_refused_and_reassignment_fills_the_slot(api: Http):
    await _panel(api, k=1)
    experts = {e: v["expert"] for e, v in (await api.admin("POST", "/panels/p1/assignments")).json()[
        "assignments"].items()}
    (who,) = experts[str(C)]
    assert (await api.expert(who, "POST", f"/my-assignments/{C}/recusal", json={"reason": "x"})).status_code == 422
    r = await api.expert(who, "POST", f"/my-assignments/{C}/recusal", json={"reason": "曾为该单位提供咨询"})
    assert r.status_code == 200 and r.json()["status"] == "recused"
    refused = await api.expert(who, "PUT", f"/my-assignments/{C}/expert", json={"criteria": points(20, 20, 20, 20)})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "expert_recused"
    again = (await api.admin("POST", "/panels/p1/assignments")).json()
    assert again["assignments"][str(C)]["expert"] != [who] and len(again["assignments"][str(C)]["expert"]) == 1


async def test_scores_after_the_deadline_are_refused(api: Http):
    await _panel(api, k=1, deadline=(datetime.now(UTC) - timedelta(minutes=1)).isoformat())
    experts = (await api.admin("POST", "/panels/p1/assignments")).json()["assignments"]
    (who,) = experts[str(A)]["expert"]
    r = await api.expert(who, "PUT", f"/my-assignments/{A}/expert", json={"criteria": points(20, 20, 20, 20)})
    assert r.status_code == 409 and r.json()["error"]["code"] == "review_deadline_passed"


async def test_a_score_reopened_after_the_deadline_can_be_corrected_and_only_that_one(api: Http):
    await _panel(api, k=2)
    experts = {e: v["expert"] for e, v in (await api.admin("POST", "/panels/p1/assignments")).json()[
        "assignments"].items()}
    first, second = experts[str(B)]
    r = await api.expert(first, "PUT", f"/my-assignments/{B}/expert", json={"criteria": points(20, 20, 20, 20)})
    assert r.status_code == 200
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    r = await api.admin("PUT", "/panels/p1", json={"name": "机构账号评审组", "category_ids": [CATEGORY],
                                                    "experts_per_entry": 2, "deadline": past})
    assert r.status_code == 200, r.text
    r = await api.committee("POST", "/expert-scores/reopen", json={
        "expert_id": first, "entry_id": str(B), "component": "expert", "reason": "专家申请更正"})
    assert r.status_code == 200, r.text
    corrected = await api.expert(first, "PUT", f"/my-assignments/{B}/expert", json={"criteria": points(15, 15, 15, 15)})
    assert corrected.status_code == 200, corrected.text
    assert (await api.ranking())[str(B)]["components"]["expert"] == 60
    # Locked again, it is closed for good; the other expert's unscored assignment stays closed.
    again = await api.expert(first, "PUT", f"/my-assignments/{B}/expert", json={"criteria": points(1, 1, 1, 1)})
    assert again.status_code == 409 and again.json()["error"]["code"] == "review_deadline_passed"
    late = await api.expert(second, "PUT", f"/my-assignments/{B}/expert", json={"criteria": points(20, 20, 20, 20)})
    assert late.status_code == 409 and late.json()["error"]["code"] == "review_deadline_passed"


async def test_a_forfeited_activity_cannot_be_scored(api: Http):
    await _panel(api, k=3)
    await api.admin("POST", "/panels/p1/assignments")
    # B held its activity after the period and the campaign forfeits that
    r = await api.expert("expert-wu", "PUT", f"/my-assignments/{B}/activity",
                         json={"criteria": {"conduct": 30, "effect": 50}})
    assert r.status_code == 409 and r.json()["error"]["code"] == "activity_forfeited"
    r = await api.expert("expert-wu", "PUT", f"/my-assignments/{A}/activity",
                         json={"criteria": {"conduct": 30, "effect": 50}})
    assert r.status_code == 200 and r.json()["score"] == 80


async def test_zscore_normalisation_evens_out_a_harsh_expert_and_an_outlier_is_reported(api: Http):
    await _panel(api, k=2, normalization="zscore", outlier_points=10)
    await api.admin("PUT", "/panels/p1/experts/expert-li", json={"display_name": "li"})  # no conflict now
    await api.admin("PUT", "/panels/p1", json={"name": "组", "category_ids": [CATEGORY], "experts_per_entry": 3,
                                                "normalization": "zscore", "outlier_points": 10})
    await api.admin("POST", "/panels/p1/assignments")
    # expert-he is harsh (30 points below the others) but ranks the entries the same way
    given = {"expert-li": (90, 80, 70), "expert-wu": (88, 78, 72), "expert-he": (60, 50, 40)}
    for expert, totals in given.items():
        for entry, total in zip((A, B, C), totals, strict=True):
            q = total / 4
            r = await api.expert(expert, "PUT", f"/my-assignments/{entry}/expert",
                                 json={"criteria": points(q, q, q, q)})
            assert r.status_code == 200, r.text
    a = (await api.ranking())[str(A)]["explanation"]["expert"]
    assert a["normalization"] == "zscore" and a["raw_scores"] == [60, 88, 90]
    assert max(a["scores"]) - min(a["scores"]) < 3  # after normalisation the three agree closely on A
    outliers = (await api.committee("GET", "/expert-review")).json()["outlying_experts"]
    assert [(o["expert_id"], o["component"]) for o in outliers] == [("expert-he", "expert")]


async def test_publication_needs_approval_and_each_correction_is_a_new_version(api: Http):
    # publishing before approval is refused and publishes nothing
    refused = await api.committee("POST", "/publication", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_approved"
    assert (await api.public("/results")).json()["error"]["code"] == "results_not_published"
    # a version past what the database can hold is a bad request, not a server error
    huge = await api.public("/results", params={"version": 99_999_999_999})
    assert huge.status_code == 422 and huge.json()["error"]["details"]

    # the committee adjusts with a reason; only the committee may
    assert (await api.supervisor("POST", "/adjustments", json={
        "entry_id": str(C), "points": 5, "reason": "有据"})).json()["error"]["code"] == "role_not_allowed"
    assert (await api.committee("POST", "/adjustments", json={"entry_id": str(C), "points": 5})).status_code == 422
    before = (await api.ranking())[str(C)]["total"]
    r = await api.committee("POST", "/adjustments", json={"entry_id": str(C), "points": 5, "reason": "基层服务突出"})
    assert r.status_code == 201 and r.json()["total"] == round(before + 5, 2)
    c = (await api.ranking())[str(C)]
    assert c["explanation"]["adjustments"] == [{"points": 5.0, "reason": "基层服务突出"}]
    view = (await api.committee("GET", "/final-review")).json()
    assert view["adjustments"][0]["adjusted_by"] == "committee-wang" and view["approval"] is None
    assert view["rankings"][CATEGORY]["inputs"]["entries"]

    assert (await api.committee("POST", "/approval", json={})).json()["error"]["code"] == "role_not_allowed"
    approved = await api.supervisor("POST", "/approval", json={"note": "同意发布"})
    assert approved.status_code == 201, approved.text
    r = await api.committee("POST", "/publication", json={"winners": {CATEGORY: 2}})
    assert r.status_code == 201 and r.json()["version"] == 1 and r.json()["supersedes"] is None

    public = (await api.public("/results")).json()
    entries = public["categories"][CATEGORY]["entries"]
    assert [e["rank"] for e in entries] == [1, 2, 3] and [e["winner"] for e in entries] == [True, True, False]
    assert entries[0]["unit_name"] and "expert_id" not in json.dumps(public)
    assert (await api.committee("POST", "/publication", json={})).json()["error"]["code"] == "already_published"

    events = await api.scoring.pool.fetch("SELECT body FROM outbox WHERE event_type = 'ResultsPublished'")
    payload = json.loads(bytes(events[0]["body"]))["payload"]
    assert payload["version"] == 1 and len(payload["categories"][CATEGORY]) == 3

    # a late change (a new tally) makes the approval stale: no publication until approved again
    await api.scoring.deliver(tally({A: 900, B: 500, C: 100}, as_of=datetime(2024, 9, 26, tzinfo=UTC),
                                    final=True))
    stale = await api.committee("POST", "/publication", json={})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "approval_stale"
    assert (await api.supervisor("POST", "/approval", json={})).status_code == 201
    r = await api.committee("POST", "/publication", json={})
    assert r.json()["version"] == 2 and r.json()["supersedes"] == 1
    # version 1 stays as it was, marked superseded
    v1 = (await api.public("/results", params={"version": 1})).json()
    assert v1["categories"][CATEGORY]["entries"] == entries and v1["superseded"] is True
    assert [v["version"] for v in (await api.public("/results/versions")).json()["versions"]] == [1, 2]
    with pytest.raises(Exception, match="immutable"):
        await api.scoring.pool.execute("UPDATE published_results SET published_by = 'x'")


async def test_results_export_as_csv_xlsx_and_a_printable_commendation_list(api: Http):
    await api.supervisor("POST", "/approval", json={})
    await api.committee("POST", "/publication", json={"winners": {CATEGORY: 1}})
    ranking = await api.scoring.ranking()
    first = ranking["entries"][0]

    r = await api.public("/results/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["类别", "名次", "名称"] and len(rows) == 4
    assert rows[1][1:3] == ["1", first["entry_name"]] and float(rows[1][4]) == first["total"]

    r = await api.public("/results/export.xlsx")
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet.cell(2, 3).value == first["entry_name"] and sheet.cell(2, 12).value == "是"

    html = (await api.public("/results/commendation")).text
    assert first["entry_name"] in html and ranking["entries"][1]["entry_name"] not in html
    assert "<title>" in html and "第 1 版" in html
    # Printed for people: the publication time in Beijing time, the zone named, not the stored UTC.
    [published] = (await api.public("/results/versions")).json()["versions"]
    at = datetime.fromisoformat(published["published_at"])
    assert f"发布于 北京时间 {at.astimezone(timezone(timedelta(hours=8))):%Y-%m-%d %H:%M}" in html
    assert published["published_at"] not in html


async def test_an_activity_not_reported_waits_for_the_end_of_its_period_then_is_forfeited(api: Http):
    deadline = datetime.now(UTC) + timedelta(hours=1)
    loaded = campaign_loaded(version=2, scoring=CRITERIA)
    await api.scoring.deliver(CampaignLoaded(**{**loaded.model_dump(), "activity_deadline": deadline}))
    c = (await api.ranking())[str(C)]["explanation"]["activity"]
    assert c["held"] == "awaiting" and c["forfeited"] is False and c["pending"] is True
    # the deadline passes: the periodic check reranks and C's activity is forfeited, visibly
    async with api.scoring.pool.acquire() as conn:
        await conn.execute("UPDATE campaigns SET activity_deadline = now() - interval '1 second'")
    assert await rankings.apply_passed_activity_deadlines(api.scoring.deps) == 1
    c = (await api.ranking())[str(C)]["explanation"]["activity"]
    assert c["held"] == "not_held" and c["forfeited"] is True
    assert await rankings.apply_passed_activity_deadlines(api.scoring.deps) == 0
    # a report that the activity was held within the period counts, even with its summary late
    await api.scoring.deliver(ActivitySubmitted(nomination_id=C, category_id=CATEGORY, submitted_at=datetime.now(UTC),
                                                on_time=False, held_on=date(2024, 9, 15), held_in_period=True,
                                                evidence_links=1))
    c = (await api.ranking())[str(C)]["explanation"]["activity"]
    assert c["forfeited"] is False and c["summary_late"] is True


async def test_while_voting_is_open_rankings_are_announced_at_most_once_per_interval(api: Http):
    api.scoring.rt.settings.ranking_announce_interval_s = 3600
    start = len(await api.scoring.announced())
    for i in range(1, 4):
        await api.scoring.deliver(tally({A: 300 + i * 100, B: 500, C: 100},
                                        as_of=datetime(2024, 9, 25, 13, i, tzinfo=UTC)))
    stored = await api.scoring.ranking()
    # the first change within the interval is held back; the stored ranking is always the newest
    assert len(await api.scoring.announced()) == start
    assert stored["entries"][0]["entry_id"] == str(A)
    # once the interval has passed the held ranking (the last one) is announced
    async with api.scoring.pool.acquire() as conn:
        await conn.execute("UPDATE rankings SET announced_at = now() - interval '2 hours'")
    assert await rankings.announce_held_rankings(api.scoring.deps) == 1
    announced = await api.scoring.announced()
    assert len(announced) == start + 1 and announced[-1]["inputs_digest"] == stored["inputs_digest"]
    # the final tally is announced at once
    await api.scoring.deliver(tally({A: 700, B: 800, C: 100}, as_of=datetime(2024, 9, 26, tzinfo=UTC),
                                    final=True))
    assert len(await api.scoring.announced()) == start + 2


# --- what the committee is told at approval ---------------------------------------------------------------

VOTES_ONLY = {**CRITERIA, "components": [{"id": "vote", "weight": 100}]}


def held_tally(counted: dict[Any, int], held: dict[Any, int], invalidated: dict[Any, int]) -> TallyUpdated:
    """A tally as voting sends it: counted votes ranked, and the votes held or invalidated with their reasons."""
    t = tally(counted, final=True, as_of=datetime(2024, 9, 26, tzinfo=UTC))
    standings = []
    for s in t.standings:
        reasons = []
        if held.get(s.entry_id):
            reasons.append(StandingReason(state="held", reason_code="device_reuse", votes=held[s.entry_id],
                                          reason="many identities voting from one device",
                                          reason_zh="多个身份使用同一设备投票"))
        if invalidated.get(s.entry_id):
            reasons.append(StandingReason(state="invalidated", reason_code="burst", votes=invalidated[s.entry_id],
                                          reason="a burst of new voters", reason_zh="短时间内大量新身份投票"))
        standings.append(s.model_copy(update={"held": held.get(s.entry_id, 0),
                                              "invalidated": invalidated.get(s.entry_id, 0), "reasons": reasons}))
    return t.model_copy(update={"standings": standings})


async def test_the_vote_explanation_names_the_invalidated_and_held_votes_with_their_reasons(api: Http):
    await api.scoring.deliver(held_tally({A: 10, B: 500, C: 100}, held={C: 5}, invalidated={A: 30}))
    vote = (await api.ranking())[str(A)]["explanation"]["vote"]
    assert (vote["votes"], vote["held"], vote["invalidated"]) == (10, 0, 30)
    assert vote["invalidations"] == [{"reason_code": "burst", "votes": 30, "reason": "a burst of new voters",
                                      "reason_zh": "短时间内大量新身份投票"}]
    c = (await api.ranking())[str(C)]["explanation"]["vote"]
    assert c["held_reasons"][0]["reason_zh"] == "多个身份使用同一设备投票" and c["held_reasons"][0]["votes"] == 5
    # the published results carry the same explanation to the public
    assert (await api.supervisor("POST", "/approval", json={})).status_code == 201
    assert (await api.committee("POST", "/publication", json={})).status_code == 201
    published = {e["entry_id"]: e for e in (await api.public("/results")).json()["categories"][CATEGORY]["entries"]}
    assert published[str(A)]["explanation"]["vote"]["invalidations"][0]["reason_code"] == "burst"


async def test_approval_lists_open_cases_and_says_which_could_change_a_rank(api: Http):
    await api.scoring.deliver(campaign_loaded(version=2, scoring=VOTES_ONLY))
    # C has 450 votes held for review: reinstated, it would pass B (500) and A (300); A's 1 held vote cannot
    await api.scoring.deliver(held_tally({A: 300, B: 500, C: 100}, held={A: 1, C: 450}, invalidated={}))
    view = (await api.committee("GET", "/final-review")).json()
    cases = {c["entry_id"]: c for c in view["open_cases"]}
    assert set(cases) == {str(A), str(C)} and view["approval_with_open_cases"] == "warn"
    assert (cases[str(C)]["rank"], cases[str(C)]["rank_if_reinstated"], cases[str(C)]["could_change_rank"]) == (
        3, 1, True)
    assert cases[str(A)]["could_change_rank"] is False and cases[str(A)]["rank_if_reinstated"] == 2
    assert cases[str(C)]["reasons"][0]["reason_code"] == "device_reuse"
    # warn (the default): the approval is recorded and its answer repeats the warning
    approved = await api.supervisor("POST", "/approval", json={"note": "知悉待核查的票"})
    assert approved.status_code == 201, approved.text
    assert approved.json()["open_cases_could_change_rank"] is True
    assert {c["entry_id"] for c in approved.json()["open_cases"]} == {str(A), str(C)}


async def test_a_campaign_that_refuses_approval_with_open_cases_waits_for_the_review(api: Http):
    loaded = campaign_loaded(version=2, scoring=VOTES_ONLY)
    await api.scoring.deliver(CampaignLoaded(**{**loaded.model_dump(), "approval_with_open_cases": "refuse"}))
    await api.scoring.deliver(held_tally({A: 300, B: 500, C: 100}, held={C: 450}, invalidated={}))
    refused = await api.supervisor("POST", "/approval", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "open_fraud_cases"
    assert refused.json()["error"]["details"]["open_cases"][0]["entry_id"] == str(C)
    assert (await api.committee("GET", "/final-review")).json()["approval"] is None
    # the review confirms the cases: the votes are invalidated, nothing is held, the approval goes through
    confirmed = held_tally({A: 300, B: 500, C: 100}, held={}, invalidated={C: 450})
    await api.scoring.deliver(confirmed.model_copy(update={"as_of": datetime(2024, 9, 27, tzinfo=UTC)}))
    approved = await api.supervisor("POST", "/approval", json={})
    assert approved.status_code == 201 and approved.json()["open_cases"] == []


async def test_a_forfeited_activity_part_is_never_counted_as_pending(api: Http):
    await _panel(api, k=3)
    await api.admin("POST", "/panels/p1/assignments")
    review = (await api.committee("GET", "/expert-review")).json()
    # B held its activity after the period: its three activity assignments can never be scored
    forfeited = [p for p in review["forfeited"] if p["entry_id"] == str(B)]
    assert len(forfeited) == 3 and all(p["component"] == "activity" for p in forfeited)
    assert not [p for p in review["pending"] if p["entry_id"] == str(B) and p["component"] == "activity"]
    approved = (await api.supervisor("POST", "/approval", json={})).json()
    assert approved["pending_expert_scores"] == len(review["pending"])
