"""A small TOML 1.0 writer for rule files: inline tables on one line, as `tomllib` reads them."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

__all__ = ["value"]

_BARE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def key(k: str) -> str:
    return k if k and set(k) <= _BARE else json.dumps(k, ensure_ascii=False)


def string(s: str) -> str:
    if "\n" in s:
        body = s.replace("\\", "\\\\").replace('"""', '""\\"')
        return '"""\n' + body + '"""'
    return json.dumps(s, ensure_ascii=False)


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Decimal):
        exp = v.as_tuple().exponent
        if isinstance(exp, int) and exp >= 0:
            return str(int(v))
        text = format(v.normalize(), "f")
        return text if "." in text else text + ".0"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{ }"
        return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")
