"""Population-scale screening: many profiles against many trials, streamed, in parallel.

Input is a directory of profile files (``*.json``, in name order) or a JSON Lines file (one
profile per line, blank lines skipped; ``-`` reads standard input).  Output is one record per
patient × trial, in input order and then trial order, whatever the number of workers::

    {"patient_id": "p01", "source": "cohort.jsonl:12", "trial_id": "NCT07342322",
     "as_of": "2026-11-16", "verdict": "undetermined", "failing": [], "unknown": ["I9"]}

or the same columns as CSV (``failing`` and ``unknown`` joined with ``;``).

How the work is shared out:

* The parent loads and checks the rules once (a broken rule file stops the run before any
  patient is read) and hands the workers a :class:`Plan`: the bytes of the selected rule files,
  the trial ids, the as-of date and the output format.  A worker compiles the plan once (a
  forked worker inherits the parent's compiled trials and compiles nothing).
* Records travel in chunks; at most a few chunks per worker are in flight, so memory stays flat
  in the number of patients.  Each chunk comes back as finished output text, the messages about
  its bad records and its attrition counts; the parent only writes and adds up.
* Each patient is parsed and its facts built once, then evaluated against every trial.
* A bad record (invalid JSON, schema error, impossible value) becomes a message naming its file
  or ``file:line`` and is skipped; the others continue.

The same chunk function runs in-process (``jobs=1``), in a process pool, or on Dask workers
(:mod:`distributed`, optional extra ``eligimatch[dask]``), so every engine gives byte-identical
output.  Dask workers need eligimatch installed (the same version); they need no access to the
rule files or, for a directory input, to the profiles: both travel with the tasks.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import stat
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

from .batch_attrition import Attrition
from .errors import EligimatchError

if TYPE_CHECKING:
    from .compile import RuleSet, Trial
    from .program import Program

__all__ = ["BatchError", "BatchInput", "Plan", "Record", "Summary", "make_plan", "run_batch",
           "screen_chunk"]

OutputFormat = Literal["jsonl", "csv"]
Engine = Literal["local", "dask"]
CSV_COLUMNS = ("patient_id", "source", "trial_id", "as_of", "verdict", "failing", "unknown")
TARGET_PAIRS_PER_CHUNK = 20_000
MAX_CHUNK = 256
DASK_CONNECT_TIMEOUT = "10s"


class BatchError(EligimatchError, ValueError):
    """A batch run that cannot start: unreadable input, a missing optional dependency, a
    scheduler that cannot be reached."""


# ---------------------------------------------------------------------------- input

@dataclass(frozen=True, slots=True)
class Record:
    """One profile to screen: where it comes from and, for JSON Lines, its text (or why it
    could not be taken: a line over the size limit)."""

    source: str                  # a file name, or file:line
    text: bytes | None = None    # None: read the file named by ``source``
    refused: str | None = None   # the record is reported with this message and skipped


class BatchInput:
    """The records of a directory of ``*.json`` files or of a JSON Lines file, in order.

    ``total`` and ``position`` (files, or bytes of a JSON Lines file; 0 when unknown) let a
    progress display say how far the run is.
    """

    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        from .jsonin import max_input_bytes

        self.path = path
        self.max_bytes = max_input_bytes() if max_bytes is None else max_bytes
        self.position = 0
        self.total = 0
        self.files: list[str] | None = None     # names only: the listing is sorted, so held
        if str(path) == "-":
            return
        try:
            st = path.stat()
        except FileNotFoundError:
            raise BatchError(f"{path}: no such file or directory") from None
        except OSError as exc:
            raise BatchError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if stat.S_ISDIR(st.st_mode):
            try:
                with os.scandir(path) as entries:
                    self.files = sorted(e.name for e in entries
                                        if e.name.endswith(".json") and e.is_file())
            except OSError as exc:
                raise BatchError(f"{path}: cannot read: {exc.strerror or exc}") from None
            if not self.files:
                raise BatchError(f"{path}: no patient profiles (*.json) in this directory")
            self.total = len(self.files)
        elif stat.S_ISREG(st.st_mode):
            self.total = st.st_size

    def __iter__(self) -> Iterator[Record]:
        if self.files is not None:
            for i, name in enumerate(self.files, 1):
                self.position = i
                yield Record(str(self.path / name))
            return
        if str(self.path) == "-":
            yield from self._lines(sys.stdin.buffer, "<stdin>")
            return
        try:
            stream = self.path.open("rb")
        except OSError as exc:
            raise BatchError(f"{self.path}: cannot read: {exc.strerror}") from None
        with stream:
            yield from self._lines(stream, str(self.path))

    def _lines(self, stream: IO[bytes], name: str) -> Iterator[Record]:
        from .jsonin import too_large

        limit = self.max_bytes
        lineno = 0
        while True:
            try:
                line = stream.readline(limit + 2)      # + room for the line end
            except OSError as exc:
                raise BatchError(f"{name}: cannot read: {exc.strerror or exc}") from None
            if not line:
                return
            lineno += 1
            self.position += len(line)
            if not line.endswith(b"\n") and len(line) > limit:    # skip the rest of it
                while line and not line.endswith(b"\n"):
                    line = stream.readline(1 << 20)
                    self.position += len(line)
                yield Record(f"{name}:{lineno}", refused=too_large(limit))
                continue
            if line.strip():
                yield Record(f"{name}:{lineno}", line.rstrip(b"\r\n"))


# ---------------------------------------------------------------------------- the plan

@dataclass(frozen=True)
class Plan:
    """Everything a worker needs, picklable: rule files as bytes (so a remote worker needs no
    access to the parent's files), the trials to screen, the as-of date, the output format."""

    rule_files: tuple[tuple[str, bytes], ...]
    trial_ids: tuple[str, ...]
    as_of: date | None
    fmt: OutputFormat
    key: str = field(default="", compare=False)
    max_bytes: int | None = None        # of one profile (None: the input limit)


def _plan_key(rule_files: Sequence[tuple[str, bytes]], trial_ids: Sequence[str]) -> str:
    h = hashlib.sha256()
    for name, data in rule_files:
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    h.update("\0".join(trial_ids).encode())
    return h.hexdigest()


# Compiled trials of the plan this process is working on (one plan at a time).
_TRIALS: dict[str, tuple[Trial, ...]] = {}
# ... and what screening them needs: the program, and the trial and criterion ids JSON-encoded
# once (output lines are assembled from them, byte-identical to json.dumps of the record).
_COMPILED: dict[str, _Compiled] = {}


def make_plan(ruleset: RuleSet, trial_ids: Sequence[str] | None, as_of: date | None,
              fmt: OutputFormat, max_bytes: int | None = None) -> Plan:
    """The plan for the chosen trials (all when ``trial_ids`` is empty), in the order given.

    Unknown trial ids raise :class:`~eligimatch.errors.UnknownTrialError`.  The parent's
    compiled trials are remembered, so that forked workers need not compile them again.
    """
    chosen = ([ruleset.get(i) for i in dict.fromkeys(trial_ids)] if trial_ids
              else list(ruleset.trials))
    chosen = list({t.id: t for t in chosen}.values())
    files = []
    for t in chosen:
        try:
            data = Path(t.path).read_bytes()
        except OSError as exc:
            raise BatchError(f"{t.path}: cannot read: {exc.strerror}") from exc
        if hashlib.sha256(data).hexdigest() != t.sha256:
            raise BatchError(f"{t.path}: the rule file changed while it was being loaded; "
                             "run again")
        files.append((Path(t.path).name, data))
    ids = tuple(t.id for t in chosen)
    key = _plan_key(files, ids)
    _TRIALS.clear()
    _TRIALS[key] = tuple(chosen)
    return Plan(tuple(files), ids, as_of, fmt, key, max_bytes)


def _trials(plan: Plan) -> tuple[Trial, ...]:
    trials = _TRIALS.get(plan.key)
    if trials is None:
        trials = _compile(plan)
        _TRIALS.clear()
        _TRIALS[plan.key] = trials
    return trials


@dataclass(frozen=True)
class _Compiled:
    trials: tuple[Trial, ...]
    program: Program
    encoded: tuple[tuple[str, tuple[str, ...]], ...]    # JSON trial id, JSON criterion ids
    attrition: tuple[Attrition, ...]                    # empty, one per trial
    drafts: tuple[frozenset[str], ...] = ()             # per trial: criteria marked draft

    @property
    def has_drafts(self) -> bool:
        return any(self.drafts)


def _compiled(plan: Plan) -> _Compiled:
    """The plan's trials compiled into one :class:`~eligimatch.program.Program` (once per
    process and plan; forked workers inherit the parent's)."""
    done = _COMPILED.get(plan.key)
    if done is None:
        from .draft.mark import draft_ids
        from .program import Program

        trials = _trials(plan)
        marked = draft_ids(trials)
        done = _Compiled(trials, Program(trials), tuple(
            (json.dumps(t.id, ensure_ascii=False),
             tuple(json.dumps(c.id, ensure_ascii=False) for c in t.criteria)) for t in trials),
            tuple(Attrition(t.id, t.meta.title, tuple((c.id, c.spec.kind) for c in t.criteria))
                  for t in trials),
            tuple(marked.get(t.id, frozenset()) for t in trials))
        _COMPILED.clear()
        _COMPILED[plan.key] = done
    return done


def _compile(plan: Plan) -> tuple[Trial, ...]:
    from .compile import load_rule_file

    loaded: dict[str, Trial] = {}
    with tempfile.TemporaryDirectory(prefix="eligimatch-rules-") as tmp:
        for name, data in plan.rule_files:
            path = Path(tmp) / name
            path.write_bytes(data)
            t = load_rule_file(path)
            loaded[t.id] = t
    return tuple(loaded[i] for i in plan.trial_ids)


# ---------------------------------------------------------------------------- one chunk

@dataclass
class ChunkResult:
    """What a worker sends back for a chunk of records."""

    text: str                       # the output records, formatted
    messages: list[str]             # skipped records and import notes, in input order
    patients: int                   # records screened
    failed: int                     # records skipped
    pairs: int
    criteria: int                   # criteria evaluated
    attrition: list[Attrition]
    ids: list[tuple[str, str]] = field(default_factory=list)    # (patient id, source) screened
    peak_rss_kb: int = 0            # of the process that screened the chunk
    cpu_s: float = 0.0              # CPU time spent on the chunk


def _peak_rss_kb() -> int:
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
    """Screen a chunk of records against the plan's trials (in whatever process this runs)."""
    from . import api
    from .draft.mark import resting_on
    from .facts import build_facts

    cpu = time.process_time()
    compiled = _compiled(plan)
    trials, program = compiled.trials, compiled.program
    attrition = [a.empty() for a in compiled.attrition]
    n_criteria = sum(len(t.criteria) for t in trials)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n") if plan.fmt == "csv" else None
    messages: list[str] = []
    screened: list[tuple[str, str]] = []
    patients = failed = 0
    for rec in records:
        notes: list[str] = []
        if rec.refused is not None:
            messages.append(f"skipped {rec.source}: {rec.refused}")
            failed += 1
            continue
        try:
            if rec.text is None:
                patient = api.read_patient(Path(rec.source), notes=notes,
                                           max_bytes=plan.max_bytes, as_of=plan.as_of)
            else:
                patient = api.parse_patient(rec.text, rec.source, notes=notes,
                                            max_bytes=plan.max_bytes, as_of=plan.as_of)
            facts = build_facts(patient, plan.as_of, rec.source)
            statuses = program.run(facts)
        except EligimatchError as exc:
            messages.extend(notes)
            messages.append(_skipped(exc, rec.source))
            failed += 1
            continue
        messages.extend(notes)
        patients += 1
        screened.append((facts.patient_id, rec.source))
        as_of = facts.as_of.isoformat()
        head = (f'{{"patient_id": {json.dumps(facts.patient_id, ensure_ascii=False)}, '
                f'"source": {json.dumps(rec.source, ensure_ascii=False)}, "trial_id": ')
        for (verdict, fail_at, unknown_at), a, t, (trial_id, ids), drafts in zip(
                statuses, attrition, trials, compiled.encoded,
                compiled.drafts or [frozenset()] * len(trials), strict=True):
            a.add_indices(fail_at, unknown_at, verdict)
            crit = t.criteria
            resting = (resting_on(verdict, [c.id for c in crit], [crit[k].id for k in fail_at],
                                  drafts) if drafts else [])
            if writer is None:
                # "draft" (the draft criteria the verdict rests on) only for trials with drafts
                mark = (f', "draft": {json.dumps(resting, ensure_ascii=False)}'
                        if drafts else "")
                out.write(f'{head}{trial_id}, "as_of": "{as_of}", "verdict": "{verdict}", '
                          f'"failing": [{", ".join(ids[k] for k in fail_at)}], '
                          f'"unknown": [{", ".join(ids[k] for k in unknown_at)}]{mark}}}\n')
            else:
                row = [facts.patient_id, rec.source, t.id, as_of, verdict,
                       ";".join(crit[k].id for k in fail_at),
                       ";".join(crit[k].id for k in unknown_at)]
                if compiled.has_drafts:
                    row.append(";".join(resting))
                writer.writerow(row)
    return ChunkResult(out.getvalue(), messages, patients, failed, patients * len(trials),
                       patients * n_criteria, attrition, screened, _peak_rss_kb(),
                       time.process_time() - cpu)


# ---------------------------------------------------------------------------- engines

class _Future(Protocol):
    def result(self) -> Any: ...


def _chunks(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for r in records:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _ordered(submit: Callable[[list[Record]], _Future], chunks: Iterable[list[Record]],
             in_flight: int) -> Iterator[ChunkResult]:
    """Submit chunks with at most ``in_flight`` outstanding; yield results in input order."""
    pending: deque[_Future] = deque()
    for chunk in chunks:
        pending.append(submit(chunk))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


_PLAN: Plan | None = None      # in a pool worker: the plan it was started with


def _init_worker(plan: Plan, parent: int) -> None:
    from .workers import bind_to_parent

    global _PLAN
    bind_to_parent(parent)      # dies with the parent, leaves Ctrl-C to it
    _PLAN = plan
    _compiled(plan)


def _pool_chunk(records: list[Record]) -> ChunkResult:
    assert _PLAN is not None, "worker not initialised"
    return screen_chunk(_PLAN, records)


def _local(plan: Plan, chunks: Iterable[list[Record]], jobs: int) -> Iterator[ChunkResult]:
    if jobs == 1:
        for chunk in chunks:
            yield screen_chunk(plan, chunk)
        return
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor

    # fork (Linux): workers inherit the parent's compiled trials.  Not from a process that runs
    # other threads (forking those can deadlock), nor where fork is missing: there, spawned
    # workers compile the plan's rule files themselves.
    fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    method = "fork" if fork else "spawn"
    if fork:
        _compiled(plan)
    others = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method),
                               initializer=_init_worker, initargs=(plan, os.getpid()))
    try:
        yield from _ordered(lambda c: pool.submit(_pool_chunk, c), chunks, 2 * jobs)
    except BaseException:   # an error or an interrupt: the chunks in flight are not wanted
        for worker in set(multiprocessing.active_children()) - others:
            worker.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _with_text(r: Record) -> Record:
    """A record with its file's text, for workers that may not see the parent's files."""
    if r.text is not None:
        return r
    try:
        return Record(r.source, Path(r.source).read_bytes())
    except OSError:
        return r    # the worker reports it as unreadable


