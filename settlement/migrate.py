"""Schema upgrades with Alembic, from a source checkout or an installed wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine as SAEngine

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in migrations/versions. Every command checks the database against it with one
# query, without importing Alembic (a quarter of a second); tests/test_migrations.py asserts that
# it is Alembic's own head, so a new revision cannot be forgotten here.
HEAD = "0012"


def migrations_dir() -> Path:
    """`migrations/` beside the package in a checkout; `settlement/migrations` in a wheel."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "migrations"
    if (checkout / "env.py").exists():
        return checkout
    return Path(str(resources.files("settlement") / "migrations"))


def alembic_config(engine: SAEngine) -> "Config":
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: SAEngine) -> None:
    from alembic import command
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def alembic_head(engine: SAEngine) -> str | None:
    """The head revision as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: SAEngine) -> str | None:
    """The database's revision; None when it has no schema (or no readable alembic_version)."""
    with engine.connect() as conn:
        try:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        except Exception:  # noqa: BLE001 - no table: no schema yet
            return None
    return rows[0][0] if len(rows) == 1 else None


def is_current(engine: SAEngine) -> bool:
    return current_revision(engine) == HEAD
