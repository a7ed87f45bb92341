"""The one event emitter: level, format, color, redaction and the run id, from the first line.

Every line on stderr goes through ``Emitter.write``: our own events straight away, and
(through engine/logs.py) structlog's and the stdlib loggers' of Alembic and SQLAlchemy.
So the light stage and the full stage cannot differ in shape, level or fields.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
Redact = Callable[[str], str]

_RESET = "\x1b[0m"
_BRIGHT = "\x1b[1m"
_DIM = "\x1b[2m"
_LEVEL_COLORS = {
    "debug": "\x1b[32m",
    "info": "\x1b[32m",
    "warning": "\x1b[33m",
    "error": "\x1b[31m",
    "critical": "\x1b[31;1m",
}
_KEY_COLOR = "\x1b[36m"
_VALUE_COLOR = "\x1b[35m"


def _no_redaction(text: str) -> str:
    return text


class Emitter:
    """Writes one event per line to ``stream``: JSON objects, or a console layout (colored on request)."""

    def __init__(
        self,
        fmt: str = "json",
        level: str = "info",
        stream: TextIO | None = None,
        redact: Redact = _no_redaction,
        color: bool = False,
    ) -> None:
        self.fmt = fmt
        self.threshold = LEVELS[level]
        self.stream = stream if stream is not None else sys.stderr
        self.redact = redact
        self.color = color and fmt == "console"
        self.context: dict[str, Any] = {}
        self._second: tuple[int, str] = (-1, "")
        self._writing = threading.Lock()  # the migration watcher's thread writes too: one whole line at a time

    def bind(self, **fields: Any) -> None:
        """Fields on every line from here on (the run id)."""
        self.context.update(fields)

    def capture_warnings(self) -> None:
        """Python warnings (a revision's, SQLAlchemy's) become ``python.warning`` events: no free text on stderr."""
        warnings.showwarning = self._show_warning

    def _show_warning(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        self.emit(
            "python.warning",
            level="warning",
            category=category.__name__,
            message=str(message),
            path=filename,
            line=lineno,
        )

    def enabled(self, level: str) -> bool:
        return LEVELS.get(level, 20) >= self.threshold

    def emit(self, event: str, level: str = "info", **fields: Any) -> None:
        if self.enabled(level):
            fields["event"], fields["level"] = event, level  # a fresh dict: **fields is ours
            self.write(fields)

    def write(self, event_dict: MutableMapping[str, Any]) -> None:
        """Render and write one event (already filtered by level)."""
        line = self.render(event_dict)
        with self._writing:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass  # a closed stderr must not turn a result into a crash

    def render(self, event_dict: MutableMapping[str, Any]) -> str:
        record: dict[str, Any] = {**self.context, **event_dict}
        record.setdefault("level", "info")
        record.setdefault("logger", "migrator")
        if "timestamp" not in record:
            record["timestamp"] = self._timestamp()
        record = _redacted_record(record, self.redact)
        if self.fmt == "json":
            return _JSON.encode(record)
        return self._console(record)

    def _timestamp(self) -> str:
        """Now in UTC, ISO 8601 to the microsecond; the seconds part formatted once per second."""
        now = time.time()
        second = int(now)
        stamp = self._second
        if stamp[0] != second:  # one tuple, replaced whole: the watcher's thread writes lines too
            stamp = self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{stamp[1]}.{int((now - second) * 1_000_000):06d}Z"

    def _console(self, record: dict[str, Any]) -> str:
        exception = record.pop("exception", None)
        timestamp, level = record.pop("timestamp"), str(record.pop("level"))
        event, logger = str(record.pop("event", "")), record.pop("logger")
        if isinstance(record.get("run_id"), str):  # a person matches a prefix; the JSON lines keep it whole
            record["run_id"] = record["run_id"][:SHORT_RUN_ID]
        pairs = " ".join(self._pair(key, value) for key, value in sorted(record.items()))
        if self.color:
            shown_level = f"{_LEVEL_COLORS.get(level, '')}{level:<9}{_RESET}"
            line = f"{_DIM}{timestamp}{_RESET} [{shown_level}] {_BRIGHT}{event:<30}{_RESET} [{logger}] {pairs}"
        else:
            line = f"{timestamp} [{level:<9}] {event:<30} [{logger}] {pairs}"
        line = line.rstrip()
        return f"{line}\n{exception}" if exception else line

    def _pair(self, key: str, value: Any) -> str:
        text = repr(value) if isinstance(value, str) and (" " in value or not value) else str(value)
        return f"{_KEY_COLOR}{key}{_RESET}={_VALUE_COLOR}{text}{_RESET}" if self.color else f"{key}={text}"


_JSON = json.JSONEncoder(default=str)
SHORT_RUN_ID = 8  # the console's run_id: as git shows a commit


_PLAIN = {str, int, float, bool, type(None)}  # a list or a mapping is redacted value by value


def _redacted_record(record: dict[str, Any], redact: Redact) -> dict[str, Any]:
    """``record`` with every string value redacted.

    Most lines hold nothing to mask, so the strings are redacted joined first: masking is local (a
    secret or a URL inside one value is inside the joined text too, and a NUL neither ends nor
    begins one), so when the joined text comes back unchanged, so would every value. That is one
    redaction per line instead of one per field (two lines per revision on a long chain).
    """
    values = record.values()
    if {type(value) for value in values} <= _PLAIN:
        joined = "\x00".join([value for value in values if type(value) is str])
        if redact(joined) == joined:
            return record
    return {key: _redacted(value, redact) for key, value in record.items()}


def _redacted(value: Any, redact: Redact) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (list, tuple)):
        return [_redacted(item, redact) for item in value]
    if isinstance(value, Mapping):
        return {key: _redacted(item, redact) for key, item in value.items()}
    return value
