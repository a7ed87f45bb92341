"""migrator's JSON log lines (MIGRATOR_LOG_FORMAT=json): when a run logged an event (pure)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def event_time(text: str, event: str) -> float | None:
    """Epoch seconds of the first line whose "event" is `event`; lines that are not JSON objects are skipped."""
    for line in text.splitlines():
        record = _record(line)
        if record is not None and record.get("event") == event:
            return _epoch(record.get("timestamp"))
    return None


def _record(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _epoch(timestamp: Any) -> float | None:
    """ISO-8601 with a Z or an offset, as migrator writes it; None for anything else."""
    if not isinstance(timestamp, str):
        return None
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
