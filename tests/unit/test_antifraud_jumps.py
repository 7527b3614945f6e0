"""The entries whose share of a campaign's identities jumped against their own history, as operators read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.antifraud import domain

T = domain.Thresholds()
DAY0 = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # midnight in Beijing: a campaign day starts


def tens(counts: list[int], start: datetime = DAY0 + timedelta(hours=1)) -> dict[datetime, int]:
    return {start + timedelta(minutes=10 * i): n for i, n in enumerate(counts)}


def test_an_entry_ten_times_its_share_is_listed_strongest_first_and_a_steady_one_is_not() -> None:
    everyone = tens([200] * 12)
    steady = tens([20] * 12)  # a tenth of everyone, all along
    mention = tens([10] * 8 + [80, 40, 10, 10])  # a twentieth, then two fifths for ten minutes
    farm = tens([2] * 8 + [150, 2, 2, 2])  # a hundredth, then three quarters
    found = domain.jumps({"steady": steady, "mention": mention, "farm": farm}, everyone, T)
    assert [j.entry_id for j in found] == ["farm", "mention"]
    assert found[0].start == DAY0 + timedelta(hours=1, minutes=80) and found[0].identities == 150
    assert found[0].share_before < 0.02 and found[0].ratio > found[1].ratio >= T.surge_ratio


def test_no_jump_without_a_history_that_day_or_with_fewer_identities_than_a_surge_has() -> None:
    # The day's first ten minutes have nothing to jump against; a tenfold share of twenty identities is too few.
    assert not domain.jumps({"early": tens([150, 10], start=DAY0)}, tens([200, 200], start=DAY0), T)
    assert not domain.jumps({"small": tens([1] * 8 + [20])}, tens([200] * 8 + [25]), T)
    # History is the day's: yesterday's quiet hours are not today's baseline.
    yesterday = DAY0 - timedelta(minutes=30)
    assert not domain.jumps({"e": {yesterday: 1, DAY0: 150}}, {yesterday: 300, DAY0: 200}, T)


def test_the_operators_softer_list_shows_a_crowd_adding_its_half_again_that_the_rule_never_reads_as_a_surge() -> None:
    # An entry drawing a tenth of everyone draws a third for ten minutes: a crowd bought on top of its supporters.
    everyone = tens([300] * 8 + [400])
    entry = tens([30] * 8 + [130])
    assert not domain.jumps({"bought": entry}, everyone, T)
    [jump] = domain.jumps({"bought": entry}, everyone, T, ratio=2.0, least=20)
    assert jump.identities == 130 and 2.0 <= jump.ratio < T.surge_ratio
    # … and a steady entry stays off it, however soft.
    assert not domain.jumps({"steady": tens([30] * 9)}, tens([300] * 9), T, ratio=1.2, least=20)


def test_an_entry_already_drawing_close_to_a_third_that_a_farm_adds_hundreds_to_is_listed_by_its_excess() -> None:
    # 30 % of everyone all evening; then a farm's 175 identities in ten minutes (half of its 350 in five): its share
    # goes from 30 % to 56 %, which never reads as twice its history, cautiously. An entry at 30 % a little busier
    # than usual (36 %) is not listed.
    everyone = tens([300] * 8 + [475])
    entry = tens([90] * 8 + [265])
    assert not domain.jumps({"popular": entry}, everyone, T, ratio=2.0, least=20)
    [jump] = domain.jumps({"popular": entry}, everyone, T, ratio=2.0, least=20, excess=50)
    assert jump.identities == 265 and jump.ratio < 2.0
    busier = tens([300] * 8 + [330])
    assert not domain.jumps({"steady": tens([90] * 8 + [120])}, busier, T, ratio=2.0, least=20, excess=50)
