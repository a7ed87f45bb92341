"""Command line: argparse, dispatch, and the one place where errors become exit codes."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from typing import Any, TextIO

from migrator import __version__
from migrator.core import plan, report
from migrator.core import settings as settings_mod
from migrator.core.errors import EXIT_CODE_HELP, ExitCode, MigrationFailed, MigratorError
from migrator.core.events import Emitter
from migrator.core.redact import Redactor, password_of
from migrator.core.report import RunRecord
from migrator.core.session import Session
from migrator.core.signals import Stop, install

_EPILOG = (
    "exit codes:\n"
    + "".join(f"  {int(code):>3}  {text}\n" for code, text in EXIT_CODE_HELP.items())
    + "\nenvironment: DATABASE_URL, DATABASE_URL_FILE, ALEMBIC_CONFIG, MIGRATOR_WAIT_TIMEOUT,\n"
    "  MIGRATOR_LOCK_TIMEOUT, MIGRATOR_LOCK_KEY, MIGRATOR_LOG_FORMAT, MIGRATOR_LOG_LEVEL,\n"
    "  MIGRATOR_TRANSACTION_PER_MIGRATION, MIGRATOR_FAST_PATH, MIGRATOR_TARGET (flags win over the environment)\n"
)


def _common(parser: argparse.ArgumentParser) -> None:
    s = argparse.SUPPRESS
    parser.add_argument(
        "-c", "--config", default=s, help="path to alembic.ini (env ALEMBIC_CONFIG; default ./alembic.ini)"
    )
    parser.add_argument("--database-url", default=s, help="PostgreSQL URL (env DATABASE_URL or DATABASE_URL_FILE)")
    parser.add_argument(
        "--wait-timeout",
        type=float,
        default=s,
        metavar="SECONDS",
        help="wait this long for the database (env MIGRATOR_WAIT_TIMEOUT; default 60; 0 = one attempt)",
    )
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=s,
        metavar="SECONDS",
        help="wait this long for the migration lock (env MIGRATOR_LOCK_TIMEOUT; default 600)",
    )
    parser.add_argument(
        "--log-format",
        choices=settings_mod.LOG_FORMATS,
        default=s,
        help="env MIGRATOR_LOG_FORMAT; default console on a terminal, json otherwise",
    )
    parser.add_argument(
        "--log-level", choices=settings_mod.LOG_LEVELS, default=s, help="env MIGRATOR_LOG_LEVEL; default info"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="migrator",
        description="One-shot Alembic migration job for PostgreSQL: wait for the database, "
        "take an advisory lock, migrate, exit with a documented status.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"migrator {__version__}")
    _common(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _common(p)
        return p

    p = add("upgrade", "upgrade to a revision (default MIGRATOR_TARGET, else head; heads, LABEL@head, +N, ids)")
    p.add_argument("revision", nargs="?", default=None, help="the target (default: env MIGRATOR_TARGET, else head)")
    p.add_argument(
        "--transaction-per-migration",
        action="store_true",
        help="commit each migration on its own (default: all in one transaction)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the pending revisions and their SQL; change nothing")
    p.add_argument(
        "--allow-changed",
        action="append",
        default=None,
        metavar="REV[,REV]",
        help="applied revisions whose file is known to have changed (env MIGRATOR_ALLOW_CHANGED)",
    )
    p.add_argument(
        "--baseline",
        default=None,
        metavar="REV",
        help="stamp an unversioned database that has the app's tables at REV first (env MIGRATOR_BASELINE)",
    )
    _mutating(p)
    p = add("downgrade", "downgrade to a revision (default -1; base works)")
    p.add_argument("revision", nargs="?", default="-1")
    _mutating(p)
    p = add("stamp", "record a revision in the version table without running migrations")
    p.add_argument("revision")
    _mutating(p)
    p = add("current", "show the database's current revision")
    p.add_argument("-v", "--verbose", action="store_true")
    p = add("history", "list the migrations (marks the current one when a database URL is set)")
    p.add_argument("-r", "--rev-range", default=None, help="range like base:head or -3:current")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("--applied", action="store_true", help="print what migrator applied, reverted or stamped, when")
    p = add("heads", "show the head revision(s) of the migration scripts")
    p.add_argument("-v", "--verbose", action="store_true")
    p = add("create", "create a new revision (autogenerated against the database unless --empty)")
    p.add_argument("message")
    p.add_argument("--empty", action="store_true", help="write a blank revision without comparing models")
    p = add("merge", "write a revision that merges heads (the guide's two-heads step)")
    p.add_argument("revisions", nargs="*", metavar="REV", help="the heads to merge (default: all of them)")
    p.add_argument("-m", "--message", required=True, help="the merge revision's message")
    p = add("check", "exit 0 when the database is at the target, 6 otherwise (pending revisions on stdout)")
    p.add_argument("revision", nargs="?", default=None, help="the target (default: env MIGRATOR_TARGET, else head)")
    p.add_argument(
        "--wait-for-head",
        type=float,
        default=None,
        metavar="SECONDS",
        help="poll up to SECONDS for the database to reach head (for an initContainer)",
    )
    add("wait", "only wait until the database accepts connections")
    add("verify", "run every check a deploy would, changing nothing (exit 0 all pass, 5 revisions, 7 drift)")
    p = add("sql", "print the SQL an upgrade or downgrade would run (offline mode), e.g. base:head or head:base")
    p.add_argument("range", nargs="?", default="head", metavar="[FROM:]TO")
    p = add("lint", "check migrations' SQL with squawk (default: the revisions not yet applied); exit 8 on findings")
    p.add_argument("revisions", nargs="*", metavar="REV")
    p.add_argument("--all", action="store_true", help="lint every revision (no database needed)")
    return parser


def _mutating(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report", default=None, metavar="FILE", help="write a one-line JSON summary here (env MIGRATOR_REPORT)"
    )
    parser.add_argument(
        "--backup-command",
        default=None,
        metavar="CMD",
        help="run CMD after taking the lock when there is something to apply (env MIGRATOR_BACKUP_COMMAND)",
    )


class _PipeSafe:
    """stdout that a reader may close (`migrator check | head -1`): the rest is dropped, the
    command's own exit code stands."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self._inner.write(text)
            except BrokenPipeError:
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._inner.flush()
            except BrokenPipeError:
                self.broken = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    out: TextIO = _PipeSafe(stdout if stdout is not None else sys.stdout)  # type: ignore[assignment]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors are 2, --help is 0
        return int(exc.code) if isinstance(exc.code, int) else ExitCode.USAGE
    _defaults(args)
    redact = Redactor(password_of(url) or "" for url in settings_mod.raw_urls(args))
    record = RunRecord(args.command)
    try:
        settings = settings_mod.from_process(args)
    except MigratorError as exc:
        return _failed(_early_emitter(args, redact, record), exc)
    redact.add(password_of(settings.database_url))
    if args.command in ("upgrade", "check") and args.revision is None:
        args.revision = settings.target
    emitter = Emitter(settings.log_format, settings.log_level, sys.stderr, redact, settings.log_color)
    emitter.bind(run_id=record.run_id)
    stop = Stop()
    install(stop, lambda code: emitter.emit("run.signal", level="warning", exit_code=int(code)))
    session = Session(settings, stop, emitter)
    error: str | None = None
    try:
        if not _light(args, session, out, record):
            from migrator.engine import logs

            logs.configure(emitter)
            _dispatch(args, session, out, record)
        code = int(ExitCode.OK)
    except MigratorError as exc:
        code, error = _failed(emitter, exc), exc.message
    except Exception as exc:  # noqa: BLE001  (any crash still gets a logged, redacted exit code)
        emitter.emit("run.crashed", level="error", exit_code=int(ExitCode.INTERNAL), exception=_trace(exc))
        code, error = int(ExitCode.INTERNAL), f"{type(exc).__name__}: {exc}"
    finally:
        session.close()
    _report(args, settings, record, code, error, redact, emitter)
    return code


