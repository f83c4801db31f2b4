"""Output that is complete or absent, and text that cannot forge lines.

* :class:`AtomicFile`: a file is written to a temporary sibling (``.NAME.XXXX.part`` in the
  target's directory) and renamed over the target only by :meth:`AtomicFile.commit`; on an
  error or an interrupt it is removed, so the target holds either the previous complete file or
  nothing.  Opening one checks at once that the directory exists and is writable, so a run does
  not find out at its end.  A target that is a device or a pipe (``/dev/stdout``, ``/dev/null``)
  is written directly: there is nothing to rename.
* :func:`emit` writes to standard output and turns every failure (closed, full, broken pipe)
  into an :class:`~eligimatch.errors.OutputError`; afterwards standard output points at
  ``/dev/null``, so the interpreter's final flush cannot print a second error.
* :func:`printable`: a value as one line of text, control characters escaped.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, TextIO

from .errors import OutputError, one_line

__all__ = [
    "AtomicFile",
    "discarded",
    "emit",
    "printable",
    "require_stdout",
    "reset",
    "write_file",
    "write_to",
]

STDOUT = "standard output"
_DISCARDED: list[tuple[int, str]] = []  # (opened as, target) not written: the run failed
_OPENED = [0]


printable = one_line  # a value as one line of text (see eligimatch.errors.one_line)


def reset() -> None:
    """Forget the targets given up so far (a new command starts)."""
    _DISCARDED.clear()


def discarded() -> list[str]:
    """The targets a failed or interrupted run did not write (in the order given up)."""
    return [name for _, name in sorted(_DISCARDED)]


def _reason(exc: OSError) -> str:
    return f"cannot write: {exc.strerror or exc}"


# ---------------------------------------------------------------------------- standard output


def require_stdout() -> TextIO:
    """Standard output, or :class:`OutputError` when it is closed (``>&-``)."""
    out = sys.stdout
    if out is None or getattr(out, "closed", False):
        raise OutputError(STDOUT, "closed, so nothing could be written")
    return out


def _silence(stream: IO[str]) -> None:
    """Point the stream's descriptor at /dev/null, dropping what it still buffers."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def write_to(stream: TextIO, text: str, target: str = STDOUT) -> None:
    try:
        stream.write(text)
        stream.flush()
    except OSError as exc:
        if target == STDOUT:
            _silence(stream)
        raise OutputError(target, _reason(exc)) from None
    except ValueError:  # written after close
        raise OutputError(target, "closed, so nothing could be written") from None


def emit(text: str) -> None:
    """``text`` and a newline on standard output, flushed."""
    write_to(require_stdout(), text + "\n")


# ---------------------------------------------------------------------------- files


def _mode_for(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        mask = os.umask(0o022)
        os.umask(mask)
        return 0o666 & ~mask


class AtomicFile:
    """A text file that appears at ``target`` complete, or not at all (see the module)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.name = str(target)
        _OPENED[0] += 1
        self.number = _OPENED[0]
        self.temp: Path | None = None
        self.finished = False  # written out and closed
        self.done = False  # in place, or given up
        try:
            st = target.stat()
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise OutputError(self.name, _reason(exc)) from None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise OutputError(self.name, "cannot write: is a directory")
        if st is not None and not stat.S_ISREG(st.st_mode):  # a device or a pipe
            try:
                self.stream: TextIO = open(target, "w", encoding="utf-8", newline="")  # noqa: SIM115
            except OSError as exc:
                raise OutputError(self.name, _reason(exc)) from None
            return
        parent = target.parent
        if not parent.is_dir():
            raise OutputError(self.name, f"cannot write: no such directory {str(parent)!r}")
        try:
            fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=parent)
        except OSError as exc:
            raise OutputError(self.name, _reason(exc)) from None
        self.temp = Path(temp)
        with contextlib.suppress(OSError):
            os.fchmod(fd, _mode_for(target))
        self.stream = open(fd, "w", encoding="utf-8", newline="")  # noqa: SIM115

    def write(self, text: str) -> None:
        try:
            self.stream.write(text)
        except OSError as exc:
            raise OutputError(self.name, _reason(exc)) from None

    def finish(self) -> None:
        """Write out and close the file (not yet in place); raise :class:`OutputError` when
        that fails (a full disk), the target left as it was."""
        if self.finished or self.done:
            return
        try:
            self.stream.flush()
            if self.temp is not None:
                os.fsync(self.stream.fileno())
            self.stream.close()
        except OSError as exc:
            self.discard()
            raise OutputError(self.name, _reason(exc)) from None
        self.finished = True

    def commit(self) -> None:
        """:meth:`finish` the file and move it into place."""
        self.finish()
        if self.done:
            return
        if self.temp is not None:
            try:
                os.replace(self.temp, self.target)
            except OSError as exc:
                self.discard()
                raise OutputError(self.name, _reason(exc)) from None
        self.done = True

    def discard(self) -> None:
        """Remove the unfinished file (the target is left as it was)."""
        if self.done:
            return
        self.done = True
        with contextlib.suppress(OSError, ValueError):
            self.stream.close()
        if self.temp is not None:
            with contextlib.suppress(OSError):
                self.temp.unlink()
            _DISCARDED.append((self.number, self.name))

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.done:  # left without commit(): an error or an interrupt
            self.discard()


def write_file(target: Path, text: str) -> None:
    """Write ``text`` (and a newline) to ``target`` atomically."""
    with AtomicFile(target) as f:
        f.write(text + "\n")
        f.commit()
