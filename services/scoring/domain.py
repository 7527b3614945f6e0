"""Scoring rules without I/O: the campaign's scoring configuration, component scores, the ranking and its digest.

A category's ranking is a pure function of its inputs (`CategoryInputs`): the same inputs give the
same components, the same order and the same `inputs_digest`, whatever order the entries came in.

Components, each out of 100:

- initial: for each account metric (followers, posts, interactions), value / the category's highest
  value × 100 (0 when that highest value is 0; `initial_normalization: relative_to_max`), or by the
  metric's rank among the entries, 100 × (n − rank) / (n − 1) (`rank`; ties share the rank), combined
  with the `initial_metrics` weights (equal weights when none are configured). An entry without
  reported metrics scores 0.
- vote: from the entry's vote rank, by the campaign's `vote_conversion` (see `VoteConversion`).
- expert: mean of the submitted expert scores (after the panel's normalisation, see review.py); 0 and
  `pending` while there are none.
- activity: mean of the submitted expert scores of the practice activity; 0 and `forfeited` when the
  activity was not held within its period (未在规定期限内开展互动实践活动的，视作放弃该部分分数) and the
  campaign forfeits it; `pending`, not forfeited, while the period has not ended and nothing was
  reported. A summary after its own deadline is marked late; it forfeits only where the campaign says so.

total = Σ weight/100 × component + the committee's adjustments, with components and total rounded
half-up to 2 decimals (`massline.numbers`); the total is computed from the rounded components so that
the published numbers add up, and the explanation writes the sum with the same numbers.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from massline.numbers import exact, score_text, score_value

COMPONENTS = ("initial", "vote", "expert", "activity")
METRICS = ("followers", "posts", "interactions")
VOTE_METHODS = ("rank_step", "linear", "tiers")

# Seed 000 (§四.4): initial review 20, public vote 30, expert review of the account 30, activity 20.
DEFAULT_WEIGHTS: Mapping[str, float] = {"initial": 20.0, "vote": 30.0, "expert": 30.0, "activity": 20.0}
DEFAULT_TOP = 100.0
DEFAULT_STEP = 2.0

# held: held within its period (with evidence); held_outside_period: reported, but held before or after it;
# not_held: nothing reported by the end of the period; awaiting: nothing reported and the period still runs.
ActivityStatus = Literal["held", "held_outside_period", "not_held", "awaiting"]
# The summary against its own deadline: on time, late, or none yet.
SummaryState = Literal["on_time", "late", "none"]
# What approving with open anti-fraud cases does: warn (the default) or refuse.
OPEN_CASE_POLICIES = ("warn", "refuse")
INITIAL_NORMALIZATIONS = ("relative_to_max", "rank")
# Where the initial score compares an entry: with its whole category, or only with the entries of
# the category on the same platform (a WeChat account's followers against WeChat accounts).
INITIAL_SCOPES = ("category", "platform")


# --- canonical form and rounding -----------------------------------------------------------


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def round2(value: float) -> float:
    """Half-up to 2 decimals on the decimal value (`massline.numbers`): 2.675 → 2.68, 54.375 → 54.38."""
    return score_value(value)


def _number(value: Any) -> float | None:
    """A finite number from configuration, or None (booleans are not numbers here)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _weighted_items(raw: Any, key: str) -> list[tuple[Any, Any]]:
    """Accept both `[{key: id, weight: w}, ...]` and `{id: w}` spellings of a weight list."""
    if isinstance(raw, Mapping):
        return list(raw.items())
    if isinstance(raw, Sequence) and not isinstance(raw, (str, bytes)):
        return [(item.get(key), item.get("weight")) if isinstance(item, Mapping) else (None, None) for item in raw]
    return []


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteTier:
    up_to_rank: int
    score: float


