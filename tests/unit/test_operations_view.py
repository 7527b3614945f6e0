"""The operator's figures from the services' own counters: a campaign's own vote rate, errors per service."""

from __future__ import annotations

import itertools

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, generate_latest

from massline.errors import install_error_handlers
from massline.service import AnswerCounter
from services.gateway.operations_view import errors_view, pipeline_view, vote_rate_view
from services.gateway.service_metrics import Sample, increase, read_metrics


def voting_metrics(accepted: dict[str, float], refused: dict[tuple[str, str], float], server_errors: float = 0,
                   dead: float = 0) -> str:
    registry = CollectorRegistry()
    a = Counter("massline_votes_accepted", "", ["campaign"], registry=registry)
    r = Counter("massline_votes_rejected", "", ["campaign", "code"], registry=registry)
    h = Counter("massline_http_responses", "", ["status"], registry=registry)
    d = Counter("massline_dead_letters", "", ["topic", "reason"], registry=registry)
    for campaign, n in accepted.items():
        a.labels(campaign).inc(n)
    for (campaign, code), n in refused.items():
        r.labels(campaign, code).inc(n)
    h.labels("2xx").inc(100)
    h.labels("4xx").inc(7)
    if server_errors:
        h.labels("5xx").inc(server_errors)
    if dead:
        d.labels("massline.campaign.v1", "malformed_json").inc(dead)
    return generate_latest(registry).decode()


T0 = 1767232800.0  # 2026-01-01 02:00 UTC, 10:00 in Beijing


def sample(at: float, **services: str | None) -> Sample:
    return Sample(at, {name: read_metrics(text) if text is not None else None for name, text in services.items()})


def test_a_counter_that_restarts_grows_by_what_it_counted_since() -> None:
    assert increase([10, 15, 3, 5]) == 5 + 3 + 2
    assert increase([None, 4, None, 9]) == 5
    assert increase([7]) is None


def test_the_vote_rate_is_the_campaigns_own() -> None:
    samples = [sample(T0, voting=voting_metrics({"mine": 0, "other": 0}, {})),
               sample(T0 + 60, voting=voting_metrics({"mine": 30, "other": 3000}, {("mine", "quota_exceeded"): 2})),
               sample(T0 + 120, voting=voting_metrics({"mine": 90, "other": 9000}, {
                   ("mine", "quota_exceeded"): 4, ("other", "phase_closed"): 50, ("", "ticket_invalid"): 9}))]
    mine = vote_rate_view(samples, "mine")
    # Two minutes sampled of the five: 90 votes in 2 minutes; the busier minute had 60.
    assert (mine["now"], mine["window"], mine["peak"], mine["accepted"]) == (45.0, "2", 60.0, 90)
    assert mine["refused"] == {"quota_exceeded": 4}
    assert [b["votes"] for b in mine["chart"]["bars"][-3:]] == [30.0, 60.0, None]
    other = vote_rate_view(samples, "other")
    assert (other["now"], other["accepted"], other["refused"]) == (4500.0, 9000, {"phase_closed": 50})
    nothing = vote_rate_view(samples, "quiet")
    assert (nothing["now"], nothing["accepted"], nothing["refused"]) == (0.0, 0, {})


def test_the_headline_is_the_average_of_the_last_five_minutes_not_of_the_last_instant() -> None:
    # Every 15 s for 30 minutes: 12 votes in one minute twenty minutes ago, 10 a minute over the last five, and the
    # last 15 s quiet (the instant rate would say 0).
    counts, total = [], 0.0
    for i in range(121):
        t = T0 + 15 * i
        if i in (41, 42, 43, 44):
            total += 3
        elif 100 < i < 120:
            total += 2.5
        counts.append(sample(t, voting=voting_metrics({"c": total}, {})))
    view = vote_rate_view(counts, "c", "Asia/Shanghai")
    assert (view["window"], view["window_s"], view["votes_in_window"]) == ("5", 300, 48)
    assert view["now"] == 9.5  # 47.5 votes over the last five minutes
    assert view["peak"] == 12.0
    chart = view["chart"]
    assert chart["minutes"] == 30 and len(chart["bars"]) == 30
    # T0 is 10:00 in Beijing: the chart spans 10:01..10:30 with a time label every five minutes, on the axis.
    assert (chart["first"], chart["last"]) == ("10:01", "10:30")
    assert [t["label"] for t in chart["x_ticks"]] == ["10:05", "10:10", "10:15", "10:20", "10:25", "10:30"]
    assert [t["label"] for t in chart["y_ticks"]] == ["0", "10", "20"]  # the top is a round 20 above the peak 12
    busiest = max(chart["bars"], key=lambda b: b["votes"] or 0)
    assert (busiest["at"], busiest["votes"]) == ("10:10", 12.0)
    assert busiest["y"] < chart["base"] and all(chart["top"] <= b["y"] <= chart["base"] for b in chart["bars"])
    # The same instant in another zone is labelled in that zone's time.
    assert vote_rate_view(counts, "c", "Europe/Berlin")["chart"]["last"] == "03:30"


