"""Retrospective screening: a profile (or an imported FHIR bundle) seen as of an earlier date.

``eligimatch screen --as-of 2026-10-01`` on an extract made on 2026-11-16 asks "was this patient
eligible on 1 October?".  :func:`as_of_earlier` gives the profile as it stood then, and a note
for each kind of data it left out ("3 lab results after 2026-10-01 not used"):

* Dated data after the date is left out: lab results, blood pressures, attestations, ECOG,
  weight, height, life expectancy, lesions, metastases, toxicities, other malignancies,
  conditions whose onset is later, medications and treatments that started later, a diagnosis
  made later, a tumour size measured later.
* What ended after the date was still going on then: a medication or treatment that ended later
  is ongoing (its end, and for a treatment its response, progression and stop reason, not yet
  known), a condition or toxicity resolved later was not resolved.
* A state recorded without a date might have been different then, so it becomes unrecorded
  rather than be carried back: a metastasis resolved or treated and stable, a condition resolved
  or controlled, a cancer in remission or cured, a medication stopped, with no date that puts
  the change on or before the date.

* The same holds for the undated states of the profile itself: pregnancy, breastfeeding,
  contraception and the other reproductive facts, the administrative ones (consent, ability to
  take oral medication, ...), measurable disease, and the diagnosis's disease status, stage,
  resectability and local extent become unrecorded (the histology, grade and site stay).

Data dated after the profile's own ``as_of`` is not touched: it is impossible (recorded after
the extract was made) and :func:`eligimatch.facts.build_facts` reports it as an error.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from .patient import Patient

__all__ = ["as_of_earlier"]


def as_of_earlier(patient: Patient, when: dt.date) -> tuple[Patient, list[str]]:
    """The profile as of ``when`` and the notes saying what was left out or changed.

    Nothing changes (and no note is made) when ``when`` is not earlier than the profile's own
    ``as_of``.  A profile without ``as_of`` is treated as an extract of unknown date: all of its
    data after ``when`` is left out."""
    own = patient.as_of
    if own is not None and when >= own:
        return patient, []
    cut = _Cut(when, own)
    update: dict[str, Any] = {}
    for name in ("weight", "height", "life_expectancy", "ecog"):
        q = getattr(patient, name)
        if q is not None and cut.later(q.date):
            update[name] = None
            cut.left({"ecog": "ECOG score", "life_expectancy": "life expectancy"}.get(name, name))
    if patient.diagnosis is not None:
        d = patient.diagnosis
        if cut.later(d.date):
            update["diagnosis"] = None
            cut.left("diagnosis")
        else:
            # its histology, grade and site do not change; its status and extent may have
            states = {"status": None, "resectable": None, "locally_advanced": None, "stage": None}
            if d.size is not None and cut.later(d.size.date):
                states["size"] = None
                cut.left("tumour size")
            update["diagnosis"] = d.model_copy(update=states)
    undated = [
        name
        for name in ("reproductive", "administrative", "measurable_disease")
        if getattr(patient, name) is not None
    ]
    for name in undated:
        update[name] = None
    for name, label in (
        ("labs", "lab result"),
        ("blood_pressure", "blood pressure"),
        ("attestations", "attestation"),
        ("lesions", "lesion"),
    ):
        items = getattr(patient, name)
        if items is not None:
            kept = [x for x in items if not cut.later(x.date, label)]
            if len(kept) != len(items):
                update[name] = kept
    for name, fix in (
        ("metastases", _metastasis),
        ("conditions", _condition),
        ("medications", _medication),
        ("treatments", _treatment),
        ("toxicities", _toxicity),
        ("other_malignancies", _malignancy),
    ):
        items = getattr(patient, name)
        if items is None:
            continue
        out = []
        for x in items:
            y = fix(x, cut)
            if y is not None:
                out.append(y)
        if out != list(items):
            update[name] = out
    notes = cut.notes()
    notes.append(
        f"screened as of {when}, earlier than the profile's date "
        f"{own if own is not None else '(not given)'}: undated states (pregnancy and "
        "the other reproductive facts, consent and the other administrative facts, "
        "measurable disease, the disease status and stage) are not used, since they may "
        "have been different then"
    )
    return patient.model_copy(update=update), notes


class _Cut:
    def __init__(self, when: dt.date, own: dt.date | None) -> None:
        self.when, self.own = when, own
        self.dropped: Counter[str] = Counter()
        self.changed: Counter[tuple[str, str]] = Counter()

    def later(self, d: dt.date | None, label: str | None = None) -> bool:
        """Is ``d`` after the screening date (and not after the profile's own date, which is an
        error left for the facts to report)?  Counts it under ``label`` when given."""
        hit = d is not None and d > self.when and (self.own is None or d <= self.own)
        if hit and label:
            self.dropped[label] += 1
        return hit

    def left(self, label: str) -> None:
        self.dropped[label] += 1

    def change(self, noun: str, rest: str) -> None:
        self.changed[(noun, rest)] += 1

    def notes(self) -> list[str]:
        out = [
            f"{n} {_plural(label, n)} after {self.when} not used" for label, n in sorted(self.dropped.items())
        ]
        out += [f"{n} {_plural(noun, n)} {rest}" for (noun, rest), n in sorted(self.changed.items())]
        return out


_PLURALS = {
    "metastasis": "metastases",
    "toxicity": "toxicities",
    "life expectancy": "life expectancies",
    "other malignancy": "other malignancies",
    "diagnosis": "diagnoses",
    "weight": "weights",
    "height": "heights",
}


def _plural(noun: str, n: int) -> str:
    return noun if n == 1 else _PLURALS.get(noun, noun + "s")


def _metastasis(m: Any, cut: _Cut) -> Any:
    if cut.later(m.date, "metastasis"):
        return None
    if m.status in ("resolved", "treated_stable"):
        cut.change(
            "metastasis",
            f"with status '{m.status}' read as status unrecorded (not dated on or before {cut.when})",
        )
        return m.model_copy(update={"status": None})
    return m


def _condition(c: Any, cut: _Cut) -> Any:
    if cut.later(c.onset, "condition"):
        return None
    if cut.later(c.resolved):
        cut.change("condition", f"resolved after {cut.when} read as not resolved then (status unrecorded)")
        return c.model_copy(update={"resolved": None, "status": None})
    if c.status in ("resolved", "controlled") and c.resolved is None:
        cut.change(
            "condition",
            f"with status '{c.status}' read as status unrecorded (not dated on or before {cut.when})",
        )
        return c.model_copy(update={"status": None})
    return c


def _medication(m: Any, cut: _Cut) -> Any:
    if cut.later(m.start, "medication"):
        return None
    if cut.later(m.end):
        if m.start is not None:
            cut.change("medication", f"ended after {cut.when} read as ongoing then")
            return m.model_copy(update={"end": None, "ongoing": True})
        cut.change("medication", f"ended after {cut.when} (start unrecorded) read as ongoing unrecorded")
        return m.model_copy(update={"end": None, "ongoing": None})
    if m.ongoing is False and m.end is None:
        cut.change("medication", "stopped on an unrecorded date read as ongoing unrecorded")
        return m.model_copy(update={"ongoing": None})
    return m


def _treatment(t: Any, cut: _Cut) -> Any:
    if cut.later(t.date, "treatment") or cut.later(t.start, "treatment"):
        return None
    fix: dict[str, Any] = {}
    if cut.later(t.end):
        fix = {
            "end": None,
            "ongoing": True if t.start is not None else None,
            "best_response": None,
            "stopped_for_toxicity": None,
        }
        cut.change("treatment", f"ended after {cut.when} read as ongoing then")
    elif t.ongoing is False and t.end is None and t.date is None:
        fix = {"ongoing": None}
        cut.change("treatment", "stopped on an unrecorded date read as ongoing unrecorded")
    if cut.later(t.progression_date):
        fix["progression_date"] = None
        cut.left("progression date")
    return t.model_copy(update=fix) if fix else t


def _toxicity(x: Any, cut: _Cut) -> Any:
    if cut.later(x.date, "toxicity"):
        return None
    if cut.later(x.resolved):
        cut.change("toxicity", f"resolved after {cut.when} read as ongoing then")
        return x.model_copy(update={"resolved": None, "ongoing": True})
    return x


def _malignancy(x: Any, cut: _Cut) -> Any:
    if cut.later(x.date, "other malignancy"):
        return None
    if cut.later(x.resolved):
        cut.change("other malignancy", f"resolved after {cut.when} read as status unrecorded")
        return x.model_copy(update={"resolved": None, "status": None, "curatively_treated": None})
    if x.status in ("remission", "cured") and x.resolved is None:
        cut.change(
            "other malignancy",
            f"with status '{x.status}' read as status unrecorded (not dated on or before {cut.when})",
        )
        return x.model_copy(update={"status": None})
    return x
