"""The bad-input matrix: every command, every kind of bad input a new user produces.

Each case runs the CLI in-process through ``main()`` (as the console script does) and checks
what a user sees: the exit code, exactly one line on stderr (``eligimatch: error: ...`` naming
the file and, where there is one, the field), no traceback, nothing on stdout and no output
file (nor a leftover temporary file) at the path given with ``-o``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cli_runner import run_main
from rulefiles import criterion, header

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"

# A small valid profile, built here so that the cases do not depend on the example files.
BASE: dict[str, Any] = {
    "id": "bad-input",
    "as_of": "2026-11-16",
    "sex": "female",
    "birth_date": "1979-08-30",
    "weight": {"value": 64, "unit": "kg", "date": "2026-11-12"},
    "ecog": {"value": 1, "date": "2026-11-12"},
    "labs": [{"test": "anc", "value": 1200, "unit": "/uL", "date": "2026-11-12"}],
    "reproductive": {"pregnant": False, "breastfeeding": False},
    "administrative": {"consent_signed": True},
}
BASE_TEXT = json.dumps(BASE, indent=2).encode()


def changed(path: str, value: Any = ..., raw: str | None = None) -> bytes:
    """BASE with the field at ``path`` (``labs.0.value``) set to ``value`` (or deleted when
    ``value`` is left out); ``raw`` is spliced in as JSON text (NaN, 1e999999999)."""
    doc = json.loads(BASE_TEXT)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = doc
    for p in parents:
        node = node[p]
    if raw is not None:
        node[last] = "@@RAW@@"
        return json.dumps(doc).replace('"@@RAW@@"', raw).encode()
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return json.dumps(doc).encode()


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


# (case id, file content, a fragment of the one error line)
PROFILES: list[tuple[str, bytes, str]] = [
    ("truncated", BASE_TEXT[: len(BASE_TEXT) // 2], "not valid JSON (line"),
    ("truncated-at-1-byte", b"{", "not valid JSON (line 1, column 2"),
    ("empty", b"", "empty (no JSON value)"),
    ("only-whitespace", b" \n\t\n", "empty (no JSON value)"),
    ("utf8-bom", b"\xef\xbb\xbf" + BASE_TEXT, "byte-order mark"),
    ("utf16", BASE_TEXT.decode().encode("utf-16"), "UTF-16"),
    ("latin1", '{"id": "José"}'.encode("latin-1"), "not UTF-8 text"),
    ("random-bytes", bytes((i * 151 + 7) % 256 for i in range(200)), "not UTF-8 text"),
    ("nul-bytes", b"\0" * 32, "not valid JSON"),
    ("ascii-noise", b"id=p02; sex=female", "not valid JSON"),
    ("json-array", b"[]", "a patient profile must be a JSON object"),
    ("json-null", b"null", "a patient profile must be a JSON object"),
    ("json-number", b"42", "a patient profile must be a JSON object"),
    ("json-string", b'"bad-input"', "a patient profile must be a JSON object"),
    ("trailing-garbage", BASE_TEXT + b" x", "Extra data"),
    ("two-documents", BASE_TEXT + BASE_TEXT, "Extra data"),
    ("nan", changed("weight.value", raw="NaN"), "weight.value: Input should be a finite number"),
    ("infinity", changed("weight.value", raw="Infinity"), "weight.value: Input should be a finite"),
    (
        "huge-exponent",
        changed("labs.0.value", raw="1e999999999"),
        "labs[0].value: the number 1e999999999 is out of range",
    ),
    (
        "tiny-exponent",
        changed("labs.0.value", raw="1e-999999999"),
        "labs[0].value: the number 1e-999999999 is out of range",
    ),
    ("negative-huge", changed("weight.value", raw="-1e400"), "weight.value: the number -1e400"),
    (
        "integer-5000-digits",
        changed("labs.0.value", raw="1" + "0" * 5000),
        "labs[0].value: the number 10000000000000000000… is out of range",
    ),
    ("integer-40-digits", changed("ecog.value", raw="1" + "0" * 40), "ecog.value: the number"),
    (
        "decimal-300-characters",
        changed("labs.0.value", raw="1." + "0" * 300 + "1"),
        "labs[0].value: the number 1.000000000000000000… has more than 100 characters",
    ),
    ("deep-lists", b"[" * 100_000, "nested too deeply"),
    ("deep-objects", nested(100_000).encode(), "nested too deeply"),
    (
        "deep-inside-a-field",
        changed("labs.0", raw="[" * 50 + "]" * 50),
        "labs[0]: Input should be a valid dictionary",
    ),
    ("duplicate-key", b'{"id": "x", "sex": "female", "sex": "male"}', "sex: duplicate key"),
    (
        "duplicate-key-nested",
        BASE_TEXT.replace(b'"unit": "/uL"', b'"unit": "/uL", "unit": "g/L"'),
        "labs[0].unit: duplicate key",
    ),
    ("duplicate-id", b'{"id": "a", "id": "b"}', "id: duplicate key"),
    (
        "bool-as-string-n",
        changed("reproductive.pregnant", "n"),
        "reproductive.pregnant: expected true or false, not the string 'n'",
    ),
    (
        "bool-as-number-0",
        changed("reproductive.pregnant", 0),
        "reproductive.pregnant: expected true or false, not the number 0",
    ),
    (
        "bool-as-yes",
        changed("administrative.consent_signed", "yes"),
        "administrative.consent_signed: expected true or false, not the string 'yes'",
    ),
    ("int-as-bool", changed("ecog.value", True), "ecog.value: expected a whole number, not true"),
    ("int-as-float", changed("ecog.value", 1.0), "ecog.value: expected a whole number, not the number 1.0"),
    ("int-as-string", changed("ecog.value", "1"), "ecog.value: expected a whole number, not the string '1'"),
    (
        "number-as-string",
        changed("labs.0.value", "1200"),
        "labs[0].value: expected a number, not the string '1200'",
    ),
    ("number-as-bool", changed("weight.value", True), "weight.value:"),
    (
        "date-as-number",
        changed("labs.0.date", 1762992000),
        'labs[0].date: expected a date string ("YYYY-MM-DD"), not the number 1762992000',
    ),
    ("date-impossible-day", changed("labs.0.date", "2026-02-30"), "labs[0].date:"),
    ("date-month-13", changed("as_of", "2026-13-01"), "as_of:"),
    ("date-in-words", changed("as_of", "yesterday"), "as_of:"),
    ("date-with-time", changed("labs.0.date", "2026-11-12T10:30:00"), "labs[0].date:"),
    ("unknown-field", changed("colour", "blue"), "colour: unknown field"),
    ("unknown-nested-field", changed("labs.0.flag", "H"), "labs[0].flag: unknown field"),
    ("misspelt-field", changed("labz", []), "labz: unknown field"),
    ("control-character-in-a-key", changed("a\nb", 1), "a\\nb: unknown field"),
    ("list-expected", changed("labs", {}), "labs: Input should be a valid list"),
    ("object-expected", changed("weight", 64), "weight:"),
    ("id-a-number", changed("id", 2), "id: Input should be a valid string"),
    ("id-empty", changed("id", ""), "id:"),
    ("id-missing", changed("id"), "id: Field required"),
    ("sex-not-in-vocabulary", changed("sex", "F"), "sex:"),
    ("ecog-7", changed("ecog.value", 7), "ecog.value: Input should be less than or equal to 5"),
    ("negative-weight", changed("weight.value", -64), "weight.value:"),
    (
        "birth-date-in-future",
        changed("birth_date", "2030-01-01"),
        "birth_date: date 2030-01-01 is after the evaluation date",
    ),
    (
        "lab-after-as-of",
        changed("labs.0.date", "2027-01-01"),
        "labs[0].date: date 2027-01-01 is after the evaluation date",
    ),
    ("unit-of-wrong-dimension", changed("labs.0.unit", "g/L"), "is not a unit of"),
    ("unit-unknown", changed("labs.0.unit", "widgets/L"), "not a recognised unit"),
]

# FHIR bundles, for import-fhir and for screen (which accepts a bundle as a profile)
BUNDLE: dict[str, Any] = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}},
        {
            "resource": {
                "resourceType": "Observation",
                "id": "o1",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
                "subject": {"reference": "Patient/p1"},
                "effectiveDateTime": "2026-11-12",
                "valueQuantity": {
                    "value": 1.2,
                    "unit": "10*9/L",
                    "system": "http://unitsofmeasure.org",
                    "code": "10*9/L",
                },
            }
        },
    ],
}
BUNDLE_TEXT = json.dumps(BUNDLE).encode()
BUNDLES: list[tuple[str, bytes, str]] = [
    (
        "value-1e999999999",
        BUNDLE_TEXT.replace(b'"value": 1.2', b'"value": 1e999999999'),
        "entry[1].resource.valueQuantity.value: the number 1e999999999 is out of range",
    ),
    (
        "value-5000-digits",
        BUNDLE_TEXT.replace(b'"value": 1.2', b'"value": 1' + b"0" * 5000),
        "entry[1].resource.valueQuantity.value: the number",
    ),
    (
        "duplicate-key",
        BUNDLE_TEXT.replace(b'"gender": "female"', b'"gender": "female", "gender": "male"'),
        "entry[0].resource.gender: duplicate key",
    ),
    (
        "nested-70-deep",
        json.dumps({**BUNDLE, "meta": json.loads(nested(70))}).encode(),
        "nested more than 64 levels deep",
    ),
    ("truncated", BUNDLE_TEXT[:-10], "not valid JSON"),
    ("bom", b"\xef\xbb\xbf" + BUNDLE_TEXT, "byte-order mark"),
    ("not-a-bundle", b'{"resourceType": "Patient", "id": "p1"}', "not a Bundle"),
    (
        "unknown-resource-type",
        json.dumps({**BUNDLE, "entry": [{"resource": {"resourceType": "Wizard"}}]}).encode(),
        "is not a FHIR R4 resource type",
    ),
    ("entry-not-a-list", json.dumps({**BUNDLE, "entry": {}}).encode(), "not a valid FHIR"),
    ("resource-type-a-number", b'{"resourceType": 7}', "not a FHIR resource"),
]

TRIAL = "NCT07342322"


def _rule_text() -> str:
    return (RULES / f"{TRIAL}.toml").read_text("utf-8")


def _with_criterion(logic: str) -> str:
    text = _rule_text()
    i = text.index("[[criteria]]")
    return text[:i] + criterion(logic, cid="I99").lstrip() + "\n" + text[i:]


RULE_FILES: list[tuple[str, Callable[[], bytes], str]] = [
    ("syntax-error", lambda: b"schema = 1\n[trial\n", "TOML syntax error"),
    (
        "inline-tables-400-deep",
        lambda: f"schema = 1\nx = {'{a = ' * 400}1{'}' * 400}\n".encode(),
        "nested more than 64 levels deep",
    ),
    (
        "inline-tables-5000-deep",
        lambda: f"schema = 1\nx = {'{a = ' * 5000}1{'}' * 5000}\n".encode(),
        "nested too deeply",
    ),
    (
        "inline-tables-100-deep",
        lambda: f"schema = 1\nx = {'{a = ' * 100}1{'}' * 100}\n".encode(),
        "nested more than 64 levels deep",
    ),
    (
        "integer-5000-digits",
        lambda: ("schema = 1\nx = 1" + "0" * 5000 + "\n").encode(),
        "a number is out of range (line 2)",
    ),
    (
        "float-1e400",
        lambda: _rule_text().replace("lab_max_age_days = 28", "lab_max_age_days = 28\nx = 1e400").encode(),
        "trial.x: the number is out of range",
    ),
    (
        "nan",
        lambda: (
            header() + criterion('{ quantity = "anc", op = ">=", value = nan, unit = "10^9/L" }')
        ).encode(),
        "criteria[I1].logic.value: NaN is not a number a rule may use",
    ),
    (
        "integer-40-digits",
        lambda: (
            header()
            + criterion('{ quantity = "anc", op = ">=", value = 1' + "0" * 40 + ', unit = "10^9/L" }')
        ).encode(),
        "criteria[I1].logic.value: the number is out of range",
    ),
    (
        "regex-match",
        lambda: _with_criterion("""{ expr = "'aaaaaaaaaaaaaaaaaaaaaaaaaaaa!' =~ '^(a+)+$'" }""").encode(),
        "the regular-expression operator '=~' is not allowed",
    ),
    (
        "regex-search",
        lambda: _with_criterion("""{ expr = "sex =~~ 'fe'" }""").encode(),
        "the regular-expression operator '=~~' is not allowed",
    ),
    (
        "regex-not-match",
        lambda: _with_criterion("""{ expr = "sex !~ 'male'" }""").encode(),
        "the regular-expression operator '!~' is not allowed",
    ),
    (
        "regex-not-search",
        lambda: _with_criterion("""{ expr = "sex !~~ 'male'" }""").encode(),
        "the regular-expression operator '!~~' is not allowed",
    ),
    (
        "string-for-a-number",
        lambda: _rule_text().replace("lab_max_age_days = 28", 'lab_max_age_days = "28"').encode(),
        "trial.lab_max_age_days: Input should be a valid integer",
    ),
    (
        "unknown-key",
        lambda: _rule_text().replace("lab_max_age_days = 28", "lab_max_age_days = 28\ncolour = 1").encode(),
        "trial.colour: Extra inputs are not permitted",
    ),
    ("not-utf8", lambda: _rule_text().encode("utf-16"), "not UTF-8 text"),
    ("empty", lambda: b"", "schema: Field required"),
]


@contextlib.contextmanager
def unprivileged() -> Iterator[None]:
    """Run as nobody when the tests run as root (root reads files whatever their mode).  Run
    the command once before, as root: nobody may not be able to read the modules it imports."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def one_error_line(result: tuple[int, str, str], fragment: str, code: int = 2) -> str:
    got_code, out, err = result
    assert "Traceback" not in err
    assert got_code == code, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith("eligimatch: error: "), err
    assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def no_output_left(directory: Path, *names: str) -> None:
    for name in names:
        assert not (directory / name).exists(), name
    assert not list(directory.glob(".*.part")), "a temporary file was left behind"


