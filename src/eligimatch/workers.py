"""Worker processes that never outlive the run that started them.

:func:`bind_to_parent` runs first in every pool worker:

* On Linux it asks the kernel to kill the worker when its parent dies
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), whatever kills the parent, ``SIGKILL`` included; then
  it checks that the parent is still the one that started it (it may have died before the
  request was made).  Elsewhere a daemon thread polls the parent's pid once a second.
* SIGINT is ignored (a Ctrl-C reaches the whole process group; the parent decides what happens
  and stops the pool) and SIGTERM gets its default action back (a forked worker inherits the
  parent's handler, which would unwind the worker's loop with a traceback).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["bind_to_parent"]

PR_SET_PDEATHSIG = 1


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
    if not _pdeathsig():
        threading.Thread(target=_watch, args=(parent,), daemon=True,
                         name="eligimatch-parent-watch").start()
    if os.getppid() != parent:      # the parent died before the kernel was asked
        os._exit(1)
