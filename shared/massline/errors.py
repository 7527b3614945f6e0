"""Errors a user can cause: a stable code, a message in Chinese and English, and the HTTP mapping."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from typing import Any
from urllib.parse import unquote_to_bytes

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


# Control characters other than tab, line feed and carriage return (and DEL): nothing a person types.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INVISIBLE = {"Cf", "Zs", "Zl", "Zp", "Cc"}


def invisible_only(text: str) -> bool:
    """Text with an invisible character (a zero-width space, say) and nothing a reader would see."""
    categories = [unicodedata.category(ch) for ch in text]
    return "Cf" in categories and all(c in _INVISIBLE for c in categories)


def check_text(value: Any) -> Any:
    """Refuse, anywhere in a request body, text with control characters or made only of invisible characters."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text may not contain the NUL character (\\u0000)")
        if CONTROL.search(value):
            raise ValueError("text may not contain control characters")
        if invisible_only(value):
            raise ValueError("text may not be made only of blank or invisible characters")
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_text(item)
    return value


class RequestBody(BaseModel):
    """Base for every HTTP request body: unknown fields are an error, not silently dropped; no text holds a NUL or
    another control character (PostgreSQL refuses NUL: it would fail the whole transaction, other people's votes
    of the same batch with it, instead of this request alone), and no text is made only of invisible characters
    (a name of zero-width spaces)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_unreadable_text(cls, value: Any) -> Any:
        return check_text(value)


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
    # A pooled connection whose server died mid-conversation ("cannot switch to state …"): the next try gets a
    # new connection.
    asyncpg.exceptions.InternalClientError,
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


MAX_BODY_BYTES = 1 << 20


def install_error_handlers(app: FastAPI, *, max_body_bytes: int = MAX_BODY_BYTES, path_status: int = 422) -> None:
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
    app.add_middleware(InputDiscipline, max_body_bytes=max_body_bytes, path_status=path_status)


class _Quiet:
    """At most one log line per kind of error per minute: the first with its traceback, then a count."""

    WINDOW_S = 60.0

    def __init__(self) -> None:
        self.seen: dict[str, tuple[float, int]] = {}

    def log(self, level: int, what: str, exc: BaseException) -> None:
        frame = exc.__traceback__
        while frame is not None and frame.tb_next is not None:
            frame = frame.tb_next
        where = f"{frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}" if frame is not None else ""
        key = f"{type(exc).__name__}@{where}"
        now = time.monotonic()
        since, suppressed = self.seen.get(key, (0.0, 0))
        if since and now - since < self.WINDOW_S:
            self.seen[key] = (since, suppressed + 1)
            return
        if len(self.seen) > 1000:
            self.seen.clear()
        self.seen[key] = (now, 0)
        more = f" ({suppressed} more like it in the last minute)" if suppressed else ""
        log.log(level, "%s: %s: %s%s", what, type(exc).__name__, str(exc)[:300], more,
                exc_info=exc if not suppressed and level >= logging.ERROR else None)


_quiet = _Quiet()


def unexpected_answer(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """What a client is told about an error no handler expected: 503 while the database is away, else 500."""
    if database_unavailable(exc):
        _quiet.log(logging.WARNING, "database unavailable", exc)
        return database_unavailable_answer()
    _quiet.log(logging.ERROR, "unhandled error", exc)
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


class InputDiscipline:
    """ASGI middleware: a path with a control character is 422 `invalid_path`, a query with one 422 `invalid_query`
    (a path or query value reaches PostgreSQL as text, which cannot hold NUL); a body over the cap is 413
    `body_too_large`, refused before the app reads it (a body without a length is read up to the cap, no further)."""

    def __init__(self, app: Any, max_body_bytes: int = MAX_BODY_BYTES, path_status: int = 422) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.path_status = path_status

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
            await _refuse(scope, receive, send, ApiError(
                self.path_status, "invalid_path", "请求路径含有控制字符", "The path holds a control character"))
            return
        if CONTROL.search(unquote_to_bytes(scope.get("query_string", b"")).decode("latin-1")):
            await _refuse(scope, receive, send, ApiError(self.path_status, "invalid_query", "查询参数含有控制字符",
                                                         "A query parameter holds a control character"))
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_body_bytes:
                await _refuse(scope, receive, send, _too_large(self.max_body_bytes))
                return
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body_bytes:
                await _refuse(scope, receive, send, _too_large(self.max_body_bytes))
                return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


def _too_large(cap: int) -> ApiError:
    return ApiError(413, "body_too_large", f"请求内容过大（上限 {cap} 字节）", f"The request body is over {cap} bytes",
                    {"max_bytes": cap})


def _replay(messages: list[dict[str, Any]], then: Any = None) -> Any:
    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        if then is not None:
            message: dict[str, Any] = await then()
            return message
        return {"type": "http.disconnect"}

    return receive


async def _refuse(scope: dict[str, Any], receive: Any, send: Any, error: ApiError) -> None:
    await JSONResponse(error.body(), status_code=error.status)(scope, receive, send)
