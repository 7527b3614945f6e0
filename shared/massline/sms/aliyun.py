"""Alibaba Cloud SMS (Dysmsapi 2017-05-25, `SendSms`), signed as Alibaba Cloud's RPC APIs are (signature version 1.0).

The signature (Alibaba Cloud, "Signature mechanism" for RPC APIs): the request's parameters but `Signature`, each
name and value percent-encoded (RFC 3986: `A-Z a-z 0-9 - _ . ~` kept, everything else `%XX` in upper case, so a
space is `%20`), sorted by name and joined `name=value&…`; the string to sign is
`METHOD&%2F&<that string, percent-encoded again>`; the signature is Base64(HMAC-SHA1(AccessKeySecret + "&", it)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from .base import SmsSendError

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
API_VERSION = "2017-05-25"

_THROTTLED = {"isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "Throttling", "Throttling.User",
              "Throttling.Api"}
_INVALID_NUMBER = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"}
_UNAVAILABLE = {"isp.SYSTEM_ERROR", "ServiceUnavailable", "InternalError", "SignatureNonceUsed"}


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding of UTF-8, as the RPC signature wants it (`~` kept, space `%20`, `*` `%2A`)."""
    return quote(value, safe="~")


def canonical_query(params: Mapping[str, str]) -> str:
    """The parameters but `Signature`, encoded, sorted by name and joined."""
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items())
                    if k != "Signature")


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def rpc_signature(method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    """Base64(HMAC-SHA1(secret + "&", string to sign))."""
    mac = hmac.new(f"{access_key_secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def _refusal(vendor_code: str, status: int) -> SmsSendError:
    if vendor_code in _THROTTLED:
        return SmsSendError("sms_throttled", vendor_code, permanent=False)
    if vendor_code in _INVALID_NUMBER:
        return SmsSendError("phone_number_invalid", vendor_code, permanent=True)
    if vendor_code in _UNAVAILABLE or status >= 500:
        return SmsSendError("sms_unavailable", vendor_code, permanent=False)
    return SmsSendError("sms_rejected", vendor_code, permanent=True)


class AliyunSms:
    """Sends through Dysmsapi `SendSms` over HTTPS POST (parameters in the form body, signed as above)."""

    name = "aliyun"

    def __init__(self, client: httpx.AsyncClient, *, access_key_id: str, access_key_secret: str, sign_name: str,
                 region: str = "cn-hangzhou", endpoint: str = "") -> None:
        self.client = client
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.region = region
        self.endpoint = endpoint or DEFAULT_ENDPOINT

    def signed_params(self, phone: str, template_id: str, params: Mapping[str, str]) -> dict[str, str]:
        """The request's parameters with their signature."""
        query = {
            "AccessKeyId": self.access_key_id, "Action": "SendSms", "Format": "JSON", "RegionId": self.region,
            "SignatureMethod": "HMAC-SHA1", "SignatureNonce": str(uuid.uuid4()), "SignatureVersion": "1.0",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": API_VERSION,
            "PhoneNumbers": phone.strip().removeprefix("+86"), "SignName": self.sign_name,
            "TemplateCode": template_id, "TemplateParam": json.dumps(dict(params), ensure_ascii=False),
        }
        query["Signature"] = rpc_signature("POST", query, self.access_key_secret)
        return query

    async def send(self, phone: str, template_id: str, params: Mapping[str, str]) -> None:
        form = self.signed_params(phone, template_id, params)
        try:
            r = await self.client.post(self.endpoint, data=form)
        except httpx.HTTPError as exc:
            raise SmsSendError("sms_unavailable", type(exc).__name__, permanent=False) from None
        try:
            answer = r.json()
            code = str(answer.get("Code", ""))
        except (ValueError, AttributeError):
            raise SmsSendError("sms_unavailable", f"http {r.status_code}", permanent=False) from None
        if r.status_code == 200 and code == "OK":
            return
        raise _refusal(code or f"http {r.status_code}", r.status_code)
