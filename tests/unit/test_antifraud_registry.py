"""One registry of rules: every rule has its texts, a level and thresholds that exist; overrides are checked."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from services.antifraud import domain
from services.antifraud.settings import AntifraudSettings


def test_every_rule_has_both_texts_a_level_a_family_module_and_real_thresholds() -> None:
    names = set(domain.threshold_names())
    families = {module.__name__.rsplit(".", 1)[1] for module in domain.FAMILIES}
    for code, rule in domain.RULES.items():
        assert rule.code == code and rule.text and rule.text_zh
        assert rule.level in ("invalidate", "hold", "alert")
        assert set(rule.thresholds) <= names, code
        assert rule.family in families, code


def test_network_concentration_alone_never_holds_a_vote() -> None:
    for code in ("velocity_ip", "velocity_subnet", "concentration_subnet", "covoting_subnet", "fresh_identity_surge"):
        assert domain.RULES[code].level == "alert"


def test_the_service_takes_each_threshold_by_name_and_refuses_unknown_or_negative_ones(monkeypatch) -> None:
    monkeypatch.setenv("MASSLINE_THRESHOLDS__DEVICE_VOTERS_PER_DAY", "7")
    monkeypatch.setenv("MASSLINE_THRESHOLDS__hold_odds", "50")
    t = AntifraudSettings().thresholds
    assert t.device_voters_per_day == 7 and isinstance(t.device_voters_per_day, int) and t.hold_odds == 50.0
    assert t.contrast_ratio == domain.Thresholds().contrast_ratio
    monkeypatch.setenv("MASSLINE_THRESHOLDS__DEVICE_VOTERS", "7")
    with pytest.raises(ValidationError, match="device_voters"):
        AntifraudSettings()
    monkeypatch.delenv("MASSLINE_THRESHOLDS__DEVICE_VOTERS")
    monkeypatch.setenv("MASSLINE_THRESHOLDS__BURST_RATIO", "-1")
    with pytest.raises(ValidationError, match="burst_ratio"):
        AntifraudSettings()


def test_the_service_still_reads_threshold_overrides_as_json_and_refuses_unknown_ones(monkeypatch) -> None:
    monkeypatch.setenv("MASSLINE_FRAUD_THRESHOLDS", '{"device_voters_per_day": 7, "hold_odds": 50}')
    t = AntifraudSettings().thresholds
    assert t.device_voters_per_day == 7 and isinstance(t.device_voters_per_day, int) and t.hold_odds == 50.0
    monkeypatch.setenv("MASSLINE_FRAUD_THRESHOLDS", '{"device_voters": 7}')
    with pytest.raises(ValidationError, match="unknown threshold 'device_voters'"):
        AntifraudSettings()
    assert AntifraudSettings.model_fields["policy"].default == "auto"


def test_a_campaign_override_applies_over_the_service_s_thresholds() -> None:
    base = domain.with_overrides(domain.Thresholds(), {"hold_odds": 40})
    mine = domain.with_overrides(base, {"contrast_ratio": 6})
    assert (mine.hold_odds, mine.contrast_ratio) == (40.0, 6.0)
    with pytest.raises(ValueError, match="must be a number"):
        domain.with_overrides(base, {"contrast_ratio": -1})


def test_an_identity_held_on_a_shared_device_at_a_person_s_pace_is_at_hold_risk_and_at_a_farm_s_pace_at_invalidate():
    t = domain.Thresholds()
    case = {"reason_code": "device_shared", "status": "flagged", "score": 0.0, "subject": "device:tablet"}
    assert domain.identity_risk([case], t)["level"] == "hold"
    fast = {**case, "status": "invalidated", "subject": "device:phone|fast"}
    assert domain.identity_risk([case, fast], t)["level"] == "invalidate"


def test_an_identity_whose_case_was_held_for_a_person_is_at_hold_risk_whatever_its_odds() -> None:
    # Two strong traits that a place's people could share (one browser string, a data centre's few addresses) come to
    # fewer pieces of evidence than invalidate: the case holds, however likely its odds. The identity's level says
    # what was done with its votes, its odds how strong the evidence is.
    t = domain.Thresholds()
    held = {"reason_code": "coordinated_cohort", "status": "flagged", "score": math.log(2.4e7)}
    risk = domain.identity_risk([held], t)
    assert risk["level"] == "hold" and risk["odds"] > t.invalidate_odds
    assert domain.identity_risk([{**held, "status": "invalidated"}], t)["level"] == "invalidate"
    assert domain.identity_risk([{**held, "status": "overturned"}], t)["level"] == "none"
