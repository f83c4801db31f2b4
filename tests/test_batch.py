"""Batch screening (``eligimatch screen-batch``): inputs, outputs, attrition, bad records, and the
same bytes whatever the number of workers or the engine."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_runner import run_main
from eligimatch import batch
from eligimatch.batch import Attrition

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = ROOT / "patients"
# The nine example patients and three trials these tests were checked against by hand (the
# project's patients/ and rules/ grow; these tests run on copies of a fixed set).
FILES = sorted(PATIENTS.glob("p0[1-9]_*.json"))
GOLDEN = json.loads((PATIENTS / "expected" / "outcomes.json").read_text("utf-8"))
TRIALS = ("NCT06593899", "NCT06760221", "NCT07342322")
SCRIPT = Path(sys.executable).with_name("eligimatch")


@pytest.fixture(scope="session", autouse=True)
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the three trials' rule files; every run below uses it (``RULES``)."""
    d = tmp_path_factory.mktemp("rules")
    for t in TRIALS:
        shutil.copy(ROOT / "rules" / f"{t}.toml", d / f"{t}.toml")
    shutil.copytree(ROOT / "rules" / "shared", d / "shared")
    RULES[:] = ["--rules", str(d)]
    return d


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding copies of the nine example patients."""
    d = tmp_path_factory.mktemp("patients")
    for f in FILES:
        shutil.copy(f, d / f.name)
    return d


RULES: list[str] = []


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI in-process (on the three trials of the fixed copy)."""
    return run_main([*args, *RULES], capsys)


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    """The example patients as JSON Lines, one per line, in file-name order."""
    path = tmp_path / "cohort.jsonl"
    path.write_text(
        "".join(json.dumps(json.loads(f.read_text("utf-8"))) + "\n" for f in FILES), encoding="utf-8"
    )
    return path


@pytest.fixture
def big_cohort(tmp_path: Path) -> Path:
    """60 profiles (the examples, renamed) so that small chunks spread over several workers."""
    lines = []
    for i in range(60):
        doc = json.loads(FILES[i % len(FILES)].read_text("utf-8"))
        doc["id"] = f"{doc['id']}-{i}"
        lines.append(json.dumps(doc))
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch.run, "MAX_CHUNK", 4)


# ---------------------------------------------------------------------------- inputs and outputs


def test_directory_input_gives_one_record_per_patient_and_trial_matching_screen(examples, capsys):
    code, out, err = run("screen-batch", str(examples), "--jobs", "1", capsys=capsys)
    assert code == 0, err
    got = records(out)
    assert [(r["source"], r["trial_id"]) for r in got] == [
        (str(examples / f.name), t) for f in FILES for t in TRIALS
    ]
    for r in got:
        want = GOLDEN[Path(r["source"]).name][r["trial_id"]]
        assert (r["verdict"], r["failing"], r["unknown"]) == (
            want["verdict"],
            want["failing"],
            want["unknown"],
        )
        assert r["as_of"] == "2026-11-16"
        assert list(r) == [
            "patient_id",
            "source",
            "trial_id",
            "as_of",
            "rules_sha256",
            "verdict",
            "failing",
            "unknown",
        ]
    assert got[0]["patient_id"] == "p01"
    assert err.splitlines()[-1].startswith("eligimatch: screened 9 patients × 3 trials = 27 pairs in ")


def test_jsonl_input_with_trial_filter_and_csv_output(cohort, tmp_path, capsys):
    out_file = tmp_path / "out.csv"
    code, out, err = run(
        "screen-batch",
        str(cohort),
        "--trial",
        "NCT07342322",
        "--trial",
        "NCT06593899",
        "--format",
        "csv",
        "-o",
        str(out_file),
        "-j",
        "1",
        capsys=capsys,
    )
    assert code == 0, err
    assert out == ""
    rows = list(csv.reader(io.StringIO(out_file.read_text("utf-8"))))
    assert rows[0] == [
        "patient_id",
        "source",
        "trial_id",
        "as_of",
        "rules_sha256",
        "verdict",
        "failing",
        "unknown",
    ]
    body = rows[1:]
    assert [(r[1], r[2]) for r in body] == [
        (f"{cohort}:{i}", t) for i in range(1, 10) for t in ("NCT07342322", "NCT06593899")
    ]
    sha = body[0][4]
    assert body[2] == ["p02", f"{cohort}:2", "NCT07342322", "2026-11-16", sha, "ineligible", "I8.anc", ""]
    p09 = body[16]
    assert p09[:6] == ["p09", f"{cohort}:9", "NCT07342322", "2026-11-16", sha, "undetermined"]
    assert p09[7].split(";") == GOLDEN["p09_lms_calf_incomplete_record.json"]["NCT07342322"]["unknown"]


