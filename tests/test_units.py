"""Units: clinical spellings, exact boundaries, molar conversions against published SI factors,
and dimension errors with their exact messages."""

from __future__ import annotations

import csv
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from eligimatch.errors import UnitError
from eligimatch.units import analyte, convert, format_number, parse_unit

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("text", "scale", "units"),
    [
        ("10^9/L", 10**9, "1 / liter"),
        ("×10⁹/L", 10**9, "1 / liter"),
        ("x10^9/L", 10**9, "1 / liter"),
        ("10*9/L", 10**9, "1 / liter"),  # UCUM
        ("10*3/uL", 1000, "1 / microliter"),
        ("/µL", 1, "1 / microliter"),
        ("/mm³", 1, "1 / millimeter ** 3"),
        ("/mm3", 1, "1 / millimeter ** 3"),
        ("cells/uL", 1, "cell / microliter"),
        ("g/dl", 1, "gram / deciliter"),  # UCUM: l and L are both litre
        ("µmol/L", 1, "micromole / liter"),
        ("[IU]/mL", 1, "international_unit / milliliter"),
        ("{copies}/mL", 1, "copy / milliliter"),
        ("mm[Hg]", 1, "millimeter_Hg"),
        ("%", 1, "percent"),
        ("g/(24.h)", 1, "gram / day"),
        ("g/24h", 1, "gram / day"),
    ],
)
def test_clinical_spellings(text, scale, units):
    spec = parse_unit(text)
    assert spec.scale == scale
    assert str(spec.units) == units


@pytest.mark.parametrize(
    "text", ["", "foo", "10^9/Lx", "__import__('os')", "{widgets}/mL", "[arb'U]", "1/0", "x" * 50]
)
def test_unreadable_units_raise_unit_error(text):
    with pytest.raises(UnitError):
        parse_unit(text)


def test_unit_error_message_names_unit_and_quantity():
    with pytest.raises(UnitError) as err:
        analyte("anc").unit_for("g/L")
    assert str(err.value) == (
        "unit 'g/L' for anc: is not a unit of absolute neutrophil count (expected a unit like 10^9/L)"
    )
    assert err.value.unit == "g/L" and err.value.quantity == "anc"
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("key", "value", "unit", "expected"),
    [
        ("anc", "1500", "/uL", Fraction(3, 2)),  # 1500/µL is exactly 1.5 ×10⁹/L
        ("anc", "1500", "/mm3", Fraction(3, 2)),
        ("anc", "1.5", "10^3/uL", Fraction(3, 2)),
        ("platelets", "75000", "/mm3", 75),  # CTCAE: 75,000/mm³ = 75.0 ×10⁹/L
        ("hemoglobin", "0.7", "g/dL", 7),  # floats give 6.999999…
        ("hemoglobin", "10", "g/dL", 100),  # CTCAE: 10.0 g/dL = 100 g/L
    ],
)
def test_exact_boundaries_after_conversion(key, value, unit, expected):
    a = analyte(key)
    assert a.to_canonical(Decimal(value), a.unit_for(unit)) == expected


def test_molar_conversion_is_exact_so_uln_multiples_hold():
    bili = analyte("bilirubin")
    mg = bili.unit_for("mg/dL")
    assert bili.to_canonical(Decimal("1.8"), mg) == Fraction(3, 2) * bili.to_canonical(Decimal("1.2"), mg)


