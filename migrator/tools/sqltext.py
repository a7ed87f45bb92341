"""Pure helpers over the SQL that Alembic renders in offline mode (``--sql``).

Alembic writes one statement per block, each ending with ``;`` at the end of a
line, and a ``-- Running upgrade FROM -> TO`` comment before each migration.
"""

from __future__ import annotations

import re

_STEP_MARKER = re.compile(r"^-- Running upgrade .*-> (?P<revision>\S+)\s*$")
_SHOWN = 200


def own_section(sql: str, revision: str) -> str:
    """Only ``revision``'s own step (plus BEGIN/COMMIT and version-table set-up around it).

    Rendering ``DOWN:REV`` also renders what REV needs besides DOWN: the other
    parents of a merge, the revisions named in ``depends_on``. Their steps belong
    to their own revisions, so they are dropped here rather than linted twice.
    """
    lines = sql.split("\n")
    markers = [_STEP_MARKER.match(line) for line in lines]
    if not any(m is not None and m["revision"] == revision for m in markers):
        return sql
    kept: list[str] = []
    keep = True
    for line, marker in zip(lines, markers, strict=True):
        if marker is not None:
            keep = marker["revision"] == revision
        if keep:
            kept.append(line)
    return "\n".join(kept)


def statement_at(sql: str, line: int) -> str:
    """The whole statement that covers ``line`` (0-based), comments dropped, on one line."""
    lines = sql.split("\n")
    if not 0 <= line < len(lines):
        return ""
    start = line
    while start > 0 and not _ends_statement(lines[start - 1]):
        start -= 1
    end = line
    while end < len(lines) - 1 and not _ends_statement(lines[end]):
        end += 1
    body = [text for text in lines[start : end + 1] if not text.lstrip().startswith("--")]
    return " ".join(" ".join(body).split())


def shorten(text: str, limit: int = _SHOWN) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def is_version_table_statement(statement: str, table: str, schema: str | None) -> bool:
    """Alembic's own bookkeeping (create the version table, insert/update/delete its row)."""
    name = re.escape(f"{schema}.{table}" if schema else table)
    pattern = rf"^(CREATE TABLE {name} \(|INSERT INTO {name} |UPDATE {name} SET |DELETE FROM {name} )"
    return re.match(pattern, statement, re.IGNORECASE) is not None


def _ends_statement(line: str) -> bool:
    stripped = line.rstrip()
    return stripped.endswith(";") and not stripped.lstrip().startswith("--")


_BREAKING = (
    (re.compile(r"^ALTER TABLE .* DROP COLUMN ", re.IGNORECASE), "drops a column"),
    (re.compile(r"^DROP TABLE ", re.IGNORECASE), "drops a table"),
    (re.compile(r"^ALTER TABLE .* RENAME (COLUMN )?\S+ TO ", re.IGNORECASE), "renames a column"),
    (re.compile(r"^ALTER TABLE \S+ RENAME TO ", re.IGNORECASE), "renames a table"),
    (re.compile(r"^ALTER TABLE .* ALTER COLUMN \S+ (SET DATA )?TYPE ", re.IGNORECASE), "changes a column's type"),
)


def statements(sql: str) -> list[tuple[int, str]]:
    """(first line, 0-based; the statement on one line) for each statement, comments dropped."""
    found: list[tuple[int, str]] = []
    start: int | None = None
    for index, line in enumerate(sql.split("\n")):
        if start is None and line.strip() and not line.lstrip().startswith("--"):
            start = index
        if start is not None and _ends_statement(line):
            found.append((start, statement_at(sql, index)))
            start = None
    return found


def breaking_change(statement: str) -> str | None:
    """What a statement does that the code still running during a rollout would trip over, if anything."""
    for pattern, what in _BREAKING:
        if pattern.match(statement):
            return what
    return None