def test_trial_can_be_named_by_registry_id_and_unknown_trial_is_a_user_error(cohort, capsys):
    code, out, err = run("screen-batch", str(cohort), "--trial", "NCT0734232", capsys=capsys)
    assert code == 2 and out == ""
    assert err.startswith("eligimatch: error: unknown trial 'NCT0734232'; did you mean 'NCT07342322'?")
    assert err.count("\n") == 1


def test_stdin_is_read_as_json_lines(cohort, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(cohort.read_bytes())))
    code, out, err = run("screen-batch", "-", "--trial", "NCT07342322", "-j", "1", capsys=capsys)
    assert code == 0, err
    assert [r["source"] for r in records(out)] == [f"<stdin>:{i}" for i in range(1, 10)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["screen-batch", "nowhere.jsonl"], "nowhere.jsonl: no such file or directory"),
        (
            ["screen-batch", str(PATIENTS), "--scheduler", "tcp://127.0.0.1:1"],
            "--scheduler goes with --engine dask",
        ),
        (
            ["screen-batch", str(PATIENTS), "--as-of", "2026-13-01"],
            "--as-of: '2026-13-01' is not a date (expected YYYY-MM-DD)",
        ),
        (["screen-batch", str(ROOT / "seeds")], "no patient profiles (*.json) in this directory"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args, message, capsys):
    code, out, err = run(*args, capsys=capsys)
    assert code == 2 and out == ""
    assert err.startswith("eligimatch: error: ") and message in err
    assert err.count("\n") == 1


def test_jobs_must_be_positive(capsys):
    code, _, err = run("screen-batch", str(PATIENTS), "--jobs", "0", capsys=capsys)
    assert code == 2
    assert "--jobs" in err


# ---------------------------------------------------------------------------- bad records


def test_bad_records_are_reported_with_their_line_and_skipped(cohort, tmp_path, capsys):
    lines = cohort.read_text("utf-8").splitlines()
    lines[1] = '{"id": "broken", "as_of": "2026-11-16",'  # line 2
    lines[3] = '{"id": "schema", "as_of": "2026-11-16", "sex": "unknown"}'  # line 4
    lines.insert(5, "")  # line 6: blank
    lines.append('{"id": "future", "as_of": "2026-01-01", "birth_date": "2027-01-01"}')
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run("screen-batch", str(bad), "--trial", "NCT07342322", "-j", "2", capsys=capsys)
    assert code == 1
    assert [r["patient_id"] for r in records(out)] == ["p01", "p03", "p05", "p06", "p07", "p08", "p09"]
    assert [r["source"] for r in records(out)][2:4] == [f"{bad}:5", f"{bad}:7"]
    skipped = [line for line in err.splitlines() if line.startswith("eligimatch: skipped")]
    assert skipped == [
        f"eligimatch: skipped {bad}:2: not valid JSON (line 1, column 40: Expecting property "
        "name enclosed in double quotes)",
        f"eligimatch: skipped {bad}:4: sex: Input should be 'female' or 'male'",
        f"eligimatch: skipped {bad}:11: birth_date: date 2027-01-01 is after the evaluation date 2026-01-01",
    ]
    assert err.rstrip().endswith("3 records skipped")
    assert "Attrition NCT07342322: 7 patients screened" in err


def test_unreadable_file_in_a_directory_is_skipped(tmp_path, capsys):
    shutil.copy(FILES[0], tmp_path / "a.json")
    (tmp_path / "b.json").write_text("[]", encoding="utf-8")
    code, out, err = run("screen-batch", str(tmp_path), "--trial", "NCT07342322", capsys=capsys)
    assert code == 1
    assert len(records(out)) == 1
    assert f"eligimatch: skipped {tmp_path / 'b.json'}: a patient profile must be a JSON object" in err


