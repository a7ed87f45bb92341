"""Checksums of migration files and the decision which applied ones changed (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping


def normalise(text: str) -> str:
    """Line endings, trailing spaces and trailing blank lines do not count as a change."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).rstrip("\n") + "\n"


def checksum(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


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
