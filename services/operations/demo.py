"""Demo data: the seed-000 campaign (Shaanxi 2024 accounts), its units and offices, a handful of nominations."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import yaml

DEMO_CAMPAIGN = "shaanxi-2024-accounts"
DEMO_PASSWORD = "demo-password-2024"

OFFICE = {"id": "sx-center", "name": "陕西高校网络思想政治工作中心", "kind": "office", "level": "provincial"}
UNITS = [
    {"id": "univ-a", "name": "示范理工大学", "kind": "unit", "level": "unit", "parent_id": "sx-center"},
    {"id": "univ-b", "name": "示范师范大学", "kind": "unit", "level": "unit", "parent_id": "sx-center"},
    {"id": "univ-c", "name": "示范农林大学", "kind": "unit", "level": "unit", "parent_id": "sx-center"},
]
# The people beyond units and the office, one per role, so every console can be tried (README, "Demo logins").
STAFF = [
    {"username": "expert", "display_name": "演示评审专家", "role": "expert"},
    {"username": "committee", "display_name": "演示评审委员会", "role": "committee"},
    {"username": "supervisor", "display_name": "演示监督单位", "role": "supervisor"},
    {"username": "operator", "display_name": "演示运维值班", "role": "operator"},
]
# The site's filing numbers belong to the deployment: the demo shows placeholders marked as such.
DEMO_FILING = {"icp": "陕ICP备00000000号-1（演示）", "police": "陕公网安备 00000000000000号（演示）",
               "police_url": "https://beian.mps.gov.cn/"}
NOMINATIONS = [
    ("univ-a", "institutional", "示范理工大学", "wechat", "sflg_weixin", "https://mp.weixin.qq.com/s/sflg", 58000,
     820, 130000, "示范理工大学党委宣传部", "学校官方微信公众号，发布校园要闻、服务师生。"),
    ("univ-a", "personal", "李老师说思政", "douyin", "lls_sz", "https://www.douyin.com/user/lls_sz", 125000, 410,
     980000, "李某某", "党员教师个人抖音号，用短视频讲好思政课。"),
    ("univ-b", "institutional", "示范师大", "weibo", "sfsd_weibo", "https://weibo.com/sfsd", 160000, 1500, 260000,
     "示范师范大学党委宣传部", "学校官方微博，权威发布、回应关切。"),
    ("univ-c", "institutional", "示范农林", "bilibili", "sfnl_bili", "https://space.bilibili.com/10086", 42000, 230,
     88000, "示范农林大学党委宣传部", "学校B站账号，科普与乡村振兴实践。"),
    ("univ-c", "personal", "张书记的田间课堂", "kuaishou", "zsj_tjkt", "https://www.kuaishou.com/profile/zsjtjkt",
     176000, 300, 450000, "张某某", "驻村第一书记个人快手号，直播助农。"),
]


# The demo units' accounts in the registry (docs/registry.md): unit, platform, platform id, verified name (it carries
# the region), what happens after filing (filed: the office approved; active: the unit says it is in operation;
# pending: left in the office's review queue).
REGISTRY_ACCOUNTS = [
    ("univ-a", "wechat", "sflg_weixin", "陕西示范理工大学", "active"),
    ("univ-a", "douyin", "sflg_douyin", "陕西示范理工大学", "filed"),
    ("univ-b", "weibo", "sfsd_weibo", "陕西示范师范大学", "active"),
    ("univ-c", "bilibili", "sfnl_bili", "陕西示范农林大学", "filed"),
    ("univ-c", "wechat", "sfnl_weixin", "陕西示范农林大学", "pending"),
]


# Four weeks of weekly figures per account in service: (followers at the start, posts a week, interactions a week,
# days since the latest post). One account has gone quiet, so the office's first check finds it (docs/registry.md).
DEMO_FIGURES = {"sflg_weixin": (52000, 9, 640, 1), "sflg_douyin": (18000, 5, 300, 2),
                "sfsd_weibo": (30500, 7, 210, 3), "sfnl_bili": (4100, 0, 0, 23)}


def report_demo_figures(c: httpx.Client, tokens: dict[str, dict[str, str]], filed: list[tuple[str, str, str]],
                        say: Callable[[str], None]) -> None:
    """The units report their accounts' weekly figures; the office runs the first health check."""
    today = datetime.now(timezone(timedelta(hours=8))).date()
    for unit, platform_id, account in filed:
        followers, posts, interactions, quiet = DEMO_FIGURES[platform_id]
        for weeks_ago in (3, 2, 1, 0):
            day = today - timedelta(days=7 * weeks_ago)
            c.post(f"/api/registry/accounts/{account}/snapshots", headers=tokens[unit], json={
                "taken_on": day.isoformat(), "followers": followers + 150 * (3 - weeks_ago), "posts": posts,
                "reposts": interactions // 3, "comments": interactions - interactions // 3,
                "last_update_on": min(day, today - timedelta(days=quiet)).isoformat()}).raise_for_status()
    run = c.post("/api/registry/checks/run", headers=tokens["office"], json={})
    run.raise_for_status()
    say(f"registry: four weeks of figures reported; the office's check opened {len(run.json()['opened'])} finding(s)")


