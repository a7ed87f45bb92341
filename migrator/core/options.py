"""Every option of migrator, declared once: its flag(s), its environment variable, its default,
its help and the commands that offer it. argparse (cli.py), Settings (core/settings.py), --help
and the README's configuration table (checked by tests/unit/test_options.py) all read this table.

Command arguments (a revision, --dry-run, -r, --format …) belong to one command each and are
declared with it in cli.py; these are the settings a run is configured with.
"""

from __future__ import annotations

from typing import NamedTuple

COMMANDS = (
    "upgrade",
    "downgrade",
    "stamp",
    "current",
    "history",
    "heads",
    "status",
    "create",
    "merge",
    "check",
    "wait",
    "verify",
    "sql",
    "lint",
)
EVERY = frozenset(COMMANDS)
CHANGING = frozenset({"upgrade", "downgrade", "stamp"})  # take the migration lock and change the database
MIGRATING = frozenset({"upgrade", "downgrade"})  # run migrations
ONLINE = EVERY - {"heads", "merge"}  # may use the database


class Option(NamedTuple):
    name: str  # the Settings field and the argparse dest
    flags: tuple[str, ...]  # () when only the environment sets it
    env: str | None
    default: str  # as documented
    help: str
    commands: frozenset[str]  # where it applies (and its flag is offered)
    kind: str = "text"  # text | seconds | choice | switch | revisions
    choices: tuple[str, ...] = ()
    metavar: str | None = None

    def help_text(self) -> str:
        """The --help line: what it does, where else it can come from, its default."""
        extra = [f"env {self.env}"] if self.env else []
        if self.default != "—":
            extra.append(f"default {self.default}")
        return f"{self.help} ({'; '.join(extra)})" if extra else self.help


LOG_FORMATS = ("json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error")

