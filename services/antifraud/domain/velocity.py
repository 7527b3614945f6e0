"""Velocity: one identity, device, address or network voting faster than people do."""

from __future__ import annotations

from . import devices
from .context import Context
from .findings import Finding, hm, hm_zh, sel
from .signals import MINUTE, VoteSignal, device_network, ip_key


def check(v: VoteSignal, ctx: Context) -> None:
    t, minute = ctx.t, v.window(MINUTE)
    n = ctx.requests.get((v.campaign_id, v.voter_id, minute), 0)
    if n > t.voter_per_minute:
        ctx.put(Finding("velocity_voter", f"voter:{v.voter_id}",
                        f"{n} vote requests from one identity in the minute from {hm(minute)} "
                        f"(limit {t.voter_per_minute})",
                        f"同一身份在 {hm_zh(minute)} 起的一分钟内发出 {n} 次投票请求（上限 {t.voter_per_minute} 次）",
                        {"requests": n, "limit": t.voter_per_minute}, sel(v, MINUTE, voter_id=v.voter_id)))
    # Counted per network: a phone is on one at a time, while a fingerprint many phones send alike (one model and
    # system, fingerprinted with too little entropy) comes from many networks in the same minute; once seen so that
    # day (`devices.crowd`), it is not one device at all.
    n = ctx.c(v, "device_minute", device_network(v)) if v.device_hash and not devices.crowd(v, ctx) else 0
    if n > t.device_per_minute:
        where_en, where_zh = (f" through {v.subnet}", f"经由 {v.subnet} ") if v.subnet else ("", "")
        ctx.put(Finding("velocity_device", f"device:{device_network(v)}",
                        f"{n} vote requests from one device{where_en} in the minute from {hm(minute)} "
                        f"(limit {t.device_per_minute})",
                        f"同一设备{where_zh}在 {hm_zh(minute)} 起的一分钟内发出 {n} 次投票请求"
                        f"（上限 {t.device_per_minute} 次）",
                        {"requests": n, "limit": t.device_per_minute},
                        sel(v, MINUTE, device_hash=v.device_hash, subnet=v.subnet)))
    n = ctx.c(v, "ip_minute", ip_key(v))
    if n > t.ip_per_minute:
        ctx.put(Finding("velocity_ip", f"ip:{v.ip_hash}",
                        f"{n} vote requests from one address in the minute from {hm(minute)} "
                        f"(alert level {t.ip_per_minute}; not punished alone, shared NAT is common)",
                        f"同一地址在 {hm_zh(minute)} 起的一分钟内发出 {n} 次投票请求（提示阈值 {t.ip_per_minute} 次；"
                        f"共享出口较为常见，仅凭此项不作处理）",
                        {"requests": n, "limit": t.ip_per_minute}, sel(v, MINUTE)))
    n = ctx.c(v, "subnet_minute", v.subnet)
    if n > t.subnet_per_minute:
        ctx.put(Finding("velocity_subnet", f"subnet:{v.subnet}",
                        f"{n} vote requests from {v.subnet} in the minute from {hm(minute)} "
                        f"(alert level {t.subnet_per_minute}; not punished alone, campus and carrier NAT)",
                        f"网段 {v.subnet} 在 {hm_zh(minute)} 起的一分钟内发出 {n} 次投票请求（提示阈值 "
                        f"{t.subnet_per_minute} 次；校园网和运营商共享出口常见，仅凭此项不作处理）",
                        {"requests": n, "limit": t.subnet_per_minute}, sel(v, MINUTE, subnet=v.subnet)))
