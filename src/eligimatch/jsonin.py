"""Bounded, strict reading of JSON input (patient profiles, JSON Lines records, FHIR bundles).

What the standard library would let through, refused here with a message naming the field:

* more bytes than the input limit (``ELIGIMATCH_MAX_INPUT_MB``, default 20 MB per file or per
  JSON Lines line): refused before parsing, so a huge file costs no memory;
* text that is not UTF-8, or starts with a byte-order mark;
* duplicate keys in one object (``{"sex": "female", "sex": "male"}``: which one counts would be
  a guess);
* numbers beyond 10³⁰ or below 10⁻³⁰ in magnitude, or written with more than 100 characters
  (exact arithmetic on ``1e999999999`` would not finish), and ``NaN`` / ``Infinity``;
* objects nested deeper than a limit.

Numbers with a fraction or an exponent become :class:`~decimal.Decimal` (exact: through a float,
1499.99999999999999 /µL would read as 1500).

:func:`type_problems` (:mod:`.jsontypes`) adds what pydantic's lax mode would coerce: after a
model has validated the parsed JSON, it walks the model and the JSON side by side and reports
every value whose JSON type is not the one the field has (the string ``"1200"`` in a number
field, ``0`` or ``"n"`` in a true/false field, a number in a date field, ``true`` in a
whole-number field).  Strict pydantic validation cannot do this alone: in Python mode it refuses
date strings, and in JSON mode it accepts strings as decimals and reads decimals through a float.

This is the full path, which reads every input and names every problem; a profile of exactly
typed JSON is read first by :mod:`.jsonfast`, which declines to it for anything else.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from .errors import ConfigError, InputError
from .jsontypes import place, type_problems

__all__ = [
    "DEFAULT_MAX_MB",
    "TooLarge",
    "check_depth",
    "load",
    "max_input_bytes",
    "read_bytes",
    "text_of",
    "type_problems",
]

DEFAULT_MAX_MB = 20
MAX_NUMBER_CHARS = 100
MAX_MAGNITUDE = 30  # decimal exponent either side
MAX_DEPTH = 64

ErrorClass = Callable[[str, Sequence[tuple[str, str]]], InputError]


class TooLarge(Exception):
    """Input over the size limit (raised by :func:`read_bytes`, reported by the caller)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(too_large(limit))


def too_large(limit: int) -> str:
    return f"larger than the input limit of {_size(limit)} (set ELIGIMATCH_MAX_INPUT_MB to change it)"


def _size(n: int) -> str:
    return f"{n / 1_000_000:g} MB" if n >= 10_000 else f"{n} bytes"


def max_input_bytes() -> int:
    """The size limit of one input (a file, or a line of JSON Lines), from
    ``ELIGIMATCH_MAX_INPUT_MB`` (a positive number of megabytes; default 20)."""
    text = os.environ.get("ELIGIMATCH_MAX_INPUT_MB", "").strip()
    if not text:
        return DEFAULT_MAX_MB * 1_000_000
    try:
        mb = Decimal(text)
    except InvalidOperation:
        mb = Decimal(-1)
    if not mb.is_finite() or not 0 < mb <= 100_000:
        raise ConfigError(
            "ELIGIMATCH_MAX_INPUT_MB",
            f"expected a number of megabytes between 0 and 100000, got {text[:40]!r}",
        )
    return max(1, int(mb * 1_000_000))


