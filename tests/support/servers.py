"""Where the tests' PostgreSQL comes from: TEST_DATABASE_URL, else Docker, else embedded."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from devtools.embedded_pg import SUPERUSER_PASSWORD, EmbeddedPostgres


@dataclass
class Server:
    kind: str
    admin_url: str

    def url_for(self, database: str) -> str:
        url = make_url(self.admin_url).set(drivername="postgresql", database=database)
        return url.render_as_string(hide_password=False)

    def engine(self, database: str | None = None) -> sa.Engine:
        url = make_url(self.url_for(database) if database else self.admin_url).set(drivername="postgresql+psycopg2")
        return sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")

    def create_database(self, name: str) -> None:
        engine = self.engine()
        with engine.connect() as conn:
            conn.exec_driver_sql(f'create database "{name}"')
        engine.dispose()

    def drop_database(self, name: str) -> None:
        engine = self.engine()
        with engine.connect() as conn:
            conn.exec_driver_sql(f'drop database if exists "{name}" with (force)')
        engine.dispose()


def docker_answers() -> bool:
    """Ping the engine's API over its socket (the SDK leaks sockets when none answers)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return True  # a remote engine was configured on purpose: let testcontainers try it
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(host.removeprefix("unix://"))
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"OK" in sock.recv(4096)
    except OSError:
        return False


@contextlib.contextmanager
def provide() -> Iterator[Server]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield Server("external", external)
        return
    if docker_answers():
        os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
        from testcontainers.community.postgres import PostgresContainer

        # The same password full of URL delimiters as the embedded server, so every
        # leak check in the suite means something whatever the server.
        container: Any = PostgresContainer("postgres:15", password=SUPERUSER_PASSWORD, driver=None)
        with container:
            host, port = container.get_container_host_ip(), container.get_exposed_port(5432)
            url = f"postgresql://{container.username}:{quote(SUPERUSER_PASSWORD, safe='')}@{host}:{port}/postgres"
            yield Server("docker", url)
        return
    embedded = EmbeddedPostgres()
    embedded.init()
    embedded.start()
    try:
        yield Server("embedded", embedded.url())
    finally:
        embedded.destroy()
