"""Tencent Cloud SMS (API 3.0, `SendSms` 2021-01-11), signed with TC3-HMAC-SHA256.

The signature (Tencent Cloud, "Signature v3"): the canonical request is
`POST\\n/\\n\\n` + the signed headers `content-type`, `host` and `x-tc-action`, each `name:value\\n` in lower case and
name order, + `\\n` + their names joined by `;` + `\\n` + hex SHA-256 of the body; the string to sign is
`TC3-HMAC-SHA256\\n<timestamp>\\n<date>/<service>/tc3_request\\n<hex SHA-256 of the canonical request>`, the date
being the UTC date of the timestamp; the key is derived HMAC-SHA256("TC3" + SecretKey, date) → (service) →
("tc3_request"), and the signature is the hex HMAC-SHA256 of the string to sign with it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from .base import SmsSendError, mainland

DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com/"
API_VERSION = "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host;x-tc-action"

_INVALID_NUMBER = {"InvalidParameterValue.IncorrectPhoneNumber",
                   "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber"}


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def canonical_request(host: str, action: str, payload: bytes, content_type: str = CONTENT_TYPE) -> str:
    headers = f"content-type:{content_type.lower()}\nhost:{host.lower()}\nx-tc-action:{action.lower()}\n"
    return f"POST\n/\n\n{headers}\n{SIGNED_HEADERS}\n{hashlib.sha256(payload).hexdigest()}"


def derived_key(secret_key: str, date: str, service: str) -> bytes:
    """SecretSigning: HMAC-SHA256 chained over the date, the service and `tc3_request`."""
    return _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")


def string_to_sign(timestamp: int, service: str, canonical: str) -> str:
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{digest}"


def tc3_authorization(*, secret_id: str, secret_key: str, service: str, host: str, action: str, payload: bytes,
                      timestamp: int) -> str:
    """The `Authorization` header of a POST with a JSON body."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    to_sign = string_to_sign(timestamp, service, canonical_request(host, action, payload))
    signature = hmac.new(derived_key(secret_key, date, service), to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{date}/{service}/tc3_request, "
            f"SignedHeaders={SIGNED_HEADERS}, Signature={signature}")


def _refusal(vendor_code: str, *, server_error: bool = False) -> SmsSendError:
    if vendor_code.startswith("LimitExceeded") or vendor_code == "RequestLimitExceeded":
        return SmsSendError("sms_throttled", vendor_code, permanent=False)
    if vendor_code in _INVALID_NUMBER:
        return SmsSendError("phone_number_invalid", vendor_code, permanent=True)
    if server_error or vendor_code.startswith("InternalError"):
        return SmsSendError("sms_unavailable", vendor_code, permanent=False)
    return SmsSendError("sms_rejected", vendor_code, permanent=True)


class TencentSms:
    """Sends through SMS `SendSms` (one number a request): the parameters go in order into `TemplateParamSet`."""

    name = "tencent"

    def __init__(self, client: httpx.AsyncClient, *, secret_id: str, secret_key: str, sdk_app_id: str,
                 sign_name: str, region: str = "ap-guangzhou", endpoint: str = "") -> None:
        self.client = client
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.region = region
        self.endpoint = endpoint or DEFAULT_ENDPOINT

    def signed_request(self, phone: str, template_id: str, params: Mapping[str, str],
                       timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one request."""
        body = json.dumps({"PhoneNumberSet": [mainland(phone)], "SmsSdkAppId": self.sdk_app_id,
                           "SignName": self.sign_name, "TemplateId": template_id,
                           "TemplateParamSet": list(params.values())}, ensure_ascii=False).encode()
        ts = int(timestamp if timestamp is not None else time.time())
        host = urlsplit(self.endpoint).netloc
        auth = tc3_authorization(secret_id=self.secret_id, secret_key=self.secret_key, service="sms", host=host,
                                 action="SendSms", payload=body, timestamp=ts)
        return body, {"Authorization": auth, "Content-Type": CONTENT_TYPE, "Host": host, "X-TC-Action": "SendSms",
                      "X-TC-Version": API_VERSION, "X-TC-Timestamp": str(ts), "X-TC-Region": self.region}

    async def send(self, phone: str, template_id: str, params: Mapping[str, str]) -> None:
        body, headers = self.signed_request(phone, template_id, params)
        try:
            r = await self.client.post(self.endpoint, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SmsSendError("sms_unavailable", type(exc).__name__, permanent=False) from None
        try:
            answer: Any = r.json()["Response"]
        except (ValueError, KeyError, TypeError):
            raise SmsSendError("sms_unavailable", f"http {r.status_code}", permanent=False) from None
        error = answer.get("Error") if isinstance(answer, dict) else None
        if error:
            raise _refusal(str(error.get("Code", "")), server_error=r.status_code >= 500)
        statuses = answer.get("SendStatusSet") or [{}]
        code = str(statuses[0].get("Code", ""))
        if code != "Ok":
            raise _refusal(code or "no status")
