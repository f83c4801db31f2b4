"""Benchmarks of population-scale screening (issue 6).  A script, not a test.

    python benchmarks/run.py [--quick] [--jobs N] [--patients N] [--profile]

What it measures, on seeded synthetic profiles (benchmarks/synth.py) and a synthetic catalogue of
250+ trials made by varying the real trials' thresholds and windows (benchmarks/catalogue.py):

* throughput: patient × trial pairs per second and criteria decided per second (a status for
  each criterion of each pair; criteria shared by several trials are evaluated once per patient)
  of ``screen-batch``'s runner with ``--jobs`` workers (default: all cores), wall clock from the
  first chunk submitted to the last record written (workers' start-up included), output
  discarded;
* peak memory: the largest resident set (ru_maxrss) of the parent and of the workers;
* flat memory: peak RSS when screening N and 4N patients (one real trial, so that many patients
  flow): it must not grow with the number of patients;
* cold start: the median wall time of ``eligimatch screen PATIENT`` (the real trials) in a fresh
  process, over several runs;
* the floor: the time to only read and schema-validate the same profiles, and ``parse_ratio`` =
  screening time / parsing time per patient, both in CPU time on one core.

Each measured run happens in a fresh child process (``--child``), so one measurement's memory does
not leak into the next.  Figures are noisy when other processes share the cores.  The last line
printed is machine-readable::

    pairs_per_s=... criteria_per_s=... cold_screen_s=... parse_ratio=... peak_mb=...
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import catalogue  # noqa: E402
import synth  # noqa: E402

EXAMPLE = ROOT / "patients" / "p01_ups_metastatic_eligible.json"
# One real trial for the memory check, so that many patients flow through quickly: N must be
# well above the records in flight (2 chunks of up to 256 records per worker).
MEMORY_TRIAL = "NCT07342322"


# ---------------------------------------------------------------------------- child processes

def _child_batch(rules: Path, source: Path, jobs: int, trial: str) -> dict[str, Any]:
    """Screen ``source`` against ``rules`` (or one trial of them) with ``jobs`` workers; output
    discarded."""
    from eligimatch.batch import BatchInput, _peak_rss_kb, make_plan, run_batch
    from eligimatch.compile import load_rules

    t0 = time.perf_counter()
    plan = make_plan(load_rules(rules), [trial] if trial != "all" else None, None, "jsonl")
    load_s = time.perf_counter() - t0
    with open(os.devnull, "w", encoding="utf-8") as sink:
        summary = run_batch(BatchInput(source), plan, sink.write, jobs=jobs)
    return {"trials": len(plan.trial_ids), "load_s": load_s, "seconds": summary.seconds,
            "patients": summary.patients, "failed": summary.failed, "pairs": summary.pairs,
            "criteria": summary.criteria, "worker_cpu_s": summary.worker_cpu_s,
            "main_peak_kb": _peak_rss_kb(),
            "worker_peak_kb": summary.worker_peak_rss_kb}


def parse_per_patient(source: Path) -> float:
    """CPU seconds to read and schema-validate one profile (JSON + pydantic), one core."""
    from eligimatch import api

    lines = source.read_bytes().splitlines()
    api.parse_patient(lines[0], "warm-up")
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for i, line in enumerate(source.read_bytes().splitlines(), 1):
            api.parse_patient(line, f"{source}:{i}")
        best = min(best, time.process_time() - t0)
    return best / len(lines)


def _child(argv: list[str]) -> None:
    rules, source, jobs, trial = argv
    print(json.dumps(_child_batch(Path(rules), Path(source), int(jobs), trial)))


def _run_child(*args: object) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child",
                           *map(str, args)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"benchmark child {args} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------------------- measurements

def cold_screen(runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of a fresh ``eligimatch screen``."""
    import resource

    exe = Path(sys.executable).with_name("eligimatch")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "eligimatch"]
    times, cpu = [], []
    for i in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([*cmd, "screen", str(EXAMPLE)], capture_output=True, check=True)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i:       # the first run warms the disk cache
            times.append(wall)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times), statistics.median(cpu)


