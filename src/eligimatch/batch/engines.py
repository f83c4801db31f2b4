"""Where chunks are screened: in this process, in a local process pool, or on Dask workers.

Every engine runs the same :func:`~eligimatch.batch.chunk.screen_chunk` and yields the results
in input order, so every engine gives byte-identical output.  At most a few chunks per worker
are in flight, so memory stays flat in the number of patients.

* ``local`` with one job screens in this process; with more, a process pool (forked where that
  is safe, so workers inherit the parent's compiled plan; spawned otherwise, and then each
  worker compiles the plan's bytes once).  Workers die with the parent
  (:func:`~eligimatch.batch.workers.bind_to_parent`).  An input that fits in one chunk is
  screened in this process whatever the number of jobs: a pool could only make it slower; the
  default number starts a pool only for a few chunks per worker or more (see :func:`local`).
* ``dask`` (:mod:`distributed`, optional extra ``eligimatch[dask]``): a local cluster, or the
  one at ``scheduler``.  Dask workers need eligimatch installed (the same version); they need no
  access to the rule files or, for a directory input, to the profiles: both travel with the
  tasks.

An error raised in a worker (an eligimatch error, picklable) is raised again here as the same
error, so the user sees the same one line as without workers; the other chunks are abandoned.
A worker that dies (killed by a signal, by the out-of-memory killer) stops the run with a
:class:`BatchError` saying so, not a broken pool.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, Protocol

from ..errors import EligimatchError
from .chunk import ChunkResult, screen_chunk
from .inputs import BatchError, Record, with_text
from .plan import Plan, compiled

__all__ = ["DASK_CONNECT_TIMEOUT", "Engine", "chunks", "dask", "local", "remote_chunk", "start_method"]

Engine = Literal["local", "dask"]
DASK_CONNECT_TIMEOUT = "10s"
# Chunks per worker that the default needs left before it starts a pool (measured with 2 workers:
# over 3 chunks left a pool is no faster than this process; over 7, 1.5× faster; over 15, 1.4×).
DEFAULT_POOL_CHUNKS = 2
CHUNK_BYTES = 4 << 20  # the text of a chunk's records: at most about this much
AHEAD_BYTES = 32 << 20  # read ahead to count the chunks left: at most about this much
WORKER_DIED = "a worker process ended abruptly (killed by a signal, or out of memory?); the run was stopped"


class _Future(Protocol):
    def result(self) -> Any: ...


def chunks(records: Iterable[Record], size: int, most_bytes: int = CHUNK_BYTES) -> Iterator[list[Record]]:
    """The records in lists of ``size``, or fewer when their profiles reach ``most_bytes`` (large
    profiles, FHIR bundles: what a chunk holds and costs stays bounded, and a run of large
    profiles still makes chunks enough for every worker), the last one shorter."""
    chunk: list[Record] = []
    held = 0
    for record in records:
        chunk.append(record)
        held += _size(record)
        if len(chunk) >= size or held >= most_bytes:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def _size(record: Record) -> int:
    """The bytes of a record's profile: its text, or for a file of a directory the file's size
    (0 when it cannot be known: the record is reported when it is screened)."""
    if record.text is not None:
        return len(record.text)
    if record.refused is not None:
        return 0
    try:
        return os.stat(record.source).st_size
    except (OSError, ValueError):
        return 0


def _ordered(
    submit: Callable[[list[Record]], _Future], work: Iterable[list[Record]], in_flight: int
) -> Iterator[ChunkResult]:
    """Submit chunks with at most ``in_flight`` outstanding; yield results in input order.
    ``result()`` raises a worker's error again."""
    pending: deque[_Future] = deque()
    for chunk in work:
        pending.append(submit(chunk))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


# In a pool worker: the plan it was started with (sent once per worker, not with every chunk).
_WORKER_PLAN: Plan | None = None


def _init_worker(plan: Plan, parent: int) -> None:
    """Runs first in every pool worker.  It compiles nothing: an error raised here would only
    break the pool, so the plan is compiled on the first chunk, whose future carries any error
    back to the parent."""
    from .workers import bind_to_parent

    global _WORKER_PLAN
    bind_to_parent(parent)  # dies with the parent, leaves Ctrl-C to it
    _WORKER_PLAN = plan


