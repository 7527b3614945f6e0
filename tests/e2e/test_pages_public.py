"""In a real browser at a phone's and a desktop's size: a unit uploads its entry's picture (a file that is no
picture is refused in words), the campaign page shows its banner, rules, filing numbers and privacy statement and
carries a share card, the entries sit in columns beside the voting panel on a desktop and in one column on a
phone, the code button counts down, the panel says when the voter is verified, the status page speaks words; axe-core
finds no serious or critical accessibility problem on the campaign, entry list, status and sign-in pages."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from support import PASSWORD, PHONE_SIZE, SCREENSHOTS, Api, open_voting

from services.operations.demo import DEMO_CAMPAIGN, DEMO_PASSWORD, STAFF, load_demo
from services.operations.devstack import SERVICES

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.e2e

CAMPAIGN = "pages-public"
DESKTOP_SIZE = {"width": 1366, "height": 900}
AXE = Path(__file__).resolve().parents[1] / "a11y" / "node_modules" / "axe-core" / "axe.min.js"


def serious_problems(page) -> list[tuple[str, str, list]]:
    """axe-core's serious and critical violations on the page as it stands (injected: the context bypasses the
    page's own script policy for this one file)."""
    if not AXE.exists():
        pytest.fail(f"axe-core is needed at {AXE}: make install (npm ci in tests/a11y)")
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in violations if v["impact"] in ("serious", "critical")]


def checked(page, name: str) -> None:
    """No serious accessibility problem, and a screenshot to look at."""
    assert serious_problems(page) == [], name
    page.screenshot(path=str(SCREENSHOTS / f"public-{name}.png"), full_page=True)


