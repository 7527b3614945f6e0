"""The operator's figures: a campaign's vote rate, the pipeline, the what-if panel and the errors per service."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from . import times
from .service_metrics import Sample, ServiceMetrics, ServiceReading, increase

MINUTES_SHOWN = 30  # bars of the vote-rate chart, one a minute
AVERAGE_S = 300.0  # the headline rate: the average over the last five minutes


def campaign_growth(pts: list[tuple[float, ServiceReading]], campaign_id: str) -> list[tuple[float, float, float]]:
    """(from, to, votes accepted between) for each pair of consecutive readings of the voting service."""
    out = []
    for (t0, r0), (t1, r1) in itertools.pairwise(pts):
        if t1 > t0:
            grown = increase([r0.accepted.get(campaign_id, 0.0), r1.accepted.get(campaign_id, 0.0)]) or 0.0
            out.append((t0, t1, grown))
    return out


def per_minute(growth: list[tuple[float, float, float]], end: float, minutes: int) -> list[tuple[float, float | None]]:
    """Votes in each wall-clock minute up to `end` (its minute last, partly elapsed), spreading each interval's growth
    evenly over its seconds; None for a minute no interval covers (the gateway was not sampling then)."""
    last = end - end % 60
    bars: list[tuple[float, float | None]] = []
    for k in range(minutes - 1, -1, -1):
        m0 = last - 60 * k
        m1 = m0 + 60
        covered, votes = 0.0, 0.0
        for t0, t1, grown in growth:
            overlap = min(t1, m1) - max(t0, m0)
            if overlap > 0:
                covered += overlap
                votes += grown * overlap / (t1 - t0)
        bars.append((m0, votes if covered else None))
    return bars


def recent_average(growth: list[tuple[float, float, float]], end: float) -> tuple[float, float] | None:
    """Votes a minute over the last five minutes (or the part of them sampled), and how many minutes that is."""
    covered, votes = 0.0, 0.0
    for t0, t1, grown in growth:
        overlap = min(t1, end) - max(t0, end - AVERAGE_S)
        if overlap > 0:
            covered += overlap
            votes += grown * overlap / (t1 - t0)
    return (votes * 60.0 / covered, covered / 60.0) if covered else None


def vote_rate_view(samples: list[Sample], campaign_id: str, tz: str | None = None) -> dict[str, Any]:
    """One campaign's votes: the average a minute over the last five minutes, the votes in each of the last thirty
    minutes as a chart, the busiest of those minutes, and what the voting service accepted and refused in all."""
    pts = [(s.at, r) for s in samples if (r := s.services.get("voting")) is not None]
    growth = campaign_growth(pts, campaign_id)
    last = pts[-1][1] if pts else None
    average = recent_average(growth, pts[-1][0]) if growth else None
    bars = per_minute(growth, pts[-1][0], MINUTES_SHOWN) if growth else []
    peak = max((n for _, n in bars if n is not None), default=0.0)
    refused = {code: int(n) for (campaign, code), n in sorted(last.refused.items())
               if campaign == campaign_id and n} if last else {}
    return {"now": round(average[0], 1) if average else None,
            "window": f"{round(average[1], 1):g}" if average else None,
            "window_s": round(average[1] * 60) if average else None,
            "votes_in_window": round(average[0] * average[1]) if average else None, "peak": round(peak, 1),
            "accepted": int(last.accepted.get(campaign_id, 0.0)) if last else None,
            "refused": refused, "chart": bar_chart(bars, tz) if bars else None}


def nice_top(peak: float) -> float:
    """The smallest of 1, 2, 5 x 10^k not below the peak: the chart's top."""
    step = 1.0
    while True:
        for m in (1, 2, 5):
            if m * step >= peak:
                return m * step
        step *= 10


def bar_chart(bars: list[tuple[float, float | None]], tz: str | None) -> dict[str, Any]:
    """A bar per minute in SVG coordinates, with a value axis (votes a minute) and a time axis (HH:MM in the
    campaign's zone, every five minutes)."""
    width, height, left, right, top_pad, bottom = 640, 270, 64, 16, 40, 46
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = nice_top(max((n for _, n in bars if n is not None), default=0.0))
    slot = plot_w / len(bars)
    where, _ = times.zone(tz)
    base = top_pad + plot_h
    out = []
    for i, (t, n) in enumerate(bars):
        h = 0.0 if n is None else n / top * plot_h
        out.append({"x": round(left + i * slot + 1, 1), "y": round(base - h, 1), "w": round(slot - 2, 1),
                    "h": round(h, 1), "votes": None if n is None else round(n, 1),
                    "at": datetime.fromtimestamp(t, where).strftime("%H:%M")})
    y_ticks = [{"y": round(base - f * plot_h, 1), "label": f"{top * f:g}"} for f in (0, 0.5, 1)]
    x_ticks = [{"x": round(left + i * slot, 1), "label": b["at"]} for i, b in enumerate(out)
               if datetime.fromtimestamp(bars[i][0], where).minute % 5 == 0]
    return {"width": width, "height": height, "left": left, "right": width - right, "top": top_pad, "base": base,
            "bars": out, "y_ticks": y_ticks, "x_ticks": x_ticks, "first": out[0]["at"], "last": out[-1]["at"],
            "minutes": len(bars)}


def pipeline_view(sample: Sample, broker_lag: dict[str, float] | None = None) -> dict[str, Any]:
    """Consumer lag per group (the services' own gauges, and the broker's exporter when it reports), each service's
    outbox (events waiting to be published, the age of the oldest: None where the service does not report it) and
    dead letters per topic, as the services' metrics said last (the broker's lag also as Prometheus read it)."""
    lag: dict[str, float] = {}
    broker: dict[str, float] = dict(broker_lag or {})
    dead: dict[str, float] = {}
    outbox = []
    for name, reading in sorted(sample.services.items()):
        if reading is None:
            continue
        for totals, more in ((lag, reading.lag), (broker, reading.broker_lag), (dead, reading.dead)):
            for key, n in more.items():
                totals[key] = totals.get(key, 0.0) + n
        outbox.append({"service": name,
                       "pending": None if reading.outbox_pending is None else int(reading.outbox_pending),
                       "age": None if reading.outbox_age is None else round(reading.outbox_age)})
    groups = sorted(set(lag) | set(broker))
    return {"lag": {g: int(v) for g, v in sorted(lag.items())},
            "groups": [{"group": g, "lag": int(lag[g]) if g in lag else None,
                        "broker": int(broker[g]) if g in broker else None} for g in groups],
            "broker_reported": bool(broker), "outbox": outbox,
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
