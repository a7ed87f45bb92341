"""Alembic driven as a library: one short function per verb, the env.py hook, ONE error translator.

Any env.py works: while a verb runs, Alembic's commands build our ``EnvironmentContext``
subclass, whose ``configure()`` places the run's locked connection and migrator's options
into whatever env.py passes (Alembic's generic and pyproject templates build an engine of
their own from ``sqlalchemy.url``; the cookbook's recipe reads
``config.attributes["connection"]``). The migrations therefore always run on the connection
that holds the lock, with migrator's session settings, and ``--transaction-per-migration``
and the per-migration events hold whatever env.py does. env.py's ``fileConfig()`` is made a
no-op, so its logging set-up never puts a plain-text line into the JSON stream. And the
commands use the project's already loaded ``ScriptDirectory``: each revision file is
executed once per run.
"""

from __future__ import annotations

import configparser
import importlib.util
import inspect
import logging.config
import shutil
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError, InvalidRequestError, ObjectNotExecutableError

from migrator.core import scripts, state
from migrator.core.errors import ConfigError, DatabaseUnavailable, MigrationFailed, MigratorError, RevisionStateError
from migrator.core.revisions import ScriptState
from migrator.core.signals import Stop
from migrator.engine import env_session, logs
from migrator.engine.db import error_text

DEFAULT_VERSION_TABLE = "alembic_version"
# Where a revision finds the run's stop event (config.attributes, Alembic's slot for live objects):
# migrator.online's backfill ends its pauses on SIGTERM / SIGINT instead of sleeping through them.
STOP_ATTRIBUTE = "migrator.stop"
OnVersionApply = Callable[..., None]


