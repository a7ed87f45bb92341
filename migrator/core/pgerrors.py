"""Which connection errors retrying cannot fix, by libpq's message (pure)."""

from __future__ import annotations

_PERMANENT_MARKERS = (
    "password authentication failed",
    "authentication failed",
    "does not exist",
    "no pg_hba.conf entry",
    "invalid dsn",
    "invalid connection option",
    "invalid integer value",
    "invalid sslmode",
    "permission denied",
    "no password supplied",
    "server does not support ssl",
)


def is_permanent(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in _PERMANENT_MARKERS)