def _early_emitter(args: argparse.Namespace, redact: Redactor, record: RunRecord) -> Emitter:
    """For errors in the configuration itself: the flags' log settings when they are valid."""
    tty = sys.stderr.isatty()
    fmt = args.log_format or ("console" if tty else "json")
    level = args.log_level or "info"
    emitter = Emitter(fmt, level, sys.stderr, redact, color=tty and fmt == "console")
    emitter.bind(run_id=record.run_id)
    return emitter


def _trace(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)).rstrip()


def _report(
    args: argparse.Namespace,
    settings: settings_mod.Settings,
    record: RunRecord,
    code: int,
    error: str | None,
    redact: Redactor,
    emitter: Emitter,
) -> None:
    """The one-line JSON summary, for upgrade/downgrade/stamp, whatever happened."""
    if settings.report_path is None or args.command not in ("upgrade", "downgrade", "stamp"):
        return
    if getattr(args, "dry_run", False):
        return
    summary = record.summary(code, redact(error) if error else None)
    try:
        report.write(settings.report_path, summary)
    except OSError as exc:
        emitter.emit("report.not_written", level="warning", path=str(settings.report_path), error=exc.strerror)


def _light(args: argparse.Namespace, session: Session, stdout: TextIO, record: RunRecord) -> bool:
    """`upgrade` (to head) and `check` first take the light stage (core/fastpath.py): True when
    it finished the job (at head); otherwise the full stage goes on with the session."""
    settings = session.settings
    if args.command not in ("upgrade", "check") or not settings.fast_path:
        return False
    if args.revision not in plan.LIGHT_TARGETS or getattr(args, "dry_run", False):
        return False
    import time

    from migrator.core import fastpath

    head = fastpath.decide(session, args.command, args.revision)
    if head is None:
        return False
    emitter = session.emitter
    if args.command == "check":
        stdout.write(f"at head: {head}\n")
        emitter.emit("check.at_head", command="check", revision=head, target=args.revision, fast_path=True)
        return True
    record.from_revision = record.to_revision = head
    fields = {"command": "upgrade", "target": args.revision, "fast_path": True}
    emitter.emit("run.nothing_to_do", revision=head, **fields)
    emitter.emit(
        "run.finished",
        from_revision=head,
        to_revision=head,
        migrations_applied=0,
        revisions=[],
        duration_ms=round((time.monotonic() - session.started) * 1000),  # the same clock as the full stage
        **fields,
    )
    return True


