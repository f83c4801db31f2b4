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
