"""What `check` prints on stdout, the same from the light and the full stage: text, or one JSON document."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from migrator.core import revisions


def at_target(
    stdout: TextIO, fmt: str, target: str, rows: Sequence[str], contract: Sequence[tuple[str, str]] = ()
) -> None:
    """At the target; with ``--phase expand``, only the contract steps listed may still be pending."""
    if fmt == "json":
        todo = [{"revision": rev, "message": message, "phase": "contract"} for rev, message in contract]
        document = {"target": target, "at_target": True, "current": sorted(rows), "pending": todo}
        stdout.write(json.dumps(document) + "\n")
    else:
        stdout.write(f"at head: {revisions.describe(tuple(rows))}\n")
        for rev, message in contract:
            stdout.write(f"pending contract step: {rev} {message}\n")


def not_at_target(
    stdout: TextIO, fmt: str, target: str, rows: Sequence[str], pending: Sequence[tuple[str, str]]
) -> None:
    if fmt == "json":
        todo = [{"revision": rev, "message": message} for rev, message in pending]
        document = {"target": target, "at_target": False, "current": sorted(rows), "pending": todo}
        stdout.write(json.dumps(document) + "\n")
    else:
        for rev, message in pending:
            stdout.write(f"pending: {rev} {message}\n")
