"""The default of ``--jobs``: the CPUs free now, measured, never fewer than one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli_runner import run_main
from eligimatch.batch import workers


@pytest.mark.parametrize(
    ("cpus", "load", "busy", "jobs"),
    [
        (2, 0.0, 0.0, 2),  # idle
        (2, 0.4, 0.45, 2),  # a little busy: 1.6 free
        (2, 0.6, 0.9, 1),  # 1.4 free: one job
        (2, 1.6, 0.02, 2),  # the load average remembers a run that has ended
        (2, 0.05, 1.9, 2),  # the sample caught a burst the minute's load does not show
        (2, 1.2, 1.4, 1),  # both busy
        (2, 6.0, 2.0, 1),  # saturated: one job, never none
        (8, 3.2, 3.0, 5),
        (8, 2.5, 2.6, 6),  # 5.5 free: half up
        (8, None, 7.5, 1),
        (4, 1.0, None, 3),  # one measure missing: the other decides
        (4, None, None, 4),  # nothing known: every CPU
        (1, 0.0, 0.0, 1),
        (2, -0.5, -1.0, 2),  # nonsense readings are no negative load
    ],
)
def test_choose_jobs(cpus, load, busy, jobs):
    assert workers.choose_jobs(cpus, load, busy) == jobs


@pytest.fixture
def cgroup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cpu.max"
    monkeypatch.setattr(workers, "CGROUP_CPU_MAX", str(path))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    return path


@pytest.mark.parametrize(
    ("quota", "cpus"),
    [
        (None, 4),
        ("max 100000\n", 4),
        ("150000 100000\n", 2),
        ("50000 100000\n", 1),
        ("800000 100000\n", 4),
        ("garbage\n", 4),
        ("1 0\n", 4),
        (b"\xff\xfe", 4),
    ],
)
def test_usable_cpus_are_the_affinity_capped_by_a_cgroup_quota(cgroup, quota, cpus):
    if isinstance(quota, bytes):
        cgroup.write_bytes(quota)
    elif quota is not None:
        cgroup.write_text(quota)
    assert workers.usable_cpus() == cpus


def test_the_load_average_is_scaled_to_the_cpus_this_process_may_use(cgroup, monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (6.0, 1.0, 1.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    assert workers.load_average() == pytest.approx(1.5)  # 6 of 16 CPUs busy, of 4


def _stat(**ticks: tuple[int, int]) -> str:
    """/proc/stat with (busy, idle) ticks per CPU."""
    lines = ["cpu  1 2 3 4 5 6 7 8 9 10"]
    for name, (busy, idle) in ticks.items():
        lines.append(f"{name} {busy} 0 0 {idle} 0 0 0 0 0 0")
    return "\n".join([*lines, "intr 12345"]) + "\n"


def test_busy_sample_reads_proc_stat_for_this_processs_cpus(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    monkeypatch.setattr(workers, "PROC_STAT", str(stat))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    stat.write_text(_stat(cpu0=(100, 100), cpu1=(100, 100), cpu2=(0, 0)))

    def sleep(seconds: float) -> None:  # during the sample: cpu0 all busy, cpu1 a quarter
        assert seconds == workers.SAMPLE_SECONDS
        stat.write_text(_stat(cpu0=(200, 100), cpu1=(125, 175), cpu2=(10_000, 0)))

    monkeypatch.setattr(workers.time, "sleep", sleep)
    assert workers.busy_sample() == pytest.approx(2 * 125 / 200)  # cpu2 is not ours


@pytest.mark.parametrize("text", ["", "cpu0 a b c d e\n", "no cpus here\n"])
def test_busy_sample_unknown_when_proc_stat_is_unreadable(tmp_path, monkeypatch, text):
    stat = tmp_path / "stat"
    if text:
        stat.write_text(text)
    monkeypatch.setattr(workers, "PROC_STAT", str(stat))
    monkeypatch.setattr(workers.time, "sleep", lambda s: None)
    assert workers.busy_sample() is None


@pytest.mark.parametrize(("own_cpu", "others"), [(1.0, 0.5), (0.25, 1.25), (0.0, 1.5), (2.0, 0.0)])
def test_a_sample_taken_while_this_process_works_counts_only_the_others(
    tmp_path, monkeypatch, own_cpu, others
):
    stat = tmp_path / "stat"
    monkeypatch.setattr(workers, "PROC_STAT", str(stat))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    stat.write_text(_stat(cpu0=(100, 100), cpu1=(100, 100)))
    clock = {"cpu": 10.0, "wall": 50.0}
    monkeypatch.setattr(workers.time, "process_time", lambda: clock["cpu"])
    monkeypatch.setattr(workers.time, "perf_counter", lambda: clock["wall"])
    sample = workers.CpuSample()
    # over one second: cpu0 all busy, cpu1 half (1.5 CPUs), of which this process used own_cpu
    stat.write_text(_stat(cpu0=(200, 100), cpu1=(150, 150)))
    clock["cpu"] += own_cpu
    clock["wall"] += 1.0
    assert sample.seconds() == 1.0
    assert sample.busy() == pytest.approx(1.5)
    assert sample.busy(own=True) == pytest.approx(others)


def test_a_sample_over_no_time_is_unknown_even_counting_this_process(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    stat.write_text(_stat(cpu0=(5, 5)))
    monkeypatch.setattr(workers, "PROC_STAT", str(stat))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert workers.CpuSample().busy(own=True) is None


def test_busy_sample_unknown_when_no_time_passed(tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    stat.write_text(_stat(cpu0=(5, 5)))
    monkeypatch.setattr(workers, "PROC_STAT", str(stat))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    monkeypatch.setattr(workers.time, "sleep", lambda s: None)
    assert workers.busy_sample() is None


def test_default_jobs_measures_this_machine(monkeypatch):
    monkeypatch.setattr(workers, "usable_cpus", lambda: 2)
    monkeypatch.setattr(workers, "load_average", lambda: 1.7)
    monkeypatch.setattr(workers, "busy_sample", lambda: 1.1)
    assert workers.default_jobs() == 1
    monkeypatch.setattr(workers, "busy_sample", lambda: 0.1)
    assert workers.default_jobs() == 2


def test_one_cpu_means_one_job_without_sampling(monkeypatch):
    monkeypatch.setattr(workers, "usable_cpus", lambda: 1)
    monkeypatch.setattr(workers, "busy_sample", lambda: pytest.fail("sampled"))
    assert workers.default_jobs() == 1


def test_default_jobs_on_this_machine_is_between_one_and_its_cpus():
    assert 1 <= workers.default_jobs() <= workers.usable_cpus()


def test_the_cli_help_states_the_rule(capsys):
    code, out, _ = run_main(["screen-batch", "--help"], capsys)
    assert code == 0
    text = " ".join(out.split())
    assert "the CPUs free now" in text and "1-minute load average" in text
    assert "at least 1" in text and "two chunks each left" in text
