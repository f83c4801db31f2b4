"""The project's errors.

One root, :class:`EligimatchError`; every subclass also derives from the matching builtin so
callers can catch ``ValueError`` as usual.  Each error keeps structured attributes (the file, the
field, the unit, the criterion) and builds its one-line message from them, so the CLI can print
``str(error)`` and nothing else.

Every error pickles (a batch worker's error reaches the parent as itself, not as a broken
process pool): the root's ``__reduce__`` rebuilds an error from its message and attributes
without calling ``__init__``, so a subclass needs nothing of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self


def one_line(text: str) -> str:
    """``text`` with every non-printable character (newline, tab, escape, bidi controls...)
    written as a Python escape, so that it stays one line and cannot recolour a terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _rebuilt(cls: type[BaseException], args: tuple[Any, ...]) -> BaseException:
    """An exception of ``cls`` with ``args`` (its message), ``__init__`` not called: unpickling
    then restores its attributes."""
    error = cls.__new__(cls)
    error.args = args
    return error


class _Picklable(BaseException):
    """Pickles by message and attributes, whatever ``__init__`` takes (the default pickling
    calls ``cls(*args)``, which fails for an ``__init__`` that builds its message)."""

    def __reduce__(self) -> tuple[Any, tuple[type[Self], tuple[Any, ...]], dict[str, Any]]:
        return _rebuilt, (type(self), self.args), dict(self.__dict__)


class Problems(list[tuple[str, str]]):
    """Every problem found in one input, each as ``(field, message)``, collected to be raised
    together (an :class:`InputError` takes them)."""

    def add(self, where: str, message: str) -> None:
        self.append((where, message))


class EligimatchError(_Picklable, Exception):
    """Root of every error this package raises on purpose."""


class UnitError(EligimatchError, ValueError):
    """A unit string that cannot be read, or a unit of the wrong dimension."""

    def __init__(self, unit: str, reason: str, *, quantity: str | None = None) -> None:
        self.unit = unit
        self.reason = reason
        self.quantity = quantity
        super().__init__(self._message())

    def _message(self) -> str:
        what = f" for {self.quantity}" if self.quantity else ""
        return f"unit {self.unit!r}{what}: {self.reason}"


class DurationError(EligimatchError, ValueError):
    """An ISO 8601 duration that cannot be read."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"duration {text!r}: {reason}")


class InputError(EligimatchError, ValueError):
    """Unreadable or impossible input in a named file.

    ``problems`` holds every problem found, each as ``(field, message)``; the message lists them
    all on one line.
    """

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [f"{field}: {msg}" if field else msg for field, msg in self.problems]
        return one_line(f"{self.source}: " + "; ".join(parts))

    def lines(self) -> list[str]:
        """One line per problem, each naming the source (for a report of many problems)."""
        return [
            one_line(f"{self.source}: {field}: {msg}" if field else f"{self.source}: {msg}")
            for field, msg in self.problems
        ]


class PatientError(InputError):
    """A patient file that is not valid JSON, does not fit the schema, or holds impossible data."""


class RuleFileError(InputError):
    """A rule file that cannot be loaded: syntax, schema, unknown symbols, units or examples."""


class UnknownTrialError(EligimatchError, LookupError):
    """A trial id that no loaded rule file defines."""

    def __init__(self, trial_id: str, known: Sequence[str], suggestion: str | None) -> None:
        self.trial_id = trial_id
        self.known = tuple(known)
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        super().__init__(f"unknown trial {trial_id!r}{hint} (known: {', '.join(self.known) or 'none'})")


class ConfigError(EligimatchError, ValueError):
    """A setting (an environment variable) with a value eligimatch cannot use."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


class OutputError(EligimatchError):
    """Output that cannot be written: a missing directory, a full disk, a closed or broken
    standard output.  ``target`` is the file (or ``standard output``)."""

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"{target}: {reason}")


class Interrupted(_Picklable):
    """SIGTERM (or SIGINT) arrived: unwind, removing unfinished output, and exit 128 + signal.

    A ``BaseException`` like ``KeyboardInterrupt``, so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int, name: str) -> None:
        self.signum = signum
        self.name = name
        super().__init__(name)
