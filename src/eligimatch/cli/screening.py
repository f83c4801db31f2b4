"""Screening commands: screen, explain, trials, screen-batch."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from . import common
from .common import (
    AsOf,
    Format,
    FormatOpt,
    RulesOpt,
    app,
    as_of_date,
    drafts_of,
    read,
    screen_all,
    version,
)


@app.command()
def screen(
    patients: Annotated[
        list[Path], typer.Argument(help="Patient profile JSON file(s) or FHIR R4 Bundle(s).")
    ],
    as_of: AsOf = None,
    rules: RulesOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Screen patients against every trial: eligible, undetermined, ineligible, and why."""
    from .. import explain, safeio

    safeio.require_stdout()
    ruleset, screened = screen_all(patients, as_of, rules)
    drafts = drafts_of(ruleset.trials)
    if fmt is Format.json:
        docs = [
            explain.document(f.patient_id, str(p), f.as_of, res, ruleset.sha256, version(), drafts=drafts)
            for p, f, res in screened
        ]
        safeio.emit(explain.screen_json(docs))
        return
    safeio.emit(
        "\n\n".join(
            explain.screen_text(f.patient_id, str(p), f.as_of, res, drafts=drafts) for p, f, res in screened
        )
    )


@app.command("explain")
def explain_cmd(
    patient: Annotated[Path, typer.Argument(help="Patient profile JSON file or FHIR R4 Bundle.")],
    trial: Annotated[str, typer.Argument(help="Trial id, e.g. NCT07342322.")],
    as_of: AsOf = None,
    rules: RulesOpt = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Every criterion of one trial for one patient: status, source text, explanation."""
    from .. import api, explain, safeio

    safeio.require_stdout()
    when = as_of_date(as_of)
    ruleset = common.rules(rules)
    t = ruleset.get(trial)
    p = read(patient, when)
    facts, results = api.screen(p, ruleset, when, str(patient), only=[t])
    drafts = drafts_of([t])
    if fmt is Format.json:
        safeio.emit(
            explain.dumps(
                explain.document(
                    facts.patient_id,
                    str(patient),
                    facts.as_of,
                    results,
                    ruleset.sha256,
                    version(),
                    drafts=drafts,
                )
            )
        )
        return
    safeio.emit(explain.explain_text(facts.patient_id, facts.as_of, results[0], drafts=drafts))


@app.command()
def trials(rules: RulesOpt = None, fmt: FormatOpt = Format.text) -> None:
    """List the trials the rule files encode."""
    from .. import explain, safeio

    safeio.require_stdout()
    ruleset = common.rules(rules)
    if fmt is Format.json:
        safeio.emit(explain.trials_json(ruleset.trials, ruleset.sha256))
    else:
        safeio.emit(explain.trials_text(ruleset.trials))


class BatchFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


class BatchEngine(StrEnum):
    local = "local"
    dask = "dask"


@app.command("screen-batch")
def screen_batch(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="input",
            help="A directory of profiles (*.json) or a JSON Lines file (one profile per line; - for stdin).",
        ),
    ],
    trial: Annotated[
        list[str] | None, typer.Option("--trial", help="Only this trial (repeatable; default: every trial).")
    ] = None,
    fmt: Annotated[BatchFormat, typer.Option("--format", help="Output format.")] = BatchFormat.jsonl,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the records here instead of stdout.")
    ] = None,
    attrition: Annotated[
        Path | None,
        typer.Option(
            "--attrition", help="Write the attrition report here as JSON (default: a table on stderr)."
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Worker processes (default: the CPUs free now: those this "
            "process may use, less the busy ones by the smaller of the 1-minute load average and a "
            "0.1 s sample of /proc/stat, rounded, at least 1, and no more than have two chunks "
            "each left). An input of one chunk is screened in-process.",
        ),
    ] = None,
    engine: Annotated[
        BatchEngine,
        typer.Option(
            "--engine", help="local: a process pool; dask: a Dask cluster (pip install 'eligimatch[dask]')."
        ),
    ] = BatchEngine.local,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address (default: a local cluster).")
    ] = None,
    as_of: AsOf = None,
    rules: RulesOpt = None,
) -> None:
    """Screen many patients against every trial (or --trial): one record per patient x trial,
    an attrition report per trial; bad records are reported and skipped (exit code 1)."""
    from ..batch import screen_batch as run

    code = run(
        source,
        trial_ids=trial,
        fmt=fmt.value,
        output=output,
        attrition=attrition,
        jobs=jobs,
        engine=engine.value,
        scheduler=scheduler,
        as_of=as_of_date(as_of),
        rules_dir=rules,
        version=version(),
    )
    if code:
        raise typer.Exit(code)
