"""Settings built once from flags > environment > *_FILE > defaults."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from migrator.core import urls
from migrator.core.errors import ConfigError
from migrator.core.options import BY_NAME, LOG_FORMATS, LOG_LEVELS, env
from migrator.core.phases import PHASES
from migrator.core.redact import repr_without

DEFAULT_WAIT_TIMEOUT = 60.0
DEFAULT_LOCK_TIMEOUT = 600.0
DEFAULT_DDL_LOCK_TIMEOUT = 5.0
DEFAULT_DDL_RETRIES = 5
DEFAULT_HEARTBEAT_INTERVAL = 10.0
# What the other side can take: PostgreSQL counts lock_timeout and statement_timeout in whole
# milliseconds in a 32-bit integer; a Python thread waits at most threading.TIMEOUT_MAX seconds.
POSTGRESQL_MAX_SECONDS = (2**31 - 1) / 1000
POSTGRESQL_MIN_SECONDS = 0.001  # less rounds to 0 ms, which PostgreSQL reads as "no timeout"
PYTHON_MAX_SECONDS = float(int(threading.TIMEOUT_MAX))
# Kubernetes reads a container's termination message from here.
TERMINATION_LOG = Path("/dev/termination-log")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Settings(NamedTuple):
    config_path: Path
    database_url: str | None  # masked in repr()
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    lock_key: int | None = None
    log_format: str = "json"
    log_level: str = "info"
    log_color: bool = False
    transaction_per_migration: bool | None = None  # None: as env.py asks
    fast_path: bool = True
    allow_changed: tuple[str, ...] = ()
    baseline: str | None = None
    report_path: Path | None = None
    backup_command: str | None = None
    ddl_lock_timeout: float = DEFAULT_DDL_LOCK_TIMEOUT
    ddl_retries: int = DEFAULT_DDL_RETRIES
    statement_timeout: float | None = None
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL  # migration.running every so often; 0 turns it off
    password_command: str | None = None  # run before every connection attempt (core/credentials.py)
    database_url_file: tuple[str, str, str] | None = None  # (variable, path, its plain variable): read each attempt
    target: str = "head"  # what `upgrade` and `check` aim at when no revision is given
    phase: str = "all"  # all | expand | contract (core/phases.py)
    # What the backup command inherits (it runs with our environment, secrets included: never shown).
    backup_environment: Mapping[str, str] = MappingProxyType({})

    def __repr__(self) -> str:
        return repr_without(self, "database_url", "backup_environment")


def build(args: argparse.Namespace, environ: Mapping[str, str], stderr_is_tty: bool) -> Settings:
    """Resolve every setting; raises ConfigError naming the bad input."""
    default_format = "console" if stderr_is_tty else "json"
    log_format = _choice(args.log_format, environ, env("log_format"), LOG_FORMATS, default_format)
    return Settings(
        config_path=Path(_pick(args.config_path, environ, env("config_path")) or "alembic.ini"),
        database_url=_database_url(args.database_url, environ),
        wait_timeout=_seconds("wait_timeout", args.wait_timeout, environ, DEFAULT_WAIT_TIMEOUT),
        lock_timeout=_seconds("lock_timeout", args.lock_timeout, environ, DEFAULT_LOCK_TIMEOUT),
        lock_key=_lock_key(environ.get(env("lock_key"))),
        log_format=log_format,
        log_level=_choice(args.log_level, environ, env("log_level"), LOG_LEVELS, "info"),
        # https://no-color.org: any non-empty NO_COLOR turns colors off.
        log_color=log_format == "console" and stderr_is_tty and not environ.get("NO_COLOR"),
        transaction_per_migration=True
        if getattr(args, "transaction_per_migration", False)
        else _optional_flag(environ, env("transaction_per_migration")),
        fast_path=_flag(environ, env("fast_path"), default=True),
        allow_changed=_revision_list(getattr(args, "allow_changed", None), environ.get(env("allow_changed"))),
        baseline=_pick(getattr(args, "baseline", None), environ, env("baseline")),
        report_path=_report_path(getattr(args, "report_path", None), environ),
        backup_command=_pick(getattr(args, "backup_command", None), environ, env("backup_command")),
        backup_environment=dict(environ),
        ddl_lock_timeout=_seconds("ddl_lock_timeout", None, environ, DEFAULT_DDL_LOCK_TIMEOUT, postgresql=True),
        ddl_retries=_count(environ, env("ddl_retries"), DEFAULT_DDL_RETRIES),
        statement_timeout=_seconds("statement_timeout", None, environ, 0.0, postgresql=True) or None,
        heartbeat_interval=_seconds("heartbeat_interval", None, environ, DEFAULT_HEARTBEAT_INTERVAL),
        target=_target(environ.get(env("target"))),
        phase=_choice(getattr(args, "phase", None), environ, env("phase"), PHASES, "all"),
        password_command=_pick(getattr(args, "password_command", None), environ, env("password_command")),
        database_url_file=url_file(args.database_url, environ),
    )


def _target(raw: str | None) -> str:
    """MIGRATOR_TARGET: `head` unless set; `heads` or `LABEL@head` for projects of several branches."""
    if raw is None:
        return "head"
    value = raw.strip()
    if not value or any(c.isspace() for c in value):
        raise ConfigError(
            f"MIGRATOR_TARGET={raw!r} is not a revision",
            hint="use head (the default), heads, LABEL@head or a revision id",
        )
    return value


def raw_urls(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every URL given before any validation, so their passwords can be masked from the start."""
    environ = os.environ if environ is None else environ
    found = [url for url in (args.database_url, *(environ.get(name) for name, _ in URL_SOURCES)) if url]
    for _, file_variable in URL_SOURCES:
        if environ.get(file_variable):
            with contextlib.suppress(OSError, UnicodeDecodeError):  # reported when the settings are built
                found.append(Path(environ[file_variable]).read_text(encoding="utf-8").strip())
    return found


