"""What the registry's API takes and answers. The person in charge appears only in an account's detail, for its
unit and the offices above it."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from massline.errors import RequestBody

from .domain.accounts import LEVELS

Level = Literal["provincial", "city", "county", "unit"]
assert set(LEVELS) == {"provincial", "city", "county", "unit"}


class PersonBody(RequestBody):
    username: str = Field(min_length=1, max_length=64, description="The staff member's username.")
    contact: str = Field(min_length=1, max_length=100, description="Phone or e-mail; private.")


class FilingBody(RequestBody):
    """An account to open: it is filed once the city and provincial offices approve."""

    platform: str = Field(min_length=1, max_length=32, examples=["wechat"])
    level: Level
    platform_account_id: str = Field(min_length=1, max_length=128)
    verified_name: str = Field(min_length=2, max_length=100, description="Must carry the administrative region.")
    purpose: Literal["duties", "special_event", "personal"] = "duties"
    exception_reason: str | None = Field(None, max_length=500, description="Why a second account on this platform.")
    person_in_charge: PersonBody
    reason: str | None = Field(None, max_length=500, description="The unit's note to the reviewing offices.")


class ChangeBody(RequestBody):
    """The public fields to change; those left out stay as filed."""

    verified_name: str | None = Field(None, min_length=2, max_length=100)
    platform_account_id: str | None = Field(None, min_length=1, max_length=128)
    level: Level | None = None
    exception_reason: str | None = Field(None, max_length=500)
    reason: str | None = Field(None, max_length=500)


class ReasonBody(RequestBody):
    reason: str = Field(min_length=1, max_length=500)


class DecisionBody(RequestBody):
    decision: Literal["approve", "return"]
    reason: str | None = Field(None, max_length=500, description="Required to return.")


class ResubmitBody(RequestBody):
    change: ChangeBody | None = None
    reason: str | None = Field(None, max_length=500)


class ImportRow(BaseModel):
    line: int = Field(ge=1)
    values: dict[str, Any]


class ImportBody(RequestBody):
    rows: list[ImportRow] = Field(min_length=1, max_length=5000)
    keep_good: bool = Field(False, description="File the good rows even when some are refused.")


class RequestView(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    unit_id: str
    unit_name: str = ""
    kind: str
    status: str
    step: str | None = Field(None, description="The step awaited (city, provincial) while pending.")
    office_id: str | None = None
    proposal: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None
    requested_by: str
    account: dict[str, Any] = Field(default_factory=dict)


class AccountView(BaseModel):
    id: uuid.UUID
    unit_id: str
    unit_name: str
    platform: str
    level: str
    platform_account_id: str
    verified_name: str
    region: str
    status: str
    exception_reason: str | None = None
    open_request: dict[str, Any] | None = None


class AccountDetail(AccountView):
    person_in_charge: dict[str, str] | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)
    requests: list[RequestView] = Field(default_factory=list)


class AccountList(BaseModel):
    accounts: list[AccountView]


class RequestList(BaseModel):
    requests: list[RequestView]


class ImportAnswer(BaseModel):
    filed: int
    refused: list[dict[str, Any]]
