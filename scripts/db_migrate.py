#!/usr/bin/env python3
"""The team's migration guide entry point, kept as an alias of the `migrator` CLI.

python scripts/db_migrate.py upgrade | current | downgrade | history | stamp REV | create "message"

Called with a Python that lacks migrator's dependencies (the system's, outside the venv), it runs
itself again with the project's venv, or says how to make one.
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"

sys.path.insert(0, str(REPO))

try:
    import structlog  # noqa: F401  (imported late by the CLI: fail here, with the advice below)

    from migrator.__main__ import run  # the same entry as `migrator`: the run's clock starts there
except ImportError as exc:
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    sys.stderr.write(f"migrator's dependencies are not installed for {sys.executable} ({exc.name} is missing):\n")
    sys.stderr.write("run `make install` in the repository (it creates .venv), then run this script again\n")
    sys.exit(2)

if __name__ == "__main__":
    run()
