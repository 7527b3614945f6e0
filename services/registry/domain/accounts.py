"""An account as the registry holds it: its public record, its status, and the events its changes cause.

    requested ──opening approved──▶ filed ──unit: in operation──▶ active
    filed / active ──suspension approved──▶ suspended ──resumption approved──▶ active
    any but closed ──closing approved──▶ closed (final: a closed account never changes)
    requested ──opening withdrawn──▶ withdrawn

`requested` and `withdrawn` never leave the registry: the bus and the other services see an account from its filing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any, Literal

from massline.contracts import AccountChanged, AccountClosed, AccountFiled, AccountSuspended

from .rules import conflict

AccountStatus = Literal["requested", "filed", "active", "suspended", "closed", "withdrawn"]
AccountLevel = Literal["provincial", "city", "county", "unit"]
LEVELS: tuple[AccountLevel, ...] = ("provincial", "city", "county", "unit")
# The fields a change request may propose (the platform is the account itself: another platform is another account).
CHANGEABLE = ("verified_name", "platform_account_id", "level", "exception_reason")
# Statuses in which an account holds its platform id and counts against its unit's one-per-platform rule.
HOLDING = ("requested", "filed", "active", "suspended")


@dataclass(frozen=True, kw_only=True)
class Account:
    """An account's public record. The person in charge is kept apart (PersonInCharge) and travels nowhere."""

    id: uuid.UUID
    unit_id: str
    unit_name: str
    platform: str
    level: AccountLevel
    platform_account_id: str
    verified_name: str
    region: str
    status: AccountStatus
    purpose: str = "duties"
    exception_reason: str | None = None

    def public(self) -> dict[str, Any]:
        """The fields every account event carries."""
        return {"account_id": self.id, "unit_id": self.unit_id, "unit_name": self.unit_name,
                "platform": self.platform, "level": self.level, "platform_account_id": self.platform_account_id,
                "verified_name": self.verified_name, "region": self.region, "status": self.status}

    def require_open(self) -> None:
        """A closed (or withdrawn) account takes no request and no change."""
        if self.status in ("closed", "withdrawn"):
            raise conflict("account_closed", {"account_id": str(self.id), "status": self.status})

    def filed(self) -> tuple[Account, AccountFiled]:
        new = replace(self, status="filed")
        return new, AccountFiled(**new.public(), exception_reason=new.exception_reason)

    def changed(self, fields: dict[str, Any]) -> tuple[Account, AccountChanged]:
        new = replace(self, **fields)
        names = sorted(k for k in fields if getattr(self, k) != getattr(new, k))
        return new, AccountChanged(**new.public(), changed_fields=names)

    def activated(self) -> tuple[Account, AccountChanged]:
        """The unit says a filed account is in operation, or a suspension was lifted."""
        if self.status not in ("filed", "suspended"):
            raise conflict("status_not_allowed", {"status": self.status, "allowed": ["filed", "suspended"]})
        return self.changed({"status": "active"})

    def suspended(self, reason: str) -> tuple[Account, AccountSuspended]:
        new = replace(self, status="suspended")
        return new, AccountSuspended(**new.public(), reason=reason)

    def closed(self, reason: str) -> tuple[Account, AccountClosed]:
        new = replace(self, status="closed")
        return new, AccountClosed(**new.public(), reason=reason)


@dataclass(frozen=True)
class PersonInCharge:
    """Who answers for an account: a staff member's username and a private contact. Never in events, public
    answers or logs; only the owning unit and the offices above it read it."""

    username: str
    contact: str
