"""Criteria text → items, each with its registry number and verbatim text.

Handles numbered lists (``1.``, ``1)``, markdown-escaped ``1\\)`` and ``10\\.``), bullets
(``*``, ``-``, ``•``), nested sub-items (a list of another marker style, or bullets, under an
item), run-on items joined by ``; 2.`` on one line, and unnumbered paragraphs (numbered in order
of appearance, flagged so the notes can say so).  Item texts are verbatim slices of the source:
joined, they give the source text back, modulo whitespace and list markers (tested on every
record of ``tests/data/ctgov``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Item", "split_block"]


@dataclass
class Item:
    number: str  # "8", "8.2": the registry number path
    text: str  # verbatim, without its list marker
    numbered: bool  # the source numbered it (False: numbered by position)
    heading: str = ""  # the parent's text, for a sub-item
    children: list[Item] = field(default_factory=list)

    def walk(self) -> list[Item]:
        return [self, *(d for c in self.children for d in c.walk())]


_NUM = re.compile(r"^(\s*)(\(?)(\d{1,3})(\\?[.)])(?=\s|$)\s*")
_LETTER = re.compile(r"^(\s*)\(?([a-h]|i{1,3}|iv|v|vi{1,3})(\\?\))(?=\s)\s*")
_BULLET = re.compile(r"^(\s*)([*\-•·▪◦‣o])(?=\s)\s+")
_RUNON = re.compile(r";\s*(\d{1,3})\.\s+")


@dataclass
class _Line:
    indent: int
    style: str  # "." / ")" / "a)" / "*" / "" (no marker)
    number: int | None
    text: str


def _lines(block: str) -> list[_Line | None]:
    """Marked lines; None for a blank line (a paragraph break)."""
    out: list[_Line | None] = []
    for raw in block.splitlines():
        if not raw.strip():
            out.append(None)
            continue
        m = _NUM.match(raw)
        if m and not re.match(r"\s*\d", raw[m.end() : m.end() + 1] or " "):
            style = ("(" if m.group(2) else "") + m.group(4).lstrip("\\")
            out.append(_Line(len(m.group(1)), style, int(m.group(3)), raw[m.end() :]))
            continue
        m = _LETTER.match(raw)
        if m:
            out.append(_Line(len(m.group(1)), "a)", None, raw[m.end() :]))
            continue
        m = _BULLET.match(raw)
        if m:
            out.append(_Line(len(m.group(1)), "*", None, raw[m.end() :]))
            continue
        out.append(_Line(len(raw) - len(raw.lstrip()), "", None, raw.strip()))
    return out


def _runon(text: str, first: int) -> list[tuple[int, str]] | None:
    """ "A; 2. B; 3. C" → [(first, A), (2, B), (3, C)] when the numbers run on from ``first``."""
    parts: list[tuple[int, str]] = []
    pos, expect = 0, first + 1
    for m in _RUNON.finditer(text):
        if int(m.group(1)) != expect:
            continue
        parts.append((expect - 1, text[pos : m.start() + 1]))
        pos, expect = m.end(), expect + 1
    if not parts:
        return None
    parts.append((expect - 1, text[pos:]))
    return parts


def split_block(block: str) -> tuple[list[Item], bool]:
    """Top-level items of one criteria block, and whether they were numbered by position."""
    lines = _lines(block)
    marked = [ln for ln in lines if ln is not None and ln.style]
    if not marked and not any(ln is not None and _RUNON.search(ln.text) for ln in lines):
        return _paragraphs(lines), True
    top: list[Item] = []
    # stack of (style, indent, last number, the list it appends to, its parent)
    stack: list[tuple[str, int, int, list[Item], Item | None]] = []
    current: Item | None = None
    pending_gap = False
    for ln in lines:
        if ln is None:
            pending_gap = True
            continue
        if not ln.style:
            if current is None:  # text before the first marker
                runs = _runon(ln.text, 1) if _RUNON.search(ln.text) else None
                if runs:
                    for n, t in runs:
                        current = Item(str(n), t, True)
                        top.append(current)
                    stack = [(".", 0, runs[-1][0], top, None)]
                else:
                    current = Item(str(len(top) + 1), ln.text, False)
                    top.append(current)
            else:
                current.text += ("\n\n" if pending_gap else "\n") + ln.text
            pending_gap = False
            continue
        pending_gap = False
        level = _level(stack, ln)
        if level is None:  # a new nested list under the current item
            parent = current
            siblings = parent.children if parent is not None else top
            stack.append((ln.style, ln.indent, 0, siblings, parent))
            level = len(stack) - 1
        del stack[level + 1 :]
        style, indent, last, siblings, parent = stack[level]
        number = ln.number if ln.number is not None else last + 1
        stack[level] = (style, indent, number, siblings, parent)
        prefix = f"{parent.number}." if parent is not None else ""
        runs = _runon(ln.text, number) if ln.style == "." else None
        for n, t in runs or [(number, ln.text)]:
            current = Item(
                f"{prefix}{n}", t, ln.number is not None, parent.text if parent is not None else ""
            )
            siblings.append(current)
            stack[level] = (style, indent, n, siblings, parent)
    return top, False


def _level(stack: list[tuple[str, int, int, list[Item], Item | None]], ln: _Line) -> int | None:
    """Which open list a marked line continues, or None when it opens a nested list."""
    if ln.style == "*":
        bullets = [i for i, lvl in enumerate(stack) if lvl[0] == "*"]
        within = [i for i in bullets if stack[i][1] <= ln.indent]
        if within:
            i = within[-1]
            if stack[i][1] == ln.indent or i != len(stack) - 1:
                return i
            return None  # deeper than the current bullet: nested
        return bullets[0] if bullets else None
    for i in range(len(stack) - 1, -1, -1):
        style, _, last, _, _ = stack[i]
        if style == ln.style and (ln.number is None or ln.number == last + 1):
            return i
    if ln.number is not None and ln.number != 1:
        for i in range(len(stack) - 1, -1, -1):  # a gap in the numbering: same style
            if stack[i][0] == ln.style:
                return i
    return None


def _paragraphs(lines: list[_Line | None]) -> list[Item]:
    """Unmarked text: one item per paragraph (blank-line separated), numbered by position."""
    items: list[Item] = []
    buf: list[str] = []
    for ln in [*lines, None]:
        if ln is None:
            if buf:
                items.append(Item(str(len(items) + 1), "\n".join(buf), False))
                buf = []
        else:
            buf.append(ln.text)
    return items
