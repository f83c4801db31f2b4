"""Patient profile → normalised facts, computed once per patient and shared by every trial.

* Every lab is converted once into its analyte's canonical unit (Decimal, exact).
* The newest result on or before ``as_of`` is the one used; results dated after ``as_of`` are
  impossible and rejected.
* Derived facts: age (calendar-exact), creatinine clearance by Cockcroft–Gault when none was
  measured, metastatic lesion and organ counts, whether the patient is an amputee.
* Items carry what all their evidence says: a drug item's classes and agents from the drug
  catalogue (:mod:`eligimatch.drugs`; partly known ones as :class:`~eligimatch.drugs.Open`),
  whether a medication is anticancer therapy, a condition's categories from its type
  (:mod:`eligimatch.evidence`).
* A × ULN needs the lab's reference range; without one the analyte's band of plausible ULNs is
  kept for the comparison to try (``QuantityFact.uln_band``).  A range whose upper limit is not a
  plausible ULN is an error.
* Contradictions are errors: a pregnancy or breastfeeding recorded for a male, a condition
  category the type does not allow.
* A fact that cannot be established is recorded with the reason (not recorded, conflicting
  results, no reference range) so that explanations can say exactly what is missing.

Nothing here decides eligibility; :mod:`eligimatch.evaluate` does.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from .dates import age_in_years
from .drugs import Open, catalogue
from .errors import PatientError, UnitError
from .evidence import condition_types, type_from_name
from .patient import (
    ANTICANCER_TYPES,
    Allergy,
    Condition,
    Lesion,
    Medication,
    Metastasis,
    OtherMalignancy,
    Patient,
    Quantity,
    Toxicity,
    Treatment,
)
from .units import Analyte, analytes, format_number
from .wording import display

__all__ = ["COLLECTIONS", "LAB_MAX_AGE_DAYS", "SCALARS", "Facts", "Item", "QuantityFact",
           "build_facts"]

# How many days old a lab result may be when neither the criterion, the trial nor the analyte
# says (a usual screening window).
LAB_MAX_AGE_DAYS = 28
# treatment types that are drug therapy: their items are read through the drug catalogue, and
# words of their names that the catalogue cannot read leave their classes unknown
DRUG_TREATMENTS = frozenset({"chemotherapy", "targeted_therapy", "immunotherapy",
                             "hormonal_therapy", "investigational", "other_anticancer"})


@dataclass(frozen=True)
class QuantityFact:
    """One quantity as evaluated: canonical value (or ordinal / qualitative result)."""

    analyte: Analyte
    value: Fraction | None = None         # canonical unit, exact
    comparator: str | None = None         # censored value: '<' 20 means somewhere below 20
    result: str | None = None             # ordinal / qualitative result
    date: date | None = None
    reported: str = ""                    # as written in the patient file
    uln: Fraction | None = None           # canonical unit, exact
    uln_note: str = ""                    # where the ULN came from
    uln_band: tuple[Fraction, Fraction] | None = None  # plausible ULNs when the lab gave none
    derived: str = ""                     # how a derived value was computed

    def shown(self) -> str:
        a = self.analyte
        if self.result is not None:
            core = self.result
        else:
            assert self.value is not None
            core = (self.comparator or "") + a.show(self.value)
        extra = []
        if self.derived:
            extra.append(self.derived)
        elif self.reported and self.reported != core:
            extra.append(f"reported {self.reported}")
        if self.date is not None and not self.derived:
            extra.append(str(self.date))
        return f"{core} ({', '.join(extra)})" if extra else core


@dataclass(frozen=True)
class Item:
    """One entry of a collection (a treatment, a condition...) with its active period."""

    fields: dict[str, Any]
    start: date | None
    end: date | None          # last day; None with ongoing=True means still going on
    ongoing: bool | None
    label: str


# Scalar facts usable in `fact` and `expr` nodes: name → (type, description).
SCALARS: dict[str, tuple[str, str]] = {
    "sex": ("string", "sex"),
    "pregnant": ("boolean", "pregnancy status"),
    "breastfeeding": ("boolean", "breastfeeding status"),
    "childbearing_potential": ("boolean", "childbearing potential"),
    "effective_contraception": ("boolean", "use of effective contraception"),
    "consent_signed": ("boolean", "signed informed consent"),
    "prior_trial_participation": ("boolean", "prior clinical-trial participation"),
    "able_to_lie_flat": ("boolean", "ability to lie flat"),
    "able_to_take_oral_medication": ("boolean", "ability to take oral medication"),
    "willing_to_provide_samples": ("boolean", "willingness to provide tissue and blood samples"),
    "measurable_disease": ("boolean", "measurable disease by RECIST 1.1"),
    "disease_status": ("string", "disease status (primary / recurrent / metastatic)"),
    "locally_advanced": ("boolean", "whether the tumour is locally advanced"),
    "resectable": ("boolean", "resectability"),
    "site_group": ("string", "tumour site group"),
    "grade": ("string", "tumour grade"),
    "depth": ("string", "tumour depth"),
    "confirmation": ("string", "how the diagnosis was confirmed"),
    "stage_t": ("string", "T stage"),
    "stage_n": ("string", "N stage"),
    "stage_m": ("string", "M stage"),
    "amputee": ("boolean", "whether the patient has had an amputation"),
}

# Allowed values of string scalars (checked when a rule is compiled).
SCALAR_VALUES: dict[str, tuple[str, ...]] = {
    "sex": ("female", "male"),
    "disease_status": ("primary", "recurrent", "metastatic"),
    "site_group": ("extremity", "trunk", "retroperitoneum", "head_and_neck", "visceral", "bone",
                   "other"),
    "grade": ("G1", "G2", "G3", "GX"),
    "depth": ("superficial", "deep"),
    "confirmation": ("histological", "cytological", "clinical", "radiological"),
    "stage_n": ("N0", "N1", "NX"),
    "stage_m": ("M0", "M1", "MX"),
}

# Collections usable in `exists` nodes: name → (item model, whether items carry dates).
COLLECTIONS: dict[str, tuple[type[BaseModel], bool]] = {
    "treatments": (Treatment, True),
    "conditions": (Condition, True),
    "medications": (Medication, True),
    "metastases": (Metastasis, True),
    "toxicities": (Toxicity, True),
    "allergies": (Allergy, False),
    "other_malignancies": (OtherMalignancy, True),
    "lesions": (Lesion, True),
}
# Fields computed for items, usable in `where` like the model's own.
# the recorded fields a derived field is computed from: what to record when it is unknown
DERIVED_FROM: dict[str, tuple[str, ...]] = {"anticancer": ("involves_target_site", "intent")}
DERIVED_ITEM_FIELDS: dict[str, dict[str, Any]] = {
    "treatments": {"anticancer": bool},
    "medications": {"anticancer": bool, "agents": str},
}
# Quantity fields of items that `where` may compare with a unit (`{op, value, unit}`): the unit
# gives the dimension a threshold must have (any unit of that dimension is accepted).
ITEM_QUANTITY_UNITS: dict[str, dict[str, str]] = {
    "lesions": {"longest_diameter": "mm", "shortest_diameter": "mm"},
    "conditions": {"volume": "mL"},
}
# Item fields that hold OncoTree codes, which `where` may test by ancestry (`{under = [...]}`).
ONCOTREE_ITEM_FIELDS: dict[str, tuple[str, ...]] = {
    "other_malignancies": ("histology",),
}


@dataclass
class Facts:
    """Everything the rules may ask about one patient, at one evaluation date."""

    patient_id: str
    as_of: date
    quantities: dict[str, QuantityFact] = field(default_factory=dict)
    quantity_gaps: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (what, why)
    scalars: dict[str, Any] = field(default_factory=dict)          # None = not recorded
    collections: dict[str, list[Item] | None] = field(default_factory=dict)
    histology: str | None = None
    attestations: dict[tuple[str, str], Any] = field(default_factory=dict)

    def quantity(self, key: str) -> QuantityFact | None:
        return self.quantities.get(key)

    def gap(self, key: str) -> tuple[str, str]:
        """What to record for an unknown quantity, and why it is unknown."""
        a = analytes()[key]
        return self.quantity_gaps.get(key, (a.short, f"{a.short} not recorded"))


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, msg: str) -> None:
        self.items.append((where, msg))


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _quantity(key: str, q: Quantity, where: str, problems: _Problems) -> QuantityFact | None:
    a = analytes()[key]
    try:
        spec = a.unit_for(q.unit)
        value = a.to_canonical(q.value, spec)
    except UnitError as exc:
        problems.add(f"{where}.unit", f"{q.unit!r} is not a unit of {a.name}"
                     if "not a unit of" in exc.reason else str(exc))
        return None
    if not _in_range(a, value, f"{where}.value", problems):
        return None
    same_unit = a.unit is not None and spec.key == a.unit.key
    reported = "" if same_unit else f"{q.comparator or ''}{format_number(q.value, 6)} {q.unit}"
    return QuantityFact(a, value=value, comparator=q.comparator, date=q.date, reported=reported)


def _in_range(a: Analyte, value: Fraction, where: str, problems: _Problems) -> bool:
    if (a.min is not None and value < a.min) or (a.max is not None and value > a.max):
        problems.add(where, f"{a.show(value)} is not a possible {a.name}")
        return False
    if a.integer and value.denominator != 1:
        problems.add(where, f"{a.name} must be a whole number")
        return False
    return True


def _check_date(d: date | None, as_of: date, where: str, problems: _Problems) -> None:
    if d is not None and d > as_of:
        problems.add(where, f"date {d} is after the evaluation date {as_of}")


def build_facts(patient: Patient, as_of: date | None = None, source: str = "<patient>") -> Facts:
    """Normalise a validated profile; raise :class:`PatientError` listing every problem."""
    when = as_of or patient.as_of
    if when is None:
        raise PatientError(source, [("as_of", "no evaluation date: give 'as_of' in the file or "
                                              "--as-of on the command line")])
    problems = _Problems()
    facts = Facts(patient_id=patient.id, as_of=when)
    _profile_quantities(patient, facts, problems)
    _labs(patient, facts, problems)
    _scalars(patient, facts)
    _contradictions(patient, problems)
    _collections(patient, facts, problems)
    _derived(patient, facts)
    for i, att in enumerate(patient.attestations):
        _check_date(att.date, when, f"attestations[{i}].date", problems)
        facts.attestations[(att.trial, att.criterion)] = att
    if problems.items:
        raise PatientError(source, problems.items)
    return facts


def _profile_quantities(p: Patient, facts: Facts, problems: _Problems) -> None:
    as_of = facts.as_of
    if p.birth_date is not None:
        _check_date(p.birth_date, as_of, "birth_date", problems)
        if p.birth_date <= as_of:
            age = Fraction(age_in_years(p.birth_date, as_of))
            if _in_range(analytes()["age"], age, "birth_date", problems):
                facts.quantities["age"] = QuantityFact(
                    analytes()["age"], value=age, derived=f"born {p.birth_date}")
    for key, q in (("weight", p.weight), ("height", p.height),
                   ("life_expectancy", p.life_expectancy)):
        if q is not None:
            _check_date(q.date, as_of, f"{key}.date", problems)
            qf = _quantity(key, q, key, problems)
            if qf is not None:
                facts.quantities[key] = qf
    if p.ecog is not None:
        _check_date(p.ecog.date, as_of, "ecog.date", problems)
        facts.quantities["ecog"] = QuantityFact(analytes()["ecog"], value=Fraction(p.ecog.value),
                                                date=p.ecog.date)
    if p.diagnosis is not None and p.diagnosis.size is not None:
        qf = _quantity("tumour_size", p.diagnosis.size, "diagnosis.size", problems)
        if qf is not None:
            facts.quantities["tumour_size"] = qf
    if p.blood_pressure is not None:
        for i, bp in enumerate(p.blood_pressure):
            _check_date(bp.date, as_of, f"blood_pressure[{i}].date", problems)
        if p.blood_pressure:
            latest = max(p.blood_pressure, key=_bp_order)
            for key, v in (("bp_systolic", latest.systolic), ("bp_diastolic", latest.diastolic)):
                qf = _quantity(key, Quantity(value=v, unit=latest.unit, date=latest.date),
                               "blood_pressure", problems)
                if qf is not None:
                    facts.quantities[key] = qf
    if p.metastases is not None:
        # a metastasis without a status may or may not be resolved: it makes the counts unknown
        # (counting it, or not, would let forgetting the status change a known count)
        unsure = sorted({m.site or "an unclassified site" for m in p.metastases
                         if m.status is None})
        live = [m for m in p.metastases if m.status not in (None, "resolved")]
        counts = [m.lesion_count for m in live]
        organs = {m.site for m in live}
        if unsure:
            facts.quantity_gaps["metastatic_lesion_count"] = (
                f"status (resolved or not) of the metastases at {', '.join(unsure)}",
                f"not recorded whether the metastases at {', '.join(unsure)} are resolved")
        elif all(c is not None for c in counts):
            facts.quantities["metastatic_lesion_count"] = QuantityFact(
                analytes()["metastatic_lesion_count"], value=Fraction(sum(c or 0 for c in counts)),
                derived="sum of recorded metastatic lesions")
        else:
            facts.quantity_gaps["metastatic_lesion_count"] = (
                "number of lesions at every metastatic site",
                "number of lesions not recorded for every metastatic site")
        maybe = sorted(set(unsure) - organs)
        if None in organs:  # a metastasis whose site was not classified may be a new organ
            facts.quantity_gaps["metastatic_organ_count"] = (
                "the site of every metastasis",
                "the site of a metastasis could not be classified")
        elif maybe:
            facts.quantity_gaps["metastatic_organ_count"] = (
                f"status (resolved or not) of the metastases at {', '.join(maybe)}",
                f"not recorded whether the metastases at {', '.join(maybe)} are resolved")
        else:
            facts.quantities["metastatic_organ_count"] = QuantityFact(
                analytes()["metastatic_organ_count"], value=Fraction(len(organs)),
                derived=f"organs: {', '.join(sorted(o for o in organs if o)) or 'none'}")


def _bp_order(b: Any) -> tuple[Any, ...]:
    """Newest reading first, then the highest, compared in mmHg whatever unit each is in."""
    a = analytes()["bp_systolic"]
    try:
        spec = a.unit_for(b.unit)
        values = (a.to_canonical(b.systolic, spec), a.to_canonical(b.diastolic, spec))
    except UnitError:  # reported when the reading is used
        values = (Fraction(b.systolic), Fraction(b.diastolic))
    return (b.date, *values, b.unit)


def _labs(p: Patient, facts: Facts, problems: _Problems) -> None:
    if p.labs is None:
        return
    catalogue = analytes()
    by_test: dict[str, list[tuple[int, QuantityFact]]] = {}
    for i, lab in enumerate(p.labs):
        where = f"labs[{i}]"
        a = catalogue.get(lab.test)
        if a is None or a.source != "lab":
            names = [k for k, v in catalogue.items() if v.source == "lab"]
            problems.add(f"{where}.test", f"unknown test {lab.test!r}{_suggest(lab.test, names)}")
            continue
        _check_date(lab.date, facts.as_of, f"{where}.date", problems)
        qf = _lab_fact(a, lab, where, problems)
        if qf is not None:
            by_test.setdefault(a.key, []).append((i, qf))
    for key, results in by_test.items():
        newest = max(r.date or date.min for _, r in results)
        latest = [r for _, r in results if r.date == newest]
        distinct = {(r.value, r.comparator, r.result) for r in latest}
        if len(distinct) > 1:
            short = catalogue[key].short
            facts.quantity_gaps[key] = (f"a single {short} result",
                                        f"{short}: {len(latest)} different results on {newest}")
            continue
        facts.quantities[key] = min(latest, key=lambda r: (r.uln is None, r.uln or 0,
                                                           r.reported, r.uln_note))


def _lab_fact(a: Analyte, lab: Any, where: str, problems: _Problems) -> QuantityFact | None:
    if a.kind != "quantity":
        if lab.result is None:
            problems.add(where, f"{a.name} takes a 'result' ({', '.join(a.scale or a.values)})")
            return None
        allowed = a.scale or a.values
        res = lab.result.lower() if lab.result.lower() in allowed else lab.result
        if res not in allowed:
            problems.add(f"{where}.result", f"{lab.result!r} is not a result of {a.name} "
                                            f"(expected one of {', '.join(allowed)})")
            return None
        return QuantityFact(a, result=res, date=lab.date, reported=lab.result)
    if lab.value is None:
        problems.add(where, f"{a.name} needs a numeric 'value' and 'unit'")
        return None
    qf = _quantity(a.key, Quantity(value=lab.value, unit=lab.unit, comparator=lab.comparator,
                                   date=lab.date), where, problems)
    if qf is None:
        return None
    uln, note, band = None, "", None
    rr = lab.reference_range
    if rr is not None and rr.high is not None:
        unit_text = rr.unit or lab.unit
        try:
            uln = a.to_canonical(rr.high, a.unit_for(unit_text))
            note = f"ULN {format_number(rr.high, 6)} {unit_text} from the lab's reference range"
        except UnitError:
            problems.add(f"{where}.reference_range.unit",
                         f"{unit_text!r} is not a unit of {a.name}")
            return None
        if rr.low is not None and rr.low > rr.high:
            problems.add(f"{where}.reference_range", "low is above high")
            return None
        if a.uln_band is not None and not a.uln_band[0] <= uln <= a.uln_band[1]:
            lo, hi = (a.show(x) for x in a.uln_band)
            shown = f"{format_number(rr.high, 6)} {unit_text}"
            if rr.unit is None:
                problems.add(f"{where}.reference_range.unit",
                             f"the range gives no unit, and {shown} (the result's unit) is not a "
                             f"plausible upper limit of normal of {a.name} ({lo} to {hi}): give "
                             f"the range's unit")
            else:
                problems.add(f"{where}.reference_range.high",
                             f"{shown} is not a plausible upper limit of normal of {a.name} "
                             f"({lo} to {hi})")
            return None
    elif a.uln_band is not None:
        band = a.uln_band
        note = "the lab reported no reference range"
    return QuantityFact(a, value=qf.value, comparator=qf.comparator, date=lab.date,
                        reported=qf.reported, uln=uln, uln_note=note, uln_band=band)


def _scalars(p: Patient, facts: Facts) -> None:
    s = facts.scalars
    s["sex"] = p.sex
    rep = p.reproductive
    for name in ("pregnant", "breastfeeding", "childbearing_potential", "effective_contraception"):
        s[name] = getattr(rep, name) if rep is not None else None
    adm = p.administrative
    for name in ("consent_signed", "prior_trial_participation", "able_to_lie_flat",
                 "able_to_take_oral_medication", "willing_to_provide_samples"):
        s[name] = getattr(adm, name) if adm is not None else None
    s["measurable_disease"] = p.measurable_disease
    d = p.diagnosis
    s["disease_status"] = d.status if d else None
    s["locally_advanced"] = d.locally_advanced if d else None
    s["resectable"] = d.resectable if d else None
    s["site_group"] = d.site_group if d else None
    s["grade"] = d.grade if d else None
    s["depth"] = d.depth if d else None
    s["confirmation"] = d.confirmation if d else None
    stage = d.stage if d else None
    s["stage_t"] = stage.t if stage else None
    s["stage_n"] = stage.n if stage else None
    s["stage_m"] = stage.m if stage else None
    facts.histology = d.histology if d else None


def _contradictions(p: Patient, problems: _Problems) -> None:
    for i, t in enumerate(p.treatments or ()):
        if t.amputation is not None and t.type not in ("surgery", "procedure", None):
            problems.add(f"treatments[{i}].amputation",
                         f"only an operation or procedure can be an amputation, not a {t.type}")
    rep = p.reproductive
    if p.sex == "male" and rep is not None:
        for name in ("pregnant", "breastfeeding"):
            if getattr(rep, name) is True:
                problems.add(f"reproductive.{name}", f"{name} is recorded for a patient whose sex "
                                                     f"is male")


def _period(name: str, obj: Any) -> tuple[date | None, date | None, bool | None]:
    if name == "treatments":
        if obj.date is not None:
            return obj.date, obj.date, False
        return obj.start, obj.end, (False if obj.end is not None else obj.ongoing)
    if name == "medications":
        return obj.start, obj.end, (False if obj.end is not None else obj.ongoing)
    if name == "conditions":
        ongoing = None if obj.status is None else obj.status != "resolved"
        return obj.onset, obj.resolved, (False if obj.resolved is not None else ongoing)
    if name == "toxicities":
        return obj.date, obj.resolved, (False if obj.resolved is not None else obj.ongoing)
    if name == "metastases":
        ongoing = None if obj.status is None else obj.status != "resolved"
        return obj.date, None, ongoing
    if name == "other_malignancies":
        ongoing = None if obj.status is None else obj.status == "active"
        return obj.date, obj.resolved, (False if obj.resolved is not None else ongoing)
    if name == "lesions":
        return obj.date, obj.date, False
    return None, None, None


def unclassified_label(name: str, obj: Any) -> str | None:
    """How an unclassified item (a condition or treatment without ``type``, a metastasis
    without ``site``) is named in explanations, or None for a classified one."""
    if name == "conditions" and obj.type is None:
        code = obj.code.code if obj.code is not None else ""
        text = obj.name or (obj.code.display if obj.code is not None else None) or ""
        shown = " ".join(dict.fromkeys(x for x in (code, text) if x))
        return f"Condition '{shown}' could not be classified"
    if name == "treatments" and obj.type is None:
        shown = obj.name or ", ".join(obj.agents or ())
        return f"Treatment '{shown}' could not be classified"
    if name == "metastases" and obj.site is None:
        return "a metastasis whose site could not be classified"
    return None


def _label(name: str, obj: Any) -> str:
    unclassified = unclassified_label(name, obj)
    if unclassified is not None:
        return unclassified
    for attr in ("name", "term", "substance", "description", "type", "site", "kind"):
        v = getattr(obj, attr, None)
        if v:
            label = str(v) if attr in ("name", "term", "substance", "description") else display(v)
            break
    else:
        label = name.rstrip("s")
    if name == "treatments" and getattr(obj, "name", None) and obj.type not in label:
        label = f"{display(obj.type)} ({obj.name})"
    if name == "conditions" and getattr(obj, "name", None):
        label = f"{obj.name} [{display(obj.type)}]"
    return label


def _collections(p: Patient, facts: Facts, problems: _Problems) -> None:
    for name in COLLECTIONS:
        raw = getattr(p, name)
        if raw is None:
            facts.collections[name] = None
            continue
        items: list[Item] = []
        for i, obj in enumerate(raw):
            fields = obj.model_dump()
            for fname, value in fields.items():
                if isinstance(value, date):
                    _check_date(value, facts.as_of, f"{name}[{i}].{fname}", problems)
            label = _label(name, obj)
            if name == "treatments":
                _treatment_fields(obj, fields)
            elif name == "medications":
                _drug_fields(obj, fields, drug=True, medication=True)
            elif name == "conditions":
                label = _condition_fields(obj, fields, f"{name}[{i}]", problems) or label
            start, end, ongoing = _period(name, obj)
            items.append(Item(fields, start, end, ongoing, label))
        facts.collections[name] = items


def _drug_fields(obj: Any, fields: dict[str, Any], *, drug: bool,
                 medication: bool = False) -> None:
    """An item's classes and agents as the profile and the drug catalogue give them together;
    partly known ones are :class:`Open`.  Medications also get ``anticancer``."""
    r = catalogue().read(name=obj.name, agents=getattr(obj, "agents", None), classes=obj.classes,
                         route=getattr(obj, "route", None), drug=drug)
    fields["classes"] = list(r.classes) if r.classes_known else Open(r.classes, r.unread)
    fields["agents"] = list(r.agents) if r.agents_known else Open(r.agents, r.unread)
    if medication:  # a treatment's anticancer also depends on its type (_treatment_fields)
        fields["anticancer"] = r.anticancer


def _treatment_fields(obj: Treatment, fields: dict[str, Any]) -> None:
    if obj.type is None:
        # unclassified: its classes and agents are at least what the catalogue reads in it, and
        # it is anticancer therapy only if one of those says so; otherwise nothing is known
        r = catalogue().read(name=obj.name, agents=obj.agents, classes=obj.classes, route=None,
                             drug=True)
        fields["classes"] = Open(r.classes)
        fields["agents"] = Open(r.agents)
        fields["anticancer"] = True if r.anticancer else None
        return
    _drug_fields(obj, fields, drug=obj.type in DRUG_TREATMENTS)
    if (obj.type in ("surgery", "procedure") and obj.name is None and obj.agents is None
            and obj.classes is None):
        # an operation or procedure nobody named may have been given with a drug (an isolated
        # limb perfusion with melphalan): its drug classes and agents are not known
        fields["classes"] = Open(fields["classes"])
        fields["agents"] = Open(fields["agents"])
    # an operation on the tumour treats it, whatever intent was written down (an unplanned
    # "presumed lipoma" excision, an excisional biopsy of the sarcoma)
    site = obj.involves_target_site
    oncologic = None if obj.intent is None else obj.intent not in ("diagnostic", "non_oncologic")
    if obj.type in ANTICANCER_TYPES:
        anticancer: bool | None = True
    elif obj.type == "surgery":
        # at the tumour: it treated it; elsewhere: its intent says; where unrecorded, only an
        # oncological intent decides (a "non-oncological" operation may have been on the tumour)
        anticancer = True if site or oncologic else oncologic if site is False else None
    elif obj.type == "procedure":
        # at the tumour: what it did decides (an excision treats, a biopsy samples); where
        # unrecorded, a procedure that samples does not treat and any other may have
        treats = _procedure_treats(obj.name)
        anticancer = (False if site is False else treats if site else
                      False if treats is False else None)
    else:
        anticancer = False
    if anticancer is not True and obj.type not in ANTICANCER_TYPES:
        drug = catalogue().read(name=obj.name, agents=obj.agents, classes=obj.classes,
                                route=None, drug=False).anticancer
        anticancer = True if drug else anticancer  # isolated limb perfusion with melphalan
    fields["anticancer"] = anticancer


_REMOVES = frozenset({"excision", "excisional", "resection", "excised", "resected", "enucleation",
                      "debulking", "amputation", "ablation", "perfusion", "embolisation",
                      "embolization", "chemoembolisation", "chemoembolization"})
_SAMPLES = frozenset({"biopsy", "aspiration", "cytology", "puncture", "drainage", "imaging"})


def _procedure_treats(name: str | None) -> bool | None:
    """Does a procedure at the tumour site treat it?  An excision or ablation does (an
    excisional biopsy removes the tumour); a core, incisional or needle biopsy does not; any other
    procedure there cannot be told from its name."""
    words = set(re.sub(r"[^a-z]+", " ", (name or "").lower()).split())
    if words & _REMOVES:
        return True
    if words & _SAMPLES:
        return False
    return None


def _condition_fields(obj: Condition, fields: dict[str, Any], where: str,
                      problems: _Problems) -> str | None:
    """Categories implied by the type (plus the one given); the type read from the name of a
    condition of type "other".  Returns a label when the type was read from the name."""
    types = condition_types()
    if obj.type is None:
        # unclassified: its type is unknown, and so are its categories unless one was given
        # (a given category is one it has; it may have others)
        fields["category"] = None if obj.category is None else Open([obj.category])
        return None
    ctype: str = obj.type
    label = None
    if ctype == "other":
        named = type_from_name(obj.name)
        if named is not None:
            ctype = named
            fields["type"] = named
            label = f"{obj.name} [{display(named)}, read from the name]"
    spec = types[ctype]
    if obj.category is not None and obj.category not in spec.allows and obj.type != "other":
        problems.add(f"{where}.category",
                     f"{obj.category!r} contradicts the type {obj.type!r} (which is "
                     f"{', '.join(spec.implies) or 'of no fixed category'}; allowed: "
                     f"{', '.join(sorted(spec.allows))})")
    categories = list(spec.implies)
    if obj.category is not None and obj.category not in categories:
        categories.append(obj.category)
    if ctype == "other":
        # no taxonomy to go on: the category given is all there is, and without one nothing
        fields["category"] = None if obj.category is None else categories
    elif spec.allows - {*categories, "other"}:
        # a category the type may or may not have (a pulmonary embolism filed as cardiovascular
        # disease): leaving it out must not rule it out
        fields["category"] = Open(categories, (), possible=spec.allows - {"other"})
    else:
        fields["category"] = categories
    return label


def _amputation(t: Treatment) -> bool | None:
    """Was the treatment an amputation?  Its flag or its name says so, whatever its type; an
    operation, or an item of unrecorded type, whose flag does not say is unknown; a procedure
    says it by its name (one without a name or a flag is unknown); a drug, radiotherapy,
    transfusion or vaccination is none."""
    if t.amputation or _AMPUTATION.search(t.name or ""):
        return True
    if t.type in ("surgery", None):
        return t.amputation
    if t.type == "procedure":
        return False if t.amputation is False or t.name else None
    return False


_AMPUTATION = re.compile(r"\b(amputation|amputated|disarticulation|hemipelvectomy|"
                         r"forequarter|hindquarter)\b", re.I)


def _derived(p: Patient, facts: Facts) -> None:
    # amputee: known True if any treatment was an amputation; False only if every one says it was
    # not (see _amputation)
    tr = p.treatments
    if tr is None:
        facts.scalars["amputee"] = None
    else:
        flags = [_amputation(t) for t in tr]
        facts.scalars["amputee"] = (True if any(f is True for f in flags)
                                    else None if any(f is None for f in flags) else False)
    _cockcroft_gault(p, facts)


def _cockcroft_gault(p: Patient, facts: Facts) -> None:
    """Estimate CrCl (mL/min) when none was measured: (140 − age) × kg / (72 × Scr mg/dL)."""
    if "crcl" in facts.quantities or "crcl" in facts.quantity_gaps:
        return
    need = []
    age = facts.quantities.get("age")
    weight = facts.quantities.get("weight")
    scr = facts.quantities.get("creatinine")
    if age is None:
        need.append("age")
    if weight is None:
        need.append("weight")
    else:
        limit = weight.analyte.max_age_days
        if weight.date is None:
            need.append("a dated weight")
        elif limit is not None and (facts.as_of - weight.date).days > limit:
            need.append(f"a weight from the last {limit} days (the one recorded, "
                        f"{weight.date}, is {(facts.as_of - weight.date).days} days old)")
    if p.sex is None:
        need.append("sex")
    if scr is None or scr.value is None or scr.comparator is not None:
        need.append("serum creatinine")
    if need:
        facts.quantity_gaps["crcl"] = (
            "CrCl (or " + ", ".join(need) + " for Cockcroft–Gault)",
            "CrCl not measured, and Cockcroft–Gault needs " + ", ".join(need))
        return
    assert age and weight and scr and age.value is not None and weight.value is not None
    assert scr.value is not None
    crea = analytes()["creatinine"]
    mg_dl = crea.to_canonical(1, crea.unit_for("mg/dL"))  # µmol/L per mg/dL
    scr_mg_dl = scr.value / mg_dl
    if scr_mg_dl <= 0:
        facts.quantity_gaps["crcl"] = ("measured CrCl",
                                       "CrCl cannot be estimated from a creatinine of 0")
        return
    value = (140 - age.value) * weight.value / (72 * scr_mg_dl)
    if p.sex == "female":
        value *= Fraction(85, 100)
    value = max(value, Fraction(0))
    facts.quantities["crcl"] = QuantityFact(
        analytes()["crcl"], value=value, date=scr.date,
        derived=(f"Cockcroft–Gault estimate from age {format_number(age.value)}, weight "
                 f"{format_number(weight.value)} kg, {p.sex}, creatinine "
                 f"{format_number(scr_mg_dl, 3)} mg/dL on {scr.date}"))


def suggest(word: str, choices: Iterable[str]) -> str:
    """'; did you mean ...?' for the closest of ``choices``, or ''."""
    return _suggest(word, choices)

