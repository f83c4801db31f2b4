"""Benchmarks of screening that cannot flatter.  A script, not a test.

    python benchmarks/run.py [--quick] [--patients N] [--rounds 5] [--jobs N] [--profile]

Side by side, in one run, on seeded synthetic profiles (benchmarks/synth.py):

* three catalogues (benchmarks/catalogue.py): the five **real** trials; a 250-trial **distinct**
  catalogue whose thresholds, ULN multiples, windows and histology lists are all distinct (only
  parameterless parts and small enumerations stay shared); the 250-trial **varied** catalogue
  (copies of the real trials with thresholds varied a little: most of their criteria are shared,
  so the batch graph evaluates about one node in fifteen).  For each: patient × trial pairs per
  second per core, in CPU time and in wall time, of ``screen-batch``'s runner on one core
  (``run_batch`` with one job, in-process, output discarded), and the cost per stage in CPU
  time per patient: parse (read + validate the JSON), facts (build the facts), evaluate (the
  batch graph: every criterion's status), output (records and attrition: the rest), each
  stage timed as the runner runs it (chunk by chunk, the garbage collector paused per chunk);
* the **reference**: 250 trials of the same five simple criteria (ANC ≥, platelets ≥,
  bilirubin ≤ k × ULN, age ≥, ECOG ≤; distinct thresholds) screened by eligimatch (parse + facts
  + evaluate) and by a DuckDB query from the same JSON Lines file (benchmarks/reference.py, one
  thread); ``duckdb_ratio`` = eligimatch's CPU time / DuckDB's.  Both must give the same status
  (pass, fail, unknown) to every criterion of every pair; the agreement is checked and printed;
* memory: peak RSS of the batch runner on the distinct catalogue, and for N and 4N patients of
  one real trial with ``--jobs`` workers (it must not grow with the number of patients);
* ``--jobs``: wall time of the distinct catalogue with one job, with ``--jobs`` workers (what
  more workers buy while the machine is as loaded as it is) and without ``--jobs`` (the workers
  chosen from the CPUs free, which must not be slower than one job);
* loading 1,000 rule files (copies of the real trials, varied) in a fresh process: compiled
  (an empty cache), then from the cache of compiled rule files (median of 3);
* cold start: ``eligimatch screen PATIENT`` against all the real trials in a fresh process,
  median CPU time (user + system) and wall time: as installed (the modules' bytecode written, as
  ``pip install`` does, and the compiled rule files cached, as from a user's second run on: the
  figure of the last line), and the worst case beside it (no bytecode anywhere and no cache:
  every module, eligimatch's and its libraries', and every rule file compiled in each run);
  after each, a fixed loop in a fresh process, whose spread shows how much the host's speed
  wandered meanwhile.

Figures are medians of ``--rounds`` (5) paired rounds: each round measures every catalogue and
the reference back to back in one process (so a burst of load on the machine hits all of them),
and ratios are taken within a round.  Everything is single-threaded: CPU time is the figure to
trust when other processes share the cores; wall time shows what they cost.  The last line is
machine-readable (pairs per second per core in CPU time)::

    real_pairs_per_s=... distinct_pairs_per_s=... varied_pairs_per_s=... duckdb_ratio=...
    cold_screen_cpu_s=... peak_mb=...

DuckDB is the ``bench`` extra: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import gc
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
import reference  # noqa: E402
import synth  # noqa: E402

EXAMPLE = ROOT / "patients" / "p01_ups_metastatic_eligible.json"
# One real trial for the memory check, so that many patients flow through quickly: N must be
# well above the records in flight (2 chunks of up to 1,024 records per worker).
MEMORY_TRIAL = "NCT07342322"
JOBS_ROUNDS = 3  # runs of each --jobs setting
LOAD_TRIALS = 1000  # rule files loaded as a command starts (compiled, then from the cache)
CATALOGUES = ("real", "distinct", "varied")
STAGES = ("parse", "facts", "evaluate", "output")


def _clock() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    cpu, wall = _clock()
    return cpu - start[0], wall - start[1]


# ---------------------------------------------------------------------------- the measuring child


class _Workload:
    """One catalogue loaded, compiled and warmed up in the measuring process."""

    def __init__(self, rules: Path, records: list[Any]) -> None:
        from eligimatch.engine import Program, load_rules

        self.ruleset = load_rules(rules)
        self.trials = self.ruleset.trials
        self.program = Program(self.trials)
        self.records = records
        self.criteria = sum(len(t.criteria) for t in self.trials)

    def measure(self, keep: bool = False) -> dict[str, Any]:
        """One round: each stage alone, then the whole runner; CPU and wall seconds.  With
        ``keep``, the patient ids and statuses are kept (``self.last``) for the agreement
        check.

        The stages are timed as the runner runs them: chunk by chunk (``chunk_size``), the
        cyclic garbage collector paused for each chunk and one young-generation pass after it
        (:func:`~eligimatch.batch.chunk.screen_chunk`), that pass not counted in any stage
        (it is part of the runner's total, so of "output")."""
        from eligimatch import api
        from eligimatch.batch import chunk_size, make_plan, run_batch
        from eligimatch.facts import build_facts

        self.last = None
        plan = make_plan(self.ruleset, None, None, "jsonl")
        with open(os.devnull, "w", encoding="utf-8") as sink:  # compile the plan: not timed
            run_batch(self.records[:1], plan, sink.write, jobs=1)
        # what is loaded stays out of the garbage collector's way, as in a worker that has
        # compiled its plan; what a stage builds is collected as it would be
        gc.collect()
        gc.freeze()
        spent = {s: [0.0, 0.0] for s in STAGES[:3]}

        def timed(stage: str, start: tuple[float, float]) -> None:
            cpu, wall = _since(start)
            spent[stage][0] += cpu
            spent[stage][1] += wall

        size = chunk_size(len(self.trials))
        ids: list[str] = []
        statuses: list[Any] = []
        for i in range(0, len(self.records), size):
            part = self.records[i : i + size]
            gc.disable()
            t = _clock()
            patients = [api.parse_patient(r.text, r.source) for r in part]
            timed("parse", t)
            t = _clock()
            facts = [build_facts(p, None, r.source) for p, r in zip(patients, part, strict=True)]
            timed("facts", t)
            t = _clock()
            chunk = self.program.run_chunk(facts)
            timed("evaluate", t)
            gc.enable()
            gc.collect(0)
            if keep:
                ids.extend(f.patient_id for f in facts)
                statuses.extend(chunk.patient(p) for p in range(chunk.n))
            del patients, facts, chunk
        if keep:
            self.last = (ids, statuses)
        out: dict[str, Any] = {s: tuple(v) for s, v in spent.items()}
        gc.collect()
        t = _clock()
        with open(os.devnull, "w", encoding="utf-8") as sink:
            summary = run_batch(self.records, plan, sink.write, jobs=1)
        out["total"] = _since(t)
        gc.unfreeze()
        out["output"] = tuple(out["total"][i] - sum(out[s][i] for s in STAGES[:3]) for i in (0, 1))
        out["patients"], out["failed"] = summary.patients, summary.failed
        out["pairs"] = summary.pairs
        return out


def _agreement(work: _Workload, duck: dict[tuple[str, str], tuple[bool | None, ...]]) -> dict[str, Any]:
    """Compare eligimatch's status of every reference criterion of every pair with DuckDB's."""
    ids, statuses = work.last
    same = differ = 0
    examples: list[str] = []
    for pid, rows in zip(ids, statuses, strict=True):
        for t, (_, fail_at, unknown_at) in zip(work.trials, rows, strict=True):
            mine = tuple(
                False if k in fail_at else None if k in unknown_at else True for k in range(len(t.criteria))
            )
            theirs = duck.get((pid, t.id))
            for key, a, b in zip(catalogue.REFERENCE, mine, theirs or (), strict=False):
                if a is b:
                    same += 1
                else:
                    differ += 1
                    if len(examples) < 5:
                        examples.append(f"{pid} {t.id} {key}: eligimatch {a}, DuckDB {b}")
            if theirs is None:
                differ += len(mine)
                examples.append(f"{pid} {t.id}: no DuckDB row")
    return {
        "same": same,
        "differ": differ,
        "examples": examples,
        "pairs_checked": len(ids) * len(work.trials),
    }


def _child_measure(argv: list[str]) -> None:
    from eligimatch.batch import Record

    dirs = dict(zip(("real", "distinct", "varied", "reference"), map(Path, argv[:4]), strict=True))
    cohort, ref_cohort, rounds = Path(argv[4]), Path(argv[5]), int(argv[6])

    def records(path: Path) -> list[Any]:
        return [Record(f"{path.name}:{i}", line) for i, line in enumerate(path.read_bytes().splitlines(), 1)]

    t = _clock()
    work = {
        name: _Workload(d, records(ref_cohort if name == "reference" else cohort)) for name, d in dirs.items()
    }
    load = _since(t)
    con = reference.connect()
    reference.load_trials(con, len(work["reference"].trials))
    reference.screen(con, ref_cohort)  # warm-up
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in (*dirs, "duckdb")}
    agreement: dict[str, Any] = {}
    for r in range(rounds):
        for name, w in work.items():
            results[name].append(w.measure(keep=r == 0 and name == "reference"))
        t = _clock()
        reference.screen(con, ref_cohort)
        results["duckdb"].append({"total": _since(t)})
        if r == 0:
            agreement = _agreement(work["reference"], reference.statuses(con))
            agreement["counts"] = reference.counts(con)
            agreement["boundaries"] = reference.boundaries(con, ref_cohort)
    sizes = {
        name: {"trials": len(w.trials), "criteria": w.criteria, "nodes": w.program.size}
        for name, w in work.items()
    }
    print(json.dumps({"results": results, "sizes": sizes, "agreement": agreement, "load_cpu_s": load[0]}))


