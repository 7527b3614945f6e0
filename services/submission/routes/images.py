"""Routes for entry pictures: a unit uploads its entry's avatar or logo; everyone reads an approved entry's."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel, Field

from massline.auth import CallerDep, require_role

from ..deps import Deps
from ..domain.images import MEDIA_TYPE
from ..service import images
from .refusals import submission_router

router = submission_router()

# A picture's address carries its version (`?v=`): that address never changes content, so it may be kept a year.
FOREVER = "public, max-age=31536000, immutable"
A_WHILE = "public, max-age=300"


class ImageSaved(BaseModel):
    nomination_id: str
    version: str = Field(description="Changes with the picture; the public entry list carries it as `image`.")
    sizes: list[int] = Field(description="The square sizes kept, in pixels.")


def _picture(found: tuple[str, bytes], request: Request, cache: str) -> Response:
    version, content = found
    etag = f'"{version}"'
    headers = {"ETag": etag, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=MEDIA_TYPE, headers=headers)


@router.put("/nominations/{nomination_id}/image", tags=["nominations"], response_model=ImageSaved,
            openapi_extra={"requestBody": {"required": True, "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/webp": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload_image(nomination_id: uuid.UUID, request: Request, deps: Deps, caller: CallerDep) -> Any:
    """The unit's avatar or logo for its entry, the file itself as the body (PNG, JPEG or WebP, up to 900 kB and
    40 megapixels). Decoded in full, squared, kept at 256 and 64 pixels as WebP without its metadata. Refused 422
    `image_not_an_image`, `image_unsupported_format`, `image_too_large`, `image_too_many_pixels`, `image_missing`."""
    require_role(caller, "unit")
    return await images.upload(deps, nomination_id, await request.body(), caller)


@router.get("/nominations/{nomination_id}/image/{size}", tags=["nominations"],
            responses={200: {"content": {MEDIA_TYPE: {}}}, 404: {"description": "`image_not_found`"}})
async def nomination_image(nomination_id: uuid.UUID, size: int, request: Request, deps: Deps,
                           caller: CallerDep) -> Response:
    """A nomination's picture (256 or 64 pixels square) for its unit, the offices above it and admins."""
    return _picture(await images.picture(deps, nomination_id, size, caller), request, "private, no-cache")


@router.get("/public/campaigns/{campaign_id}/entries/{entry_id}/image/{size}", tags=["public"],
            responses={200: {"content": {MEDIA_TYPE: {}}}, 404: {"description": "`image_not_found`"}})
async def public_image(campaign_id: str, entry_id: str, size: int, request: Request, deps: Deps) -> Response:
    """An approved entry's picture (256 or 64 pixels square), with an ETag; kept by browsers for a year when asked
    for with its version (`?v=`, the entry list's `image`), else for five minutes."""
    found = await images.public_picture(deps, campaign_id, entry_id, size)
    return _picture(found, request, FOREVER if request.query_params.get("v") == found[0] else A_WHILE)
