"""The command line as users run it: the installed console script, output, and bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_runner import run_main

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = ROOT / "patients"
P01 = PATIENTS / "p01_ups_metastatic_eligible.json"
P02 = PATIENTS / "p02_lms_low_anc_ineligible.json"
P03 = PATIENTS / "p03_synovial_no_lvef_undetermined.json"
SCRIPT = Path(sys.executable).with_name("eligimatch")


def run(*args: str, capsys) -> tuple[int, str, str]:
    """Run the CLI in-process through main(), as the console script does."""
    return run_main(list(args), capsys)


def test_installed_console_script_runs_as_a_subprocess():
    exe = str(SCRIPT) if SCRIPT.exists() else shutil.which("eligimatch")
    assert exe, "the eligimatch console script is not installed"
    proc = subprocess.run([exe, "screen", str(P02)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "INELIGIBLE" in proc.stdout
    assert "ANC 1.2 ×10⁹/L (reported 1200 /uL, 2026-11-12) < 1.5 ×10⁹/L" in proc.stdout
    bad = subprocess.run(
        [exe, "screen", str(ROOT / "pyproject.toml")], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("eligimatch: error: ")
    assert "Traceback" not in bad.stderr


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys, eligimatch.cli; "
        "print(sorted(m for m in ('pint', 'rule_engine', 'eligimatch.units') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_screen_orders_and_explains(capsys):
    code, out, _ = run("screen", str(P01), str(P02), str(P03), capsys=capsys)
    assert code == 0
    # the trial-id column is as wide as the longest trial id
    assert re.search(r"ELIGIBLE +NCT07342322 +all", out)
    assert re.search(r"INELIGIBLE +NCT07342322 +fails I8.anc — ANC 1.2 ×10⁹/L", out)
    assert re.search(r"UNDETERMINED +NCT07342322 +missing LVEF", out)
    assert re.search(r"To decide the undetermined trials, record: .*LVEF \(1 trial\)", out)


def test_screen_json_is_stable_and_documented(capsys):
    code, out, _ = run("screen", str(P03), "--format", "json", capsys=capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["as_of"] == "2026-11-16"
    assert len(doc["rules_sha256"]) == 64
    trial = next(t for t in doc["trials"] if t["trial_id"] == "NCT07342322")
    assert trial["verdict"] == "undetermined"
    assert trial["unknown"] == ["I8.lvef"] and trial["missing"] == ["LVEF"]
    crit = {c["id"]: c for c in trial["criteria"]}
    assert set(crit["I8.lvef"]) == {
        "id",
        "kind",
        "status",
        "text",
        "summary",
        "explanation",
        "missing",
        "review",
    }
    assert crit["I8.lvef"]["status"] == "unknown"
    assert crit["I8.lvef"]["explanation"].startswith("LVEF not recorded")
    _, out2, _ = run("screen", str(P03), "--format", "json", capsys=capsys)
    assert out2 == out  # byte-identical


def test_explain_shows_every_criterion(capsys):
    code, out, _ = run("explain", str(P02), "NCT07342322", capsys=capsys)
    assert code == 0
    assert "FAIL     I8.anc (inclusion)" in out
    assert "why: ANC 1.2 ×10⁹/L (reported 1200 /uL, 2026-11-12) < 1.5 ×10⁹/L" in out
    # one short sentence first (the deciding clause), then the full evidence
    assert (
        "why: ALT 150 U/L (2026-11-12) = 3.75 × ULN ≤ 5 × ULN (ULN 40 U/L from the lab's reference range)\n"
    ) in out
    assert (
        "evidence: unresolved liver metastasis: liver (2026-08-01 onwards); "
        "ALT 150 U/L (2026-11-12) = 3.75 × ULN ≤ 5 × ULN (ULN 40 U/L from the lab's "
        "reference range)"
    ) in out
    for cid in ("I1", "I2.histology", "I9", "E1.gist", "E6"):
        assert f" {cid} (" in out


def test_as_of_option_overrides_the_file(capsys):
    code, out, _ = run("explain", str(P01), "NCT07342322", "--as-of", "2027-06-01", capsys=capsys)
    assert code == 0
    assert "as of 2027-06-01" in out
    assert "is 203 days old; this criterion needs a result within 28 days" in out


def test_trials_and_schema(capsys):
    code, out, _ = run("trials", "--format", "json", capsys=capsys)
    assert code == 0
    ids = [t["trial_id"] for t in json.loads(out)["trials"]]
    assert "NCT07342322" in ids
    code, out, _ = run("schema", capsys=capsys)
    assert code == 0 and json.loads(out)["title"] == "Patient"


def test_check_passes_on_the_project_rules(capsys):
    code, out, _ = run("check", capsys=capsys)
    assert code == 0 and out.startswith("ok: ")


def test_check_reports_a_broken_copy_precisely(tmp_path, capsys):
    text = (ROOT / "rules" / "NCT07342322.toml").read_text("utf-8")
    broken = text.replace('quantity = "anc"', 'quantity = "ancc"').replace(
        'value = 50, unit = "g/L" }', 'value = 50, unit = "mL" }'
    )
    (tmp_path / "NCT07342322.toml").write_text(broken, "utf-8")
    shutil.copytree(ROOT / "rules" / "shared", tmp_path / "shared")
    code, out, err = run("check", str(tmp_path), capsys=capsys)
    assert code == 1
    lines = out.splitlines()
    where = tmp_path / "NCT07342322.toml"
    assert f"{where}: criteria[I8.anc].logic.quantity: unknown quantity 'ancc'; did you mean 'anc'?" in lines
    assert any(line.startswith(f"{where}: criteria[I8.hemoglobin].logic.unit: unit 'mL'") for line in lines)
    assert "2 problems in 1 rule file" in err


def _patient(tmp_path: Path, text: str) -> str:
    p = tmp_path / "patient.json"
    p.write_text(text, "utf-8")
    return str(p)


LAB = (
    '{{"id": "x", "as_of": "2026-03-01", "labs": [{{"test": "anc", "value": 1.2, '
    '"unit": "{unit}", "date": "{date}"}}]}}'
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"id": "x", ', "not valid JSON"),
        (
            LAB.format(unit="widgets/L", date="2026-02-01"),
            "labs[0].unit: unit 'widgets/L': not a recognised unit",
        ),
        (
            LAB.format(unit="g/L", date="2026-02-01"),
            "labs[0].unit: 'g/L' is not a unit of absolute neutrophil count",
        ),
        (
            LAB.format(unit="10^9/L", date="2026-04-01"),
            "labs[0].date: date 2026-04-01 is after the evaluation date 2026-03-01",
        ),
        (
            '{"id": "x", "as_of": "2026-03-01", "ecog": {"value": 7}}',
            "ecog.value: Input should be less than or equal to 5",
        ),
        (
            '{"id": "x", "as_of": "2026-03-01", "birth_date": "2030-01-01"}',
            "birth_date: date 2030-01-01 is after the evaluation date",
        ),
    ],
)
def test_bad_patient_input_exits_2_with_one_line(tmp_path, capsys, text, message):
    path = _patient(tmp_path, text)
    code, out, err = run("screen", path, capsys=capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"eligimatch: error: {path}: ")
    assert message in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", str(P01), "NCT0734232"], "unknown trial 'NCT0734232'; did you mean 'NCT07342322'?"),
        (["screen", str(P01), "--as-of", "2026-13-01"], "--as-of: '2026-13-01' is not a date"),
        (["screen", "no-such-file.json"], "no-such-file.json: cannot read"),
        (["screen", str(P01), "--rules", "no-such-dir"], "no-such-dir: not a directory of rule files"),
    ],
)
def test_other_bad_input_exits_2(capsys, args, message):
    code, out, err = run(*args, capsys=capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_broken_rule_file_exits_2_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text("schema = 1\n[trial\n", "utf-8")
    code, out, err = run("screen", str(P01), "--rules", str(tmp_path), capsys=capsys)
    assert code == 2 and out == ""
    assert "bad.toml: TOML syntax error" in err and err.count("\n") == 1


def test_one_bad_patient_among_many_writes_nothing(tmp_path, capsys):
    path = _patient(tmp_path, "{")
    code, out, _ = run("screen", str(P01), path, capsys=capsys)
    assert code == 2 and out == ""