def _child_batch(argv: list[str]) -> None:
    """Screen a file against some rules (or one trial of them) with ``jobs`` workers; output
    discarded; print the summary and peak memory."""
    from eligimatch.batch import BatchInput, make_plan, peak_rss_kb, run_batch
    from eligimatch.engine import load_rules

    rules, source, jobs, trial = argv
    plan = make_plan(load_rules(Path(rules)), [trial] if trial != "all" else None, None, "jsonl")
    t = _clock()
    with open(os.devnull, "w", encoding="utf-8") as sink:  # "default": what --jobs left out does
        summary = run_batch(
            BatchInput(Path(source)), plan, sink.write, jobs=None if jobs == "default" else int(jobs)
        )
    cpu, wall = _since(t)
    print(
        json.dumps(
            {
                "pairs": summary.pairs,
                "patients": summary.patients,
                "wall_s": wall,
                "cpu_s": cpu,
                "worker_cpu_s": summary.worker_cpu_s,
                "main_peak_kb": peak_rss_kb(),
                "worker_peak_kb": summary.worker_peak_rss_kb,
            }
        )
    )


def _child_load(argv: list[str]) -> None:
    """Load (read and compile, or read from the cache) the rule files of a directory in a fresh
    process, the modules imported; print the CPU and wall time and how many trials."""
    from eligimatch.engine import load_rules

    t = _clock()
    ruleset = load_rules(Path(argv[0]))
    cpu, wall = _since(t)
    print(json.dumps({"trials": len(ruleset.trials), "cpu_s": cpu, "wall_s": wall}))