OPTIONS: tuple[Option, ...] = (
    Option(
        "config_path",
        ("-c", "--config"),
        "ALEMBIC_CONFIG",
        "./alembic.ini",
        "the Alembic config",
        EVERY,
        metavar="PATH",
    ),
    Option(
        "database_url",
        ("--database-url",),
        "DATABASE_URL",
        "—",
        "PostgreSQL URL, or DATABASE_URL_FILE naming a file that holds it; percent-encode special characters "
        "in the user and password. MIGRATOR_DATABASE_URL (or MIGRATOR_DATABASE_URL_FILE), when set, is used "
        "instead: a direct URL for migrations beside the app's pooled one",
        ONLINE,
        metavar="URL",
    ),
    Option(
        "password_command",
        ("--password-command",),
        "MIGRATOR_PASSWORD_COMMAND",
        "—",
        "a command run before every connection attempt whose first output line is the password for it "
        "(a short-lived token: `aws rds generate-db-auth-token …`); masked everywhere. A URL read from a "
        "*_FILE is read again at every attempt too (a rotated secret)",
        ONLINE,
        metavar="COMMAND",
    ),
    Option(
        "wait_timeout",
        ("--wait-timeout",),
        "MIGRATOR_WAIT_TIMEOUT",
        "60",
        "seconds to wait for the database; 0 means one attempt",
        ONLINE,
        kind="seconds",
    ),
    Option(
        "lock_timeout",
        ("--lock-timeout",),
        "MIGRATOR_LOCK_TIMEOUT",
        "600",
        "seconds to wait for the migration lock",
        CHANGING,
        kind="seconds",
    ),
    Option(
        "lock_key",
        (),
        "MIGRATOR_LOCK_KEY",
        "derived",
        "advisory lock key (signed 64-bit); default derived from the version table's schema and name",
        CHANGING,
    ),
    Option(
        "log_format",
        ("--log-format",),
        "MIGRATOR_LOG_FORMAT",
        "console on a terminal, json otherwise",
        "json or console (colored on a terminal unless NO_COLOR is set)",
        EVERY,
        kind="choice",
        choices=LOG_FORMATS,
    ),
    Option(
        "log_level",
        ("--log-level",),
        "MIGRATOR_LOG_LEVEL",
        "info",
        "the lowest level logged",
        EVERY,
        "choice",
        LOG_LEVELS,
    ),
    Option(
        "target",
        (),
        "MIGRATOR_TARGET",
        "head",
        "what upgrade and check aim at without a revision: heads or LABEL@head for a project of several packages",
        frozenset({"upgrade", "check"}),
    ),
    Option(
        "phase",
        ("--phase",),
        "MIGRATOR_PHASE",
        "all",
        "expand: only the steps before the first contract step (the Job before the rollout); contract: the rest",
        frozenset({"upgrade", "check"}),
        kind="choice",
        choices=("all", "expand", "contract"),
    ),
    Option(
        "transaction_per_migration",
        ("--transaction-per-migration",),
        "MIGRATOR_TRANSACTION_PER_MIGRATION",
        "env.py's (else off)",
        "commit each migration on its own instead of all in one transaction; 0 or 1 overrides env.py's own",
        MIGRATING,
        kind="switch",
    ),
    Option(
        "allow_changed",
        ("--allow-changed",),
        "MIGRATOR_ALLOW_CHANGED",
        "—",
        "applied revisions whose file is known to have changed",
        frozenset({"upgrade"}),
        kind="revisions",
        metavar="REV[,REV]",
    ),
    Option(
        "baseline",
        ("--baseline",),
        "MIGRATOR_BASELINE",
        "—",
        "stamp an existing unversioned database at REV, then upgrade",
        frozenset({"upgrade"}),
        metavar="REV",
    ),
    Option(
        "report_path",
        ("--report",),
        "MIGRATOR_REPORT",
        "/dev/termination-log when it exists",
        "write a one-line JSON summary of the run here",
        CHANGING,
        metavar="FILE",
    ),
    Option(
        "backup_command",
        ("--backup-command",),
        "MIGRATOR_BACKUP_COMMAND",
        "—",
        "run CMD before changing anything, under the lock, only when there is work",
        MIGRATING,
        metavar="CMD",
    ),
    Option(
        "ddl_lock_timeout",
        (),
        "MIGRATOR_DDL_LOCK_TIMEOUT",
        "5",
        "seconds a migration statement may wait for a table lock before the transaction is retried",
        MIGRATING,
        kind="seconds",
    ),
    Option(
        "ddl_retries", (), "MIGRATOR_DDL_RETRIES", "5", "retries after such a lock timeout", MIGRATING, kind="count"
    ),
    Option(
        "statement_timeout",
        (),
        "MIGRATOR_STATEMENT_TIMEOUT",
        "none",
        "seconds any one migration statement may run",
        MIGRATING,
        kind="seconds",
    ),
    Option(
        "heartbeat_interval",
        (),
        "MIGRATOR_HEARTBEAT_INTERVAL",
        "10",
        "seconds between migration.running lines while one migration runs (0: none)",
        MIGRATING,
        kind="seconds",
    ),
    Option(
        "fast_path",
        (),
        "MIGRATOR_FAST_PATH",
        "1",
        '0 switches off the "nothing to do" light path',
        frozenset({"upgrade", "check"}),
        kind="switch",
    ),
)

BY_NAME = {option.name: option for option in OPTIONS}


def env(name: str) -> str:
    """The environment variable of the option ``name``."""
    variable = BY_NAME[name].env
    assert variable is not None
    return variable


def offered(command: str | None) -> tuple[Option, ...]:
    """The options whose flag a command offers (None: the top level, before the command)."""
    if command is None:  # before the command: what (nearly) every command takes, e.g. the URL
        return tuple(o for o in OPTIONS if o.flags and o.commands >= ONLINE)
    return tuple(o for o in OPTIONS if o.flags and command in o.commands)


def markdown_table() -> list[str]:
    """The README's configuration table, row by row."""
    rows = ["| flag | environment | default | meaning | commands |", "|---|---|---|---|---|"]
    for o in OPTIONS:
        flags = ", ".join(f"`{f}`" for f in o.flags) or "—"
        commands = _commands(o.commands)
        rows.append(f"| {flags} | `{o.env}` | {o.default} | {o.help} | {commands} |")
    return rows


def _commands(commands: frozenset[str]) -> str:
    if commands == EVERY:
        return "all"
    missing = [c for c in COMMANDS if c not in commands]
    if len(missing) < len(commands):
        return "all but " + ", ".join(missing)
    return ", ".join(c for c in COMMANDS if c in commands)
