"""Bounded reading of rule files (TOML 1.1): the same limits as JSON input (:mod:`eligimatch.jsonin`).

Rule files are read with ``tomli`` (≥ 2.4, TOML 1.1: an inline table may span lines, hold
comments and end with a comma), not ``tomllib``, which reads TOML 1.0 before Python 3.15.

* at most the input limit of bytes (``ELIGIMATCH_MAX_INPUT_MB``), UTF-8;
* tables and arrays nested at most 64 deep (a rule file's logic nests about 15 deep; the TOML
  parser and the compiler recurse, so deeper would end in ``RecursionError``);
* integers and decimals within 10⁻³⁰..10³⁰ in magnitude, finite (``nan`` and ``inf`` are TOML
  floats; an integer of more than 4,300 digits is a ``ValueError`` inside the parser);
* at most :data:`MAX_VALUES` values once named definitions are expanded (a definition used
  many times by definitions used many times would otherwise grow without limit).

Every problem is returned as ``(field, message)``, the field written by :func:`location`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import tomli

from .jsonin import MAX_DEPTH, MAX_MAGNITUDE

__all__ = ["MAX_DEPTH", "MAX_VALUES", "bounds", "location", "parse"]

MAX_VALUES = 1_000_000  # tables, arrays and values of one document after expansion

_LONG_DIGITS = re.compile(r"[0-9_]{4000,}")


def parse(data: bytes) -> tuple[Any, list[tuple[str, str]]]:
    """The parsed document (floats as Decimal) and the problems found; ``None`` when it could
    not be parsed or breaks a bound."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, [("", "not UTF-8 text")]
    try:
        raw = tomli.loads(text, parse_float=Decimal)
    except tomli.TOMLDecodeError as exc:
        return None, [("", f"TOML syntax error: {exc}")]
    except RecursionError:
        return None, [("", f"TOML syntax error: nested too deeply (at most {MAX_DEPTH} levels)")]
    except ValueError:  # int() refusing more than 4,300 digits
        m = _LONG_DIGITS.search(text)
        where = f" (line {text.count(chr(10), 0, m.start()) + 1})" if m else ""
        return None, [("", f"TOML: a number is out of range{where} (10⁻³⁰ to 10³⁰)")]
    problem = bounds(raw)
    return (None, [problem]) if problem else (raw, [])


def location(path: Sequence[Any], raw: Any) -> str:
    """A path into a rule document as a field name: keys joined by dots, a list index written
    as the item's ``id`` where it has one (``criteria[I8].logic.all[0].quantity``)."""
    out = ""
    node = raw
    for p in path:
        if isinstance(p, int) and not isinstance(p, bool):
            item = node[p] if isinstance(node, list) and -len(node) <= p < len(node) else None
            label = item.get("id") if isinstance(item, dict) else None
            out += f"[{label if isinstance(label, str) and label else p}]"
            node = item
        else:
            out += ("." if out else "") + str(p)
            node = node.get(p) if isinstance(node, dict) else None
    return out


def bounds(raw: Any) -> tuple[str, str] | None:
    """The first bound ``raw`` breaks (nesting, a number's magnitude, the number of values)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(raw, ())]
    count = 0
    while stack:
        node, path = stack.pop()
        count += 1
        if count > MAX_VALUES:
            return "", f"more than {MAX_VALUES:,} values (with definitions expanded)"
        if len(path) > MAX_DEPTH:
            return location(path[:6], raw) + "…", f"nested more than {MAX_DEPTH} levels deep"
        if isinstance(node, dict):
            stack.extend((v, (*path, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
        elif isinstance(node, Decimal):
            if not node.is_finite():
                return location(path, raw), f"{node} is not a number a rule may use"
            if node and not -MAX_MAGNITUDE <= node.adjusted() <= MAX_MAGNITUDE:
                return location(path, raw), "the number is out of range (10⁻³⁰ to 10³⁰)"
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) >= 10**31:
            return location(path, raw), "the number is out of range (10⁻³⁰ to 10³⁰)"
    return None