def remote_chunk(plan: Plan, records: list[Record]) -> ChunkResult:
    """:func:`screen_chunk` in a worker: an eligimatch error that would not survive the trip
    back to the parent (one that cannot be pickled and unpickled as itself) goes back as a
    :class:`BatchError` with the same message, never as a broken pool."""
    try:
        return screen_chunk(plan, records)
    except EligimatchError as exc:
        if _travels(exc):
            raise
        message = str(exc)
    # raised outside the handler, so that it has no __context__ either: where tblib's pickling
    # is installed (distributed installs it), the context would travel with it
    raise BatchError(message)


def _travels(exc: BaseException) -> bool:
    import pickle

    try:
        back = pickle.loads(pickle.dumps(exc))
    except Exception:  # whatever pickling raises, the error cannot travel
        return False
    return type(back) is type(exc) and str(back) == str(exc)


def _pool_chunk(records: list[Record]) -> ChunkResult:
    if _WORKER_PLAN is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("batch worker not initialised")
    return remote_chunk(_WORKER_PLAN, records)


def local(plan: Plan, work: Iterable[list[Record]], jobs: int | None) -> Iterator[ChunkResult]:
    """Screen the chunks in this process or in a pool of ``jobs`` worker processes.

    * One job, or one chunk: in this process.
    * ``jobs`` given: a pool from the start (its workers prepare what a first chunk prepares at
      the same time, each for itself).
    * ``jobs`` None (the default, :func:`~.workers.default_jobs`): chunks are screened here
      until the sample of how busy the CPUs are (:data:`~.workers.SAMPLE_SECONDS`) is long
      enough, this process's own share taken out of it, so measuring waits for nothing (and
      forked workers inherit what those chunks prepared: numpy, the graph's tables, the memos
      of facts and statuses).  Then a pool only of as many workers as have
      :data:`DEFAULT_POOL_CHUNKS` chunks each left (fewer are done about as soon here: the
      pool's start and the results' trip back cost what the workers would save), counted by
      reading ahead, at most :data:`AHEAD_BYTES` of profiles (that many left is plenty for
      every worker)."""
    work = iter(work)
    workers = 1
    if jobs is None or jobs > 1:
        ahead, _, work = _ahead(work, 2)
        if ahead >= 2 and jobs is not None:
            workers = jobs
        elif ahead >= 2:
            from .workers import SAMPLE_SECONDS, CpuSample

            sample = CpuSample()
            for chunk in work:
                yield screen_chunk(plan, chunk)
                if sample.seconds() >= SAMPLE_SECONDS:
                    break
            workers, work = _default_workers(sample.busy(own=True), work)
    if workers > 1:
        yield from _pool(plan, work, workers)
        return
    for chunk in work:  # (not map: a StopIteration from a chunk would end the run as done)
        yield screen_chunk(plan, chunk)


