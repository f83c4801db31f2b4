"""What a batch reads: the records of a directory of profiles or of a JSON Lines file.

A directory gives its ``*.json`` files in name order; a JSON Lines file (``-``: standard input)
gives one record per line, blank lines skipped, a line over the size limit refused (reported
and skipped, never read into memory whole).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import EligimatchError

__all__ = ["BatchError", "BatchInput", "Record"]


class BatchError(EligimatchError, ValueError):
    """A batch run that cannot start: unreadable input, a missing optional dependency, a
    scheduler that cannot be reached."""


@dataclass(frozen=True, slots=True)
class Record:
    """One profile to screen: where it comes from and, for JSON Lines, its text (or why it
    could not be taken: a line over the size limit)."""

    source: str  # a file name, or file:line
    text: bytes | None = None  # None: read the file named by ``source``
    refused: str | None = None  # the record is reported with this message and skipped


class BatchInput:
    """The records of a directory of ``*.json`` files or of a JSON Lines file, in order.

    ``total`` and ``position`` (files, or bytes of a JSON Lines file; 0 when unknown) let a
    progress display say how far the run is.
    """

    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        from ..jsonin import max_input_bytes

        self.path = path
        self.max_bytes = max_input_bytes() if max_bytes is None else max_bytes
        self.position = 0
        self.total = 0
        self.files: list[str] | None = None  # names only: the listing is sorted, so held
        if str(path) == "-":
            return
        try:
            st = path.stat()
        except FileNotFoundError:
            raise BatchError(f"{path}: no such file or directory") from None
        except OSError as exc:
            raise BatchError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if stat.S_ISDIR(st.st_mode):
            try:
                with os.scandir(path) as entries:
                    self.files = sorted(e.name for e in entries if e.name.endswith(".json") and e.is_file())
            except OSError as exc:
                raise BatchError(f"{path}: cannot read: {exc.strerror or exc}") from None
            if not self.files:
                raise BatchError(f"{path}: no patient profiles (*.json) in this directory")
            self.total = len(self.files)
        elif stat.S_ISREG(st.st_mode):
            self.total = st.st_size

    def __iter__(self) -> Iterator[Record]:
        if self.files is not None:
            for i, name in enumerate(self.files, 1):
                self.position = i
                yield Record(str(self.path / name))
            return
        if str(self.path) == "-":
            yield from self._lines(sys.stdin.buffer, "<stdin>")
            return
        try:
            stream = self.path.open("rb")
        except OSError as exc:
            raise BatchError(f"{self.path}: cannot read: {exc.strerror}") from None
        with stream:
            yield from self._lines(stream, str(self.path))

    def _lines(self, stream: IO[bytes], name: str) -> Iterator[Record]:
        from ..jsonin import too_large

        limit = self.max_bytes
        lineno = 0
        while True:
            try:
                line = stream.readline(limit + 2)  # + room for the line end
            except OSError as exc:
                raise BatchError(f"{name}: cannot read: {exc.strerror or exc}") from None
            if not line:
                return
            lineno += 1
            self.position += len(line)
            if not line.endswith(b"\n") and len(line) > limit:  # skip the rest of it
                while line and not line.endswith(b"\n"):
                    line = stream.readline(1 << 20)
                    self.position += len(line)
                yield Record(f"{name}:{lineno}", refused=too_large(limit))
                continue
            if line.strip():
                yield Record(f"{name}:{lineno}", line.rstrip(b"\r\n"))


def with_text(r: Record) -> Record:
    """A record with its file's text, for workers that may not see the parent's files."""
    if r.text is not None:
        return r
    try:
        return Record(r.source, Path(r.source).read_bytes())
    except OSError:
        return r  # the worker reports it as unreadable