# ---------------------------------------------------------------------------- attrition


def _expected_attrition(docs: list[dict], trial: str) -> list[tuple[int, int, int, int]]:
    """(fail, unknown, remaining, remaining_all_pass) per criterion, from `eligimatch screen`."""
    rows = []
    alive = {d["patient_id"]: True for d in docs}
    sure = dict(alive)
    ids = [c["id"] for c in next(t for t in docs[0]["trials"] if t["trial_id"] == trial)["criteria"]]
    for cid in ids:
        fail = unknown = 0
        for d in docs:
            status = next(
                c["status"]
                for t in d["trials"]
                if t["trial_id"] == trial
                for c in t["criteria"]
                if c["id"] == cid
            )
            fail += status == "fail"
            unknown += status == "unknown"
            alive[d["patient_id"]] &= status != "fail"
            sure[d["patient_id"]] &= status == "pass"
        rows.append((fail, unknown, sum(alive.values()), sum(sure.values())))
    return rows


def test_attrition_of_the_example_patients(examples, tmp_path, capsys):
    report = tmp_path / "attrition.json"
    code, _, err = run("screen-batch", str(examples), "--attrition", str(report), "-j", "1", capsys=capsys)
    assert code == 0
    assert "Attrition" not in err  # the report went to the file
    doc = json.loads(report.read_text("utf-8"))
    assert doc["patients"] == 9 and doc["records_skipped"] == 0
    assert [t["trial_id"] for t in doc["trials"]] == list(TRIALS)
    t = doc["trials"][2]
    # by hand from patients/expected/outcomes.json: I3 (histology) fails p05, p06, p07 and is
    # unknown for p09; I8.anc fails p02; eligible p01, p08; undetermined p03, p04, p09
    assert (t["patients"], t["eligible"], t["undetermined"], t["ineligible"]) == (9, 2, 3, 4)
    steps = {s["criterion"]: s for s in t["steps"]}
    assert steps["I3"] == {
        "criterion": "I3",
        "kind": "inclusion",
        "pass": 5,
        "fail": 3,
        "unknown": 1,
        "excluded_here": 3,
        "remaining": 6,
        "remaining_all_pass": 5,
    }
    assert steps["I8.anc"]["excluded_here"] == 1 and steps["I8.anc"]["remaining"] == 5
    assert t["steps"][-1]["remaining"] == t["eligible"] + t["undetermined"]
    assert t["steps"][-1]["remaining_all_pass"] == t["eligible"]
    proc = subprocess.run(
        [sys.executable, "-m", "eligimatch", "screen", "--format", "json", *map(str, FILES), *RULES],
        capture_output=True,
        text=True,
        check=True,
    )
    docs = json.loads(proc.stdout)
    for trial in doc["trials"]:
        got = [(s["fail"], s["unknown"], s["remaining"], s["remaining_all_pass"]) for s in trial["steps"]]
        assert got == _expected_attrition(docs, trial["trial_id"]), trial["trial_id"]


def test_attrition_table_goes_to_stderr_by_default(examples, capsys):
    code, _, err = run("screen-batch", str(examples), "--trial", "NCT07342322", "-j", "1", capsys=capsys)
    assert code == 0
    lines = err.splitlines()
    assert lines[0] == (
        "Attrition NCT07342322: 9 patients screened; eligible 2, undetermined 3, ineligible 4"
    )
    assert lines[1].split() == [
        "criterion",
        "kind",
        "pass",
        "fail",
        "unknown",
        "excluded",
        "remaining",
        "all",
        "pass",
    ]
    assert lines[2].split() == ["(screened)", "9", "9"]
    assert lines[6].split() == ["I3", "inclusion", "5", "3", "1", "3", "6", "5"]