def _default_workers(busy: float | None, work: Iterator[list[Record]]) -> tuple[int, Iterator[list[Record]]]:
    """The default number of workers for the chunks left (``busy``: the CPUs other processes
    keep busy, None when not known), and the chunks."""
    ahead, plenty, work = _ahead(work, 2 * DEFAULT_POOL_CHUNKS)  # the least any pool needs
    if ahead < 2 * DEFAULT_POOL_CHUNKS and not plenty:
        return 1, work
    from .workers import default_jobs

    jobs = default_jobs(lambda: busy)
    ahead, plenty, work = _ahead(work, jobs * DEFAULT_POOL_CHUNKS)
    return (jobs if plenty else max(1, min(jobs, ahead // DEFAULT_POOL_CHUNKS))), work


def _ahead(work: Iterator[list[Record]], n: int) -> tuple[int, bool, Iterator[list[Record]]]:
    """How many chunks are left, counted up to ``n`` (read ahead and put back), and whether
    counting stopped early, past two chunks, at :data:`AHEAD_BYTES` of text read ahead (then
    there are plenty)."""
    first: list[list[Record]] = []
    held = 0
    plenty = False
    for chunk in work:
        first.append(chunk)
        held += sum(len(r.text) for r in chunk if r.text is not None)
        plenty = held >= AHEAD_BYTES and len(first) >= 2
        if len(first) >= n or plenty:
            break
    return len(first), plenty, itertools.chain(first, work)


def start_method() -> str:
    """fork (Linux): workers inherit the parent's compiled trials.  Not from a process that runs
    other threads (forking those can deadlock), nor where fork is missing: there, spawned
    workers compile the plan's rule files themselves."""
    import multiprocessing
    import threading

    fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    return "fork" if fork else "spawn"


def _pool(plan: Plan, work: Iterable[list[Record]], jobs: int) -> Iterator[ChunkResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    method = start_method()
    if method == "fork":
        compiled(plan)
    others = set(multiprocessing.active_children())

    def stop_workers() -> None:  # the chunks in flight are not wanted
        abandon(pool, set(multiprocessing.active_children()) - others)

    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context(method),
        initializer=_init_worker,
        initargs=(plan, os.getpid()),
    )
    started: list[bool] = [] if method == "fork" else [True]

    def submit(chunk: list[Record]) -> _Future:
        if started:
            return pool.submit(_pool_chunk, chunk)
        from .workers import interrupts_held

        started.append(True)
        # The first submit forks every worker, and writes to no pipe (spawning does: held
        # interrupts could not stop a write to a worker that died before reading it).
        with interrupts_held():
            return pool.submit(_pool_chunk, chunk)

    try:
        yield from _ordered(submit, work, 2 * jobs)
    except BrokenProcessPool as exc:  # a worker died: killed by a signal, out of memory
        stop_workers()
        raise BatchError(WORKER_DIED) from exc
    except BaseException:  # an error or an interrupt
        stop_workers()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def abandon(pool: Any, workers: Iterable[Any]) -> None:
    """Stop the ``workers`` of a process pool whose chunks are no longer wanted (an error, an
    interrupt), so that the pool can be shut down without waiting for them.

    A worker ended halfway through sending a result leaves the pool's reading thread waiting
    for the rest of the message (and, as that thread never sees the worker gone, its feeding
    thread waiting to write chunks nobody reads): nobody but this process holds the other end
    of that pipe, so it would wait for ever, and the interpreter, which joins it when it exits,
    with it.  Once the workers are gone, this process's end is closed too: the reading thread
    then sees the end of the pipe and shuts the pool down as broken (which also unblocks the
    feeding thread).  Only the writing end of the results is closed here: the pool's own thread
    closes the other ends itself, and closing them twice from two threads is a race."""
    workers = list(workers)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join(timeout=5)
        if worker.is_alive():  # pragma: no cover - SIGTERM is not blocked in workers
            worker.kill()
            worker.join(timeout=5)
    results = getattr(getattr(pool, "_result_queue", None), "_writer", None)  # concurrent.futures'
    if results is not None:
        with contextlib.suppress(OSError):
            results.close()


def dask(plan: Plan, work: Iterable[list[Record]], jobs: int, scheduler: str | None) -> Iterator[ChunkResult]:
    """Screen the chunks on a Dask cluster: a local one of ``jobs`` single-threaded worker
    processes, or the one at ``scheduler``."""
    import importlib
    import logging

    try:  # imported by name: an optional dependency, typed as Any
        distributed = importlib.import_module("distributed")
    except ImportError as exc:
        raise BatchError(
            "--engine dask needs the optional dependency: pip install 'eligimatch[dask]'"
        ) from exc
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
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=jobs,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(Client(cluster))
            slots = jobs
        shared = client.scatter(plan, broadcast=True)

        def submit(chunk: list[Record]) -> _Future:
            future: _Future = client.submit(remote_chunk, shared, [with_text(r) for r in chunk], pure=False)
            return future

        try:
            yield from _ordered(submit, work, 2 * slots)
        except distributed.KilledWorker as exc:  # the task killed every worker it ran on
            raise BatchError(WORKER_DIED) from exc
