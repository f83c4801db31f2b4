"""Screening one chunk of records: the unit of work every engine runs.

Each profile is parsed and its facts built once, then evaluated against every trial of the plan
by the plan's shared program (statuses only, no explanation).  A bad record (invalid JSON,
schema error, impossible value) becomes a message naming its file or ``file:line`` and is
skipped; the others continue.  Any other error (a rule file a worker cannot compile, a fault)
propagates to the parent, which stops the run and reports it.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EligimatchError
from .attrition import Attrition
from .inputs import Record
from .output import RecordWriter
from .plan import Compiled, Plan, compiled

if TYPE_CHECKING:
    from ..engine.graph import TrialStatus
    from ..facts import Facts

__all__ = ["ChunkResult", "peak_rss_kb", "screen_chunk"]


@dataclass
class ChunkResult:
    """What a worker sends back for a chunk of records."""

    text: str  # the output records, formatted
    messages: list[str]  # skipped records and import notes, in input order
    patients: int  # records screened
    failed: int  # records skipped
    pairs: int
    criteria: int  # criteria evaluated
    attrition: list[Attrition]
    ids: list[tuple[str, str]] = field(default_factory=list)  # (patient id, source) screened
    as_of_range: tuple[str, str] | None = None  # first and last as-of date screened
    peak_rss_kb: int = 0  # of the process that screened the chunk
    cpu_s: float = 0.0  # CPU time spent on the chunk


def peak_rss_kb() -> int:
    """The peak resident memory of this process (0 where it cannot be known)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss // 1024 if sys.platform == "darwin" else rss


def _skipped(exc: EligimatchError, source: str) -> str:
    text = str(exc)
    return f"skipped {text}" if text.startswith(source) else f"skipped {source}: {text}"


def screen_chunk(plan: Plan, records: Sequence[Record]) -> ChunkResult:
    """Screen a chunk of records against the plan's trials (in whatever process this runs).

    Every record is read and its facts built first; then the program screens the chunk's
    patients all at once (:meth:`~eligimatch.engine.Program.run_chunk`), and the records and
    attrition are made once per distinct status pattern of each trial.

    The cyclic garbage collector is paused for the chunk: reading and screening make many small
    objects and almost no cycles (reference counting frees them), so collection passes would
    only scan live ones, again and again (about a tenth of the time).  Whatever cycles a chunk
    leaves are collected once it is done, so memory stays bounded by one chunk."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _screen_chunk(plan, records)
    finally:
        if paused:
            gc.enable()
            gc.collect(0)


def _screen_chunk(plan: Plan, records: Sequence[Record]) -> ChunkResult:
    from .. import api, attestations
    from ..facts import build_facts

    cpu = time.process_time()
    done = compiled(plan)
    trials, program = done.trials, done.program
    attrition = [a.empty() for a in done.attrition]
    n_criteria = sum(len(t.criteria) for t in trials)
    writer = RecordWriter(plan, done)
    messages: list[str] = []
    screened: list[tuple[str, str]] = []
    patients: list[tuple[str, str, str]] = []
    chunk: list[Facts] = []
    failed = 0
    for rec in records:
        notes: list[str] = []
        if rec.refused is not None:
            messages.append(f"skipped {rec.source}: {rec.refused}")
            failed += 1
            continue
        try:
            if rec.text is None:
                patient = api.read_patient(
                    Path(rec.source), notes=notes, max_bytes=plan.max_bytes, as_of=plan.as_of
                )
            else:
                patient = api.parse_patient(
                    rec.text, rec.source, notes=notes, max_bytes=plan.max_bytes, as_of=plan.as_of
                )
            facts = build_facts(
                attestations.resolve(patient, trials, rec.source, plan.elsewhere), plan.as_of, rec.source
            )
        except EligimatchError as exc:
            messages.extend(notes)
            messages.append(_skipped(exc, rec.source))
            failed += 1
            continue
        messages.extend(notes)
        chunk.append(facts)
        screened.append((facts.patient_id, rec.source))
        patients.append((facts.patient_id, rec.source, facts.as_of.isoformat()))
    if chunk:
        statuses = program.run_chunk(chunk)
        for a, (n, fail, unknown, first_fail, first_not_pass, verdicts) in zip(
            attrition, statuses.attrition, strict=True
        ):
            a.merge(
                replace(
                    a.empty(),
                    patients=n,
                    fail=fail,
                    unknown=unknown,
                    first_fail=first_fail,
                    first_not_pass=first_not_pass,
                    verdicts=verdicts,
                )
            )
        writer.chunk(patients, statuses, lambda k, s: _resting(done, k, s))
    dates = {as_of for _, _, as_of in patients}
    return ChunkResult(
        writer.text(),
        messages,
        len(chunk),
        failed,
        len(chunk) * len(trials),
        len(chunk) * n_criteria,
        attrition,
        screened,
        (min(dates), max(dates)) if dates else None,
        peak_rss_kb(),
        time.process_time() - cpu,
    )


def _resting(done: Compiled, k: int, status: TrialStatus) -> list[str] | None:
    """The draft criteria trial ``k``'s verdict rests on (None: a trial without drafts)."""
    from ..draft.mark import resting_on

    marked = done.drafts[k]
    if not marked:
        return None
    verdict, fail_at, _ = status
    crit = done.trials[k].criteria
    return resting_on(verdict, [c.id for c in crit], [crit[i].id for i in fail_at], marked)
