"""Lint migrations' SQL with squawk: `migrator lint [REV…] [--all]`.

Each revision is rendered on its own (Alembic offline mode, ``DOWN:REV``) and
checked by squawk; findings name the revision, the statement and the rule.
Which rules are off: see lintconfig.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from alembic.script import Script, ScriptDirectory

from migrator.core import phases
from migrator.core.errors import ConfigError, LintFailed, MigrationFailed, RevisionStateError
from migrator.core.revisions import refuse_unknown
from migrator.core.session import Session
from migrator.engine import alembic_ops, db, logs
from migrator.engine.project import Project
from migrator.tools import lintconfig, review, sqltext, squawk

UNRENDERABLE = "not-renderable-offline"
PHASE_RULE = "breaking-change-in-expand-step"  # migrator's own rule (core/phases.py)
EXCEPTION_HINT = (
    "make the migration safe, or turn the rule off: for every revision in pyproject.toml "
    "([tool.migrator.lint] exclude), for one revision with a comment in its file "
    "('# migrator-lint: ignore=RULE  why it is safe here')"
)


@dataclass(frozen=True)
class Finding:
    revision: str
    message: str
    rule: str
    level: str
    line: int  # 1-based, in the revision's rendered SQL
    statement: str
    line_text: str
    problem: str
    help: str | None


def run(session: Session, stdout: TextIO, revisions: list[str], all_: bool, fmt: str = "text") -> None:
    settings, stop = session.settings, session.stop
    if revisions and all_:
        raise ConfigError("give revision ids or --all, not both")
    log = logs.get().bind(command="lint")
    binary = squawk.find(sys.executable)
    project = review.offline_project(settings, stdout)
    config = _config(project)
    targets = _targets(session, project, revisions, all_)
    findings: list[Finding] = []
    for script in targets:
        stop.raise_if_stopped()
        try:
            findings += _lint_one(project, script, binary, config, log)
        except MigrationFailed as exc:  # this revision cannot be rendered offline: a finding of its own
            if UNRENDERABLE in config.exclude | lintconfig.revision_exceptions(_source(script), script.path):
                log.info("lint.revision", revision=script.revision, findings=0, ignored_rules=[UNRENDERABLE])
                continue
            findings.append(_unrenderable(script, exc))
            log.warning("lint.finding", revision=script.revision, rule=UNRENDERABLE, error=exc.message)
    if fmt == "json":
        document = {
            "revisions": [s.revision for s in targets],
            "findings": [dataclasses.asdict(f) for f in findings],
            "summary": summary(targets, findings, all_ or bool(revisions)),
        }
        stdout.write(json.dumps(document) + "\n")
    else:
        for finding in findings:
            stdout.write(format_finding(finding) + "\n")
        stdout.write(summary(targets, findings, all_ or bool(revisions)) + "\n")
    log.info("lint.finished", revisions=[s.revision for s in targets], findings=len(findings))
    if findings:
        failed = sorted({f.revision for f in findings})
        raise LintFailed(f"lint reported {len(findings)} finding(s) in {', '.join(failed)}", hint=EXCEPTION_HINT)


def format_finding(finding: Finding) -> str:
    """One block per finding: revision, rule, where, the statement, what is wrong and what to do."""
    title = f" ({finding.message})" if finding.message else ""
    where = f" at line {finding.line} of its SQL" if finding.line else ""
    lines = [f"{finding.revision}{title}: {finding.rule} ({finding.level}){where}"]
    if finding.statement:
        lines.append(f"  statement: {sqltext.shorten(finding.statement)}")
    at = " ".join(finding.line_text.split())
    if at and not finding.statement.startswith(at):
        lines.append(f"  at: {at}")
    lines.append(f"  problem: {finding.problem}")
    if finding.help:
        lines.append(f"  help: {finding.help}")
    return "\n".join(lines)


def summary(targets: list[Script], findings: list[Finding], chosen: bool) -> str:
    if not targets:
        return "lint: nothing to lint" + ("" if chosen else ": no revision is waiting to be applied")
    names = ", ".join(s.revision for s in targets)
    if not findings:
        return f"lint: {len(targets)} revision(s) clean: {names}"
    failed = len({f.revision for f in findings})
    return f"lint: {len(findings)} finding(s) in {failed} of {len(targets)} revision(s) checked: {names}"


def _config(project: Project) -> lintconfig.LintConfig:
    """pyproject.toml next to alembic.ini, and alembic.ini's own [migrator] lint_exclude."""
    ini = project.cfg.file_config
    option = (
        ini.get(lintconfig.INI_SECTION, lintconfig.INI_OPTION)
        if ini.has_option(lintconfig.INI_SECTION, lintconfig.INI_OPTION)
        else None
    )
    directory = Path(project.cfg.config_file_name or ".").resolve().parent
    return lintconfig.load(directory, option)


