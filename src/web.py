"""TravelPacker's web process, reduced to its start-up contract with migrator.

``python -m src.web`` verifies once, before listening, that the schema is at the
migration scripts' head (``init_db()``, which never migrates) and refuses to
start otherwise; then it serves ``GET /healthz`` with the schema revision, checked
again on every request so the endpoint works as a readiness probe.
``--self-test`` starts the same server, asks it for ``/healthz`` over loopback,
prints the answer and exits: a start-up test for CI (``docker compose run --rm web
--self-test``). Standard library only, like the probes that call it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

from src.database import SchemaAheadError, SchemaNotAtHeadError, init_db

EXIT_OK = 0
EXIT_NOT_READY = 1  # schema not at head, or the database cannot be read
EXIT_USAGE = 2  # no database URL, unreadable DATABASE_URL_FILE, port in use

Check = Callable[[], str]


class ConfigError(Exception):
    """The web process cannot find its database URL."""


def database_url(environ: Mapping[str, str]) -> str:
    """DATABASE_URL, else the content of the file named by DATABASE_URL_FILE (as migrator reads them)."""
    url = environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    path = environ.get("DATABASE_URL_FILE", "")
    if not path:
        raise ConfigError("no database URL: set DATABASE_URL or DATABASE_URL_FILE")
    try:
        url = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"DATABASE_URL_FILE={path} cannot be read: {type(exc).__name__}") from None
    if not url:
        raise ConfigError(f"DATABASE_URL_FILE={path} is empty")
    return url


def log(event: str, **fields: Any) -> None:
    """One JSON object per line on stderr, like migrator's own logs."""
    record = {"timestamp": datetime.now(UTC).isoformat(), "event": event, **fields}
    sys.stderr.write(json.dumps(record, default=str) + "\n")
    sys.stderr.flush()


def masked(text: str, url: str) -> str:
    """The text with the URL and every spelling of its password replaced (errors may quote the URL)."""
    secrets = {url}
    with contextlib.suppress(ValueError):
        password = urlsplit(url).password
        if password:
            secrets |= {password, unquote(password)}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def health(check: Check, url: str, serving: bool = False) -> tuple[HTTPStatus, dict[str, str]]:
    """The /healthz answer: 200 with the revision at head, 503 with the reason otherwise.

    ``serving``: a process already running keeps answering 200 when the database moves *ahead* of
    its code (the expand phase of newer code, during a rollout: by design it keeps this code working),
    so the old pods stay in the Service until the new ones are ready. Starting up against a database
    ahead of the code (a rollback) is still refused.
    """
    try:
        return HTTPStatus.OK, {"status": "ok", "revision": check()}
    except SchemaAheadError as exc:
        if serving:
            return HTTPStatus.OK, {"status": "ahead", "revision": ", ".join(exc.current), "note": str(exc)}
        return HTTPStatus.SERVICE_UNAVAILABLE, {"status": "schema_ahead", "error": str(exc)}
    except SchemaNotAtHeadError as exc:
        return HTTPStatus.SERVICE_UNAVAILABLE, {"status": "schema_not_at_head", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001  (a probe answers; it never crashes the server)
        first_line = (str(exc).strip().splitlines() or [""])[0]
        error = f"{type(exc).__name__}: {masked(first_line, url)}"
        return HTTPStatus.SERVICE_UNAVAILABLE, {"status": "database_error", "error": error}


def make_handler(check: Check, url: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "travelpacker-web"

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/healthz":
                self._answer(HTTPStatus.NOT_FOUND, {"status": "not_found"})
                return
            self._answer(*health(check, url, serving=True))

        def _answer(self, status: HTTPStatus, body: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log("http.request", client=self.client_address[0], request=format % args)

    return Handler


def self_test(server: ThreadingHTTPServer) -> int:
    """Ask the running server for /healthz over loopback; print the body; 0 when it is 200."""
    url = f"http://127.0.0.1:{server.server_address[1]}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body, status = response.read().decode(), response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read().decode(), exc.code
    print(body, flush=True)
    return EXIT_OK if status == HTTPStatus.OK else EXIT_NOT_READY


def serve(server: ThreadingHTTPServer) -> int:
    """Serve until SIGTERM or SIGINT, then stop accepting, finish open requests and exit 0."""
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    stopped.wait()
    server.shutdown()
    log("web.stopped")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m src.web", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=None, help="port (env PORT; default 8000)")
    parser.add_argument("--self-test", action="store_true", help="answer one /healthz from itself, print it, exit")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    environ = os.environ if environ is None else environ
    try:
        url = database_url(environ)
        port = args.port if args.port is not None else int(environ.get("PORT") or 8000)
    except (ConfigError, ValueError) as exc:
        log("web.refused", error=str(exc), exit_code=EXIT_USAGE)
        return EXIT_USAGE

    def check() -> str:
        return init_db(url)

    status, body = health(check, url)
    if status != HTTPStatus.OK:
        log("web.refused", **body, exit_code=EXIT_NOT_READY)
        return EXIT_NOT_READY
    try:
        server = ThreadingHTTPServer((args.host, port), make_handler(check, url))
    except OSError as exc:
        log("web.refused", error=f"cannot listen on {args.host}:{port}: {exc.strerror}", exit_code=EXIT_USAGE)
        return EXIT_USAGE
    log("web.started", revision=body["revision"], address=f"{args.host}:{server.server_address[1]}")
    with server:
        if args.self_test:
            thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
            thread.start()
            try:
                return self_test(server)
            finally:
                server.shutdown()
        return serve(server)


if __name__ == "__main__":
    sys.exit(main())
