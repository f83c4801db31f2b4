"""Every output of ``screen-batch`` names the rules' content hash and the as-of date it was
decided on (records, CSV, the attrition document, the summary line), so that a result can be
audited and replayed."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from cli_runner import run_main
from eligimatch.batch import output
from eligimatch.engine import load_rules

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = ROOT / "patients"
FILES = sorted(PATIENTS.glob("p0[1-4]_*.json"))
TRIALS = ("NCT06593899", "NCT07342322")


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    for t in TRIALS:
        shutil.copy(ROOT / "rules" / f"{t}.toml", d / f"{t}.toml")
    shutil.copytree(ROOT / "rules" / "shared", d / "shared")
    return d


def _cohort(path: Path, as_of: list[str] | None = None) -> Path:
    docs = [json.loads(f.read_text("utf-8")) for f in FILES]
    for doc, when in zip(docs, as_of or [], strict=False):
        doc["as_of"] = when
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    return _cohort(tmp_path / "cohort.jsonl")


def batch(capsys: pytest.CaptureFixture[str], rules: Path, *args: str) -> tuple[int, str, str]:
    return run_main(["screen-batch", *args, "--rules", str(rules), "-j", "1"], capsys)


def _screen_sha(capsys: pytest.CaptureFixture[str], rules: Path) -> str:
    code, out, err = run_main(["screen", str(FILES[0]), "--format", "json", "--rules", str(rules)], capsys)
    assert code == 0, err
    doc = json.loads(out)
    sha: str = (doc[0] if isinstance(doc, list) else doc)["rules_sha256"]
    return sha


@pytest.mark.parametrize(
    ("extra", "as_of"),
    [
        ([], "2026-11-16"),
        (["--as-of", "2027-06-01"], "2027-06-01"),
        (["--trial", "NCT07342322"], "2026-11-16"),
    ],
)
def test_every_record_names_the_rules_hash_and_the_date(rules, cohort, capsys, extra, as_of):
    sha = load_rules(rules).sha256
    assert sha == _screen_sha(capsys, rules)  # the value `screen --format json` reports
    code, out, err = batch(capsys, rules, str(cohort), *extra)
    assert code == 0, err
    got = [json.loads(line) for line in out.splitlines()]
    assert len(got) == len(FILES) * (1 if extra[:1] == ["--trial"] else 2)
    assert {(r["rules_sha256"], r["as_of"]) for r in got} == {(sha, as_of)}
    assert all(list(r)[3:6] == ["as_of", "rules_sha256", "verdict"] for r in got)


def test_csv_has_a_rules_hash_column(rules, cohort, capsys):
    code, out, _ = batch(capsys, rules, str(cohort), "--format", "csv", "--as-of", "2027-01-02")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == list(output.CSV_COLUMNS)
    assert {(r["rules_sha256"], r["as_of"]) for r in rows} == {(load_rules(rules).sha256, "2027-01-02")}


@pytest.mark.parametrize(
    ("dates", "given", "doc_as_of", "doc_range", "line"),
    [
        (None, None, None, ["2026-11-16", "2026-11-16"], "as of 2026-11-16 (the profiles' own)"),
        (
            ["2026-12-01", "2027-01-15", "2026-11-20", "2026-12-01"],
            None,
            None,
            ["2026-11-20", "2027-01-15"],
            "as of 2026-11-20 to 2027-01-15 (each profile's own)",
        ),
        (
            ["2026-12-01", "2027-01-15", "2026-11-20", "2026-12-01"],
            "2027-02-03",
            "2027-02-03",
            ["2027-02-03", "2027-02-03"],
            "as of 2027-02-03",
        ),
    ],
)
def test_attrition_document_and_summary_line_name_the_rules_and_the_dates(
    rules, tmp_path, capsys, dates, given, doc_as_of, doc_range, line
):
    src = _cohort(tmp_path / "c.jsonl", dates)
    report = tmp_path / "attrition.json"
    code, _, err = batch(
        capsys, rules, str(src), "--attrition", str(report), *(["--as-of", given] if given else [])
    )
    assert code == 0, err
    sha = load_rules(rules).sha256
    doc = json.loads(report.read_text("utf-8"))
    assert (doc["rules_sha256"], doc["as_of"], doc["as_of_range"]) == (sha, doc_as_of, doc_range)
    assert list(doc) == [
        "eligimatch",
        "rules_sha256",
        "as_of",
        "as_of_range",
        "patients",
        "records_skipped",
        "trials",
    ]
    assert err.splitlines()[-1].endswith(f"; rules_sha256 {sha}; {line}")


def test_a_run_where_every_record_is_skipped_says_so(rules, tmp_path, capsys):
    src = tmp_path / "bad.jsonl"
    src.write_text("{\n", encoding="utf-8")
    report = tmp_path / "a.json"
    code, out, err = batch(capsys, rules, str(src), "--attrition", str(report))
    assert code == 1 and out == ""
    doc = json.loads(report.read_text("utf-8"))
    assert doc["as_of_range"] is None and doc["rules_sha256"] == load_rules(rules).sha256
    assert err.splitlines()[-1].endswith("; as of each profile's own date; 1 record skipped")


def test_the_hash_changes_with_any_byte_of_a_rule_file(rules, cohort, capsys):
    before = json.loads(batch(capsys, rules, str(cohort))[1].splitlines()[0])["rules_sha256"]
    path = rules / f"{TRIALS[0]}.toml"
    path.write_bytes(path.read_bytes() + b"\n# reviewed again\n")
    code, out, _ = batch(capsys, rules, str(cohort))
    after = json.loads(out.splitlines()[0])["rules_sha256"]
    assert code == 0 and after != before and after == load_rules(rules).sha256


def test_records_are_exactly_json_dumps_of_themselves(rules, tmp_path, capsys):
    """The records are assembled from pre-encoded pieces: they must be the bytes json.dumps
    gives, whatever the ids and file names hold."""
    odd = tmp_path / 'dir "ü\\'
    odd.mkdir()
    for i, f in enumerate(FILES):
        doc = json.loads(f.read_text("utf-8"))
        doc["id"] = ['p"q', "ü\u2028x", "tab\there", "back\\slash"][i]
        (odd / f"{i}é.json").write_text(json.dumps(doc), encoding="utf-8")
    code, out, err = batch(capsys, rules, str(odd))
    assert code == 0, err
    lines = out.split("\n")[:-1]  # not splitlines(): U+2028 in a JSON string is no line end
    assert len(lines) == 2 * len(FILES)
    for line in lines:
        assert line == json.dumps(json.loads(line), ensure_ascii=False)


@pytest.mark.parametrize(
    ("given", "first", "last", "text"),
    [
        (date(2026, 1, 2), "2025-01-01", "2026-01-01", "as of 2026-01-02"),
        (None, None, None, "as of each profile's own date"),
        (None, "2026-01-01", "2026-01-01", "as of 2026-01-01 (the profiles' own)"),
        (None, "2025-01-01", "2026-01-01", "as of 2025-01-01 to 2026-01-01 (each profile's own)"),
    ],
)
def test_as_of_text(given, first, last, text):
    assert output.as_of_text(given, first, last) == text
