"""Batch workers: they compile the plan from its bytes (no files, no temporary directory), keep
one compiled plan per process, and an error raised in one reaches the user as the same one line
as without workers, never as a broken process pool."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import pickle
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from cli_runner import run_main
from eligimatch import batch
from eligimatch.batch import engines
from eligimatch.batch import plan as batch_plan
from eligimatch.engine import load_rules
from eligimatch.errors import (
    ConfigError,
    EligimatchError,
    OutputError,
    PatientError,
    RuleFileError,
    UnitError,
    UnknownTrialError,
)

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "patients").glob("p0[1-9]_*.json"))
TRIALS = ("NCT06593899", "NCT07342322")


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    for t in TRIALS:
        shutil.copy(ROOT / "rules" / f"{t}.toml", d / f"{t}.toml")
    shutil.copytree(ROOT / "rules" / "shared", d / "shared")
    return d


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    """27 profiles: with chunks of 4, seven chunks spread over the workers."""
    lines = []
    for i in range(27):
        doc = json.loads(FILES[i % len(FILES)].read_text("utf-8"))
        doc["id"] = f"{doc['id']}-{i}"
        lines.append(json.dumps(doc))
    path = tmp_path / "cohort.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch.run, "MAX_CHUNK", 4)


class Unportable(EligimatchError, ValueError):
    """An error holding something that cannot be pickled."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.callback = lambda: None


ERRORS = {
    "rule file": RuleFileError(
        "rules/NCT07342322.toml", [("criteria[I8.anc].logic", "unknown analyte 'anc2'")]
    ),
    "patient": PatientError("cohort.jsonl:3", [("labs[0].unit", "not a unit")]),
    "unit": UnitError("mg/furlong", "not a unit", quantity="creatinine"),
    "trial": UnknownTrialError("NCT0", ["NCT07342322"], "NCT07342322"),
    "config": ConfigError("ELIGIMATCH_MAX_INPUT_BYTES", "expected a number of bytes"),
    "output": OutputError("out.jsonl", "cannot write: No space left on device"),
    "unpicklable": Unportable("a problem that cannot travel"),
}


