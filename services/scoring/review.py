"""Expert review rules without I/O: criteria, conflicts of interest, assignment, normalisation, outliers.

- A score is points per criterion; each criterion's points lie in [0, max_points]; the score out of
  100 is Σ points / Σ max_points × 100.
- Conflicts of interest: an expert never scores an entry of their own unit, of a unit they declared,
  or (when the panel says so) of a unit in their region; an expert may also recuse with a reason.
- Assignment: every entry gets k experts of its panel without a conflict; each slot goes to the
  eligible expert with the fewest assignments so far (then the smallest id), entries taken in id
  order, so the same panel and entries always give the same assignment.
- Normalisation (optional, `zscore`): each expert's scores in a category are standardised
  (z = (s − the expert's mean) / the expert's standard deviation) and put back on the pool's scale
  (pool mean + z × pool standard deviation, clipped to 0..100), so a harsh and a lenient expert weigh
  alike. An expert with fewer than 2 scores or no spread keeps their raw scores.
- Outliers: an expert whose scores differ from the median of the entries' scores (entries with at
  least 3 scores) by more than `outlier_points` on average (signed) is reported for the committee.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from massline.numbers import exact, score_value

NORMALIZATIONS = ("none", "zscore")
DEFAULT_EXPERTS_PER_ENTRY = 3
DEFAULT_OUTLIER_POINTS = 15.0


class ScoreRefused(ValueError):
    """A score that breaks a criterion's rules; `code` is the API error code."""

    def __init__(self, code: str, zh: str, en: str, details: dict[str, Any]) -> None:
        super().__init__(en)
        self.code, self.zh, self.en, self.details = code, zh, en, details


@dataclass(frozen=True)
class Criterion:
    id: str
    name: str
    max_points: float
    name_en: str = ""


def criteria_from_config(raw: Any) -> tuple[Criterion, ...]:
    """The campaign's `expert_criteria` or `activity_criteria`; unusable items are skipped."""
    out: list[Criterion] = []
    for item in raw or ():
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            continue
        given: Any = item.get("max_points")  # anything the definition holds; what is no number is skipped
        try:
            points = float(given)
        except (TypeError, ValueError):
            continue
        if math.isfinite(points) and points > 0:
            out.append(Criterion(item["id"], str(item.get("name") or item["id"]), points,
                                 str(item.get("name_en") or "")))
    return tuple(out)


DEFAULT_CRITERIA = (Criterion("overall", "综合评分", 100.0, "Overall score"),)