def test_attrition_merge_adds_counts():
    a = Attrition("T", "t", (("I1", "inclusion"), ("E1", "exclusion")))
    b = a.empty()
    a.add(["pass", "fail"], "ineligible")
    b.add(["unknown", "pass"], "undetermined")
    b.add(["pass", "pass"], "eligible")
    a.merge(b)
    assert [
        (s["pass"], s["fail"], s["unknown"], s["remaining"], s["remaining_all_pass"]) for s in a.steps()
    ] == [(2, 0, 1, 3, 2), (2, 1, 0, 2, 1)]
    assert a.verdicts == {"eligible": 1, "undetermined": 1, "ineligible": 1}
    with pytest.raises(ValueError, match="other criteria"):
        a.merge(Attrition("U", "u", (("I1", "inclusion"),)))


# ---------------------------------------------------------------------------- determinism


def test_output_is_identical_with_one_or_two_jobs(big_cohort, tmp_path, small_chunks, capsys):
    outs = []
    for jobs in ("1", "2"):
        report = tmp_path / f"a{jobs}.json"
        code, out, err = run(
            "screen-batch", str(big_cohort), "-j", jobs, "--attrition", str(report), capsys=capsys
        )
        assert code == 0, err
        outs.append((out, report.read_bytes()))
    assert outs[0] == outs[1]
    assert len(outs[0][0].splitlines()) == 180


def test_spawned_workers_give_the_same_output(big_cohort, small_chunks, capsys):
    """With another thread running, workers are spawned (not forked) and compile the plan."""
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        spawned = run("screen-batch", str(big_cohort), "-j", "2", capsys=capsys)
    finally:
        stop.set()
        thread.join()
    alone = run("screen-batch", str(big_cohort), "-j", "1", capsys=capsys)
    assert spawned[0] == alone[0] == 0
    assert spawned[1] == alone[1]


def test_workers_compile_the_plan_from_its_bytes(big_cohort, rules_dir, monkeypatch):
    from eligimatch.engine import load_rules

    plan = batch.make_plan(load_rules(rules_dir), None, None, "jsonl")
    recs = list(batch.BatchInput(big_cohort))[:5]
    inherited = batch.screen_chunk(plan, recs)
    monkeypatch.setattr(batch.plan, "_CACHE", {})  # as in a spawned or remote worker
    compiled = batch.screen_chunk(plan, recs)
    assert compiled.text == inherited.text
    assert [a.as_dict() for a in compiled.attrition] == [a.as_dict() for a in inherited.attrition]


def test_as_of_overrides_the_profiles(cohort, capsys):
    code, out, _ = run(
        "screen-batch",
        str(cohort),
        "--trial",
        "NCT07342322",
        "--as-of",
        "2027-06-01",
        "-j",
        "1",
        capsys=capsys,
    )
    assert code == 0
    got = records(out)
    assert {r["as_of"] for r in got} == {"2027-06-01"}
    assert got[0]["verdict"] == "undetermined"  # p01's labs are now stale
    assert "I8.anc" in got[0]["unknown"]


