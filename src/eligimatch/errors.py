"""The project's errors.

One root, :class:`EligimatchError`; every subclass also derives from the matching builtin so
callers can catch ``ValueError`` as usual.  Each error keeps structured attributes (the file, the
field, the unit, the criterion) and builds its one-line message from them, so the CLI can print
``str(error)`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence


class EligimatchError(Exception):
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
        return f"{self.source}: " + "; ".join(parts)


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
        super().__init__(
            f"unknown trial {trial_id!r}{hint} (known: {', '.join(self.known) or 'none'})"
        )
