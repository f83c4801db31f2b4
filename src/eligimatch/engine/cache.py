"""Compiled rule files cached on disk, keyed by the file's bytes and the engine that compiled them.

Compiling a rule file (parse, validate, type-check, build its nodes) costs milliseconds; a
catalogue of a thousand trials would take seconds at every start.  :func:`cached` keeps each
compiled :class:`~.compile.Trial` as a pickle in the user's cache directory
(``$ELIGIMATCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/eligimatch/compiled``, else
``~/.cache/eligimatch/compiled``) under the SHA-256 of

* the rule file's bytes and those of the shared value sets it was compiled with, and
* the engine's fingerprint: where the package is, the Python version, and the name, size and
  modification time of every source and data file of the package (a changed analyte table, unit
  spelling or node module is a different engine).

It is only ever a shortcut, never a source of truth: a missing, unreadable, corrupt or foreign
entry (another trial's bytes, another file's hash) is ignored and the file compiled again; a
cache that cannot be written is skipped.  Only a trial that compiled without problems is
stored, so every error is still reported from the rule file itself.  Entries not written for 30
days are removed as others are written.  ``ELIGIMATCH_NO_CACHE=1`` turns the cache off.  The
directory is made private to the user (0700) and not used when other users could write to it
(a pickle runs code when loaded).

Shared catalogue objects (analytes, units, evidence concepts) are stored by name and looked up
again when loaded, so a loaded trial holds the very objects a freshly compiled one would.  A
loaded trial is many small long-lived objects: the cyclic garbage collector is paused while it
is read and then told to leave it alone (:func:`gc.freeze`; reference counting still frees it),
or the collector's passes over an ever larger heap would cost more than the reading.
"""

from __future__ import annotations

import gc
import hashlib
import io
import os
import pickle
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..diskcache import cache_dir, private, prune, store

if TYPE_CHECKING:
    from ..rulesource import SharedSets
    from .compile import Trial

__all__ = ["cache_dir", "cached", "fingerprint"]

_SOURCES = (".py", ".toml", ".json", ".txt", ".yaml")
_FINGERPRINT: list[str] = []


def fingerprint() -> str:
    """The engine's identity: its place, Python's version, and the size and time of every source
    and data file of the package."""
    if not _FINGERPRINT:
        root = Path(__file__).resolve().parents[1]
        h = hashlib.sha256(f"{root}\0{sys.version}\0{pickle.HIGHEST_PROTOCOL}".encode())
        for parts, entry in sorted(_files(str(root), ()), key=lambda found: found[0]):
            try:
                st = entry.stat()
            except OSError:
                continue
            h.update(f"{'/'.join(parts)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        _FINGERPRINT.append(h.hexdigest())
    return _FINGERPRINT[0]


def _files(directory: str, parts: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], os.DirEntry[str]]]:
    """The source and data files under ``directory``: their path's parts and their entry
    (``os.scandir``: a third of the time of ``Path.rglob`` and ``Path.stat``)."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _files(entry.path, (*parts, entry.name))
        elif os.path.splitext(entry.name)[1] in _SOURCES:
            yield (*parts, entry.name), entry


def cached(
    data: bytes,
    source: str,
    shared: SharedSets | None,
    compile_bytes: Callable[[bytes, str, SharedSets | None], Trial],
) -> Trial:
    """The trial compiled from ``data`` (named ``source``, with the shared value sets
    ``shared``): from the cache when it holds it, else compiled by ``compile_bytes`` and
    stored."""
    directory = cache_dir()
    if directory is None:
        return compile_bytes(data, source, shared)
    digest = hashlib.sha256(data).hexdigest()
    sets = shared.sha256 if shared is not None else "none"
    key = hashlib.sha256(f"{fingerprint()}\0{digest}\0{sets}".encode()).hexdigest()
    entry = directory / key[:2] / f"{key}.pickle"
    trial = _read(entry, digest)
    if trial is not None:
        return _named(trial, source)
    trial = compile_bytes(data, source, shared)
    _write(directory, entry, trial)
    return trial


def _named(trial: Trial, source: str) -> Trial:
    if trial.path == source:
        return trial
    from dataclasses import replace

    return replace(trial, path=source)


def _read(entry: Path, digest: str) -> Trial | None:
    from .compile import Trial

    try:
        blob = entry.read_bytes()
    except OSError:
        return None
    if not private(entry.parent) or not private(entry.parent.parent):
        return None
    paused = gc.isenabled()
    gc.disable()  # many small objects, none of them garbage: no collection passes
    try:
        trial = pickle.loads(blob)
    except Exception:  # corrupt, truncated, from an incompatible engine: compile instead
        return None
    finally:
        gc.freeze()  # and none to scan again: a loaded trial lives as long as the process
        if paused:
            gc.enable()
    if not isinstance(trial, Trial) or trial.sha256 != digest:
        return None
    return trial


def _write(directory: Path, entry: Path, trial: Trial) -> None:
    try:
        blob = _dumps(trial)
    except Exception:  # a node that does not pickle: that trial is compiled every time
        return
    if store(directory, entry, blob):
        prune(entry.parent)


# ---------------------------------------------------------------------------- pickling


def _analyte(key: str) -> Any:
    from ..units import analytes

    return analytes()[key]


def _unit(text: str) -> Any:
    from ..units import parse_unit

    return parse_unit(text)


def _concept(key: str) -> Any:
    from ..evidence import concepts

    return concepts()[key]


class _Pickler(pickle.Pickler):
    """Catalogue objects by name; everything else as pickle does it."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        from ..evidence import Concept, concepts
        from ..units import Analyte, UnitSpec, analytes, parse_unit

        def analyte(a: Any) -> tuple[Callable[[str], Any], str] | None:
            key: str = a.key
            return (_analyte, key) if analytes().get(key) is a else None

        def unit(u: Any) -> tuple[Callable[[str], Any], str] | None:
            return (_unit, u.text) if _same_unit(parse_unit, u) else None

        def concept(c: Any) -> tuple[Callable[[str], Any], str] | None:
            return (_concept, c.key) if concepts().get(c.key) == c else None

        self._named: dict[type, Callable[[Any], tuple[Callable[[str], Any], str] | None]] = {
            Analyte: analyte,
            UnitSpec: unit,
            Concept: concept,
        }

    def reducer_override(self, obj: Any) -> Any:
        by_name = self._named.get(type(obj))
        got = None if by_name is None else by_name(obj)
        return NotImplemented if got is None else (got[0], (got[1],))


def _same_unit(parse: Callable[[str], Any], unit: Any) -> bool:
    try:
        return bool(parse(unit.text) == unit)
    except ValueError:  # a unit read otherwise: stored as it is
        return False


def _dumps(trial: Trial) -> bytes:
    out = io.BytesIO()
    _Pickler(out).dump(trial)
    return out.getvalue()
