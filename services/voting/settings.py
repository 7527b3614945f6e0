"""Voting service settings."""

from pydantic import Field

from massline.settings import ServiceSettings


class VotingSettings(ServiceSettings):
    ticket_ttl_s: int = Field(2 * 3600, description="How long a voter ticket stays valid.")
    code_ttl_s: int = Field(300, description="How long a one-time verification code stays valid.")
    code_max_attempts: int = 5
    code_resend_interval_s: int = Field(60, description="Minimum gap between two codes to one phone.")
    standings_cache_s: float = Field(1.0, description="Standings are served from memory for this long.")
    rules_cache_s: float = Field(1.0, description="Campaign rules and entries are read from memory for this long.")
    vote_batch_max: int = Field(256, description="Most votes settled in one transaction.")
    vote_batch_wait_s: float = Field(0.002, description="How long a batch waits for more votes once one arrived.")
    vote_batch_concurrency: int = Field(
        3, ge=1, le=16,
        description="Batches settled at once per process: while one waits for its commit, the next one gathers.")
