"""Refusals a caller of scoring can cause, each with its stable code and a message in Chinese and English."""

from __future__ import annotations

from typing import Any

from massline.errors import ApiError

from . import review


def ranking_not_found(campaign_id: str, category_id: str | None = None) -> ApiError:
    details: dict[str, str] = {"campaign_id": campaign_id}
    if category_id is None:
        return ApiError(404, "ranking_not_found", "该活动尚无排名", "No ranking has been computed for this campaign",
                        details)
    details["category_id"] = category_id
    return ApiError(404, "ranking_not_found", "该类别尚无排名", "No ranking has been computed for this category",
                    details)


def inputs_hidden(campaign_id: str, category_id: str) -> ApiError:
    return ApiError(403, "counts_hidden", "投票期间本活动不公开票数，排名的原始输入（含票数）暂不公开",
                    "The campaign hides vote counts while voting is open; the ranking's inputs (which hold them) "
                    "are not public until voting closes",
                    {"campaign_id": campaign_id, "category_id": category_id})


def campaign_not_found(campaign_id: str) -> ApiError:
    return ApiError(404, "campaign_not_found", "评分服务尚未收到该活动", "Scoring does not know this campaign yet",
                    {"campaign_id": campaign_id})


def panel_not_found(campaign_id: str, panel_id: str) -> ApiError:
    return ApiError(404, "panel_not_found", "评审组不存在", "No such expert panel",
                    {"campaign_id": campaign_id, "panel_id": panel_id})


def results_not_published(campaign_id: str, version: int | None = None) -> ApiError:
    details: dict[str, Any] = {"campaign_id": campaign_id}
    if version is not None:
        details["version"] = version
    return ApiError(404, "results_not_published", "结果尚未发布", "No results have been published", details)


def score_refused(e: review.ScoreRefused) -> ApiError:
    return ApiError(422, e.code, e.zh, e.en, e.details)