@dataclass(frozen=True)
class VoteConversion:
    """How a vote rank becomes the vote score.

    - rank_step: rank 1 scores `top`, each rank below scores `step` less.
    - linear: `top × (n − rank) / (n − 1)` with n the entries in the category; a lone entry scores `top`.
    - tiers: the score of the first tier whose `up_to_rank` covers the rank; beyond every tier, `floor`.

    No method scores below `floor` (default 0). Tied entries share a rank, so they share its score.
    """

    method: str = "rank_step"
    top: float = DEFAULT_TOP
    step: float = DEFAULT_STEP
    floor: float = 0.0
    tiers: tuple[VoteTier, ...] = ()

    def score(self, rank: int, entries: int) -> float:
        if rank < 1:
            raise ValueError("rank starts at 1")
        if self.method == "linear":
            raw = self.top if entries <= 1 else self.top * (entries - rank) / (entries - 1)
        elif self.method == "tiers":
            raw = next((t.score for t in self.tiers if rank <= t.up_to_rank), self.floor)
        else:
            raw = self.top - (rank - 1) * self.step
        return max(self.floor, raw)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "top": self.top, "floor": self.floor}
        if self.method == "rank_step":
            out["step"] = self.step
        if self.method == "tiers":
            out["tiers"] = [{"up_to_rank": t.up_to_rank, "score": t.score} for t in self.tiers]
        return out


@dataclass(frozen=True)
class ScoringRules:
    """The campaign's scoring section, read tolerantly: what is missing falls back to the seed-000 defaults.

    Defaults: weights initial 20 / vote 30 / expert 30 / activity 20 (percent); vote conversion
    rank_step with top 100 and step 2; equal initial-metric weights; an activity summary that is
    missing or late forfeits the activity component. What could not be read is listed in `warnings`
    and the default is used instead, so a flawed definition still gives a ranking that says why.
    """

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    initial_weights: Mapping[str, float] = field(default_factory=lambda: {m: 1.0 for m in METRICS})
    initial_normalization: str = "relative_to_max"
    initial_scope: str = "category"
    vote_conversion: VoteConversion = field(default_factory=VoteConversion)
    activity_forfeit_if_missing: bool = True
    # From the campaign's activity section (not the scoring section): a late summary forfeits too.
    late_summary_forfeits: bool = False
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, scoring: Mapping[str, Any] | None) -> ScoringRules:
        config = scoring if isinstance(scoring, Mapping) else {}
        warnings: list[str] = []
        normalization = config.get("initial_normalization")
        return cls(
            weights=_component_weights(config.get("components"), warnings),
            initial_weights=_initial_weights(config.get("initial_metrics"), config, warnings),
            initial_normalization=(normalization if isinstance(normalization, str)
                                   and normalization in INITIAL_NORMALIZATIONS else "relative_to_max"),
            initial_scope=_initial_scope(config.get("initial_normalization_scope", "category"), warnings),
            vote_conversion=_vote_conversion(config.get("vote_conversion"), warnings),
            activity_forfeit_if_missing=_forfeit(config.get("activity_forfeit_if_missing", True), warnings),
            warnings=tuple(warnings),
        )


def _initial_scope(raw: Any, warnings: list[str]) -> str:
    if raw in INITIAL_SCOPES:
        return str(raw)
    warnings.append(f"initial_normalization_scope {raw!r} is not supported; category used")
    return "category"


def _component_weights(raw: Any, warnings: list[str]) -> dict[str, float]:
    if raw is None:
        return dict(DEFAULT_WEIGHTS)
    items = _weighted_items(raw, "id")
    if not items:
        warnings.append("scoring.components is empty or unreadable; default weights 20/30/30/20 used")
        return dict(DEFAULT_WEIGHTS)
    # A component the campaign does not list weighs nothing (e.g. seed 001 has no initial score).
    weights = {c: 0.0 for c in COMPONENTS}
    for component, weight in items:
        if component not in COMPONENTS:
            warnings.append(f"scoring component {component!r} is not known and is ignored")
            continue
        number = _number(weight)
        if number is None or number < 0:
            warnings.append(f"scoring component {component!r} has no usable weight; it counts 0")
            continue
        weights[component] = number
    total = sum(weights.values())
    if not math.isclose(total, 100.0, abs_tol=1e-6):
        warnings.append(f"component weights sum to {total:g}, not 100")
    return weights