def from_process(args: argparse.Namespace) -> Settings:
    return build(args, os.environ, sys.stderr.isatty())


def log_settings_from_process(args: argparse.Namespace, stderr_is_tty: bool) -> tuple[str, str, bool]:
    """(format, level, color) for a run whose settings are wrong: the flags and variables that are valid,
    the defaults for those that are not (so the error about them is still in the chosen format)."""
    environ = os.environ
    default_format = "console" if stderr_is_tty else "json"
    try:
        fmt = _choice(args.log_format, environ, env("log_format"), LOG_FORMATS, default_format)
    except ConfigError:
        fmt = default_format
    try:
        level = _choice(args.log_level, environ, env("log_level"), LOG_LEVELS, "info")
    except ConfigError:
        level = "info"
    return fmt, level, fmt == "console" and stderr_is_tty and not environ.get("NO_COLOR")


def report_path_from_process(args: argparse.Namespace) -> Path | None:
    """Where the report goes, resolved on its own: a run whose other settings are wrong still reports."""
    return _report_path(getattr(args, "report_path", None), os.environ)


def _pick(flag: str | None, environ: Mapping[str, str], name: str) -> str | None:
    if flag is not None:
        return flag
    value = environ.get(name, "").strip()
    return value if value else None


def database_url_from(environ: Mapping[str, str]) -> str | None:
    """DATABASE_URL or DATABASE_URL_FILE, validated: for env.py when plain `alembic` runs."""
    return _database_url(None, environ)


def _database_url(flag: str | None, environ: Mapping[str, str]) -> str | None:
    """The URL from the flag, DATABASE_URL or DATABASE_URL_FILE, validated at once (core/urls.py)."""
    url = _read_database_url(flag, environ)
    if url is not None:
        urls.parse(url)
    return url


# Where the URL comes from, first found wins (after --database-url): migrator's own pair, so a direct
# URL for migrations can live beside the app's pooled DATABASE_URL (behind a transaction pooler), then
# the app's. Each is a variable or a file named by VARIABLE_FILE (a mounted secret).
URL_SOURCES = (("MIGRATOR_DATABASE_URL", "MIGRATOR_DATABASE_URL_FILE"), ("DATABASE_URL", "DATABASE_URL_FILE"))


def url_file(flag: str | None, environ: Mapping[str, str]) -> tuple[str, str, str] | None:
    """(file variable, path, variable) when the URL comes from a file, read again at each connection attempt."""
    if flag is not None:
        return None
    for variable, file_variable in URL_SOURCES:
        if environ.get(variable, "").strip():
            return None
        if environ.get(file_variable):
            return file_variable, environ[file_variable], variable
    return None


