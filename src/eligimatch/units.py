"""Units: the one pint registry, clinical spellings, and the analyte catalogue.

Inputs are :class:`~decimal.Decimal`; pint runs with ``non_int_type=Decimal`` so that its
conversion factors for decimal units are exact.  Factors that are not finite decimals (1 day is
16/487 month, 1 U/L is 1/60 µkat/L, 1 kPa is 10⁹/133322387415 mmHg) are computed with 60 digits
and read back as the ratio they stand for (:func:`_rational`), never as a rounded decimal, which
would put 3 months a hair away from 91.3125 days.  Converted values are exact rationals
(:class:`~fractions.Fraction`), so boundaries survive every conversion: 1500 /µL is exactly
1.5 ×10⁹/L, 0.7 g/dL is exactly 7 g/L, and 1.8 mg/dL of bilirubin is exactly 1.5 × a ULN of
1.2 mg/dL after both are divided by the molar mass (with binary floats, or with rounded decimals
for the molar step, such boundaries come out a hair off and flip a ``>=``).

Units are written as clinicians write them (``10^9/L``, ``×10⁹/L``, ``/mm³``, ``µmol/L``,
``10*3/uL`` from UCUM, ``[IU]/mL``, ``{copies}/mL``).  :func:`parse_unit` normalises such a
spelling into a pint expression and returns a :class:`UnitSpec`: a scale (``10^9``) and a pint
unit (``1/L``).  Anything it does not understand is a :class:`~eligimatch.errors.UnitError`;
nothing is guessed.

Mass and substance concentrations (mg/dL versus µmol/L) are converted only for analytes with a
molar mass in the catalogue, by dividing by that mass explicitly.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from fractions import Fraction
from importlib import resources
from typing import Any, Literal

from .errors import UnitError

__all__ = [
    "Analyte",
    "UnitSpec",
    "analyte",
    "analytes",
    "convert",
    "format_number",
    "parse_unit",
    "registry",
]

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_ANNOTATIONS = {"{copies}": "copies", "{copy}": "copies", "{cells}": "cells", "{cell}": "cells"}
_UNITLESS_ANNOTATIONS = {"{inr}", "{ratio}", "{index}", "{score}"}
_SAFE = re.compile(r"^[A-Za-z0-9_*/(). ]+$")
_POWER = re.compile(r"\*\*\s*(\(?-?\d+\)?)")
_DIGITS = 60  # working precision of the registry's definitions and of conversion factors


@functools.cache
def registry() -> Any:
    """The process-wide pint registry with eligimatch's clinical units (built once)."""
    import pint

    with localcontext() as ctx:  # definitions such as month = year / 12 keep 60 digits
        ctx.prec = _DIGITS
        reg: Any = pint.UnitRegistry(non_int_type=Decimal, autoconvert_offset_to_baseunit=False)
        text = resources.files("eligimatch.data").joinpath("units.txt").read_text("utf-8")
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                reg.define(line)
    return reg


@dataclass(frozen=True)
class UnitSpec:
    """A parsed unit: ``scale`` × ``units``; ``text`` is the spelling it was read from."""

    text: str
    scale: Decimal
    units: Any = field(compare=False)
    key: str = ""  # canonical pint spelling with scale, for equality and caching

    @property
    def dimensionality(self) -> Any:
        return self.units.dimensionality


