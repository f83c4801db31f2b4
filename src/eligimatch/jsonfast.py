"""The fast path of strict JSON input: a model read from exactly typed JSON in one pass of
pydantic-core, without the walks of the full path.

The full path (:func:`.jsonin.load`, the model's lax ``model_validate``, then
:func:`.jsontypes.type_problems`) reads everything and says what is wrong.  :func:`reader`
returns a function that reads the common case faster, or returns None when it cannot vouch for
the result, and the caller then takes the full path.  It vouches only for text the full path
accepts, and then returns the very model the full path builds:

* the JSON is parsed by the standard library's decoder, every number with a fraction or an
  exponent as a :class:`~decimal.Decimal` within :mod:`.jsonin`'s bounds (else: None);
* the model is validated by a *strict twin* of its own core schema, built once: booleans and
  whole numbers strict (no ``0`` for false, no ``true`` or ``"1"`` for 1), dates only from
  strings (lax, a date is also read from a number), decimals only from JSON numbers (not from
  strings); the twin reads the same fields with the same constraints, defaults and validators,
  so what it accepts the lax schema accepts too, into an equal model, with no value whose JSON
  type :func:`.jsontypes.type_problems` would report;
* ``max_digits`` / ``decimal_places`` (which pydantic checks through ``Decimal.as_tuple``) are
  enforced as bounds: the whole digits as ``lt`` / ``gt`` in the twin, the decimal places of
  every number as it is parsed;
* no key is given twice: the keys of the model (every JSON object is a model, and a model with
  ``extra="forbid"`` has one field per key) are counted against the colons of the text, and
  when strings hold colons a second parse looks.
"""

from __future__ import annotations

import contextlib
import json
import json.scanner
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Context, Decimal
from typing import Any, TypeVar

import pydantic.main
from pydantic import BaseModel
from pydantic_core import SchemaValidator
from pydantic_core import core_schema as cs

from .jsonin import MAX_MAGNITUDE, MAX_NUMBER_CHARS

__all__ = ["Unsupported", "reader"]

M = TypeVar("M", bound=BaseModel)
Schema = Mapping[str, Any]

