"""TOML text → a tree that keeps every comment, for :mod:`eligimatch.rulefmt`.

The tree holds the document's lines (blank lines, comments, table headers, ``key = value``) and
each value as written: a number, date, boolean or literal string verbatim; a basic string by
its content with its escapes as written (so it can be wrapped and joined again without decoding
it); arrays and inline tables (TOML 1.1: across lines, with comments and a trailing comma) with
the comments around their items.  It reads what tomli reads; what it cannot read raises
:class:`SyntaxProblem` (the formatter then leaves the file alone and reports it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "Array",
    "Blank",
    "Comment",
    "Header",
    "Item",
    "KeyValue",
    "Scalar",
    "Str",
    "SyntaxProblem",
    "Table",
    "comments",
    "parse",
]


class SyntaxProblem(ValueError):
    """Text the tree cannot be built from (``line`` counts from 1)."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")

    def __reduce__(self) -> tuple[type[SyntaxProblem], tuple[int, str]]:
        return type(self), (self.line, self.reason)


@dataclass
class Scalar:
    raw: str  # verbatim: may hold line breaks (a multi-line string)


@dataclass
class Str:
    content: str  # a basic string's content, escapes as written ("\n": a line break)


@dataclass
class Item:
    key: str | None  # None in an array
    value: Value
    before: list[str] = field(default_factory=list)  # comment lines above it
    after: str | None = None  # a comment after it on its line


@dataclass
class Array:
    items: list[Item]
    tail: list[str] = field(default_factory=list)  # comments before the closing bracket


@dataclass
class Table:
    items: list[Item]
    tail: list[str] = field(default_factory=list)


Value = Scalar | Str | Array | Table


@dataclass
class Blank:
    pass


@dataclass
class Comment:
    text: str


@dataclass
class Header:
    parts: list[str]
    array: bool  # [[...]]
    comment: str | None = None


@dataclass
class KeyValue:
    key: str
    value: Value
    comment: str | None = None


Line = Blank | Comment | Header | KeyValue

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_BARE_VALUE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})?"
    r"|[A-Za-z0-9_:.+-]+"
)


def parse(text: str) -> list[Line]:
    return _Parser(text).document()