# ---------------------------------------------------------------------------- profiles

COMMANDS: dict[str, Callable[[str, Path], list[str]]] = {
    "screen": lambda p, out: ["screen", p],
    "explain": lambda p, out: ["explain", p, TRIAL],
    "export-fhir": lambda p, out: ["export-fhir", p, "-o", str(out)],
}


# checked against the evaluation date when screening; export-fhir only converts the profile
SCREENING_ONLY = {"birth-date-in-future", "lab-after-as-of"}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(("content", "fragment"), [pytest.param(c, f, id=i) for i, c, f in PROFILES])
def test_bad_profile(command, content, fragment, tmp_path, capsys, request):
    if command == "export-fhir" and request.node.callspec.id.split("-export")[0] in SCREENING_ONLY:
        pytest.skip("export-fhir does not screen")
    path = tmp_path / "patient.json"
    path.write_bytes(content)
    line = one_error_line(run_main(COMMANDS[command](str(path), tmp_path / "out.json"), capsys), fragment)
    assert line.startswith(f"eligimatch: error: {path}: ")
    no_output_left(tmp_path, "out.json")


FILE_KINDS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "directory": (lambda d: d, "cannot read: Is a directory"),
    "missing": (lambda d: d / "no-such.json", "cannot read: No such file or directory"),
    "under-a-file": (lambda d: _file(d) / "x.json", "cannot read: Not a directory"),
    "dev-null": (lambda d: Path(os.devnull), "empty (no JSON value)"),
}