def file_demo_accounts(c: httpx.Client, tokens: dict[str, dict[str, str]], say: Callable[[str], None]) -> None:
    """The demo units file their accounts; the office approves all but one, which waits in its review queue."""
    deadline = time.monotonic() + 60
    filed: list[tuple[str, str, str]] = []
    for unit, platform, account_id, name, then in REGISTRY_ACCOUNTS:
        filing = {"platform": platform, "level": "unit", "platform_account_id": account_id, "verified_name": name,
                  "person_in_charge": {"username": unit, "contact": "029-00000000"}, "reason": "演示账号备案"}
        while True:  # the registry learns the units from submission's events, a moment after they are saved
            r = c.post("/api/registry/accounts", headers=tokens[unit], json=filing)
            if r.status_code != 422 or r.json()["error"]["code"] != "unit_unknown" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if r.status_code != 201:
            raise RuntimeError(f"demo account {name} ({platform}) refused: {r.text}")
        if then == "pending":
            continue
        c.post(f"/api/registry/requests/{r.json()['id']}/decision", headers=tokens["office"],
               json={"decision": "approve", "reason": "符合备案要求"}).raise_for_status()
        filed.append((unit, account_id, r.json()["account_id"]))
        if then == "active":
            c.post(f"/api/registry/accounts/{r.json()['account_id']}/activate",
                   headers=tokens[unit]).raise_for_status()
    say(f"registry: {len(REGISTRY_ACCOUNTS)} demo accounts filed, one awaiting the office's review")
    report_demo_figures(c, tokens, filed, say)


def campaigns_dir() -> Path:
    return Path(os.environ.get("MASSLINE_CAMPAIGNS_DIR", Path.cwd() / "campaigns"))


def _shift(value: Any, delta: timedelta) -> Any:
    if isinstance(value, datetime):
        return value + delta
    if isinstance(value, dict):
        return {k: _shift(v, delta) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, delta) for v in value]
    return value


def demo_definition(path: Path | None = None, now: datetime | None = None) -> str:
    """The seed-000 definition with its calendar moved so that today falls in the nomination phase."""
    path = path or campaigns_dir() / f"{DEMO_CAMPAIGN}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    nomination = next(p for p in data["phases"] if p["id"] == "nomination")
    start = nomination["starts_at"]
    now = now or datetime.now(UTC)
    if start.tzinfo is None:
        start = start.replace(tzinfo=timezone(timedelta(hours=8)))
    delta = timedelta(days=(now - start).days - 1)
    shifted = _shift(data, delta)
    shifted["title"] = f"{shifted['title']}（演示）"
    shifted["filing"] = dict(DEMO_FILING)
    return yaml.safe_dump(shifted, allow_unicode=True, sort_keys=False)


def load_demo(url: str, say: Callable[[str], None]) -> None:
    with httpx.Client(base_url=url, timeout=60) as c:
        token = c.post("/api/submission/auth/login",
                       json={"username": os.environ.get("MASSLINE_ADMIN_USER", "admin"),
                             "password": os.environ.get("MASSLINE_ADMIN_PASSWORD", "admin-demo-password")})
        token.raise_for_status()
        admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
        existing = c.get("/api/submission/campaigns").json()["campaigns"]
        if any(item["id"] == DEMO_CAMPAIGN for item in existing):
            say("demo data already loaded")
            return
        say("loading the demo campaign (seed 000, Shaanxi 2024 accounts)")
        for org in [OFFICE, *UNITS]:
            c.put("/api/submission/organisations", json=org, headers=admin).raise_for_status()
        c.put("/api/submission/users", headers=admin, json={
            "username": "office", "display_name": "中心审核员", "password": DEMO_PASSWORD, "role": "office",
            "organisation_id": OFFICE["id"]}).raise_for_status()
        for unit in UNITS:
            c.put("/api/submission/users", headers=admin, json={
                "username": unit["id"], "display_name": unit["name"], "password": DEMO_PASSWORD, "role": "unit",
                "organisation_id": unit["id"]}).raise_for_status()
        for person in STAFF:
            c.put("/api/submission/users", headers=admin, json={**person, "password": DEMO_PASSWORD}).raise_for_status()
        r = c.post("/api/submission/campaigns", headers=admin, json={"definition_yaml": demo_definition()})
        r.raise_for_status()
        c.post(f"/api/submission/campaigns/{DEMO_CAMPAIGN}/phase", headers=admin,
               json={"phase": "nomination"}).raise_for_status()
        tokens: dict[str, dict[str, str]] = {}
        for username in ["office", *(u["id"] for u in UNITS)]:
            t = c.post("/api/submission/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            t.raise_for_status()
            tokens[username] = {"Authorization": f"Bearer {t.json()['access_token']}"}
        ids = []
        for row in NOMINATIONS:
            unit, category, name, platform, account_id, url_, followers, posts, interactions, entity, intro = row
            form = {"account_name": name, "platform": platform, "account_id": account_id, "account_url": url_,
                    "operating_entity": entity, "level": "provincial", "followers": followers, "posts": posts,
                    "interactions": interactions, "introduction": intro, "contact_name": "联系人",
                    "contact_phone": "13800138000"}
            r = c.post(f"/api/submission/campaigns/{DEMO_CAMPAIGN}/nominations", headers=tokens[unit],
                       json={"category_id": category, "form": form, "unit_opinion": "同意推荐"})
            if r.status_code != 201:
                raise RuntimeError(f"demo nomination {name} refused: {r.text}")
            ids.append(r.json()["id"])
        for nomination_id in ids:
            c.post(f"/api/submission/nominations/{nomination_id}/review", headers=tokens["office"],
                   json={"decision": "approve", "reason": "材料齐全，符合条件"}).raise_for_status()
        c.post(f"/api/submission/campaigns/{DEMO_CAMPAIGN}/phase", headers=admin,
               json={"phase": "voting"}).raise_for_status()
        file_demo_accounts(c, tokens, say)
        say(f"demo campaign loaded: {len(ids)} approved nominations, voting open "
            f"(office / univ-a / univ-b / univ-c / expert / committee / supervisor / operator, "
            f"password {DEMO_PASSWORD}; README lists what each can try)")
