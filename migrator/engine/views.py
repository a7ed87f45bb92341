"""What `status`, `current`, `heads`, `history` and `history --applied` show: built from Alembic's
script graph, the database's rows and migrator_history, as plain data (the JSON documents of
``--format json``) and as aligned text. Building and rendering only; the caller reads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from alembic.script import Script, ScriptDirectory

from migrator.core import phases, revisions
from migrator.engine.history import Entry, latest_applying


def write_json(stdout: TextIO, document: dict[str, Any]) -> None:
    """One JSON document on stdout (timestamps as ISO 8601)."""
    stdout.write(json.dumps(document, default=_iso, ensure_ascii=False) + "\n")


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def aligned(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns padded to their widest cell (the last one left ragged)."""
    table = [list(header), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header) - 1)]
    lines = ["  ".join([*(c.ljust(w) for c, w in zip(r, widths, strict=False)), r[-1]]).rstrip() for r in table]
    return "\n".join(lines) + "\n"


def oldest_first(script: ScriptDirectory) -> list[Script]:
    return list(reversed(list(script.walk_revisions())))


def revision(script: Script, current: frozenset[str], effective: frozenset[str]) -> dict[str, Any]:
    """One revision as the JSON outputs show it."""
    return {
        "revision": script.revision,
        "down_revisions": _listed(script.down_revision),
        "depends_on": _listed(script.dependencies),
        "branch_labels": sorted(script.branch_labels),
        "message": (script.doc or "").strip(),
        "head": script.is_head,
        "effective_head": script.is_head and script.revision not in effective,
        "merge": script.is_merge_point,
        "current": script.revision in current,
        "phase": _phase(script),
        "path": script.path,
    }


def _phase(script: Script) -> str:
    try:
        return phases.declared(getattr(script.module, "phase", None))
    except ValueError:
        return "invalid"


def _listed(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def effective_heads(script: ScriptDirectory) -> frozenset[str]:
    """The heads Alembic stores in the version table (a head another branch depends on is not one)."""
    return frozenset(script.revision_map._real_heads)


def entry(e: Entry) -> dict[str, Any]:
    return {
        "started_at": e.started_at,
        "direction": e.direction,
        "revision": e.revision,
        "duration_ms": e.duration_ms,
        "success": e.success,
        "checksum": e.checksum,
        "run_id": e.run_id,
        "db_user": e.db_user,
        "host": e.host,
        "migrator_version": e.migrator_version,
    }


def applied_text(entries: Sequence[Entry]) -> str:
    """`history --applied`: oldest first, aligned columns."""
    header = ("started_at", "direction", "revision", "duration_ms", "result", "checksum", "run_id", "by")
    rows = [
        (
            e.started_at.isoformat(timespec="seconds") if e.started_at else "",
            e.direction,
            e.revision,
            "" if e.duration_ms is None else str(e.duration_ms),
            "ok" if e.success else "FAILED",
            (e.checksum or "")[:12],
            e.run_id[:12],
            f"{e.db_user}@{e.host} (migrator {e.migrator_version})",
        )
        for e in entries
    ]
    return aligned(header, rows)


def status(
    script: ScriptDirectory,
    current: tuple[str, ...],
    applied: frozenset[str],
    pending: Sequence[tuple[str, str]],
    entries: Sequence[Entry],
    target: str,
) -> dict[str, Any]:
    """`status`: every revision, applied or pending, with when, how long and by whom."""
    latest = latest_applying(list(entries))
    waiting = {rev for rev, _ in pending}
    effective = effective_heads(script)
    listed = []
    for s in oldest_first(script):
        shown = revision(s, frozenset(current), effective)
        state = "applied" if s.revision in applied else "pending" if s.revision in waiting else "not in target"
        if state == "pending" and shown["phase"] == phases.CONTRACT:
            state = "pending (contract)"
        e = latest.get(s.revision) if state == "applied" else None
        shown.update(
            state=state,
            applied_at=e.started_at if e else None,
            duration_ms=e.duration_ms if e else None,
            applied_by=e.db_user if e else None,
            host=e.host if e else None,
            run_id=e.run_id if e else None,
            how=e.direction if e else None,
        )
        listed.append(shown)
    return {
        "current": sorted(current),
        "target": target,
        "heads": sorted(script.get_heads()),
        "applied": sum(1 for r in listed if r["state"] == "applied"),
        "pending": [rev for rev, _ in pending],
        "contract_pending": [r["revision"] for r in listed if r["state"] == "pending (contract)"],
        "revisions": listed,
    }


def status_text(view: dict[str, Any]) -> str:
    header = ("revision", "state", "how", "applied at", "took", "by", "run", "message")
    rows = []
    for r in view["revisions"]:
        marks = "".join([" (head)" if r["head"] else "", " (current)" if r["current"] else ""])
        rows.append(
            (
                r["revision"] + marks,
                r["state"],
                r["how"] or "",
                r["applied_at"].isoformat(timespec="seconds") if r["applied_at"] else "",
                "" if r["duration_ms"] is None else f"{r['duration_ms']} ms",
                f"{r['applied_by']}@{r['host']}" if r["applied_by"] else "",
                (r["run_id"] or "")[:12],
                r["message"],
            )
        )
    at = revisions.describe(tuple(view["current"]))
    todo = len(view["pending"])
    summary = f"database at {at}; {view['applied']} applied, {todo} pending for {view['target']}"
    if view["contract_pending"]:
        summary += f" ({len(view['contract_pending'])} of them contract steps: after the rollout)"
    return aligned(header, rows) + summary + "\n"