def _file(d: Path) -> Path:
    (d / "plain.txt").write_text("x")
    return d / "plain.txt"


@pytest.mark.parametrize("command", ["screen", "explain", "export-fhir", "import-fhir"])
@pytest.mark.parametrize("kind", list(FILE_KINDS))
def test_unreadable_input_file(command, kind, tmp_path, capsys):
    make, fragment = FILE_KINDS[kind]
    where = tmp_path / "in"
    where.mkdir()
    path = make(where)
    argv = (
        ["import-fhir", str(path), "-o", str(tmp_path / "out.json")]
        if command == "import-fhir"
        else COMMANDS[command](str(path), tmp_path / "out.json")
    )
    one_error_line(run_main(argv, capsys), fragment)
    no_output_left(tmp_path, "out.json")


@pytest.mark.parametrize("command", ["screen", "explain", "export-fhir", "import-fhir"])
def test_permission_denied(command, tmp_path, capsys):
    path = tmp_path / "secret.json"
    path.write_bytes(BUNDLE_TEXT if command == "import-fhir" else BASE_TEXT)
    argv = (
        ["import-fhir", str(path)]
        if command == "import-fhir"
        else COMMANDS[command](str(path), tmp_path / "out.json")[:3]
    )
    if command == "export-fhir":
        argv = ["export-fhir", str(path)]
    run_main(argv, capsys)  # as root, readable: imports what the command needs
    path.chmod(0)
    with unprivileged():
        result = run_main(argv, capsys)
    one_error_line(result, "cannot read: Permission denied")