def photo_with_metadata() -> bytes:
    """A wide JPEG carrying a camera's EXIF, as a phone would upload it."""
    image = Image.new("RGB", (900, 600), "#1f6feb")
    for x in range(300, 600):
        for y in range(150, 450, 3):
            image.putpixel((x, y), (255, 255, 255))
    exif = Image.Exif()
    exif[0x010F] = "MasslineTestCam"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_a_unit_s_picture_and_the_public_pages_on_a_phone_and_a_desktop(system, browser, tmp_path) -> None:
    api = Api(system.gateway_url)
    entries = open_voting(api, CAMPAIGN, ["公开页甲号", "公开页乙号", "公开页丙号"])
    base = system.gateway_url
    expect = playwright.expect
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # --- the unit uploads its entry's picture from the nomination page; a text file is refused in words ---
    context = browser.new_context(viewport=DESKTOP_SIZE, locale="zh-CN")
    page = context.new_page()
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(f"{CAMPAIGN}-u0")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{base}/console/nominations/{entries[0]}")
    not_a_picture = tmp_path / "avatar.png"
    not_a_picture.write_bytes(b"this is a letter, not a picture")
    page.get_by_label("选择图片").set_input_files(str(not_a_picture))
    page.get_by_role("button", name="上传").click()
    expect(page.locator("#image-error")).to_have_text("这个文件不是图片，请上传 PNG、JPEG 或 WebP 图片。")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(photo_with_metadata())
    page.get_by_label("选择图片").set_input_files(str(photo))
    page.get_by_role("button", name="上传").click()
    expect(page.get_by_text("头像已更新。")).to_be_visible()
    expect(page.get_by_role("img", name="账号头像")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "public-unit-picture-desktop.png"), full_page=True)
    context.close()

    # The public picture: square WebP, no metadata, kept a year at its versioned address, 304 when unchanged.
    listed = {e["name"]: e for e in api.call("GET", f"/api/submission/public/campaigns/{CAMPAIGN}/entries")
              .json()["entries"]}
    version = listed["公开页甲号"]["image"]
    assert version and listed["公开页乙号"]["image"] is None
    address = f"/api/submission/public/campaigns/{CAMPAIGN}/entries/{entries[0]}/image/64?v={version}"
    picture = api.call("GET", address)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/webp"
    assert "immutable" in picture.headers["cache-control"]
    shown = Image.open(io.BytesIO(picture.content))
    assert shown.size == (64, 64) and not dict(shown.getexif()) and b"MasslineTestCam" not in picture.content
    again = api.call("GET", address, headers={"If-None-Match": picture.headers["etag"]})
    assert again.status_code == 304
    assert api.call("GET", f"/api/submission/public/campaigns/{CAMPAIGN}/entries/{entries[1]}/image/64")\
        .status_code == 404
    # Another unit may not change it; a GIF is named as the format refused.
    api.login(f"{CAMPAIGN}-u1", PASSWORD)
    gif = io.BytesIO()
    Image.new("RGB", (40, 40), "green").save(gif, format="GIF")
    other = api.call("PUT", f"/api/submission/nominations/{entries[0]}/image", f"{CAMPAIGN}-u1",
                     content=photo_with_metadata(), headers={"content-type": "image/jpeg"})
    assert other.status_code == 403 and other.json()["error"]["code"] == "not_your_nomination"
    refused = api.call("PUT", f"/api/submission/nominations/{entries[1]}/image", f"{CAMPAIGN}-u1",
                       content=gif.getvalue(), headers={"content-type": "image/gif"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "image_unsupported_format"
    assert refused.json()["error"]["details"]["format"] == "GIF"

    for size_name, size in (("phone", PHONE_SIZE), ("desktop", DESKTOP_SIZE)):
        context = browser.new_context(viewport=size, locale="zh-CN", bypass_csp=True,
                                      is_mobile=size_name == "phone", has_touch=size_name == "phone")
        page = context.new_page()

        # The campaign page: banner, rules, filing numbers, privacy statement, share card.
        page.goto(f"{base}/c/{CAMPAIGN}")
        expect(page.get_by_role("img", name="走好网上群众路线 · 成绩突出账号推选")).to_be_visible()
        expect(page.get_by_role("heading", name="活动规则")).to_be_visible()
        expect(page.locator(".rules li").first).to_contain_text("高校为管理主体运营的政务账号")
        expect(page.locator(".filing")).to_contain_text("陕ICP备00000000号-1（演示）")
        expect(page.locator(".filing a", has_text="陕公网安备")).to_have_attribute("href", "https://beian.mps.gov.cn/")
        assert page.locator("meta[property='og:title']").get_attribute("content").startswith("2024年陕西省")
        assert page.locator("meta[property='og:image']").get_attribute("content") == \
            f"{base}/static/banners/share-card.png"
        assert page.locator("meta[itemprop='image']").get_attribute("content") == \
            f"{base}/static/banners/share-card.png"
        assert api.call("GET", "/static/banners/share-card.png").status_code == 200
        checked(page, f"campaign-{size_name}")
        page.get_by_role("link", name="隐私声明").click()
        expect(page.get_by_role("heading", name="隐私声明")).to_be_visible()
        expect(page.locator(".statement")).to_contain_text("只收集您的手机号码")

        # The entry list: pictures on the cards; columns beside the panel on a desktop, one column on a phone.
        page.goto(f"{base}/c/{CAMPAIGN}/entries")
        card = page.locator(".entry", has_text="公开页甲号")
        expect(card.locator("img.avatar")).to_have_attribute("src", re.compile(rf"/image/64\?v={version}$"))
        expect(page.locator(".entry", has_text="公开页乙号").locator(".avatar.blank")).to_have_text("公")
        boxes = [page.locator(".entry").nth(i).bounding_box() for i in range(3)]
        panel = page.locator("#vote-panel").bounding_box()
        listing = page.locator(".entries").bounding_box()
        if size_name == "desktop":
            assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"], boxes  # three columns
            assert panel["x"] >= listing["x"] + listing["width"], (panel, listing)  # the panel at the side
        else:
            assert boxes[0]["x"] == boxes[1]["x"] and boxes[1]["y"] > boxes[0]["y"], boxes  # one column
            assert panel["y"] + panel["height"] <= listing["y"], (panel, listing)  # the panel first
            assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]  # nothing sideways
        checked(page, f"entries-{size_name}")

        # The code button counts down once a code is sent; verified, the panel says so and hides the form.
        expect(page.get_by_role("button", name="换个号码")).to_be_hidden()  # nothing to change before verifying
        phone = f"1391234{5500 + len(size_name):04d}"
        page.get_by_label("手机号码").fill(phone)
        page.get_by_role("button", name="获取验证码").click()
        expect(page.locator("#vote-message")).to_contain_text("验证码已发送")
        expect(page.locator("#send-code")).to_have_text(re.compile(r"^\d+ 秒后可重新获取$"))
        expect(page.locator("#send-code")).to_be_disabled()
        expect(page.locator("#vote-state")).to_have_text("手机号验证")
        page.get_by_label("短信验证码").fill(api.call("GET", f"/api/voting/dev/sms-codes/{phone}").json()["code"])
        page.get_by_role("button", name="验证", exact=True).click()
        expect(page.locator("#vote-state")).to_have_text("已验证")
        expect(page.locator("#votes-left")).to_have_text("今日剩余 10 票")
        expect(page.get_by_role("heading", name=re.compile("已验证.*今日剩余 10 票"))).to_be_visible()
        expect(page.locator("#verify-form")).to_be_hidden()
        page.screenshot(path=str(SCREENSHOTS / f"public-verified-{size_name}.png"), full_page=True)

        # The status page in words, where the footer's "系统状态" leads; in English too.
        page.get_by_role("link", name="系统状态").click()
        expect(page.get_by_role("heading", name="系统状态")).to_be_visible()
        expect(page.locator(".notice.ok")).to_have_text("所有服务运行正常。")
        expect(page.locator(".status-list li")).to_have_count(len(SERVICES))  # every service, each in words
        expect(page.locator(".status-list li", has_text="网络投票")).to_contain_text("正常")
        checked(page, f"status-{size_name}")
        page.goto(f"{base}/status?lang=en")
        expect(page.locator(".status-list li", has_text="Voting")).to_contain_text("Ready")

        page.goto(f"{base}/login?lang=zh")
        checked(page, f"login-{size_name}")
        context.close()


def test_the_demo_gives_a_login_for_every_role(system, browser) -> None:
    """The demo loads once per system; each of its people signs in and finds the console of their role."""
    api = Api(system.gateway_url)
    load_demo(system.gateway_url, lambda _: None)
    assert any(c["id"] == DEMO_CAMPAIGN for c in api.call("GET", "/api/submission/campaigns").json()["campaigns"])
    consoles = {"expert": "我的评审任务", "committee": "终评与发布", "supervisor": "终评与发布", "operator": "运行监测"}
    assert {p["role"] for p in STAFF} == set(consoles)
    context = browser.new_context(viewport=PHONE_SIZE, locale="zh-CN")
    page = context.new_page()
    for person in STAFF:
        page.goto(system.gateway_url + "/login")
        page.get_by_label("用户名").fill(person["username"])
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        playwright.expect(page.get_by_role("heading", name="工作台")).to_be_visible()
        playwright.expect(page.get_by_role("link", name=consoles[person["role"]]).first).to_be_visible()
        page.get_by_role("button", name="退出登录").click()
    context.close()
