"""WeChat web authorisation (snsapi_base): the signed, expiring `state` a voter takes to WeChat and brings back, the
address the voter is sent to, and what WeChat's answer to a code means.

WeChat allows a state of at most 128 letters and digits, so it is `<expiry, 8 hex><nonce, 16 hex><mac, 32 hex>`:
the mac is a keyed hash over the campaign, the expiry, the nonce and the return address, so a state is good for one
campaign and one return address until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import quote

from .errors import WechatCodeInvalid, WechatStateInvalid, WechatUnavailable

# errcodes of the code-for-openid exchange that say the code itself is bad (invalid, used, missing, expired).
CODE_ERRORS = frozenset({40029, 40163, 41008, 42003})


def _mac(secret: str, campaign_id: str, expiry: int, nonce: str, redirect_uri: str) -> str:
    message = f"wechat-state:{campaign_id}:{expiry}:{nonce}:{redirect_uri}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def new_state(secret: str, campaign_id: str, redirect_uri: str, ttl_s: int, now: float | None = None) -> str:
    expiry = int(now if now is not None else time.time()) + ttl_s
    nonce = secrets.token_hex(8)
    return f"{expiry:08x}{nonce}{_mac(secret, campaign_id, expiry, nonce, redirect_uri)}"


def check_state(secret: str, state: str, campaign_id: str, redirect_uri: str, now: float | None = None) -> None:
    """`WechatStateInvalid` unless the state was signed here for this campaign and return address and is unexpired."""
    if len(state) != 56 or not all(c in "0123456789abcdef" for c in state):
        raise WechatStateInvalid()
    expiry, nonce, mac = int(state[:8], 16), state[8:24], state[24:]
    if not hmac.compare_digest(mac, _mac(secret, campaign_id, expiry, nonce, redirect_uri)):
        raise WechatStateInvalid()
    if expiry <= (now if now is not None else time.time()):
        raise WechatStateInvalid()


def authorize_url(base: str, app_id: str, redirect_uri: str, state: str) -> str:
    """Where the voter's WeChat browser goes to authorise: the parameters in the order WeChat documents them."""
    return (f"{base}?appid={quote(app_id, safe='')}&redirect_uri={quote(redirect_uri, safe='')}"
            f"&response_type=code&scope=snsapi_base&state={state}#wechat_redirect")


def openid_of(answer: Any) -> str:
    """The openid in WeChat's answer to `sns/oauth2/access_token`, or the refusal its errcode means."""
    if not isinstance(answer, dict):
        raise WechatUnavailable()
    errcode = answer.get("errcode")
    if errcode not in (None, 0):
        if errcode in CODE_ERRORS:
            raise WechatCodeInvalid()
        raise WechatUnavailable()
    openid = answer.get("openid")
    if not isinstance(openid, str) or not openid.strip() or len(openid) > 128:
        raise WechatUnavailable()
    return openid