def _targets(session: Session, project: Project, chosen: list[str], all_: bool) -> list[Script]:
    """The revisions to lint, oldest first: all, the ones named, or those the database has not applied."""
    script = project.script
    with review.translated_errors("lint"):
        if all_:
            return list(reversed(list(script.walk_revisions())))
        if chosen:
            return _named(script, chosen)
    ids = [revision for revision, _ in _unapplied(session, project)]
    with review.translated_errors("lint"):
        return [found for found in (script.get_revision(rev) for rev in ids) if found is not None]


def _named(script: ScriptDirectory, chosen: list[str]) -> list[Script]:
    found: dict[str, Script] = {}
    for rev in chosen:
        resolved = script.get_revision(rev)
        if resolved is None:
            raise RevisionStateError(f"{rev} is not a revision", hint="name revisions as `migrator history` shows them")
        found.setdefault(resolved.revision, resolved)
    return list(found.values())


def _unapplied(session: Session, project: Project) -> list[tuple[str, str]]:
    if session.settings.database_url is None:
        raise ConfigError(
            "`migrator lint` without revision ids lints the revisions the database has not applied: "
            "that needs the database URL",
            hint="set --database-url, DATABASE_URL or DATABASE_URL_FILE; or lint every revision with --all",
        )
    with db.connection(session) as conn:
        state = project.read_state(conn)
    refuse_unknown(state, alembic_ops.script_state(project.script))
    return alembic_ops.pending(project.script, "heads", state.current)


def _lint_one(project: Project, script: Script, binary: str, config: lintconfig.LintConfig, log: Any) -> list[Finding]:
    started = time.monotonic()
    sql = _rendered(project, script)
    ignored = config.exclude | lintconfig.revision_exceptions(_source(script), script.path)
    phase = project.phase(script.revision)
    if phase == phases.CONTRACT:
        ignored |= phases.AFTER_ROLLOUT_RULES
    found: list[Finding] = []
    for violation in squawk.check(binary, sql, script.revision, config.pg_version):
        if violation.rule in ignored:
            continue
        statement = sqltext.statement_at(sql, violation.line)
        if sqltext.is_version_table_statement(statement, project.version_table, project.version_schema):
            continue  # Alembic's own bookkeeping, not the migration's SQL
        found.append(_finding(script, violation, statement, sql))
    if PHASE_RULE not in ignored and phase == "expand":
        found += _breaking_in_expand(script, sql)
    for finding in found:
        log.warning(
            "lint.finding",
            revision=finding.revision,
            rule=finding.rule,
            severity=finding.level,
            line=finding.line,
            statement=sqltext.shorten(finding.statement),
        )
    log.info(
        "lint.revision",
        revision=script.revision,
        findings=len(found),
        ignored_rules=sorted(ignored),
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return found


def _rendered(project: Project, script: Script) -> str:
    """The revision's own upgrade SQL, rendered from all its parents and dependencies at once, so
    no other revision is rendered (a merge's other branch, a depends_on target)."""
    parents = tuple(dict.fromkeys((*_tuple(script.down_revision), *_tuple(script.dependencies))))
    out = io.StringIO()
    review.render_revision(project, script.revision, parents, out)
    return sqltext.own_section(out.getvalue(), script.revision)


def _tuple(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _unrenderable(script: Script, exc: MigrationFailed) -> Finding:
    return Finding(
        revision=script.revision,
        message=(script.doc or "").strip(),
        rule=UNRENDERABLE,
        level="error",
        line=0,
        statement="",
        line_text="",
        problem=exc.message,
        help="squawk checks SQL rendered offline; a migration that reads data cannot be rendered: "
        "review it by hand, and exempt it with '# migrator-lint: ignore=" + UNRENDERABLE + "  why'",
    )


def _source(script: Script) -> str:
    try:
        return Path(script.path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # a sourceless (.pyc) revision carries no exceptions
        return ""


def _breaking_in_expand(script: Script, sql: str) -> list[Finding]:
    """An expand step runs before the rollout, while the old code still serves: it must not take
    away what that code uses."""
    lines = sql.split("\n")
    return [
        Finding(
            revision=script.revision,
            message=(script.doc or "").strip(),
            rule=PHASE_RULE,
            level="error",
            line=line + 1,
            statement=statement,
            line_text=lines[line],
            problem=f"this expand step {what}: the old code, still serving during the rollout, can break on it",
            help='move it into a contract step: a revision of its own with `phase = "contract"`, applied by '
            "`migrator upgrade --phase contract` after the rollout",
        )
        for line, statement in sqltext.statements(sql)
        if (what := sqltext.breaking_change(statement)) is not None
    ]


def _finding(script: Script, violation: squawk.Violation, statement: str, sql: str) -> Finding:
    lines = sql.split("\n")
    return Finding(
        revision=script.revision,
        message=(script.doc or "").strip(),
        rule=violation.rule,
        level=violation.level,
        line=violation.line + 1,
        statement=statement,
        line_text=lines[violation.line] if 0 <= violation.line < len(lines) else "",
        problem=violation.message,
        help=violation.help,
    )
