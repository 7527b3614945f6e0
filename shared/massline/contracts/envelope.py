"""The versioned event envelope, the registry of event types, and upcasting of old payloads."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from .ids import uuid7

_REGISTRY: dict[str, type[Event]] = {}
# (event_type, from_version) -> function that turns that version's payload into the next version's.
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


class Event(BaseModel):
    """Base of every event payload. Subclasses are named in the past tense."""

    # Adding a field is a compatible change, so readers ignore fields they do not know.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str]
    key_field: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "topic" in cls.__dict__:
            cls.event_type = cls.__name__
            _REGISTRY[cls.__name__] = cls

    def key(self) -> str:
        return str(getattr(self, self.key_field))


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register how a payload of `from_version` becomes `from_version + 1`."""

    def register(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(event_type, from_version)] = fn
        return fn

    return register


class Envelope(BaseModel):
    """What travels on every topic: identity, type, version, time, origin, campaign, payload."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: uuid.UUID = Field(description="Unique id; consumers record it to apply each event once.")
    event_type: str = Field(description="Name of the event, past tense.", examples=["NominationApproved"])
    schema_version: int = Field(ge=1, description="Version of the payload schema for this event type.")
    occurred_at: AwareDatetime = Field(description="When it happened, UTC.")
    producer: str = Field(description="The service that recorded the event.", examples=["submission"])
    campaign_id: str = Field(min_length=1, description="The campaign the event belongs to.")
    payload: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, v: datetime) -> datetime:
        return v.astimezone(UTC)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    def event(self) -> Event:
        """The typed payload, upcast to the current schema version."""
        cls = event_class(self.event_type)
        payload = dict(self.payload)
        version = self.schema_version
        if version > cls.schema_version:
            raise EventParseError(
                "unsupported_schema_version",
                f"{self.event_type} v{version} is newer than this reader (v{cls.schema_version})",
            )
        while version < cls.schema_version:
            step = _UPCASTERS.get((self.event_type, version))
            if step is None:
                raise EventParseError("no_upcaster", f"no upcaster for {self.event_type} v{version}")
            payload = step(payload)
            version += 1
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            raise EventParseError("invalid_payload", _short(exc)) from exc


class EventParseError(Exception):
    """Why a message could not be read; the reason travels with it to the dead-letter topic."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _short(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:5]
    )


def event_class(event_type: str) -> type[Event]:
    try:
        return _REGISTRY[event_type]
    except KeyError:
        raise EventParseError("unknown_event_type", f"unknown event type {event_type!r}") from None


def registered_events() -> dict[str, type[Event]]:
    return dict(_REGISTRY)


def make_envelope(event: Event, *, campaign_id: str, producer: str, occurred_at: datetime | None = None) -> Envelope:
    return Envelope(
        event_id=uuid7(),
        event_type=event.event_type,
        schema_version=event.schema_version,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        campaign_id=campaign_id,
        payload=event.model_dump(mode="json"),
    )


def parse_envelope(raw: bytes | None) -> tuple[Envelope, Event]:
    """Read one message; raises EventParseError with a reason a person can act on."""
    if not raw:
        raise EventParseError("empty_message", "message has no body")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventParseError("malformed_json", str(exc)) from exc
    if not isinstance(data, dict):
        raise EventParseError("not_an_object", "the message body must be a JSON object")
    try:
        env = Envelope.model_validate(data)
    except ValidationError as exc:
        raise EventParseError("invalid_envelope", _short(exc)) from exc
    return env, env.event()


def envelope_schema(event_cls: type[Event]) -> type[BaseModel]:
    """A typed envelope model for one event type, used for the AsyncAPI document."""
    # A Literal of a value known only at run time: beyond what a static checker can follow.
    literal: Any = Literal
    return create_model(
        f"{event_cls.__name__}Message",
        __base__=Envelope,
        __doc__=(event_cls.__doc__ or event_cls.__name__).strip(),
        event_type=(literal[event_cls.__name__], Field(description="Name of the event, past tense.")),
        schema_version=(literal[event_cls.schema_version], Field(description="Payload schema version.")),
        payload=(event_cls, ...),
    )
