"""Local stand-ins for the SMS vendors' and WeChat's HTTP APIs, each on a free loopback port in a thread of the test.

They speak the vendors' documented request and answer shapes and check each request's signature with their own
implementation of the vendor's documented procedure, written separately from massline.sms. A request whose
signature does not check is answered with the vendor's own error. The phone number picks the answer:
13900000001 the vendor's "invalid number", 13900000002 its rate limit; any other is sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

INVALID_NUMBER = "13900000001"
THROTTLED_NUMBER = "13900000002"


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 and a free port; `answer(handler, body)` gives (status, JSON)."""

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                status, payload = owner.answer(self, self.rfile.read(length))
                raw = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _reply

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.received: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, Any]:
        raise NotImplementedError

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- Alibaba Cloud SMS (Dysmsapi, RPC signature version 1.0) ----------------------------------

def _rfc3986(value: str) -> str:
    out = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        out.append(char if (byte < 128 and char.isalnum()) or char in "-_.~" else f"%{byte:02X}")
    return "".join(out)


def aliyun_expected_signature(method: str, params: dict[str, str], secret: str) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    query = "&".join(_rfc3986(k) + "=" + _rfc3986(v) for k, v in pairs)
    to_sign = method + "&" + _rfc3986("/") + "&" + _rfc3986(query)
    return base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class AliyunSmsServer(LocalServer):
    def __init__(self, access_key_id: str, access_key_secret: str) -> None:
        self.access_key_id, self.access_key_secret = access_key_id, access_key_secret
        self.nonces: set[str] = set()
        super().__init__()

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, Any]:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        request_id = f"req-{len(self.received) + 1}"
        if params.get("AccessKeyId") != self.access_key_id:
            return 404, {"Code": "InvalidAccessKeyId.NotFound", "Message": "Specified access key is not found.",
                         "RequestId": request_id}
        if handler.command != "POST" or params.get("Signature") != aliyun_expected_signature(
                "POST", params, self.access_key_secret):
            return 400, {"Code": "SignatureDoesNotMatch", "RequestId": request_id,
                         "Message": "Specified signature is not matched with our calculation."}
        if params["SignatureNonce"] in self.nonces:
            return 400, {"Code": "SignatureNonceUsed", "Message": "Specified signature nonce was used already.",
                         "RequestId": request_id}
        self.nonces.add(params["SignatureNonce"])
        stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert abs(time.time() - stamp.timestamp()) < 900
        assert params["Action"] == "SendSms" and params["Version"] == "2017-05-25" and params["Format"] == "JSON"
        self.received.append(params)
        if params["PhoneNumbers"] == INVALID_NUMBER:
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号", "RequestId": request_id}
        if params["PhoneNumbers"] == THROTTLED_NUMBER:
            return 200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发号码天级流控Permits:10",
                         "RequestId": request_id}
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"900619746936498440^{len(self.received)}",
                     "RequestId": request_id}


# --- Tencent Cloud SMS (API 3.0, TC3-HMAC-SHA256) ----------------------------------------------

_AUTH = re.compile(r"^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
                   r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


def tencent_expected_signature(headers: Any, body: bytes, secret_key: str, date: str, service: str,
                               signed: str) -> str:
    names = signed.split(";")
    canonical_headers = "".join(f"{n}:{headers[n].strip().lower()}\n" for n in names)
    canonical = "\n".join(["POST", "/", "", canonical_headers, signed, hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", headers["X-TC-Timestamp"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("TC3" + secret_key).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class TencentSmsServer(LocalServer):
    def __init__(self, secret_id: str, secret_key: str) -> None:
        self.secret_id, self.secret_key = secret_id, secret_key
        super().__init__()

    @staticmethod
    def _error(code: str, message: str) -> tuple[int, Any]:
        return 200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "req-err"}}

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, Any]:
        auth = _AUTH.match(handler.headers.get("Authorization", ""))
        if auth is None:
            return self._error("AuthFailure.InvalidAuthorization", "Authorization is not valid.")
        secret_id, date, service, signed, signature = auth.groups()
        if secret_id != self.secret_id:
            return self._error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        timestamp = int(handler.headers["X-TC-Timestamp"])
        if abs(time.time() - timestamp) > 300:
            return self._error("AuthFailure.SignatureExpire", "Signature expired.")
        names = signed.split(";")
        if "content-type" not in names or "host" not in names or service != "sms" or (
                date != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")) or signature != (
                tencent_expected_signature(handler.headers, body, self.secret_key, date, service, signed)):
            return self._error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        assert handler.headers["X-TC-Action"] == "SendSms" and handler.headers["X-TC-Version"] == "2021-01-11"
        request = json.loads(body)
        self.received.append(request)
        phone = request["PhoneNumberSet"][0]
        code, message = "Ok", "send success"
        if phone == "+86" + INVALID_NUMBER:
            code, message = "InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误"
        elif phone == "+86" + THROTTLED_NUMBER:
            code, message = "LimitExceeded.PhoneNumberThirtySecondLimit", "单个手机号30秒内下发短信条数超过设定的上限"
        return 200, {"Response": {"SendStatusSet": [{"SerialNo": "2645:3207", "PhoneNumber": phone, "Fee": 1,
                                                     "SessionContext": "", "Code": code, "Message": message,
                                                     "IsoCode": "CN"}], "RequestId": "req-ok"}}


# --- WeChat web authorisation: code for openid -------------------------------------------------

class WechatServer(LocalServer):
    """`GET /sns/oauth2/access_token`; `codes` maps each good code to its openid; a code is good once."""

    def __init__(self, app_id: str, app_secret: str, codes: dict[str, str]) -> None:
        self.app_id, self.app_secret, self.codes = app_id, app_secret, dict(codes)
        self.used: set[str] = set()
        super().__init__()

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, Any]:
        url = urlsplit(handler.path)
        query = dict(parse_qsl(url.query))
        self.received.append(query)
        if url.path != "/sns/oauth2/access_token" or query.get("grant_type") != "authorization_code":
            return 200, {"errcode": 40002, "errmsg": "invalid grant_type"}
        if query.get("appid") != self.app_id:
            return 200, {"errcode": 40013, "errmsg": "invalid appid"}
        if query.get("secret") != self.app_secret:
            return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
        code = query.get("code", "")
        if code in self.used:
            return 200, {"errcode": 40163, "errmsg": "code been used"}
        if code not in self.codes:
            return 200, {"errcode": 40029, "errmsg": "invalid code"}
        self.used.add(code)
        return 200, {"access_token": "ACCESS_TOKEN", "expires_in": 7200, "refresh_token": "REFRESH_TOKEN",
                     "openid": self.codes[code], "scope": "snsapi_base"}
