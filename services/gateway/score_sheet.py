"""The committee's sheet of every expert's score: per category and ranked entry, with its state and reopenings."""

from __future__ import annotations

from typing import Any

COMPONENT_ORDER = {"expert": 0, "activity": 1}


def score_sheet(final: dict[str, Any], category: str) -> list[dict[str, Any]]:
    """The final review's expert scores per category and ranked entry, each with its state and its reopenings.

    A state is what the committee acts on: `locked` (submitted, counts), `resubmitted` (locked again after a
    reopening), `reopened` (unlocked, waiting for the expert, does not count), `draft`, `to_score`, `recused`,
    `forfeited` (an activity score no one can give: the entry forfeited the part).
    Only `locked` and `resubmitted` scores can be reopened.
    """
    review = final.get("expert_review") or {}
    reopenings: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in review.get("reopenings", []):
        reopenings.setdefault((r["expert_id"], r["entry_id"], r["component"]), []).append(r)
    recused = {(x["expert_id"], x["entry_id"]) for x in review.get("recusals", [])}
    rows: dict[str, list[dict[str, Any]]] = {}
    scored = set()
    for s in final.get("expert_scores", []):
        key = (s["expert_id"], s["entry_id"], s["component"])
        scored.add(key)
        history = reopenings.get(key, [])
        if (s["expert_id"], s["entry_id"]) in recused:
            state = "recused"
        elif s["submitted"]:
            state = "resubmitted" if history else "locked"
        else:
            state = "reopened" if history else "draft"
        rows.setdefault(s["entry_id"], []).append({
            "expert_id": s["expert_id"], "component": s["component"], "score": s["score"],
            "criteria": s.get("criteria") or {}, "criteria_points": s.get("criteria_points") or [],
            "state": state, "reopenings": history,
            "reopenable": state in ("locked", "resubmitted")})
    # A forfeited activity part is never to score: its assignments show as forfeited, not as pending.
    for state, listed in (("to_score", review.get("pending", [])), ("forfeited", review.get("forfeited", []))):
        for p in listed:
            key = (p["expert_id"], p["entry_id"], p["component"])
            if key not in scored:
                rows.setdefault(p["entry_id"], []).append({
                    "expert_id": p["expert_id"], "component": p["component"], "score": None, "criteria": {},
                    "criteria_points": [], "state": state, "reopenings": reopenings.get(key, []),
                    "reopenable": False})
    sheet = []
    for category_id, ranking in final.get("rankings", {}).items():
        if category and category_id != category:
            continue
        entries = [{"entry_id": e["entry_id"], "entry_name": e.get("entry_name", ""), "rank": e.get("rank"),
                    "rows": sorted(rows.get(e["entry_id"], []),
                                   key=lambda x: (COMPONENT_ORDER.get(x["component"], 9), x["expert_id"]))}
                   for e in ranking.get("entries", [])]
        sheet.append({"category_id": category_id, "entries": entries})
    return sheet
