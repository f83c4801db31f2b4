"""Interrupts that arrived where Python could not raise them.

The command line turns SIGINT and SIGTERM into :class:`~.errors.Interrupted`, raised by the
signal handler wherever the main thread is.  Raised at a moment when Python ignores exceptions
(a finaliser, or a function that runs after a fork, which :mod:`logging` registers), it would be
printed as "Exception ignored" and lost, and the run would go on to its end as if nothing had
been asked.  So the handler also records the signal here; long runs call :func:`check` at safe
points (after each chunk, before output files replace their targets), where the interrupt is
raised again, and :func:`ignored` keeps the lost one from being printed.
"""

from __future__ import annotations

import sys
from typing import Any

from .errors import Interrupted

__all__ = ["check", "clear", "ignored", "record"]

_received: list[tuple[int, str]] = []


def record(signum: int, name: str) -> None:
    """The signal ``signum`` (``name``) arrived."""
    _received.append((signum, name))


def check() -> None:
    """Raise :class:`Interrupted` when a signal arrived (even one whose exception was lost)."""
    if _received:
        raise Interrupted(*_received[0])


def clear() -> None:
    _received.clear()


def ignored(unraisable: Any) -> None:
    """A :data:`sys.unraisablehook`: an :class:`Interrupted` Python could not raise is dropped
    in silence (it was recorded, and :func:`check` raises it); anything else is shown as
    Python shows it."""
    if isinstance(unraisable.exc_value, Interrupted):
        return
    sys.__unraisablehook__(unraisable)