def _run_child(kind: str, *args: object, env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), kind, *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if proc.returncode != 0:
        sys.exit(f"benchmark child {kind} {args} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------------------- cold start, profile


# A fixed piece of pure Python, run in a fresh process after each cold start: how fast the host
# was at that moment (on a shared virtual machine, the same work takes a third more or less CPU
# time from one minute to the next).
HOST_PROBE = "x = 0\nfor i in range(2_000_000):\n    x += i"


def cold_screen(runs: int, *, installed: bool = True) -> tuple[float, float, list[float]]:
    """Median CPU time (user + system) and median wall time of a fresh ``eligimatch screen``,
    and the CPU times of :data:`HOST_PROBE` run after each.

    ``installed``: as after ``pip install`` (which writes the modules' bytecode) and from the
    second run on (the compiled rule files cached): the first, unmeasured run writes both, even
    where ``PYTHONDONTWRITEBYTECODE`` is set.  Otherwise every module (eligimatch's, its
    libraries', the standard library's) is compiled from source and every rule file compiled,
    each run: the bytecode is looked for in an empty directory (``PYTHONPYCACHEPREFIX``) and none
    written, and the cache is off (the worst case, a first run with no bytecode at all)."""
    import resource

    exe = Path(sys.executable).with_name("eligimatch")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "eligimatch"]
    env = dict(os.environ)
    if installed:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("ELIGIMATCH_NO_CACHE", None)
    else:  # (the bytecode beside the modules, which the installed runs wrote, would be read)
        nowhere = tempfile.TemporaryDirectory(prefix="eligimatch-no-bytecode-")
        env.update(PYTHONDONTWRITEBYTECODE="1", ELIGIMATCH_NO_CACHE="1", PYTHONPYCACHEPREFIX=nowhere.name)

    def child_cpu(argv: list[str]) -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, env=env)
        elapsed = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, elapsed

    cpu, wall, probe = [], [], []
    for i in range(runs + 1):
        c, w = child_cpu([*cmd, "screen", str(EXAMPLE)])
        if i:  # the first run warms the disk cache
            cpu.append(c)
            wall.append(w)
            probe.append(child_cpu([sys.executable, "-S", "-c", HOST_PROBE])[0])
    return statistics.median(cpu), statistics.median(wall), probe


