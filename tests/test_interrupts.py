"""A signal whose exception Python could not raise (it arrived in a finaliser, or in a function
run after a fork) is not lost: the batch stops at its next chunk, and no output replaces its
target."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from eligimatch import interrupts
from eligimatch.batch import Record, make_plan, run_batch
from eligimatch.engine import load_rules
from eligimatch.errors import Interrupted

ROOT = Path(__file__).resolve().parents[1]
PROFILE = json.loads((ROOT / "patients" / "p01_ups_metastatic_eligible.json").read_text("utf-8"))


@pytest.fixture(autouse=True)
def _clean():
    interrupts.clear()
    yield
    interrupts.clear()


def _records(n: int) -> list[Record]:
    return [Record(f"r:{i}", json.dumps({**PROFILE, "id": f"p{i}"})) for i in range(n)]


def test_a_recorded_signal_stops_the_batch_at_the_next_chunk():
    plan = make_plan(load_rules(ROOT / "rules"), None, None, "jsonl")
    written: list[str] = []
    interrupts.record(15, "SIGTERM")
    with pytest.raises(Interrupted) as caught:
        run_batch(_records(3), plan, written.append, jobs=1)
    assert (caught.value.signum, caught.value.name) == (15, "SIGTERM")
    assert written == []


def test_without_a_signal_nothing_is_raised():
    interrupts.check()
    plan = make_plan(load_rules(ROOT / "rules"), None, None, "jsonl")
    written: list[str] = []
    assert run_batch(_records(2), plan, written.append, jobs=1).patients == 2


def test_an_interrupt_python_drops_is_not_printed_but_others_are(capsys, monkeypatch):
    class Dropping:
        def __init__(self, exc: BaseException) -> None:
            self.exc = exc

        def __del__(self) -> None:
            raise self.exc

    monkeypatch.setattr("sys.unraisablehook", interrupts.ignored)
    Dropping(Interrupted(2, "SIGINT"))
    gc.collect()
    assert capsys.readouterr().err == ""
    Dropping(ValueError("shown"))
    gc.collect()
    assert "ValueError: shown" in capsys.readouterr().err


def _square(x: int) -> int:
    return x * x


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_an_abandoned_pool_shuts_down_though_a_worker_died_halfway_through_a_result():
    """What a worker killed while sending leaves behind: the length of a message and no more.
    The pool's reading thread waits for the rest; abandon() lets it see the end of the pipe."""
    import multiprocessing
    import os
    import struct
    import threading
    from concurrent.futures import ProcessPoolExecutor

    from eligimatch.batch.engines import abandon

    ctx = multiprocessing.get_context("fork")
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
    assert pool.submit(_square, 3).result(timeout=30) == 9
    workers = set(multiprocessing.active_children()) - before
    os.write(pool._result_queue._writer.fileno(), struct.pack("!i", 1000))  # a header, no body
    abandon(pool, workers)
    done = threading.Event()
    threading.Thread(
        target=lambda: (pool.shutdown(wait=True, cancel_futures=True), done.set()), daemon=True
    ).start()
    assert done.wait(timeout=30), "the pool's threads still wait on its pipes"
    assert not any(w.is_alive() for w in workers)


DRIVER = """
import json, multiprocessing, os, signal, sys, time
from pathlib import Path
from eligimatch.batch import Record, engines, make_plan, run_batch
from eligimatch.batch import run as batch_run
from eligimatch.batch.inputs import BatchError
from eligimatch.cli import _on_signal
from eligimatch.engine import load_rules

signal.signal(signal.SIGTERM, _on_signal)  # as the command line runs
root, profile = Path(sys.argv[1]), json.loads(sys.argv[2])
real_init = engines._init_worker

def late_init(plan, parent):  # the worker, forked but not yet bound to its parent
    time.sleep(0.5)
    real_init(plan, parent)

def killing(submit, work, in_flight):  # terminate the workers as soon as they are forked
    first = [True]
    def then_kill(chunk):
        future = submit(chunk)
        if first:
            first.clear()
            for worker in multiprocessing.active_children():
                os.kill(worker.pid, signal.SIGTERM)
        return future
    return real_ordered(then_kill, work, in_flight)

engines._init_worker, engines.start_method = late_init, lambda: "fork"
real_ordered, engines._ordered = engines._ordered, killing
plan = make_plan(load_rules(root / "rules"), None, None, "jsonl")
records = [Record(f"r:{i}", json.dumps({**profile, "id": f"p{i}"})) for i in range(12)]
batch_run.MAX_CHUNK = 3  # four chunks: the first here, three for the pool
try:
    run_batch(records, plan, lambda _: None, jobs=2)
except BatchError as exc:
    print(f"stopped: {exc}")
"""


def test_a_worker_terminated_before_it_is_bound_to_its_parent_dies_without_a_traceback(tmp_path):
    """SIGTERM sent to a worker between its fork and bind_to_parent (as abandoning a pool does)
    waits until the worker has its own handlers: it dies at once, and the parent's handler never
    runs there (it printed a traceback on the shared stderr)."""
    import subprocess
    import sys

    from eligimatch.batch.engines import WORKER_DIED

    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script), str(ROOT), json.dumps(PROFILE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"stopped: {WORKER_DIED}\n"
    assert proc.stderr == ""
