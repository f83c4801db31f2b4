"""The canonical layout of rule files (eligimatch.rulefmt, eligimatch fmt): the same document
and every comment after formatting, idempotent, lines within 110 columns where a break exists,
and the fmt / check commands' exit codes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tomli
from hypothesis import example, given
from hypothesis import strategies as st

from cli_runner import run_main
from eligimatch.rulefmt import WIDTH, FormatError, format_text
from eligimatch.rulesyntax import comments, parse

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).with_name("eligimatch")
_BARE = re.compile(r"[A-Za-z0-9_-]+\Z")


def _doc(text: str) -> Any:
    return tomli.loads(text, parse_float=Decimal)


def _typed(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _typed(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_typed(x) for x in v]
    return type(v).__name__, str(v)


def _same(a: str, b: str) -> bool:
    return _typed(_doc(a)) == _typed(_doc(b))


# ---------------------------------------------------------------------------- generated documents

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x7f"), max_size=40)
_WORDS = st.lists(
    st.sampled_from(
        ["anti-angiogenic", "therapy", "a", "ULN", "≥", "5", "'x'", '"q"', "back\\slash", "  ", "\t", "é"]
    ),
    max_size=60,
).map(" ".join)
_KEYS = st.one_of(st.from_regex(r"[a-z_][a-z0-9_-]{0,10}", fullmatch=True), _TEXT.filter(bool))
_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(10**9), 10**9),
    _TEXT,
    _WORDS,
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6),
    st.dates(),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(_KEYS, inner, max_size=5)),
    max_leaves=40,
)


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def _inline(v: Any) -> str:
    """``v`` as one line of TOML, the way the rule files wrote logic before (no line breaks)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, Decimal):
        return format(v, "f") if "." in format(v, "f") else format(v, "f") + ".0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_inline(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_inline(x)}" for k, x in v.items()) + " }"
    return v.isoformat()  # a date


@st.composite
def rule_documents(draw: st.DrawFn) -> str:
    """A rule-file-like document as text: top-level keys, a table, an array of tables with a
    sub-array (indented headers), values written inline on one line, comments between lines and
    after values."""
    lines: list[str] = []

    def note() -> None:
        if draw(st.booleans()):
            lines.append("# " + draw(_WORDS))

    def body(n: int) -> None:
        for k, v in draw(st.dictionaries(_KEYS, _VALUES, max_size=n)).items():
            note()
            after = f"  # {draw(_WORDS)}" if draw(st.booleans()) else ""
            lines.append(f"{_key(k)} = {_inline(v)}{after}")

    body(3)
    lines.append("[trial]")
    body(3)
    for _ in range(draw(st.integers(0, 3))):
        note()
        lines.append("[[criteria]]")
        body(4)
        for _ in range(draw(st.integers(0, 2))):
            lines.append(draw(st.sampled_from(["", "  ", "\n"])) + "[[criteria.examples]]")
            body(3)
    return "\n".join(lines) + "\n"


PINNED = (
    'schema = 1\n[trial]\nlabel = "' + "word " * 40 + 'end"\n'
    "logic = { all = [" + ", ".join(['{ fact = "sex", is = "female" }'] * 6) + "] }\n"
)


@given(rule_documents())
@example(PINNED)
@example('a = "x\\"y"\nb = "\\\\ \\u00e9 ' + "z " * 60 + '"\n')
def test_formatting_keeps_the_document_and_every_comment_and_is_idempotent(text):
    once = format_text(text)
    assert _same(once, text)
    assert comments(parse(once)) == comments(parse(text))
    assert format_text(once) == once


@given(st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_tomli_w_output_formats_to_the_same_document(doc):
    tomli_w = pytest.importorskip("tomli_w")
    try:
        text = tomli_w.dumps({"t": doc, "rows": [doc, doc]}, multiline_strings=True)
    except (TypeError, ValueError):
        return
    once = format_text(text)
    assert _same(once, text) and format_text(once) == once


def test_long_logic_is_indented_across_lines_within_the_width():
    out = format_text(PINNED)
    assert max(len(line) for line in out.splitlines()) <= WIDTH
    assert 'logic = {\n  all = [\n    { fact = "sex", is = "female" },\n' in out
    assert out.endswith("  ],\n}\n")


# ---------------------------------------------------------------------------- layout, by example

COMMENTED = """# head comment


schema = 1   # after a value
[trial]
id = "T"
# above criteria
[[criteria]]
id = "I1"
logic = {
  # above the first key
  all = [  # after an opening bracket
    { fact = "sex", is = "female" },  # after an item
    # before the closing bracket
  ],
}
    [[criteria.examples]]
  expect = "pass"
"""

FORMATTED = """# head comment

schema = 1  # after a value

[trial]
id = "T"

# above criteria
[[criteria]]
id = "I1"
logic = {
  # above the first key
  all = [
    # after an opening bracket
    { fact = "sex", is = "female" },  # after an item
    # before the closing bracket
  ],
}

  [[criteria.examples]]
  expect = "pass"
"""


def test_comments_keep_their_places():
    out = format_text(COMMENTED)
    assert out == FORMATTED
    assert format_text(out) == out
    assert comments(parse(out)) == comments(parse(COMMENTED))


def test_a_one_line_logic_that_fits_stays_on_one_line():
    text = 'logic = { fact = "sex", is = "female" }\n'
    assert format_text(text) == text


def test_a_long_string_is_wrapped_without_changing_it_and_joined_again_when_it_fits():
    text = 'x = "' + "a very long sentence of words  with double spaces, " * 4 + 'end"\n'
    out = format_text(text)
    assert out.startswith('x = """\\\n  a very') and max(map(len, out.splitlines())) <= WIDTH
    assert _doc(out) == _doc(text)
    short = 'x = """\\\n  a short \\\n  string"""\n'
    assert format_text(short) == 'x = "a short string"\n'


def test_a_long_line_of_a_multi_line_string_gets_a_line_ending_backslash():
    text = 'notes = """\nfirst line\n' + "word " * 40 + 'last\n  indented"""\n'
    out = format_text(text)
    assert _doc(out) == _doc(text) and max(map(len, out.splitlines())) <= WIDTH
    assert "first line\n" in out and '\n  indented"""' in out


def test_literal_strings_numbers_and_dates_are_written_as_they_are():
    text = "a = 'C:\\path'\nb = 1_000\nc = 0x1F\nd = 1979-05-27 07:32:00\ne = 1e3\nf = '''\nraw\n'''\n"
    assert format_text(text) == text


def test_an_array_of_short_values_is_filled():
    text = "agents = [" + ", ".join(f'"drug{i:02}"' for i in range(30)) + "]\n"
    out = format_text(text).splitlines()
    assert out[0] == "agents = [" and out[-1] == "]" and len(out) == 5


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a = [\n", "TOML syntax error: Invalid value (at end of document)"),
        ("a = 1" + "0" * 5000 + "\n", "cannot be formatted: a number is out of range"),
        ("x = " + "[" * 2000 + "]" * 2000 + "\n", "cannot be formatted: nested too deeply"),
    ],
)
def test_text_that_cannot_be_formatted_is_a_format_error(text, reason):
    with pytest.raises(FormatError) as info:
        format_text(text)
    assert info.value.reason.startswith(reason)


