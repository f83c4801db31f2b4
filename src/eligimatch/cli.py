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
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from .engine import RuleSet

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
    from .engine import load_rules

    return load_rules(directory)


def _drafts(trials: Any) -> dict[str, frozenset[str]]:
    """trial id → its criteria still marked draft (marked in every output)."""
    from .draft.mark import draft_ids

    return draft_ids(trials)


def _screen_all(patients: list[Path], as_of: str | None, rules: Path | None) -> Any:
    from . import api

    when = _as_of(as_of)
    ruleset = _rules(rules)
    out = []
    for path in patients:
        patient = _read(path, when)
        facts, results = api.screen(patient, ruleset, when, str(path))
        out.append((path, facts, results))
    return ruleset, out


def _note(line: str) -> None:
    """A notice on stderr, one line whatever the text holds."""
    from .safeio import printable

    err = sys.stderr
    if err is not None:
        with contextlib.suppress(OSError, ValueError):
            err.write(f"eligimatch: {printable(line)}\n")
            err.flush()


def _read(path: Path, as_of: date | None = None) -> Any:
    """Read a profile (or a FHIR bundle, whose unmapped items are listed on stderr); with an
    explicit ``--as-of``, what is later than it is left out and listed (see ``api``)."""
    from . import api

    notes: list[str] = []
    patient = api.read_patient(path, notes=notes, as_of=as_of)
    for line in notes:
        _note(line)
    return patient


