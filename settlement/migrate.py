"""Schema upgrades with Alembic, from a source checkout or an installed wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine as SAEngine


def migrations_dir() -> Path:
    """`migrations/` beside the package in a checkout; `settlement/migrations` in a wheel."""
    here = Path(__file__).resolve().parent
    checkout = here.parent / "migrations"
    if (checkout / "env.py").exists():
        return checkout
    return Path(str(resources.files("settlement") / "migrations"))


def alembic_config(engine: SAEngine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: SAEngine) -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def is_current(engine: SAEngine) -> bool:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head