def _dask(plan: Plan, chunks: Iterable[list[Record]], jobs: int,
          scheduler: str | None) -> Iterator[ChunkResult]:
    import importlib
    import logging

    try:    # imported by name: an optional dependency, typed as Any
        distributed = importlib.import_module("distributed")
    except ImportError as exc:
        raise BatchError("--engine dask needs the optional dependency: "
                         "pip install 'eligimatch[dask]'") from exc
    Client, LocalCluster = distributed.Client, distributed.LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            try:
                client = stack.enter_context(Client(scheduler, timeout=DASK_CONNECT_TIMEOUT))
            except (OSError, TimeoutError) as exc:
                raise BatchError(f"--scheduler {scheduler}: cannot connect ({exc})") from exc
            workers = client.scheduler_info().get("workers", {})
            slots = sum(int(w.get("nthreads", 1)) for w in workers.values()) or jobs
        else:
            cluster = stack.enter_context(LocalCluster(
                n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=":0",
                silence_logs=logging.ERROR))
            client = stack.enter_context(Client(cluster))
            slots = jobs
        shared = client.scatter(plan, broadcast=True)

        def submit(chunk: list[Record]) -> _Future:
            future: _Future = client.submit(screen_chunk, shared,
                                            [_with_text(r) for r in chunk], pure=False)
            return future

        yield from _ordered(submit, chunks, 2 * slots)


