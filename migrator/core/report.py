"""The one-line JSON summary for the platform (--report FILE, /dev/termination-log)."""

from __future__ import annotations

import bisect
import json
import os
from pathlib import Path
from typing import Any

# Kubernetes keeps this many bytes of a termination message and cuts the rest, mid-JSON.
LIMIT = 4096
# Room for one revision field: ids are 12 characters; several heads or a long hand-written id run longer.
REVISION_ROOM = 200
ELLIPSIS = "…"
_REVISION_FIELDS = ("from_revision", "to_revision", "first_applied", "last_applied", "failed_revision")


class RunRecord:
    """Filled in as the run goes; written once at the end, whatever happened."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.run_id = os.urandom(16).hex()
        self.from_revision: str | None = None
        self.to_revision: str | None = None
        self.applied: list[dict[str, Any]] = []
        self.failed_revision: str | None = None

    def summary(self, exit_code: int, error: str | None, hint: str | None = None) -> dict[str, Any]:
        status = "ok" if exit_code == 0 else "interrupted" if exit_code in (130, 143) else "failed"
        result: dict[str, Any] = {
            "status": status,
            "exit_code": exit_code,
            "command": self.command,
            "from_revision": self.from_revision,
            "to_revision": self.to_revision,
            "applied_count": len(self.applied),
            "applied_duration_ms": sum(a["duration_ms"] for a in self.applied),
            "first_applied": self.applied[0]["revision"] if self.applied else None,
            "last_applied": self.applied[-1]["revision"] if self.applied else None,
            "applied": self.applied,
            "run_id": self.run_id,
        }
        if self.failed_revision:
            result["failed_revision"] = self.failed_revision
        if error:
            result["error"] = error
        if hint:
            result["hint"] = hint
        return bounded(result)


def bounded(summary: dict[str, Any], limit: int = LIMIT) -> dict[str, Any]:
    """``summary`` shortened to a line of at most ``limit`` bytes, in this order until it fits: revision
    fields capped at REVISION_ROOM, the ``applied`` list left out (its count, first and last stay), then
    ``hint`` and ``error`` cut, ending with ELLIPSIS. ``truncated`` says whether anything was."""
    result = {**summary, "truncated": False}
    for key in _REVISION_FIELDS:
        if isinstance(result.get(key), str):
            result[key] = _cut(result[key], REVISION_ROOM)
    if _width(result) > limit:
        result.pop("applied", None)
    if _width(result) > limit:
        texts = {key: result[key] for key in ("error", "hint") if key in result}
        room = limit - _width({**result, **dict.fromkeys(texts, "")})  # between the texts' quotes
        error_need, hint_need = (_escaped(texts.get(key, "")) for key in ("error", "hint"))
        hint_room = max(room - error_need, min(hint_need, room // 4))  # the error first, the hint a share
        rooms = {"hint": hint_room, "error": room - hint_room}
        result.update({key: _cut(text, rooms[key]) for key, text in texts.items()})
    result["truncated"] = any(result.get(key) != summary.get(key) for key in summary)
    return result


def _cut(text: str, room: int) -> str:
    """``text`` if its JSON form fits in ``room`` bytes, else its longest prefix that fits with ELLIPSIS.
    The line is ASCII (non-ASCII is escaped), and cutting a str by code points never splits a character."""
    if _escaped(text) <= room:
        return text
    room -= _escaped(ELLIPSIS)
    if room < 0:
        return ""
    # The escaped width of text[:n] grows with n; each character takes at least one byte.
    lengths = range(min(len(text), room) + 1)
    kept = bisect.bisect_right(lengths, room, key=lambda n: _escaped(text[:n])) - 1
    return text[:kept] + ELLIPSIS


def _escaped(text: str) -> int:
    return len(json.dumps(text)) - 2


def _width(summary: dict[str, Any]) -> int:
    """Bytes of the line written, or more: json.dumps's default separators are wider than ours, so the
    limit holds however a reader renders it again."""
    return len(json.dumps(summary).encode()) + 1


def line(summary: dict[str, Any]) -> bytes:
    """One line of compact JSON, ASCII only (escapes keep it valid UTF-8 whatever the texts hold)."""
    return (json.dumps(summary, separators=(",", ":")) + "\n").encode()


def write(path: Path, summary: dict[str, Any]) -> None:
    """Never through a symlink: a run as root must not overwrite what a planted link points at."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    with open(os.open(path, flags, 0o644), "wb") as file:
        file.write(line(summary))
