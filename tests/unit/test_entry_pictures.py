"""An entry's picture: only a real PNG, JPEG or WebP within the limits is taken, squared, resized and stripped of its
metadata; anything else is refused with a stable code. The campaign's page settings and the rules' plain-text
blocks; the file of a posted multipart form."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from services.gateway.forms import uploaded_file
from services.gateway.rendering import text_blocks
from services.operations.demo import demo_definition
from services.submission.domain.campaign import CampaignDefinitionError, parse_campaign
from services.submission.domain.errors import Invalid
from services.submission.domain.images import MAX_BYTES, MAX_PIXELS, prepare_image


def encoded(fmt: str, size: tuple[int, int] = (400, 200), mode: str = "RGB", **options: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red").save(out, format=fmt, **options)
    return out.getvalue()


def refusal(data: bytes) -> Invalid:
    with pytest.raises(Invalid) as caught:
        prepare_image(data)
    return caught.value


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_each_accepted_format_becomes_square_webp_at_both_sizes(fmt: str) -> None:
    prepared = prepare_image(encoded(fmt))
    for size in (256, 64):
        picture = Image.open(io.BytesIO(prepared.sizes[size]))
        assert picture.format == "WEBP" and picture.size == (size, size)
    assert prepared.version == prepare_image(encoded(fmt)).version  # the same picture, the same version


def test_the_camera_s_metadata_is_gone_and_the_picture_stands_upright() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # make
    exif[0x0112] = 6  # orientation: turn 90° clockwise to view
    stored = Image.new("RGB", (300, 200), "white")
    stored.paste((0, 0, 0), (0, 0, 100, 200))  # a black band on the left: along the top once turned
    out = io.BytesIO()
    stored.save(out, format="JPEG", exif=exif.tobytes())
    prepared = prepare_image(out.getvalue())
    picture = Image.open(io.BytesIO(prepared.sizes[256]))
    assert not dict(picture.getexif()) and "icc_profile" not in picture.info
    assert b"SecretCam" not in prepared.sizes[256] + prepared.sizes[64]
    # Upright (200 wide, 300 tall), then squared from the middle: the band is the top quarter.
    grey = picture.convert("L")
    assert grey.getpixel((128, 20)) < 60 and grey.getpixel((20, 200)) > 200 and grey.getpixel((128, 200)) > 200


def test_transparency_is_kept() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (50, 50), (200, 0, 0, 0)).save(out, format="PNG")  # a logo on a clear ground
    picture = Image.open(io.BytesIO(prepare_image(out.getvalue()).sizes[64]))
    assert picture.mode == "RGBA" and picture.getpixel((10, 10))[3] == 0


def test_what_is_not_an_acceptable_picture_is_refused_with_its_code() -> None:
    assert refusal(b"").code == "image_missing"
    assert refusal(b"GIF89a but really a letter").code == "image_not_an_image"
    assert refusal(b"%PDF-1.7\n" + b"x" * 200).code == "image_not_an_image"
    assert refusal(encoded("PNG")[:120]).code == "image_not_an_image"  # starts like a PNG, breaks off
    gif = refusal(encoded("GIF"))
    assert gif.code == "image_unsupported_format" and gif.details["format"] == "GIF"
    assert refusal(encoded("BMP", size=(20, 20))).code == "image_unsupported_format"
    big = refusal(b"\x89PNG" + b"0" * MAX_BYTES)
    assert big.code == "image_too_large" and big.details["max_bytes"] == MAX_BYTES


def test_a_small_file_of_very_many_pixels_is_refused_before_it_is_decoded() -> None:
    bomb = encoded("PNG", size=(8000, 6000), mode="1")  # 48 megapixels in a few kilobytes
    assert len(bomb) < MAX_BYTES
    problem = refusal(bomb)
    assert problem.code == "image_too_many_pixels" and problem.details["max_pixels"] == MAX_PIXELS


def test_the_file_of_a_multipart_form_is_found_byte_for_byte() -> None:
    picture = encoded("PNG") + b"\r\n--not-the-boundary\r\n"
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
            b"--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + picture + b"\r\n--XyZ--\r\n")
    assert uploaded_file(body, "multipart/form-data; boundary=XyZ", "image") == picture
    assert uploaded_file(body, "multipart/form-data; boundary=XyZ", "other") is None
    assert uploaded_file(b"image=abc", "application/x-www-form-urlencoded", "image") is None


def test_rules_are_written_as_headings_lists_and_paragraphs_never_as_markup() -> None:
    blocks = text_blocks("## 规则\n- 一\n- <b>二</b>\n\n第一行\n第二行\n\nplain\nwords")
    assert blocks == [("h", "规则"), ("ul", ["一", "<b>二</b>"]), ("p", "第一行第二行"), ("p", "plain words")]


def test_the_demo_campaign_carries_its_page_settings_and_a_banner_must_be_on_this_site() -> None:
    text = demo_definition()
    d = parse_campaign(text)
    assert d.banner is not None and d.banner.image == "/static/banners/mass-line.svg"
    assert d.share is not None and d.share.image.startswith("/static/")
    assert d.filing.icp and d.filing.icp_url.startswith("https://") and d.rules and d.privacy
    for elsewhere in ("https://cdn.example.com/b.png", "//cdn.example.com/b.png", "javascript:alert(1)"):
        with pytest.raises(CampaignDefinitionError) as caught:
            parse_campaign(text.replace("image: /static/banners/mass-line.svg", f"image: '{elsewhere}'"))
        assert [e["field"] for e in caught.value.errors] == ["banner.image"]
