"""Anti-fraud settings: detector thresholds (the campaign's policy decides flag or invalidate)."""

from pydantic import Field

from massline.settings import ServiceSettings


class AntifraudSettings(ServiceSettings):
    voter_votes_per_minute: int = Field(30, description="Vote requests per voter per minute before flagging.")
    subnet_votes_per_minute: int = Field(600, description="Votes from one /24 or /64 per minute before flagging.")
    policy: str = Field("flag", description="flag: quarantine for review; invalidate: remove at once.")