def profile(rules: Path, source: Path, n: int) -> None:
    """cProfile of one process screening ``n`` profiles: where the time goes."""
    import cProfile
    import pstats

    from eligimatch.batch import BatchInput, make_plan, run_batch
    from eligimatch.compile import load_rules

    plan = make_plan(load_rules(rules), None, None, "jsonl")
    lines = source.read_bytes().splitlines()[:n]
    subset = source.with_suffix(".profile.jsonl")
    subset.write_bytes(b"\n".join(lines) + b"\n")
    prof = cProfile.Profile()
    with open(os.devnull, "w", encoding="utf-8") as sink:
        prof.enable()
        run_batch(BatchInput(subset), plan, sink.write, jobs=1)
        prof.disable()
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(30)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        _child(argv[1:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    ap.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--patients", type=int, help="profiles for the throughput run")
    ap.add_argument("--trials", type=int, default=250, help="size of the synthetic catalogue")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", action="store_true",
                    help="also profile one process (cProfile) and print the hot spots")
    args = ap.parse_args(argv)
    n = args.patients or (400 if args.quick else 4000)
    n_mem = 1000 if args.quick else 5000
    cold_runs = 3 if args.quick else 9
    real_rules = ROOT / "rules"

    with tempfile.TemporaryDirectory(prefix="eligimatch-bench-") as tmp:
        t = Path(tmp)
        started = time.perf_counter()
        cat = t / "catalogue"
        n_trials = len(catalogue.build(cat, args.trials, args.seed))
        cohort = synth.write_jsonl(t / "cohort.jsonl", n, args.seed)
        print(f"catalogue: {n_trials} synthetic trials; cohort: {n} synthetic profiles "
              f"(seed {args.seed}); {args.jobs} jobs; {os.cpu_count()} cores")

        tp = _run_child(cat, cohort, args.jobs, "all")
        pairs_per_s = tp["pairs"] / tp["seconds"]
        criteria_per_s = tp["criteria"] / tp["seconds"]
        peak_mb = max(tp["main_peak_kb"], tp["worker_peak_kb"]) / 1024
        print(f"throughput: {tp['pairs']} pairs ({tp['patients']} patients × {tp['trials']} "
              f"trials, {tp['failed']} skipped) in {tp['seconds']:.2f} s = {pairs_per_s:,.0f} "
              f"pairs/s, {criteria_per_s:,.0f} criteria/s; catalogue load "
              f"{tp['load_s']:.2f} s (once, in the parent)")
        idle = tp["pairs"] / tp["worker_cpu_s"] * args.jobs
        print(f"CPU time: workers {tp['worker_cpu_s']:.1f} s = {idle:,.0f} pairs/s if {args.jobs} "
              f"cores were free for the workers (wall-clock figures suffer when other "
              f"processes share the cores)")
        print(f"peak RSS: parent {tp['main_peak_kb'] / 1024:.0f} MB, largest worker "
              f"{tp['worker_peak_kb'] / 1024:.0f} MB")

        parse_s = parse_per_patient(cohort)
        screen_s = tp["worker_cpu_s"] / tp["patients"]
        ratio = screen_s / parse_s
        one_core = tp["pairs"] / tp["worker_cpu_s"]
        print(f"one core (CPU time): {one_core:,.0f} pairs/s; per patient: screening "
              f"{screen_s * 1000:.1f} ms against {tp['trials']} trials, read + validate only "
              f"{parse_s * 1e6:.0f} µs: parse_ratio {ratio:,.0f}; wall-clock speed-up on "
              f"{args.jobs} jobs {pairs_per_s / one_core:.2f}×")

        small = synth.write_jsonl(t / "mem_n.jsonl", n_mem, args.seed + 1)
        large = synth.write_jsonl(t / "mem_4n.jsonl", 4 * n_mem, args.seed + 1)
        m1 = _run_child(real_rules, small, args.jobs, MEMORY_TRIAL)
        m4 = _run_child(real_rules, large, args.jobs, MEMORY_TRIAL)
        peak1 = max(m1["main_peak_kb"], m1["worker_peak_kb"]) / 1024
        peak4 = max(m4["main_peak_kb"], m4["worker_peak_kb"]) / 1024
        flat = peak4 <= peak1 * 1.10 + 5
        print(f"memory: {n_mem} patients × {MEMORY_TRIAL} peak {peak1:.0f} MB "
              f"(parent {m1['main_peak_kb'] / 1024:.0f}, worker {m1['worker_peak_kb'] / 1024:.0f})"
              f"; {4 * n_mem} patients peak {peak4:.0f} MB (parent "
              f"{m4['main_peak_kb'] / 1024:.0f}, worker {m4['worker_peak_kb'] / 1024:.0f}): "
              f"{'flat' if flat else 'NOT FLAT'}")

        cold, cold_cpu = cold_screen(cold_runs)
        print(f"cold start: `eligimatch screen {EXAMPLE.name}` median {cold:.3f} s over "
              f"{cold_runs} runs (CPU {cold_cpu:.3f} s)")
        print(f"targets: pairs/s ≥ 50,000: {'met' if pairs_per_s >= 50_000 else 'NOT met'}; "
              f"flat memory: {'met' if flat else 'NOT met'}; cold screen < 1 s: "
              f"{'met' if cold < 1 else 'NOT met'}; total benchmark time "
              f"{time.perf_counter() - started:.0f} s")
        if args.profile:
            profile(cat, cohort, min(n, 20))
        print(f"pairs_per_s={pairs_per_s:.0f} criteria_per_s={criteria_per_s:.0f} "
              f"cold_screen_s={cold:.3f} parse_ratio={ratio:.1f} peak_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