def _initial_weights(raw: Any, config: Mapping[str, Any], warnings: list[str]) -> dict[str, float]:
    normalization = config.get("initial_normalization", "relative_to_max")
    if normalization not in INITIAL_NORMALIZATIONS:
        warnings.append(f"initial_normalization {normalization!r} is not supported; relative_to_max used")
    equal = {m: 1.0 for m in METRICS}
    if raw is None:
        return equal
    weights = {m: 0.0 for m in METRICS}
    for metric, weight in _weighted_items(raw, "metric"):
        number = _number(weight)
        if metric not in METRICS or number is None or number < 0:
            warnings.append(f"initial metric {metric!r} with weight {weight!r} is ignored")
            continue
        weights[metric] = number
    if sum(weights.values()) <= 0:
        warnings.append("initial_metrics give no weight to any metric; equal weights used")
        return equal
    return weights


def _vote_conversion(raw: Any, warnings: list[str]) -> VoteConversion:
    if raw is None:
        return VoteConversion()
    if not isinstance(raw, Mapping):
        warnings.append("vote_conversion is unreadable; rank_step with top 100 and step 2 used")
        return VoteConversion()
    method = raw.get("method", "rank_step")
    if method not in VOTE_METHODS:
        warnings.append(f"vote conversion method {method!r} is not known; rank_step with top 100 and step 2 used")
        return VoteConversion()
    top = _number(raw.get("top", DEFAULT_TOP))
    step = _number(raw.get("step", DEFAULT_STEP))
    floor = _number(raw.get("floor", 0))
    if top is None or top <= 0:
        warnings.append(f"vote conversion top {raw.get('top')!r} is not usable; {DEFAULT_TOP:g} used")
        top = DEFAULT_TOP
    if step is None or step <= 0:
        warnings.append(f"vote conversion step {raw.get('step')!r} is not usable; {DEFAULT_STEP:g} used")
        step = DEFAULT_STEP
    if floor is None or floor < 0 or floor > top:
        warnings.append(f"vote conversion floor {raw.get('floor')!r} is not usable; 0 used")
        floor = 0.0
    tiers: list[VoteTier] = []
    if method == "tiers":
        for tier in raw.get("tiers") or ():
            rank = _number(tier.get("up_to_rank")) if isinstance(tier, Mapping) else None
            score = _number(tier.get("score")) if isinstance(tier, Mapping) else None
            if rank is None or score is None or rank < 1 or not rank.is_integer() or score < 0:
                warnings.append(f"vote tier {tier!r} is ignored")
                continue
            tiers.append(VoteTier(int(rank), score))
        if not tiers:
            warnings.append("vote conversion tiers has no usable tier; rank_step with top 100 and step 2 used")
            return VoteConversion()
        tiers.sort(key=lambda t: t.up_to_rank)
    return VoteConversion(method=method, top=top, step=step, floor=floor, tiers=tuple(tiers))


def _forfeit(raw: Any, warnings: list[str]) -> bool:
    if isinstance(raw, bool):
        return raw
    warnings.append(f"activity_forfeit_if_missing {raw!r} is not true or false; true used")
    return True


def config_hash(scoring: Mapping[str, Any] | None) -> str:
    """Hash of the scoring section as loaded: any change to it, even a name, is a new rule version."""
    return sha256_hex(canonical_json(dict(scoring or {})))[:12]


def rule_version(campaign_id: str, version: int, scoring: Mapping[str, Any] | None) -> str:
    """`<campaign>@v<definition version>:<hash of the scoring section>`."""
    return f"{campaign_id}@v{version}:{config_hash(scoring)}"


# --- inputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityRecord:
    """What the unit reported of its practice activity: whether the summary was on time and whether the day
    it was held lies within the period (None: reported before the day was asked for; taken as held in it)."""

    on_time: bool
    held_in_period: bool | None = None


def activity_state(record: ActivityRecord | None, period_end: datetime | None,
                   now: datetime) -> tuple[ActivityStatus, SummaryState]:
    """The activity's state and its summary's. Nothing reported is `awaiting` until the period ends and
    `not_held` after it, or at once when the campaign gives no period (it was due before scoring)."""
    if record is None:
        waiting = period_end is not None and now < period_end
        return ("awaiting" if waiting else "not_held"), "none"
    held: ActivityStatus = "held_outside_period" if record.held_in_period is False else "held"
    return held, ("on_time" if record.on_time else "late")


