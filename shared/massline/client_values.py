"""What a client sends about itself (a device fingerprint, a user agent) is read the same way everywhere: a
placeholder that a client sends when it has nothing ("unknown", "null", "0", …) is no value at all.

A broken SDK that sends "unknown" for every device must not make thousands of people look like one phone.
"""

from __future__ import annotations

PLACEHOLDERS = frozenset({"", "unknown", "null", "none", "undefined", "nil", "0", "-", "n/a", "na", "default",
                          "(null)", "[object object]", "nan"})
MAX_LENGTH = 200


def clean_client_value(value: str | None, max_length: int = MAX_LENGTH) -> str | None:
    """The value, stripped; None when it is missing, a placeholder, made of one repeated character ("0000…"),
    or longer than `max_length`."""
    if value is None:
        return None
    value = value.strip()
    if value.lower() in PLACEHOLDERS or len(value) > max_length or len(set(value)) == 1:
        return None
    return value