# ---------------------------------------------------------------------------- the run

@dataclass
class Summary:
    patients: int = 0
    failed: int = 0
    pairs: int = 0
    criteria: int = 0
    seconds: float = 0.0            # wall clock
    worker_cpu_s: float = 0.0       # CPU time of the workers on the chunks
    worker_peak_rss_kb: int = 0
    attrition: list[Attrition] = field(default_factory=list)


class Progress:
    """A one-line progress bar on a terminal (stderr); nothing otherwise.

    ``[=========>          ]  45.2%  45,210 patients, 11,302,500 pairs, 141,200 pairs/s,
    0 skipped, about 1 min left`` (the bar and the time left only when the input's size is
    known: a directory, or a file rather than standard input).
    """

    WIDTH = 24

    def __init__(self, stream: IO[str], total: int) -> None:
        self.stream = stream
        self.total = total      # of BatchInput.position: files, or bytes (0: unknown)
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
        self.stream.write(f"\r{head}{summary.patients:,} patients, {summary.pairs:,} pairs, "
                          f"{rate:,.0f} pairs/s, {summary.failed:,} skipped{tail}\x1b[K")
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


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def chunk_size(n_trials: int) -> int:
    return max(1, min(MAX_CHUNK, TARGET_PAIRS_PER_CHUNK // max(1, n_trials)))


def run_batch(source: BatchInput | Iterable[Record], plan: Plan, write: Callable[[str], object],
              *, jobs: int = 1, engine: Engine = "local", scheduler: str | None = None,
              message: Callable[[str], None] = lambda _: None,
              progress: Progress | None = None) -> Summary:
    """Screen every record; call ``write`` with output text and ``message`` with each skipped
    record or import note, both in input order; return the counts and the attrition."""
    compiled = _compiled(plan)
    trials = compiled.trials
    summary = Summary(attrition=[a.empty() for a in compiled.attrition])
    if plan.fmt == "csv":     # a "draft" column only when some trial has draft criteria
        write(",".join(CSV_COLUMNS + (("draft",) if compiled.has_drafts else ())) + "\n")
    chunks = _chunks(source, chunk_size(len(trials)))
    if engine == "dask":
        results = _dask(plan, chunks, jobs, scheduler)
    else:
        if scheduler is not None:
            raise BatchError("--scheduler goes with --engine dask")
        results = _local(plan, chunks, jobs)
    start = time.perf_counter()
    seen: dict[str, str] = {}       # patient id → where it was first screened
    try:
        for res in results:
            write(res.text)
            notices = list(res.messages)
            for pid, where in res.ids:
                first = seen.setdefault(pid, where)
                if first != where:
                    notices.append(f"warning: duplicate patient id {pid!r}: {first} and {where} "
                                   "(both screened)")
            for line in notices:
                if progress is not None:
                    progress.clear()
                message(line)
            summary.patients += res.patients
            summary.failed += res.failed
            summary.pairs += res.pairs
            summary.criteria += res.criteria
            summary.worker_cpu_s += res.cpu_s
            summary.worker_peak_rss_kb = max(summary.worker_peak_rss_kb, res.peak_rss_kb)
            for mine, theirs in zip(summary.attrition, res.attrition, strict=True):
                mine.merge(theirs)
            if progress is not None:     # position: of the records submitted so far
                progress.update(summary, source.position if isinstance(source, BatchInput) else 0)
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
        if progress is not None:
            progress.clear()
    summary.seconds = time.perf_counter() - start
    return summary


def attrition_document(summary: Summary, rules_sha256: str, as_of: date | None,
                       version: str) -> dict[str, Any]:
    return {"eligimatch": version, "rules_sha256": rules_sha256,
            "as_of": as_of.isoformat() if as_of else None,
            "patients": summary.patients, "records_skipped": summary.failed,
            "trials": [a.as_dict() for a in summary.attrition]}



def screen_batch(input_path: Path, *, trial_ids: Sequence[str] | None = None,
                 fmt: OutputFormat = "jsonl", output: Path | None = None,
                 attrition: Path | None = None, jobs: int | None = None,
                 engine: Engine = "local", scheduler: str | None = None,
                 as_of: date | None = None, rules_dir: Path | None = None,
                 version: str = "0+unknown") -> int:
    """The ``screen-batch`` command: run, write the output and the attrition report; return
    the exit code (0: every record screened; 1: some records skipped).  Errors that stop the
    run before it starts (rules, options, unreadable input, output that cannot be written)
    raise an :class:`EligimatchError`.

    The records (``output``) and the attrition report go to temporary files beside their
    targets, opened before any work, and are renamed into place together at the end: a failed
    or interrupted run leaves no file at either path (or the previous complete ones)."""
    from . import safeio
    from .batch_attrition import attrition_text
    from .compile import load_rules
    from .jsonin import max_input_bytes

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
        summary = run_batch(source, plan, write, jobs=jobs or default_jobs(), engine=engine,
                            scheduler=scheduler, message=message, progress=progress)
        if report is not None:
            doc = attrition_document(summary, ruleset.sha256, as_of, version)
            report.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        for f in (records, report):     # complete both before either replaces its target
            if f is not None:
                f.finish()
        for f in (records, report):
            if f is not None:
                f.commit()
    if report is None and err is not None:
        err.write(attrition_text(summary.attrition) + "\n")
    n_trials = len(plan.trial_ids)
    skipped = (f"; {summary.failed} record{'s' if summary.failed != 1 else ''} skipped"
               if summary.failed else "")
    message(f"screened {summary.patients} patient{'s' if summary.patients != 1 else ''} × "
            f"{n_trials} trial{'s' if n_trials != 1 else ''} = {summary.pairs} pairs in "
            f"{summary.seconds:.1f} s{skipped}")
    return 1 if summary.failed else 0


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