def test_console_script_writes_only_records_to_stdout(cohort):
    exe = str(SCRIPT) if SCRIPT.exists() else shutil.which("eligimatch")
    assert exe
    proc = subprocess.run(
        [exe, "screen-batch", str(cohort), "--trial", "NCT07342322", *RULES],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(records(proc.stdout)) == 9
    assert "\r" not in proc.stderr  # no progress display when stderr is not a terminal
    assert proc.stderr.startswith("Attrition NCT07342322")


def test_progress_display_counts_and_clears():
    stream = io.StringIO()
    p = batch.Progress(stream, 200)
    p.last = 0.0
    p.start -= 10  # 10 s for the first quarter: 30 s to go
    p.update(batch.Summary(patients=3000, pairs=9000, failed=1), 50)
    line = stream.getvalue()
    assert line.startswith("\r[======>                 ]  25.0%  3,000 patients, 9,000 pairs, ")
    assert "1 skipped, about 30 s left" in line
    p.update(batch.Summary(patients=3000, pairs=9000, failed=1), 50)
    assert stream.getvalue() == line  # at most five updates a second
    p.last = 0.0
    p.update(batch.Summary(patients=12000, pairs=36000, failed=1), 200)
    assert stream.getvalue()[len(line) :].startswith("\r[========================] 100.0%  12,000")
    assert "left" not in stream.getvalue()[len(line) :]
    p.clear()
    assert stream.getvalue().endswith("\r\x1b[K")
    unknown_size = io.StringIO()
    q = batch.Progress(unknown_size, 0)  # standard input: no bar, no time left
    q.last = 0.0
    q.update(batch.Summary(patients=5, pairs=5), 123)
    assert unknown_size.getvalue().startswith("\r5 patients, 5 pairs, ")


# ---------------------------------------------------------------------------- dask


@pytest.fixture(scope="module")
def dask_scheduler():
    """A Dask cluster of two single-threaded workers inside this process (starts in ~0.1 s)."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
    yield cluster.scheduler_address
    cluster.close()


def test_dask_gives_the_same_output_as_the_local_runner(
    big_cohort, tmp_path, small_chunks, dask_scheduler, capsys
):
    outs = []
    for extra in (["-j", "1"], ["--engine", "dask", "--scheduler", dask_scheduler]):
        report = tmp_path / "a.json"
        code, out, err = run(
            "screen-batch", str(big_cohort), "--attrition", str(report), *extra, capsys=capsys
        )
        assert code == 0, err
        outs.append((out, report.read_bytes()))
    assert outs[0] == outs[1]


def test_dask_reads_directory_files_in_the_parent(tmp_path, dask_scheduler, capsys):
    for f in FILES[:3]:
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "z.json").write_text("{", encoding="utf-8")
    results = []
    for extra in (["-j", "1"], ["--engine", "dask", "--scheduler", dask_scheduler]):
        results.append(run("screen-batch", str(tmp_path), "--format", "csv", *extra, capsys=capsys))
    assert results[0][0] == results[1][0] == 1
    assert results[0][1] == results[1][1]
    assert f"skipped {tmp_path / 'z.json'}: not valid JSON" in results[1][2]


def test_dask_scheduler_that_cannot_be_reached_is_a_user_error(monkeypatch, capsys):
    pytest.importorskip("distributed")
    monkeypatch.setattr(batch.engines, "DASK_CONNECT_TIMEOUT", "0.5s")
    code, out, err = run(
        "screen-batch", str(PATIENTS), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9", capsys=capsys
    )
    assert code == 2 and out == ""
    assert err.startswith("eligimatch: error: --scheduler tcp://127.0.0.1:9: cannot connect")


def test_dask_default_local_cluster_of_worker_processes(cohort, tmp_path, capsys):
    """The default: a LocalCluster of worker processes, which compile the plan themselves."""
    pytest.importorskip("distributed")
    local = run("screen-batch", str(cohort), "-j", "1", capsys=capsys)
    dask = run("screen-batch", str(cohort), "--engine", "dask", "-j", "1", capsys=capsys)
    assert local[0] == dask[0] == 0
    assert local[1] == dask[1]


def _with_answer(tmp_path: Path, trial: str, criterion: str) -> Path:
    p = json.loads(FILES[0].read_text("utf-8"))
    p["attestations"] = [
        {
            "trial": trial,
            "criterion": criterion,
            "answer": "yes",
            "by": "dr x",
            "date": p.get("as_of", "2026-11-16"),
        }
    ]
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(p) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("trial", "criterion", "field"),
    [
        ("NCT00000000", "I1", "attestations[0].trial"),
        ("NCT07342322", "I99", "attestations[0].criterion"),
    ],
)
def test_an_answer_naming_what_the_rules_do_not_have_skips_the_record(
    tmp_path, capsys, trial, criterion, field
):
    code, out, err = run("screen-batch", str(_with_answer(tmp_path, trial, criterion)), capsys=capsys)
    assert code == 1 and out == ""  # records skipped: exit 1, as for any unreadable record
    assert f"skipped {tmp_path / 'one.jsonl'}:1" in err and field in err


def test_an_answer_to_a_loaded_trial_left_out_of_the_run_is_kept(tmp_path, capsys):
    path = _with_answer(tmp_path, "NCT07342322", "I1")
    code, out, err = run("screen-batch", str(path), "--trial", "NCT06593899", capsys=capsys)
    assert code == 0, err
    assert [r["trial_id"] for r in records(out)] == ["NCT06593899"]
    assert "skipped" not in err
