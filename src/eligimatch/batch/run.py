"""A batch run: chunks out to an engine, results back in input order, counts added up.

The parent only writes what the workers formatted, passes their messages on (adding a warning
for a patient id seen twice), adds up the counts and merges the attrition; memory stays flat in
the number of patients.  On a terminal a :class:`Progress` line shows how far the run is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

from .. import interrupts
from .attrition import Attrition
from .chunk import ChunkResult
from .engines import Engine, chunks, dask, local
from .inputs import BatchError, BatchInput, Record
from .output import csv_header
from .plan import Plan, compiled

__all__ = ["MAX_CHUNK", "TARGET_PAIRS_PER_CHUNK", "Progress", "Summary", "chunk_size", "run_batch"]

# the batch graph screens a chunk at once, array by array: larger chunks spread its fixed cost
# (numpy's per call, per node).  At most MAX_CHUNK records: for the five real trials, chunks of
# 1,024 records screen 10-25 % faster than of 256, for about 20 MB more held per chunk in flight.
TARGET_PAIRS_PER_CHUNK = 64_000
MAX_CHUNK = 1024


@dataclass
class Summary:
    patients: int = 0
    failed: int = 0
    pairs: int = 0
    criteria: int = 0
    seconds: float = 0.0  # wall clock
    worker_cpu_s: float = 0.0  # CPU time of the workers on the chunks
    worker_peak_rss_kb: int = 0
    attrition: list[Attrition] = field(default_factory=list)
    as_of_first: str | None = None  # the earliest and latest as-of date of the patients screened
    as_of_last: str | None = None


class Progress:
    """A one-line progress bar on a terminal (stderr); nothing otherwise.

    ``[=========>          ]  45.2%  45,210 patients, 11,302,500 pairs, 141,200 pairs/s,
    0 skipped, about 1 min left`` (the bar and the time left only when the input's size is
    known: a directory, or a file rather than standard input).
    """

    WIDTH = 24

    def __init__(self, stream: IO[str], total: int) -> None:
        self.stream = stream
        self.total = total  # of BatchInput.position: files, or bytes (0: unknown)
        self.start = self.last = time.monotonic()
        self.shown = False

    def update(self, summary: Summary, position: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-9)
        rate = summary.pairs / elapsed
        head = tail = ""
        if self.total:
            done = min(1.0, position / self.total)
            full = int(done * self.WIDTH)
            bar = "=" * full + (">" if full < self.WIDTH else "") + " " * (self.WIDTH - full - 1)
            head = f"[{bar}] {100 * done:5.1f}%  "
            if 0 < done < 1:
                tail = f", about {_duration(elapsed * (1 - done) / done)} left"
        self.stream.write(
            f"\r{head}{summary.patients:,} patients, {summary.pairs:,} pairs, "
            f"{rate:,.0f} pairs/s, {summary.failed:,} skipped{tail}\x1b[K"
        )
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def chunk_size(n_trials: int) -> int:
    """Records per chunk: about :data:`TARGET_PAIRS_PER_CHUNK` pairs, at most :data:`MAX_CHUNK`."""
    return max(1, min(MAX_CHUNK, TARGET_PAIRS_PER_CHUNK // max(1, n_trials)))


def run_batch(
    source: BatchInput | Iterable[Record],
    plan: Plan,
    write: Callable[[str], object],
    *,
    jobs: int | None = 1,
    engine: Engine = "local",
    scheduler: str | None = None,
    message: Callable[[str], None] = lambda _: None,
    progress: Progress | None = None,
) -> Summary:
    """Screen every record; call ``write`` with output text and ``message`` with each skipped
    record or import note, both in input order; return the counts and the attrition.
    ``jobs``: worker processes (None: :func:`~.workers.default_jobs`)."""
    done = compiled(plan)
    summary = Summary(attrition=[a.empty() for a in done.attrition])
    if plan.fmt == "csv":
        write(csv_header(done.has_drafts))
    work = chunks(source, chunk_size(len(done.trials)))
    if engine == "dask":
        if jobs is None:
            from .workers import default_jobs

            jobs = default_jobs()
        results = dask(plan, work, jobs, scheduler)
    else:
        if scheduler is not None:
            raise BatchError("--scheduler goes with --engine dask")
        results = local(plan, work, jobs)
    start = time.perf_counter()
    seen: dict[str, str] = {}  # patient id → where it was first screened
    try:
        for res in results:
            interrupts.check()  # a signal whose exception was lost (see interrupts)
            write(res.text)
            notices = list(res.messages)
            for pid, where in res.ids:
                first = seen.setdefault(pid, where)
                if first != where:
                    notices.append(
                        f"warning: duplicate patient id {pid!r}: {first} and {where} (both screened)"
                    )
            for line in notices:
                if progress is not None:
                    progress.clear()
                message(line)
            _add(summary, res)
            if progress is not None:  # position: of the records submitted so far
                progress.update(summary, source.position if isinstance(source, BatchInput) else 0)
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
        if progress is not None:
            progress.clear()
    summary.seconds = time.perf_counter() - start
    return summary


def _add(s: Summary, res: ChunkResult) -> None:
    s.patients += res.patients
    s.failed += res.failed
    s.pairs += res.pairs
    s.criteria += res.criteria
    s.worker_cpu_s += res.cpu_s
    s.worker_peak_rss_kb = max(s.worker_peak_rss_kb, res.peak_rss_kb)
    for mine, theirs in zip(s.attrition, res.attrition, strict=True):
        mine.merge(theirs)
    if res.as_of_range is not None:
        first, last = res.as_of_range
        s.as_of_first = first if s.as_of_first is None else min(s.as_of_first, first)
        s.as_of_last = last if s.as_of_last is None else max(s.as_of_last, last)