def points_by_criterion(criteria: Sequence[Criterion], points: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """A score's points per criterion, each with the criterion's id, names and maximum, in the campaign's order.

    Points for an id the campaign no longer defines (its definition changed after the score) follow, with no
    names and no maximum, so nothing given is hidden.
    """
    points = points or {}
    known = {c.id for c in criteria}
    out = [{"id": c.id, "name": c.name, "name_en": c.name_en or None, "max_points": c.max_points,
            "points": points.get(c.id)} for c in criteria if c.id in points]
    out += [{"id": k, "name": None, "name_en": None, "max_points": None, "points": points[k]}
            for k in sorted(points) if k not in known]
    return out


def score_total(criteria: Sequence[Criterion], points: Mapping[str, Any]) -> float:
    """Check the points against the criteria and return the score out of 100 (4 decimals).

    Every criterion must be scored, none other, each within 0..max_points.
    """
    criteria = tuple(criteria) or DEFAULT_CRITERIA
    known = {c.id for c in criteria}
    unknown = sorted(set(points) - known)
    if unknown:
        raise ScoreRefused("criterion_unknown", "评分项不属于本次评审", "These criteria are not part of this review",
                           {"unknown": unknown, "criteria": sorted(known)})
    missing = sorted(known - set(points))
    if missing:
        raise ScoreRefused("criteria_incomplete", "请为每个评分项打分", "Every criterion must be scored",
                           {"missing": missing})
    total = Decimal(0)
    for c in criteria:
        value = points[c.id]
        number = None if isinstance(value, bool) else value
        if not isinstance(number, (int, float)) or not math.isfinite(number) or not 0 <= number <= c.max_points:
            raise ScoreRefused("score_out_of_range", f"“{c.name}”的分值须在0到{c.max_points:g}之间",
                               f"The points for {c.id!r} must be between 0 and {c.max_points:g}",
                               {"criterion": c.id, "max_points": c.max_points, "given": value})
        total += exact(number)
    # In decimal, half-up at two decimals: 43.5 of 80 points is 54.38, not the 54.37 binary arithmetic gives.
    return score_value(total / sum(exact(c.max_points) for c in criteria) * 100)


# --- conflicts of interest and assignment ----------------------------------------------------


@dataclass(frozen=True)
class Expert:
    expert_id: str
    unit_id: str | None = None
    region: str | None = None
    declared_unit_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    entry_id: str
    unit_id: str
    region: str | None = None


def conflict(expert: Expert, entry: Entry, *, same_region: bool) -> str | None:
    """Why the expert may not score the entry, or None."""
    if expert.unit_id and expert.unit_id == entry.unit_id:
        return "same_unit"
    if entry.unit_id in expert.declared_unit_ids:
        return "declared"
    if same_region and expert.region and entry.region and expert.region == entry.region:
        return "same_region"
    return None


def assign(
    experts: Sequence[Expert],
    entries: Sequence[Entry],
    k: int,
    existing: Iterable[tuple[str, str]] = (),
    excluded: Iterable[tuple[str, str]] = (),
) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """New (expert, entry) pairs so that every entry has k experts; also the entries left short.

    `existing` pairs are kept and count towards load; `excluded` pairs (conflicts, recusals) are
    never chosen. Returns the new pairs and, for each entry that could not reach k, how many it has.
    """
    load = {x.expert_id: 0 for x in experts}
    have: dict[str, set[str]] = {}
    for expert_id, entry_id in existing:
        have.setdefault(entry_id, set()).add(expert_id)
        if expert_id in load:
            load[expert_id] += 1
    blocked = set(excluded)
    new: list[tuple[str, str]] = []
    short: dict[str, int] = {}
    for entry in sorted(entries, key=lambda e: e.entry_id):
        chosen = have.setdefault(entry.entry_id, set())
        while len(chosen) < k:
            candidates = [x.expert_id for x in experts
                          if x.expert_id not in chosen and (x.expert_id, entry.entry_id) not in blocked]
            if not candidates:
                short[entry.entry_id] = len(chosen)
                break
            pick = min(candidates, key=lambda x: (load[x], x))
            chosen.add(pick)
            load[pick] += 1
            new.append((pick, entry.entry_id))
    return new, short


# --- normalisation and outliers --------------------------------------------------------------

Marks = Mapping[str, Mapping[str, float]]  # expert -> entry -> score out of 100


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def normalise(marks: Marks, method: str) -> dict[str, dict[str, float]]:
    """entry -> expert -> effective score; `none` keeps the raw scores (see the module docstring)."""
    out: dict[str, dict[str, float]] = {}
    pool = [s for by_entry in marks.values() for s in by_entry.values()]
    pool_mean, pool_sd = _mean_sd(pool) if pool else (0.0, 0.0)
    for expert_id in sorted(marks):
        by_entry = marks[expert_id]
        values = [by_entry[e] for e in sorted(by_entry)]
        mean, sd = _mean_sd(values) if values else (0.0, 0.0)
        for entry_id, score in by_entry.items():
            if method == "zscore" and len(values) >= 2 and sd > 0:
                score = min(100.0, max(0.0, pool_mean + (score - mean) / sd * pool_sd))
            out.setdefault(entry_id, {})[expert_id] = round(score, 4)
    return out


def outlying_experts(marks: Marks, threshold: float) -> list[dict[str, Any]]:
    """Experts whose mean signed deviation from the entries' medians exceeds `threshold`.

    Only entries scored by at least 3 experts are compared: the median of 3 or more is not moved by
    one harsh or lenient expert, so only that expert stands out.
    """
    by_entry: dict[str, list[float]] = {}
    for by in marks.values():
        for entry_id, score in by.items():
            by_entry.setdefault(entry_id, []).append(score)
    medians = {e: statistics.median(v) for e, v in by_entry.items() if len(v) >= 3}
    found = []
    for expert_id in sorted(marks):
        deviations = [score - medians[e] for e, score in marks[expert_id].items() if e in medians]
        if deviations:
            mean = sum(deviations) / len(deviations)
            if abs(mean) > threshold:
                found.append({"expert_id": expert_id, "mean_deviation": round(mean, 2),
                              "entries_compared": len(deviations), "threshold": threshold})
    return found
