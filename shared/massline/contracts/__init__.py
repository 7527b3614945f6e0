"""Event contracts: the envelope, every event type, and the topic catalog."""

from . import events
from .envelope import (
    Envelope,
    Event,
    EventParseError,
    envelope_schema,
    event_class,
    make_envelope,
    parse_envelope,
    registered_events,
)
from .events import *  # noqa: F403  (the catalog of event types is the public surface)
from .topics import DEAD_LETTER_SUFFIX, TOPICS, TopicSpec, dead_letter_topic

__all__ = [
    "DEAD_LETTER_SUFFIX",
    "Envelope",
    "Event",
    "EventParseError",
    "TOPICS",
    "TopicSpec",
    "dead_letter_topic",
    "envelope_schema",
    "event_class",
    "make_envelope",
    "parse_envelope",
    "registered_events",
    *events.__all__,
]