@dataclass(frozen=True)
class VoteReason:
    """Votes of an entry held for review or invalidated for one reason, with the rule's public labels."""

    state: Literal["held", "invalidated"]
    reason_code: str
    votes: int
    reason: str
    reason_zh: str

    def canonical(self) -> dict[str, Any]:
        return {"state": self.state, "reason_code": self.reason_code, "votes": self.votes, "reason": self.reason,
                "reason_zh": self.reason_zh}


@dataclass(frozen=True)
class AccountMetrics:
    """Followers, posts and interactions of the account: `verified` figures replace the `registry` snapshot's, which
    replace `reported` ones. Registry figures name their snapshot (its id and the day it describes)."""

    followers: int
    posts: int
    interactions: int
    source: str = "reported"
    snapshot_id: str | None = None
    taken_on: str | None = None

    def origin(self) -> dict[str, Any]:
        """Where the figures came from, as the explanation and the digest name it."""
        if self.snapshot_id is None:
            return {"source": self.source}
        return {"source": self.source, "snapshot": {"id": self.snapshot_id, "taken_on": self.taken_on}}

    def value(self, metric: str) -> int:
        return int(getattr(self, metric))


@dataclass(frozen=True)
class EntryInputs:
    """Everything the ranking knows about one entry (an approved nomination)."""

    entry_id: str
    name: str
    unit_id: str
    metrics: AccountMetrics | None = None
    votes: int | None = None  # None when the tally hides counts; the tally rank is used then
    tally_rank: int | None = None
    activity: ActivityStatus = "not_held"
    summary: SummaryState = "none"
    # Votes out of the count: held for review (open anti-fraud cases) and invalidated, and both per reason.
    # None when the tally hides counts.
    held: int | None = None
    invalidated: int | None = None
    vote_reasons: tuple[VoteReason, ...] = ()
    expert_scores: tuple[float, ...] = ()
    activity_scores: tuple[float, ...] = ()
    # The scores as the experts gave them, when normalisation changed them; for the explanation.
    expert_raw: tuple[float, ...] = ()
    activity_raw: tuple[float, ...] = ()
    # The committee's adjustments of the total: (points, reason), in the order they were made.
    adjustments: tuple[tuple[float, str], ...] = ()
    platform: str | None = None

    def canonical(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "name": self.name,
            "unit_id": self.unit_id,
            "metrics": None if self.metrics is None else {
                "followers": self.metrics.followers,
                "posts": self.metrics.posts,
                "interactions": self.metrics.interactions,
                **self.metrics.origin(),
            },
            "votes": self.votes,
            "tally_rank": self.tally_rank,
            "activity": self.activity,
            "summary": self.summary,
            "held": self.held,
            "invalidated": self.invalidated,
            "vote_reasons": sorted((r.canonical() for r in self.vote_reasons),
                                   key=lambda r: (r["state"], r["reason_code"])),
            "expert_scores": sorted(float(s) for s in self.expert_scores),
            "activity_scores": sorted(float(s) for s in self.activity_scores),
            "expert_raw": sorted(float(s) for s in self.expert_raw),
            "activity_raw": sorted(float(s) for s in self.activity_raw),
            "adjustments": [{"points": float(p), "reason": r} for p, r in self.adjustments],
            "platform": self.platform,
        }


@dataclass(frozen=True)
class CategoryInputs:
    campaign_id: str
    category_id: str
    rule_version: str
    rules: ScoringRules
    entries: tuple[EntryInputs, ...]
    voting_closed: bool = False
    expert_normalization: str = "none"

    def canonical(self) -> dict[str, Any]:
        """The digest's subject. When the tally was taken is not an input: equal counts, equal ranking."""
        return {
            "campaign_id": self.campaign_id,
            "category_id": self.category_id,
            "rule_version": self.rule_version,
            "voting_closed": self.voting_closed,
            "expert_normalization": self.expert_normalization,
            "late_summary_forfeits": self.rules.late_summary_forfeits,
            "entries": [e.canonical() for e in sorted(self.entries, key=lambda e: e.entry_id)],
        }


def inputs_digest(inputs: CategoryInputs) -> str:
    """sha256 of the canonical JSON of every input and the rule version."""
    return sha256_hex(canonical_json(inputs.canonical()))


# --- components ----------------------------------------------------------------------------

Scored = tuple[float, dict[str, Any]]