@app.command()
def screen(
    patients: Annotated[list[Path], typer.Argument(
        help="Patient profile JSON file(s) or FHIR R4 Bundle(s).")],
    as_of: AsOf = None,
    rules: RulesOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Screen patients against every trial: eligible, undetermined, ineligible, and why."""
    from . import explain, safeio

    safeio.require_stdout()
    ruleset, screened = _screen_all(patients, as_of, rules)
    drafts = _drafts(ruleset.trials)
    if fmt is Format.json:
        docs = [explain.document(f.patient_id, str(p), f.as_of, res, ruleset.sha256, _version(),
                                 drafts=drafts)
                for p, f, res in screened]
        safeio.emit(explain.screen_json(docs))
        return
    safeio.emit("\n\n".join(explain.screen_text(f.patient_id, str(p), f.as_of, res,
                                                drafts=drafts)
                            for p, f, res in screened))


@app.command("explain")
def explain_cmd(
    patient: Annotated[Path, typer.Argument(
        help="Patient profile JSON file or FHIR R4 Bundle.")],
    trial: Annotated[str, typer.Argument(help="Trial id, e.g. NCT07342322.")],
    as_of: AsOf = None,
    rules: RulesOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Every criterion of one trial for one patient: status, source text, explanation."""
    from . import api, explain, safeio

    safeio.require_stdout()
    when = _as_of(as_of)
    ruleset = _rules(rules)
    t = ruleset.get(trial)
    p = _read(patient, when)
    facts, results = api.screen(p, ruleset, when, str(patient), only=[t])
    drafts = _drafts([t])
    if fmt is Format.json:
        safeio.emit(explain.dumps(explain.document(facts.patient_id, str(patient), facts.as_of,
                                                   results, ruleset.sha256, _version(),
                                                   drafts=drafts)))
        return
    safeio.emit(explain.explain_text(facts.patient_id, facts.as_of, results[0], drafts=drafts))


@app.command()
def trials(rules: RulesOpt = None, fmt: FormatOpt = Format.text) -> None:
    """List the trials the rule files encode."""
    from . import explain, safeio

    safeio.require_stdout()
    ruleset = _rules(rules)
    if fmt is Format.json:
        safeio.emit(explain.trials_json(ruleset.trials, ruleset.sha256))
    else:
        safeio.emit(explain.trials_text(ruleset.trials))


@app.command()
def check(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Rule files or directories (default: eligimatch's own rules).")] = None,
) -> None:
    """Check rule files: schema, symbols, types, units, duplicate ids, every example, and the
    layout ``eligimatch fmt`` writes."""
    from . import safeio
    from .engine import check_rules, default_rules_dir, rule_files

    safeio.require_stdout()
    files: list[Path] = []
    for p in paths or [default_rules_dir()]:
        files.extend(rule_files(p) if p.is_dir() else [p])
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise UserError(f"{missing[0]}: no such rule file")
    warnings: list[str] = []
    problems = check_rules(files, warnings, layout=True)
    for line in warnings:
        _note(line)
    if problems:
        safeio.emit("\n".join(safeio.printable(p) for p in problems))
        _note(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in "
                   f"{len(files)} rule file{'s' if len(files) != 1 else ''}")
        raise typer.Exit(1)
    from .engine import load_rule_file

    loaded = [load_rule_file(f) for f in files]
    n_crit = sum(len(t.criteria) for t in loaded)
    n_ex = sum(len(c.spec.examples) for t in loaded for c in t.criteria)
    n_draft = sum(c.spec.draft is not None for t in loaded for c in t.criteria)
    drafted = f" ({n_draft} draft criteria: warnings)" if n_draft else ""
    safeio.emit(f"ok: {len(files)} rule file{'s' if len(files) != 1 else ''}, {n_crit} criteria, "
               f"{n_ex} examples pass{drafted}")


@app.command("fmt")
def fmt_cmd(
    paths: Annotated[list[Path], typer.Argument(
        help="Rule files or directories of them (with their shared/ value sets).")],
    check_only: Annotated[bool, typer.Option("--check", help="Write nothing: list the files "
                                             "not in the canonical layout and exit 1 if any.")] = False,
) -> None:
    """Rewrite rule files in the one canonical layout (comments kept, values unchanged)."""
    from . import safeio
    from .rulefmt import reformat, rule_sources

    safeio.require_stdout()
    files = rule_sources(paths)
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise UserError(f"{missing[0]}: no such rule file")
    changed = reformat(files)
    if check_only:
        if changed:
            safeio.emit("\n".join(f"{safeio.printable(str(p))}: not in the canonical layout"
                                  for p, _ in changed))
            _note(f"{len(changed)} of {len(files)} file{'s' if len(files) != 1 else ''} "
                  "would be reformatted")
            raise typer.Exit(1)
        return
    for path, text in changed:
        with safeio.AtomicFile(path) as f:
            f.write(text)
            f.commit()
        safeio.emit(f"reformatted {safeio.printable(str(path))}")


@app.command()
def draft(
    record: Annotated[Path, typer.Argument(
        help="A ClinicalTrials.gov API v2 study (JSON) or a registry page's plain text.")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the drafted rule file here instead of stdout.")] = None,
    trial_id: Annotated[str | None, typer.Option(
        "--id", help="Trial id (default: the record's NCT id, else one made from the file name).")
    ] = None,
) -> None:
    """Draft a rule file from a registry record: every inclusion and exclusion item with its
    verbatim text, typed where a recogniser accounts for the whole item, review otherwise; every
    criterion marked draft.  Check it with 'eligimatch check'."""
    from .draft import draft_file
    from .rulefmt import format_text

    with _Outputs(output) as out:
        result = draft_file(record, trial_id)
        out.write(output, format_text(result.text).rstrip("\n"))   # the layout `fmt` writes
        out.commit()
    typed, total = result.share()
    _note(f"drafted {total} criteria from {record}: {typed} typed, {total - typed} to review; "
          "all marked draft")


class SchemaKind(StrEnum):
    patient = "patient"
    rules = "rules"


@app.command()
def schema(kind: Annotated[SchemaKind, typer.Argument(help="Which schema.")] = SchemaKind.patient
           ) -> None:
    """Print the JSON Schema of a patient profile (or of a rule file)."""
    import json

    from . import safeio

    safeio.require_stdout()
    if kind is SchemaKind.patient:
        from .patient import Patient

        doc = Patient.model_json_schema()
    else:
        from .rulefile import RuleFile

        doc = RuleFile.model_json_schema(by_alias=True)
    safeio.emit(json.dumps(doc, indent=2, sort_keys=True))


OutputOpt = Annotated[Path | None, typer.Option("--output", "-o",
                                                 help="Write here instead of stdout.")]


class _Outputs(contextlib.ExitStack):
    """The files a command writes, opened (and so checked) before any work; each is renamed
    into place only when everything succeeded, and removed otherwise (see safeio)."""

    def __init__(self, *paths: Path | None) -> None:
        from . import safeio

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
        from . import safeio

        if path is None:
            safeio.emit(text)
        else:
            self.files[path].write(text + "\n")

    def commit(self) -> None:
        for f in self.files.values():   # all complete before any replaces its target
            f.finish()
        for f in self.files.values():
            f.commit()


@app.command("import-fhir")
def import_fhir(
    bundle: Annotated[Path, typer.Argument(help="FHIR R4 Bundle (JSON), e.g. US Core / mCODE.")],
    output: OutputOpt = None,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Also write the import report (unmapped, notes, skipped) as JSON.")
    ] = None,
) -> None:
    """Read a FHIR R4 Bundle into a patient profile; list on stderr what could not be mapped."""
    import json

    from .fhir import profile_json, read_fhir

    with _Outputs(output, report) as out:
        result = read_fhir(bundle)
        out.write(output, profile_json(result.patient))
        if report is not None:
            out.write(report, json.dumps(result.report(), indent=2, ensure_ascii=False))
        out.commit()
    for line in result.warning_lines():
        _note(line)


@app.command("export-fhir")
def export_fhir(
    patient: Annotated[Path, typer.Argument(help="Patient profile JSON file.")],
    output: OutputOpt = None,
) -> None:
    """Write a patient profile as a FHIR R4 Bundle (facts FHIR cannot express travel in an
    eligimatch extension)."""
    import json

    from .fhir import export_bundle

    with _Outputs(output) as out:
        bundle = export_bundle(_read(patient), str(patient))
        out.write(output, json.dumps(bundle, indent=2, ensure_ascii=False))
        out.commit()


class BatchFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


class BatchEngine(StrEnum):
    local = "local"
    dask = "dask"


@app.command("screen-batch")
def screen_batch(
    source: Annotated[Path, typer.Argument(
        metavar="input", help="A directory of profiles (*.json) or a JSON Lines file (one "
                              "profile per line; - for stdin).")],
    trial: Annotated[list[str] | None, typer.Option(
        "--trial", help="Only this trial (repeatable; default: every trial).")] = None,
    fmt: Annotated[BatchFormat, typer.Option("--format", help="Output format.")
                   ] = BatchFormat.jsonl,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the records here instead of stdout.")] = None,
    attrition: Annotated[Path | None, typer.Option(
        "--attrition", help="Write the attrition report here as JSON (default: a table on "
                            "stderr).")] = None,
    jobs: Annotated[int | None, typer.Option(
        "--jobs", "-j", min=1, help="Worker processes (default: the CPUs free now: those this "
        "process may use, less the busy ones by the smaller of the 1-minute load average and a "
        "0.1 s sample of /proc/stat, rounded, at least 1). An input of one chunk is screened "
        "in-process.")] = None,
    engine: Annotated[BatchEngine, typer.Option(
        "--engine", help="local: a process pool; dask: a Dask cluster (pip install "
                         "'eligimatch[dask]').")] = BatchEngine.local,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask scheduler address (default: a local cluster).")] = None,
    as_of: AsOf = None,
    rules: RulesOpt = None,
) -> None:
    """Screen many patients against every trial (or --trial): one record per patient x trial,
    an attrition report per trial; bad records are reported and skipped (exit code 1)."""
    from .batch import screen_batch as run

    code = run(source, trial_ids=trial, fmt=fmt.value, output=output,
               attrition=attrition, jobs=jobs, engine=engine.value,
               scheduler=scheduler, as_of=_as_of(as_of), rules_dir=rules, version=_version())
    if code:
        raise typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (another address than "
                                           "loopback needs --users).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    db: Annotated[str | None, typer.Option(
        "--db", help="SQLite file, or an SQLAlchemy URL (default: ./eligimatch.db).")] = None,
    users: Annotated[Path | None, typer.Option(
        help="Sign-in against this user list (TOML with argon2 hashes).")] = None,
    proxy_header: Annotated[str | None, typer.Option(
        help="Trust this header of a reverse proxy on this host for the user's name.")] = None,
    user: Annotated[str | None, typer.Option(
        help="Name recorded for actions without sign-in (default: your login name).")] = None,
    public_url: Annotated[str | None, typer.Option(
        help="Base URL of links in CDS Hooks cards (default: as requested).")] = None,
    rules: RulesOpt = None,
) -> None:
    """Run the coordinator's web workspace, REST API and CDS Hooks service."""
    try:
        from .web.server import make_settings
        from .web.server import serve as run
    except ImportError as exc:
        raise UserError(f"eligimatch serve cannot start: {exc.name} is missing from this "
                        "installation (reinstall eligimatch: pip install eligimatch)") from None
    settings = make_settings(host=host, db=db, rules=rules, users=users,
                             proxy_header=proxy_header, user=user, public_url=public_url)
    run(settings, host, port)


