"""Notification service settings."""

from pathlib import Path

from pydantic import Field

from massline.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    templates_dir: Path | None = Field(
        None, description="Directory of notice templates; the templates shipped with the service when unset."
    )
    inbox_page_size: int = Field(50, ge=1, le=500, description="Notices per inbox page unless the caller asks.")