def comments(lines: list[Line]) -> list[str]:
    """Every comment of the tree, in order."""
    out: list[str] = []

    def value(v: Value) -> None:
        if isinstance(v, Array | Table):
            for item in v.items:
                out.extend(item.before)
                value(item.value)
                if item.after:
                    out.append(item.after)
            out.extend(v.tail)

    for line in lines:
        if isinstance(line, Comment):
            out.append(line.text)
        elif isinstance(line, Header) and line.comment:
            out.append(line.comment)
        elif isinstance(line, KeyValue):
            value(line.value)
            if line.comment:
                out.append(line.comment)
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def fail(self, reason: str) -> SyntaxProblem:
        return SyntaxProblem(self.s.count("\n", 0, self.i) + 1, reason)

    def peek(self, n: int = 1) -> str:
        return self.s[self.i : self.i + n]

    def spaces(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def newline(self) -> bool:
        for nl in ("\n", "\r\n"):
            if self.s.startswith(nl, self.i):
                self.i += len(nl)
                return True
        return False

    def comment(self) -> str | None:
        if self.peek() != "#":
            return None
        end = self.s.find("\n", self.i)
        end = len(self.s) if end < 0 else end
        text = self.s[self.i : end].rstrip()
        self.i = end
        return text

    def end_of_line(self) -> str | None:
        self.spaces()
        note = self.comment()
        if self.i < len(self.s) and not self.newline():
            raise self.fail("expected the end of the line")
        return note

    # ------------------------------------------------------------------ lines

    def document(self) -> list[Line]:
        lines: list[Line] = []
        while self.i < len(self.s):
            self.spaces()
            if self.newline():
                lines.append(Blank())
            elif self.i >= len(self.s):
                break
            elif self.peek() == "#":
                text = self.comment()
                lines.append(Comment(text or "#"))
                self.end_of_line()
            elif self.peek() == "[":
                array = self.peek(2) == "[["
                self.i += 2 if array else 1
                self.spaces()
                parts = self.key_parts()
                self.spaces()
                close = "]]" if array else "]"
                if self.peek(len(close)) != close:
                    raise self.fail(f"expected {close!r}")
                self.i += len(close)
                lines.append(Header(parts, array, self.end_of_line()))
            else:
                key = self.key()
                value = self.value()
                lines.append(KeyValue(key, value, self.end_of_line()))
        return lines

    def key_parts(self) -> list[str]:
        parts = [self.simple_key()]
        while True:
            self.spaces()
            if self.peek() != ".":
                return parts
            self.i += 1
            self.spaces()
            parts.append(self.simple_key())

    def simple_key(self) -> str:
        c = self.peek()
        if c in "\"'":
            return self.one_line_string(c)
        m = _BARE_KEY.match(self.s, self.i)
        if not m:
            raise self.fail("expected a key")
        self.i = m.end()
        return m.group()

    def key(self) -> str:
        parts = self.key_parts()
        self.spaces()
        if self.peek() != "=":
            raise self.fail("expected '=' after a key")
        self.i += 1
        self.spaces()
        return ".".join(parts)

    # ------------------------------------------------------------------ values

    def value(self) -> Value:
        c = self.peek()
        if self.peek(3) in ('"""', "'''"):
            return self.multi_line_string(self.peek(3))
        if c == '"':
            return Str(self.one_line_string('"')[1:-1])
        if c == "'":
            return Scalar(self.one_line_string("'"))
        if c == "[":
            return self.array()
        if c == "{":
            return self.table()
        m = _BARE_VALUE.match(self.s, self.i)
        if not m:
            raise self.fail("expected a value")
        self.i = m.end()
        return Scalar(m.group())

    def one_line_string(self, quote: str) -> str:
        j = self.i + 1
        while j < len(self.s) and self.s[j] != quote and self.s[j] != "\n":
            j += 2 if quote == '"' and self.s[j] == "\\" else 1
        if j >= len(self.s) or self.s[j] != quote:
            raise self.fail("unterminated string")
        raw = self.s[self.i : j + 1]
        self.i = j + 1
        return raw

    def multi_line_string(self, delim: str) -> Value:
        quote, j, n = delim[0], self.i + 3, len(self.s)
        while j < n:
            if quote == '"' and self.s[j] == "\\":
                j += 2
                continue
            if self.s.startswith(delim, j):
                run = j
                while run < n and self.s[run] == quote:
                    run += 1
                end = min(run, j + 5)  # up to two quotes before the delimiter are content
                raw = self.s[self.i : end]
                self.i = end
                return Str(_join(raw[3:-3])) if quote == '"' else Scalar(raw)
            j += 1
        raise self.fail("unterminated multi-line string")

    def gap(self, items: list[Item], pending: list[str], same_line: bool) -> None:
        """Skip blanks, line breaks and comments between items; a comment on the line of the
        last item belongs to it, the others to the next item (or the closing bracket)."""
        while True:
            self.spaces()
            note = self.comment()
            if note is not None:
                if same_line and items and items[-1].after is None:
                    items[-1].after = note
                else:
                    pending.append(note)
                continue
            if self.newline():
                same_line = False
                continue
            return

    def array(self) -> Array:
        return self.container("[", "]", keyed=False)  # type: ignore[return-value]

    def table(self) -> Table:
        return self.container("{", "}", keyed=True)  # type: ignore[return-value]

    def container(self, open_: str, close: str, *, keyed: bool) -> Array | Table:
        self.i += 1
        items: list[Item] = []
        pending: list[str] = []
        self.gap(items, pending, same_line=False)
        while self.peek() != close:
            if self.i >= len(self.s):
                raise self.fail(f"expected {close!r}")
            key = self.key() if keyed else None
            items.append(Item(key, self.value(), pending))
            pending = []
            self.gap(items, pending, same_line=True)
            if self.peek() == ",":
                self.i += 1
                self.gap(items, pending, same_line=True)
            elif self.peek() != close:
                raise self.fail(f"expected ',' or {close!r}")
        self.i += 1
        return Table(items, pending) if keyed else Array(items, pending)


def _join(body: str) -> str:
    """A multi-line basic string's body without its line-ending backslashes (and the line
    breaks and indentation they remove): its content, escapes as written, real line breaks as
    ``\\n``.  Quotes are escaped when it is one line (so that it can be written ``"..."``)."""
    out: list[str] = []
    i = 1 if body.startswith("\n") else 2 if body.startswith("\r\n") else 0
    n = len(body)
    while i < n:
        c = body[i]
        if c == "\\":
            k = i + 1
            while k < n and body[k] in " \t":
                k += 1
            if k < n and body[k] in "\r\n":
                while k < n and body[k] in " \t\r\n":
                    k += 1
                i = k
                continue
            out.append(body[i : i + 2])
            i += 2
        elif c == "\r" and body.startswith("\r\n", i):
            i += 1
        else:
            out.append(c)
            i += 1
    if "\n" not in out:
        out = ['\\"' if c == '"' else c for c in out]
    return "".join(out)
