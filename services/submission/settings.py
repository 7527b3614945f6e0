"""Submission service settings."""

from pydantic import Field

from massline.settings import ServiceSettings


class SubmissionSettings(ServiceSettings):
    token_ttl_s: int = Field(12 * 3600, description="How long a login token stays valid.")
    admin_username: str = "admin"
    admin_password: str = Field(
        "", description="Creates the first admin if none exists; development falls back to a demo password."
    )
