"""Bounded reading of rule files (TOML): the same limits as JSON input (:mod:`eligimatch.jsonin`).

* at most the input limit of bytes (``ELIGIMATCH_MAX_INPUT_MB``), UTF-8;
* tables and arrays nested at most 64 deep (a rule file's logic nests about 15 deep; Python's
  TOML parser and the compiler recurse, so deeper would end in ``RecursionError``);
* integers and decimals within 10⁻³⁰..10³⁰ in magnitude, finite (``nan`` and ``inf`` are TOML
  floats; an integer of more than 4,300 digits is a ``ValueError`` inside the parser).

Every problem is returned as ``(field, message)``, the field as a dotted path.
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from typing import Any

from .jsonin import MAX_DEPTH, MAX_MAGNITUDE

__all__ = ["parse"]

_LONG_DIGITS = re.compile(r"[0-9_]{4000,}")


def parse(data: bytes) -> tuple[Any, list[tuple[str, str]]]:
    """The parsed document (floats as Decimal) and the problems found; ``None`` when it could
    not be parsed or breaks a bound."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, [("", "not UTF-8 text")]
    try:
        raw = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        return None, [("", f"TOML syntax error: {exc}")]
    except RecursionError:
        return None, [("", f"TOML syntax error: nested too deeply (at most {MAX_DEPTH} levels)")]
    except ValueError:      # int() refusing more than 4,300 digits
        m = _LONG_DIGITS.search(text)
        where = f" (line {text.count(chr(10), 0, m.start()) + 1})" if m else ""
        return None, [("", f"TOML: a number is out of range{where} (10⁻³⁰ to 10³⁰)")]
    problem = _bounds(raw)
    return (None, [problem]) if problem else (raw, [])


def _where(path: tuple[str | int, ...], raw: Any) -> str:
    out = ""
    node = raw
    for p in path:
        if isinstance(p, int):
            item = node[p] if isinstance(node, list) else None
            label = item.get("id") if isinstance(item, dict) else None
            out += f"[{label if isinstance(label, str) else p}]"
            node = item
        else:
            out += ("." if out else "") + p
            node = node.get(p) if isinstance(node, dict) else None
    return out


def _bounds(raw: Any) -> tuple[str, str] | None:
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(raw, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return _where(path[:6], raw) + "…", f"nested more than {MAX_DEPTH} levels deep"
        if isinstance(node, dict):
            stack.extend((v, (*path, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(node))
        elif isinstance(node, Decimal):
            if not node.is_finite():
                return _where(path, raw), f"{node} is not a number a rule may use"
            if node and not -MAX_MAGNITUDE <= node.adjusted() <= MAX_MAGNITUDE:
                return _where(path, raw), "the number is out of range (10⁻³⁰ to 10³⁰)"
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) >= 10 ** 31:
            return _where(path, raw), "the number is out of range (10⁻³⁰ to 10³⁰)"
    return None
