"""Revision ids read from migration files without executing them (pure parsing + one directory read).

Only the plain generated form is trusted: exactly one module-level
``revision = "…"`` and one ``down_revision = None | "…" | ("…", …)``, no
``depends_on``. Anything else returns None and the caller falls back to
Alembic's own loader, so a doubt never changes behaviour, only speed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

Graph = dict[str, tuple[str, ...]]

_REVISION = re.compile(r"^revision\s*(?::[^=\n]+)?=\s*(['\"])([\w\-]+)\1[ \t]*(?:#.*)?$", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=\n]+)?=[ \t]*(.*?)[ \t]*(?:#.*)?$", re.MULTILINE)
_DEPENDS = re.compile(r"^depends_on\s*(?::[^=\n]+)?=[ \t]*(.*?)[ \t]*(?:#.*)?$", re.MULTILINE)
_ANY_ASSIGNMENT = re.compile(r"^[ \t]+(?:revision|down_revision)\s*=", re.MULTILINE)
_ONE_ID = re.compile(r"^(['\"])([\w\-]+)\1$")
_ID_SEQUENCE = re.compile(r"^[(\[]\s*((?:(['\"])[\w\-]+\2\s*,\s*)*(?:(['\"])[\w\-]+\3\s*,?\s*)?)[)\]]$")
_QUOTED = re.compile(r"(['\"])([\w\-]+)\1")
# Alembic's own filter for source revision files.
_REVISION_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")


def parse(text: str) -> tuple[str, tuple[str, ...]] | None:
    """(revision, down revisions) of a plain revision file; None when in doubt."""
    revisions = _REVISION.findall(text)
    downs = _DOWN.findall(text)
    if len(revisions) != 1 or len(downs) != 1 or _ANY_ASSIGNMENT.search(text):
        return None
    depends = _DEPENDS.findall(text)
    if depends and depends != ["None"]:
        return None
    down = _down_ids(downs[0])
    if down is None:
        return None
    return revisions[0][1], down


def _down_ids(value: str) -> tuple[str, ...] | None:
    if value == "None":
        return ()
    single = _ONE_ID.match(value)
    if single:
        return (single.group(2),)
    if _ID_SEQUENCE.match(value):
        return tuple(match[1] for match in _QUOTED.findall(value))
    return None


def heads(graph: Graph) -> tuple[str, ...] | None:
    """Revisions nothing revises; None if a down revision is missing (Alembic would complain)."""
    referenced: set[str] = set()
    for downs in graph.values():
        for down in downs:
            if down not in graph:
                return None
            referenced.add(down)
    return tuple(sorted(rev for rev in graph if rev not in referenced))


def read_dir(directory: Path) -> Graph | None:
    """Every revision file in one versions directory, parsed; None on any doubt."""
    found = scan(directory)
    return found[0] if found is not None else None


def scan(directory: Path) -> tuple[Graph, dict[str, Path]] | None:
    """The revision graph and each revision's file; None on any doubt."""
    graph: Graph = {}
    paths: dict[str, Path] = {}
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    for name in names:
        if not _REVISION_FILE.match(name):
            continue
        try:
            text = (directory / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        parsed = parse(text)
        if parsed is None or parsed[0] in graph:
            return None
        graph[parsed[0]] = parsed[1]
        paths[parsed[0]] = directory / name
    return graph, paths