def _fail_in_workers(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """Every chunk screened outside this process raises ``error`` (forked workers inherit the
    patch, even where an earlier test left a thread running; this process screens as usual)."""
    monkeypatch.setattr(engines, "start_method", lambda: "fork")
    parent = os.getpid()
    real = batch.chunk.compiled

    def compiled(plan: batch.Plan) -> batch_plan.Compiled:
        if os.getpid() != parent:
            raise error
        return real(plan)

    monkeypatch.setattr(batch.chunk, "compiled", compiled)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_an_error_in_a_worker_is_one_line_and_exit_2(
    name, rules, cohort, tmp_path, small_chunks, monkeypatch, capsys
):
    error = ERRORS[name]
    _fail_in_workers(monkeypatch, error)
    out = tmp_path / "out.jsonl"
    code, stdout, err = run_main(
        ["screen-batch", str(cohort), "--jobs", "2", "-o", str(out), "--rules", str(rules)], capsys
    )
    assert (code, stdout) == (2, "")
    assert err == (
        f"eligimatch: error: {error}; not written: {out} (an earlier file there is left as it was)\n"
    )
    assert "BrokenProcessPool" not in err and "Traceback" not in err
    assert not out.exists()
    assert not multiprocessing.active_children()  # the pool's workers are gone


def test_a_worker_that_dies_stops_the_run_with_one_line(
    rules, cohort, tmp_path, small_chunks, monkeypatch, capsys
):
    monkeypatch.setattr(engines, "start_method", lambda: "fork")
    parent = os.getpid()
    real = batch.chunk.compiled

    def compiled(plan: batch.Plan) -> batch_plan.Compiled:
        if os.getpid() != parent:  # as the out-of-memory killer would
            os.kill(os.getpid(), signal.SIGKILL)
        return real(plan)

    monkeypatch.setattr(batch.chunk, "compiled", compiled)
    out = tmp_path / "out.jsonl"
    code, stdout, err = run_main(
        ["screen-batch", str(cohort), "--jobs", "2", "-o", str(out), "--rules", str(rules)], capsys
    )
    assert (code, stdout) == (2, "")
    assert err == (
        f"eligimatch: error: {engines.WORKER_DIED}; not written: {out} (an earlier "
        "file there is left as it was)\n"
    )
    assert not out.exists() and not multiprocessing.active_children()


@pytest.mark.parametrize("name", sorted(set(ERRORS) - {"unpicklable"}))
def test_a_workers_error_is_raised_again_as_itself(name, rules, cohort, small_chunks, monkeypatch):
    error = ERRORS[name]
    _fail_in_workers(monkeypatch, error)
    p = batch.make_plan(load_rules(rules), None, None, "jsonl")
    with pytest.raises(EligimatchError) as caught:
        batch.run_batch(batch.BatchInput(cohort), p, lambda _: None, jobs=2)
    assert type(caught.value) is type(error)
    assert str(caught.value) == str(error)
    assert vars(caught.value).keys() == vars(error).keys()


def test_a_rule_file_a_spawned_worker_cannot_compile_is_one_line_and_exit_2(
    rules, cohort, small_chunks, monkeypatch, capsys
):
    """A worker that compiles the plan itself (spawned, or on Dask) and fails: the parent
    compiled the same plan without trouble (here: holds a good compiled form under its key)."""
    monkeypatch.setattr(engines, "start_method", lambda: "spawn")
    real = batch.command.make_plan

    def make_plan(ruleset: object, *args: object) -> batch.Plan:
        good = real(ruleset, *args)  # type: ignore[arg-type]
        name, data = good.rule_files[1]
        bad = dataclasses.replace(
            good, rule_files=(good.rule_files[0], (name, data.replace(b"[trial]", b"[trail]")))
        )
        batch_plan._CACHE[bad.key] = batch_plan.compiled(good)  # the parent: no error
        return bad

    monkeypatch.setattr(batch.command, "make_plan", make_plan)
    code, out, err = run_main(["screen-batch", str(cohort), "--jobs", "2", "--rules", str(rules)], capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"eligimatch: error: {rules / 'NCT07342322.toml'}: ")
    assert err.count("\n") == 1 and "trail" in err and "Broken" not in err


def test_an_error_that_cannot_travel_goes_back_as_a_batch_error_with_its_message(monkeypatch):
    def screen(plan: object, records: object) -> None:
        raise ERRORS["unpicklable"]

    monkeypatch.setattr(engines, "screen_chunk", screen)
    with pytest.raises(batch.BatchError, match=r"^a problem that cannot travel$") as caught:
        engines.remote_chunk(None, [])  # type: ignore[arg-type]
    pickle.loads(pickle.dumps(caught.value))


def test_a_bad_record_in_a_worker_is_still_skipped_not_fatal(rules, cohort, tmp_path, small_chunks, capsys):
    lines = cohort.read_text("utf-8").splitlines()
    lines[12] = '{"id": "bad", "as_of": "2026-11-16", "sex": "unknown"}'
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run_main(["screen-batch", str(bad), "--jobs", "2", "--rules", str(rules)], capsys)
    assert code == 1
    assert len(out.splitlines()) == 26 * len(TRIALS)
    assert f"eligimatch: skipped {bad}:13: sex: Input should be 'female' or 'male'\n" in err


# ---------------------------------------------------------------------------- compiling


def test_a_plan_compiles_from_its_bytes_alone(rules, cohort, monkeypatch):
    """Without the rule files, and without writing any file: as on a remote worker."""
    p = batch.make_plan(load_rules(rules), None, None, "jsonl")
    recs = list(batch.BatchInput(cohort))[:6]
    want = batch.screen_chunk(p, recs)
    shutil.rmtree(rules)

    def no_temporary_files(*args: object, **kwargs: object) -> None:
        raise AssertionError("a temporary file was made")

    for name in ("TemporaryDirectory", "mkdtemp", "mkstemp", "NamedTemporaryFile"):
        monkeypatch.setattr(tempfile, name, no_temporary_files)
    monkeypatch.setattr(batch_plan, "_CACHE", {})
    got = batch.screen_chunk(pickle.loads(pickle.dumps(p)), recs)
    assert got.text == want.text and got.messages == want.messages
    assert [a.as_dict() for a in got.attrition] == [a.as_dict() for a in want.attrition]


def test_one_compiled_plan_per_process_keyed_by_content(rules, monkeypatch):
    monkeypatch.setattr(batch_plan, "_CACHE", {})
    ruleset = load_rules(rules)
    both = batch.make_plan(ruleset, None, None, "jsonl")
    assert list(batch_plan._CACHE) == [both.key]
    again = batch.make_plan(ruleset, None, None, "csv")  # same rules: same compiled plan
    assert again.key == both.key
    one = batch.make_plan(ruleset, ["NCT07342322"], None, "jsonl")
    assert one.key != both.key and list(batch_plan._CACHE) == [one.key]  # the other dropped
    assert [t.id for t in batch_plan.compiled(one).trials] == ["NCT07342322"]
    assert [t.id for t in batch_plan.compiled(both).trials] == list(TRIALS)  # compiled again
    assert list(batch_plan._CACHE) == [both.key]


def test_the_key_follows_the_bytes(rules):
    p = batch.make_plan(load_rules(rules), None, None, "jsonl")
    name, data = p.rule_files[0]
    changed = batch.Plan(
        ((name, data + b"\n"), *p.rule_files[1:]),
        p.trial_ids,
        p.rules_sha256,
        p.as_of,
        p.fmt,
        p.max_bytes,
        p.shared,
    )
    assert changed.key != p.key
    same = batch.Plan(p.rule_files, p.trial_ids, p.rules_sha256, p.as_of, p.fmt, p.max_bytes, p.shared)
    assert same.key == p.key


def test_bytes_that_are_not_the_plans_trials_are_an_error(rules):
    p = batch.make_plan(load_rules(rules), None, None, "jsonl")
    wrong = batch.Plan(p.rule_files[:1], p.trial_ids, p.rules_sha256, p.as_of, p.fmt, p.max_bytes, p.shared)
    with pytest.raises(batch.BatchError, match="define no trial 'NCT07342322'"):
        batch_plan.compiled(wrong)
    name, _ = p.rule_files[0]
    broken = batch.Plan(
        ((name, b"[trial\n"),), p.trial_ids[:1], p.rules_sha256, p.as_of, p.fmt, p.max_bytes, p.shared
    )
    with pytest.raises(RuleFileError) as caught:  # named as the parent's file
        batch_plan.compiled(broken)
    assert str(caught.value).startswith(f"{rules / 'NCT06593899.toml'}: ")


def test_a_rule_file_changed_after_loading_is_refused(rules):
    ruleset = load_rules(rules)
    path = rules / "NCT07342322.toml"
    path.write_bytes(path.read_bytes() + b"# edited\n")
    with pytest.raises(batch.BatchError, match="changed while"):
        batch.make_plan(ruleset, None, None, "jsonl")


def test_an_input_of_one_chunk_is_screened_in_this_process(rules, cohort, monkeypatch, capsys):
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started")

    monkeypatch.setattr(engines, "_pool", no_pool)
    monkeypatch.setattr(batch.workers, "default_jobs", no_pool)  # nor measured
    for jobs in (["--jobs", "2"], []):
        code, out, err = run_main(["screen-batch", str(cohort), *jobs, "--rules", str(rules)], capsys)
        assert code == 0, err
        assert len(out.splitlines()) == 27 * len(TRIALS)


def test_the_default_number_of_jobs_is_measured_only_for_a_pool(
    rules, cohort, small_chunks, monkeypatch, capsys
):
    chosen: list[int] = []

    def measured(busy: object = None) -> int:
        chosen.append(2)
        return 2

    monkeypatch.setattr(batch.workers, "default_jobs", measured)
    monkeypatch.setattr(batch.workers, "SAMPLE_SECONDS", 0.0)  # over after the first chunk
    assert engines.DEFAULT_POOL_CHUNKS == 2  # 7 chunks: enough for 2 workers
    code, out, err = run_main(["screen-batch", str(cohort), "--rules", str(rules)], capsys)
    assert code == 0, err
    assert chosen == [2]
    alone = run_main(["screen-batch", str(cohort), "-j", "1", "--rules", str(rules)], capsys)
    assert alone[1] == out


def test_the_default_screens_here_while_it_measures_then_forks_warm_workers(
    rules, cohort, small_chunks, monkeypatch, tmp_path
):
    """Without --jobs, the first chunk is screened here while the CPUs are sampled, and the
    forked workers inherit what it prepared; with --jobs 2 the pool screens every chunk; the
    output is the same as with one job."""
    monkeypatch.setattr(engines, "start_method", lambda: "fork")
    monkeypatch.setattr(batch.workers, "SAMPLE_SECONDS", 0.0)  # over after the first chunk
    monkeypatch.setattr(batch.workers, "default_jobs", lambda busy=None: 2)
    log = tmp_path / "pids"
    real = engines.screen_chunk

    def logged(plan: batch.Plan, records: list[batch.Record]) -> batch.ChunkResult:
        with log.open("a") as f:
            f.write(f"{os.getpid()} {records[0].source}\n")
        return real(plan, records)

    monkeypatch.setattr(engines, "screen_chunk", logged)
    p = batch.make_plan(load_rules(rules), None, None, "jsonl")
    here = str(os.getpid())
    outs: dict[int | None, list[str]] = {}
    for jobs in (None, 2, 1):
        log.unlink(missing_ok=True)
        outs[jobs] = []
        batch.run_batch(batch.BatchInput(cohort), p, outs[jobs].append, jobs=jobs)
        screened = [line.split() for line in log.read_text().splitlines()]
        assert len(screened) == 7  # 27 profiles in chunks of 4
        pids = [pid for pid, _ in screened]
        if jobs is None:
            assert screened[0] == [here, f"{cohort}:1"]
            assert here not in pids[1:]  # the rest in workers
        elif jobs == 2:
            assert here not in pids
        else:
            assert set(pids) == {here}
    assert outs[None] == outs[2] == outs[1]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_the_default_starts_no_pool_for_too_few_chunks_per_worker(
    rules, cohort, small_chunks, monkeypatch, capsys, method
):
    """7 chunks, 4 per worker needed: not enough for two workers, not even measured."""
    monkeypatch.setattr(engines, "DEFAULT_POOL_CHUNKS", 4)
    monkeypatch.setattr(engines, "start_method", lambda: method)
    monkeypatch.setattr(batch.workers, "SAMPLE_SECONDS", 0.0)

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started, or the CPUs measured")

    monkeypatch.setattr(engines, "_pool", no_pool)
    monkeypatch.setattr(batch.workers, "default_jobs", no_pool)
    code, out, err = run_main(["screen-batch", str(cohort), "--rules", str(rules)], capsys)
    assert code == 0, err
    assert len(out.splitlines()) == 27 * len(TRIALS)


def test_the_default_takes_as_many_workers_as_chunks_allow(rules, cohort, small_chunks, monkeypatch):
    """Three CPUs free, 6 chunks left after the first: with 3 chunks per worker needed, a pool of
    two; with 1, of three; with 4, none (not even measured: 8 are needed for any pool)."""
    monkeypatch.setattr(engines, "start_method", lambda: "fork")
    monkeypatch.setattr(batch.workers, "SAMPLE_SECONDS", 0.0)
    measured: list[int] = []
    monkeypatch.setattr(batch.workers, "default_jobs", lambda busy=None: measured.append(3) or 3)
    pools: list[int] = []
    monkeypatch.setattr(engines, "_pool", lambda plan, work, jobs: pools.append(jobs) or iter(()))
    p = batch.make_plan(load_rules(rules), None, None, "jsonl")
    here = []
    for per_worker in (3, 1, 4):
        monkeypatch.setattr(engines, "DEFAULT_POOL_CHUNKS", per_worker)
        here.append(len(list(engines.local(p, engines.chunks(iter(batch.BatchInput(cohort)), 4), None))))
    assert pools == [2, 3]
    assert measured == [3, 3]
    assert here == [1, 1, 7]  # screened in this process (the rest was the pools')


def test_chunks_hold_a_bounded_amount_of_text():
    records = [batch.Record(f"r:{i}", b"x" * (1 << 20)) for i in range(10)]  # 1 MB profiles
    assert [len(c) for c in engines.chunks(records, 1024)] == [4, 4, 2]
    assert [len(c) for c in engines.chunks(records, 3)] == [3, 3, 3, 1]
    missing = [batch.Record(f"f{i}.json") for i in range(5)]  # unreadable: reported when screened
    assert [len(c) for c in engines.chunks(missing, 2, most_bytes=1)] == [2, 2, 1]


def test_a_directory_of_large_profiles_is_chunked_by_the_files_sizes(tmp_path):
    """(its records are read by whoever screens them: their files' sizes bound the chunks)"""
    for i in range(10):
        (tmp_path / f"p{i:02d}.json").write_bytes(b" " * (300_000 if i < 7 else 10))
    records = list(batch.BatchInput(tmp_path))
    assert all(r.text is None for r in records)
    assert [len(c) for c in engines.chunks(records, 1024, most_bytes=1_000_000)] == [4, 6]


def test_counting_chunks_ahead_stops_at_a_bounded_amount_of_text(monkeypatch):
    monkeypatch.setattr(engines, "AHEAD_BYTES", 3000)
    work = iter([[batch.Record(f"r:{i}", b"x" * 1000)] for i in range(10)])
    count, plenty, rest = engines._ahead(work, 8)
    assert (count, plenty) == (3, True)
    assert len(list(rest)) == 10  # nothing lost
    count, plenty, rest = engines._ahead(iter([[batch.Record("r", b"x")]] * 3), 8)
    assert (count, plenty, len(list(rest))) == (3, False, 3)


def test_large_profiles_left_are_plenty_for_every_worker(rules, cohort, small_chunks, monkeypatch):
    monkeypatch.setattr(engines, "start_method", lambda: "fork")
    monkeypatch.setattr(batch.workers, "SAMPLE_SECONDS", 0.0)
    monkeypatch.setattr(batch.workers, "default_jobs", lambda busy=None: 3)
    monkeypatch.setattr(engines, "AHEAD_BYTES", 1)  # every chunk counts as plenty
    pools: list[int] = []
    monkeypatch.setattr(engines, "_pool", lambda plan, work, jobs: pools.append(jobs) or iter(()))
    p = batch.make_plan(load_rules(rules), None, None, "jsonl")
    records = list(batch.BatchInput(cohort))
    assert len(list(engines.local(p, engines.chunks(iter(records), 4), None))) == 1
    assert pools == [3]  # not limited by the 2 chunks counted


@pytest.mark.parametrize("jobs", [1, None])
def test_a_stop_iteration_from_a_chunk_never_ends_the_run_as_done(
    rules, cohort, small_chunks, monkeypatch, jobs
):
    """(a generator's StopIteration is an error, not the end of the input: no patient dropped)"""
    real = engines.screen_chunk
    seen: list[int] = []

    def second_stops(plan: batch.Plan, records: list[batch.Record]) -> batch.ChunkResult:
        seen.append(1)
        if len(seen) == 2:
            raise StopIteration
        return real(plan, records)

    monkeypatch.setattr(engines, "screen_chunk", second_stops)
    monkeypatch.setattr(engines, "start_method", lambda: "spawn")
    monkeypatch.setattr(batch.workers, "default_jobs", lambda busy=None: 1)  # no pool: all here
    p = batch.make_plan(load_rules(rules), None, None, "jsonl")
    with pytest.raises(RuntimeError, match="StopIteration"):
        batch.run_batch(batch.BatchInput(cohort), p, lambda _: None, jobs=jobs)


def test_spawned_workers_start_without_held_interrupts(rules, cohort, small_chunks, monkeypatch):
    """Spawning writes each worker's start to a pipe: with interrupts held, a worker that died
    before reading it would leave the run deaf to Ctrl-C."""
    monkeypatch.setattr(engines, "start_method", lambda: "spawn")

    def held() -> None:
        raise AssertionError("interrupts held while spawning")

    monkeypatch.setattr(batch.workers, "interrupts_held", held)
    p = batch.make_plan(load_rules(rules), None, None, "jsonl")
    out: list[str] = []
    batch.run_batch(batch.BatchInput(cohort), p, out.append, jobs=2)
    alone: list[str] = []
    batch.run_batch(batch.BatchInput(cohort), p, alone.append, jobs=1)
    assert out == alone


def test_the_default_does_not_wait_to_measure_a_small_input(rules, cohort, small_chunks, monkeypatch, capsys):
    """Forking, the CPUs are sampled while this process screens: an input screened before the
    sample is long enough never starts a pool, and nothing waits for the sample."""
    monkeypatch.setattr(engines, "start_method", lambda: "fork")
    monkeypatch.setattr(batch.workers, "SAMPLE_SECONDS", 3600.0)

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started, or the CPUs sampled by waiting")

    monkeypatch.setattr(engines, "_pool", no_pool)
    monkeypatch.setattr(batch.workers, "busy_sample", no_pool)
    monkeypatch.setattr(batch.workers, "default_jobs", no_pool)
    code, out, err = run_main(["screen-batch", str(cohort), "--rules", str(rules)], capsys)
    assert code == 0, err
    assert len(out.splitlines()) == 27 * len(TRIALS)


@pytest.mark.parametrize("name", ["rule file", "unpicklable"])
def test_an_error_on_a_dask_worker_is_one_line_and_exit_2(
    name, rules, cohort, small_chunks, monkeypatch, capsys
):
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    error = ERRORS[name]

    def screen(plan: object, records: object) -> None:
        raise error

    monkeypatch.setattr(engines, "screen_chunk", screen)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        code, out, err = run_main(
            [
                "screen-batch",
                str(cohort),
                "--engine",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
                "--rules",
                str(rules),
            ],
            capsys,
        )
    assert (code, out) == (2, "")
    assert err == f"eligimatch: error: {error}\n"


def test_a_task_that_kills_its_dask_workers_stops_the_run_with_one_line(rules, cohort, monkeypatch, capsys):
    """The scheduler gives up on a task that killed the workers it ran on."""
    distributed = pytest.importorskip("distributed")
    from distributed import LocalCluster

    def ordered(*args: object) -> None:
        raise distributed.KilledWorker("screen_chunk-1", "tcp://127.0.0.1:1", 3)

    monkeypatch.setattr(engines, "_ordered", ordered)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        code, out, err = run_main(
            [
                "screen-batch",
                str(cohort),
                "--engine",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
                "--rules",
                str(rules),
            ],
            capsys,
        )
    assert (code, out) == (2, "")
    assert err == f"eligimatch: error: {engines.WORKER_DIED}\n"
