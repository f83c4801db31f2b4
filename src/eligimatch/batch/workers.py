"""Worker processes that never outlive the run that started them.

:func:`bind_to_parent` runs first in every pool worker:

* On Linux it asks the kernel to kill the worker when its parent dies
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), whatever kills the parent, ``SIGKILL`` included; then
  it checks that the parent is still the one that started it (it may have died before the
  request was made).  Elsewhere a daemon thread polls the parent's pid once a second.
* SIGINT is ignored (a Ctrl-C reaches the whole process group; the parent decides what happens
  and stops the pool) and SIGTERM gets its default action back (a forked worker inherits the
  parent's handler, which would unwind the worker's loop with a traceback).  Until then both
  are held: the parent forks its workers inside :func:`interrupts_held`.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "CpuSample",
    "bind_to_parent",
    "busy_sample",
    "choose_jobs",
    "default_jobs",
    "interrupts_held",
    "load_average",
    "usable_cpus",
]

_HELD = (signal.SIGINT, signal.SIGTERM)  # the signals a worker leaves to its parent
PR_SET_PDEATHSIG = 1
CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"
PROC_STAT = "/proc/stat"
SAMPLE_SECONDS = 0.1


def _pdeathsig() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def bind_to_parent(parent: int) -> None:
    """Make this process end when ``parent`` (the pid that started it) ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # held since the fork (interrupts_held): now they may come
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)
    if not _pdeathsig():
        threading.Thread(target=_watch, args=(parent,), daemon=True, name="eligimatch-parent-watch").start()
    if os.getppid() != parent:  # the parent died before the kernel was asked
        os._exit(1)


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """SIGINT and SIGTERM held (blocked) in this thread while it forks workers, and delivered
    when the block ends.  A forked worker starts with them held, and gets them only once
    :func:`bind_to_parent` has given it its own handlers: one sent in between (abandoning a pool
    terminates its workers) would otherwise run the parent's handler in the worker, which then
    printed a traceback on the shared stderr."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:  # pragma: no cover - not on POSIX (no fork there either)
        yield
        return
    before = mask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, before)


# ---------------------------------------------------------------------------- how many


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask, capped by a cgroup v2 CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        n = min(n, math.ceil(quota))
    return max(1, n)


def _cgroup_quota() -> float | None:
    try:
        fields = Path(CGROUP_CPU_MAX).read_text("ascii").split()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        return int(fields[0]) / int(fields[1]) if len(fields) == 2 else None
    except (ValueError, ZeroDivisionError):  # "max": no quota
        return None


def load_average() -> float | None:
    """The 1-minute load average, as a share of this process's CPUs (the load is counted over
    every CPU of the machine; None where it is not known)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not on POSIX
        return None
    return load * usable_cpus() / max(1, os.cpu_count() or 1)


def busy_sample(seconds: float = SAMPLE_SECONDS) -> float | None:
    """How many of this process's CPUs were busy (not idle, not waiting for I/O) over a short
    sample of ``/proc/stat`` (None where it cannot be read)."""
    sample = CpuSample()
    time.sleep(seconds)
    return sample.busy()


class CpuSample:
    """A sample of how busy this process's CPUs are, from now to :meth:`busy`.  It can be taken
    while this process works: its own CPU time over the sample is then counted as free (it is
    the time the workers would have), so that only *other* processes' work counts as busy."""

    def __init__(self) -> None:
        try:
            self._mine: set[str] | None = {f"cpu{i}" for i in os.sched_getaffinity(0)}
        except AttributeError:  # pragma: no cover - not on Linux
            self._mine = None
        self._before = _cpu_times(self._mine) if self._mine else {}
        self._own = time.process_time()
        self._wall = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self._wall

    def busy(self, *, own: bool = False) -> float | None:
        """CPUs busy over the sample (None where ``/proc/stat`` cannot be read or no time
        passed); with ``own``, less this process's own share (its CPU time over the sample's
        wall time)."""
        after = _cpu_times(self._mine) if self._mine else {}
        if not self._before or not after:
            return None
        busy = total = 0
        for cpu, (b_busy, b_total) in self._before.items():
            a_busy, a_total = after.get(cpu, (b_busy, b_total))
            busy += a_busy - b_busy
            total += a_total - b_total
        if total <= 0:
            return None
        taken = len(self._before) * busy / total
        if own:
            wall = self.seconds()
            taken -= (time.process_time() - self._own) / wall if wall > 0 else 0.0
        return max(0.0, taken)


def _cpu_times(cpus: set[str]) -> dict[str, tuple[int, int]]:
    """(busy, total) clock ticks of each of ``cpus`` since boot."""
    try:
        lines = Path(PROC_STAT).read_text("ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    out = {}
    for line in lines:
        name, _, rest = line.partition(" ")
        if name in cpus:
            try:
                ticks = [int(x) for x in rest.split()[:8]]  # user nice system idle iowait ...
            except ValueError:
                return {}
            if len(ticks) >= 5:
                total = sum(ticks)
                out[name] = (total - ticks[3] - ticks[4], total)
    return out


def choose_jobs(cpus: int, load: float | None, busy: float | None) -> int:
    """Workers for ``cpus`` usable CPUs: the CPUs not busy, rounded (half up), at least 1.

    Busy is the smaller of the two measures given: the 1-minute load average remembers runs
    that have just ended (this command's previous run included) and a short sample can catch a
    burst, so a CPU counts as busy only when both say so.  Neither known: every CPU is free."""
    known = [x for x in (load, busy) if x is not None]
    taken = max(0.0, min(known)) if known else 0.0
    return max(1, min(cpus, math.floor(cpus - taken + 0.5)))


def default_jobs(busy: Callable[[], float | None] | None = None) -> int:
    """The default of ``--jobs``: :func:`choose_jobs` over this machine, now, the CPUs that
    other processes keep busy given by ``busy`` (default: :func:`busy_sample`; one job, at no
    cost, when this process may use one CPU only)."""
    cpus = usable_cpus()
    if cpus == 1:
        return 1
    return choose_jobs(cpus, load_average(), (busy or busy_sample)())