def initial_scores(
    entries: Iterable[EntryInputs], weights: Mapping[str, float], normalization: str = "relative_to_max",
    scope: str = "category",
) -> dict[str, Scored]:
    """Each metric as a share of the best (× 100, 0 when the best is 0) or by its rank among the
    entries with metrics (100 × (n − rank) / (n − 1), a lone entry 100), then weighted.

    With scope `platform`, "the best" and the ranks are those of the category's entries on the same
    platform (an entry without a platform is compared with the others without one).
    """
    entries = list(entries)
    if scope == "platform":
        groups: dict[str, list[EntryInputs]] = {}
        for e in entries:
            groups.setdefault(e.platform or "", []).append(e)
        by_platform: dict[str, Scored] = {}
        for platform, members in sorted(groups.items()):
            for entry_id, (score, explanation) in initial_scores(members, weights, normalization).items():
                by_platform[entry_id] = (score, {**explanation, "scope": "platform", "platform": platform or None,
                                                 "compared_with": len(members)})
        return by_platform
    best = {m: max((e.metrics.value(m) for e in entries if e.metrics is not None), default=0) for m in METRICS}
    measured = [(e.entry_id, e.metrics) for e in entries if e.metrics is not None]
    metric_ranks = {m: competition_ranks({entry_id: -float(metrics.value(m)) for entry_id, metrics in measured})
                    for m in METRICS}
    weight_sum = sum(weights.get(m, 0.0) for m in METRICS)
    out: dict[str, Scored] = {}
    for e in entries:
        if e.metrics is None:
            out[e.entry_id] = (0.0, {"missing": True, "source": None})
            continue
        parts: dict[str, Any] = {}
        score = 0.0
        for m in METRICS:
            value = e.metrics.value(m)
            if normalization == "rank":
                rank = metric_ranks[m][e.entry_id]
                n = len(measured)
                normalised = 100.0 if n <= 1 else 100.0 * (n - rank) / (n - 1)
                parts[m] = {"value": value, "rank": rank, "entries": n, "score": round2(normalised),
                            "weight": weights.get(m, 0.0)}
            else:
                normalised = value / best[m] * 100 if best[m] > 0 else 0.0
                parts[m] = {"value": value, "category_max": best[m], "score": round2(normalised),
                            "weight": weights.get(m, 0.0)}
            share = weights.get(m, 0.0) / weight_sum
            score += share * normalised
        out[e.entry_id] = (score, {"missing": False, **e.metrics.origin(), "normalization": normalization,
                                   "metrics": parts})
    return out


def competition_ranks(keys: Mapping[str, float]) -> dict[str, int]:
    """Lower key ranks first; equal keys share a rank and the next rank skips (1, 2, 2, 4)."""
    ordered = sorted(keys.items(), key=lambda kv: (kv[1], kv[0]))
    ranks: dict[str, int] = {}
    previous: float | None = None
    rank = 0
    for position, (entry, key) in enumerate(ordered, start=1):
        if key != previous:
            rank, previous = position, key
        ranks[entry] = rank
    return ranks


def _vote_keys(entries: Sequence[EntryInputs]) -> dict[str, float]:
    """Sort keys of the entries that have votes: minus the count, or the tally rank when counts are hidden."""
    counts_known = all(e.votes is not None for e in entries if e.tally_rank is not None)
    if counts_known:
        return {e.entry_id: -float(e.votes) for e in entries if e.votes}
    return {e.entry_id: float(e.tally_rank) for e in entries if e.votes is None and e.tally_rank is not None}


def vote_ranks(entries: Iterable[EntryInputs]) -> dict[str, int]:
    """Rank by votes among the category's entries; entries without votes rank together after all with votes.

    When the tally hides counts (votes is None) its own ranks give the order instead.
    """
    entries = list(entries)
    keys = _vote_keys(entries)
    ranks = competition_ranks(keys)
    after = len(keys) + 1
    return {e.entry_id: ranks.get(e.entry_id, after) for e in entries}


