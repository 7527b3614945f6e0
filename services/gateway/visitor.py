"""Who is asking: the staff member signed in by cookie, and the language the page is read in."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from fastapi import Request

from . import texts

STAFF_COOKIE = "massline_staff"
LANG_COOKIE = "massline_lang"


@dataclass
class Staff:
    """The signed-in staff member as their token names them; the token goes on to every service call."""

    token: str
    username: str
    role: str
    organisation_id: str | None


def staff_in(request: Request) -> Staff | None:
    """The staff member of the sign-in cookie; None when there is none, or it is unreadable or expired."""
    token = request.cookies.get(STAFF_COOKIE)
    if not token:
        return None
    try:
        # Read only to choose what to show; every service checks the signature on each call.
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    if claims.get("exp") and claims["exp"] < time.time():
        return None
    return Staff(token, str(claims.get("sub", "")), str(claims.get("role", "")), claims.get("org"))


def language_in(request: Request) -> str:
    """The page's language: asked for in `?lang=`, else the one saved in the cookie, else Chinese."""
    asked = request.query_params.get("lang")
    if asked in texts.LANGS:
        return str(asked)
    saved = request.cookies.get(LANG_COOKIE)
    return saved if saved in texts.LANGS else "zh"