def _si_rows():
    with (DATA / "si_conversion_factors.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


SI = {row["analyte"]: row for row in _si_rows()}


@pytest.mark.parametrize(
    ("key", "row", "tolerance"),
    [
        ("bilirubin", "Bilirubin (total)", Decimal("0.01")),  # 17.1 published; 17.104 by molar mass
        ("creatinine", "Creatinine", Decimal("0.001")),  # 88.4 published; 88.40 by molar mass
        ("glucose_fasting", "Glucose", Decimal("0.001")),  # 0.0555 published; 0.05551
    ],
)
def test_molar_factors_match_published_si_factors(key, row, tolerance):
    a = analyte(key)
    factor = Decimal(SI[row]["factor_conv_to_si"])
    got = a.to_canonical(1, a.unit_for(SI[row]["conventional_unit"]))
    assert abs(Decimal(got.numerator) / Decimal(got.denominator) - factor) / factor < tolerance


@pytest.mark.parametrize(
    ("row", "key", "conventional"),
    [
        ("Hemoglobin", "hemoglobin", "g/dL"),
        ("Neutrophils / leukocytes / lymphocytes (absolute)", "anc", "/mm3"),
        ("Neutrophils / leukocytes / platelets", "platelets", "10^3/uL"),
        ("Platelets", "platelets", "/mm3"),
    ],
)
def test_plain_factors_match_published_si_factors_exactly(row, key, conventional):
    a = analyte(key)
    match = [r for r in _si_rows() if r["analyte"] == row and r["si_unit"] in ("g/L", "10^9/L")]
    factor = Fraction(Decimal(match[0]["factor_conv_to_si"]))
    assert a.to_canonical(1, a.unit_for(conventional)) == factor


def test_iu_and_copies_are_never_converted_into_each_other():
    with pytest.raises(UnitError):
        analyte("hbv_dna_iu").unit_for("copies/mL")
    with pytest.raises(UnitError):
        convert(Decimal(2000), parse_unit("IU/mL"), parse_unit("copies/mL"))


def test_enzyme_iu_alias_is_per_analyte_only():
    assert analyte("alt").to_canonical(40, analyte("alt").unit_for("IU/L")) == 40
    with pytest.raises(UnitError):
        analyte("anc").unit_for("IU/L")


def test_mass_and_substance_do_not_convert_without_molar_mass():
    with pytest.raises(UnitError):
        convert(Decimal(1), parse_unit("mg/dL"), parse_unit("mmol/L"))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(3, 2), "1.5"),
        (Decimal("17.10399"), "17.1"),
        (Fraction(123456), "123456"),
        (Decimal("0.0012345678"), "0.001235"),
        (0, "0"),
        (Fraction(1, 3), "0.3333"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_stored_unit_table_is_what_pint_computes():
    """data/unit_table.json is current (its key matches the sources) and holds, value by value,
    what pint computes; after editing units.txt or unit_spellings.toml, or upgrading pint, run
    ``python scripts/update_unit_table.py``."""
    import json
    from importlib import resources

    from eligimatch.units import build_table

    stored = json.loads(resources.files("eligimatch.data").joinpath("unit_table.json").read_text("utf-8"))
    fresh = build_table()
    assert stored["sources_sha256"] == fresh["sources_sha256"], (
        "unit_table.json is stale: run python scripts/update_unit_table.py"
    )
    assert stored == fresh


def test_screening_does_not_import_pint():
    """With the stored unit table, loading the rules and screening never import pint (nor dask,
    which pint imports when it is installed)."""
    import subprocess
    import sys

    profile = Path(__file__).resolve().parents[1] / "patients" / "p01_ups_metastatic_eligible.json"
    code = (
        "import sys; from pathlib import Path; from eligimatch import api; "
        "from eligimatch.engine import load_rules; "
        f"api.screen(api.read_patient(Path({str(profile)!r})), load_rules()); "
        "print(sorted(m for m in ('pint', 'dask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.fixture
def fresh_unit_caches():
    """Empties the unit caches before and after a test that changes where values come from."""
    from eligimatch.units import conversion, table

    caches = (conversion.parse_unit, conversion._factor, table.expression, table._stored)
    for c in caches:
        c.cache_clear()
    yield
    for c in caches:
        c.cache_clear()


CONVERSIONS = [
    ("1500", "/uL", "10^9/L"),
    ("1.8", "mg/dL", "umol/L"),
    ("3", "month", "d"),
    ("120", "U/L", "ukat/L"),
    ("7.5", "kPa", "mm[Hg]"),
    ("0.7", "g/dL", "g/L"),
]


def test_without_a_current_stored_table_pint_computes_the_same(fresh_unit_caches, monkeypatch):
    """A stale unit_table.json (another pint, an edited units.txt) is not used: every scale, unit
    and factor then comes from pint, and is what the stored table gives."""
    from eligimatch.units import conversion, table

    def converted() -> list[tuple[str, str, Fraction]]:
        out = []
        for value, src, dst in CONVERSIONS:
            a, b = parse_unit(src), parse_unit(dst)
            molar = analyte("bilirubin").molar_mass if "mol" in dst else None
            out.append((a.key, str(a.units), convert(Decimal(value), a, b, molar_mass=molar)))
        return out

    assert table._stored()[0], "the stored unit table is not current"
    stored = converted()
    for c in (conversion.parse_unit, conversion._factor, table.expression, table._stored):
        c.cache_clear()
    asked: list[str] = []
    for name in ("_pint_expression", "_pint_factor"):
        real = getattr(table, name)
        monkeypatch.setattr(
            table, name, lambda *a, _real=real, _name=name: (asked.append(_name), _real(*a))[1]
        )
    monkeypatch.setattr(table, "_sources_key", lambda: "another pint")
    assert table._stored() == ({}, {})
    assert converted() == stored
    assert set(asked) == {"_pint_expression", "_pint_factor"}


def test_reading_and_converting_units_does_not_import_pint():
    import subprocess
    import sys

    code = (
        "import sys; from decimal import Decimal; from eligimatch import units; "
        "units.convert(Decimal('1.8'), units.parse_unit('mg/dL'), units.parse_unit('umol/L'), "
        "molar_mass=units.analyte('bilirubin').molar_mass); "
        "units.analytes()['anc'].unit_for('/mm3'); "
        "print(sorted(m for m in ('pint', 'dask') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
