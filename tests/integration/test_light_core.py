"""The light core imports nothing heavy: a no-op run decides with the standard library and psycopg2."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import migrator.core
from tests.conftest import REPO, clean_env, run
from tests.support.servers import Server

HEAVY = ("sqlalchemy", "alembic", "structlog", "tenacity", "mako")

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
from migrator import cli
code = cli.main({argv!r})
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
print(json.dumps({{"code": code, "heavy": heavy}}))
"""


def probe(argv: list[str], url: str | None, modules: list[str]) -> dict[str, object]:
    env = clean_env(**({"DATABASE_URL": url} if url else {}))
    script = PROBE.format(argv=argv, heavy=HEAVY)
    proc = subprocess.run(
        [sys.executable, "-c", script, *modules], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def core_modules() -> list[str]:
    return [f"migrator.core.{m.name}" for m in pkgutil.iter_modules(migrator.core.__path__)]


def test_importing_every_core_module_loads_nothing_heavy() -> None:
    """core/ is the standard library and psycopg2 only: no SQLAlchemy, Alembic, structlog, tenacity, mako."""
    assert probe(["--version"], None, core_modules()) == {"code": 0, "heavy": []}


def test_a_no_op_upgrade_and_check_at_head_load_nothing_heavy(server: Server, database: str) -> None:
    """The runs that happen most (every deploy, every initContainer) never import the engine."""
    url = server.url_for(database)
    assert run(["upgrade"], url).returncode == 0
    for argv in (["upgrade"], ["check"], ["check", "--wait-for-head", "5"]):
        assert probe(argv, url, []) == {"code": 0, "heavy": []}, argv


def test_a_refused_configuration_loads_nothing_heavy() -> None:
    """No database URL, or a malformed one: exit 2 before the engine is ever imported."""
    for argv, url in ((["upgrade"], None), (["check"], None), (["upgrade"], "postgresql://[::1")):
        assert probe(argv, url, []) == {"code": 2, "heavy": []}, (argv, url)
