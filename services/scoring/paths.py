"""Path parameters of the scoring routes: campaign, category, panel and expert ids."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
CampaignId = Annotated[str, Path(pattern=ID_PATTERN, description="Campaign id.", examples=["shaanxi-2024-accounts"])]
CategoryId = Annotated[str, Path(pattern=ID_PATTERN, description="Category id.", examples=["institutional"])]
PanelId = Annotated[str, Path(pattern=ID_PATTERN, description="Panel id.", examples=["panel-institutional"])]
ExpertId = Annotated[str, Path(pattern=ID_PATTERN, description="The expert's username.", examples=["expert-li"])]
Component = Literal["expert", "activity"]
