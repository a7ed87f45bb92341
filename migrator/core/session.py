"""The run's one database connection, opened by the core at most once and handed to the engine."""

from __future__ import annotations

import time
from typing import Any

from migrator.core import credentials, pg, urls
from migrator.core.events import Emitter
from migrator.core.settings import Settings
from migrator.core.signals import Stop


class Session:
    """What every stage of a run shares: settings, the stop signal, the emitter, the connection.

    ``connection`` is a psycopg2 connection once something needed the database;
    ``locked_by`` is the backend pid that took the migration lock on it, if it did.
    (A plain class, like every record of the core: the dataclasses module alone costs a
    no-op run a tenth of its CPU.)
    """

    def __init__(
        self,
        settings: Settings,
        stop: Stop,
        emitter: Emitter,
        started: float | None = None,
        source: credentials.Source = credentials.NO_SOURCE,
    ) -> None:
        self.settings, self.stop, self.emitter = settings, stop, emitter
        self.credentials = source  # the password of each connection attempt (core/credentials.py)
        self.connection: Any = None
        self.locked_by: int | None = None
        # run.finished's duration counts from here: the process's start (__main__.py), given by cli.main
        self.started = time.monotonic() if started is None else started
        self.fingerprint: str | None = None  # of the revision files, once the light stage has hashed them
        self.sources: dict[str, bytes] = {}  # the files' bytes it hashed, by absolute path (core/checksums.Sources)

    def connect(self) -> Any:
        """The open connection, opened now (waiting for the database) if there is none yet."""
        if self.connection is None or self.connection.closed:
            url = urls.parse(self.settings.database_url)
            fresh = self.credentials.for_attempt if self.credentials.changes else None
            self.connection = pg.connect(url, self.settings.wait_timeout, self.stop, self.emitter, fresh)
            self.locked_by = None
        return self.connection

    def close(self) -> None:
        if self.connection is not None and not self.connection.closed:
            self.connection.close()
        self.connection, self.locked_by = None, None
