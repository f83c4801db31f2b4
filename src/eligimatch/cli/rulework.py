"""Commands on rule files: check, fmt, draft, schema."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .common import (
    Outputs,
    UserError,
    app,
    note,
)


@app.command()
def check(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Rule files or directories (default: eligimatch's own rules).")
    ] = None,
) -> None:
    """Check rule files: schema, symbols, types, units, duplicate ids, every example, and the
    layout ``eligimatch fmt`` writes."""
    from .. import safeio
    from ..engine import check_rules, default_rules_dir, rule_files

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
        note(line)
    if problems:
        safeio.emit("\n".join(safeio.printable(p) for p in problems))
        note(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in "
            f"{len(files)} rule file{'s' if len(files) != 1 else ''}"
        )
        raise typer.Exit(1)
    from ..engine import load_rule_file

    loaded = [load_rule_file(f) for f in files]
    n_crit = sum(len(t.criteria) for t in loaded)
    n_ex = sum(len(c.spec.examples) for t in loaded for c in t.criteria)
    n_draft = sum(c.spec.draft is not None for t in loaded for c in t.criteria)
    drafted = f" ({n_draft} draft criteria: warnings)" if n_draft else ""
    safeio.emit(
        f"ok: {len(files)} rule file{'s' if len(files) != 1 else ''}, {n_crit} criteria, "
        f"{n_ex} examples pass{drafted}"
    )


@app.command("fmt")
def fmt_cmd(
    paths: Annotated[
        list[Path], typer.Argument(help="Rule files or directories of them (with their shared/ value sets).")
    ],
    check_only: Annotated[
        bool,
        typer.Option(
            "--check", help="Write nothing: list the files not in the canonical layout and exit 1 if any."
        ),
    ] = False,
) -> None:
    """Rewrite rule files in the one canonical layout (comments kept, values unchanged)."""
    from .. import safeio
    from ..rulefmt import reformat, rule_sources

    safeio.require_stdout()
    files = rule_sources(paths)
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise UserError(f"{missing[0]}: no such rule file")
    changed = reformat(files)
    if check_only:
        if changed:
            safeio.emit(
                "\n".join(f"{safeio.printable(str(p))}: not in the canonical layout" for p, _ in changed)
            )
            note(f"{len(changed)} of {len(files)} file{'s' if len(files) != 1 else ''} would be reformatted")
            raise typer.Exit(1)
        return
    for path, text in changed:
        with safeio.AtomicFile(path) as f:
            f.write(text)
            f.commit()
        safeio.emit(f"reformatted {safeio.printable(str(path))}")


@app.command()
def draft(
    record: Annotated[
        Path, typer.Argument(help="A ClinicalTrials.gov API v2 study (JSON) or a registry page's plain text.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the drafted rule file here instead of stdout."),
    ] = None,
    trial_id: Annotated[
        str | None,
        typer.Option(
            "--id", help="Trial id (default: the record's NCT id, else one made from the file name)."
        ),
    ] = None,
) -> None:
    """Draft a rule file from a registry record: every inclusion and exclusion item with its
    verbatim text, typed where a recogniser accounts for the whole item, review otherwise; every
    criterion marked draft.  Check it with 'eligimatch check'."""
    from ..draft import draft_file
    from ..rulefmt import format_text

    with Outputs(output) as out:
        result = draft_file(record, trial_id)
        out.write(output, format_text(result.text).rstrip("\n"))  # the layout `fmt` writes
        out.commit()
    typed, total = result.share()
    note(
        f"drafted {total} criteria from {record}: {typed} typed, {total - typed} to review; all marked draft"
    )


class SchemaKind(StrEnum):
    patient = "patient"
    rules = "rules"


@app.command()
def schema(kind: Annotated[SchemaKind, typer.Argument(help="Which schema.")] = SchemaKind.patient) -> None:
    """Print the JSON Schema of a patient profile (or of a rule file)."""
    import json

    from .. import safeio

    safeio.require_stdout()
    if kind is SchemaKind.patient:
        from ..patient import Patient

        doc = Patient.model_json_schema()
    else:
        from ..rulefile import RuleFile

        doc = RuleFile.model_json_schema(by_alias=True)
    safeio.emit(json.dumps(doc, indent=2, sort_keys=True))