def test_input_over_the_size_limit(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ELIGIMATCH_MAX_INPUT_MB", "0.5")
    path = tmp_path / "big.json"
    path.write_bytes(changed("labs", [BASE["labs"][0]] * 20_000))
    assert path.stat().st_size > 500_000
    one_error_line(
        run_main(["screen", str(path)], capsys),
        "larger than the input limit of 0.5 MB (set ELIGIMATCH_MAX_INPUT_MB",
    )
    monkeypatch.setenv("ELIGIMATCH_MAX_INPUT_MB", "lots")
    one_error_line(
        run_main(["screen", str(path)], capsys), "ELIGIMATCH_MAX_INPUT_MB: expected a number of megabytes"
    )


# ---------------------------------------------------------------------------- FHIR bundles


@pytest.mark.parametrize("command", ["import-fhir", "screen"])
@pytest.mark.parametrize(("content", "fragment"), [pytest.param(c, f, id=i) for i, c, f in BUNDLES])
def test_bad_bundle(command, content, fragment, tmp_path, capsys):
    pytest.importorskip("fhir.resources")
    path = tmp_path / "bundle.json"
    path.write_bytes(content)
    argv = (
        [
            "import-fhir",
            str(path),
            "-o",
            str(tmp_path / "out.json"),
            "--report",
            str(tmp_path / "report.json"),
        ]
        if command == "import-fhir"
        else ["screen", str(path)]
    )
    one_error_line(run_main(argv, capsys), fragment)
    no_output_left(tmp_path, "out.json", "report.json")


# ---------------------------------------------------------------------------- rule files

RULE_COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "screen": lambda d: ["screen", str(d / "patient.json"), "--rules", str(d / "rules")],
    "explain": lambda d: ["explain", str(d / "patient.json"), TRIAL, "--rules", str(d / "rules")],
    "trials": lambda d: ["trials", "--rules", str(d / "rules")],
    "screen-batch": lambda d: [
        "screen-batch",
        str(d / "patients"),
        "--rules",
        str(d / "rules"),
        "-o",
        str(d / "out.jsonl"),
        "--attrition",
        str(d / "att.json"),
    ],
}