def profile(rules: Path, source: Path, n: int) -> None:
    """cProfile of one process screening ``n`` profiles: where the time goes."""
    import cProfile
    import pstats

    from eligimatch.batch import BatchInput, make_plan, run_batch
    from eligimatch.engine import load_rules

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


# ---------------------------------------------------------------------------- report


def _median(rounds: list[dict[str, Any]], key: str, i: int) -> float:
    return statistics.median(r[key][i] for r in rounds)


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # pragma: no cover
        return "load unknown"
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child-measure":
        _child_measure(argv[1:])
        return
    if argv and argv[0] == "--child-batch":
        _child_batch(argv[1:])
        return
    if argv and argv[0] == "--child-load":
        _child_load(argv[1:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: about a minute")
    ap.add_argument("--patients", type=int, help="profiles per round (default 1000; quick 200)")
    ap.add_argument("--rounds", type=int, default=5, help="paired rounds (medians of these)")
    ap.add_argument("--trials", type=int, default=250, help="size of the synthetic catalogues")
    ap.add_argument(
        "--jobs",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="workers for the flat-memory and --jobs checks (default: all cores)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--profile", action="store_true", help="also profile one process (cProfile) and print the hot spots"
    )
    args = ap.parse_args(argv)
    n = args.patients or (200 if args.quick else 1000)
    n_mem = 5000 if args.quick else 10_000
    cold_runs = 5 if args.quick else 9
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="eligimatch-bench-") as tmp:
        t = Path(tmp)
        dirs = {
            "real": ROOT / "rules",
            "distinct": t / "distinct",
            "varied": t / "varied",
            "reference": t / "reference",
        }
        catalogue.build_distinct(dirs["distinct"], args.trials, args.seed)
        catalogue.build(dirs["varied"], args.trials, args.seed)
        catalogue.build_reference(dirs["reference"], args.trials)
        cohort = synth.write_jsonl(t / "cohort.jsonl", n, args.seed)
        edges = reference.boundary_profiles()
        ref_cohort = t / "reference.jsonl"  # the cohort and the boundary cases
        ref_cohort.write_text(
            cohort.read_text("utf-8") + "".join(json.dumps(p, separators=(",", ":")) + "\n" for p in edges),
            encoding="utf-8",
        )
        print(
            f"cohort: {n} synthetic profiles (seed {args.seed}), and for the reference "
            f"{len(edges)} more on its thresholds and windows; {args.rounds} paired rounds "
            f"on one core; {os.cpu_count()} cores, {_load()} at the start"
        )

        m = _run_child("--child-measure", *dirs.values(), cohort, ref_cohort, args.rounds)
        res, sizes = m["results"], m["sizes"]
        print(
            f"{'catalogue':<10} {'trials':>6} {'criteria':>8} {'nodes':>6} "
            f"{'pairs/s CPU':>12} {'pairs/s wall':>12} {'µs/pair':>8} | CPU µs per patient: "
            + " ".join(f"{s:>8}" for s in STAGES)
        )
        per_s: dict[str, float] = {}
        for name in (*CATALOGUES, "reference"):
            rounds, size = res[name], sizes[name]
            pairs = rounds[0]["pairs"]
            patients = rounds[0]["patients"]
            cpu = pairs / _median(rounds, "total", 0)
            wall = pairs / _median(rounds, "total", 1)
            per_s[name] = cpu
            stages = " ".join(f"{_median(rounds, s, 0) / patients * 1e6:8.0f}" for s in STAGES)
            print(
                f"{name:<10} {size['trials']:>6} {size['criteria']:>8} {size['nodes']:>6} "
                f"{cpu:>12,.0f} {wall:>12,.0f} {1e6 / cpu:>8.1f} | {'':19} {stages}"
            )
        skipped = {name: res[name][0]["failed"] for name in (*CATALOGUES, "reference")}
        if any(skipped.values()):
            print(f"skipped profiles (bad records): {skipped}")

        # the reference: eligimatch (parse + facts + evaluate) against DuckDB, paired per round
        ref, duck = res["reference"], res["duckdb"]
        mine = [sum(r[s][0] for s in STAGES[:3]) for r in ref]
        mine_wall = [sum(r[s][1] for s in STAGES[:3]) for r in ref]
        ratios = [a / d["total"][0] for a, d in zip(mine, duck, strict=True)]
        wall_ratios = [a / d["total"][1] for a, d in zip(mine_wall, duck, strict=True)]
        duckdb_ratio = statistics.median(ratios)
        eval_ratio = statistics.median(
            e["evaluate"][0] / d["total"][0] for e, d in zip(ref, duck, strict=True)
        )
        pairs = ref[0]["pairs"]
        print(
            f"reference ({sizes['reference']['trials']} trials × 5 criteria, {pairs:,} pairs):"
            f" eligimatch parse + facts + evaluate {statistics.median(mine):.3f} s CPU, DuckDB "
            f"(read JSON + query, 1 thread) {_median(duck, 'total', 0):.3f} s CPU: eligimatch/"
            f"DuckDB {duckdb_ratio:.1f}× in CPU time (rounds "
            f"{', '.join(f'{x:.1f}' for x in ratios)}), {statistics.median(wall_ratios):.1f}× "
            f"in wall time; evaluate alone {_median(ref, 'evaluate', 0):.3f} s CPU, "
            f"{eval_ratio:.1f}× DuckDB's whole query"
        )
        a = m["agreement"]
        print(
            f"agreement with DuckDB: {a['same']:,} of {a['same'] + a['differ']:,} criterion "
            f"statuses the same over {a['pairs_checked']:,} pairs"
            + ("" if not a["differ"] else f"; {a['differ']} DIFFER, e.g. " + "; ".join(a["examples"]))
        )
        print(
            "  pass/fail/unknown per criterion: "
            + ", ".join(f"{k} {'/'.join(f'{x:,}' for x in v)}" for k, v in a["counts"].items())
            + "; pairs whose value lies exactly on the threshold: "
            + ", ".join(f"{k} {v:,}" for k, v in a["boundaries"].items())
        )

        batch = _run_child("--child-batch", dirs["distinct"], cohort, 1, "all")
        if args.jobs > 1:  # what more workers buy on this machine now (for --jobs, item 5)
            load = _load()
            walls: dict[str, list[float]] = {"1": [batch["wall_s"]], str(args.jobs): [], "default": []}
            for i in range(JOBS_ROUNDS):  # interleaved, so that a burst of load hits all three
                for jobs in walls:
                    if i or jobs != "1":
                        walls[jobs].append(
                            _run_child("--child-batch", dirs["distinct"], cohort, jobs, "all")["wall_s"]
                        )
            one, many, chosen = (statistics.median(w) for w in walls.values())
            from eligimatch.batch import chunk_size

            chunks = -(-n // chunk_size(sizes["distinct"]["trials"]))
            print(
                f"--jobs: distinct catalogue, {n} patients ({chunks} chunk{'s' if chunks > 1 else ''}"
                + ("" if chunks > 1 else ": screened in this process whatever --jobs")
                + f"), median wall of {JOBS_ROUNDS} interleaved runs: 1 job {one:.2f} s, {args.jobs} "
                f"jobs {many:.2f} s ({one / many:.2f}× faster), without --jobs (workers chosen from "
                f"the CPUs free) {chosen:.2f} s ({one / chosen:.2f}×); {load} before"
            )
        small = synth.write_jsonl(t / "mem_n.jsonl", n_mem, args.seed + 1)
        large = synth.write_jsonl(t / "mem_4n.jsonl", 4 * n_mem, args.seed + 1)
        m1 = _run_child("--child-batch", dirs["real"], small, args.jobs, MEMORY_TRIAL)
        m4 = _run_child("--child-batch", dirs["real"], large, args.jobs, MEMORY_TRIAL)
        peak_distinct = max(batch["main_peak_kb"], batch["worker_peak_kb"]) / 1024
        peak1 = max(m1["main_peak_kb"], m1["worker_peak_kb"]) / 1024
        peak4 = max(m4["main_peak_kb"], m4["worker_peak_kb"]) / 1024
        flat = peak4 <= peak1 * 1.10 + 5
        peak = max(peak_distinct, peak1, peak4)
        print(
            f"memory: distinct catalogue, {n} patients, 1 job: peak {peak_distinct:.0f} MB "
            f"({batch['pairs'] / batch['cpu_s']:,.0f} pairs/s CPU in a fresh process); "
            f"{n_mem} patients × {MEMORY_TRIAL}, {args.jobs} jobs: peak {peak1:.0f} MB; "
            f"{4 * n_mem}: {peak4:.0f} MB: {'flat' if flat else 'NOT FLAT'}"
        )

        cold_cpu, cold_wall, probe = cold_screen(cold_runs)
        src_cpu, src_wall, _ = cold_screen(cold_runs, installed=False)
        print(
            f"cold start: `eligimatch screen {EXAMPLE.name}` (5 real trials) median "
            f"{cold_cpu:.3f} s CPU, {cold_wall:.3f} s wall over {cold_runs} runs, as installed "
            f"(bytecode written, compiled rules cached); {src_cpu:.3f} s CPU, {src_wall:.3f} s "
            "wall with no bytecode and no cache (every module and rule file compiled each run); the host's "
            f"speed meanwhile: a fixed loop in a fresh process took {min(probe) * 1e3:.0f}–"
            f"{max(probe) * 1e3:.0f} ms CPU (median {statistics.median(probe) * 1e3:.0f})"
        )

        # loading a large catalogue as a command starts: compiled, then from the cache
        big = t / "load1000"
        catalogue.build(big, LOAD_TRIALS, args.seed)
        env = dict(os.environ, ELIGIMATCH_CACHE_DIR=str(t / "load-cache"))
        env.pop("ELIGIMATCH_NO_CACHE", None)
        compiled = _run_child("--child-load", big, env=env)
        from_cache = [_run_child("--child-load", big, env=env) for _ in range(3)]
        load_cached = statistics.median(r["cpu_s"] for r in from_cache)
        print(
            f"loading {compiled['trials']:,} rule files (the varied catalogue's kind) in a fresh "
            f"process: compiled {compiled['cpu_s']:.2f} s CPU, from the cache "
            f"{load_cached:.2f} s CPU (median of 3), "
            f"{statistics.median(r['wall_s'] for r in from_cache):.2f} s wall"
        )
        targets = [
            ("distinct ≥ 60,000 pairs/s", per_s["distinct"] >= 60_000),
            ("real ≥ 15,000 pairs/s", per_s["real"] >= 15_000),
            ("within 2× of DuckDB", duckdb_ratio <= 2),
            ("cold screen ≤ 0.35 s CPU", cold_cpu <= 0.35),
            ("flat memory", flat),
            (f"{LOAD_TRIALS:,} rule files load < 1 s CPU", load_cached < 1),
        ]
        sized = "" if n == 1000 else f" (at {n} patients, not the 1,000 the targets are measured at)"
        print(
            f"targets{sized}: " + "; ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in targets)
        )
        print(
            f"{_load()} at the end; catalogue loads {m['load_cpu_s']:.1f} s CPU (not timed); "
            f"total benchmark time {time.perf_counter() - started:.0f} s"
        )
        if args.profile:
            profile(dirs["distinct"], cohort, min(n, 20))
        print(
            f"real_pairs_per_s={per_s['real']:.0f} distinct_pairs_per_s={per_s['distinct']:.0f}"
            f" varied_pairs_per_s={per_s['varied']:.0f} duckdb_ratio={duckdb_ratio:.2f} "
            f"cold_screen_cpu_s={cold_cpu:.3f} peak_mb={peak:.0f}"
        )


if __name__ == "__main__":
    main()
