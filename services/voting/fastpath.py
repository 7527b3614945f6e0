"""The cast-vote route served without the web framework's per-request machinery: same rules, same answers.

Routing, dependency resolution and response classes cost more CPU than the vote itself on the hot
path, so this ASGI middleware answers `POST /campaigns/{id}/votes` directly: it parses the body with
the same pydantic model, runs the same use case (`services.votes.cast_vote`) and refuses with the same
error shapes. Every other request (and the lifespan) goes on to the FastAPI application, whose
attributes (`state`, `routes`, `openapi()`) the wrapper passes through.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from massline.errors import ApiError, request_validation_error, unexpected_answer
from massline.service import AnswerCounter

from .api_errors import api_error
from .deps import VotingDeps
from .domain import VotingError
from .schemas import REPLAYED_HEADER, CastVote
from .services.votes import cast_vote

_VOTE_PATH = re.compile(r"^/campaigns/([^/]{1,200})/votes$")
MAX_BODY = 16 * 1024
_WANTED = frozenset((b"authorization", b"x-real-ip", b"user-agent"))  # ASGI header names are lower case


class VoteFastPath:
    def __init__(self, app: Any, deps: VotingDeps) -> None:
        self.app = app
        self.deps = deps
        # The vote route bypasses the framework, and with it the runtime's answer counter: count here.
        self.answered = {c: deps.rt.answers.labels(c) for c in AnswerCounter.CLASSES}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        match = _VOTE_PATH.match(scope["path"])
        if match is None:
            return await self.app(scope, receive, send)
        headers = {k: v for k, v in scope["headers"] if k in _WANTED}
        authorization = headers[b"authorization"].decode("latin-1") if b"authorization" in headers else None
        client = scope.get("client")
        ip = (headers[b"x-real-ip"].decode("latin-1").strip() or None) if b"x-real-ip" in headers else (
            client[0] if client else None)
        # Only hashed further on (`domain.user_agent_hash`); the raw string is neither kept nor logged.
        user_agent = headers[b"user-agent"].decode("latin-1") if b"user-agent" in headers else None
        extra: dict[str, str] = {}
        try:
            raw = await _read_body(receive)
            try:
                body = CastVote.model_validate_json(raw)
            except ValidationError as exc:
                raise request_validation_error(exc.errors(include_url=False)) from None
            try:
                status, answer, replayed = await cast_vote(self.deps, match.group(1), body, ip, authorization,
                                                           user_agent)
            except VotingError as refused:
                raise api_error(refused) from None
            if replayed:
                extra = {REPLAYED_HEADER: "true"}
        except ApiError as exc:
            status, answer = exc.status, exc.body()
        except Exception as exc:  # noqa: BLE001 - answered as the framework would (one log line a minute)
            status, answer, extra = unexpected_answer(exc)
        self.answered[f"{status // 100}xx"].inc()
        payload = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


async def _read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(400, "malformed_json", "请求体不完整", "The request body did not arrive")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, "payload_too_large", "请求体过大", "The request body is too large")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