def vote_scores(entries: Iterable[EntryInputs], conversion: VoteConversion, *,
                voting_closed: bool) -> dict[str, Scored]:
    """The vote score of every entry. Before any entry has a vote, every vote score is 0 and `pending`."""
    entries = list(entries)
    voted = _vote_keys(entries)
    ranks = vote_ranks(entries)
    out: dict[str, Scored] = {}
    for e in entries:
        explanation: dict[str, Any] = {
            "votes": e.votes,
            "tally_rank": e.tally_rank,
            "vote_rank": ranks[e.entry_id] if voted else None,
            "entries": len(entries),
            "no_votes": e.entry_id not in voted,
            "voting_closed": voting_closed,
            "pending": not voted,
            **conversion.describe(),
            **votes_out_of_count(e),
        }
        # Rank-based scores would hand every entry the top score before a single vote: wait instead.
        score = conversion.score(ranks[e.entry_id], len(entries)) if voted else 0.0
        out[e.entry_id] = (score, explanation)
    return out


def votes_out_of_count(entry: EntryInputs) -> dict[str, Any]:
    """The entry's votes that do not count, and why: `held` for review (open anti-fraud cases, they count again
    if reinstated) and `invalidated`, each with `held_reasons` / `invalidations` per reason code with the rule's
    label in English and Chinese. Nulls while the tally hides counts."""
    def by_reason(state: str) -> list[dict[str, Any]] | None:
        if entry.votes is None:
            return None
        return [{"reason_code": r.reason_code, "votes": r.votes, "reason": r.reason, "reason_zh": r.reason_zh}
                for r in sorted(entry.vote_reasons, key=lambda r: (-r.votes, r.reason_code)) if r.state == state]
    return {"held": entry.held, "invalidated": entry.invalidated, "held_reasons": by_reason("held"),
            "invalidations": by_reason("invalidated")}


def mean_formula(scores: Sequence[float], mean: float) -> str:
    """"mean(50.00, 56.25, 56.88) = 54.38": the scores averaged and the component as shown."""
    return f"mean({', '.join(score_text(x) for x in scores)}) = {score_text(mean)}"


def expert_score(scores: Sequence[float], raw: Sequence[float] = (), normalization: str = "none") -> Scored:
    """Mean of the submitted expert scores; 0 and `pending` while none is in.

    With normalisation the raw scores are listed beside the normalised ones that were averaged.
    """
    ordered = sorted(float(s) for s in scores)
    if not ordered:
        return 0.0, {"scores": [], "experts": 0, "pending": True}
    mean = float(sum(exact(s) for s in ordered) / len(ordered))
    explanation: dict[str, Any] = {"scores": ordered, "experts": len(ordered), "pending": False,
                                   "formula": mean_formula(ordered, mean)}
    if normalization != "none":
        explanation["normalization"] = normalization
        explanation["raw_scores"] = sorted(float(s) for s in raw)
    return mean, explanation


def activity_score(
    status: ActivityStatus, scores: Sequence[float], *, forfeit_if_missing: bool, raw: Sequence[float] = (),
    normalization: str = "none", summary: SummaryState = "on_time", late_summary_forfeits: bool = False,
) -> Scored:
    """An activity not held within its period forfeits the part (视作放弃该部分分数) where the campaign says so;
    a late summary is only marked late (`summary_late`) unless the campaign forfeits that too.

    While the period runs and nothing was reported (`awaiting`) nothing is forfeited yet: the part is pending.
    A forfeited part is never pending: no expert score can change it.
    """
    base: dict[str, Any] = {"held": status, "summary": summary, "summary_late": summary == "late"}
    if status == "awaiting":
        return 0.0, {**base, "forfeited": False, "scores": [], "experts": 0, "pending": True}
    if activity_forfeited(status, summary, forfeit_if_missing=forfeit_if_missing,
                          late_summary_forfeits=late_summary_forfeits):
        why = "late_summary" if status == "held" else status
        return 0.0, {**base, "forfeited": True, "forfeit_reason": why, "scores": [], "experts": 0, "pending": False}
    score, explanation = expert_score(scores, raw, normalization)
    return score, {**base, "forfeited": False, **explanation}


def activity_forfeited(status: ActivityStatus, summary: SummaryState, *, forfeit_if_missing: bool,
                       late_summary_forfeits: bool) -> bool:
    """Whether the activity part is forfeited: not held within its period (where the campaign forfeits that),
    or held but its summary late (only where the campaign says a late summary forfeits)."""
    if status in ("not_held", "held_outside_period"):
        return forfeit_if_missing
    return status == "held" and summary == "late" and late_summary_forfeits


