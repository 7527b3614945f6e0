"""Values found by fuzzing that once ended in a 500: each is now a refusal that names the field, or is written safely."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from services.gateway.forms import nomination_values, number, whole_number
from services.gateway.upstream import Services
from services.scoring import exports as results_exports
from services.submission import exports as sheet_exports
from services.submission.domain.campaign import CampaignDefinitionError, load_campaign_file, parse_campaign
from services.submission.domain.rules import MAX_FORM_NUMBER, ViolationCode, check_nomination
from tests.unit.test_nomination_rules import SHAANXI_OPEN, account

ROOT = Path(__file__).parents[2]
SHAANXI = ROOT / "campaigns" / "shaanxi-2024-accounts.yaml"


def shaanxi_yaml(**changes: Any) -> str:
    data = yaml.safe_load(SHAANXI.read_text(encoding="utf-8"))
    data.update(changes)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def refusal(text: str) -> list[dict[str, str]]:
    with pytest.raises(CampaignDefinitionError) as caught:
        parse_campaign(text)
    return caught.value.errors


@pytest.mark.parametrize("text", [
    "2024-13-45T99:99:99",          # looks like a timestamp, is none: PyYAML raised ValueError
    "starts: 2024-02-30",
    "version: !!int abc",
    "score: !!float x",
    "[" * 5000,                      # deeper than the parser goes: RecursionError
])
def test_yaml_that_is_no_value_is_a_definition_error(text: str) -> None:
    errors = refusal(text)
    assert errors[0]["field"] == "" and errors[0]["message"].startswith("not valid YAML")


def test_a_nul_written_as_a_yaml_escape_is_refused_where_it_is() -> None:
    text = shaanxi_yaml().replace("title_en: ", 'title_en: "a\\0b"\nx_unused: ', 1)
    assert refusal(text) == [{"field": "title_en",
                              "message": "text may not contain the NUL character (\\u0000); 不能含有空字符"}]
    errors = refusal('categories: [{"id": "a", "name": "x\\0"}]')
    assert errors[0]["field"] == "categories[0].name"


def test_aliases_that_contain_themselves_are_refused_not_walked_for_ever() -> None:
    assert refusal("a: &x [*x]")[0]["message"].startswith("not valid YAML")


@pytest.mark.parametrize("changes, field", [
    ({"version": 2**31}, "version"),                       # the column is an int
    ({"id": "a" + "-b1" * 40}, "id"),                       # ids are indexed: at most 64 characters
    ({"voting": {"votes_per_day": 2**63}}, "voting.votes_per_day"),
])
def test_values_postgresql_cannot_hold_are_refused(changes: dict[str, Any], field: str) -> None:
    fields = [e["field"] for e in refusal(shaanxi_yaml(**changes))]
    assert field in fields


def test_an_infinite_score_is_refused() -> None:
    text = SHAANXI.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["scoring"]["vote_conversion"]["top"] = float("inf")
    assert any("finite" in e["message"] for e in refusal(yaml.safe_dump(data, allow_unicode=True)))


def test_the_demo_campaigns_still_load() -> None:
    for path in (ROOT / "campaigns").glob("*.yaml"):
        load_campaign_file(path)


def test_a_platform_that_is_no_text_is_a_violation_not_a_crash() -> None:
    violations = check_nomination(load_campaign_file(SHAANXI), account(platform={"a": 1}), at=SHAANXI_OPEN)
    assert ViolationCode.PLATFORM_NOT_ALLOWED in [v.code for v in violations]


@pytest.mark.parametrize("followers", [2**63, MAX_FORM_NUMBER + 1, "9" * 5000, "²"])
def test_form_numbers_past_any_count_are_invalid_numbers(followers: Any) -> None:
    violations = check_nomination(load_campaign_file(SHAANXI), account(followers=followers), at=SHAANXI_OPEN)
    assert ViolationCode.INVALID_NUMBER in [v.code for v in violations]


def test_the_largest_form_number_is_taken() -> None:
    proposal = account(followers=MAX_FORM_NUMBER, interactions=str(MAX_FORM_NUMBER))
    assert check_nomination(load_campaign_file(SHAANXI), proposal, at=SHAANXI_OPEN) == []


def test_control_characters_are_dropped_from_the_nominations_sheet() -> None:
    sheet = sheet_exports.Sheet("推荐汇总", [["单位\x01"]], ["名称\x1f"], [["示范\x00大学", "=1+1\x02", 3]])
    book = load_workbook(io.BytesIO(sheet_exports.to_xlsx(sheet)))
    rows = list(book.active.values)
    assert [tuple(v for v in row if v is not None) for row in rows] == [("单位",), ("名称",), ("示范大学", "'=1+1", 3)]


def test_control_characters_are_dropped_from_the_results_sheet() -> None:
    entry = {"rank": 1, "entry_name": "示范\x0b号", "unit_name": "\x1b示范大学", "total": 90.0,
             "components": {"initial": 10.0}, "winner": True}
    results = {"version": 1, "categories": {"institutional": {"name": "机构", "entries": [entry]}}}
    rows = list(load_workbook(io.BytesIO(results_exports.to_xlsx(results))).active.values)
    assert rows[1][2:4] == ("示范号", "示范大学")


@pytest.mark.parametrize("text, number", [("12", 12), (" 7 ", 7), ("²", None), ("١٢", None), ("9" * 19, None),
                                          ("9" * 5000, None), ("-1", None), ("", None)])
def test_page_numbers_typed_in_the_console(text: str, number: int | None) -> None:
    assert whole_number(text) == number


def test_a_form_number_with_thousands_of_digits_goes_to_the_service_as_typed() -> None:
    campaign = {"form": [{"id": "followers", "type": "integer"}, {"id": "posts", "type": "integer"}]}
    _, values, _ = nomination_values(campaign, {"f_followers": "9" * 5000, "f_posts": "12"})
    assert values == {"followers": "9" * 5000, "posts": 12}



@pytest.mark.parametrize("text", ["inf", "-Infinity", "nan", "1e400", "9" * 5000])
def test_a_typed_number_json_cannot_carry_goes_as_text(text: str) -> None:
    assert number(text) == text  # json.dumps refused float("inf"): once a 500 on the adjustment form


def test_typed_numbers_still_go_as_numbers() -> None:
    assert (number(" 12 "), number("2.5"), number("1e3")) == (12, 2.5, 1000)


async def test_a_form_without_a_campaign_is_campaign_not_found_without_asking() -> None:
    # "/campaigns/" is the list's redirect: the page once showed it as a 502.
    answer = await Services(upstreams={"submission": "http://nowhere.invalid"}).campaign(" ")
    assert (answer.status, answer.body["error"]["code"]) == (404, "campaign_not_found")
