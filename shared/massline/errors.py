"""Errors a user can cause: a stable code, a message in Chinese and English, and the HTTP mapping."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


def _no_nul(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text may not contain the NUL character (\\u0000)")
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            _no_nul(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    return value


class RequestBody(BaseModel):
    """Base for every HTTP request body: unknown fields are an error, not silently dropped, and no text holds a NUL
    character (PostgreSQL refuses it: it would fail the whole transaction, other people's votes of the same batch
    with it, instead of this request alone)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        return _no_nul(value)


class ApiError(Exception):
    """A refusal the caller can act on. Raising it before any write keeps state unchanged."""

    def __init__(
        self,
        status: int,
        code: str,
        message_zh: str,
        message_en: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message_en}")
        self.headers = headers or {}
        self.status = status
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.details = details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message_en, "message_zh": self.message_zh}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


# What a client is told while PostgreSQL is down or restarting: try again shortly, nothing was written.
DATABASE_RETRY_AFTER_S = 5
_DATABASE_AWAY = (
    OSError,  # refused or reset: the server is not listening
    asyncpg.PostgresConnectionError,  # includes a connection closed in the middle of a statement
    asyncpg.CannotConnectNowError,  # starting up or recovering
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached now (rather than a fault in the request or the code)."""
    return isinstance(exc, _DATABASE_AWAY) or (
        isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc)
    )


def database_unavailable_answer() -> tuple[int, dict[str, Any], dict[str, str]]:
    """503 database_unavailable with Retry-After: status, body and headers."""
    body = {"error": {"code": "database_unavailable",
                      "message": "The database is unavailable; nothing was recorded. Try again shortly.",
                      "message_zh": "数据库暂时不可用，本次请求未被记录，请稍后重试"}}
    return 503, body, {"Retry-After": str(DATABASE_RETRY_AFTER_S)}


_FIELD_CODES = {
    "json_invalid": "malformed_json",
    "extra_forbidden": "unknown_field",
    "missing": "field_required",
}


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors as [{field, code, message}] with our stable codes."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        out.append(
            {
                "field": ".".join(loc),
                "code": _FIELD_CODES.get(err.get("type", ""), "invalid_value"),
                "message": err.get("msg", ""),
            }
        )
    return out


def request_validation_error(errors: list[dict[str, Any]]) -> ApiError:
    """The refusal for a body that is not JSON (400 malformed_json) or has invalid fields (422)."""
    fields = field_errors(errors)
    if any(f["code"] == "malformed_json" for f in fields):
        return ApiError(400, "malformed_json", "请求体不是合法的 JSON", "The request body is not valid JSON")
    return ApiError(422, "validation_failed", "请求内容有误，请检查标出的字段", "The request has invalid fields",
                    fields)


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal has the same shape: {"error": {"code", "message", "message_zh", "details"}}."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        err = request_validation_error(list(exc.errors()))
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}
        code = codes.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": {"code": code, "message": str(exc.detail), "message_zh": str(exc.detail)}},
            status_code=exc.status_code,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        status, body, headers = unexpected_answer(exc)
        return JSONResponse(body, status_code=status, headers=headers)

    # Innermost of the middlewares: an unexpected error is answered here and goes no further. Past this point
    # the framework would answer it too, but then re-raise it to the server, which closes the connection; the
    # gateway, keeping that connection for the next request (maybe another user's), would get no answer.
    app.add_middleware(UnexpectedErrors)


def unexpected_answer(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """What a client is told about an error no handler expected: 503 while the database is away, else 500."""
    if database_unavailable(exc):
        log.warning("database unavailable: %s", exc)
        return database_unavailable_answer()
    log.error("unhandled error", exc_info=exc)
    return 500, {"error": {"code": "internal_error", "message": "Internal error", "message_zh": "服务器内部错误"}}, {}


class UnexpectedErrors:
    """ASGI middleware: an exception from the app becomes a JSON 500 (or 503) answer and is not re-raised."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:  # half an answer went out: nothing better than closing the connection
                raise
            status, body, headers = unexpected_answer(exc)
            response = JSONResponse(body, status_code=status, headers=headers)
            await response(scope, receive, send)


def _has_control_character(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


class RefuseUnstorableText:
    """ASGI middleware: a path with a control character (400 `invalid_path`) or a query string with a NUL
    character (400 `invalid_query`) is refused before any route runs. A path or query value reaches PostgreSQL as
    text, which cannot hold NUL: the statement would fail and the caller get a 500 for a typing mistake."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            refusal = self.refusal(scope)
            if refusal is not None:
                await JSONResponse(refusal.body(), status_code=refusal.status)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def refusal(scope: dict[str, Any]) -> ApiError | None:
        if _has_control_character(str(scope.get("path", ""))):
            return ApiError(400, "invalid_path", "请求路径含有控制字符", "The path holds a control character")
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        if "\x00" in unquote(query, encoding="latin-1"):
            return ApiError(400, "invalid_query", "查询参数含有空字符 (\\u0000)",
                            "A query parameter holds the NUL character (\\u0000)")
        return None
