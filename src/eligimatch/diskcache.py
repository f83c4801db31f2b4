"""The user's cache directory: where compiled rule files (:mod:`.engine.cache`) and parsed data
tables (:func:`parsed`, :func:`toml_table`) are kept between runs.

``$ELIGIMATCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/eligimatch/compiled``, else
``~/.cache/eligimatch/compiled``; ``ELIGIMATCH_NO_CACHE=1`` turns it off.  Directories are made
private to the user (0700) and not used when another user could write to them.  Entries are
written atomically (a temporary file, then renamed) and those not written for 30 days are
removed as others are written.  The cache is only ever a shortcut: whatever cannot be read or
written is computed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "parsed", "private", "prune", "store", "toml_table"]

KEEP_DAYS = 30
_TABLE_FORMAT = b"toml-json-1\0"


def cache_dir() -> Path | None:
    """Where the cache is kept, or None when it is off (or there is no home directory)."""
    if os.environ.get("ELIGIMATCH_NO_CACHE", "") not in ("", "0"):
        return None
    explicit = os.environ.get("ELIGIMATCH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError, OSError):  # no home directory: no cache
            return None
    return Path(base) / "eligimatch" / "compiled"


def private(directory: Path) -> bool:
    """Is the directory ours and writable by no one else?"""
    try:
        st = directory.stat()
    except OSError:
        return False
    owner = getattr(os, "getuid", None)
    return (owner is None or st.st_uid == owner()) and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def store(directory: Path, entry: Path, blob: bytes) -> bool:
    """Write ``blob`` to ``entry`` (in a folder of ``directory``) atomically, the directories
    private; False when that cannot be done."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        entry.parent.mkdir(exist_ok=True, mode=0o700)
        if not private(directory) or not private(entry.parent):
            return False
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, entry)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return False
    return True


def prune(bucket: Path, pattern: str = "*.pickle") -> None:
    """Entries of ``bucket`` not written for :data:`KEEP_DAYS` days go: an engine or a table
    that changed leaves its old entries behind, and the directory stays small."""
    import time

    too_old = time.time() - KEEP_DAYS * 86400
    for old in bucket.glob(pattern):
        try:
            if old.stat().st_mtime < too_old:
                old.unlink()
        except OSError:
            continue


def toml_table(text: str) -> dict[str, Any]:
    """The TOML document ``text`` (a data table of the package: analytes, unit spellings, drug
    classes, ...) as :mod:`tomllib` parses it, kept in the cache (:func:`parsed`): ``tomllib`` is
    pure Python, ~5 ms for the drug classes against 0.1 ms for their JSON."""
    import tomllib

    table: dict[str, Any] = parsed(text, _TABLE_FORMAT, tomllib.loads, lambda t: isinstance(t, dict))
    return table


def parsed(text: str, kind: bytes, parse: Callable[[str], Any], valid: Callable[[Any], bool]) -> Any:
    """``parse(text)`` for a data file's ``text``, kept as JSON in the cache (``tables/``, under
    the SHA-256 of ``kind`` and the text; ``kind`` names the parser and its version) so that a
    later start reads it in a fraction of the time.

    An entry holds the hash it was stored under and is used only when that matches, what it
    holds is ``valid`` (of the shape ``parse`` gives) and the directories are private; a result
    JSON does not keep exactly (a date, a tuple) is parsed each time."""
    directory = cache_dir()
    if directory is None:
        return parse(text)
    key = hashlib.sha256(kind + text.encode("utf-8")).hexdigest()
    entry = directory / "tables" / f"{key}.json"
    if private(directory) and private(entry.parent):
        try:
            kept = json.loads(entry.read_bytes())
        except (OSError, ValueError):
            kept = None
        if isinstance(kept, dict) and kept.get("sha256") == key and "table" in kept and valid(kept["table"]):
            return kept["table"]
    raw = parse(text)
    try:
        blob = json.dumps({"sha256": key, "table": raw}, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError):  # a date, a time or a non-finite number: not kept
        return raw
    if json.loads(blob)["table"] == raw and store(directory, entry, blob):  # kept exactly as parsed
        prune(entry.parent, "*.json")
    return raw
