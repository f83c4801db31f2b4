"""The ``eligimatch`` command line (typer).  Thin: parse arguments, call the library, render.

Exit codes: 0 success; 1 ``check`` found problems; 2 bad input (unreadable or invalid patient,
unknown unit, broken rule file, unknown trial, bad option), reported as one line on stderr.
Heavy libraries (pint, pydantic models, rule-engine) are imported inside the commands so that
``--help`` stays fast.
"""

from __future__ import annotations

import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from .compile import RuleSet

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


AsOf = Annotated[str | None, typer.Option("--as-of", help="Evaluation date YYYY-MM-DD "
                                          "(default: the patient file's as_of).")]
RulesOpt = Annotated[Path | None, typer.Option("--rules", help="Directory of rule files "
                                               "(default: eligimatch's own rules).")]
FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]


def _as_of(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--as-of: {text!r} is not a date (expected YYYY-MM-DD)") from None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("eligimatch")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def _rules(directory: Path | None) -> RuleSet:
    from .compile import load_rules

    return load_rules(directory)


def _screen_all(patients: list[Path], as_of: str | None, rules: Path | None) -> Any:
    from . import api

    when = _as_of(as_of)
    ruleset = _rules(rules)
    out = []
    for path in patients:
        patient = api.read_patient(path)
        facts, results = api.screen(patient, ruleset, when, str(path))
        out.append((path, facts, results))
    return ruleset, out


@app.command()
def screen(
    patients: Annotated[list[Path], typer.Argument(help="Patient profile JSON file(s).")],
    as_of: AsOf = None,
    rules: RulesOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Screen patients against every trial: eligible, undetermined, ineligible, and why."""
    from . import explain

    ruleset, screened = _screen_all(patients, as_of, rules)
    if fmt is Format.json:
        docs = [explain.document(f.patient_id, str(p), f.as_of, res, ruleset.sha256, _version())
                for p, f, res in screened]
        typer.echo(explain.screen_json(docs))
        return
    typer.echo("\n\n".join(explain.screen_text(f.patient_id, str(p), f.as_of, res)
                           for p, f, res in screened))


@app.command("explain")
def explain_cmd(
    patient: Annotated[Path, typer.Argument(help="Patient profile JSON file.")],
    trial: Annotated[str, typer.Argument(help="Trial id, e.g. NCT07342322.")],
    as_of: AsOf = None,
    rules: RulesOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Every criterion of one trial for one patient: status, source text, explanation."""
    from . import api, explain

    when = _as_of(as_of)
    ruleset = _rules(rules)
    t = ruleset.get(trial)
    p = api.read_patient(patient)
    facts, results = api.screen(p, [t], when, str(patient))
    if fmt is Format.json:
        typer.echo(explain.dumps(explain.document(facts.patient_id, str(patient), facts.as_of,
                                                  results, ruleset.sha256, _version())))
        return
    typer.echo(explain.explain_text(facts.patient_id, facts.as_of, results[0]))


@app.command()
def trials(rules: RulesOpt = None, fmt: FormatOpt = Format.text) -> None:
    """List the trials the rule files encode."""
    from . import explain

    ruleset = _rules(rules)
    if fmt is Format.json:
        typer.echo(explain.trials_json(ruleset.trials, ruleset.sha256))
    else:
        typer.echo(explain.trials_text(ruleset.trials))


@app.command()
def check(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Rule files or directories (default: eligimatch's own rules).")] = None,
) -> None:
    """Check rule files: schema, symbols, types, units, duplicate ids and every example."""
    from .compile import check_rules, default_rules_dir, rule_files

    files: list[Path] = []
    for p in paths or [default_rules_dir()]:
        files.extend(rule_files(p) if p.is_dir() else [p])
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise UserError(f"{missing[0]}: no such rule file")
    problems = check_rules(files)
    if problems:
        typer.echo("\n".join(problems))
        typer.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in "
                   f"{len(files)} rule file{'s' if len(files) != 1 else ''}", err=True)
        raise typer.Exit(1)
    from .compile import load_rule_file

    loaded = [load_rule_file(f) for f in files]
    n_crit = sum(len(t.criteria) for t in loaded)
    n_ex = sum(len(c.spec.examples) for t in loaded for c in t.criteria)
    typer.echo(f"ok: {len(files)} rule file{'s' if len(files) != 1 else ''}, {n_crit} criteria, "
               f"{n_ex} examples pass")


class SchemaKind(StrEnum):
    patient = "patient"
    rules = "rules"


@app.command()
def schema(kind: Annotated[SchemaKind, typer.Argument(help="Which schema.")] = SchemaKind.patient
           ) -> None:
    """Print the JSON Schema of a patient profile (or of a rule file)."""
    import json

    if kind is SchemaKind.patient:
        from .patient import Patient

        doc = Patient.model_json_schema()
    else:
        from .trial import RuleFile

        doc = RuleFile.model_json_schema(by_alias=True)
    typer.echo(json.dumps(doc, indent=2, sort_keys=True))


def main() -> None:
    """Console-script entry point: user errors become one line on stderr and exit code 2."""
    from .errors import EligimatchError

    try:
        app(prog_name="eligimatch")
    except (EligimatchError, UserError) as exc:
        print(f"eligimatch: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
