"""``eligimatch serve``: checks the settings, then runs the application under uvicorn.

Secure defaults: listen on 127.0.0.1; refuse any other address unless sign-in with passwords
is configured (``--users``).  The trusted-proxy mode (``--proxy-header``) is for a reverse
proxy on the same host, so it listens on loopback only.  Uvicorn's access log is off (it would
write URLs); eligimatch logs each request as method, route template, status and time.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

from .config import ConfigError, Settings, load_users

__all__ = ["is_loopback", "make_settings", "serve"]

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_settings(
    *,
    host: str,
    db: str | None,
    rules: Path | None,
    users: Path | None,
    proxy_header: str | None,
    user: str | None,
    public_url: str | None,
) -> Settings:
    if users is not None and proxy_header is not None:
        raise ConfigError("--users and --proxy-header: choose one way of signing in")
    if db is None:
        url = "sqlite:///eligimatch.db"
    elif "://" in db:
        url = db
    else:
        url = f"sqlite:///{Path(db).expanduser().resolve()}"
    s = Settings(database_url=url, rules_dir=rules, public_url=public_url)
    if users is not None:
        s.auth, s.users = "password", load_users(users)
    elif proxy_header is not None:
        if not proxy_header.strip():
            raise ConfigError("--proxy-header: give the header's name, e.g. X-Remote-User")
        s.auth, s.proxy_header = "proxy", proxy_header.strip()
    if user:
        s.local_user = user
    loop = is_loopback(host)
    if not loop and s.auth != "password":
        raise ConfigError(
            f"refusing to listen on {host}: other machines could reach the "
            "patients without signing in; give --users FILE, or listen on "
            "127.0.0.1"
        )
    if s.auth == "proxy" and not loop:  # pragma: no cover - caught above
        raise ConfigError("--proxy-header: listen on 127.0.0.1 behind the proxy")
    if loop:  # a page of another site must not reach this server by DNS rebinding
        s.allowed_hosts = ["127.0.0.1", "localhost", "::1", "[::1]"]
        if host not in s.allowed_hosts:
            s.allowed_hosts.append(host)
    return s


def serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from .app import create_app

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    for name in ("eligimatch.web", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.INFO)
    logging.getLogger("pint").setLevel(logging.ERROR)  # unit redefinitions at start-up
    app = create_app(settings)
    logging.getLogger("eligimatch.web").info(
        "eligimatch serve: http://%s:%d/ (store %s, sign-in: %s)",
        host,
        port,
        _safe_url(settings.database_url),
        settings.auth,
    )
    uvicorn.run(app, host=host, port=port, access_log=False, server_header=False, log_level="info")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
