"""Text helpers of the drafter: markdown unescaping, normalisation for recognition, filler words.

Recognisers work on :func:`normalise`'s output, which keeps every character position of the
unescaped text (one character in, one character out), so spans found in it index the verbatim
item text too.
"""

from __future__ import annotations

import re

__all__ = ["FILLER", "heading_end", "leftover_words", "normalise", "unescape"]

_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!^<>|~=])")


def unescape(text: str) -> str:
    """The text without markdown backslash escapes (``1\\)``, ``\\>``, ``10\\^9``)."""
    return _ESCAPE.sub(r"\1", text)


# one character for one character, so spans stay valid in the unescaped text
_CHARS = str.maketrans(
    {
        "≥": "≥",
        "≧": "≥",
        "⩾": "≥",
        "≤": "≤",
        "≦": "≤",
        "⩽": "≤",
        "＞": ">",
        "＜": "<",
        "×": "x",
        "✕": "x",
        "*": "x",
        "µ": "u",
        "μ": "u",
        "–": "-",
        "—": "-",
        "−": "-",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "⁹": "9",
        "³": "3",
        "²": "2",
        "¹": "1",
        "⁰": "0",
        "⁶": "6",
        "\t": " ",
        "\n": " ",
        "\r": " ",
        "；": ";",
        "，": ",",
        "：": ":",
        "（": "(",
        "）": ")",
    }
)


def normalise(text: str) -> str:
    """Typographic variants folded for matching, same length as ``text``.

    ``≥ ≤`` stay single characters (recognisers read them and ``>=``); ``×`` becomes ``x``;
    superscript digits become digits (a recogniser reads ``10⁹`` as ``109`` after ``x``).
    """
    return text.translate(_CHARS)


# Words that carry no condition of their own: an item whose clauses are all recognised and
# whose remaining words are only these is fully accounted for.  Negations, exceptions, time
# words and qualifiers ("no", "not", "except", "history", "within", "prior", "active") are
# deliberately absent: a leftover one sends the item to review.
_FILLER_WORDS = """
a an the of and or to be is are has have had must should shall will with who that which patient
patients subject subjects participant participants individual individuals people person persons
man men woman women following criteria criterion meet meets met satisfy adequate normal
function functions organ organs main hematology haematology hematologic haematologic
hematological haematological blood routine test tests testing examination laboratory lab value
values level levels count counts liver hepatic renal kidney cardiac heart bone marrow reserve
as defined by follows status performance score serum plasma concentration absolute points point
required all also both either i.e ie that's so this these their his her its in on
"""
FILLER = frozenset(_FILLER_WORDS.split())

_WORD = re.compile(r"[a-z0-9]+(?:[.'-][a-z0-9]+)*", re.I)


def leftover_words(text: str) -> list[str]:
    """Words of ``text`` that are not filler (numbers and symbols count as words)."""
    out = [w for w in _WORD.findall(text) if w.lower() not in FILLER]
    out += [s for s in re.findall(r"[≥≤<>=%]", text)]
    return out


_HEADING = re.compile(r"\s*([A-Za-z][A-Za-z /&,()'-]{0,60}?)\s*:\s+")
_NOT_A_HEADING = re.compile(
    r"\b(no|not|non|except|exceptions?|unless|without|other than|only|"
    r"if|history)\b",
    re.I,
)


def heading_end(text: str) -> int:
    """The end of a leading heading ("Organ Function: Hematology: ...") of at most five words,
    or 0.  A heading with a negation or an exception word is not skipped."""
    pos = 0
    while True:
        m = _HEADING.match(text, pos)
        if m is None or len(m.group(1).split()) > 5 or _NOT_A_HEADING.search(m.group(1)):
            return pos
        pos = m.end()
