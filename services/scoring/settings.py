"""Scoring service settings."""

from pydantic import Field

from massline.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    """What every service needs, plus how often rankings are announced and deadlines checked."""

    ranking_announce_interval_s: float = Field(
        5.0, ge=0, description="While voting is open, at most one RankingComputed per category per this many "
                               "seconds (the last change is always announced); 0 announces every change.")
    activity_deadline_check_s: float = Field(
        30.0, gt=0, description="How often to look for campaigns whose activity deadline has just passed.")
    submission_url: str = Field(
        "", description="Where scoring reads submission's audit chain head at publication (MASSLINE_SUBMISSION_URL; "
                        "empty: not read).")
    antifraud_url: str = Field(
        "", description="Where scoring reads antifraud's audit chain head at publication (MASSLINE_ANTIFRAUD_URL; "
                        "empty: not read).")
    voting_url: str = Field(
        "", description="Where scoring reads the sealed vote-log roots at publication (MASSLINE_VOTING_URL; empty: "
                        "not read).")
    anchor_timeout_s: float = Field(5.0, gt=0, description="How long publication waits for each of those reads.")
