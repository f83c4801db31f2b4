"""The analyte catalogue (``data/analytes.toml``): what a unit means for one analyte.

Aliases (IU/L of an enzyme is U/L; a month of life expectancy is 30 days), the only spellings a
dimensionless analyte takes (INR: ``1``, ``{ratio}``, ``{INR}``, never ``%``).  Mass and substance
concentrations (mg/dL versus µmol/L) are converted only for analytes with a molar mass, by
dividing by it explicitly; equivalents (mEq/L) only for analytes with a valence.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from importlib import resources
from typing import Any, Literal

from ..diskcache import toml_table
from ..errors import UnitError
from .conversion import Number, UnitSpec, convert, format_number, parse_unit, scaled, substance
from .spelling import normalise_spelling

__all__ = ["Analyte", "Kind", "analyte", "analytes"]

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
    valence: int | None = None  # charge of the ion: mmol/L × valence = mEq/L
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
    # spelling → (unit_for(spelling), its exact factor to the canonical unit): see canonical_unit
    _readings: dict[str, tuple[UnitSpec, Fraction]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def __hash__(self) -> int:  # the key is unique in the catalogue (unit_aliases is a dict)
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
            spec = scaled(parse_unit(alias[1]), alias[0], text)
        if self._accepts(spec, text):
            return spec
        if self.dimensionless_units:
            expected = ", ".join(self.dimensionless_units)
            expected = (
                f"expected {expected}"
                if len(self.dimensionless_units) == 1
                else f"expected one of {expected}"
            )
        else:
            expected = f"expected a unit like {self.unit.text}"
        raise UnitError(text, f"is not a unit of {self.name} ({expected})", quantity=self.key)

    def canonical_unit(self, text: str) -> tuple[UnitSpec, Fraction]:
        """:meth:`unit_for` ``text`` and the exact factor from it to the canonical unit (a value
        in it × the factor is :meth:`to_canonical` of it: every conversion is linear), remembered
        per spelling (at most ``_READINGS_MAX``); raise :class:`UnitError` as :meth:`unit_for`."""
        hit = self._readings.get(text)
        if hit is None:
            spec = self.unit_for(text)
            hit = spec, self.to_canonical(1, spec)
            if len(self._readings) < _READINGS_MAX:
                self._readings[text] = hit
        return hit

    def bounds(self) -> tuple[Fraction | None, Fraction | None]:
        """``min`` and ``max`` as exact fractions (compared with canonical values)."""
        return _bounds(self)

    def _accepts(self, spec: UnitSpec, text: str) -> bool:
        assert self.unit is not None
        if self.dimensionless_units:
            return normalise_spelling(text) in self.dimensionless_units
        if spec.dimensionality == self.unit.dimensionality:
            return True
        one = Fraction(1)
        return (
            substance(one, spec, self.molar_mass, self.valence) is not None
            and substance(one, self.unit, self.molar_mass, self.valence) is not None
        )

    def to_canonical(self, value: Number, spec: UnitSpec) -> Fraction:
        assert self.unit is not None
        return convert(
            value, spec, self.unit, molar_mass=self.molar_mass, valence=self.valence, quantity=self.key
        )

    def show(self, value: Number) -> str:
        """``1.2 ×10⁹/L`` — a canonical value with its display unit."""
        num = format_number(value)
        return f"{num} {self.display_unit}".rstrip() if self.display_unit else num


_READINGS_MAX = 256  # spellings of one analyte remembered (the input chooses them)


@functools.cache
def _bounds(a: Analyte) -> tuple[Fraction | None, Fraction | None]:
    return (None if a.min is None else Fraction(a.min)), (None if a.max is None else Fraction(a.max))


_ALIAS = re.compile(r"^(\d+(?:\.\d+)?) +(\S.*)$")


@functools.cache
def _aliases(a: Analyte) -> dict[str, tuple[Fraction, str]]:
    """An analyte's aliases keyed by the meaning (UnitSpec.key) of the spelling they replace."""
    out: dict[str, tuple[Fraction, str]] = {}
    for source, target in a.unit_aliases.items():
        m = _ALIAS.match(target)
        factor, spelling = (Fraction(Decimal(m.group(1))), m.group(2)) if m else (Fraction(1), target)
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
    for key, raw in toml_table(text).items():
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
