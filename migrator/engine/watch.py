"""While a migration runs, look at its backend from a second connection (the migrating one is busy).

One thread and one connection for every observer: who blocks the migration (ddl.Blockers) and how
far it is (progress.Heartbeat). The connection is opened only if the migration still runs after
``grace`` seconds, so quick migrations cost nothing, and closed when the migration ends. A watcher
that cannot watch only loses detail: it never ends or fails the run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError

from migrator.engine import logs
from migrator.engine.db import error_text, make_engine

Observer = Callable[[Connection], None]


class Watch:
    def __init__(self, url: URL, observers: Sequence[Observer], interval: float, grace: float) -> None:
        self.url = url
        self.observers = tuple(observers)
        self.interval = interval
        self.grace = grace
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="migrator-watch", daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            self._watch()
        except DBAPIError as exc:
            logs.get().debug("migration.watch_stopped", reason=error_text(exc))
        except Exception as exc:  # noqa: BLE001  (a watcher must never crash the run it watches)
            logs.get().debug("migration.watch_stopped", reason=f"{type(exc).__name__}: {exc}")

    def _watch(self) -> None:
        if self._done.wait(self.grace):
            return
        engine = make_engine(self.url)
        try:
            with engine.connect() as connected:
                conn = connected.execution_options(isolation_level="AUTOCOMMIT")  # no snapshot held between looks
                active = list(self.observers)
                while active and not self._done.is_set():
                    for observe in tuple(active):
                        try:
                            observe(conn)
                        except DBAPIError as exc:  # that one look is lost; the others go on
                            active.remove(observe)
                            logs.get().debug("migration.watch_stopped", observer=_name(observe), reason=error_text(exc))
                    self._done.wait(self.interval)
        finally:
            engine.dispose()


def _name(observer: Observer) -> str:
    return getattr(observer, "__qualname__", type(observer).__name__)
