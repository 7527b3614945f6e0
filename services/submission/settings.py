"""Submission service settings."""

from pydantic import Field

from massline.settings import ServiceSettings


class SubmissionSettings(ServiceSettings):
    token_ttl_s: int = Field(12 * 3600, description="How long a login token stays valid.")
    sign_in_failures_per_user: int = Field(
        5, ge=1, description="Wrong passwords for one username within the window before it is locked.")
    sign_in_failures_per_address: int = Field(
        30, ge=1, description="Wrong passwords from one client address (any usernames) before it is locked.")
    sign_in_lock_minutes: int = Field(15, ge=1, description="The window, and how long a first lock lasts; each "
                                                            "further lock of the same name or address lasts twice "
                                                            "as long as the one before.")
    sign_in_longest_lock_minutes: int = Field(24 * 60, ge=1, description="The longest a sign-in lock lasts.")
    password_checks_at_once: int = Field(
        2, ge=1, description="Password hashes checked at the same time (each takes about 64 MB for a moment); "
                             "more sign-ins wait their turn.")
    admin_username: str = "admin"
    admin_password: str = Field(
        "", description="Creates the first admin if none exists; development falls back to a demo password."
    )
