"""What the commands share: the app, the common options, reading profiles and rules, notices on
stderr, and output files written only when everything succeeded."""

from __future__ import annotations

import contextlib
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ..engine import RuleSet

app = typer.Typer(
    name="eligimatch",
    help="Screen patients against clinical-trial eligibility criteria: every criterion "
    "pass / fail / unknown, with the values compared after unit conversion.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Format(StrEnum):
    text = "text"
    json = "json"


class UserError(Exception):
    """A bad option value (reported like every other input error)."""


AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Evaluation date YYYY-MM-DD (default: the patient file's as_of)."),
]
RulesOpt = Annotated[
    Path | None, typer.Option("--rules", help="Directory of rule files (default: eligimatch's own rules).")
]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]


def as_of_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--as-of: {text!r} is not a date (expected YYYY-MM-DD)") from None


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("eligimatch")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def rules(directory: Path | None) -> RuleSet:
    from ..engine import load_rules

    return load_rules(directory)


def drafts_of(trials: Any) -> dict[str, frozenset[str]]:
    """trial id → its criteria still marked draft (marked in every output)."""
    from ..draft.mark import draft_ids

    return draft_ids(trials)


def screen_all(patients: list[Path], as_of: str | None, rules_dir: Path | None) -> Any:
    from .. import api

    when = as_of_date(as_of)
    ruleset = rules(rules_dir)
    out = []
    for path in patients:
        patient = read(path, when)
        facts, results = api.screen(patient, ruleset, when, str(path))
        out.append((path, facts, results))
    return ruleset, out


def note(line: str) -> None:
    """A notice on stderr, one line whatever the text holds."""
    from ..safeio import printable

    err = sys.stderr
    if err is not None:
        with contextlib.suppress(OSError, ValueError):
            err.write(f"eligimatch: {printable(line)}\n")
            err.flush()


def read(path: Path, as_of: date | None = None) -> Any:
    """Read a profile (or a FHIR bundle, whose unmapped items are listed on stderr); with an
    explicit ``--as-of``, what is later than it is left out and listed (see ``api``)."""
    from .. import api

    notes: list[str] = []
    patient = api.read_patient(path, notes=notes, as_of=as_of)
    for line in notes:
        note(line)
    return patient


OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")]


class Outputs(contextlib.ExitStack):
    """The files a command writes, opened (and so checked) before any work; each is renamed
    into place only when everything succeeded, and removed otherwise (see safeio)."""

    def __init__(self, *paths: Path | None) -> None:
        from .. import safeio

        super().__init__()
        if None in paths:
            safeio.require_stdout()
        self.files: dict[Path, Any] = {}
        given = [p for p in paths if p is not None]
        if len({p.resolve() for p in given}) != len(given):
            raise UserError(f"{given[-1]}: the same file is given for two outputs")
        try:
            for p in given:
                self.files[p] = self.enter_context(safeio.AtomicFile(p))
        except BaseException:
            self.close()
            raise

    def write(self, path: Path | None, text: str) -> None:
        from .. import safeio

        if path is None:
            safeio.emit(text)
        else:
            self.files[path].write(text + "\n")

    def commit(self) -> None:
        for f in self.files.values():  # all complete before any replaces its target
            f.finish()
        for f in self.files.values():
            f.commit()
