"""The fast path's few log lines, in the same shape as structlog's, without importing it."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO


def emit(fmt: str, event: str, stream: TextIO | None = None, level: str = "info", **fields: Any) -> None:
    """One event: a JSON object per line, or the console renderer's layout."""
    stream = stream if stream is not None else sys.stderr
    timestamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    if fmt == "json":
        record = {**fields, "event": event, "level": level, "logger": "migrator", "timestamp": timestamp}
        stream.write(json.dumps(record) + "\n")
    else:
        pairs = " ".join(f"{key}={_console_value(value)}" for key, value in sorted(fields.items()))
        stream.write(f"{timestamp} [{level:<9}] {event:<30} [migrator] {pairs}\n")
    stream.flush()


def _console_value(value: Any) -> str:
    return repr(value) if isinstance(value, str) and (" " in value or not value) else str(value)