def test_toml_1_1_inline_tables_across_lines_are_read():
    text = "x = {\n  a = 1,  # one\n  b = [1, 2,],\n}\n"
    assert format_text(text) == "x = {\n  a = 1,  # one\n  b = [1, 2],\n}\n"


# ---------------------------------------------------------------------------- the project's rules


def test_the_project_rules_are_formatted_and_within_the_width():
    for path in [*sorted((ROOT / "rules").glob("*.toml")), ROOT / "rules" / "shared" / "value_sets.toml"]:
        text = path.read_text("utf-8")
        assert format_text(text) == text, path
        assert max(len(line) for line in text.splitlines()) <= WIDTH, path


# ---------------------------------------------------------------------------- commands


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", d)
    return d


def _unformat(path: Path) -> str:
    text = path.read_text("utf-8")
    messy = text.replace('kind = "inclusion"', 'kind   =   "inclusion"', 1) + "\n\n\n"
    path.write_text(messy, encoding="utf-8")
    return messy


def test_fmt_check_exit_codes(rules, capsys):
    assert run_main(["fmt", "--check", str(rules)], capsys) == (0, "", "")
    target = rules / "NCT07342322.toml"
    messy = _unformat(target)
    code, out, err = run_main(["fmt", "--check", str(rules)], capsys)
    assert (code, out) == (1, f"{target}: not in the canonical layout\n")
    assert err == "eligimatch: 1 of 6 files would be reformatted\n"
    assert target.read_text("utf-8") == messy  # --check writes nothing


def test_fmt_rewrites_only_what_is_not_formatted(rules, capsys):
    target = rules / "NCT07342322.toml"
    _unformat(target)
    before = {p: p.stat().st_mtime_ns for p in rules.rglob("*.toml") if p != target}
    assert run_main(["fmt", str(rules)], capsys) == (0, f"reformatted {target}\n", "")
    assert target.read_text("utf-8") == (ROOT / "rules" / "NCT07342322.toml").read_text("utf-8")
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert run_main(["fmt", str(rules)], capsys) == (0, "", "")
    assert not list(rules.glob(".*.part"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a = [\n", "TOML syntax error: Invalid value (at end of document)"),
        (b"\xff\xfe", "not UTF-8 text"),
    ],
)
def test_fmt_of_a_broken_file_is_one_line_and_exit_2_nothing_written(rules, capsys, content, message):
    bad = rules / "bad.toml"
    bad.write_bytes(content)
    target = rules / "NCT07342322.toml"
    messy = _unformat(target)
    code, out, err = run_main(["fmt", str(rules)], capsys)
    assert (code, out) == (2, "") and err == f"eligimatch: error: {bad}: {message}\n"
    assert target.read_text("utf-8") == messy


def test_fmt_of_a_missing_file_is_a_user_error(tmp_path, capsys):
    code, _, err = run_main(["fmt", str(tmp_path / "nope.toml")], capsys)
    assert code == 2 and err == f"eligimatch: error: {tmp_path / 'nope.toml'}: no such rule file\n"


def test_check_names_an_unformatted_file_in_one_line(rules, capsys):
    target = rules / "NCT07342322.toml"
    _unformat(target)
    code, out, err = run_main(["check", str(rules)], capsys)
    assert code == 1
    assert out == f"{target}: not in the canonical layout (run: eligimatch fmt {target})\n"
    assert err == "eligimatch: 1 problem in 5 rule files\n"


def test_check_names_an_unformatted_shared_file(rules, capsys):
    shared = rules / "shared" / "value_sets.toml"
    shared.write_text(shared.read_text("utf-8") + "\n\n", encoding="utf-8")
    code, out, _ = run_main(["check", str(rules)], capsys)
    assert (code, out) == (1, f"{shared}: not in the canonical layout (run: eligimatch fmt {shared})\n")


def test_the_console_script_fmt_check(rules):
    done = subprocess.run(
        [str(SCRIPT), "fmt", "--check", str(rules)], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
