"""Reading a unit spelling (:func:`parse_unit`) and converting exactly between units (:func:`convert`).

Inputs are :class:`~decimal.Decimal`; converted values are exact rationals
(:class:`~fractions.Fraction`), so boundaries survive every conversion: 1500 /µL is exactly
1.5 ×10⁹/L, 0.7 g/dL is exactly 7 g/L, and 1.8 mg/dL of bilirubin is exactly 1.5 × a ULN of
1.2 mg/dL after both are divided by the molar mass (with binary floats, or with rounded decimals
for the molar step, such boundaries come out a hair off and flip a ``>=``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction

from ..errors import UnitError
from . import table
from .spelling import did_you_mean, normalise_spelling, spellings
from .table import DIGITS, Dimension, Units, rational

__all__ = ["Number", "UnitSpec", "convert", "format_number", "parse_unit", "scaled", "substance"]

_MAX_LEN = 40
_GRAM_PER_LITRE = "g/L"
_MOLE_PER_LITRE = "mol/L"
_EQUIV_PER_LITRE = "eq/L"

Number = Decimal | Fraction | int


@dataclass(frozen=True)
class UnitSpec:
    """A parsed unit: ``scale`` × ``units``; ``text`` is the spelling it was read from."""

    text: str
    scale: Decimal
    units: Units = field(compare=False)
    key: str = ""  # canonical pint spelling with scale, for equality and caching

    @property
    def dimensionality(self) -> Dimension:
        return self.units.dimensionality


@functools.cache
def parse_unit(text: str) -> UnitSpec:
    """Read a unit spelling listed in ``unit_spellings.toml``; raise :class:`UnitError` else."""
    if not isinstance(text, str) or not text.strip():
        raise UnitError(str(text), "empty unit")
    if len(text) > _MAX_LEN:
        raise UnitError(text[:_MAX_LEN] + "…", "unit text is too long")
    spelling = normalise_spelling(text)
    expr = spellings().get(spelling)
    if expr is None:
        raise UnitError(text, "not a recognised unit" + did_you_mean(spelling))
    scale, units = table.expression(expr)
    return UnitSpec(text=text, scale=scale, units=units, key=f"{scale.normalize()}*{units}")


def scaled(spec: UnitSpec, factor: Fraction, text: str) -> UnitSpec:
    """``factor`` × ``spec``, spelt ``text`` (an analyte's own reading of a spelling)."""
    with localcontext() as ctx:
        ctx.prec = DIGITS
        scale = Decimal(factor.numerator) / Decimal(factor.denominator) * spec.scale
    return UnitSpec(text=text, scale=scale, units=spec.units, key=f"{scale.normalize()}*{spec.units}")


@functools.cache
def _factor(src_key: str, dst_key: str, src: UnitSpec, dst: UnitSpec) -> Fraction:
    return table.factor(src.units, dst.units) * rational(src.scale) / rational(dst.scale)


def _plain_factor(src: UnitSpec, dst: UnitSpec) -> Fraction:
    return _factor(src.key, dst.key, src, dst)


def substance(
    v: Fraction, src: UnitSpec, molar_mass: Fraction | None, valence: int | None
) -> Fraction | None:
    """``v`` in ``src`` as mol/L, through the molar mass or the valence; None when neither fits."""
    mol_l, g_l, eq_l = (parse_unit(u) for u in (_MOLE_PER_LITRE, _GRAM_PER_LITRE, _EQUIV_PER_LITRE))
    if src.dimensionality == mol_l.dimensionality:
        return v * _plain_factor(src, mol_l)
    if molar_mass is not None and src.dimensionality == g_l.dimensionality:
        return v * _plain_factor(src, g_l) / molar_mass
    if valence is not None and src.dimensionality == eq_l.dimensionality:
        return v * _plain_factor(src, eq_l) / valence
    return None


def convert(
    value: Number,
    src: UnitSpec,
    dst: UnitSpec,
    *,
    molar_mass: Fraction | Decimal | None = None,
    valence: int | None = None,
    quantity: str | None = None,
) -> Fraction:
    """Convert ``value`` from ``src`` to ``dst``; raise :class:`UnitError` across dimensions.

    With ``molar_mass`` (g/mol) a mass concentration converts to a substance concentration and
    back by dividing (multiplying) by it; with ``valence`` an equivalent concentration (mEq/L)
    does so by dividing (multiplying) by the charge.  Both go through mol/L explicitly.
    """
    v = Fraction(value)
    if src.key == dst.key:
        return v
    if src.dimensionality == dst.dimensionality:
        return v * _plain_factor(src, dst)
    m = Fraction(molar_mass) if molar_mass is not None else None
    moles = substance(v, src, m, valence)
    per_mole = substance(Fraction(1), dst, m, valence)  # mol/L in one dst unit
    if moles is not None and per_mole is not None:
        return moles / per_mole
    raise UnitError(src.text, f"cannot be converted to {dst.text} (different dimension)", quantity=quantity)


def format_number(value: Number, digits: int = 4) -> str:
    """Print a number plainly, to ``digits`` significant digits at most, no exponent."""
    if value == 0:
        return "0"
    if isinstance(value, Fraction | int):
        with localcontext() as ctx:
            ctx.prec = 40
            value = Decimal(value.numerator) / Decimal(value.denominator)
    with localcontext() as ctx:  # room for every integer digit (1e29 kg must print, not raise)
        ctx.prec = max(40, value.adjusted() + 2)
        if value.adjusted() >= digits:
            q = value.quantize(Decimal(1))
        else:
            q = value.quantize(Decimal(1).scaleb(value.adjusted() - digits + 1))
    text = f"{q:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