def total_score(components: Mapping[str, float], weights: Mapping[str, float], adjustment: float = 0.0) -> float:
    """Σ weight/100 × component over the four components plus the committee's adjustment, half-up to 2 decimals.

    Computed in decimal on the components as given (already rounded), so the sum the explanation writes
    (`total_formula`) gives exactly this total."""
    return score_value(_total(components, weights, adjustment))


def _total(components: Mapping[str, float], weights: Mapping[str, float], adjustment: float) -> Decimal:
    return sum((exact(weights.get(c, 0.0)) / 100 * exact(components.get(c, 0.0)) for c in COMPONENTS),
               Decimal(0)) + exact(adjustment)


def total_formula(components: Mapping[str, float], weights: Mapping[str, float], adjustment: float = 0.0) -> str:
    """The total written out with the numbers the page shows: "20% × 80.00 + 30% × 96.00 + … = 54.38"."""
    terms = [f"{exact(weights.get(c, 0.0)).normalize():f}% × {score_text(components.get(c, 0.0))}"
             for c in COMPONENTS if weights.get(c, 0.0)]
    written = " + ".join(terms) or "0"
    if adjustment:
        written += f" {'+' if adjustment > 0 else '−'} {score_text(abs(adjustment))}"
    return f"{written} = {score_text(total_score(components, weights, adjustment))}"


# --- the ranking ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedEntry:
    entry_id: str
    entry_name: str
    unit_id: str
    rank: int
    total: float
    components: dict[str, float]
    explanation: dict[str, Any]


@dataclass(frozen=True)
class Ranking:
    category_id: str
    rule_version: str
    inputs_digest: str
    entries: tuple[RankedEntry, ...]
    warnings: tuple[str, ...] = ()


def ranking_order(entry: RankedEntry) -> tuple[Any, ...]:
    """Total, then vote score, then initial score, all descending; then entry name (by Unicode code
    point), then entry id.

    The last two only decide between entries equal in every score, so the order never depends on
    the order the inputs arrived in, and no two entries share a rank.
    """
    return (-entry.total, -entry.components["vote"], -entry.components["initial"], entry.entry_name, entry.entry_id)


def compute_ranking(inputs: CategoryInputs) -> Ranking:
    """Score every entry of the category and rank them 1..n (see `ranking_order`)."""
    rules = inputs.rules
    entries = sorted(inputs.entries, key=lambda e: e.entry_id)
    initial = initial_scores(entries, rules.initial_weights, rules.initial_normalization, rules.initial_scope)
    norm = inputs.expert_normalization
    vote = vote_scores(entries, rules.vote_conversion, voting_closed=inputs.voting_closed)
    unranked: list[RankedEntry] = []
    for e in entries:
        expert = expert_score(e.expert_scores, e.expert_raw, norm)
        activity = activity_score(e.activity, e.activity_scores, forfeit_if_missing=rules.activity_forfeit_if_missing,
                                  raw=e.activity_raw, normalization=norm, summary=e.summary,
                                  late_summary_forfeits=rules.late_summary_forfeits)
        scored = {"initial": initial[e.entry_id], "vote": vote[e.entry_id], "expert": expert, "activity": activity}
        components = {c: round2(scored[c][0]) for c in COMPONENTS}
        explanation: dict[str, Any] = {c: {"weight": rules.weights.get(c, 0.0), **scored[c][1]} for c in COMPONENTS}
        adjustment = sum(p for p, _ in e.adjustments)
        if e.adjustments:
            explanation["adjustments"] = [{"points": p, "reason": r} for p, r in e.adjustments]
        explanation["total_formula"] = total_formula(components, rules.weights, adjustment)
        unranked.append(RankedEntry(
            entry_id=e.entry_id,
            entry_name=e.name,
            unit_id=e.unit_id,
            rank=0,
            total=total_score(components, rules.weights, adjustment),
            components=components,
            explanation=explanation,
        ))
    ranked = tuple(replace(r, rank=position) for position, r in enumerate(sorted(unranked, key=ranking_order), start=1))
    return Ranking(
        category_id=inputs.category_id,
        rule_version=inputs.rule_version,
        inputs_digest=inputs_digest(inputs),
        entries=ranked,
        warnings=rules.warnings,
    )


