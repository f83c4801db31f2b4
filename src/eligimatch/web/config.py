"""Settings of one server process, and the user list for sign-in."""

from __future__ import annotations

import getpass
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from ..errors import EligimatchError

__all__ = ["ConfigError", "Settings", "load_users"]

AuthMode = Literal["local", "password", "proxy"]


class ConfigError(EligimatchError, ValueError):
    """A bad server setting (reported as one line, like every input error)."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Settings:
    """What a server needs: where the store is, which rules, who may sign in.

    ``auth``: ``local`` (no sign-in; only on a loopback address; actions are recorded under
    ``local_user``), ``password`` (the users of ``users``, argon2 hashes) or ``proxy`` (a trusted
    reverse proxy on the same host sets ``proxy_header`` to the signed-in user's name).
    """

    database_url: str = "sqlite:///eligimatch.db"
    rules_dir: Path | None = None
    auth: AuthMode = "local"
    users: dict[str, str] = field(default_factory=dict)  # name → argon2 hash
    proxy_header: str | None = None
    local_user: str = field(default_factory=lambda: _login_name())
    allowed_hosts: list[str] | None = None  # Host header check (None: off)
    public_url: str | None = None  # base of links in CDS cards
    cds_max_unknown: int = 3  # cards for undetermined trials: open items
    session_hours: int = 12
    now: Callable[[], datetime] = _now  # the clock (tests set it)

    def today(self) -> date:
        return self.now().date()


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # pragma: no cover - no login name in this environment
        return "local user"


def load_users(path: Path) -> dict[str, str]:
    """Read a user list: a TOML file with one table per user holding an argon2 hash::

        [users.rivera]
        password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."

    Make a hash with ``python -m eligimatch.web.security hash-password``.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the user list: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a TOML user list: {exc}") from exc
    users = raw.get("users")
    if not isinstance(users, dict) or not users:
        raise ConfigError(f"{path}: no [users.NAME] tables")
    out: dict[str, str] = {}
    for name, entry in users.items():
        h = entry.get("password_hash") if isinstance(entry, dict) else None
        if not isinstance(h, str) or not h.startswith("$argon2"):
            raise ConfigError(
                f"{path}: users.{name}.password_hash: expected an argon2 hash "
                "(python -m eligimatch.web.security hash-password)"
            )
        out[str(name)] = h
    return out
