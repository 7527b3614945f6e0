"""Who is calling: staff tokens (issued by submission at login, verified by every service) and role checks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Header, Request

from .errors import ApiError

_hasher = PasswordHasher()
AUDIENCE = "massline-staff"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


_STAND_IN: list[str] = []


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no stored hash (no such user), the same work is done and the answer is no."""
    if stored_hash is None:
        if not _STAND_IN:
            _STAND_IN.append(_hasher.hash("a stand-in for users that do not exist"))
        stored_hash, password = _STAND_IN[0], password + "\x00never"
    try:
        return bool(_hasher.verify(stored_hash, password))
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Caller:
    username: str
    role: str  # unit | office | admin | expert | committee | supervisor | operator
    organisation_id: str | None


def issue_token(secret: str, caller: Caller, ttl_s: int) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": caller.username, "role": caller.role, "org": caller.organisation_id, "iat": now, "exp": now + ttl_s,
         "aud": AUDIENCE},
        secret,
        algorithm="HS256",
    )


def unauthenticated(en: str = "Sign in first", zh: str = "请先登录") -> ApiError:
    return ApiError(401, "unauthenticated", zh, en)


async def current_caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise unauthenticated()
    secret = request.app.state.runtime.settings.secret_key
    try:
        claims = jwt.decode(authorization[7:].strip(), secret, algorithms=["HS256"], audience=AUDIENCE)
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "token_expired", "登录已过期，请重新登录", "Your sign-in expired; sign in again") from None
    except jwt.PyJWTError:
        raise unauthenticated("The token is not valid; sign in again", "登录凭证无效，请重新登录") from None
    return Caller(claims["sub"], claims["role"], claims.get("org"))


CallerDep = Annotated[Caller, Depends(current_caller)]


def require_role(caller: Caller, *roles: str) -> None:
    if caller.role not in roles:
        raise ApiError(
            403,
            "role_not_allowed",
            "您的角色无权执行此操作",
            f"This needs the role {' or '.join(roles)}",
            {"role": caller.role, "allowed": list(roles)},
        )