_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace (the decoder's own pattern)
_WHOLE = MAX_MAGNITUDE + 1  # jsonin refuses whole numbers of more digits
_EXACT = Context(prec=4 * MAX_NUMBER_CHARS)  # quantize is exact on every number jsonin reads
# core schema types the twin reads as they are (their validation is the same in both)
_SAME = frozenset({"definitions", "definition-ref", "model-field", "default", "nullable", "list", "str"})


class Unsupported(Exception):
    """A model whose schema the twin cannot mirror (the full path reads it alone)."""


def reader(model: type[M]) -> Callable[[str], M | None]:
    """A function of JSON text that returns ``model`` read from it, or None when the fast path
    cannot vouch for it (see the module docstring).  Raises :class:`Unsupported` for a model
    with a type or validator the twin does not mirror."""
    schema = model.__pydantic_core_schema__
    places: list[int] = []
    twin = _twin(schema, places)
    validator = _build(twin, _models(schema))
    decode = _decoder(json.JSONDecoder(parse_float=_number_reader(min(places, default=None))))
    nested = {cls: _nested(fields) for cls, fields in _model_fields(schema)}
    leaf = frozenset(cls for cls, names in nested.items() if not names)  # holding no model

    def keys(m: BaseModel) -> int:
        n = len(m.__pydantic_fields_set__)
        d = m.__dict__
        for name in nested[type(m)]:
            v = d[name]  # None or [] when not given (see _nested): no keys counted
            if v is None:
                continue
            if type(v) is list:
                for x in v:
                    t = type(x)
                    if t in leaf:
                        n += len(x.__pydantic_fields_set__)
                    elif t in nested:
                        n += keys(x)
            elif type(v) in leaf:
                n += len(v.__pydantic_fields_set__)
            elif type(v) in nested:
                n += keys(v)
        return n

    def read(text: str) -> M | None:
        try:
            out: M = validator.validate_python(decode(text))
            if text.count(":") == keys(out) or not _duplicates(text):
                return out
        except Exception:  # refused, or out of bounds: the full path says why
            pass
        return None

    return read


def _decoder(decoder: json.JSONDecoder) -> Callable[[str], Any]:
    """``decoder.decode``, calling its scanner directly for text without leading whitespace."""
    scan: Callable[[str, int], tuple[Any, int]]
    scan = json.scanner.make_scanner(decoder)  # type: ignore[arg-type]  # typeshed has its class
    decode, space = decoder.decode, _SPACE.match

    def parse(text: str) -> Any:
        try:
            value, end = scan(text, 0)
        except StopIteration:  # leading whitespace, or no JSON value
            return decode(text)
        if end != len(text) and space(text, end).end() != len(text):  # type: ignore[union-attr]
            raise ValueError("extra data")
        return value

    return parse


def _number_reader(places: int | None) -> Callable[[str], Decimal]:
    """The ``parse_float`` hook: jsonin's bounds, and at most ``places`` decimal places."""
    unit = Decimal(1).scaleb(-places) if places is not None else None
    longest = (places or 0) + 1  # the point and the decimal places
    # written without an exponent in this many characters, a number is within every bound
    short = min(MAX_MAGNITUDE, MAX_MAGNITUDE if places is None else places) + 1

    def number(text: str) -> Decimal:
        if len(text) <= short and "e" not in text and "E" not in text:
            return Decimal(text)
        if len(text) <= MAX_NUMBER_CHARS:
            d = Decimal(text)
            if not d:
                return d
            if -MAX_MAGNITUDE <= d.adjusted() <= MAX_MAGNITUDE and (
                unit is None
                or ("e" not in text and "E" not in text and len(text) - text.find(".") <= longest)
                or _EXACT.quantize(d, unit) == d
            ):
                return d
        raise ValueError(text[:20])

    return number


class _Twice(Exception):
    pass


def _twice(items: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(items)
    if len(d) != len(items):
        raise _Twice
    return d


def _duplicates(text: str) -> bool:
    """Whether an object of ``text`` (JSON that parses) gives a key twice."""
    try:
        json.loads(text, parse_float=Decimal, object_pairs_hook=_twice)
    except _Twice:
        return True
    return False


# ---------------------------------------------------------------------------- the twin


def _twin(s: Schema, places: list[int]) -> Schema:
    """The strict twin of core schema ``s``; the decimal places of its decimals go to ``places``."""
    t = s["type"]
    if t in _SAME:
        return _children(s, places)
    if t == "model":
        if s.get("custom_init") or s.get("root_model") or s.get("post_init"):
            raise Unsupported(f"model {s['cls'].__name__}: custom init, root model or post-init")
        return _children(s, places)
    if t == "model-fields":
        if s.get("extras_schema") or s.get("extra_behavior") not in (None, "forbid"):
            raise Unsupported(f"model {s.get('model_name')}: extra fields")
        return _children(s, places)
    if t == "function-after":
        return _children(s, places)
    if t == "function-before":
        inner = _unwrapped(s["schema"])
        if inner["type"] not in ("literal", "bool", "int"):
            raise Unsupported(f"a before validator on a {inner['type']}")
        # the value the validator sees must already be of the JSON type it returns
        twin = _children(s, places)
        return cs.chain_schema([twin["schema"], twin])
    if t == "literal":
        if not all(type(v) is str for v in s["expected"]):
            raise Unsupported(f"literal {s['expected']}")
        return s
    if t == "bool":
        return {**s, "strict": True}
    if t == "int":
        return _bounded({**s, "strict": True}, _WHOLE)
    if t == "date":  # from a string only (lax, a date is also read from a number)
        text = cs.str_schema(strict=True, strip_whitespace=False, to_lower=False, to_upper=False)
        return cs.chain_schema([text, s])
    if t == "decimal":
        return _decimal(s, places)
    raise Unsupported(f"core schema type {t!r}")


def _children(s: Schema, places: list[int]) -> Schema:
    out = dict(s)
    for key in ("schema", "items_schema"):
        if key in s:
            out[key] = _twin(s[key], places)
    if "definitions" in s:
        out["definitions"] = [_twin(d, places) for d in s["definitions"]]
    if "fields" in s:
        out["fields"] = {name: _twin(f, places) for name, f in s["fields"].items()}
    return out


def _unwrapped(s: Schema) -> Schema:
    while s["type"] in ("nullable", "default"):
        s = s["schema"]
    return s


def _decimal(s: Schema, places: list[int]) -> Schema:
    out = dict(s)
    most, dp = out.pop("max_digits", None), out.pop("decimal_places", None)
    if most is not None and (dp is None or dp > most):
        raise Unsupported(f"decimal with max_digits {most} and decimal_places {dp}")
    if dp is not None:
        places.append(dp)
    whole = _WHOLE if most is None else min(_WHOLE, most - dp)
    # a Decimal (from a JSON number with a fraction or exponent) or a whole number, not a string
    number = cs.union_schema(
        [cs.is_instance_schema(Decimal), cs.int_schema(strict=True)], mode="left_to_right"
    )
    return cs.chain_schema([number, _bounded(out, whole)])


def _bounded(s: Schema, digits: int) -> Schema:
    """``s`` refusing numbers of more than ``digits`` whole digits."""
    limit = Decimal(f"1e{digits}") if s["type"] == "decimal" else 10**digits
    out = dict(s)
    out["lt"] = limit if out.get("lt") is None else min(out["lt"], limit)
    out["gt"] = -limit if out.get("gt") is None else max(out["gt"], -limit)
    return out


# ---------------------------------------------------------------------------- building


def _walk(s: Any) -> Iterator[Schema]:
    if isinstance(s, dict):
        if isinstance(s.get("type"), str):
            yield s
        for key in ("schema", "items_schema"):
            if key in s:
                yield from _walk(s[key])
        for d in s.get("definitions", ()):
            yield from _walk(d)
        for f in s.get("fields", {}).values():
            yield from _walk(f)


def _models(s: Schema) -> list[type[BaseModel]]:
    return list({n["cls"]: None for n in _walk(s) if n["type"] == "model"})


def _model_fields(s: Schema) -> Iterator[tuple[type[BaseModel], dict[str, Schema]]]:
    for n in _walk(s):
        if n["type"] == "model":
            yield n["cls"], n["schema"]["fields"]


def _nested(fields: dict[str, Schema]) -> tuple[str, ...]:
    """The fields whose values may hold models (the only JSON objects the schema reads).  Their
    defaults must hold none (None, or an empty list), or keys not in the text would be counted."""
    out = []
    for name, f in fields.items():
        if any(n["type"] in ("model", "definition-ref") for n in _walk(f)):
            default = f["schema"]
            if default["type"] == "default":
                if default.get("default_factory_takes_data"):
                    raise Unsupported(f"field {name}: a default factory that takes data")
                factory = default.get("default_factory")
                value = factory() if factory is not None else default.get("default")
                if value is not None and value != []:
                    raise Unsupported(f"field {name}: a default that holds a model")
            out.append(name)
    return tuple(out)


def _build(twin: Schema, models: list[type[BaseModel]]) -> SchemaValidator:
    """The twin's validator.  pydantic-core reuses a complete model's own validator for a model
    in a schema (it would validate the nested models laxly): the models are marked incomplete
    while the twin is built, as ``model_rebuild`` does, under its lock."""
    with getattr(pydantic.main, "_rebuild_lock", contextlib.nullcontext()):
        complete = {cls: cls.__dict__.get("__pydantic_complete__") for cls in models}
        try:
            for cls in models:
                type.__setattr__(cls, "__pydantic_complete__", False)
            return SchemaValidator(twin)
        finally:
            for cls, was in complete.items():
                if was is None:
                    type.__delattr__(cls, "__pydantic_complete__")
                else:
                    type.__setattr__(cls, "__pydantic_complete__", was)