def _defaults(args: argparse.Namespace) -> None:
    for name in ("config", "database_url", "wait_timeout", "lock_timeout", "log_format", "log_level"):
        if not hasattr(args, name):
            setattr(args, name, None)


def _dispatch(args: argparse.Namespace, session: Session, stdout: TextIO, record: RunRecord) -> None:
    from migrator.engine import migrate as runner  # imported late: --help and usage errors stay fast

    command = args.command
    if command == "upgrade" and args.dry_run:
        from migrator.tools import review

        review.dry_run(session, stdout, args.revision)
    elif command in ("upgrade", "downgrade", "stamp"):
        runner.migrate(session, command, args.revision, stdout, record)
    elif command == "sql":
        from migrator.tools import review

        review.sql(session.settings, stdout, args.range)
    elif command == "lint":
        from migrator.tools import lint

        lint.run(session, stdout, args.revisions, args.all)
    elif command == "verify":
        from migrator.tools import verify

        verify.run(session, stdout)
    elif command == "check":
        runner.check(session, stdout, args.revision, args.wait_for_head)
    elif command == "wait":
        runner.wait_only(session)
    else:
        options: dict[str, Any] = {
            k: v
            for k, v in vars(args).items()
            if k in ("verbose", "rev_range", "message", "empty", "applied", "revisions")
        }
        runner.read_only(session, stdout, command, **options)


def _failed(emitter: Emitter, exc: MigratorError) -> int:
    fields: dict[str, Any] = {"error": exc.message, "exit_code": int(exc.exit_code)}
    if exc.hint:
        fields["hint"] = exc.hint
    if isinstance(exc, MigrationFailed) and exc.__cause__ is not None:
        fields["exception"] = _trace(exc.__cause__)
    event = "run.interrupted" if exc.exit_code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED) else "run.failed"
    emitter.emit(event, level="error", **fields)
    return int(exc.exit_code)
