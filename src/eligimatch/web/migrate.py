"""Create or upgrade the store's schema with Alembic (the scripts ship in ``migrations/``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

__all__ = ["upgrade"]

SCRIPTS = Path(__file__).with_name("migrations")


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (creates it on first start)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
