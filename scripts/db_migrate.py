#!/usr/bin/env python3
"""The team's migration guide entry point, kept as an alias of the `migrator` CLI.

python scripts/db_migrate.py upgrade | current | downgrade | history | stamp REV | create "message"
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from migrator.__main__ import run  # the same entry as `migrator`: the run's clock starts there

if __name__ == "__main__":
    run()
