"""Patient profile → normalised facts, computed once per patient and shared by every trial.

:func:`build_facts` checks and reads the whole profile, collecting every problem (a date after
``as_of``, a unit of the wrong dimension, an impossible value, a contradiction such as a pregnancy
recorded for a male) into one :class:`~.errors.PatientError`:

* quantities (:mod:`.quantities`, :mod:`.labfacts`): labs and measurements in canonical units,
  derived values (:mod:`.derived`);
* scalar facts: the profile's yes/no and closed-choice fields, as :mod:`.vocabulary` names them,
  and whether the patient is an amputee (:mod:`.amputation`);
* items of the collections (:mod:`.items`), with what all their evidence says;
* the clinicians' attestations, by trial and criterion.

A fact that cannot be established is recorded with the reason (not recorded, conflicting
results, no reference range) so that explanations can say exactly what is missing.  Nothing here
decides eligibility; the engine does.  The texts only explanations read (how a value was reported
or derived, an item's label) are made when first read, and are then what they would have been.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from . import derived, items, labfacts, quantities
from .amputation import amputations
from .errors import PatientError, Problems
from .items import Item
from .patient import Patient
from .quantities import QuantityFact, check_date
from .units import analytes
from .vocabulary import VOCABULARY

__all__ = ["Facts", "build_facts"]


@dataclass
class Facts:
    """Everything the rules may ask about one patient, at one evaluation date."""

    patient_id: str
    as_of: date
    quantities: dict[str, QuantityFact] = field(default_factory=dict)
    quantity_gaps: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (what, why)
    scalars: dict[str, Any] = field(default_factory=dict)  # None = not recorded
    collections: dict[str, list[Item] | None] = field(default_factory=dict)
    histology: str | None = None
    attestations: dict[tuple[str, str], Any] = field(default_factory=dict)

    def quantity(self, key: str) -> QuantityFact | None:
        return self.quantities.get(key)

    def gap(self, key: str) -> tuple[str, str]:
        """What to record for an unknown quantity, and why it is unknown."""
        a = analytes()[key]
        return self.quantity_gaps.get(key, (a.short, f"{a.short} not recorded"))


def build_facts(patient: Patient, as_of: date | None = None, source: str = "<patient>") -> Facts:
    """Normalise a validated profile; raise :class:`PatientError` listing every problem."""
    when = as_of or patient.as_of
    if when is None:
        raise PatientError(
            source, [("as_of", "no evaluation date: give 'as_of' in the file or --as-of on the command line")]
        )
    problems = Problems()
    facts = Facts(patient_id=patient.id, as_of=when)
    quantities.profile_quantities(patient, facts, problems)
    derived.metastatic_counts(patient, facts)
    labfacts.labs(patient, facts, problems)
    _scalars(patient, facts)
    facts.scalars["amputee"] = amputations(patient, problems)
    _contradictions(patient, problems)
    items.collections(patient, facts, problems)
    derived.cockcroft_gault(patient, facts)
    for i, att in enumerate(patient.attestations):
        check_date(att.date, when, f"attestations[{i}].date", problems)
        facts.attestations[(att.trial, att.criterion)] = att
    if problems:
        raise PatientError(source, problems)
    return facts


# every scalar fact the profile holds (the derived ones have no path), with its place
_SCALAR_PATHS = tuple((s.name, s.path) for s in VOCABULARY.scalars.values() if s.path)


def _groups(paths: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[Any, ...]:
    """The paths grouped by the object that holds them: (its path, ((fact, attribute), ...)),
    in the order first met."""
    groups: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for name, path in paths:
        groups.setdefault(path[:-1], []).append((name, path[-1]))
    return tuple((parent, tuple(leaves)) for parent, leaves in groups.items())


_SCALAR_GROUPS = _groups(_SCALAR_PATHS)
_NOT_RECORDED = dict.fromkeys(name for name, _ in _SCALAR_PATHS)  # in the order of the paths


def _scalars(p: Patient, facts: Facts) -> None:
    """Every scalar fact the profile holds, at its place (None where any part is missing)."""
    scalars = facts.scalars
    scalars.update(_NOT_RECORDED)
    for parent, leaves in _SCALAR_GROUPS:
        holder: Any = p
        for part in parent:
            holder = getattr(holder, part)
            if holder is None:
                break
        else:
            values = holder.__dict__  # a model's fields
            for name, attr in leaves:
                scalars[name] = values[attr]
    facts.histology = p.diagnosis.histology if p.diagnosis else None


def _contradictions(p: Patient, problems: Problems) -> None:
    """A pregnancy or breastfeeding recorded for a male (an amputation of a drug or radiotherapy
    is found by :func:`.amputation.amputations`)."""
    rep = p.reproductive
    if p.sex == "male" and rep is not None:
        for name in ("pregnant", "breastfeeding"):
            if getattr(rep, name) is True:
                problems.add(f"reproductive.{name}", f"{name} is recorded for a patient whose sex is male")
