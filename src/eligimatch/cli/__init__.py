"""The ``eligimatch`` command line (typer).  Thin: parse arguments, call the library, render.

Exit codes: 0 success; 1 ``check`` found problems; 2 bad input (unreadable or invalid patient,
unknown unit, broken rule file, unknown trial, bad option or usage) or output that cannot be
written (closed or broken standard output, a full disk), reported as one line on stderr; 130 /
143 after SIGINT / SIGTERM.  Files named by options are written atomically (see
:mod:`eligimatch.safeio`).
Heavy libraries (pint, pydantic models, rule-engine) are imported inside the commands so that
``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from typing import Any, NoReturn

from .common import UserError, app

# each module registers its commands, in the order --help lists them
for _module in ("screening", "rulework", "exchange"):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["app", "main"]


def _click_errors() -> tuple[type[Exception], type[Exception]]:
    """click's exception base and its "no arguments: show the help" error: typer's vendored
    click (typer >= 0.18), else the click package."""
    try:
        mod: Any = importlib.import_module("typer._click.exceptions")
    except ImportError:  # pragma: no cover - typer < 0.18
        mod = importlib.import_module("click.exceptions")

    class NeverRaised(Exception):
        pass

    return mod.ClickException, getattr(mod, "NoArgsIsHelpError", NeverRaised)


def _fail(message: str, code: int) -> NoReturn:
    """One line on stderr (naming the output a failed run did not write), then exit."""
    from ..safeio import discarded, printable

    gone = discarded()
    if gone:
        message += f"; not written: {', '.join(gone)} (an earlier file there is left as it was)"
    err = sys.stderr
    if err is not None:
        with contextlib.suppress(OSError, ValueError):
            err.write(f"eligimatch: {printable(message)}\n")
            err.flush()
    sys.exit(code)


def _on_signal(signum: int, _frame: object) -> None:
    import signal

    from .. import interrupts
    from ..errors import Interrupted

    for s in (signal.SIGINT, signal.SIGTERM):  # one interrupt: let the cleanup finish
        signal.signal(s, signal.SIG_IGN)
    name = signal.Signals(signum).name
    interrupts.record(signum, name)  # in case this exception is raised where Python drops it
    raise Interrupted(signum, name)


def main() -> None:
    """Console-script entry point: user errors (eligimatch's own, click's usage errors, write
    errors) become one line on stderr and exit code 2; SIGINT and SIGTERM end the run with
    128 + the signal number, unfinished output removed, and no traceback."""
    import signal

    from .. import interrupts
    from ..errors import EligimatchError, Interrupted
    from ..safeio import reset

    reset()
    interrupts.clear()
    click_error, no_args = _click_errors()
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    unraisable, sys.unraisablehook = sys.unraisablehook, interrupts.ignored
    try:
        code = app(prog_name="eligimatch", standalone_mode=False)
    except (EligimatchError, UserError) as exc:
        _fail(f"error: {exc}", 2)
    except Interrupted as exc:
        _fail(f"interrupted by {exc.name}", 128 + exc.signum)
    except KeyboardInterrupt:
        _fail("interrupted by SIGINT", 130)
    except click_error as exc:
        if isinstance(exc, no_args):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(2)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _fail(
            f"error: {exc.format_message()}{hint}",  # type: ignore[attr-defined]
            getattr(exc, "exit_code", 2),
        )
    finally:  # as they were (main() also runs in-process, e.g. in the tests)
        for s, handler in previous.items():
            signal.signal(s, handler)
        sys.unraisablehook = unraisable
        interrupts.clear()
    sys.exit(code if isinstance(code, int) else 0)
