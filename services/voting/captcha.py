"""The captcha a voter solves when many codes were asked for from their network: a provider behind one interface.

`CaptchaProvider` is what the service needs of any captcha: a challenge for the page to show, and whether an answer
solves it. `ImageCaptcha` draws distorted characters with the `captcha` library and keeps no state: the challenge
is a signed token (`domain.captcha`). A vendor's slider captcha fits the same interface: its `challenge` gives the
page what the vendor's widget needs (`kind` names the widget), the page sends back the vendor's ticket as
`captcha_id` and its random string as `captcha_answer`, and `check` asks the vendor's API; the service records the
id it returns as answered either way, so no ticket is accepted twice.
"""

from __future__ import annotations

import asyncio
import base64
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from captcha.image import ImageCaptcha as _Drawing

from .domain import CaptchaCheck
from .domain.captcha import check_answer, issue_token, new_answer, normalize_answer
from .settings import VotingSettings


@dataclass(frozen=True)
class Challenge:
    captcha_id: str
    kind: str
    image: str | None  # a data URL for `image`
    expires_in_s: int


class CaptchaProvider(Protocol):
    kind: str

    async def challenge(self) -> Challenge: ...

    async def check(self, captcha_id: str, answer: str) -> CaptchaCheck: ...

    def answer_of(self, captcha_id: str) -> str | None:
        """Development only: the answer of a challenge this process issued, so tests can solve it."""
        ...


class ImageCaptcha:
    """Four characters drawn as a PNG (160×60), the challenge a signed token. Outside production, the answers of the
    last challenges are remembered for `GET /dev/captchas/{captcha_id}`."""

    kind = "image"
    REMEMBERED = 1000

    def __init__(self, secret: str, ttl_s: int, remember: bool) -> None:
        self._secret = secret
        self._ttl_s = ttl_s
        self._drawing = _Drawing(width=160, height=60)
        self._answers: OrderedDict[str, str] | None = OrderedDict() if remember else None

    def _png(self, answer: str) -> bytes:
        return self._drawing.generate(answer, format="png").getvalue()

    async def challenge(self) -> Challenge:
        answer = new_answer()
        png = await asyncio.to_thread(self._png, answer)  # tens of milliseconds of drawing: off the event loop
        token = issue_token(self._secret, answer, ttl_s=self._ttl_s)
        if self._answers is not None:
            self._answers[token] = answer
            while len(self._answers) > self.REMEMBERED:
                self._answers.popitem(last=False)
        return Challenge(token, self.kind, "data:image/png;base64," + base64.b64encode(png).decode(), self._ttl_s)

    async def check(self, captcha_id: str, answer: str) -> CaptchaCheck:
        return check_answer(self._secret, captcha_id, normalize_answer(answer))

    def answer_of(self, captcha_id: str) -> str | None:
        return None if self._answers is None else self._answers.get(captcha_id)


def build_captcha(settings: VotingSettings) -> CaptchaProvider:
    """The provider the settings name (`captcha_provider`)."""
    return ImageCaptcha(settings.secret_key, settings.captcha_ttl_s, remember=settings.env != "production")
