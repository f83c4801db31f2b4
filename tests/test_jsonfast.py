"""The fast path of profile input (:mod:`eligimatch.jsonfast`) against the full path.

The one property: whatever the text, the fast path either declines (None) or returns exactly
what the full path returns (the same model, field by field, each Decimal with its digits as
written, the same fields set); so every refusal and its message come from the full path.  It
is checked on the example profiles, a synthetic cohort, generated profiles, mutated profiles
and a list of adversarial cases (numbers at and beyond every bound, strings for numbers,
booleans for whole numbers, numbers for dates, duplicate keys at every depth, ...); and the fast
path must not decline the ordinary profiles, or it would only be slow.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, field_validator

import strategies as s
from eligimatch import api, jsonfast
from eligimatch.errors import PatientError
from eligimatch.jsonin import exact_json
from eligimatch.patient import Patient
from test_fuzz_input import TEXTS, byte_mutants, value_mutants

ROOT = Path(__file__).resolve().parents[1]

BASE: dict[str, Any] = {
    "id": "fast",
    "as_of": "2026-11-16",
    "sex": "female",
    "birth_date": "1979-08-30",
    "weight": {"value": 64.5, "unit": "kg", "date": "2026-11-12"},
    "ecog": {"value": 1, "date": "2026-11-12"},
    "diagnosis": {"histology": "LMS", "size": {"value": 6.70, "unit": "cm"}, "resectable": True},
    "labs": [
        {"test": "anc", "value": 1200, "unit": "/uL", "date": "2026-11-12"},
        {
            "test": "bilirubin",
            "value": 7.9,
            "unit": "umol/L",
            "date": "2026-11-01",
            "reference_range": {"low": 3, "high": 21.0},
        },
        {"test": "hiv_antibody", "result": "negative", "date": "2026-10-01"},
    ],
    "blood_pressure": [{"systolic": 128, "diastolic": 81.5, "date": "2026-11-12"}],
    "conditions": [{"type": "hypertension", "nyha_class": 2, "code": {"system": "s", "code": "c"}}],
    "treatments": [
        {"type": "radiotherapy", "dose_gy": 50, "start": "2025-07-15", "end": "2025-08-19"},
        {"type": "surgery", "date": "2025-01-01", "major": True},
    ],
    "toxicities": [{"term": "neuropathy", "grade": 2, "ongoing": False}],
    "reproductive": {"pregnant": False},
    "attestations": [{"trial": "NCT1", "criterion": "I1", "answer": "yes", "by": "dr", "date": "2026-11-01"}],
}
BASE_TEXT = json.dumps(BASE)


def state(v: Any) -> Any:
    """Everything a model holds, Decimals with their digits as written."""
    if isinstance(v, BaseModel):
        fields = {k: state(x) for k, x in v.__dict__.items()}
        return (type(v), fields, v.__pydantic_fields_set__, v.__pydantic_extra__, v.__pydantic_private__)
    if isinstance(v, list):
        return [state(x) for x in v]
    return (type(v), repr(v))


def full(text: str | bytes) -> Any:
    try:
        return state(api._full_parse(text, "in.json", None, None, None))
    except PatientError as exc:
        return str(exc)


def fast(text: str | bytes) -> Patient | None:
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError:
            return None
    return api._exact_patient()(text)


def same(text: str | bytes) -> Patient | None:
    """The fast path's answer, checked against the full path (and parse_patient's)."""
    got = fast(text)
    want = full(text)
    if got is not None:
        assert state(got) == want
    try:
        outcome = state(api.parse_patient(text, "in.json"))
    except PatientError as exc:
        outcome = str(exc)
    assert outcome == want
    return got


def raw(path: str, literal: str) -> str:
    """BASE_TEXT with the value at ``path`` (``labs.1.reference_range.low``) written as
    ``literal`` (JSON text, spliced in as it is)."""
    doc = json.loads(BASE_TEXT)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = doc
    for p in parents:
        node = node[p]
    node[last] = "@@RAW@@"
    return json.dumps(doc).replace('"@@RAW@@"', literal)


def test_ordinary_profiles_take_the_fast_path():
    assert same(BASE_TEXT) is not None
    for text in TEXTS:
        assert same(text) is not None
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import synth
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    for profile in synth.profiles(150, 5):
        assert same(json.dumps(profile)) is not None
        assert same(json.dumps(profile, indent=2)) is not None


NUMBER_FIELDS = [
    "weight.value",
    "diagnosis.size.value",
    "labs.0.value",
    "labs.1.reference_range.low",
    "labs.1.reference_range.high",
    "blood_pressure.0.systolic",
    "blood_pressure.0.diastolic",
    "treatments.0.dose_gy",
]
WHOLE_FIELDS = ["ecog.value", "conditions.0.nyha_class", "toxicities.0.grade"]
DATE_FIELDS = ["as_of", "birth_date", "labs.0.date", "treatments.0.start", "attestations.0.date"]
BOOL_FIELDS = ["diagnosis.resectable", "reproductive.pregnant", "treatments.1.major", "toxicities.0.ongoing"]
STRING_FIELDS = ["id", "weight.unit", "labs.2.result", "conditions.0.code.system", "attestations.0.by"]

NUMBERS = [
    *("0", "-0", "0.0", "-0.0", "0e-40", "0E+40", "0.000e-99999", "1", "5", "10000", "10001"),
    *("1.5", "1.50", "1.500000", "283.0", "1e3", "1E+3", "1.5e-5", "2.5E2", "1e-30", "1e-31"),
    *("1.5e-29", "1.55e-29", "0." + "0" * 29 + "1", "0." + "0" * 30 + "1", "0." + "1" * 30),
    *("0." + "1" * 31, "9" * 30, "1" + "0" * 30, "9" * 30 + ".4", "9" * 30 + ".999", "9" * 31),
    *("1" + "0" * 40, "1e29", "1e30", "1e40", "1e-40", "1e999999999", "1e-999999999", "1" * 5000),
    *("1." + "0" * 200, "1" + "0" * 99 + "e-99", "1e-0000000000000000000000005", "1.0e+0030"),
    *("-1", "-1.5", "400", "400.0", "400.0000001", "300", "300.5", "1e2", "4e2", "0.1e4"),
    *("NaN", "Infinity", "-Infinity", '"1200"', '"1.5"', '""', "true", "false", "null"),
    *('"2026-01-01"', "[1]", '{"value": 1}', "1.2345678901234567890123456789012345"),
    # about the length up to which a number without an exponent is read without a check
    *("0." + "0" * 28 + "1", "-0." + "0" * 27 + "1", "9" * 29 + ".9", "9" * 30 + ".9", "1." + "1" * 29),
    *("1." + "1" * 30, "0." + "0" * 28 + "10", "5" * 28 + ".25", "1" * 31 + ".0", "0." + "0" * 99),
]


@pytest.mark.parametrize("literal", NUMBERS)
@pytest.mark.parametrize("path", NUMBER_FIELDS + WHOLE_FIELDS)
def test_numbers(path, literal):
    got = same(raw(path, literal))
    if literal in ('"1200"', '"1.5"', "true", "NaN", "1" * 5000, "1." + "0" * 200):
        assert got is None


@pytest.mark.parametrize(
    "literal",
    [
        *('"2026-11-16"', '"2026-02-30"', '"2026-1-16"', '"20261116"', '"1699920000"', '" 2026-11-16"'),
        *('"2026-11-16T00:00:00"', '"2026-11-16T10:00:00"', '"2026-11-16Z"', '"0001-01-01"', '"0000-01-01"'),
        *('"9999-12-31"', "1699920000", "1699920000.0", "20261116", "true", "null", '"2026-11-16\\u0000"'),
    ],
)
@pytest.mark.parametrize("path", DATE_FIELDS)
def test_dates(path, literal):
    got = same(raw(path, literal))
    if not literal.startswith('"') and literal != "null":
        assert got is None


@pytest.mark.parametrize(
    "literal", ["true", "false", "0", "1", '"true"', '"n"', '"yes"', "1.0", "null", "[]"]
)
@pytest.mark.parametrize("path", BOOL_FIELDS + WHOLE_FIELDS)
def test_booleans_and_whole_numbers(path, literal):
    got = same(raw(path, literal))
    if path in BOOL_FIELDS and literal not in ("true", "false", "null"):
        assert got is None
    if path in WHOLE_FIELDS and literal in ("true", "false", "1.0", '"yes"'):
        assert got is None


@pytest.mark.parametrize(
    "literal",
    [
        *('"x"', '" x "', '"\\u001cx"', '"x\\u0085"', '"\\u00a0x"', '""', '"  "', '"\\ud800"'),
        *('"caf\\u00e9"', '"a:b"', '"a\\u003ab"', '"\\n"', "1", "1.5", "true", '"' + "x" * 300 + '"'),
    ],
)
@pytest.mark.parametrize("path", STRING_FIELDS)
def test_strings(path, literal):
    same(raw(path, literal))


DUPLICATES = [
    '{"id": "a", "id": "b"}',
    '{"id": "a", "sex": "male", "sex": "female"}',
    '{"id": "a", "weight": {"value": 1, "value": 2, "unit": "kg"}}',
    '{"id": "a", "labs": [{"test": "anc", "value": 1, "unit": "/uL", "date": "2026-01-01",'
    ' "date": "2026-01-02"}]}',
    '{"id": "a", "labs": [{"test": "x", "result": "r", "date": "2026-01-01",'
    ' "reference_range": {"low": 1, "low": 2}}]}',
    '{"id": "a", "blood_pressure": [{"systolic": 1, "diastolic": 1, "diastolic": 2, "date": "2026-01-01"}]}',
    '{"id": "a", "treatments": [{"type": "surgery", "type": "surgery"}]}',
    '{"id": "a", "reproductive": {"pregnant": true, "pregnant": false}}',
    # colons in strings, escaped or not, must not hide a duplicate
    '{"id": "a:b", "sex": "male", "sex": "female"}',
    '{"id": "a\\u003a", "sex": "male", "sex": "female"}',
    '{"id": "a\\u003a\\u003a", "sex": "male", "sex": "female", "as_of": "2026-01-01"}',
    '{"id": "x", "sex": "male", "sex": "female",'
    ' "labs": [{"test": "t:1", "result": "r:", "date": "2026-01-01"}]}',
    '{ "id" : "a" , "id" : "a" }',
    # and no duplicate: colons in strings and odd spacing read fast or slow, never refused
    '{"id": "a:b", "labs": [{"test": "t", "result": "1:2", "date": "2026-01-01"}]}',
    '{"id": "a\\u003ab"}',
    '{ "id" :\n "a" ,\t"sex":"male" }',
]


@pytest.mark.parametrize("text", DUPLICATES)
def test_duplicate_keys(text):
    got = same(text)
    if text.count('"sex"') == 2 or text.count('"id"') == 2:
        assert got is None
    if "labs" in text and '"date": "2026-01-02"' in text:
        assert got is None


@pytest.mark.parametrize(
    "text",
    [
        "{}",
        "[]",
        "1",
        '"x"',
        "null",
        '{"id": "a", "unknown": 1}',
        '{"id": "a", "format_version": "1"}',
        '{"id": "a", "format_version": "2"}',
        '{"id": "a", "format_version": 1}',
        '{"id": "a", "format_version": null}',
        '{"id": "a", "labs": [{"test": "anc", "date": "2026-01-01"}]}',
        '{"id": "a", "treatments": [{"start": "2026-01-02", "end": "2026-01-01", "name": "x"}]}',
        '{"id": "a", "attestations": null}',
        '{"id": "a", "labs": null}',
        '{"id": "a", "labs": [null]}',
        '{"resourceType": "Bundle", "type": "collection", "entry": []}',
        '{"id": "a"} x',
        '{"id": "a"}\n',
        '{"id": "a"} \t\r\n',
        '\n\t{"id": "a"}',
        '{"id": "a"}\x0c',
        '{"id": "a"}\u00a0',
        '{"id": "a"}{"id": "b"}',
        "\ufeff{}",
        " " * 3 + '{"id": "a"}',
        "[" * 5000 + "]" * 5000,
        '{"id": ' + "[" * 3000 + "]" * 3000 + "}",
    ],
)
def test_other_documents(text):
    same(text)


def test_the_schema_and_its_models_are_left_as_they_were():
    """Building the twin marks the models incomplete for a moment; they are complete after."""
    api._exact_patient.cache_clear()
    api._exact_patient()
    models = jsonfast._models(Patient.__pydantic_core_schema__)
    assert len(models) > 15
    assert all(cls.__dict__["__pydantic_complete__"] is True for cls in models)
    assert Patient.model_validate({"id": "x", "ecog": {"value": "1"}}).ecog.value == 1  # still lax


def test_models_the_twin_cannot_mirror_are_refused():
    class Timed(BaseModel):
        model_config = ConfigDict(extra="forbid")
        at: dt.datetime

    class Floating(BaseModel):
        model_config = ConfigDict(extra="forbid")
        x: float

    class Converted(BaseModel):
        model_config = ConfigDict(extra="forbid")
        d: dt.date

        @field_validator("d", mode="before")
        @classmethod
        def _d(cls, v: object) -> object:
            return v

    class Digits(BaseModel):
        x: Decimal = Field(max_digits=5)

    class Inner(BaseModel):
        model_config = ConfigDict(extra="forbid")
        x: int = 1

    class WithDefault(BaseModel):  # the keys of a default model are not in the text
        model_config = ConfigDict(extra="forbid")
        inner: Inner = Inner()

    for model in (Timed, Floating, Converted, Digits, WithDefault):
        with pytest.raises(jsonfast.Unsupported):
            jsonfast.reader(model)


@settings(max_examples=150, deadline=None)
@given(data=value_mutants())
def test_value_mutants(data):
    same(data)


@settings(max_examples=150, deadline=None)
@given(data=byte_mutants())
def test_byte_mutants(data):
    same(data)


@settings(max_examples=60, deadline=None)
@given(patient=s.patients())
def test_generated_profiles(patient):
    text = exact_json(patient.model_dump(exclude_unset=True))
    assert same(text) is not None


@settings(max_examples=300, deadline=None)
@given(
    path=st.sampled_from(NUMBER_FIELDS),
    number=st.one_of(
        st.integers(0, 40).flatmap(
            lambda places: st.decimals(allow_nan=False, allow_infinity=False, places=places)
        ),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.integers(-(10**32), 10**32),
    ),
)
def test_generated_numbers(path, number):
    same(raw(path, str(number)))


_EXAMPLE = Path(__file__).resolve().parents[1] / "patients" / "p01_ups_metastatic_eligible.json"


def _lax(model):
    """What a twin as lax as the model would read: strings for numbers, 0 for false, ..."""
    return lambda text: model.model_validate(json.loads(text, parse_float=float))


def _through_a_float(model):
    """A twin that reads every lab value through a float."""
    real = jsonfast.reader(model)

    def read(text):
        got = real(text)
        if got is None or not got.labs:
            return got
        labs = [lab.model_copy(update={"value": Decimal(float(lab.value))}) for lab in got.labs]
        return got.model_copy(update={"labs": labs})

    return read


def _unsupported(model):
    raise jsonfast.Unsupported("a core schema of another pydantic")


@pytest.mark.parametrize("broken", [_lax, _through_a_float, _unsupported])
def test_a_fast_path_built_less_strictly_is_not_used(monkeypatch, broken):
    """Should another pydantic build the twin laxly, or not at all, every profile takes the full
    path: what it refuses stays refused, with its own message."""
    example = (
        Path(__file__).resolve().parents[1] / "patients" / "p01_ups_metastatic_eligible.json"
    ).read_text()
    monkeypatch.setattr(jsonfast, "reader", broken)
    api._exact_patient.cache_clear()
    try:
        assert api._exact_patient()(example) is None
        assert api.parse_patient(example, "p01").id == "p01"
        with pytest.raises(PatientError, match="expected a number, not the string '1200'"):
            api.parse_patient(api._NEVER[0], "probe")
    finally:
        api._exact_patient.cache_clear()


def test_the_fast_path_of_this_pydantic_passes_its_checks():
    api._exact_patient.cache_clear()
    example = (
        Path(__file__).resolve().parents[1] / "patients" / "p01_ups_metastatic_eligible.json"
    ).read_text()
    assert api._exact_patient()(example) is not None
