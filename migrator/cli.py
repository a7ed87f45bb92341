"""Command line: argparse, dispatch, and the one place where errors become exit codes."""

from __future__ import annotations

import argparse
import errno
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, NoReturn, TextIO

from migrator import __version__, verbs
from migrator.core import credentials, options, report, streams
from migrator.core import settings as settings_mod
from migrator.core.errors import EXIT_CODE_HELP, ConfigError, ExitCode, MigrationFailed, MigratorError
from migrator.core.events import Emitter
from migrator.core.redact import Redactor, password_of
from migrator.core.report import RunRecord
from migrator.core.run import Run
from migrator.core.session import Session
from migrator.core.signals import Stop, install


def _epilog(command: str | None) -> str:
    """Exit codes (core/errors.py) and the settings only the environment sets (core/options.py)."""

    import textwrap  # only when help is printed

    def item(head: str, text: str, indent: int) -> str:
        return textwrap.fill(text, width=100, initial_indent=head, subsequent_indent=" " * indent) + "\n"

    codes = "".join(item(f"  {int(code):>3}  ", text, 7) for code, text in EXIT_CODE_HELP.items())
    env_only = [o for o in options.OPTIONS if not o.flags and (command is None or command in o.commands)]
    lines = "".join(item("  ", f"{o.env} (default {o.default}): {o.help}", 6) for o in env_only)
    return f"exit codes:\n{codes}\nset only in the environment (flags win over the environment):\n{lines}"


def _add_options(parser: argparse.ArgumentParser, command: str | None) -> None:
    """The options this command offers, from core/options.py; absent ones stay unset."""
    for option in options.offered(command):
        kwargs: dict[str, Any] = {"dest": option.name, "default": argparse.SUPPRESS, "help": option.help_text()}
        if option.kind == "switch":
            kwargs["action"] = "store_true"
        elif option.kind == "revisions":
            kwargs.update(action="append", metavar=option.metavar)
        elif option.kind == "seconds":
            kwargs.update(type=float, metavar=option.metavar or "SECONDS")
        elif option.kind == "choice":
            kwargs["choices"] = option.choices
        else:
            kwargs["metavar"] = option.metavar
        parser.add_argument(*option.flags, **kwargs)


_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)'")


class _Parser(argparse.ArgumentParser):
    """A usage error inside a command prints that command's usage, not the top level's; the epilog
    (exit codes, env-only settings) is written only when help is printed, not on every run."""

    epilog_wanted = False
    epilog_command: str | None = None
    populate: Callable[[], None] | None = None  # adds a command's arguments when it is chosen

    def _populated(self) -> None:
        if self.populate is not None:
            populate, self.populate = self.populate, None
            populate()

    def format_help(self) -> str:
        self._populated()
        if self.epilog_wanted and self.epilog is None:
            self.epilog = _epilog(self.epilog_command)
        return super().format_help()

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        self._populated()
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """A mistyped command gets the nearest one named: "invalid choice: 'upgade'" alone makes one read
        the whole list."""
        wrong = _INVALID_CHOICE.search(message)
        if wrong and self.commands:
            import difflib  # only on a usage error

            near = difflib.get_close_matches(wrong.group(1), list(self.commands), n=1, cutoff=0.6)
            if near:
                message = f"unknown command {wrong.group(1)!r}: did you mean {near[0]!r}?"
        super().error(message)

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            command = getattr(parsed, "command", None)
            sub = self.commands.get(command) if command else None
            (sub or self).error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed

    commands: dict[str, argparse.ArgumentParser]  # set by build_parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="migrator",
        description="One-shot Alembic migration job for PostgreSQL: wait for the database, "
        "take an advisory lock, migrate, exit with a documented status.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.epilog_wanted = True
    parser.commands = {}
    parser.add_argument("--version", action="version", version=f"migrator {__version__}")
    _add_options(parser, None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, arguments: Callable[[argparse.ArgumentParser], object]) -> None:
        """The command's own arguments are added only when it is the one chosen (or its help is
        printed): building all fourteen costs a no-op run a tenth of its CPU."""
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        assert isinstance(p, _Parser)  # add_parser builds the parent's class: never a command without arguments
        p.epilog_wanted, p.epilog_command = True, name

        def populate() -> None:
            _add_options(p, name)
            arguments(p)

        p.populate = populate
        parser.commands[name] = p

    for name, command in COMMANDS.items():
        add(name, command.help, command.arguments)
    return parser


