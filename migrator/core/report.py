"""The one-line JSON summary for the platform (--report FILE, /dev/termination-log)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class RunRecord:
    """Filled in as the run goes; written once at the end, whatever happened."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.run_id = os.urandom(16).hex()
        self.from_revision: str | None = None
        self.to_revision: str | None = None
        self.applied: list[dict[str, Any]] = []
        self.failed_revision: str | None = None

    def summary(self, exit_code: int, error: str | None) -> dict[str, Any]:
        status = "ok" if exit_code == 0 else "interrupted" if exit_code in (130, 143) else "failed"
        result: dict[str, Any] = {
            "status": status,
            "exit_code": exit_code,
            "command": self.command,
            "from_revision": self.from_revision,
            "to_revision": self.to_revision,
            "applied": self.applied,
            "run_id": self.run_id,
        }
        if self.failed_revision:
            result["failed_revision"] = self.failed_revision
        if error:
            result["error"] = error
        return result


def write(path: Path, summary: dict[str, Any]) -> None:
    path.write_text(json.dumps(summary, separators=(",", ":")) + "\n", encoding="utf-8")
