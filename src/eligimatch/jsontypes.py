"""The JSON types of a validated profile: what pydantic's lax mode would coerce.

:func:`type_problems`, after a model has validated the parsed JSON (:mod:`.jsonin`), walks the
model and the JSON side by side and reports every value whose JSON type is not the one the field
has (the string ``"1200"`` in a number field, ``0`` or ``"n"`` in a true/false field, a number in
a date field, ``true`` in a whole-number field).  A field whose type reads a JSON type unchanged
(a string, a date from a string, a number, a bool) is passed over without looking at its value.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic import BaseModel

__all__ = ["Problems", "place", "type_problems"]

Problems = list[tuple[str, str]]


def place(path: Sequence[str | int]) -> str:
    """A place in a JSON document as problems name it: ``labs[0].value``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out


def _shown(raw: Any) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        return f"the string {raw[:40]!r}"
    if isinstance(raw, int | Decimal):
        return f"the number {str(raw)[:40]}"
    if isinstance(raw, list):
        return "a list"
    return "an object"


def _expected(value: Any, raw: Any) -> str | None:
    """What the JSON value should have been, or None when its type is right."""
    if isinstance(value, bool):
        return None if isinstance(raw, bool) else "true or false"
    if isinstance(value, int):
        return None if isinstance(raw, int) and not isinstance(raw, bool) else "a whole number"
    if isinstance(value, Decimal | float):
        ok = isinstance(raw, int | Decimal) and not isinstance(raw, bool)
        return None if ok else "a number"
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return None if isinstance(raw, str) else 'a date string ("YYYY-MM-DD")'
    if isinstance(value, str):
        return None if isinstance(raw, str) else "a string"
    return None


# JSON type of a parsed value → the field value types it may validate into without coercion
_FITS: dict[type, tuple[type, ...]] = {
    str: (str, dt.date, dt.datetime, dt.time),
    bool: (bool,),
    int: (int, Decimal, float),
    Decimal: (Decimal, float),
}


# a field's type → the JSON types that validate into it unchanged (no coercion to report)
_SAME: dict[Any, frozenset[type]] = {
    str: frozenset({str}),
    dt.date: frozenset({str}),
    bool: frozenset({bool}),
    int: frozenset({int}),
    Decimal: frozenset({int, Decimal}),
    float: frozenset({int, Decimal}),
}


def _unchanged(annotation: Any) -> frozenset[type] | None:
    """The JSON types a value of a field typed ``annotation`` (one type, or one or None) is read
    from without coercion; None when the annotation is anything else (the value decides)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unchanged(typing.get_args(annotation)[0])
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Literal:
        return frozenset({str}) if all(type(a) is str for a in args) else None
    if origin in (typing.Union, types.UnionType):
        return _unchanged(args[0]) if len(args) == 1 else None
    return _SAME.get(annotation)


@cache
def _field_keys(model: type[BaseModel]) -> dict[str, tuple[str, frozenset[type] | None]]:
    """JSON key → (field name, the JSON types its value is read from unchanged, if known)."""
    return {
        info.alias or name: (name, _unchanged(info.annotation)) for name, info in model.model_fields.items()
    }


def type_problems(model: BaseModel, raw: Any) -> Problems:
    """Every value of ``raw`` (the JSON ``model`` was validated from) whose JSON type is not
    the type of its field, as ``(field, message)``."""
    out: Problems = []
    _walk(model, raw, [], out)
    return out


_MODEL, _SEQUENCE, _MAPPING, _LEAF = range(4)
_KINDS: dict[type, int] = {}


def _kind(t: type) -> int:
    """What :func:`_walk` does with a value of type ``t`` (isinstance once per type: a model's
    metaclass is an ABC's, whose isinstance is slow)."""
    kind = _KINDS.get(t)
    if kind is None:
        kind = _KINDS[t] = (
            _MODEL
            if issubclass(t, BaseModel)
            else _SEQUENCE
            if issubclass(t, list | tuple)
            else _MAPPING
            if issubclass(t, dict)
            else _LEAF
        )
    return kind


def _walk(value: Any, given: Any, path: list[str | int], out: Problems) -> None:
    # a leaf of the right JSON type (the common case) is passed over where it is met, without
    # a call; anything else is walked into (a model, a list, a dict) or checked (a leaf)
    fits = _FITS.get
    kind = _kind(type(value))
    if kind == _MODEL:
        if isinstance(given, dict):
            model: type[BaseModel] = type(value)
            keys = _field_keys(model)
            for key, g in given.items():
                field = keys.get(key)
                if field is not None:
                    if field[1] is not None and type(g) in field[1]:
                        continue  # read unchanged: no need to look at the value
                    v = getattr(value, field[0])
                    ok = fits(type(g))
                    if v is not None and (ok is None or type(v) not in ok):
                        path.append(key)
                        _walk(v, g, path, out)
                        path.pop()
    elif kind == _SEQUENCE:
        if isinstance(given, list) and len(given) == len(value):
            for i, (v, g) in enumerate(zip(value, given, strict=True)):
                ok = fits(type(g))
                if v is not None and (ok is None or type(v) not in ok):
                    path.append(i)
                    _walk(v, g, path, out)
                    path.pop()
    elif kind == _MAPPING:
        if isinstance(given, dict):
            for k, v in value.items():
                if k in given:
                    g = given[k]
                    ok = fits(type(g))
                    if v is not None and (ok is None or type(v) not in ok):
                        path.append(k)
                        _walk(v, g, path, out)
                        path.pop()
    elif value is not None:
        want = _expected(value, given)
        if want is not None:
            out.append((place(path), f"expected {want}, not {_shown(given)}"))
