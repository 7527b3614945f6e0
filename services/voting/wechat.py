"""WeChat's API as the voting service calls it: an authorisation code for the voter's openid."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from .domain import WechatCodeInvalid, WechatUnavailable
from .domain.wechat import openid_of
from .settings import VotingSettings

log = logging.getLogger(__name__)


class WechatClient:
    def __init__(self, settings: VotingSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.AsyncClient(timeout=10.0, follow_redirects=False)

    async def openid(self, code: str) -> str:
        """`GET /sns/oauth2/access_token`: the code (good once, for five minutes) for the voter's openid."""
        s = self.settings
        params = {"appid": s.wechat_app_id, "secret": s.wechat_app_secret, "code": code,
                  "grant_type": "authorization_code"}
        try:
            r = await self.client.get(f"{s.wechat_api_url.rstrip('/')}/sns/oauth2/access_token", params=params)
            answer: Any = json.loads(r.text)  # WeChat answers JSON, not always labelled as such
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("wechat code exchange failed", extra={"error": type(exc).__name__})
            raise WechatUnavailable() from None
        try:
            return openid_of(answer)
        except (WechatCodeInvalid, WechatUnavailable) as exc:
            # The errcode and message say what is wrong; neither holds anything about the voter.
            errcode = answer.get("errcode") if isinstance(answer, dict) else None
            log.warning("wechat refused the code", extra={"errcode": errcode, "error": exc.code})
            raise
