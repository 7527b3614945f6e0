"""Refusals of the submission rules as API errors: each kind of refusal has its HTTP status."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from massline.errors import ApiError

from ..domain.errors import Forbidden, Invalid, NotFound, NotNow, Refusal, TooManyAttempts, Unauthenticated

_STATUS: dict[type[Refusal], int] = {Unauthenticated: 401, Forbidden: 403, NotFound: 404, NotNow: 409,
                                     Invalid: 422, TooManyAttempts: 429}


def api_error(refusal: Refusal) -> ApiError:
    """The API error a client gets for a refusal: same code, messages and details."""
    headers = {"Retry-After": str(refusal.retry_after_s)} if isinstance(refusal, TooManyAttempts) else None
    return ApiError(_STATUS[type(refusal)], refusal.code, refusal.message_zh, refusal.message_en, refusal.details,
                    headers)


class RefusalsAsApiErrors(APIRoute):
    """A route whose handler's refusals reach the client as API errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Refusal as refusal:
                raise api_error(refusal) from None

        return answer


def submission_router() -> APIRouter:
    """A router for one area of the submission API."""
    return APIRouter(route_class=RefusalsAsApiErrors)