def _read_database_url(flag: str | None, environ: Mapping[str, str]) -> str | None:
    if flag is not None:
        return flag.strip()
    from_file = url_file(flag, environ)
    if from_file is not None:
        return read_url_file(*from_file)
    for variable, _ in URL_SOURCES:  # no file comes first: the URL is the first variable set, if any
        url = environ.get(variable, "").strip()
        if url:
            return url
    return None


def read_url_file(file_variable: str, path: str, variable: str) -> str:
    """The URL in the file ``path`` named by ``file_variable``; a ConfigError naming both when unusable."""
    try:
        content = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"{file_variable}={path} cannot be read: {exc.strerror}",
            hint=f"mount the secret file or set {variable}",
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file_variable}={path} is not UTF-8 text", hint="write the URL as plain text") from None
    if not content:
        raise ConfigError(f"{file_variable}={path} is empty", hint="put the database URL in it")
    return content


def _seconds(
    name: str, flag: float | None, environ: Mapping[str, str], default: float, postgresql: bool = False
) -> float:
    """The option ``name`` in seconds, within what the side that waits can take (``postgresql``: a session
    setting in milliseconds; else a wait in Python); 0 is always allowed (one attempt, or off)."""
    option = BY_NAME[name]
    variable = env(name)
    low, high = (POSTGRESQL_MIN_SECONDS, POSTGRESQL_MAX_SECONDS) if postgresql else (0.0, PYTHON_MAX_SECONDS)
    span = f"0 or {low:g} to {high:.15g}" if low else f"0 to {high:.15g}"
    if flag is not None:
        given, value, where = f"{option.flags[-1]} {flag:g}", flag, option.flags[-1]
    else:
        raw = environ.get(variable, "").strip()
        if not raw:
            return default
        given, where = f"{variable}={raw!r}", variable
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(
                f"{given} is not a number of seconds", hint=_in_range(where, span, option.default)
            ) from None
    if value != 0 and not low <= value <= high:  # nan fails every comparison
        why = " (PostgreSQL takes it in whole milliseconds, a 32-bit integer)" if postgresql else ""
        raise ConfigError(f"{given} is out of range: {span} seconds{why}", hint=_in_range(where, span, option.default))
    return value


def _in_range(where: str, span: str, default: str) -> str:
    return f"set {where} to a number of seconds, {span} (default: {default})"


def _revision_list(flags: list[str] | None, env: str | None) -> tuple[str, ...]:
    """REV,REV or REV REV, from repeated flags or else the environment."""
    raw = " ".join(flags) if flags else (env or "")
    return tuple(rev for rev in raw.replace(",", " ").split() if rev)


def _report_path(flag: str | None, environ: Mapping[str, str]) -> Path | None:
    chosen = _pick(flag, environ, env("report_path"))
    if chosen and "\x00" in chosen:  # no file name holds one (os.open would raise ValueError)
        raise ConfigError(f"{env('report_path')} contains a NUL byte", hint="name the report file without one")
    if chosen:
        return Path(chosen)
    return TERMINATION_LOG if TERMINATION_LOG.exists() else None


def _count(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    hint = f"set {name} to a whole number, 0 or more"
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number", hint=hint) from None
    if value < 0:
        raise ConfigError(f"{name}={raw!r} is out of range: 0 or more", hint=hint)
    return value


def _lock_key(raw: str | None) -> int | None:
    if not raw:
        return None
    hint = "set MIGRATOR_LOCK_KEY to a signed 64-bit integer (decimal or 0x…), or unset it to derive the key"
    try:
        key = int(raw, 0) if raw.lower().startswith(("0x", "-0x")) else int(raw, 10)
    except ValueError:
        raise ConfigError(f"MIGRATOR_LOCK_KEY={raw!r} is not an integer", hint=hint) from None
    if not -(2**63) <= key < 2**63:
        raise ConfigError("MIGRATOR_LOCK_KEY must fit in a signed 64-bit integer", hint=hint)
    return key


def _choice(flag: str | None, environ: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (_pick(flag, environ, name) or default).lower()
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(allowed)}")
    return value


def _flag(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    found = _optional_flag(environ, name)
    return default if found is None else found


def _optional_flag(environ: Mapping[str, str], name: str) -> bool | None:
    """1/0 (true/false, yes/no, on/off); None when the variable is unset or empty."""
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use 1 or 0)")
