"""One short function per command, over one Run: read the facts, decide, finish or hand the work on.

cli.py builds its parser and dispatch from the table of these functions (COMMANDS); a verb
is never a string compared somewhere else. The light stage (core/fastpath.py) answers
"nothing to do" without loading the engine; everything else imports it here, late.
"""

from __future__ import annotations

from argparse import Namespace

from migrator.core import output, plan, revisions
from migrator.core.errors import ConfigError
from migrator.core.run import Run


def _light(run: Run, command: str, target: str) -> tuple[str, ...] | None:
    """The version rows when the light stage finds the database at the target; None: the engine decides."""
    if not run.settings.fast_path or target not in plan.LIGHT_TARGETS:
        return None
    from migrator.core import fastpath

    return fastpath.decide(run.session, command, target)


def _engine(run: Run) -> None:
    """Route structlog and the stdlib loggers (Alembic, SQLAlchemy) through the run's emitter, and give
    SQLAlchemy's own connections the run's per-attempt passwords."""
    from migrator.engine import db, logs

    logs.configure(run.emitter)
    db.provide_passwords(run.session)


def upgrade(run: Run, args: Namespace) -> None:
    if args.dry_run:
        _engine(run)
        from migrator.tools import review

        review.dry_run(run.session, run.stdout, args.revision)
        return
    rows = _light(run, "upgrade", args.revision)
    if rows is not None:
        fields = {"command": "upgrade", "target": args.revision, "fast_path": True}
        run.nothing_to_do(rows, **fields)
        run.finished(rows, rows, [], **fields)
        return
    _engine(run)
    from migrator.engine import migrate

    migrate.UpgradeJob(run, args.revision).run()


def downgrade(run: Run, args: Namespace) -> None:
    _engine(run)
    from migrator.engine import migrate

    migrate.DowngradeJob(run, args.revision).run()


def stamp(run: Run, args: Namespace) -> None:
    _engine(run)
    from migrator.engine import migrate

    job = migrate.StampJob(run, args.revision)
    job.purge = bool(args.purge)
    job.run()


def check(run: Run, args: Namespace) -> None:
    rows = _light(run, "check", args.revision)
    if rows is not None:
        output.at_target(run.stdout, args.format, args.revision, rows)
        shown = revisions.describe(rows)
        run.emitter.emit("check.at_head", command="check", revision=shown, target=args.revision, fast_path=True)
        return
    _engine(run)
    from migrator.engine import migrate

    migrate.check(run.session, run.stdout, args.revision, args.wait_for_head, args.format)


def wait(run: Run, args: Namespace) -> None:
    run.session.connect()


def current(run: Run, args: Namespace) -> None:
    _engine(run)
    from migrator.engine import show

    show.current(run.session, run.stdout, args.format, args.verbose)


def history(run: Run, args: Namespace) -> None:
    _engine(run)
    from migrator.engine import show

    show.history(run.session, run.stdout, args.format, args.rev_range, args.verbose, args.applied)


def heads(run: Run, args: Namespace) -> None:
    _engine(run)
    from migrator.engine import show

    show.heads(run.session, run.stdout, args.format, args.verbose)


def status(run: Run, args: Namespace) -> None:
    _engine(run)
    from migrator.engine import show

    show.status(run.session, run.stdout, args.format)


def create(run: Run, args: Namespace) -> None:
    _engine(run)
    from migrator.engine import migrate

    migrate.create(run.session, run.stdout, _message(args.message, args.message_flag), args.empty)


def _message(positional: str | None, flag: str | None) -> str:
    """`create "msg"` or `create -m "msg"` (Alembic's and merge's way): one of them."""
    if positional is not None and flag is not None:
        raise ConfigError(
            "the message is given twice (as an argument and with -m)", hint='migrator create -m "add nickname"'
        )
    return flag if flag is not None else positional or ""


def merge(run: Run, args: Namespace) -> None:
    _engine(run)
    from migrator.engine import migrate

    migrate.merge(run.session, run.stdout, args.revisions, args.message)


def verify(run: Run, args: Namespace) -> None:
    _engine(run)
    from migrator.tools import verify as verifying

    verifying.run(run.session, run.stdout, args.format)


def sql(run: Run, args: Namespace) -> None:
    _engine(run)
    from migrator.tools import review

    review.sql(run.settings, run.stdout, args.range)


def lint(run: Run, args: Namespace) -> None:
    _engine(run)
    from migrator.tools import lint as linting

    linting.run(run.session, run.stdout, args.revisions, args.all, args.format)