def test_the_pipeline_shows_lag_per_group_and_each_outbox_and_says_when_a_figure_is_missing() -> None:
    text = voting_metrics({}, {}) + "\n".join([
        "# TYPE massline_consumer_lag gauge",
        'massline_consumer_lag{group="voting.standings",topic="massline.vote.v1",partition="0"} 4',
        'massline_consumer_lag{group="voting.standings",topic="massline.vote.v1",partition="1"} 3',
        "# TYPE massline_outbox_pending gauge", "massline_outbox_pending 12",
        "# TYPE massline_outbox_oldest_age_seconds gauge", "massline_outbox_oldest_age_seconds 41.6", ""])
    older = voting_metrics({}, {}) + "# TYPE massline_outbox_pending gauge\nmassline_outbox_pending 0\n"
    view = pipeline_view(sample(T0, voting=text, scoring=older, antifraud=None), {"antifraud.detectors": 9})
    assert view["lag"] == {"voting.standings": 7}
    assert view["groups"] == [{"group": "antifraud.detectors", "lag": None, "broker": 9},
                              {"group": "voting.standings", "lag": 7, "broker": None}]
    assert view["outbox"] == [{"service": "scoring", "pending": 0, "age": None},
                              {"service": "voting", "pending": 12, "age": 42}]
    assert view["unreachable"] == ["antifraud"]


def test_errors_per_service_count_the_last_minutes_and_say_when_there_are_none() -> None:
    quiet = voting_metrics({"c": 5}, {("c", "quota_exceeded"): 3}, server_errors=2, dead=1)
    before = [sample(0, voting=quiet, scoring=voting_metrics({}, {})),
              sample(300, voting=quiet, scoring=voting_metrics({}, {}))]
    clean = errors_view(before)
    assert clean["clean"] and clean["recent"] and clean["seconds"] == 300
    voting = next(s for s in clean["services"] if s["service"] == "voting")
    # Nothing new in the window; what happened before it stays visible as the total since the start.
    assert (voting["server_errors"], voting["server_errors_total"], voting["dead"], voting["dead_total"]) == (
        0, 2, 0, 1)
    assert voting["refused"] == {}

    refused = {("c", "quota_exceeded"): 8, ("", "ticket_invalid"): 1}
    failing = [*before, sample(600, voting=voting_metrics({"c": 9}, refused, server_errors=5, dead=4), scoring=None)]
    view = errors_view(failing)
    assert not view["clean"]
    voting = next(s for s in view["services"] if s["service"] == "voting")
    assert (voting["server_errors"], voting["dead"], voting["clean"]) == (3, 3, False)
    assert voting["refused"] == {"quota_exceeded": 5, "ticket_invalid": 1}
    scoring = next(s for s in view["services"] if s["service"] == "scoring")
    assert scoring["unreachable"] and not scoring["clean"]
    # Only the last ten minutes count (from the last sample before them): later, the errors are in the past.
    later = errors_view([*failing, sample(1300, voting=voting_metrics({"c": 9}, {}, server_errors=5, dead=4))])
    assert later["clean"] and later["seconds"] == 700


def test_with_one_sample_the_totals_since_the_start_stand_in() -> None:
    view = errors_view([sample(0, voting=voting_metrics({}, {}, server_errors=1))])
    assert not view["recent"] and not view["clean"]
    assert view["services"][0]["server_errors"] == 1


@pytest.mark.parametrize("path, status, counted", [("/ok", 200, "2xx"), ("/refused", 404, "4xx"),
                                                   ("/broken", 500, "5xx")])
async def test_a_service_counts_what_it_answered_and_an_unhandled_error_as_a_5xx(path, status, counted) -> None:
    registry = CollectorRegistry()
    answers = Counter("massline_http_responses", "", ["status"], registry=registry)
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(AnswerCounter, counter=answers)

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        assert (await client.get(path)).status_code == status
    assert registry.get_sample_value("massline_http_responses_total", {"status": counted}) == 1
    assert sum(registry.get_sample_value("massline_http_responses_total", {"status": c}) or 0
               for c in ("2xx", "4xx", "5xx")) == 1


async def test_page_views_keep_the_newest_reading_last_without_crowding_the_history_out(monkeypatch) -> None:
    from services.gateway import service_metrics

    sampler = service_metrics.ServiceMetrics({}, lambda: None)  # type: ignore[arg-type, return-value]
    clock = iter(range(0, 60, 2))  # a reading every 2 s, as if the page were reloaded without pause
    monkeypatch.setattr(service_metrics.time, "time", lambda: float(next(clock)))
    for _ in range(30):
        newest = await sampler.sample()
    at = [s.at for s in sampler.samples]
    assert at[-1] == newest.at == 58
    assert all(b - a >= sampler.MIN_SPACING_S for a, b in itertools.pairwise(at[:-1]))  # kept ones stay spaced
    assert len(at) >= 10
