"""Write a new Alembic revision for a schema change:  python scripts/new_migration.py "what changed"

Upgrades a scratch SQLite database to the latest revision, then lets Alembic compare it with the
tables in src/dashhub/db.py and write the difference as a new file in
src/dashhub/migrations/versions/. Read it before committing: Alembic guesses renames as drop + add,
and data moves are yours to write. Then run the migration tests on both databases:
bash scripts/test.sh tests/integration/test_migrations.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from dashhub.db import make_engine
from dashhub.migrations import alembic_config, head_revision, upgrade

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    if len(sys.argv) != 2 or not sys.argv[1].strip():
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/scratch.db")
        upgrade(engine)
        config = alembic_config(engine)
        # write into the repository, not into an installed copy of the package
        config.set_main_option("script_location", str(ROOT / "src" / "dashhub" / "migrations"))
        number = int(head_revision()) + 1
        command.revision(config, message=sys.argv[1], autogenerate=True, rev_id=f"{number:04d}")
        engine.dispose()


if __name__ == "__main__":
    main()
