"""Format versions: the profile's optional ``format_version`` and the one in the JSON output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli_runner import run_main
from eligimatch import explain
from eligimatch.api import parse_patient
from eligimatch.errors import PatientError
from eligimatch.patient import FORMAT_VERSION, FORMAT_VERSIONS, Patient

ROOT = Path(__file__).resolve().parents[1]
P01 = ROOT / "patients" / "p01_ups_metastatic_eligible.json"
P03 = ROOT / "patients" / "p03_synovial_no_lvef_undetermined.json"


def _profile(**extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(P01.read_text(encoding="utf-8"))
    raw.update(extra)
    return raw


def _write(tmp_path: Path, raw: dict[str, Any], name: str = "p.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_the_current_version_is_the_only_one_so_far():
    assert FORMAT_VERSIONS == ("1",) and FORMAT_VERSION == "1"
    assert explain.FORMAT_VERSION == "1"


@pytest.mark.parametrize("value", ["1", None])
def test_the_current_version_or_none_reads(value):
    raw = _profile(format_version=value)
    assert parse_patient(json.dumps(raw), "p.json").format_version == value


def test_absent_and_current_version_screen_identically(tmp_path, capsys):
    absent = _write(tmp_path, _profile(), "a.json")
    stated = _write(tmp_path, _profile(format_version="1"), "b.json")
    outs = []
    for path in (absent, stated):
        code, out, err = run_main(["screen", str(path), "--format", "json"], capsys)
        assert code == 0, err
        outs.append(out.replace(path.name, "X"))
    assert outs[0] == outs[1]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2", '"2"'),
        ("0", '"0"'),
        ("", '""'),
        (" 1", '" 1"'),  # a version is an identifier: not stripped
        ("1.0", '"1.0"'),
        ("v1", '"v1"'),
        (1, "1"),  # a number, not the string "1"
        (1.0, "1.0"),
        (True, "true"),
        ([1], "[1]"),
        ({"major": 1}, '{"major": 1}'),
        ("9" * 100, '"' + "9" * 39),  # cut short: never a long line
    ],
)
def test_an_unknown_version_is_one_line_naming_file_and_field(tmp_path, capsys, value, shown):
    path = _write(tmp_path, _profile(format_version=value))
    code, out, err = run_main(["screen", str(path)], capsys)
    assert code == 2 and out == ""
    assert err == (
        f"eligimatch: error: {path}: format_version: unknown profile format version "
        f'{shown}; this eligimatch reads "1" (leave format_version out for the current '
        "version)\n"
    )


def test_an_unknown_version_is_reported_with_the_other_problems():
    raw = _profile(format_version="2", ecog={"value": 7, "date": "2026-11-01"})
    with pytest.raises(PatientError) as info:
        parse_patient(json.dumps(raw), "p.json")
    text = str(info.value)
    assert "format_version: unknown profile format version" in text
    assert "ecog.value" in text


def test_the_schema_states_the_version():
    prop = Patient.model_json_schema()["properties"]["format_version"]
    assert {"const": "1", "type": "string"} in prop["anyOf"]
    assert "format_version" not in Patient.model_json_schema().get("required", [])


def test_export_and_import_keep_the_version(tmp_path, capsys):
    path = _write(tmp_path, _profile(format_version="1"))
    code, bundle, err = run_main(["export-fhir", str(path)], capsys)
    assert code == 0, err
    back = parse_patient(bundle, "bundle.json")
    assert back.format_version == "1"


@pytest.mark.parametrize(
    "command", [["screen", str(P03)], ["screen", str(P01), str(P03)], ["explain", str(P03), "NCT07342322"]]
)
def test_json_output_carries_its_format_version_at_the_top(capsys, command):
    code, out, err = run_main([*command, "--format", "json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    docs = doc if isinstance(doc, list) else [doc]
    assert len(docs) == len(command) - 1 - (command[0] == "explain")
    for d in docs:
        assert d["format_version"] == explain.FORMAT_VERSION
        assert all("format_version" not in t for t in d["trials"])


def test_output_version_is_independent_of_the_profile_version(tmp_path, capsys):
    path = _write(tmp_path, _profile(format_version="1"))
    code, out, _ = run_main(["screen", str(path), "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["format_version"] == explain.FORMAT_VERSION
