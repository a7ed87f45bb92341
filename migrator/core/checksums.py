"""Checksums of migration files and the decision which applied ones changed (pure)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

# migrator_history: the latest successful entry per revision, and which directions leave it
# applied with the recorded checksum. Shared by history.py (SQLAlchemy) and the light path (psycopg2).
HISTORY_TABLE = "migrator_history"
LATEST_ENTRIES_SQL = """
    select distinct on (revision) revision, direction, checksum from {table} where success
    order by revision, id desc
"""
_RECORDING = ("upgrade", "stamp", "baseline", "accepted")


def recorded(latest: Iterable[tuple[str, str, str | None]]) -> dict[str, str]:
    """Checksum of every revision whose latest successful entry applied, stamped or accepted it."""
    return {revision: digest for revision, direction, digest in latest if direction in _RECORDING and digest}


def normalise(text: str) -> str:
    """Line endings, trailing spaces and trailing blank lines do not count as a change."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(map(str.rstrip, text.split("\n"))).rstrip("\n") + "\n"


def checksum(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def of_file(path: Path) -> str:
    return checksum(path.read_bytes().decode("utf-8"))  # normalise() unifies line endings


class Sources:
    """Today's checksum of each revision's file, from the bytes the light stage read for its
    fingerprint when it read them (a long chain's files are then read once per run)."""

    def __init__(self, files: Mapping[str, Path], read: Mapping[str, bytes] | None = None) -> None:
        self.files, self.read = files, read or {}

    def of(self, revision: str) -> str | None:
        path = self.files.get(revision)
        if path is None:
            return None
        data = self.read.get(os.path.abspath(path))
        return checksum(data.decode("utf-8")) if data is not None else of_file(path)


def of_files(files: Mapping[str, Path], revisions: Iterable[str]) -> dict[str, str]:
    """Today's checksum of each of ``revisions`` that still has a file."""
    return {rev: of_file(files[rev]) for rev in revisions if rev in files}


def changed(
    recorded: Mapping[str, str], current: Mapping[str, str | None], allowed: Iterable[str]
) -> list[tuple[str, str, str | None]]:
    """(revision, recorded, current) for applied revisions whose file differs, minus the allowed ones.

    A revision whose file is gone counts as changed (current None); a revision
    recorded without checksum is not in ``recorded`` and is never refused.
    """
    known = set(allowed)
    return [
        (revision, digest, current.get(revision))
        for revision, digest in sorted(recorded.items())
        if revision not in known and current.get(revision) != digest
    ]
