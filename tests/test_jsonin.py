"""The JSON-type walk (jsontypes.type_problems, as jsonin exports it) finds what the plain walk
it replaced finds: every leaf of the example profiles, changed to each other JSON type, is
reported (or not) the same way."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from eligimatch import jsonin, jsontypes
from eligimatch.errors import PatientError
from eligimatch.patient import Patient

PATIENTS = sorted((Path(__file__).parent.parent / "patients").glob("*.json"))


def plain_walk(value: Any, given: Any, path: list[str | int], out: list[tuple[str, str]]) -> None:
    """The walk as first written: every field looked at, by its value."""
    if isinstance(value, BaseModel):
        if isinstance(given, dict):
            keys = {info.alias or name: name for name, info in type(value).model_fields.items()}
            for key, g in given.items():
                if key in keys:
                    plain_child(getattr(value, keys[key]), g, key, path, out)
    elif isinstance(value, list | tuple):
        if isinstance(given, list) and len(given) == len(value):
            for i, (v, g) in enumerate(zip(value, given, strict=True)):
                plain_child(v, g, i, path, out)
    elif isinstance(value, dict):
        if isinstance(given, dict):
            for k, v in value.items():
                if k in given:
                    plain_child(v, given[k], k, path, out)
    elif value is not None:
        want = jsontypes._expected(value, given)
        if want is not None:
            out.append((jsontypes.place(path), f"expected {want}, not {jsontypes._shown(given)}"))


def plain_child(v: Any, g: Any, key: str | int, path: list[str | int], out: list[tuple[str, str]]) -> None:
    fits = jsontypes._FITS.get(type(g))
    if fits is not None and type(v) in fits and (type(v) is not bool or type(g) is bool):
        return
    if v is None:
        return
    path.append(key)
    plain_walk(v, g, path, out)
    path.pop()


def leaves(raw: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(raw, dict):
        return [p for k, v in raw.items() for p in leaves(v, (*path, k))]
    if isinstance(raw, list):
        return [p for i, v in enumerate(raw) for p in leaves(v, (*path, i))]
    return [path]


def replaced(raw: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(raw)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


OTHERS = ["1", "2026-01-01", "yes", 1, 0, 1762992000, Decimal("1.0"), Decimal("2.5"), True, False, None]


@pytest.mark.parametrize("path", PATIENTS, ids=lambda p: p.stem)
def test_every_leaf_of_every_json_type_is_judged_as_the_plain_walk_judges_it(path):
    raw = jsonin.load(path.read_bytes(), str(path), PatientError)
    checked = 0
    for where in leaves(raw):
        for other in OTHERS:
            changed = replaced(raw, where, other)
            try:
                patient = Patient.model_validate(changed)
            except ValidationError:
                continue
            expected: list[tuple[str, str]] = []
            plain_walk(patient, changed, [], expected)
            assert jsonin.type_problems(patient, changed) == expected, (where, other)
            checked += 1
    assert checked > 0


def test_a_coerced_value_is_still_found_where_the_field_type_is_known():
    raw = json.loads(PATIENTS[0].read_text("utf-8"), parse_float=Decimal)
    raw["birth_date"] = 19700101
    patient = Patient.model_validate({**raw, "birth_date": dt.date(1970, 1, 1)})
    assert jsonin.type_problems(patient, raw) == [
        ("birth_date", 'expected a date string ("YYYY-MM-DD"), not the number 19700101')
    ]