def _normalise(text: str) -> str:
    s = text.strip()
    s = s.replace("µ", "u").replace("μ", "u").replace("mcL", "uL").replace("mcg", "ug")
    for old, new in (("×", "x"), ("·", "*"), ("³", "^3"), ("²", "^2")):
        s = s.replace(old, new)
    # superscript exponents such as 10⁹ become 10^9 (³ and ² were handled above for mm³, m²)
    s = re.sub(r"([⁰¹⁴⁵⁶⁷⁸⁹⁻][⁰¹²³⁴⁵⁶⁷⁸⁹]*)", lambda m: "^" + m.group(1).translate(_SUPERSCRIPTS), s)
    low = s.lower()
    for ann, repl in _ANNOTATIONS.items():
        i = low.find(ann)
        while i >= 0:
            s = s[:i] + repl + s[i + len(ann) :]
            low = s.lower()
            i = low.find(ann)
    for ann in _UNITLESS_ANNOTATIONS:
        if low == ann:
            return "1"
    if "{" in s or "}" in s:
        raise ValueError("unrecognised UCUM annotation in braces")
    s = s.replace("[IU]", "IU").replace("[iU]", "IU").replace("mm[Hg]", "mmHg")
    if "[" in s or "]" in s:
        raise ValueError("unrecognised bracketed UCUM unit")
    s = s.replace("%", "percent")
    # powers of ten written as 10^9, 10*9 (UCUM), x10^9, 10E9
    s = re.sub(r"(?:(?<=^)|(?<=[\s(*/x]))x?\s*10\s*(?:\^|\*\*|\*|[eE])\s*(-?\d{1,2})(?![\d.])",
               r"(10**\1)", s)
    s = re.sub(r"^x\s*\(", "(", s)
    # UCUM uses '.' for multiplication between units ('g/(24.h)'); keep decimal points
    s = re.sub(r"(?<=[A-Za-z)])\.(?=[A-Za-z(\d])|(?<=\d)\.(?=[A-Za-z(])", "*", s)
    s = s.replace("^", "**")
    # 'g/24h', 'g/(24.h)': a 24-hour collection is per day (exact, unlike 1/24 in decimal)
    s = re.sub(r"/\s*\(?\s*24\s*\*?\s*(?:h|hr|hour)s?\s*\)?", "/day", s)
    # 'mg/12h': any other number of units after a slash belongs in the divisor
    s = re.sub(r"/\s*(\d+(?:\.\d+)?)\s*\*?\s*([A-Za-z]+)", r"/(\1*\2)", s)
    # mm3, m2: a unit symbol directly followed by a small exponent
    s = re.sub(r"(?<=[A-Za-z])(\d)(?![\d.])", r"**\1", s)
    s = re.sub(r"(?<=\))(?=[A-Za-z])", "*", s)  # (10**9)L -> (10**9)*L
    s = s.strip()
    if s.startswith("/"):
        s = "1" + s
    return s


@functools.cache
def parse_unit(text: str) -> UnitSpec:
    """Read a clinical unit spelling; raise :class:`UnitError` for anything not understood."""
    if not isinstance(text, str) or not text.strip():
        raise UnitError(str(text), "empty unit")
    if len(text) > 40:
        raise UnitError(text[:40] + "…", "unit text is too long")
    try:
        expr = _normalise(text)
    except ValueError as exc:
        raise UnitError(text, str(exc)) from exc
    if not _SAFE.match(expr):
        raise UnitError(text, "contains characters that are not part of a unit")
    for m in _POWER.finditer(expr):
        if abs(int(m.group(1).strip("()"))) > 12:
            raise UnitError(text, "exponent out of range")
    reg = registry()
    try:
        with localcontext() as ctx:
            ctx.prec = _DIGITS
            q = reg.parse_expression(expr)
    except Exception as exc:  # pint raises many types; none may escape
        raise UnitError(text, "not a recognised unit") from exc
    if not hasattr(q, "units"):
        try:
            scale = Decimal(q)
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise UnitError(text, "not a recognised unit") from exc
        units = reg.dimensionless
    else:
        try:
            scale = Decimal(q.magnitude)
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise UnitError(text, "not a recognised unit") from exc
        units = q.units
    if not scale.is_finite() or scale <= 0:
        raise UnitError(text, "scale factor must be a positive number")
    if not -30 <= scale.adjusted() <= 30:  # e.g. '1e999999': a million-digit factor
        raise UnitError(text, "scale factor out of range")
    return UnitSpec(text=text, scale=scale, units=units, key=f"{scale.normalize()}*{units}")


_GRAM_PER_LITRE = "g/L"
_MOLE_PER_LITRE = "mol/L"


def _rational(d: Decimal) -> Fraction:
    """The exact value a factor computed with 60 digits stands for.

    A finite decimal comes out short and is taken as it is; a ratio that is not one (16/487,
    1/60) fills every digit and is read back as the nearest fraction with a denominator below
    10²⁵ (the error of 60 digits is far below the gap between two such fractions).
    """
    if d == 0 or len(d.normalize().as_tuple().digits) < _DIGITS - 10:
        return Fraction(d)
    shift = Fraction(10) ** d.adjusted()
    return (Fraction(d) / shift).limit_denominator(10**25) * shift


@functools.cache
def _factor(src_key: str, dst_key: str, src: UnitSpec, dst: UnitSpec) -> Fraction:
    reg = registry()
    with localcontext() as ctx:
        ctx.prec = _DIGITS
        unscaled = _rational(Decimal(reg.Quantity(Decimal(1), src.units).to(dst.units).magnitude))
    return unscaled * _rational(src.scale) / _rational(dst.scale)


def _plain_factor(src: UnitSpec, dst: UnitSpec) -> Fraction:
    return _factor(src.key, dst.key, src, dst)


Number = Decimal | Fraction | int