def _format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help='stdout as text, or as one JSON document (fields in the README, "JSON output")',
    )


_TARGET_HELP = "the target: head, heads, LABEL@head, a revision id or +N (default: env MIGRATOR_TARGET, else head)"


def _upgrade(p: argparse.ArgumentParser) -> None:
    p.add_argument("revision", nargs="?", default=None, help=_TARGET_HELP)
    p.add_argument("--dry-run", action="store_true", help="print the pending revisions and their SQL; change nothing")


def _downgrade(p: argparse.ArgumentParser) -> None:
    p.add_argument("revision", nargs="?", default="-1", help="a revision id, -N or base (default -1)")


def _stamp(p: argparse.ArgumentParser) -> None:
    p.add_argument("revision", help="the revision to record: an id, head, heads or base")
    p.add_argument(
        "--purge",
        action="store_true",
        help="empty the version table first (its rows may name revisions whose files are gone)",
    )


def _verbose(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true", help="show each revision's details")
    _format(p)


def _history(p: argparse.ArgumentParser) -> None:
    p.add_argument("-r", "--rev-range", default=None, help="a range like base:head, -3:current or abc1:")
    p.add_argument("-v", "--verbose", action="store_true", help="show each revision's details")
    p.add_argument("--applied", action="store_true", help="print what migrator applied, reverted or stamped, when")
    _format(p)


def _create(p: argparse.ArgumentParser) -> None:
    p.add_argument("message", nargs="?", default=None, help='what the revision does, e.g. "add nickname to users"')
    p.add_argument("-m", "--message", dest="message_flag", default=None, help="the same, as `alembic revision -m`")
    p.add_argument("--empty", action="store_true", help="write a blank revision without comparing models")


def _merge(p: argparse.ArgumentParser) -> None:
    p.add_argument("revisions", nargs="*", metavar="REV", help="the heads to merge (default: all of them)")
    p.add_argument("-m", "--message", required=True, help="the merge revision's message")


def _check(p: argparse.ArgumentParser) -> None:
    p.add_argument("revision", nargs="?", default=None, help=_TARGET_HELP)
    p.add_argument(
        "--wait-for-head",
        type=float,
        default=None,
        metavar="SECONDS",
        help="poll up to SECONDS for the database to reach the target (for an initContainer)",
    )
    _format(p)


def _sql(p: argparse.ArgumentParser) -> None:
    p.add_argument("range", nargs="?", default="head", metavar="[FROM:]TO", help="what to render (default head)")


def _lint(p: argparse.ArgumentParser) -> None:
    p.add_argument("revisions", nargs="*", metavar="REV", help="the revisions to lint")
    p.add_argument("--all", action="store_true", help="lint every revision (no database needed)")
    _format(p)


def _nothing(p: argparse.ArgumentParser) -> None:
    return None


class Command(NamedTuple):
    """A verb: its function over the Run (migrator/verbs.py), its own arguments, its help."""

    function: Callable[[Run, argparse.Namespace], None]
    arguments: Callable[[argparse.ArgumentParser], None]
    help: str
    reports: bool = False  # writes the --report summary, whatever happened
    targets: bool = False  # its revision defaults to MIGRATOR_TARGET


# The one table of commands: the parser and the dispatch are built from it (Alembic's config.py does the same).
COMMANDS: dict[str, Command] = {
    "upgrade": Command(
        verbs.upgrade, _upgrade, "upgrade the database to the target, under the migration lock", True, True
    ),
    "downgrade": Command(
        verbs.downgrade,
        _downgrade,
        "downgrade to a revision, under the migration lock (at base: nothing to do, exit 0)",
        reports=True,
    ),
    "stamp": Command(
        verbs.stamp, _stamp, "record a revision in the version table without running migrations", reports=True
    ),
    "current": Command(verbs.current, _verbose, "show the database's current revision (base when it has none)"),
    "history": Command(
        verbs.history, _history, "list the migrations (marks the current one when a database URL is set)"
    ),
    "heads": Command(verbs.heads, _verbose, "show the head revision(s) of the migration scripts (no database needed)"),
    "status": Command(
        verbs.status, _format, "every revision, applied or pending: when, how long, by whom; the heads and the target"
    ),
    "create": Command(
        verbs.create, _create, "create a new revision (autogenerated against the database unless --empty)"
    ),
    "merge": Command(verbs.merge, _merge, "write a revision that merges heads (the guide's two-heads step)"),
    "check": Command(
        verbs.check,
        _check,
        "exit 0 when the database is at the target, 6 otherwise (pending revisions on stdout)",
        targets=True,
    ),
    "wait": Command(verbs.wait, _nothing, "only wait until the database accepts connections"),
    "verify": Command(
        verbs.verify,
        _format,
        "run every check a deploy would, changing nothing (exit 0 all pass, 5 revisions, 7 drift)",
    ),
    "sql": Command(
        verbs.sql,
        _sql,
        "print the SQL an upgrade or downgrade would run (offline mode), e.g. base:head or head:base",
    ),
    "lint": Command(
        verbs.lint,
        _lint,
        "check migrations' SQL with squawk (default: the revisions not yet applied); exit 8 on findings",
    ),
}


def _joined_ranges(argv: Sequence[str]) -> list[str]:
    """`history -r -3:current`: a range starting with '-' is the option's value, not a flag."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in ("-r", "--rev-range") and arg.startswith("-") and ":" in arg:
            out[-1] = f"{out[-1]}={arg}" if out[-1].startswith("--") else f"-r{arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, started: float | None = None) -> int:
    """``started``: the process's start on time.monotonic()'s clock (__main__.py), else now.

    Without ``stdout`` this is the process itself: its own sys.stdout and sys.stderr are guarded
    for the run (closed, full, a reader gone) and mask secrets in what the project's code prints."""
    started = time.monotonic() if started is None else started
    redact = Redactor()
    if stdout is not None:
        return _main(argv, streams.guarded(stdout, redact), streams.guarded(sys.stderr), redact, started)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = streams.guarded(saved[0], redact), streams.guarded(saved[1], redact)
    try:
        return _main(argv, sys.stdout, streams.guarded(saved[1]), redact, started)
    finally:
        sys.stdout, sys.stderr = saved


def _credentials(settings: settings_mod.Settings, redact: Redactor) -> credentials.Source:
    """Where each connection attempt's password comes from: the password command, a URL file read again."""
    command = credentials.command_password(settings.password_command, redact.add) if settings.password_command else None
    return credentials.Source(command, settings.database_url_file, redact.add)


def _main(argv: Sequence[str] | None, out: TextIO, err: TextIO, redact: Redactor, started: float) -> int:
    try:
        args = build_parser().parse_args(_joined_ranges(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse: usage errors are 2, --help is 0
        return int(exc.code) if isinstance(exc.code, int) else ExitCode.USAGE
    _defaults(args)
    for url in settings_mod.raw_urls(args):
        redact.add(password_of(url))
    command = COMMANDS[args.command]
    record = RunRecord(args.command)
    try:
        settings = settings_mod.from_process(args)
        source = _credentials(settings, redact)
    except MigratorError as exc:
        early = _early_emitter(args, redact, record, err)
        code = _failed(early, exc)
        if _reports(command, args):
            _report(_early_report_path(args, early), _summary(record, code, redact, exc.message, exc.hint), early)
        return code
    redact.add(password_of(settings.database_url))
    if command.targets and args.revision is None:
        args.revision = settings.target
    emitter = Emitter(settings.log_format, settings.log_level, err, redact, settings.log_color)
    emitter.bind(run_id=record.run_id)
    emitter.capture_warnings()
    stop = Stop()
    install(stop, lambda code: emitter.emit("run.signal", level="warning", exit_code=int(code)))
    session = Session(settings, stop, emitter, started=started, source=source)
    error: str | None = None
    hint: str | None = None
    try:
        command.function(Run(session, out, record), args)
        stop.raise_if_stopped()  # a signal ends every command with 128 + its number, even one that went on
        code = int(ExitCode.OK)
    except MigratorError as exc:
        code, error, hint = _failed(emitter, exc), exc.message, exc.hint
    except Exception as exc:  # noqa: BLE001  (any crash still gets a logged, redacted exit code)
        emitter.emit("run.crashed", level="error", exit_code=int(ExitCode.INTERNAL), exception=_trace(exc))
        code, error = int(ExitCode.INTERNAL), f"{type(exc).__name__}: {exc}"
    except (SystemExit, KeyboardInterrupt) as exc:  # raised by the project's code outside a migration
        failure = MigrationFailed(f"the project's code raised {type(exc).__name__}({getattr(exc, 'code', '')!s})")
        code, error = _failed(emitter, failure), failure.message
    finally:
        session.close()
    if _reports(command, args):
        _report(settings.report_path, _summary(record, code, redact, error, hint), emitter)
    return code


def _early_emitter(args: argparse.Namespace, redact: Redactor, record: RunRecord, err: TextIO) -> Emitter:
    """For errors in the configuration itself: the log settings (flags, MIGRATOR_LOG_*, NO_COLOR) that are valid."""
    fmt, level, color = settings_mod.log_settings_from_process(args, err.isatty())
    emitter = Emitter(fmt, level, err, redact, color)
    emitter.bind(run_id=record.run_id)
    return emitter


def _trace(exc: BaseException) -> str:
    import traceback  # only when something went wrong

    return "".join(traceback.format_exception(exc)).rstrip()


def _reports(command: Command, args: argparse.Namespace) -> bool:
    return command.reports and not getattr(args, "dry_run", False)


def _summary(record: RunRecord, code: int, redact: Redactor, error: str | None, hint: str | None) -> dict[str, Any]:
    """The report's value, masked before it is cut to size (a cut must not split a secret out of reach)."""
    return record.summary(code, redact(error) if error else None, redact(hint) if hint else None)


def _early_report_path(args: argparse.Namespace, emitter: Emitter) -> Path | None:
    """Where a run whose settings failed reports: --report, MIGRATOR_REPORT or the termination log."""
    try:
        return settings_mod.report_path_from_process(args)
    except ConfigError as exc:
        emitter.emit("report.not_written", level="warning", error=exc.message)
        return None


def _report(path: Path | None, summary: dict[str, Any], emitter: Emitter) -> None:
    """The one-line JSON summary (--report, the termination log), whatever happened; never the exit code."""
    if path is None:
        return
    try:
        report.write(path, summary)
    except OSError as exc:
        reason = "it is a symbolic link (not followed)" if exc.errno == errno.ELOOP else exc.strerror
        emitter.emit("report.not_written", level="warning", path=str(path), error=reason)


def _defaults(args: argparse.Namespace) -> None:
    """Options the command does not offer (or that were not given) read as unset."""
    for option in options.OPTIONS:
        if not hasattr(args, option.name):
            setattr(args, option.name, None)


def _failed(emitter: Emitter, exc: MigratorError) -> int:
    fields: dict[str, Any] = {"error": exc.message, "exit_code": int(exc.exit_code)}
    if exc.hint:
        fields["hint"] = exc.hint
    if isinstance(exc, MigrationFailed) and exc.__cause__ is not None:
        fields["exception"] = _trace(exc.__cause__)
    event = "run.interrupted" if exc.exit_code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED) else "run.failed"
    emitter.emit(event, level="error", **fields)
    return int(exc.exit_code)
