"""A unit imports its accounts from a sheet with `massline accounts import`: refused rows are named by line and code,
nothing is filed unless every row passes or the unit says `--keep-good`; `massline accounts list` shows the result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from support import PASSWORD, Api, wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
UNIT = "cli-reg-unit"
HEADER = "平台,级别,平台账号,认证名称,负责人账号,负责人联系方式,例外理由\n"


def _set_up(api: Api) -> None:
    api.login("admin", "admin-demo-password")
    for org in ({"id": "cli-reg-prov", "name": "广西测试中心", "kind": "office", "level": "provincial"},
                {"id": UNIT, "name": "南宁测试学院", "kind": "unit", "level": "unit", "parent_id": "cli-reg-prov"}):
        assert api.call("PUT", "/api/submission/organisations", "admin", json=org).status_code == 200
    r = api.call("PUT", "/api/submission/users", "admin", json={
        "username": UNIT, "display_name": "南宁测试学院", "password": PASSWORD, "role": "unit", "organisation_id": UNIT})
    assert r.status_code == 200, r.text
    api.login(UNIT, PASSWORD)
    # the registry has learned the unit once a listing answers (it needs no organisation) and a filing is not
    # refused as unknown: an import of nothing known would say unit_unknown on every row
    wait_for("the registry to know the unit", lambda: api.call(
        "POST", "/api/registry/accounts/import", UNIT,
        json={"rows": [{"line": 1, "values": {"platform": "myspace"}}], "keep_good": True},
    ).json()["refused"][0]["code"] != "unit_unknown")


def test_an_import_is_all_or_nothing_unless_the_unit_keeps_the_good_rows(system, tmp_path: Path) -> None:
    api = Api(system.gateway_url)
    _set_up(api)
    env = {**os.environ, **system.env(), "MASSLINE_GATEWAY_URL": system.gateway_url, "MASSLINE_USER": UNIT,
           "MASSLINE_PASSWORD": PASSWORD}

    def massline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.operations", "accounts", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    sheet = tmp_path / "accounts.csv"
    sheet.write_text(HEADER
                     + "微信,单位,nn_weixin,南宁测试学院,cli-staff,0771-1234567,\n"
                     + "微博,单位,nn_weibo,测试学院,cli-staff,0771-1234567,\n"
                     + "\n"
                     + "微信,单位,nn_weixin2,南宁测试学院招生,cli-staff,0771-1234567,\n", encoding="utf-8")
    out = massline("import", str(sheet))
    assert out.returncode == 1
    assert "line 3: name_missing_region" in out.stderr and "line 5: duplicate_platform_account" in out.stderr
    assert "nothing was filed" in out.stderr
    out = massline("list")
    assert out.returncode == 0 and out.stdout == ""

    out = massline("import", str(sheet), "--keep-good")
    assert out.returncode == 1 and "filed 1 account(s) for review; 2 row(s) refused" in out.stdout
    out = massline("list")
    [line] = out.stdout.splitlines()
    assert line.split("\t")[1:] == [UNIT, "wechat", "nn_weixin", "南宁测试学院", "南宁市", "requested", "open"]
    assert "cli-staff" not in out.stdout and "0771" not in out.stdout

    book = Workbook()
    book.active.append(["platform", "level", "platform_account_id", "verified_name", "person_username",
                        "person_contact"])
    book.active.append(["douyin", "unit", 20240101, "广西南宁测试学院", "cli-staff", "0771-1234567"])
    book.save(tmp_path / "more.xlsx")
    out = massline("import", str(tmp_path / "more.xlsx"))
    assert out.returncode == 0 and "filed 1 account(s)" in out.stdout, out.stderr
    assert "\t20240101\t" in massline("list", "--status", "requested").stdout
