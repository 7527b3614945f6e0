"""The SMS vendors' request signatures reproduce the vendors' own published worked examples, value for value.

Sources (the expected values below are copied from them, never computed here):

- Alibaba Cloud, Dysmsapi "SendSms" signature example (help.aliyun.com/document_detail/56189): AccessKeyId `testId`,
  AccessKeySecret `testSecret`, the SendSms parameters below; the published string to sign and the signature
  `zJDF+Lrzhj/ThnlvIToysFRq6t4=`.
- Alibaba Cloud, "Signature mechanism" for RPC APIs (help.aliyun.com, developer reference; also quoted at
  developer.aliyun.com/ask/210168): DescribeRegions with AccessKeyId `testid`, AccessKeySecret `testsecret`; the
  published string to sign and the signature `CT9X0VtwR86fNWSnsc6v8YGOjuE=`. The example's parameter is spelled
  `TimeStamp` there; it is kept as published, since the name is part of what is signed.
- Tencent Cloud, "Signature v3" (签名方法 v3, cloud.tencent.com API 3.0 documentation): CVM DescribeInstances, POST,
  timestamp 1551113065, the JSON body below; the published payload hash, canonical request hash, derived keys
  SecretDate/SecretService/SecretSigning and signature `10b1a37a…6c4f`, with the masked example key
  (SecretKey of 32 `*`). An earlier revision of the same page used SecretKey `Gu5t9xGARNpq86cd98joQYCN3*******`
  with the signature `be4f67d3…70a3`.
"""

from __future__ import annotations

import hashlib
import hmac

from massline.sms import aliyun, mask_phone, tencent

SENDSMS_EXAMPLE = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123", "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
SENDSMS_STRING_TO_SIGN = (
    "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123%26PhoneNumbers%3D15300000001"
    "%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF"
    "%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8%26SignatureMethod%3DHMAC-SHA1"
    "%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466%26SignatureVersion%3D1.0%26TemplateCode"
    "%3DSMS_71390007%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D%26Timestamp"
    "%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25"
)


def test_aliyun_sendsms_example_string_to_sign_and_signature() -> None:
    assert aliyun.string_to_sign("GET", SENDSMS_EXAMPLE) == SENDSMS_STRING_TO_SIGN
    assert aliyun.rpc_signature("GET", SENDSMS_EXAMPLE, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_aliyun_rpc_describe_regions_example() -> None:
    params = {"TimeStamp": "2016-02-23T12:46:24Z", "Format": "XML", "AccessKeyId": "testid",
              "Action": "DescribeRegions", "SignatureMethod": "HMAC-SHA1",
              "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "Version": "2014-05-26",
              "SignatureVersion": "1.0"}
    assert aliyun.string_to_sign("GET", params) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26")
    assert aliyun.rpc_signature("GET", params, "testsecret") == "CT9X0VtwR86fNWSnsc6v8YGOjuE="


def test_aliyun_signature_leaves_out_a_signature_parameter_and_encodes_as_rfc3986() -> None:
    signed = dict(SENDSMS_EXAMPLE, Signature="anything")
    assert aliyun.rpc_signature("GET", signed, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert aliyun.percent_encode("a b*~/") == "a%20b%2A~%2F"


TC3_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'


def test_tencent_tc3_example_step_by_step() -> None:
    assert hashlib.sha256(TC3_PAYLOAD).hexdigest() == (
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
    canonical = tencent.canonical_request("cvm.tencentcloudapi.com", "DescribeInstances", TC3_PAYLOAD)
    assert canonical == ("POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n"
                         "x-tc-action:describeinstances\n\ncontent-type;host;x-tc-action\n"
                         "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064")
    assert tencent.string_to_sign(1551113065, "cvm", canonical) == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84")
    key = "*" * 32
    secret_date = hmac.new(f"TC3{key}".encode(), b"2019-02-25", hashlib.sha256).digest()
    assert secret_date.hex() == "da98fb70dcf6b112dc21038d1eeeb3a95c74b4dcb12c1131f864f6066bd02be0"
    assert hmac.new(secret_date, b"cvm", hashlib.sha256).hexdigest() == (
        "8d70cbefb03939f929db64d32dc2ba89b1095620119fe3e050e2b18c5bd2752f")
    assert tencent.derived_key(key, "2019-02-25", "cvm").hex() == (
        "b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af")


def test_tencent_tc3_example_authorization() -> None:
    auth = tencent.tc3_authorization(secret_id="AKID" + "*" * 32, secret_key="*" * 32, service="cvm",
                                     host="cvm.tencentcloudapi.com", action="DescribeInstances",
                                     payload=TC3_PAYLOAD, timestamp=1551113065)
    assert auth == ("TC3-HMAC-SHA256 Credential=AKID" + "*" * 32 + "/2019-02-25/cvm/tc3_request, "
                    "SignedHeaders=content-type;host;x-tc-action, "
                    "Signature=10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f")
    earlier = tencent.tc3_authorization(secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
                                        secret_key="Gu5t9xGARNpq86cd98joQYCN3*******", service="cvm",
                                        host="cvm.tencentcloudapi.com", action="DescribeInstances",
                                        payload=TC3_PAYLOAD, timestamp=1551113065)
    assert earlier.endswith("Signature=be4f67d323c78ab9acb7395e43c0dbcf822a9cfac32fea2449a7bc7726b770a3")


def test_tc3_date_is_the_utc_date() -> None:
    # 1551113065 is 2019-02-26 00:44:25 in Beijing and still the 25th in UTC (the page's own warning).
    assert "\n2019-02-25/sms/tc3_request\n" in tencent.string_to_sign(1551113065, "sms", "x")


def test_phone_numbers_are_masked_for_logs() -> None:
    assert mask_phone("13800138000") == "138******00"
    assert mask_phone("+8613800138000") == "+86*********00"
    assert "0013800" not in mask_phone("13800138000")
