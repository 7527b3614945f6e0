"""An entry's picture (the account's avatar or logo): checked to be a real image, squared, resized, stripped.

Only PNG, JPEG and WebP are taken, up to MAX_BYTES and MAX_PIXELS; the file is decoded in full (a file that only
starts like an image is refused), turned upright by its EXIF orientation, cropped to a centred square and
written anew as WebP at each of SIZES. Nothing of the upload but its pixels survives: no EXIF (camera, place),
no ICC profile, no comments.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import Invalid

__all__ = ["ALLOWED_FORMATS", "MAX_BYTES", "MAX_PIXELS", "SIZES", "PreparedImage", "prepare_image"]

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
MAX_BYTES = 900_000
MAX_PIXELS = 40_000_000
SIZES = (256, 64)
MEDIA_TYPE = "image/webp"


@dataclass(frozen=True)
class PreparedImage:
    """The picture at each size (WebP bytes) and a version that changes with its content."""

    sizes: dict[int, bytes]
    version: str


def _refuse(code: str, zh: str, en: str, **details: object) -> Invalid:
    return Invalid(code, zh, en, details or None)


def _opened(data: bytes) -> Image.Image:
    """The upload decoded in full, or the refusal that says why it is not an acceptable picture."""
    if not data:
        raise _refuse("image_missing", "请先选择一张图片", "No picture was sent")
    if len(data) > MAX_BYTES:
        raise _refuse("image_too_large", f"图片太大：最大 {MAX_BYTES} 字节", f"The picture is over {MAX_BYTES} bytes",
                      max_bytes=MAX_BYTES, bytes=len(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            fmt = probe.format or "unknown"
            if fmt not in ALLOWED_FORMATS:
                raise _refuse("image_unsupported_format", f"不支持这种图片格式（{fmt}）",
                              f"This picture format ({fmt}) is not accepted", format=fmt,
                              allowed=list(ALLOWED_FORMATS))
            if probe.width * probe.height > MAX_PIXELS:
                raise _refuse("image_too_many_pixels", f"图片尺寸太大：最多 {MAX_PIXELS} 像素",
                              f"The picture has more than {MAX_PIXELS} pixels", max_pixels=MAX_PIXELS,
                              width=probe.width, height=probe.height)
            probe.load()
            return probe
    except Invalid:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        raise _refuse("image_not_an_image", "这个文件不是可以读取的图片",
                      "The file is not a readable picture") from None


def prepare_image(data: bytes) -> PreparedImage:
    """The upload as squared WebP pictures at every size, without its metadata; refused with a stable code when it
    is not a picture (`image_not_an_image`), too large (`image_too_large`, `image_too_many_pixels`), of another
    format (`image_unsupported_format`) or missing (`image_missing`)."""
    image = ImageOps.exif_transpose(_opened(data))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    sizes: dict[int, bytes] = {}
    for size in SIZES:
        square = ImageOps.fit(image, (size, size), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        square.save(out, format="WEBP", quality=85, method=4)
        sizes[size] = out.getvalue()
    version = hashlib.sha256(b"".join(sizes[s] for s in SIZES)).hexdigest()[:16]
    return PreparedImage(sizes, version)
