"""The one canonical layout of a rule file (``eligimatch fmt``).

* a table header at column 0, a sub-table's one (``[[criteria.examples]]``) indented two spaces
  a level, and the table's ``key = value`` lines at the indentation of their header;
* a value on one line when it fits in :data:`WIDTH` columns; otherwise an inline table or an
  array of tables is written one item a line (``key = value,``), indented two spaces, closed
  on a line of its own; an array of short values is filled, several to a line;
* a string that does not fit is wrapped at spaces into a multi-line string whose lines end with
  a backslash (the same value: TOML drops the backslash, the line break and the indentation);
  one written that way and fitting again is joined back;
* one blank line before each table header (and its comments), none at the start or the end,
  never two in a row; blank lines inside arrays and inline tables go;
* every comment kept, in its place: above an item, after it on its line, or before a closing
  bracket; numbers, dates, literal and multi-line strings as written.

:func:`format_text` checks its own output: the document it reads must equal the document it
writes (values and their types) and every comment must still be there, else it raises
:class:`FormatError` and nothing is written.  Formatting a formatted file changes nothing.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import tomli

from .rulesyntax import (
    Array,
    Blank,
    Comment,
    Header,
    Item,
    KeyValue,
    Line,
    Scalar,
    Str,
    SyntaxProblem,
    Value,
    comments,
    parse,
)

__all__ = ["WIDTH", "FormatError", "format_text", "is_formatted", "reformat", "rule_sources"]

WIDTH = 110
STEP = 2
_PIECES = re.compile(r"(?<=[ \t])(?=[^ \t])")


class FormatError(ValueError):
    """Text that cannot be formatted: not TOML, or (a bug) a layout that would change it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)

    def __reduce__(self) -> tuple[type[FormatError], tuple[str]]:
        return type(self), (self.reason,)


def format_text(text: str) -> str:
    """``text`` in the canonical layout (see the module's documentation)."""
    try:
        before = tomli.loads(text, parse_float=Decimal)
        lines = parse(text)
        out = _render(lines)
        after = tomli.loads(out, parse_float=Decimal)
        kept = comments(parse(out)) == comments(lines)
    except tomli.TOMLDecodeError as exc:
        raise FormatError(f"TOML syntax error: {exc}") from None
    except SyntaxProblem as exc:
        raise FormatError(f"cannot be formatted: {exc}") from None
    except RecursionError:
        raise FormatError("cannot be formatted: nested too deeply") from None
    except ValueError:  # int() refusing more than 4,300 digits
        raise FormatError("cannot be formatted: a number is out of range") from None
    if _typed(after) != _typed(before) or not kept:
        raise FormatError("formatting would change the document; left as it is")
    return out


def is_formatted(text: str) -> bool:
    return format_text(text) == text


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return type(value).__name__, str(value)


# ---------------------------------------------------------------------------- document lines


def _render(lines: list[Line]) -> str:
    out: list[str] = []
    indent = 0
    for n, line in enumerate(lines):
        if isinstance(line, Blank):
            if out and out[-1] != "":
                out.append("")
        elif isinstance(line, Comment):
            if _opens_block(lines, n) and out and out[-1] != "":
                out.append("")
            out.append(" " * _next_indent(lines, n, indent) + line.text)
        elif isinstance(line, Header):
            indent = STEP * (len(line.parts) - 1)
            if out and out[-1] != "" and not isinstance(lines[n - 1], Comment):
                out.append("")
            head = "[[{}]]" if line.array else "[{}]"
            out.append(_with_note(" " * indent + head.format(".".join(line.parts)), line.comment))
        else:
            prefix = " " * indent + line.key + " = "
            note = len(line.comment) + 2 if line.comment else 0
            first, *rest = _value(line.value, indent, len(prefix), note)
            block = [prefix + first, *rest]
            block[-1] = _with_note(block[-1], line.comment)
            out.extend(block)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""


def _opens_block(lines: list[Line], n: int) -> bool:
    """The comment starts the comments right above a table header."""
    if n and isinstance(lines[n - 1], Comment):
        return False
    for line in lines[n:]:
        if not isinstance(line, Comment):
            return isinstance(line, Header)
    return False


def _next_indent(lines: list[Line], n: int, indent: int) -> int:
    for line in lines[n + 1 :]:
        if isinstance(line, Header):
            return STEP * (len(line.parts) - 1)
        if isinstance(line, KeyValue | Blank):
            return indent
    return indent


def _with_note(line: str, note: str | None) -> str:
    return f"{line}  {note}" if note else line


# ---------------------------------------------------------------------------- values


def _flat(v: Value) -> str | None:
    """``v`` on one line, or ``None`` when it holds a comment or a line break."""
    if isinstance(v, Str):
        return None if "\n" in v.content else f'"{v.content}"'
    if isinstance(v, Scalar):
        return None if "\n" in v.raw else v.raw
    if v.tail or any(i.before or i.after for i in v.items):
        return None
    parts = [_flat(i.value) for i in v.items]
    if any(p is None for p in parts):
        return None
    if isinstance(v, Array):
        return "[" + ", ".join(p or "" for p in parts) + "]"
    if not parts:
        return "{}"
    return "{ " + ", ".join(f"{i.key} = {p}" for i, p in zip(v.items, parts, strict=True)) + " }"


