"""Notice templates: each renders for its event in Chinese and English, breaks loudly, and stays safe."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from massline.contracts import (
    NominationApproved,
    NominationRejected,
    NominationReturned,
    NominationSubmitted,
    NominationWithdrawn,
)
from services.notification import domain
from services.notification.app import build_runtime
from services.notification.rendering import TEMPLATES, TemplateCatalog, TemplateLoadError
from services.notification.settings import NotificationSettings

NOMINATION_ID = uuid.UUID("1a2b3c4d-0000-4000-8000-000000000001")
CAMPAIGN = domain.CampaignNames(
    "2024年陕西省“走好网上群众路线”成绩突出账号推选活动（陕西高校）",
    {"institutional": {"zh": "机构/政务账号", "en": "Institutional (government affairs) account"}},
)
COMMON = dict(nomination_id=NOMINATION_ID, unit_id="u-xjtu", category_id="institutional", entry_name="西安交大发布")

SAMPLE_EVENTS = {
    "nomination_received": NominationSubmitted(**COMMON, unit_name="西安交通大学", platform="wechat"),
    "nomination_approved": NominationApproved(**COMMON, unit_name="西安交通大学", step_id="province", final=True),
    "nomination_returned": NominationReturned(**COMMON, step_id="city", reason="请补充近一年的发稿量。"),
    "nomination_rejected": NominationRejected(**COMMON, reason="账号近一年内曾被通报。"),
}


@pytest.fixture(scope="module")
def catalog() -> TemplateCatalog:
    return TemplateCatalog.load()


def _render(catalog: TemplateCatalog, event, locale: str, campaign=CAMPAIGN):
    [notice] = domain.notices_for(event)
    return notice, catalog.render_notice(notice, "shaanxi-2024-accounts", campaign, locale)


def test_every_notice_to_a_nominating_unit_has_a_sample_event_here():
    # The other notices (reviewers, results, committee, reminders, experts) are in test_notification_channels.py.
    to_units = {k for k in domain.NOTICE_KINDS if k.startswith("nomination_") and k != "nomination_to_review"}
    assert set(SAMPLE_EVENTS) == to_units


@pytest.mark.parametrize("locale", ["zh", "en"])
@pytest.mark.parametrize("template", sorted(SAMPLE_EVENTS))
def test_each_event_renders_a_notice_to_its_unit(catalog, template, locale):
    notice, rendered = _render(catalog, SAMPLE_EVENTS[template], locale)
    assert notice.template == template
    assert notice.recipient == "unit:u-xjtu"
    assert notice.refs == {"nomination_id": str(NOMINATION_ID)}
    assert "西安交大发布" in rendered.subject and "\n" not in rendered.subject
    assert "西安交大发布" in rendered.body
    assert CAMPAIGN.title in rendered.body
    assert CAMPAIGN.categories["institutional"][locale] in rendered.body
    assert "1a2b3c4d" in rendered.body
    if template in ("nomination_returned", "nomination_rejected"):
        assert SAMPLE_EVENTS[template].reason in rendered.body


def test_the_languages_differ(catalog):
    _, zh = _render(catalog, SAMPLE_EVENTS["nomination_returned"], "zh")
    _, en = _render(catalog, SAMPLE_EVENTS["nomination_returned"], "en")
    assert "退回原因" in zh.body and "Reason:" in en.body


def test_a_resubmission_says_so(catalog):
    event = NominationSubmitted(**COMMON, unit_name="西安交通大学", resubmission=True)
    _, rendered = _render(catalog, event, "zh")
    assert "重新提交" in rendered.subject


def test_an_unknown_campaign_falls_back_to_ids(catalog):
    _, rendered = _render(catalog, SAMPLE_EVENTS["nomination_approved"], "zh", campaign=None)
    assert "shaanxi-2024-accounts" in rendered.body and "institutional" in rendered.body


def test_an_unknown_locale_gets_english(catalog):
    _, fr = _render(catalog, SAMPLE_EVENTS["nomination_approved"], "fr")
    _, en = _render(catalog, SAMPLE_EVENTS["nomination_approved"], "en")
    assert fr == en


def test_only_the_events_units_must_hear_about_make_notices():
    assert domain.notices_for(NominationApproved(**COMMON, unit_name="x", step_id="city", final=False)) == []
    assert domain.notices_for(NominationWithdrawn(nomination_id=NOMINATION_ID, unit_id="u", category_id="c")) == []


def test_a_missing_variable_fails_at_render(catalog):
    context = dict(domain.NOTICE_KINDS["nomination_returned"].sample)
    del context["reason"]
    with pytest.raises(UndefinedError):
        catalog.render("nomination_returned", "zh", context)


# --- loading -------------------------------------------------------------------------------

@pytest.fixture
def template_copy(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES, target)
    return target


def test_a_syntax_error_fails_loading_naming_the_file_and_line(template_copy):
    (template_copy / "nomination_returned.en.txt").write_text(
        "Returned: {{ entry_name }}\n\nReason: {{ reason }\n", encoding="utf-8"
    )
    with pytest.raises(TemplateLoadError) as err:
        TemplateCatalog.load(template_copy)
    assert "nomination_returned.en.txt" in str(err.value)
    assert "line 3" in str(err.value)


def test_a_variable_the_event_does_not_provide_fails_loading(template_copy):
    (template_copy / "nomination_approved.zh.txt").write_text(
        "通过：{{ entry_name }}\n\n联系人：{{ contact_phone }}\n", encoding="utf-8"
    )
    with pytest.raises(TemplateLoadError) as err:
        TemplateCatalog.load(template_copy)
    assert "nomination_approved.zh.txt" in str(err.value) and "contact_phone" in str(err.value)


def test_a_missing_language_fails_loading(template_copy):
    (template_copy / "nomination_rejected.en.txt").unlink()
    with pytest.raises(TemplateLoadError) as err:
        TemplateCatalog.load(template_copy)
    assert "nomination_rejected.en.txt" in str(err.value) and "missing" in str(err.value)


def test_a_file_without_subject_and_body_fails_loading(template_copy):
    (template_copy / "nomination_received.zh.txt").write_text("只有一行 {{ entry_name }}\n", encoding="utf-8")
    with pytest.raises(TemplateLoadError) as err:
        TemplateCatalog.load(template_copy)
    assert "nomination_received.zh.txt" in str(err.value)


def test_the_service_refuses_to_start_with_a_broken_template(template_copy):
    (template_copy / "nomination_received.zh.txt").write_text("{% if %}\n\n正文\n", encoding="utf-8")
    with pytest.raises(TemplateLoadError) as err:
        build_runtime(NotificationSettings(templates_dir=template_copy))
    assert "nomination_received.zh.txt" in str(err.value)


# --- what comes out is safe ----------------------------------------------------------------

@pytest.mark.parametrize("locale", ["zh", "en"])
def test_markup_in_event_text_is_escaped(catalog, locale):
    # The inbox is shown in web pages: text from units and reviewers must not become markup there.
    event = NominationReturned(
        **{**COMMON, "entry_name": '<script>alert("x")</script>发布'},
        step_id="city",
        reason='<img src=x onerror="steal()"> & 请修改',
    )
    _, rendered = _render(catalog, event, locale)
    for text in (rendered.subject, rendered.body):
        assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;发布" in rendered.subject
    assert "&lt;img src=x onerror=&#34;steal()&#34;&gt; &amp; 请修改" in rendered.body


def test_an_entry_name_cannot_add_lines_or_hide_text(catalog):
    event = NominationSubmitted(
        **{**COMMON, "entry_name": "正常名称\n\n推荐已通过，请点击链接\u202egnp.exe\u200b"}, unit_name="x"
    )
    _, rendered = _render(catalog, event, "zh")
    assert "\n" not in rendered.subject
    assert "\u202e" not in rendered.body and "\u200b" not in rendered.body
    assert "正常名称 推荐已通过，请点击链接gnp.exe" in rendered.subject


@pytest.mark.parametrize(
    "reason",
    ["请联系 13800138000 补充材料", "请联系138-0013-8000", "身份证 61010219900101123X 有误", "发至 zhang.san@example.com"],
)
def test_personal_data_in_a_reason_is_removed(catalog, reason):
    event = NominationReturned(**COMMON, step_id="city", reason=reason)
    _, zh = _render(catalog, event, "zh")
    _, en = _render(catalog, event, "en")
    for secret in ("13800138000", "0013", "61010219900101123X", "zhang.san@example.com"):
        assert secret not in zh.body and secret not in en.body
    assert "［已隐去］" in zh.body and "[removed]" in en.body


@pytest.mark.parametrize("ident", ["59c99930-e70d-502a-8cba-23577247209f", "00000000-0000-4000-8000-138001380001"])
def test_an_id_whose_digits_run_long_is_kept_whole_beside_a_number_that_is_removed(ident):
    line = domain.neutral_line(f"POST /webhooks/deliveries/{ident}/redeliver or call 13912345678", "en")
    assert ident in line and "13912345678" not in line and "[removed]" in line


def test_long_text_is_cut():
    assert len(domain.neutral_line("名" * 500)) == domain.LINE_LIMIT
    assert domain.neutral_text("段" * 5000).endswith("…")


def test_recipient_addresses():
    assert domain.recipient_address("unit", "u-1") == "unit:u-1"
    assert domain.parse_recipient("committee:henan-2021-cases") == "committee:henan-2021-cases"
    for bad in ("u-1", "voter:1", "unit:", "unit:a/b", "unit:a b"):
        with pytest.raises(domain.RecipientInvalid):
            domain.parse_recipient(bad)


def test_delivery_ids_are_stable_per_event_recipient_and_channel():
    event_id = uuid.uuid4()
    assert domain.delivery_id(event_id, "unit:1", "inbox") == domain.delivery_id(event_id, "unit:1", "inbox")
    assert domain.delivery_id(event_id, "unit:1", "inbox") != domain.delivery_id(event_id, "unit:1", "email")
