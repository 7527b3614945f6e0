"""Refusals of the registry rules as API errors, with their code, messages and details."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from massline.errors import ApiError

from ..domain.errors import Refusal


class RefusalsAsApiErrors(APIRoute):
    """A route whose handler's refusals reach the client as API errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Refusal as refusal:
                raise ApiError(refusal.status, refusal.code, refusal.message_zh, refusal.message_en,
                               refusal.details) from None

        return answer


def registry_router() -> APIRouter:
    return APIRouter(route_class=RefusalsAsApiErrors)
