"""Units: the one pint registry, clinical spellings, and the analyte catalogue.

Units are written as clinicians and UCUM write them (``10^9/L``, ``×10⁹/L``, ``G/L``, ``/mm³``,
``µmol/L``, ``10*3/uL``, ``[IU]/mL``, ``{copies}/mL``).  Every accepted spelling is listed in one
table, ``data/unit_spellings.toml``, with the pint expression it means; :func:`parse_unit` folds
typographic variants (µ, ×, superscripts; never case) and looks the spelling up.  Anything not
listed is a :class:`~eligimatch.errors.UnitError` naming it; nothing is guessed, and pint never
parses outside input (on its own it reads ``u/L`` as atomic mass units per litre).  A
:class:`UnitSpec` is a scale (``10^9``) and a pint unit (``1/L``).

The parts, each resting on the ones before it:

* :mod:`.spelling`: the spelling table and the folding of typographic variants (pure text);
* :mod:`.table`: what pint computes for the table (scale, unit and dimension of each expression,
  exact factors), stored in ``data/unit_table.json`` so that reading and converting units does not
  import pint while the stored table is current;
* :mod:`.conversion`: :func:`parse_unit`, exact :func:`convert` (through the molar mass or the
  valence across mass, substance and equivalent concentrations) and :func:`format_number`;
* :mod:`.catalogue`: the analyte catalogue, ``data/analytes.toml``, and what a unit means for
  one analyte (:meth:`Analyte.unit_for`).
"""

from __future__ import annotations

from .catalogue import Analyte, analyte, analytes
from .conversion import UnitSpec, convert, format_number, parse_unit
from .spelling import normalise_spelling, spellings
from .table import Units, build_table, registry

__all__ = [
    "Analyte",
    "UnitSpec",
    "Units",
    "analyte",
    "analytes",
    "build_table",
    "convert",
    "format_number",
    "normalise_spelling",
    "parse_unit",
    "registry",
    "spellings",
]