@pytest.mark.parametrize("command", [*RULE_COMMANDS, "check"])
@pytest.mark.parametrize(("make", "fragment"), [pytest.param(m, f, id=i) for i, m, f in RULE_FILES])
def test_broken_rule_file(command, make, fragment, tmp_path, capsys):
    (tmp_path / "rules").mkdir()
    (tmp_path / "patients").mkdir()
    rule = tmp_path / "rules" / f"{TRIAL}.toml"
    rule.write_bytes(make())
    shutil.copytree(RULES / "shared", tmp_path / "rules" / "shared")  # the value sets it uses
    (tmp_path / "patient.json").write_bytes(BASE_TEXT)
    (tmp_path / "patients" / "p.json").write_bytes(BASE_TEXT)
    if command == "check":  # problems on stdout, one per line; a count on stderr
        code, out, err = run_main(["check", str(tmp_path / "rules")], capsys)
        assert code == 1 and "Traceback" not in err
        assert out.startswith(f"{rule}: ") and fragment in out
        assert re.fullmatch(r"eligimatch: \d+ problems? in 1 rule file\n", err)
        return
    line = one_error_line(run_main(RULE_COMMANDS[command](tmp_path), capsys), fragment)
    assert line.startswith(f"eligimatch: error: {rule}: ")
    no_output_left(tmp_path, "out.jsonl", "att.json")


# ---------------------------------------------------------------------------- usage, batch runs

USAGE: list[tuple[list[str], str]] = [
    (["screen", "p.json", "--format", "xml"], "Invalid value for '--format'"),
    (["trials", "--format", "yaml"], "Invalid value for '--format'"),
    (["screen-batch", "in", "--format", "xml"], "Invalid value for '--format'"),
    (["screen-batch", "in", "--jobs", "0"], "Invalid value for '--jobs' / '-j'"),
    (["screen-batch", "in", "--jobs", "two"], "Invalid value for '--jobs' / '-j'"),
    (["screen-batch", "in", "--engine", "spark"], "Invalid value for '--engine'"),
    (["screen"], "Missing argument"),
    (["explain", "p.json"], "Missing argument"),
    (["screen", "p.json", "--colour"], "No such option: --colour"),
    (["scren", "p.json"], "No such command 'scren'"),
    (["schema", "trial"], "Invalid value for 'kind'"),
    (["screen", "p.json", "--as-of", "2026-13-01"], "--as-of: '2026-13-01' is not a date"),
]


