"""The accepted unit spellings (``data/unit_spellings.toml``) and the folding of their typographic
variants.  Pure text: nothing here knows what a unit means."""

from __future__ import annotations

import difflib
import functools
import re
from importlib import resources

from ..diskcache import toml_table

__all__ = ["SPELLINGS_FILE", "did_you_mean", "normalise_spelling", "spellings"]

SPELLINGS_FILE = "unit_spellings.toml"
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPER_RUN = re.compile(r"(\d?)([⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)")
_MC = re.compile(r"(?<![A-Za-z])mc(?=[A-Za-z])")  # mcg, mcL, /mcL: the micro prefix


def normalise_spelling(text: str) -> str:
    """Fold the typographic variants of a unit spelling; nothing else (case is kept).

    ``µmol/L`` → ``umol/L``, ``mcg/L`` → ``ug/L``, ``×10⁹/L`` → ``x10^9/L``, ``/mm³`` →
    ``/mm3``, ``g/(24·h)`` → ``g/(24.h)``, surrounding whitespace off, inner runs to one space.
    """
    s = " ".join(text.split())
    s = s.replace("µ", "u").replace("μ", "u")
    s = _MC.sub("u", s)
    s = s.replace("×", "x").replace("·", ".").replace("⋅", ".").replace("−", "-")

    def exponent(m: re.Match[str]) -> str:
        digits = m.group(2).translate(_SUPERSCRIPT)
        return f"{m.group(1)}^{digits}" if m.group(1) else digits

    return _SUPER_RUN.sub(exponent, s)


@functools.cache
def spellings() -> dict[str, str]:
    """Every accepted spelling → the pint expression it means (``data/unit_spellings.toml``).

    Raises ValueError for a spelling listed twice or not in normal form (it could never match).
    """
    text = resources.files("eligimatch.data").joinpath(SPELLINGS_FILE).read_text("utf-8")
    out: dict[str, str] = {}
    for group, entries in toml_table(text).items():
        for spelling, expr in entries.items():
            if spelling in out:
                raise ValueError(f"{SPELLINGS_FILE}: [{group}] {spelling!r} is listed twice")
            if normalise_spelling(spelling) != spelling:
                raise ValueError(
                    f"{SPELLINGS_FILE}: [{group}] {spelling!r} is not in normal form "
                    f"({normalise_spelling(spelling)!r})"
                )
            out[spelling] = expr
    return out


def did_you_mean(spelling: str) -> str:
    """``; did you mean 'umol/L'?`` for the listed spelling closest to ``spelling``, or ``""``."""
    table = spellings()
    same_letters = [k for k in table if k.lower() == spelling.lower()]
    close = same_letters or difflib.get_close_matches(spelling, list(table), n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""
