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

Units are written as clinicians and UCUM write them (``10^9/L``, ``×10⁹/L``, ``G/L``, ``/mm³``,
``µmol/L``, ``10*3/uL``, ``[IU]/mL``, ``{copies}/mL``).  Every accepted spelling is listed in one
table, ``data/unit_spellings.toml``, with the pint expression it means; :func:`parse_unit` folds
typographic variants (µ, ×, superscripts; never case) and looks the spelling up.  Anything not
listed is a :class:`~eligimatch.errors.UnitError` naming it; nothing is guessed, and pint never
parses outside input (on its own it reads ``u/L`` as atomic mass units per litre).  A
:class:`UnitSpec` is a scale (``10^9``) and a pint unit (``1/L``).

What a unit means for one analyte is in the catalogue, ``data/analytes.toml``: aliases (IU/L of
an enzyme is U/L; a month of life expectancy is 30 days), the only spellings a dimensionless
analyte takes (INR: ``1``, ``{ratio}``, ``{INR}``, never ``%``).  Mass and substance
concentrations (mg/dL versus µmol/L) are converted only for analytes with a molar mass, by
dividing by it explicitly; equivalents (mEq/L) only for analytes with a valence.
"""

from __future__ import annotations

import difflib
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
    "normalise_spelling",
    "parse_unit",
    "registry",
    "spellings",
]

_TABLE = "unit_spellings.toml"
_MAX_LEN = 40
_DIGITS = 60  # working precision of the registry's definitions and of conversion factors
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_SUPER_RUN = re.compile(r"(\d?)([⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)")
_MC = re.compile(r"(?<![A-Za-z])mc(?=[A-Za-z])")  # mcg, mcL, /mcL: the micro prefix


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
    text = resources.files("eligimatch.data").joinpath(_TABLE).read_text("utf-8")
    out: dict[str, str] = {}
    for group, entries in tomllib.loads(text).items():
        for spelling, expr in entries.items():
            if spelling in out:
                raise ValueError(f"{_TABLE}: [{group}] {spelling!r} is listed twice")
            if normalise_spelling(spelling) != spelling:
                raise ValueError(f"{_TABLE}: [{group}] {spelling!r} is not in normal form "
                                 f"({normalise_spelling(spelling)!r})")
            out[spelling] = expr
    return out


def _did_you_mean(spelling: str) -> str:
    table = spellings()
    same_letters = [k for k in table if k.lower() == spelling.lower()]
    close = same_letters or difflib.get_close_matches(spelling, list(table), n=1, cutoff=0.7)
    return f"; did you mean {close[0]!r}?" if close else ""


@functools.cache
def _from_expression(expr: str) -> tuple[Decimal, Any]:
    """Scale and pint unit of a table expression (trusted data, parsed once each)."""
    reg = registry()
    with localcontext() as ctx:
        ctx.prec = _DIGITS
        q = reg.parse_expression(expr)
    if not hasattr(q, "units"):  # "1": a plain number
        return Decimal(q), reg.dimensionless
    return Decimal(q.magnitude), q.units


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
        raise UnitError(text, "not a recognised unit" + _did_you_mean(spelling))
    scale, units = _from_expression(expr)
    return UnitSpec(text=text, scale=scale, units=units, key=f"{scale.normalize()}*{units}")


def _scaled(spec: UnitSpec, factor: Fraction, text: str) -> UnitSpec:
    """``factor`` × ``spec``, spelt ``text`` (an analyte's own reading of a spelling)."""
    with localcontext() as ctx:
        ctx.prec = _DIGITS
        scale = Decimal(factor.numerator) / Decimal(factor.denominator) * spec.scale
    return UnitSpec(text=text, scale=scale, units=spec.units,
                    key=f"{scale.normalize()}*{spec.units}")


_GRAM_PER_LITRE = "g/L"
_MOLE_PER_LITRE = "mol/L"
_EQUIV_PER_LITRE = "eq/L"


def _rational(d: Decimal) -> Fraction:
    """The exact value a factor computed with 60 digits stands for.

    A finite decimal comes out short and is taken as it is; a ratio that is not one (16/487,
    1/60) fills every digit and is read back as the nearest fraction with a denominator below
    10²⁵ (the error of 60 digits is far below the gap between two such fractions).
    """
    with localcontext() as ctx:  # normalize() rounds to the context's precision
        ctx.prec = _DIGITS
        digits = len(d.normalize().as_tuple().digits)
    if d == 0 or digits < _DIGITS - 10:
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


def _substance(v: Fraction, src: UnitSpec, molar_mass: Fraction | None,
               valence: int | None) -> Fraction | None:
    """``v`` in ``src`` as mol/L, through the molar mass or the valence; None when neither fits."""
    mol_l, g_l, eq_l = (parse_unit(u) for u in (_MOLE_PER_LITRE, _GRAM_PER_LITRE, _EQUIV_PER_LITRE))
    if src.dimensionality == mol_l.dimensionality:
        return v * _plain_factor(src, mol_l)
    if molar_mass is not None and src.dimensionality == g_l.dimensionality:
        return v * _plain_factor(src, g_l) / molar_mass
    if valence is not None and src.dimensionality == eq_l.dimensionality:
        return v * _plain_factor(src, eq_l) / valence
    return None


def convert(value: Number, src: UnitSpec, dst: UnitSpec, *,
            molar_mass: Fraction | Decimal | None = None, valence: int | None = None,
            quantity: str | None = None) -> Fraction:
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
    moles = _substance(v, src, m, valence)
    per_mole = _substance(Fraction(1), dst, m, valence)  # mol/L in one dst unit
    if moles is not None and per_mole is not None:
        return moles / per_mole
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
    molar_mass: Fraction | None = None  # g/mol, exact (a decimal or a ratio of two)
    valence: int | None = None          # charge of the ion: mmol/L × valence = mEq/L
    # spelling → "[factor ]spelling": what a unit means for this analyte only; matched by
    # meaning, so "IU/L" also covers "[IU]/L" and "IU/l", "month" also "mo" and "months"
    unit_aliases: dict[str, str] = field(default_factory=dict)
    # for a dimensionless analyte, the only spellings it accepts (normalised; INR never "%")
    dimensionless_units: tuple[str, ...] = ()
    loinc: tuple[str, ...] = ()
    scale: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    # The plausible upper limits of normal of the analyte (canonical unit): a × ULN criterion
    # without the lab's own range decides only when its verdict is the same at both ends of the
    # band, and a reported ULN outside it is an error.  ``uln_source`` says where it comes from.
    uln_band: tuple[Fraction, Fraction] | None = None
    uln_source: str = ""
    # how many days a value stays current when the criterion and the trial say nothing
    max_age_days: int | None = None

    def __hash__(self) -> int:   # the key is unique in the catalogue (unit_aliases is a dict)
        return hash(self.key)

    def unit_for(self, text: str) -> UnitSpec:
        """Parse a unit given for this analyte and check it is one of its units; raise UnitError.

        The spelling must be in the table; the analyte's aliases then give its own reading
        (a month of life expectancy is 30 days); a dimensionless analyte takes only its listed
        spellings; mass and substance concentrations meet through the molar mass, equivalents
        through the valence.
        """
        if self.unit is None:
            raise UnitError(text, f"{self.name} has no unit", quantity=self.key)
        spec = parse_unit(text)
        alias = _aliases(self).get(spec.key)
        if alias is not None:
            spec = _scaled(parse_unit(alias[1]), alias[0], text)
        if self._accepts(spec, text):
            return spec
        if self.dimensionless_units:
            expected = ", ".join(self.dimensionless_units)
            expected = f"expected {expected}" if len(self.dimensionless_units) == 1 else \
                f"expected one of {expected}"
        else:
            expected = f"expected a unit like {self.unit.text}"
        raise UnitError(text, f"is not a unit of {self.name} ({expected})", quantity=self.key)

    def _accepts(self, spec: UnitSpec, text: str) -> bool:
        assert self.unit is not None
        if self.dimensionless_units:
            return normalise_spelling(text) in self.dimensionless_units
        if spec.dimensionality == self.unit.dimensionality:
            return True
        one = Fraction(1)
        return (_substance(one, spec, self.molar_mass, self.valence) is not None
                and _substance(one, self.unit, self.molar_mass, self.valence) is not None)

    def to_canonical(self, value: Number, spec: UnitSpec) -> Fraction:
        assert self.unit is not None
        return convert(value, spec, self.unit, molar_mass=self.molar_mass,
                       valence=self.valence, quantity=self.key)

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


_ALIAS = re.compile(r"^(\d+(?:\.\d+)?) +(\S.*)$")


@functools.cache
def _aliases(a: Analyte) -> dict[str, tuple[Fraction, str]]:
    """An analyte's aliases keyed by the meaning (UnitSpec.key) of the spelling they replace."""
    out: dict[str, tuple[Fraction, str]] = {}
    for source, target in a.unit_aliases.items():
        m = _ALIAS.match(target)
        factor, spelling = (Fraction(Decimal(m.group(1))), m.group(2)) if m else (Fraction(1),
                                                                                  target)
        out[parse_unit(source).key] = (factor, spelling)
    return out


def _molar_mass(raw: Any, where: str) -> Fraction:
    """``"584.66"`` or an exact ratio ``"10000/0.6206"`` (g/mol)."""
    num, _, den = str(raw).partition("/")
    m = Fraction(_dec(num.strip(), where)) / (Fraction(_dec(den.strip(), where)) if den else 1)
    if m <= 0:
        raise ValueError(f"{where}: molar_mass must be positive")
    return m


def _dec(raw: Any, where: str) -> Decimal:
    try:
        d = Decimal(str(raw))
    except InvalidOperation as exc:
        raise ValueError(f"{where}: not a number: {raw!r}") from exc
    return d


def _band(raw: Any, where: str) -> tuple[Fraction, Fraction] | None:
    if raw is None:
        return None
    low, high = Fraction(_dec(raw[0], where)), Fraction(_dec(raw[1], where))
    if not 0 < low <= high:
        raise ValueError(f"{where}: a ULN band is [low, high] with 0 < low <= high")
    return low, high


def _dimensionless_units(raw: dict[str, Any], unit: UnitSpec | None) -> tuple[str, ...]:
    if unit is None or unit.dimensionality:  # not dimensionless: the dimension decides
        return ()
    return tuple(normalise_spelling(u) for u in raw.get("dimensionless_units", [raw["unit"]]))


@functools.cache
def analytes() -> dict[str, Analyte]:
    """The analyte catalogue, read once from ``data/analytes.toml``."""
    text = resources.files("eligimatch.data").joinpath("analytes.toml").read_text("utf-8")
    out: dict[str, Analyte] = {}
    for key, raw in tomllib.loads(text).items():
        unit = parse_unit(raw["unit"]) if "unit" in raw else None
        band = _band(raw.get("uln_band"), key)
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
            molar_mass=_molar_mass(raw["molar_mass"], key) if "molar_mass" in raw else None,
            valence=raw.get("valence"),
            unit_aliases=dict(raw.get("unit_aliases", {})),
            dimensionless_units=_dimensionless_units(raw, unit),
            loinc=tuple(raw.get("loinc", ())),
            scale=tuple(raw.get("scale", ())),
            values=tuple(raw.get("values", ())),
            uln_band=band,
            uln_source=raw.get("uln_source", ""),
            max_age_days=raw.get("max_age_days"),
        )
    return out


def analyte(key: str) -> Analyte:
    return analytes()[key]