# --- open anti-fraud cases at approval ------------------------------------------------------------


def open_cases(inputs: CategoryInputs) -> list[dict[str, Any]]:
    """Per entry with votes held for review (open anti-fraud cases): what the review could do to the ranking.

    Confirming the cases keeps the held votes out, which is how the ranking stands now; overturning them
    counts the votes again. For each such entry the ranking is recomputed with its held votes counted
    (`rank_if_reinstated`, and `ranks_changed`: every entry whose rank would move; `could_change_rank`), and
    once more with every held vote of the category counted (`together_could_change_rank`: the cases of the
    category reinstated together would move a rank, though none alone might).
    """
    held = [e for e in inputs.entries if e.held and e.votes is not None]
    if not held:
        return []
    now = {r.entry_id: r.rank for r in compute_ranking(inputs).entries}

    def moved(reinstated: Sequence[EntryInputs]) -> dict[str, tuple[int, int]]:
        ids = {e.entry_id for e in reinstated}
        changed = replace(inputs, entries=tuple(
            replace(e, votes=(e.votes or 0) + (e.held or 0), held=0) if e.entry_id in ids else e
            for e in inputs.entries))
        after = {r.entry_id: r.rank for r in compute_ranking(changed).entries}
        return {k: (now[k], after[k]) for k in sorted(now) if now[k] != after[k]}

    all_moved = moved(held)
    out = []
    for e in sorted(held, key=lambda e: now[e.entry_id]):
        own = moved([e])
        out.append({
            "category_id": inputs.category_id, "entry_id": e.entry_id, "entry_name": e.name,
            "held_votes": e.held, "rank": now[e.entry_id],
            "rank_if_reinstated": own.get(e.entry_id, (0, now[e.entry_id]))[1],
            "ranks_changed": [{"entry_id": k, "rank": a, "rank_if_reinstated": b} for k, (a, b) in own.items()],
            "could_change_rank": bool(own),
            "together_could_change_rank": bool(all_moved),
            "reasons": [{"reason_code": r.reason_code, "votes": r.votes, "reason": r.reason,
                         "reason_zh": r.reason_zh} for r in e.vote_reasons if r.state == "held"],
        })
    return out


# --- what the public sees while counts are hidden --------------------------------------------------

# Roles that see vote counts while the campaign hides them: those who review, approve and publish the rankings
# (the committee, the supervising unit, admins), and the operators who review the votes themselves.
COUNT_READERS = frozenset({"committee", "supervisor", "admin", "operator"})

# The vote explanation's keys that tell a count: the votes themselves, whether they are none, and the votes
# held or invalidated (with their reasons).
_COUNT_KEYS = ("votes", "no_votes", "held", "invalidated", "held_reasons", "invalidations")


def counts_hidden(show_counts: str, voting_closed: bool) -> bool:
    """Whether vote counts are kept from the public: the campaign shows only ranks (`rank_only`) or nothing
    (`hidden`) while voting is open, and the final tally has not come. After it, everything shows."""
    return show_counts != "always" and not voting_closed


def may_read_counts(role: str | None) -> bool:
    """Whether a caller (None: not signed in) sees vote counts that are hidden from the public."""
    return role in COUNT_READERS


def has_counts(entries: Iterable[Mapping[str, Any]]) -> bool:
    """Whether a ranking's entries carry their vote counts (a tally sent while the campaign hides them has none; a
    ranking without entries hides nothing)."""
    votes = [((e.get("explanation") or {}).get("vote") or {}) for e in entries]
    return not votes or any(isinstance(v, Mapping) and v.get("votes") is not None for v in votes)


def without_counts(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ranked entries with the vote counts left out (`explanation.vote.votes` and `no_votes` null).

    Ranks, the vote rank and the vote score stay: they follow from the order, which a campaign with
    `rank_only` shows anyway, and none of them tells a count."""
    out: list[dict[str, Any]] = []
    for entry in entries:
        explanation = dict(entry.get("explanation") or {})
        vote = explanation.get("vote")
        if isinstance(vote, Mapping):
            explanation["vote"] = {k: (None if k in _COUNT_KEYS else v) for k, v in vote.items()}
        out.append({**entry, "explanation": explanation})
    return out