def read_bytes(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, at most ``limit`` of them (:class:`TooLarge` beyond; ``OSError``
    when it cannot be read).  A device or a pipe is read only up to the limit."""
    with path.open("rb") as stream:
        return read_limited(stream, limit)


def read_limited(stream: IO[bytes], limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(limit)
    return data


# ---------------------------------------------------------------------------- parsing


class _Refused:
    """Left in the parsed tree by a parser hook in place of a value JSON allows and eligimatch
    does not (the walk that follows names the field)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


class _DupDict(dict[str, Any]):
    duplicate: str = ""


def _number(text: str) -> Decimal | _Refused:
    if len(text) > MAX_NUMBER_CHARS:
        return _Refused(f"the number {text[:20]}… has more than {MAX_NUMBER_CHARS} characters")
    d = Decimal(text)
    if d and not -MAX_MAGNITUDE <= d.adjusted() <= MAX_MAGNITUDE:
        return _Refused(f"the number {text[:20]} is out of range (10⁻³⁰ to 10³⁰)")
    return d


def _integer(text: str) -> int | _Refused:
    if len(text.lstrip("-")) > MAX_MAGNITUDE + 1:
        return _Refused(
            f"the number {text[:20]}{'…' if len(text) > 20 else ''} is out of range (10⁻³⁰ to 10³⁰)"
        )
    return int(text)


def _constant(text: str) -> _Refused:
    return _Refused("Input should be a finite number")  # NaN, Infinity: as pydantic says


def _duplicate(pairs: list[tuple[str, Any]], d: dict[str, Any]) -> _DupDict:
    seen: set[str] = set()
    out = _DupDict(d)
    for k, _ in pairs:
        if k in seen:
            out.duplicate = k
            break
        seen.add(k)
    return out


def _scan(raw: Any, max_depth: int | None) -> tuple[str, str] | None:
    """The first refused number, duplicate key (document order) or place nested too deeply."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(raw, ())]
    while stack:
        node, path = stack.pop()
        if max_depth is not None and len(path) > max_depth:
            return place(path[:6]) + "…", f"nested more than {max_depth} levels deep"
        if isinstance(node, _Refused):
            return place(path), node.message
        if isinstance(node, dict):
            if isinstance(node, _DupDict):
                return (
                    place((*path, node.duplicate)),
                    "duplicate key (given more than once in one object; which value counts would be a guess)",
                )
            stack.extend((v, (*path, k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(node))))
    return None


def text_of(data: bytes | str, source: str, error: ErrorClass, *, limit: int | None = None) -> str:
    """The text of a JSON input, refused (``error(source, problems)``) before parsing when it is
    over the size limit, not UTF-8, starts with a byte-order mark or is empty."""

    def fail(msg: str) -> InputError:
        return error(source, [("", msg)])

    if limit is None:
        limit = max_input_bytes()
    if len(data) > limit:
        raise fail(too_large(limit))
    if isinstance(data, bytes):
        if data.startswith(b"\xef\xbb\xbf"):
            raise fail("starts with a byte-order mark; save it as UTF-8 without one")
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise fail("UTF-16 text; eligimatch reads UTF-8")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise fail(f"not UTF-8 text (byte {exc.start + 1})") from None
    else:
        text = data
    if not text.strip():
        raise fail("empty (no JSON value)")
    return text


def load(
    data: bytes | str,
    source: str,
    error: ErrorClass,
    *,
    limit: int | None = None,
    max_depth: int | None = None,
) -> Any:
    """Parse JSON text under the rules of this module; raise ``error(source, problems)``."""

    def fail(msg: str, field: str = "") -> InputError:
        return error(source, [(field, msg)])

    text = text_of(data, source, error, limit=limit)
    flagged: list[object] = []  # refused numbers and objects with a duplicate key

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        d = dict(items)
        if len(d) == len(items):
            return d
        dup = _duplicate(items, d)
        flagged.append(dup)
        return dup

    def flag(value: Any) -> Any:
        if isinstance(value, _Refused):
            flagged.append(value)
        return value

    def number(t: str) -> Any:  # _number, with the common case inline
        if len(t) <= MAX_NUMBER_CHARS:
            d = Decimal(t)
            if not d or -MAX_MAGNITUDE <= d.adjusted() <= MAX_MAGNITUDE:
                return d
        return flag(_number(t))

    def integer(t: str) -> Any:  # _integer, with the common case inline
        return int(t) if len(t) <= MAX_MAGNITUDE + 1 else flag(_integer(t))

    try:
        raw = json.loads(
            text,
            parse_float=number,
            parse_int=integer,
            parse_constant=lambda t: flag(_constant(t)),
            object_pairs_hook=pairs,
        )
    except json.JSONDecodeError as exc:
        raise fail(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise fail("nested too deeply") from None
    except ValueError as exc:  # pragma: no cover - the hooks bound every number already
        raise fail(f"not valid JSON: {exc}") from None
    # only a document with something refused (or a depth limit) pays for the walk
    found = _scan(raw, max_depth) if flagged or max_depth is not None else None
    if found is not None:
        raise fail(found[1], found[0])
    return raw


def check_depth(raw: Any, source: str, error: ErrorClass, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``error`` when ``raw`` nests lists and objects more than ``max_depth`` deep."""
    found = _scan(raw, max_depth)
    if found is not None:
        raise error(source, [(found[0], found[1])])


def exact_json(value: Any, *, indent: int | None = None) -> str:
    """``value`` (dicts, lists, dates, Decimals, ...) as JSON text that strict input reads back
    unchanged: dates as ISO strings, every Decimal written as its exact literal (never through a
    float, never in a string), ``None`` members left out."""
    import json
    import uuid

    exact: dict[str, str] = {}
    marker = f"\0eligimatch-number-{uuid.uuid4().hex}-"

    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items() if x is not None}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        if isinstance(v, Decimal):
            if v == v.to_integral_value() and abs(v) < 10**15:
                return int(v)
            key = f"{marker}{len(exact)}"  # written as the exact literal below
            exact[json.dumps(key)] = str(v)
            return key
        if isinstance(v, dt.date):
            return v.isoformat()
        return v

    text = json.dumps(plain(value), indent=indent, ensure_ascii=False)
    for quoted, literal in exact.items():
        text = text.replace(quoted, literal)
    return text