def make_config(config_path: Path, url: URL | None, stdout: TextIO) -> Config:
    """Alembic's Config with our URL in it; an unreadable file is a usage error (2) in one line."""
    ini, pyproject = scripts.config_files(config_path)
    if ini is None and pyproject is None:
        raise ConfigError(
            f"Alembic config {config_path} not found",
            hint="run from the project root or pass -c/--config (env ALEMBIC_CONFIG) naming its alembic.ini "
            "or its pyproject.toml ([tool.alembic])",
        )
    cfg = _config(ini, pyproject, stdout)
    try:
        _main_section(cfg, config_path)  # parsed here, not somewhere deep inside a command
        cfg.get_main_option("script_location")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read {config_path}: {scripts.describe_config_error(exc)}", hint=f"fix the syntax of {config_path}"
        ) from None
    cfg.attributes["configure_logger"] = False
    _drop_template_url(cfg)
    if url is not None:
        # configparser interpolation: a literal % must be doubled.
        cfg.set_main_option("sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


# What `alembic init` writes into alembic.ini: a placeholder, not a database.
TEMPLATE_URL = "driver://user:pass@localhost/dbname"


def _drop_template_url(cfg: Config) -> None:
    """Alembic's template placeholder counts as no URL at all (env.py then gets ours, or none)."""
    section = cfg.config_ini_section
    parser = cfg.file_config
    if parser.has_option(section, "sqlalchemy.url") and parser.get(section, "sqlalchemy.url", raw=True) == TEMPLATE_URL:
        parser.remove_option(section, "sqlalchemy.url")


def _main_section(cfg: Config, config_path: Path) -> None:
    """The ini file's [alembic] section, which Alembic's getters require; pyproject.toml's [tool.alembic]
    may hold the options instead (Alembic 1.16+), and then the section is made empty here."""
    if cfg.file_config.has_section(cfg.config_ini_section):
        return
    from_toml = getattr(cfg, "get_alembic_option", None)
    try:
        in_toml = from_toml is not None and from_toml("script_location") is not None
    except (ValueError, CommandError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"cannot read pyproject.toml beside {config_path}: {exc}", hint="fix its syntax") from None
    if not in_toml:
        if config_path.suffix == ".toml" or not config_path.is_file():
            raise ConfigError(
                f"no [tool.alembic] with script_location in {scripts.config_files(config_path)[1]}",
                hint="add [tool.alembic] with script_location (as `alembic init --template pyproject` writes it), "
                "or pass -c/--config naming the project's alembic.ini",
            )
        empty = " (the file is empty)" if config_path.stat().st_size == 0 else ""
        raise ConfigError(
            f"{config_path} has no [{cfg.config_ini_section}] section{empty}",
            hint=f"add an [{cfg.config_ini_section}] section with script_location (the directory of env.py and "
            "versions/), as `alembic init` writes it, or pass -c/--config naming the project's alembic.ini",
        )
    cfg.file_config.add_section(cfg.config_ini_section)


def _config(ini: Path | None, pyproject: Path | None, stdout: TextIO) -> Config:
    """As the alembic CLI builds it: the ini file and pyproject.toml's [tool.alembic] (Alembic 1.16+), or one alone."""
    if pyproject is not None and "toml_file" in inspect.signature(Config).parameters:
        return Config(str(ini) if ini is not None else None, stdout=stdout, toml_file=str(pyproject))
    if ini is None:
        raise ConfigError(
            f"{pyproject} holds Alembic's options, which this Alembic cannot read (it needs 1.16 or later)",
            hint="upgrade alembic, or keep the options in alembic.ini",
        )
    return Config(str(ini), stdout=stdout)


def version_table(cfg: Config) -> tuple[str, str | None]:
    """(table, schema) of the version table, as alembic.ini declares it for env.py and us."""
    where = cfg.config_file_name or "alembic.ini"
    table = state.identifier("version_table", cfg.get_main_option("version_table") or DEFAULT_VERSION_TABLE, where)
    schema = cfg.get_main_option("version_table_schema") or None
    return table, state.identifier("version_table_schema", schema, where) if schema else None


def load_script(cfg: Config) -> ScriptDirectory:
    """The project's scripts, every revision file loaded and the revision graph built here, where
    a file that does not load or a graph that does not hold becomes migrator's error."""
    try:
        script = ScriptDirectory.from_config(cfg)
    except CommandError as exc:
        raise ConfigError(
            f"cannot load the migration scripts: {exc}", hint="check script_location in alembic.ini"
        ) from exc
    with translated_revision_errors(script):
        script.get_heads()  # Alembic's map of every revision: each file is executed once, now
    return script


def script_state(script: ScriptDirectory, files: Mapping[str, Path] | None = None) -> ScriptState:
    """Heads, known revisions and the heads' branch labels, from Alembic's own loader (each file
    executed once per run); ``files``: revision_files() already walked for this script."""
    with translated_revision_errors(script):
        known = frozenset(files if files is not None else (s.revision for s in script.walk_revisions()))
        heads = tuple(script.get_heads())
        labels = {head: tuple(sorted(script.get_revision(head).branch_labels)) for head in heads}
        return ScriptState(heads=heads, known=known, labels=labels)


def revision_files(script: ScriptDirectory) -> dict[str, Path]:
    """Each revision's file."""
    with translated_revision_errors(script):
        return {s.revision: Path(s.path) for s in script.walk_revisions()}


def ancestors(script: ScriptDirectory, heads: tuple[str, ...]) -> list[str]:
    """Every revision at or below ``heads`` (Alembic's own walk), oldest first."""
    with translated_revision_errors(script):
        return [s.revision for s in reversed(list(script.iterate_revisions(heads, "base")))]


def pending(script: ScriptDirectory, target: str, rows: tuple[str, ...]) -> list[tuple[str, str]]:
    """(revision, message) that ``upgrade target`` would run from these version rows, oldest
    first: Alembic's own walk, so effective heads, ``depends_on`` and labels mean what they mean
    to Alembic (a head another branch depends on is never stored in the version table)."""
    with translated_revision_errors(script, target):
        steps = list(script.iterate_revisions(target, rows, implicit_base=True))
    return [(s.revision, (s.doc or "").strip()) for s in reversed(steps)]


def pending_or_error(
    script: ScriptDirectory, target: str, rows: tuple[str, ...]
) -> list[tuple[str, str]] | MigratorError:
    try:
        return pending(script, target, rows)
    except MigratorError as exc:
        return exc


def reverting_or_error(
    script: ScriptDirectory, target: str, rows: tuple[str, ...]
) -> list[tuple[str, str]] | MigratorError:
    """(revision, message) that ``downgrade target`` would revert from these version rows, in the order
    it reverts them: the walk Alembic's downgrade takes (``select_for_downgrade``), relative targets included."""
    try:
        with translated_revision_errors(script, target):
            steps = list(script.iterate_revisions(rows, target, select_for_downgrade=True))
    except MigratorError as exc:
        return _at_a_merge(script, target, rows) if "Ambiguous walk" in exc.message else exc
    return [(s.revision, (s.doc or "").strip()) for s in steps]


class AmbiguousAtMerge(RevisionStateError):
    """A relative downgrade from a merge revision: which parent it means is the user's to say."""


def _at_a_merge(script: ScriptDirectory, target: str, rows: tuple[str, ...]) -> MigratorError:
    parents = [p for row in rows for p in _ids(script.get_revision(row).down_revision)]
    return AmbiguousAtMerge(
        f"downgrade {target}: the database is at the merge revision {', '.join(rows)}, whose parents are "
        f"{', '.join(parents)}; a relative step cannot choose between them",
        hint=" or ".join(f"`migrator downgrade {p}`" for p in parents) + " (the parent to go back to)",
    )


@dataclass
class Hooks:
    """What migrator places into env.py's ``context.configure()``, and what env.py asked for."""

    connection: Connection | None = None
    per_migration: bool | None = None  # None: as env.py asks (Alembic's default: one transaction)
    on_version_apply: Sequence[OnVersionApply] = ()
    version_table: tuple[str, str | None] | None = None  # what alembic.ini declares; env.py must agree
    starting_rev: tuple[str, ...] | None = None  # offline: render from all of these (a merge's parents)
    # autogenerate: sees the generated script; True drops it (nothing detected: no empty revision file)
    review_generated: Callable[[Any], bool] | None = None
    stop: Stop | None = None  # the run's signals, for revisions that wait between steps (migrator.online)
    # set at configure(): env.py's statements began a transaction on our connection, which Alembic then
    # leaves to its caller (one transaction, committed by the Job when the run succeeds)
    began_before_configure: bool = False


def _environment(hooks: Hooks) -> Callable[..., EnvironmentContext]:
    """Builds Alembic's EnvironmentContext for alembic.command, with ``configure`` wrapped per instance
    (the ``alembic.context`` proxy calls the instance's method, so env.py reaches the wrapper)."""

    def build(config: Config, script: ScriptDirectory, **kw: Any) -> EnvironmentContext:
        environment = EnvironmentContext(config, script, **kw)
        original = environment.configure

        def configure(connection: Connection | None = None, **options: Any) -> None:
            original(connection=_configured(hooks, environment, connection, options), **options)

        environment.configure = configure  # type: ignore[method-assign, assignment]
        return environment

    return build


def _configured(
    hooks: Hooks, environment: EnvironmentContext, connection: Connection | None, kw: dict[str, Any]
) -> Connection | None:
    """Place migrator's connection and options into env.py's configure() arguments (``kw`` in place)."""
    if hooks.per_migration is not None:  # the flag or the variable, when given, over env.py's own
        kw["transaction_per_migration"] = hooks.per_migration
    if hooks.connection is not None and not environment.is_offline_mode():
        if connection is not None and connection is not hooks.connection:
            env_session.adopt(connection, hooks.connection)
        elif hooks.connection.in_transaction():
            hooks.began_before_configure = True
            env_session.began_before_configure(bool(kw.get("transaction_per_migration")))
        connection = hooks.connection
    if hooks.starting_rev is not None and environment.is_offline_mode():
        kw["starting_rev"] = hooks.starting_rev
    theirs = kw.get("on_version_apply") or ()
    kw["on_version_apply"] = (*((theirs,) if callable(theirs) else tuple(theirs)), *hooks.on_version_apply)
    kw["include_name"] = _without_own_tables(kw.get("include_name"))
    if hooks.review_generated is not None:
        kw["process_revision_directives"] = _reviewed(kw.get("process_revision_directives"), hooks.review_generated)
    asked = (kw.get("version_table") or DEFAULT_VERSION_TABLE, kw.get("version_table_schema") or None)
    if hooks.version_table is not None and asked != hooks.version_table:
        raise ConfigError(
            f"env.py uses the version table {_qualified(asked)}, "
            f"alembic.ini declares {_qualified(hooks.version_table)}",
            hint=f"declare it in alembic.ini's [alembic] section (version_table = {asked[0]}"
            + (f", version_table_schema = {asked[1]}" if asked[1] else "")
            + "): migrator reads that table and derives its lock from it",
        )
    return connection


def _without_own_tables(theirs: Callable[..., bool] | None) -> Callable[..., bool]:
    """Autogenerate never proposes to drop migrator's bookkeeping tables, whatever env.py filters."""

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "table" and name in state.OWN_TABLES:
            return False
        return theirs(name, type_, parent_names) if theirs is not None else True

    return include_name


def _reviewed(theirs: Callable[..., None] | None, review: Callable[[Any], bool]) -> Callable[..., None]:
    """env.py's own process_revision_directives first, then ours (Alembic's documented hook)."""

    def process(context: Any, revision: Any, directives: list[Any]) -> None:
        if theirs is not None:
            theirs(context, revision, directives)
        if directives and review(directives[0]):
            directives[:] = []

    return process


def _qualified(table: tuple[str, str | None]) -> str:
    return f"{table[1]}.{table[0]}" if table[1] else table[0]


class _LoadedScripts:
    """Stands in for ScriptDirectory inside alembic.command: the project's, already loaded."""

    def __init__(self, script: ScriptDirectory) -> None:
        self.script = script

    def from_config(self, _config: Config) -> ScriptDirectory:
        return self.script


def _skipped_file_config(*_args: Any, **_kwargs: Any) -> None:
    logs.get().debug("env.file_config_skipped", reason="migrator configures logging itself")


@contextmanager
def driving(cfg: Config, script: ScriptDirectory, hooks: Hooks) -> Iterator[None]:
    """While the block runs, alembic.command uses our environment class and the loaded scripts."""
    cfg.attributes["connection"] = hooks.connection  # the cookbook recipe's way, for env.py files that read it
    cfg.attributes[STOP_ATTRIBUTE] = hooks.stop
    replacements: dict[str, Any] = {
        "EnvironmentContext": _environment(hooks),
        "ScriptDirectory": _LoadedScripts(script),
    }
    saved = {name: getattr(command, name) for name in replacements}
    saved_file_config = logging.config.fileConfig
    for name, value in replacements.items():
        setattr(command, name, value)
    logging.config.fileConfig = _skipped_file_config
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(command, name, value)
        logging.config.fileConfig = saved_file_config


def upgrade(cfg: Config, target: str, sql: bool = False) -> None:
    command.upgrade(cfg, target, sql=sql)


def downgrade(cfg: Config, target: str, sql: bool = False) -> None:
    command.downgrade(cfg, target, sql=sql)


def stamp(cfg: Config, target: str, purge: bool = False) -> None:
    command.stamp(cfg, target, purge=purge)


def current(cfg: Config, verbose: bool) -> None:
    command.current(cfg, verbose=verbose)


def history(cfg: Config, rev_range: str | None, verbose: bool, indicate_current: bool) -> None:
    command.history(cfg, rev_range=rev_range, verbose=verbose, indicate_current=indicate_current)


def heads(cfg: Config, verbose: bool) -> None:
    command.heads(cfg, verbose=verbose)


def check(cfg: Config) -> None:
    command.check(cfg)


def create(cfg: Config, script: ScriptDirectory, message: str, autogenerate: bool) -> list[str]:
    """Write a new revision file; returns the paths written."""
    _without_missing_hooks(cfg, script)
    try:
        written = command.revision(cfg, message=message, autogenerate=autogenerate)
    except CommandError as exc:
        if autogenerate and "does not provide a MetaData object" in str(exc):
            raise ConfigError(
                "create compares the models with the database, and env.py gives Alembic no models to compare "
                "(target_metadata is None)",
                hint="set target_metadata in env.py (e.g. target_metadata = Base.metadata), or pass --empty "
                "for a revision to fill in by hand",
            ) from None
        raise
    scripts = written if isinstance(written, list) else [written]
    return [s.path for s in scripts if s is not None]


_HOOKS = "post_write_hooks"


def _without_missing_hooks(cfg: Config, script: ScriptDirectory) -> None:
    """A post-write hook whose tool is not installed here (the image and the runtime venv have no ruff) is
    skipped, said once, instead of failing after the revision is written. Both the config (read by a script
    directory Alembic builds) and the loaded scripts (which read their hooks when they were loaded)."""
    missing: dict[str, str] = {}
    for hook in script.hooks:
        kind = hook.get("type", "")
        tool = hook.get("module" if kind == "module" else "executable", "")
        if kind == "module" and tool and importlib.util.find_spec(tool) is None:
            missing[hook["_hook_name"]] = f"module {tool} is not installed here"
        elif kind == "exec" and tool and shutil.which(tool) is None:
            missing[hook["_hook_name"]] = f"{tool} is not on PATH"
    if not missing:
        return
    script.hooks = [hook for hook in script.hooks if hook["_hook_name"] not in missing]
    if cfg.file_config.has_section(_HOOKS):
        cfg.set_section_option(_HOOKS, "hooks", ", ".join(hook["_hook_name"] for hook in script.hooks))
    logs.get().warning(
        "revision.hook_skipped",
        hooks=list(missing),
        reason="; ".join(sorted(set(missing.values()))),
        hint="the revision is written unformatted: install the tool (in this repository: `make install`)",
    )


def merge(cfg: Config, script: ScriptDirectory, revisions: list[str], message: str) -> list[str]:
    """Write a merge revision of ``revisions`` (default: every head); returns the path written."""
    _without_missing_hooks(cfg, script)
    written = command.merge(cfg, revisions or ["heads"], message=message)
    return [written.path] if written is not None else []


def failing_file(exc: BaseException, script: ScriptDirectory | None, revisions_only: bool = False) -> str | None:
    """The revision (or env.py) file that failed to load: its module-level frame under the scripts' directories
    (``revisions_only``: under the version locations, env.py left out: env.py's module-level code is what runs
    every migration, so its frame is in every traceback while a command runs)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename
    if script is None:
        return None
    roots = [] if revisions_only else [Path(script.dir).resolve()]
    roots += [Path(p).resolve() for p in script._version_locations]
    env_py = Path(script.dir).resolve() / "env.py"
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        inside = any(path.is_relative_to(root) for root in roots) and not (revisions_only and path == env_py)
        if inside and frame.name == "<module>":
            found = frame.filename
    return found


@contextmanager
def translated_revision_errors(script: ScriptDirectory | None = None, what: str | None = None) -> Iterator[None]:
    """Revision problems (5) and revision files that cannot be loaded (2, naming the file); anything
    else passes through to the caller's own translation."""
    try:
        yield
    except MigratorError:
        raise
    except Exception as exc:
        translated = revision_error(exc, script, what)
        if translated is None:
            raise
        raise translated from exc
    except (SystemExit, KeyboardInterrupt) as exc:  # sys.exit() at a revision's import is a broken file too
        where = failing_file(exc, script, revisions_only=True)
        if where is None:
            raise
        raise _unloadable(where, exc) from exc


def _unloadable(where: str | None, exc: BaseException) -> ConfigError:
    return ConfigError(
        f"cannot load the migration scripts: {where or 'a revision file'}: {type(exc).__name__}: {exc}",
        hint=f"fix {where}" if where else "fix the revision file named in the error",
    )


def revision_error(exc: BaseException, script: ScriptDirectory | None, what: str | None = None) -> MigratorError | None:
    """THE translation of Alembic's own errors into migrator's; None when ``exc`` is not one of them."""
    if isinstance(exc, (CommandError, RevisionError)):
        prefix = f"{what}: " if what else ""
        return RevisionStateError(f"{prefix}{exc}", hint=_revision_hint(exc))
    if _is_async_setup(exc):
        return _async_refusal(exc)
    # Any exception from a revision file's module-level code; those four from env.py's too.
    where = failing_file(exc, script, revisions_only=True)
    if where is None and isinstance(exc, (SyntaxError, ImportError, AttributeError, NameError)):
        where = failing_file(exc, script)  # None: raised while running, not while loading
    if where is not None or isinstance(exc, (SyntaxError, ImportError)):
        return _unloadable(where, exc)
    if isinstance(exc, KeyError) and script is not None:
        return _missing_revision(script, exc)
    if isinstance(exc, FileNotFoundError):
        return ConfigError(
            f"cannot write the revision: {exc.strerror}: {exc.filename}",
            hint="the script directory needs Alembic's script.py.mako template (`alembic init` writes one)",
        )
    return None


def _revision_hint(exc: BaseException) -> str:
    if "Target database is not up to date" in str(exc):  # autogenerate compares models with a database at head
        return (
            "upgrade the database first (`migrator upgrade`), or adopt one built without migrations with "
            "`migrator upgrade --baseline REV`; `migrator create --empty` writes a revision without comparing"
        )
    if "Multiple heads are present" in str(exc):
        return 'merge the heads first: `migrator merge -m "merge heads"` (see `migrator heads`)'
    return "check the revision id with `migrator history`"


def _missing_revision(script: ScriptDirectory, exc: KeyError) -> MigratorError | None:
    """Alembic's map of the revisions fails with a bare KeyError when a file names a parent (down_revision,
    depends_on) that no file defines; which files name it, read again (this is the failure path only)."""
    missing = exc.args[0] if exc.args else None
    if not isinstance(missing, str):
        return None
    naming = [s.path for s in script._load_revisions() if missing in (*_ids(s.down_revision), *_ids(s.dependencies))]
    if not naming:
        return None
    return RevisionStateError(
        f"revision {missing} does not exist, but {', '.join(naming)} names it as its parent",
        hint=f"fix down_revision (or depends_on) in {naming[0]}, or restore the revision file of {missing}",
    )


def _ids(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """down_revision or depends_on as Alembic allows them: None, one id or several."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@contextmanager
def translated_migration_errors(
    stop: Stop,
    at: Callable[[], str],
    script: ScriptDirectory | None = None,
    running: Callable[[], str | None] = lambda: None,
) -> Iterator[None]:
    """Errors raised while Alembic runs: revision problems (5), lost connection (3), the rest (1).

    ``at`` reads the database's state again when called: a hint never assumes a rollback;
    ``running`` names the revision that failed.
    """
    try:
        yield
    except MigratorError:
        raise
    except (CommandError, RevisionError, SyntaxError, ImportError) as exc:
        stop.raise_if_stopped()
        raise revision_error(exc, script) or MigrationFailed(f"{type(exc).__name__}: {exc}", hint=at()) from exc
    except DBAPIError as exc:
        if stop.stopped:
            raise stop.interrupted() from exc
        if exc.connection_invalidated:
            raise DatabaseUnavailable(
                f"lost the database connection during the migration: {error_text(exc)}",
                hint=f"{at()}; run again once it is back",
            ) from exc
        raise MigrationFailed(f"{_migration(running())} failed: {error_text(exc)}", hint=at()) from exc
    except Exception as exc:
        if _is_async_setup(exc):
            raise _async_refusal(exc) from exc
        stop.raise_if_stopped()
        hint = at()
        if isinstance(exc, ObjectNotExecutableError):  # SQLAlchemy 2 takes no plain SQL strings
            hint = (
                'SQLAlchemy 2 executes no plain string: write op.execute("UPDATE ...") or '
                'connection.execute(sa.text("UPDATE ...")); ' + hint
            )
        raise MigrationFailed(f"{_migration(running())} failed: {type(exc).__name__}: {exc}", hint=hint) from exc
    except (SystemExit, KeyboardInterrupt) as exc:  # raised by a revision or env.py, never by our signals
        stop.raise_if_stopped()
        raise MigrationFailed(f"{_migration(running())} failed: {_exit_text(exc)}", hint=at()) from exc


def _exit_text(exc: SystemExit | KeyboardInterrupt) -> str:
    """sys.exit() or a KeyboardInterrupt raised by the project's code (migrator takes signals in a thread)."""
    if isinstance(exc, KeyboardInterrupt):
        return "KeyboardInterrupt raised by the code (not a signal: migrator takes SIGINT itself)"
    return f"SystemExit({exc.code!r}): sys.exit() called by env.py or a revision; nothing after it ran"


def _is_async_setup(exc: BaseException) -> bool:
    """env.py builds an asyncio engine (Alembic's async templates): not something migrator can drive."""
    text = str(exc)
    return (isinstance(exc, InvalidRequestError) and "async" in text) or (
        isinstance(exc, ImportError) and ("greenlet" in text or "asyncio" in text)
    )


def _async_refusal(exc: BaseException) -> ConfigError:
    return ConfigError(
        f"env.py drives an asyncio engine, which migrator cannot hand its locked connection to: {exc}",
        hint="migrator runs the migrations on its own locked psycopg2 connection: use a synchronous env.py "
        "(Alembic's generic template) for the migrations",
    )


def _migration(revision: str | None) -> str:
    return f"migration {revision}" if revision else "migration"