@pytest.mark.parametrize(("argv", "fragment"), USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_usage_errors_are_one_line(argv, fragment, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.json").write_bytes(BASE_TEXT)
    (tmp_path / "in").mkdir()
    line = one_error_line(run_main(argv, capsys), fragment)
    if "Invalid" in fragment or "Missing" in fragment or "No such" in fragment:
        assert line.endswith("--help')")


def _batch_dir(d: Path) -> Path:
    (d / "in").mkdir(exist_ok=True)
    (d / "in" / "p.json").write_bytes(BASE_TEXT)
    return d / "in"


BATCH_RUNS: list[tuple[str, Callable[[Path], list[str]], str]] = [
    ("input-missing", lambda d: [str(d / "nothing.jsonl")], "no such file or directory"),
    ("input-empty-directory", lambda d: [str(_mkdir(d / "empty"))], "no patient profiles"),
    (
        "output-directory-missing",
        lambda d: [str(_batch_dir(d)), "-o", str(d / "no" / "o.jsonl")],
        "cannot write: no such directory",
    ),
    ("output-is-a-directory", lambda d: [str(_batch_dir(d)), "-o", str(d)], "cannot write: is a directory"),
    (
        "attrition-directory-missing",
        lambda d: [str(_batch_dir(d)), "-o", str(d / "out.jsonl"), "--attrition", str(d / "no" / "att.json")],
        "cannot write: no such directory",
    ),
    (
        "attrition-same-as-output",
        lambda d: [str(_batch_dir(d)), "-o", str(d / "out.jsonl"), "--attrition", str(d / "out.jsonl")],
        "the same file as --output",
    ),
    (
        "output-full-device",
        lambda d: [str(_batch_dir(d)), "-o", "/dev/full"],
        "/dev/full: cannot write: No space left on device",
    ),
    (
        "attrition-full-device",
        lambda d: [str(_batch_dir(d)), "-o", str(d / "out.jsonl"), "--attrition", "/dev/full"],
        "/dev/full: cannot write: No space left on device",
    ),
    ("unknown-trial", lambda d: [str(_batch_dir(d)), "--trial", "NCT0734232"], "unknown trial 'NCT0734232'"),
    (
        "scheduler-without-dask",
        lambda d: [str(_batch_dir(d)), "--scheduler", "tcp://x:1"],
        "--scheduler goes with --engine dask",
    ),
    (
        "rules-missing",
        lambda d: [str(_batch_dir(d)), "--rules", str(d / "none")],
        "not a directory of rule files",
    ),
]


def _mkdir(p: Path) -> Path:
    p.mkdir()
    return p


@pytest.mark.parametrize(("make", "fragment"), [pytest.param(m, f, id=i) for i, m, f in BATCH_RUNS])
def test_batch_run_that_cannot_start(make, fragment, tmp_path, capsys):
    one_error_line(run_main(["screen-batch", *make(tmp_path)], capsys), fragment)
    no_output_left(tmp_path, "out.jsonl", "att.json")


def test_unreadable_batch_directory(tmp_path, capsys):
    d = _batch_dir(tmp_path)
    run_main(["screen-batch", str(d), "--jobs", "1"], capsys)  # as root, readable: imports
    d.chmod(0)
    try:
        with unprivileged():
            result = run_main(["screen-batch", str(d)], capsys)
    finally:
        d.chmod(0o755)
    one_error_line(result, "Permission denied")


@pytest.mark.parametrize(("content", "fragment"), [pytest.param(c, f, id=i) for i, c, f in PROFILES[::3]])
def test_bad_record_in_a_batch_is_one_line_and_skipped(content, fragment, tmp_path, capsys):
    """In a batch a bad record is skipped (exit 1): one line naming file:line, the others
    screened; the records and attrition files are complete."""
    content = content.replace(b"\r", b" ").replace(b"\n", b" ")  # one line
    lines = [
        json.dumps({**BASE, "id": "first"}).encode(),
        content,
        json.dumps({**BASE, "id": "last"}).encode(),
    ]
    src = tmp_path / "cohort.jsonl"
    src.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = run_main(
        [
            "screen-batch",
            str(src),
            "--trial",
            TRIAL,
            "--jobs",
            "1",
            "-o",
            str(tmp_path / "out.jsonl"),
            "--attrition",
            str(tmp_path / "att.json"),
        ],
        capsys,
    )
    assert "Traceback" not in err and out == ""
    if not content.strip():  # a blank line is not a record
        assert code == 0
        return
    assert code == 1, err
    skipped = [x for x in err.splitlines() if x.startswith("eligimatch: skipped")]
    assert skipped == [x for x in err.splitlines() if f"{src}:2" in x]
    assert len(skipped) == 1 and skipped[0].startswith(f"eligimatch: skipped {src}:2: ")
    records = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["patient_id"] for r in records] == ["first", "last"]
    assert json.loads((tmp_path / "att.json").read_text())["records_skipped"] == 1
