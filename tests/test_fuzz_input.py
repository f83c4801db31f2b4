"""Fuzzing: the example profiles, mutated, give a screening or eligimatch's own one-line error.

Mutations at the byte level (truncation, deletion, insertion, replacement, a duplicated key)
and at the value level (any value of the document replaced by any JSON value, including huge
and tiny numbers, deep lists and strings with control characters).  Whatever comes out, the
only exception allowed is an :class:`~eligimatch.errors.EligimatchError` whose message is one
line; the CLI then prints exactly that line and exits 2.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from cli_runner import run_main
from eligimatch.api import parse_patient, screen
from eligimatch.engine import RuleSet, load_rules
from eligimatch.errors import EligimatchError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "patients").glob("*.json"))
TEXTS = [p.read_bytes() for p in EXAMPLES]


@cache
def rules() -> RuleSet:
    return load_rules()


def screened_or_own_error(data: bytes) -> None:
    try:
        patient = parse_patient(data, "fuzz.json")
        screen(patient, rules(), None, "fuzz.json", explain=True)
    except EligimatchError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("fuzz.json"), str(exc)


@st.composite
def byte_mutants(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(TEXTS))
    i = draw(st.integers(0, len(text)))
    j = draw(st.integers(i, min(len(text), i + 64)))
    kind = draw(st.sampled_from(["truncate", "delete", "insert", "replace", "duplicate-key"]))
    if kind == "truncate":
        return text[:i]
    if kind == "delete":
        return text[:i] + text[j:]
    if kind == "insert":
        return text[:i] + draw(st.binary(min_size=1, max_size=16)) + text[i:]
    if kind == "replace":
        return text[:i] + bytes([draw(st.integers(0, 255))]) + text[i + 1 :]
    key = draw(st.sampled_from([b'"id": "dup", ', b'"as_of": "2020-01-01", ', b'"sex": "male", ']))
    return text[:1] + key + text[1:]


def _paths(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*path, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    if isinstance(doc, dict):
        return {**doc, head: _set(doc[head], tuple(rest), value)}
    return [_set(v, tuple(rest), value) if i == head else v for i, v in enumerate(doc)]


NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=10**29, max_value=10**40),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            Decimal("1e999999999"),
            Decimal("-1e-999999999"),
            Decimal("1e30"),
            Decimal("1e-30"),
            Decimal("0.0"),
            Decimal("-0"),
        ]
    ),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    NUMBERS,
    st.text(max_size=12),
    st.sampled_from(["2026-02-30", "2026-11-16", "n", "0", "1200", "a\nELIGIBLE", "\x1b[31m"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _dumps(doc: Any) -> bytes:
    def enc(o: Any) -> str:
        return f"@@{o}@@"

    text = json.dumps(doc, default=enc, ensure_ascii=False)
    for marker in {m for m in text.split('"') if m.startswith("@@") and m.endswith("@@")}:
        text = text.replace(f'"{marker}"', marker[2:-2])
    return text.encode()


@st.composite
def value_mutants(draw: st.DrawFn) -> bytes:
    doc = json.loads(draw(st.sampled_from(TEXTS)))
    path = draw(st.sampled_from(_paths(doc)))
    return _dumps(_set(doc, path, draw(VALUES)))


@given(data=byte_mutants())
@example(data=b'{"id": "x", "id": "y"}')
@example(data=b'{"id": "x", "weight": {"value": 1e999999999, "unit": "kg"}}')
def test_byte_mutants_screen_or_give_one_line_errors(data):
    screened_or_own_error(data)


@given(data=value_mutants())
@example(data=b'{"id": "x", "as_of": "2026-01-01", "reproductive": {"pregnant": "n"}}')
@example(data=b'{"\\n": null}')  # a field name with a newline: the message stays one line
def test_value_mutants_screen_or_give_one_line_errors(data):
    screened_or_own_error(data)


@given(data=st.one_of(byte_mutants(), value_mutants()))
def test_cli_prints_one_line_for_any_mutant(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "p.json"
    path.write_bytes(data)
    code, out, err = run_main(["screen", str(path)], _Capture())
    assert "Traceback" not in err
    if code == 0:
        assert err == "" or all(x.startswith("eligimatch: ") for x in err.splitlines())
    else:
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith(f"eligimatch: error: {path}: ")


class _Capture:
    """A stand-in for pytest's capsys inside a hypothesis test (fixtures are per test, not per
    example): sys.stdout and sys.stderr swapped for buffers while main() runs."""

    def __init__(self) -> None:
        import io
        import sys

        self.sys = sys
        self.out, self.err = io.StringIO(), io.StringIO()
        self.saved = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = self.out, self.err

    def readouterr(self) -> tuple[str, str]:
        self.sys.stdout, self.sys.stderr = self.saved
        return self.out.getvalue(), self.err.getvalue()
