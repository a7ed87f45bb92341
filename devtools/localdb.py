"""`make db` / `make db-stop`: a local PostgreSQL for development that stays up between commands.

The embedded server of the tests and the demo (devtools/embedded_pg.py, from the pgserver package),
with its data in .localdb/ (git-ignored) and a fixed port, so its DATABASE_URL stays the same.
"""

from __future__ import annotations

import sys
from pathlib import Path

from devtools.embedded_pg import EmbeddedPostgres

REPO = Path(__file__).resolve().parent.parent
HOME = REPO / ".localdb"
PORT = 54329
DATABASE = "travelpacker"


def server() -> EmbeddedPostgres:
    return EmbeddedPostgres(base_dir=HOME, port=PORT)


def start() -> int:
    pg = server()
    if not pg.data_dir.exists():
        pg.init()
    if not pg.is_ready():
        pg.start()
        if pg.psql(f"select count(*) from pg_database where datname = '{DATABASE}'").strip() != "1":
            pg.psql(f"create database {DATABASE}")
    url = pg.url(DATABASE)
    print(f"PostgreSQL is up on 127.0.0.1:{PORT} (data in {HOME}); stop it with `make db-stop`.")
    print("Point migrator at it (and activate the venv so `migrator` is on PATH):\n")
    print(f"  export DATABASE_URL='{url}'")
    print("  . .venv/bin/activate\n  migrator status")
    return 0


def stop() -> int:
    pg = server()
    if pg.data_dir.exists() and pg.is_ready():
        pg.stop()
        print("PostgreSQL stopped; its data stays in .localdb/ (`rm -rf .localdb` to forget it).")
    else:
        print("no local PostgreSQL is running")
    return 0


if __name__ == "__main__":
    sys.exit({"start": start, "stop": stop}[sys.argv[1] if len(sys.argv) > 1 else "start"]())
