"""Scoring service settings."""

from massline.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    """Scoring needs only what every service needs: its database and the broker."""
