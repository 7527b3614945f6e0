"""When the vote path takes votes: the operator's last phase, else the phase the definition's dates give at the
moment of the vote, in the campaign's time zone. The same rule as submission's (`massline.phases`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from massline.contracts import PhaseInfo
from massline.phases import phase_at
from services.submission.domain import campaign_state
from services.submission.domain.campaign import load_campaign_file
from services.voting.domain import CampaignRules, PhaseClosed, closes_voting, phase_dates, phase_now

ENTRY = uuid.UUID(int=7)
BEIJING = timezone(timedelta(hours=8))
# As CampaignLoaded carries them: the definition's dates, read in the campaign's zone (here with their offset).
PHASES = phase_dates([
    {"id": "initial_review", "starts_at": "2026-11-01T00:00:00+08:00", "ends_at": "2026-11-10T00:00:00+08:00"},
    {"id": "voting", "starts_at": "2026-11-10T00:00:00+08:00", "ends_at": "2026-11-20T00:00:00+08:00"},
    {"id": "expert_review", "starts_at": "2026-11-21T00:00:00+08:00", "ends_at": "2026-11-30T00:00:00+08:00"},
])


def _rules(phase: str | None, phases: tuple[PhaseInfo, ...] = PHASES, tz: str = "Asia/Shanghai") -> CampaignRules:
    return CampaignRules(id="c", timezone=tz, phase=phase, votes_per_day=10, per_entry_daily_cap=None,
                         entries={ENTRY: ("gov", True)}, phases=phases)


def test_without_an_operators_phase_votes_are_taken_exactly_while_the_dates_say_voting() -> None:
    rules = _rules(None)
    opens = datetime(2026, 11, 10, tzinfo=BEIJING)
    closes = datetime(2026, 11, 20, tzinfo=BEIJING)
    assert rules.admit(ENTRY, 1, opens) == "gov"  # starts_at included
    assert rules.admit(ENTRY, 1, closes - timedelta(microseconds=1)) == "gov"
    for outside in (opens - timedelta(microseconds=1), closes,  # ends_at excluded
                    datetime(2026, 11, 20, 12, tzinfo=BEIJING),  # between voting and expert review
                    datetime(2027, 1, 1, tzinfo=UTC)):
        with pytest.raises(PhaseClosed):
            rules.admit(ENTRY, 1, outside)


def test_the_operators_phase_overrides_the_dates_both_ways() -> None:
    inside = datetime(2026, 11, 15, tzinfo=BEIJING)
    with pytest.raises(PhaseClosed):
        _rules("expert_review").admit(ENTRY, 1, inside)
    assert _rules("voting").admit(ENTRY, 1, datetime(2027, 6, 1, tzinfo=UTC)) == "gov"
    assert _rules("voting", phases=()).phase_at(inside) == "voting"
    assert _rules(None, phases=()).phase_at(inside) is None  # no dates known: no phase


def test_dates_without_an_offset_are_in_the_campaigns_time_zone() -> None:
    naive = phase_dates([{"id": "voting", "starts_at": "2026-11-10T00:00:00", "ends_at": "2026-11-20T00:00:00"}])
    # 2026-11-09 17:00 UTC is 2026-11-10 01:00 in Shanghai, still 2026-11-09 in London.
    moment = datetime(2026, 11, 9, 17, tzinfo=UTC)
    assert phase_now(None, naive, "Asia/Shanghai", moment) == "voting"
    assert phase_now(None, naive, "Europe/London", moment) is None


def test_a_phase_without_both_dates_never_holds_and_a_naive_moment_is_an_error() -> None:
    open_ended = [PhaseInfo(id="voting", starts_at=datetime(2026, 1, 1, tzinfo=UTC))]
    assert phase_at(open_ended, datetime(2026, 6, 1, tzinfo=UTC), UTC) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        phase_at(PHASES, datetime(2026, 11, 15), UTC)


def test_submission_and_voting_follow_one_rule() -> None:
    definition = load_campaign_file(Path(__file__).parents[2] / "campaigns" / "henan-2021-cases.yaml")
    loaded = campaign_state.campaign_loaded_event(definition, None)
    voting_view = phase_dates([p.model_dump(mode="json") for p in loaded.phases])  # as voting stores them
    voting = definition.phase("voting")
    assert voting is not None
    for moment in (voting.starts_at - timedelta(microseconds=1), voting.starts_at, voting.ends_at,
                   voting.ends_at - timedelta(microseconds=1), datetime(2021, 10, 25, tzinfo=UTC),
                   datetime(2030, 1, 1, tzinfo=UTC)):
        for operator in (None, "expert_review", "voting"):
            in_submission = campaign_state.effective_phase(operator, definition, moment)
            assert in_submission == phase_now(operator, voting_view, loaded.timezone, moment), (moment, operator)
    assert phase_now(None, voting_view, loaded.timezone, voting.starts_at) == "voting"
    assert phase_now(None, voting_view, loaded.timezone, voting.ends_at) != "voting"


def test_the_operator_closes_voting_whether_it_ran_by_the_operators_phase_or_by_the_dates() -> None:
    inside, outside = datetime(2026, 11, 15, tzinfo=BEIJING), datetime(2026, 11, 25, tzinfo=BEIJING)
    assert closes_voting(None, "expert_review", PHASES, "Asia/Shanghai", inside)  # voting by the dates
    assert closes_voting("voting", "expert_review", PHASES, "Asia/Shanghai", outside)
    assert not closes_voting(None, "expert_review", PHASES, "Asia/Shanghai", outside)
    assert not closes_voting("initial_review", "expert_review", PHASES, "Asia/Shanghai", inside)
    assert not closes_voting(None, "voting", PHASES, "Asia/Shanghai", inside)


def test_the_public_tally_leaves_counts_out_only_while_a_hidden_campaign_is_voting() -> None:
    from services.voting.domain import tally_hides_counts

    assert tally_hides_counts("rank_only", "voting", final=False)
    assert tally_hides_counts("hidden", "voting", final=False)
    assert not tally_hides_counts("rank_only", "voting", final=True)  # the final tally carries them
    assert not tally_hides_counts("rank_only", "scoring", final=False)  # after voting, everything shows
    assert not tally_hides_counts("always", "voting", final=False)
