"""Devices: many identities voting from one device in a day (a phone farm, an emulator)."""

from __future__ import annotations

from .context import Context
from .findings import Finding, sel
from .signals import DAY, VoteSignal


def check(v: VoteSignal, ctx: Context) -> None:
    if not v.device_hash:
        return
    t = ctx.t
    ids = ctx.distinct.get((v.campaign_id, "device_voters_day", v.device_hash, v.window(DAY)), 0)
    if ids >= t.device_voters_per_day:
        ctx.put(Finding("device_shared", f"device:{v.device_hash}",
                        f"{ids} different identities voted from one device on {v.cast_at:%Y-%m-%d} (UTC) "
                        f"(limit {t.device_voters_per_day - 1}; a family shares a phone between two or three)",
                        f"{v.cast_at:%Y-%m-%d}（UTC）有 {ids} 个不同身份使用同一设备投票"
                        f"（上限 {t.device_voters_per_day - 1} 个；一家人共用手机通常只有两三个身份）",
                        {"identities": ids, "limit": t.device_voters_per_day - 1},
                        sel(v, DAY, device_hash=v.device_hash)))
