"""The operator's figures: a campaign's vote rate, the pipeline, the what-if panel and the errors per service."""

from __future__ import annotations

import itertools
from typing import Any

from .service_metrics import Sample, ServiceMetrics, ServiceReading, increase


def vote_rate_view(samples: list[Sample], campaign_id: str) -> dict[str, Any]:
    """One campaign's votes per minute between samples, the figures to show, and the chart as SVG coordinates."""
    pts = [(s.at, r) for s in samples if (r := s.services.get("voting")) is not None]
    rates: list[tuple[float, float]] = []
    for (t0, r0), (t1, r1) in itertools.pairwise(pts):
        if t1 > t0:
            grown = increase([r0.accepted.get(campaign_id, 0.0), r1.accepted.get(campaign_id, 0.0)]) or 0.0
            rates.append((t1, grown * 60.0 / (t1 - t0)))
    last = pts[-1][1] if pts else None
    width, height = 320, 120
    peak = max((r for _, r in rates), default=0.0)
    top = max(peak, 1.0)
    chart = None
    if len(rates) >= 2:
        span = rates[-1][0] - rates[0][0] or 1.0
        coords = [(round((t - rates[0][0]) / span * width, 1), round(height - r / top * (height - 10), 1))
                  for t, r in rates]
        chart = {"width": width, "height": height, "line": " ".join(f"{x},{y}" for x, y in coords),
                 "area": f"0,{height} " + " ".join(f"{x},{y}" for x, y in coords) + f" {width},{height}",
                 "minutes": round(span / 60, 1)}
    refused = {code: int(n) for (campaign, code), n in sorted(last.refused.items())
               if campaign == campaign_id and n} if last else {}
    return {"now": round(rates[-1][1], 1) if rates else None, "peak": round(peak, 1),
            "accepted": int(last.accepted.get(campaign_id, 0.0)) if last else None,
            "refused": refused, "chart": chart, "top": round(top, 1)}


def pipeline_view(sample: Sample) -> dict[str, Any]:
    """Consumer lag per group and dead letters per topic, as every service's own metrics said last."""
    lag: dict[str, float] = {}
    dead: dict[str, float] = {}
    for reading in sample.services.values():
        if reading is None:
            continue
        for group, n in reading.lag.items():
            lag[group] = lag.get(group, 0.0) + n
        for topic, n in reading.dead.items():
            dead[topic] = dead.get(topic, 0.0) + n
    return {"lag": {g: int(v) for g, v in sorted(lag.items())},
            "dead": {t: int(v) for t, v in sorted(dead.items()) if v},
            "unreachable": sorted(n for n, r in sample.services.items() if r is None)}


def what_if_view(released: dict[str, Any] | None, confirmed: dict[str, Any] | None,
                 campaign: dict[str, Any]) -> dict[str, Any] | None:
    """The what-if panel: per category (in the campaign's order), each entry's votes and rank now, if every held vote
    counted again, and if every held case were confirmed, as the anti-fraud service computed them."""
    if released is None or confirmed is None:
        return None
    names = {cat.get("id"): cat for cat in campaign.get("categories", []) if isinstance(cat, dict)}
    order = {cid: i for i, cid in enumerate(names)}
    then = {(cat["category_id"], e["entry_id"]): e for cat in confirmed.get("categories", [])
            for e in cat.get("entries", [])}
    categories = []
    for cat in sorted(released.get("categories", []), key=lambda x: (order.get(x["category_id"], len(order)),
                                                                      x["category_id"])):
        rows = []
        for e in sorted(cat.get("entries", []), key=lambda x: (x["rank_now"], x.get("entry_name") or "")):
            other = then.get((cat["category_id"], e["entry_id"]), e)
            rows.append({"entry_id": e["entry_id"], "entry_name": e.get("entry_name"), "unit_name": e.get("unit_name"),
                         "now": (e["votes_now"], e["rank_now"]),
                         "released": (e["votes_then"], e["rank_then"], e["moved"]),
                         "confirmed": (other["votes_then"], other["rank_then"], other["moved"])})
        categories.append({"category_id": cat["category_id"], "category": names.get(cat["category_id"]),
                           "rows": rows})
    return {"held": bool(released.get("release")), "released_moves": released.get("entries_moved", 0),
            "confirmed_moves": confirmed.get("entries_moved", 0), "categories": categories}


def errors_view(samples: list[Sample], window_s: float = ServiceMetrics.ERROR_WINDOW_S) -> dict[str, Any]:
    """Per service, over the last minutes: requests answered 5xx, messages dead-lettered, and for the voting
    service its refusals by code; each with its count since the service started.

    With a single sample (the gateway has just started) the growth is unknown and the counts since each service
    started stand in for it.
    """
    if not samples:
        return {"services": [], "seconds": 0, "clean": True, "recent": False}
    last = samples[-1]
    # From the last sample before the window on: growth is measured from a reading, not from the window's edge.
    first = max((i for i, s in enumerate(samples) if s.at <= last.at - window_s), default=0)
    window = samples[first:]
    seconds = int(last.at - window[0].at)
    rows = []
    for name in sorted(last.services):
        now = last.services[name]
        if now is None:
            rows.append({"service": name, "unreachable": True, "clean": False})  # no news is not good news
            continue
        series = [s.services.get(name) for s in window]
        server = increase([r.server_errors if r else None for r in series])
        dead = increase([sum(r.dead.values()) if r else None for r in series])
        codes = sorted({code for _, code in now.refused})
        refused = {}
        for code in codes:
            def total(r: ServiceReading, code: str = code) -> float:
                return sum(n for (_, c), n in r.refused.items() if c == code)
            grown = increase([total(r) if r else None for r in series])
            shown = total(now) if grown is None else grown
            if shown:
                refused[code] = int(shown)
        shown_server = now.server_errors if server is None else server
        shown_dead = sum(now.dead.values()) if dead is None else dead
        rows.append({"service": name, "unreachable": False, "server_errors": int(shown_server),
                     "server_errors_total": int(now.server_errors), "dead": int(shown_dead),
                     "dead_total": int(sum(now.dead.values())), "refused": refused,
                     "clean": not shown_server and not shown_dead})
    return {"services": rows, "seconds": seconds, "recent": len(window) >= 2,
            "clean": all(r["clean"] for r in rows)}