def _click_errors() -> tuple[type[Exception], type[Exception]]:
    """click's exception base and its "no arguments: show the help" error: typer's vendored
    click (typer >= 0.18), else the click package."""
    import importlib

    try:
        mod: Any = importlib.import_module("typer._click.exceptions")
    except ImportError:  # pragma: no cover - typer < 0.18
        mod = importlib.import_module("click.exceptions")
    class NeverRaised(Exception):
        pass

    return mod.ClickException, getattr(mod, "NoArgsIsHelpError", NeverRaised)


def _fail(message: str, code: int) -> NoReturn:
    """One line on stderr (naming the output a failed run did not write), then exit."""
    from .safeio import discarded, printable

    gone = discarded()
    if gone:
        message += (f"; not written: {', '.join(gone)} (an earlier file there is left as it "
                    "was)")
    err = sys.stderr
    if err is not None:
        with contextlib.suppress(OSError, ValueError):
            err.write(f"eligimatch: {printable(message)}\n")
            err.flush()
    sys.exit(code)


def _on_signal(signum: int, _frame: object) -> None:
    import signal

    from .errors import Interrupted

    for s in (signal.SIGINT, signal.SIGTERM):   # one interrupt: let the cleanup finish
        signal.signal(s, signal.SIG_IGN)
    raise Interrupted(signum, signal.Signals(signum).name)


def main() -> None:
    """Console-script entry point: user errors (eligimatch's own, click's usage errors, write
    errors) become one line on stderr and exit code 2; SIGINT and SIGTERM end the run with
    128 + the signal number, unfinished output removed, and no traceback."""
    import signal

    from .errors import EligimatchError, Interrupted
    from .safeio import reset

    reset()
    click_error, no_args = _click_errors()
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
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
            exc.show()      # type: ignore[attr-defined]
            sys.exit(2)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _fail(f"error: {exc.format_message()}{hint}",  # type: ignore[attr-defined]
              getattr(exc, "exit_code", 2))
    finally:    # as they were (main() also runs in-process, e.g. in the tests)
        for s, handler in previous.items():
            signal.signal(s, handler)
    sys.exit(code if isinstance(code, int) else 0)