def convert(value: Number, src: UnitSpec, dst: UnitSpec, *, molar_mass: Decimal | None = None,
            quantity: str | None = None) -> Fraction:
    """Convert ``value`` from ``src`` to ``dst``; raise :class:`UnitError` across dimensions.

    With ``molar_mass`` (g/mol), a mass concentration converts to a substance concentration and
    back by dividing (multiplying) by it.
    """
    v = Fraction(value)
    if src.key == dst.key:
        return v
    if src.dimensionality == dst.dimensionality:
        return v * _plain_factor(src, dst)
    if molar_mass is not None:
        g_l, mol_l = parse_unit(_GRAM_PER_LITRE), parse_unit(_MOLE_PER_LITRE)
        m = Fraction(molar_mass)
        if src.dimensionality == g_l.dimensionality and dst.dimensionality == mol_l.dimensionality:
            return v * _plain_factor(src, g_l) / m * _plain_factor(mol_l, dst)
        if src.dimensionality == mol_l.dimensionality and dst.dimensionality == g_l.dimensionality:
            return v * _plain_factor(src, mol_l) * m * _plain_factor(g_l, dst)
    raise UnitError(src.text, f"cannot be converted to {dst.text} (different dimension)",
                    quantity=quantity)


Kind = Literal["quantity", "ordinal", "qualitative"]


@dataclass(frozen=True)
class Analyte:
    """One entry of the analyte catalogue (``data/analytes.toml``)."""

    key: str
    name: str
    short: str
    kind: Kind
    source: Literal["lab", "profile"]
    unit: UnitSpec | None = None
    display_unit: str = ""
    integer: bool = False
    min: Decimal | None = None
    max: Decimal | None = None
    molar_mass: Decimal | None = None
    unit_aliases: dict[str, str] = field(default_factory=dict)
    loinc: tuple[str, ...] = ()
    scale: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    default_low: Decimal | None = None
    default_high: Decimal | None = None
    default_range_note: str = ""

    def __hash__(self) -> int:   # the key is unique in the catalogue (unit_aliases is a dict)
        return hash(self.key)

    def unit_for(self, text: str) -> UnitSpec:
        """Parse a unit given for this analyte and check its dimension; raise UnitError."""
        if self.unit is None:
            raise UnitError(text, f"{self.name} has no unit", quantity=self.key)
        spec = parse_unit(self.unit_aliases.get(text.strip(), text))
        if spec.dimensionality == self.unit.dimensionality:
            return spec
        if self.molar_mass is not None:
            g_l, mol_l = parse_unit(_GRAM_PER_LITRE), parse_unit(_MOLE_PER_LITRE)
            if {spec.dimensionality, self.unit.dimensionality} == {
                g_l.dimensionality, mol_l.dimensionality}:
                return spec
        raise UnitError(text, f"is not a unit of {self.name} (expected a unit like "
                              f"{self.unit.text})", quantity=self.key)

    def to_canonical(self, value: Number, spec: UnitSpec) -> Fraction:
        assert self.unit is not None
        return convert(value, spec, self.unit, molar_mass=self.molar_mass, quantity=self.key)

    def show(self, value: Number) -> str:
        """``1.2 ×10⁹/L`` — a canonical value with its display unit."""
        num = format_number(value)
        return f"{num} {self.display_unit}".rstrip() if self.display_unit else num


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


def _dec(raw: Any, where: str) -> Decimal:
    try:
        d = Decimal(str(raw))
    except InvalidOperation as exc:
        raise ValueError(f"{where}: not a number: {raw!r}") from exc
    return d


@functools.cache
def analytes() -> dict[str, Analyte]:
    """The analyte catalogue, read once from ``data/analytes.toml``."""
    text = resources.files("eligimatch.data").joinpath("analytes.toml").read_text("utf-8")
    out: dict[str, Analyte] = {}
    for key, raw in tomllib.loads(text).items():
        unit = parse_unit(raw["unit"]) if "unit" in raw else None
        rng = raw.get("default_range", {})
        out[key] = Analyte(
            key=key,
            name=raw["name"],
            short=raw.get("short", raw["name"]),
            kind=raw["kind"],
            source=raw["source"],
            unit=unit,
            display_unit=raw.get("display_unit", raw.get("unit", "")),
            integer=raw.get("integer", False),
            min=_dec(raw["min"], key) if "min" in raw else None,
            max=_dec(raw["max"], key) if "max" in raw else None,
            molar_mass=_dec(raw["molar_mass"], key) if "molar_mass" in raw else None,
            unit_aliases=dict(raw.get("unit_aliases", {})),
            loinc=tuple(raw.get("loinc", ())),
            scale=tuple(raw.get("scale", ())),
            values=tuple(raw.get("values", ())),
            default_low=_dec(rng["low"], key) if "low" in rng else None,
            default_high=_dec(rng["high"], key) if "high" in rng else None,
            default_range_note=raw.get("default_range_note", ""),
        )
    return out


def analyte(key: str) -> Analyte:
    return analytes()[key]
