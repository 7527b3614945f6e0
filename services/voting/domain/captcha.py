"""Captcha challenges without server-side state until they are answered: a signed token holds the challenge.

A challenge's token (`captcha_id`) is `c1.<id>.<expiry>.<answer mac>.<signature>`: a random id, the expiry (unix
seconds), an HMAC with the service secret over both and the answer, and an HMAC over all of that (a token we did not
issue, or altered, is refused without being stored). The answer is not in the token and cannot be worked out from it
without the secret; checking an answer recomputes its MAC. The token is good for one answer: the
service records the id of every answered challenge until it expires (a used id is refused).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

# No look-alikes (0/O, 1/I/L): what a person reads off the image is what they meant.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_PREFIX = "c1"


@dataclass(frozen=True)
class CaptchaCheck:
    """What an answer to a challenge showed. `challenge_id` and `expires_at` (unix seconds) are None for a token
    that is not one of ours; `solved` only for the right answer to a challenge that has not expired."""

    challenge_id: str | None
    expires_at: int | None
    solved: bool

    @property
    def expired_or_foreign(self) -> bool:
        return self.challenge_id is None


def new_answer(length: int = 4) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize_answer(answer: str) -> str:
    """Case and spaces do not matter to a person reading the image."""
    return "".join(answer.split()).upper()


def _mac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()[:32]


def _answer_mac(secret: str, challenge_id: str, expires_at: int, answer: str) -> str:
    return _mac(secret, f"captcha-answer:{challenge_id}:{expires_at}:{normalize_answer(answer)}")


def issue_token(secret: str, answer: str, *, ttl_s: int, now: float | None = None,
                challenge_id: str | None = None) -> str:
    """The token of a new challenge whose answer is `answer`."""
    cid = challenge_id or secrets.token_hex(12)
    expires_at = int(now if now is not None else time.time()) + ttl_s
    body = f"{_PREFIX}.{cid}.{expires_at}.{_answer_mac(secret, cid, expires_at, answer)}"
    return f"{body}.{_mac(secret, 'captcha-token:' + body)}"


def check_answer(secret: str, token: str, answer: str, now: float | None = None) -> CaptchaCheck:
    """Whether `answer` solves the challenge of `token` (the once-only rule is the caller's: it holds the ids)."""
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != _PREFIX or not parts[2].isdigit():
        return CaptchaCheck(None, None, False)
    if not hmac.compare_digest(parts[4], _mac(secret, "captcha-token:" + ".".join(parts[:4]))):
        return CaptchaCheck(None, None, False)
    cid, expires_at = parts[1], int(parts[2])
    if expires_at <= (now if now is not None else time.time()):
        return CaptchaCheck(None, None, False)
    right = hmac.compare_digest(parts[3], _answer_mac(secret, cid, expires_at, answer))
    return CaptchaCheck(cid, expires_at, right)