def _value(v: Value, indent: int, col: int, trail: int) -> list[str]:
    """``v`` starting at column ``col`` of a line indented ``indent``, followed by ``trail``
    characters on its last line: its first line's text, then whole lines."""
    flat = _flat(v)
    if flat is not None and col + len(flat) + trail <= WIDTH:
        return [flat]
    if isinstance(v, Str) and "\n" in v.content:
        return _text(v.content, trail)
    if isinstance(v, Str):
        return _wrap(v.content, indent + STEP, trail) or [flat or ""]
    if isinstance(v, Scalar):
        return v.raw.split("\n")
    inner = indent + STEP
    if isinstance(v, Array) and _fills(v, inner):
        return ["[", *_fill([_flat(i.value) or "" for i in v.items], inner), " " * indent + "]"]
    out = ["[" if isinstance(v, Array) else "{"]
    for item in v.items:
        out.extend(" " * inner + c for c in item.before)
        out.extend(_item(item, inner))
    out.extend(" " * inner + c for c in v.tail)
    out.append(" " * indent + ("]" if isinstance(v, Array) else "}"))
    return out


def _item(item: Item, indent: int) -> list[str]:
    prefix = " " * indent + (f"{item.key} = " if item.key is not None else "")
    note = len(item.after) + 2 if item.after else 0
    first, *rest = _value(item.value, indent, len(prefix), 1 + note)
    lines = [prefix + first, *rest]
    lines[-1] = _with_note(lines[-1] + ",", item.after)
    return lines


def _fills(v: Array, indent: int) -> bool:
    """An array of values without comments, each short enough for a line of its own."""
    if v.tail or not v.items:
        return False
    for i in v.items:
        flat = _flat(i.value)
        if (
            i.before
            or i.after
            or not isinstance(i.value, Str | Scalar)
            or flat is None
            or indent + len(flat) + 1 > WIDTH
        ):
            return False
    return True


def _fill(parts: list[str], indent: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for p in parts:
        if line and indent + len(line) + 1 + len(p) + 1 > WIDTH:
            lines.append(" " * indent + line)
            line = ""
        line = f"{line} {p}," if line else f"{p},"
    lines.append(" " * indent + line)
    return lines


def _text(content: str, trail: int) -> list[str]:
    """A string of several lines: ``\"\"\"``, then each line as it is, a line too long for
    :data:`WIDTH` broken after a space by a line-ending backslash."""
    lines = content.split("\n")
    out = ['"""']
    for n, line in enumerate(lines):
        end = 3 + trail if n == len(lines) - 1 else 0
        if len(line) + end <= WIDTH:
            out.append(line)
        else:
            out.extend(_pieces(line, 0, end))
    out[-1] += '"""'
    return out


def _wrap(content: str, indent: int, trail: int) -> list[str] | None:
    """A one-line string's content as a multi-line string of lines ending with a backslash,
    broken after spaces (``None`` when it has no such place or starts with a space)."""
    if not content or content[0] in " \t" or len(_PIECES.split(content)) < 2:
        return None
    lines = _pieces(content, indent, 3 + trail)
    lines[-1] += '"""'
    return ['"""\\', *lines]


def _pieces(line: str, indent: int, end: int) -> list[str]:
    """``line`` broken after spaces into lines ending with a backslash, each indented
    ``indent``; the last one followed by ``end`` characters."""
    pieces = _PIECES.split(line)
    lines: list[str] = []
    line = ""
    for p in pieces:
        if line and indent + len(line) + len(p) + 1 > WIDTH:
            lines.append(line)
            line = ""
        line += p
    lines.append(line)
    if indent + len(lines[-1]) + end > WIDTH:
        last = _PIECES.split(lines[-1])
        if len(last) > 1:
            lines[-1:] = ["".join(last[:-1]), last[-1]]
    pad = " " * indent
    return [*(pad + ln + "\\" for ln in lines[:-1]), pad + lines[-1]]


# ---------------------------------------------------------------------------- files


def rule_sources(paths: list[Path]) -> list[Path]:
    """The files ``eligimatch fmt`` works on: each file given, and for a directory its rule
    files (``*.toml``) and its shared value sets (``shared/*.toml``)."""
    out: list[Path] = []
    for p in paths:
        out.extend([*sorted(p.glob("*.toml")), *sorted((p / "shared").glob("*.toml"))] if p.is_dir() else [p])
    return list(dict.fromkeys(out))


def reformat(paths: list[Path]) -> list[tuple[Path, str]]:
    """Every file of ``paths`` whose layout is not canonical, with its canonical text.  Reads
    them all first: a file that cannot be read or formatted raises
    :class:`~eligimatch.errors.RuleFileError`, before anything is written."""
    from .errors import RuleFileError

    changed = []
    for path in paths:
        try:
            text = path.read_bytes().decode("utf-8")
            out = format_text(text)
        except OSError as exc:
            raise RuleFileError(str(path), [("", f"cannot read: {exc.strerror or exc}")]) from None
        except UnicodeDecodeError:
            raise RuleFileError(str(path), [("", "not UTF-8 text")]) from None
        except FormatError as exc:
            raise RuleFileError(str(path), [("", exc.reason)]) from None
        if out != text:
            changed.append((path, out))
    return changed
