"""The ``screen-batch`` command: files in, records and the attrition report out, one line of
summary on stderr."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from .engines import Engine
from .inputs import BatchError, BatchInput
from .output import as_of_text, attrition_document
from .plan import OutputFormat, make_plan
from .run import Progress, Summary, run_batch

__all__ = ["screen_batch"]


def screen_batch(
    input_path: Path,
    *,
    trial_ids: Sequence[str] | None = None,
    fmt: OutputFormat = "jsonl",
    output: Path | None = None,
    attrition: Path | None = None,
    jobs: int | None = None,
    engine: Engine = "local",
    scheduler: str | None = None,
    as_of: date | None = None,
    rules_dir: Path | None = None,
    version: str = "0+unknown",
) -> int:
    """Run, write the output and the attrition report; return the exit code (0: every record
    screened; 1: some records skipped).  Errors that stop the run (rules, options, unreadable
    input, output that cannot be written, an error raised in a worker) raise an
    :class:`~eligimatch.errors.EligimatchError`.  ``jobs`` None: :func:`~.workers.default_jobs`.

    The records (``output``) and the attrition report go to temporary files beside their
    targets, opened before any work, and are renamed into place together at the end: a failed
    or interrupted run leaves no file at either path (or the previous complete ones)."""
    from .. import interrupts, safeio
    from ..engine import load_rules
    from ..jsonin import max_input_bytes
    from .attrition import attrition_text

    if jobs is not None and jobs < 1:
        raise BatchError(f"--jobs: expected at least 1, got {jobs}")
    if scheduler is not None and engine != "dask":
        raise BatchError("--scheduler goes with --engine dask")
    if output is not None and attrition is not None and _same_file(output, attrition):
        raise BatchError(f"--attrition {attrition}: the same file as --output")
    err = sys.stderr

    def message(line: str) -> None:
        if err is not None:
            err.write(f"eligimatch: {safeio.printable(line)}\n")

    with contextlib.ExitStack() as stack:
        records = stack.enter_context(safeio.AtomicFile(output)) if output else None
        report = stack.enter_context(safeio.AtomicFile(attrition)) if attrition else None
        if records is None:
            stdout = safeio.require_stdout()

            def write(text: str) -> None:
                safeio.write_to(stdout, text)
        else:
            write = records.write
        limit = max_input_bytes()
        ruleset = load_rules(rules_dir)
        plan = make_plan(ruleset, trial_ids, as_of, fmt, limit)
        source = BatchInput(input_path, limit)
        progress = Progress(err, source.total) if err is not None and err.isatty() else None
        summary = run_batch(
            source,
            plan,
            write,
            jobs=jobs,
            engine=engine,
            scheduler=scheduler,
            message=message,
            progress=progress,
        )
        if report is not None:
            doc = attrition_document(summary, plan, version)
            report.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        interrupts.check()  # nothing replaces a target once a signal arrived
        for f in (records, report):  # complete both before either replaces its target
            if f is not None:
                f.finish()
        for f in (records, report):
            if f is not None:
                f.commit()
    if report is None and err is not None:
        err.write(attrition_text(summary.attrition) + "\n")
    message(summary_line(summary, len(plan.trial_ids), plan.rules_sha256, as_of))
    return 1 if summary.failed else 0


def summary_line(summary: Summary, n_trials: int, rules_sha256: str, as_of: date | None) -> str:
    """``screened 9 patients × 3 trials = 27 pairs in 0.1 s; rules_sha256 <hex>; as of
    2026-11-16 (the profiles' own)``, then how many records were skipped, if any."""
    skipped = (
        f"; {summary.failed} record{'s' if summary.failed != 1 else ''} skipped" if summary.failed else ""
    )
    return (
        f"screened {summary.patients} patient{'s' if summary.patients != 1 else ''} × "
        f"{n_trials} trial{'s' if n_trials != 1 else ''} = {summary.pairs} pairs in "
        f"{summary.seconds:.1f} s; rules_sha256 {rules_sha256}; "
        f"{as_of_text(as_of, summary.as_of_first, summary.as_of_last)}{skipped}"
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
