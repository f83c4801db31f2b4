"""The profile's items as FHIR resources (what :mod:`eligimatch.fhir.export` writes and checks).

Everything FHIR expresses is written as FHIR: Observations with LOINC codes and UCUM units for
labs, ECOG, weight, height, blood pressure and pregnancy status; Conditions (mCODE primary and
secondary cancer profiles, comorbidities); Procedures and MedicationStatements for treatments and
medications; AllergyIntolerances.  The profile's closed vocabularies (condition type, treatment
type, site group, ...) are written as codings in eligimatch's own code systems next to any
standard code, so they read back exactly.  Each resource is yielded with the profile item it
stands for; the exporter reads it back and carries what did not survive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from ..errors import PatientError, UnitError
from ..items import DRUG_TREATMENTS
from ..patient import Patient
from ..units import analytes, parse_unit
from .mapping import LOINC
from .tables import MCODE, UCUM, eim_system, tables

__all__ = ["Writer", "Written", "coding", "eim"]

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


@dataclass(frozen=True)
class Written:
    """One resource and what it stands for: the profile item (None: nothing to carry), its
    target in the profile, the collection it belongs to and where the item is in the profile."""

    resource: dict[str, Any]
    item: BaseModel | None
    target: str
    collection: str | None = None
    where: str = ""


def _num(v: Decimal | int | float) -> int | float:
    d = Decimal(v)
    return int(d) if d == d.to_integral_value() else float(d)


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def eim(name: str, code: str) -> dict[str, Any]:
    return coding(eim_system(name), code)


def _ucum_code(unit: str, where: str, source: str) -> str:
    """The UCUM code (from the table) for a profile unit spelling: same scale and dimension."""
    t = tables()
    for code, text in t.ucum.items():
        if text == unit or code == unit:
            return code
    try:
        key = parse_unit(unit).key
    except UnitError as exc:
        raise PatientError(source, [(where, str(exc))]) from exc
    except ArithmeticError as exc:  # a "unit" such as 1e999999999
        raise PatientError(source, [(where, f"unit {unit!r} is not a unit")]) from exc
    for code, text in t.ucum.items():
        if parse_unit(text).key == key:
            return code
    raise PatientError(
        source, [(where, f"unit {unit!r} has no UCUM code in eligimatch's table (data/ucum_units.toml)")]
    )


class Writer:
    """Writes the resources of one profile; every resource refers to ``patient_url``."""

    def __init__(self, patient: Patient, patient_url: str, source: str) -> None:
        self.p = patient
        self.patient_url = patient_url
        self.source = source

    def resources(self) -> Iterator[Written]:
        """Every resource but the Patient and the completeness Lists, in the bundle's order."""
        yield from self._observations()
        yield from self._conditions()
        yield from self._treatments()
        yield from self._allergies()

    def _subject(self) -> dict[str, str]:
        return {"reference": self.patient_url}

    def _obs(self, rid: str, code: dict[str, Any], category: str, when: Any) -> dict[str, Any]:
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "category": [{"coding": [coding(OBS_CATEGORY, category)]}],
            "code": code,
            "subject": self._subject(),
        }
        if when is not None:
            obs["effectiveDateTime"] = when.isoformat()
        return obs

    def _quantity(
        self, value: Decimal, unit: str, where: str, comparator: str | None = None
    ) -> dict[str, Any]:
        q: dict[str, Any] = {"value": _num(value)}
        if comparator:
            q["comparator"] = comparator
        q.update({"unit": unit, "system": UCUM, "code": _ucum_code(unit, where, self.source)})
        return q

    def _loinc(self, key: str, preferred: str | None = None) -> dict[str, Any]:
        a = analytes()[key]
        if a.loinc:
            code = preferred if preferred in a.loinc else a.loinc[0]
            return {"coding": [coding(LOINC, str(code), a.name)], "text": a.name}
        return {"coding": [eim("analyte", key)], "text": a.name}

    def _observations(self) -> Iterator[Written]:
        p = self.p
        for i, lab in enumerate(p.labs or []):
            where = f"labs[{i}]"
            obs = self._obs(f"lab-{i + 1}", self._loinc(lab.test, lab.loinc), "laboratory", lab.date)
            if lab.value is not None and lab.unit is not None:
                obs["valueQuantity"] = self._quantity(lab.value, lab.unit, where, lab.comparator)
            elif lab.result is not None:
                obs["valueString"] = lab.result
            rr = lab.reference_range
            if rr is not None and (rr.low is not None or rr.high is not None):
                unit = rr.unit or lab.unit or ""
                obs["referenceRange"] = [
                    {
                        end: self._quantity(v, unit, f"{where}.reference_range")
                        for end, v in (("low", rr.low), ("high", rr.high))
                        if v is not None
                    }
                ]
            yield Written(obs, lab, "labs", "labs", where)
        for key in ("weight", "height"):
            q = getattr(p, key)
            if q is not None:
                obs = self._obs(key, self._loinc(key), "vital-signs", q.date)
                obs["valueQuantity"] = self._quantity(q.value, q.unit, key, q.comparator)
                yield Written(obs, q, key, where=key)
        if p.ecog is not None:
            obs = self._obs("ecog", self._loinc("ecog"), "survey", p.ecog.date)
            obs["valueInteger"] = p.ecog.value
            yield Written(obs, p.ecog, "ecog", where="ecog")
        for i, bp in enumerate(p.blood_pressure or []):
            obs = self._obs(
                f"bp-{i + 1}",
                {"coding": [coding(LOINC, "85354-9", "Blood pressure panel")]},
                "vital-signs",
                bp.date,
            )
            obs["component"] = [
                {
                    "code": {"coding": [coding(LOINC, code, name)]},
                    "valueQuantity": self._quantity(value, bp.unit, f"blood_pressure[{i}]"),
                }
                for code, name, value in (
                    ("8480-6", "Systolic blood pressure", bp.systolic),
                    ("8462-4", "Diastolic blood pressure", bp.diastolic),
                )
            ]
            yield Written(obs, bp, "blood_pressure", "blood_pressure", f"blood_pressure[{i}]")
        rep = p.reproductive
        if rep is not None and rep.pregnant is not None:
            sys_code = tables().reverse("pregnancy_values", rep.pregnant)
            assert sys_code is not None
            obs = self._obs(
                "pregnancy",
                {"coding": [coding(LOINC, "82810-3", "Pregnancy status")]},
                "social-history",
                None,
            )
            obs["valueCodeableConcept"] = {"coding": [coding(*sys_code)]}
            yield Written(obs, None, "pregnant")

    def _condition(self, rid: str, role: str, code: dict[str, Any]) -> dict[str, Any]:
        cond: dict[str, Any] = {
            "resourceType": "Condition",
            "id": rid,
            "category": [{"coding": [eim("condition-role", role)]}],
            "subject": self._subject(),
        }
        if role in ("index-diagnosis", "other-malignancy"):
            cond["meta"] = {"profile": [MCODE + "mcode-primary-cancer-condition"]}
        elif role == "metastasis":
            cond["meta"] = {"profile": [MCODE + "mcode-secondary-cancer-condition"]}
        if code:
            cond["code"] = code
        return cond

    def _oncotree(self, histology: str | None, text: str | None) -> dict[str, Any]:
        from ..ontology import oncotree

        code: dict[str, Any] = {}
        if histology:
            tree = oncotree()
            display = tree.name(histology) if histology in tree else None
            code["coding"] = [coding(tables().uri("oncotree"), histology, display)]
        if text:
            code["text"] = text
        return code

    def _conditions(self) -> Iterator[Written]:
        p = self.p
        d = p.diagnosis
        if d is not None:
            cond = self._condition(
                "diagnosis", "index-diagnosis", self._oncotree(d.histology, d.histology_text)
            )
            site: dict[str, Any] = {}
            if d.primary_site:
                site["text"] = d.primary_site
            if d.site_group:
                site["coding"] = [eim("site-group", d.site_group)]
            if site:
                cond["bodySite"] = [site]
            if d.date:
                cond["onsetDateTime"] = d.date.isoformat()
            yield Written(cond, d, "diagnosis", where="diagnosis")
        for i, met in enumerate(p.metastases or []):
            ref = tables().reverse("metastasis_codes", met.site, "snomed")
            code: dict[str, Any] = {"coding": [coding(*ref)]} if ref else {}
            where_text = met.site.replace("_", " ") if met.site else "site not classified"
            code["text"] = f"Secondary malignant neoplasm ({where_text})"
            cond = self._condition(f"metastasis-{i + 1}", "metastasis", code)
            if met.site is not None:
                cond["bodySite"] = [{"coding": [eim("metastasis-site", met.site)]}]
            if met.status in ("active", "resolved"):
                cond["clinicalStatus"] = {"coding": [coding(CLINICAL, met.status)]}
            if met.date:
                cond["onsetDateTime"] = met.date.isoformat()
            yield Written(cond, met, "metastases", "metastases", f"metastases[{i}]")
        for i, om in enumerate(p.other_malignancies or []):
            cond = self._condition(
                f"other-malignancy-{i + 1}", "other-malignancy", self._oncotree(om.histology, om.description)
            )
            if om.site:
                cond["bodySite"] = [{"text": om.site}]
            status = {"active": "active", "remission": "remission", "cured": "resolved"}.get(om.status or "")
            if status:
                cond["clinicalStatus"] = {"coding": [coding(CLINICAL, status)]}
            if om.date:
                cond["onsetDateTime"] = om.date.isoformat()
            if om.resolved:
                cond["abatementDateTime"] = om.resolved.isoformat()
            yield Written(cond, om, "other_malignancies", "other_malignancies", f"other_malignancies[{i}]")
        for i, c in enumerate(p.conditions or []):
            codings = []
            if c.code is not None:
                codings.append(coding(c.code.system, c.code.code, c.code.display))
            if c.type is not None:  # an unclassified condition keeps only its own code
                codings.append(eim("condition-type", c.type))
            ccode: dict[str, Any] = {"coding": codings} if codings else {}
            if c.name:
                ccode["text"] = c.name
            cond = self._condition(f"condition-{i + 1}", "comorbidity", ccode)
            if c.category is not None:
                cond["category"][0]["coding"].append(eim("condition-category", c.category))
            if c.status in ("active", "resolved"):
                cond["clinicalStatus"] = {"coding": [coding(CLINICAL, c.status)]}
            if c.onset:
                cond["onsetDateTime"] = c.onset.isoformat()
            if c.resolved:
                cond["abatementDateTime"] = c.resolved.isoformat()
            sev = tables().reverse("severities", c.severity) if c.severity else None
            if sev:
                cond["severity"] = {"coding": [coding(*sev)]}
            yield Written(cond, c, "conditions", "conditions", f"conditions[{i}]")

    def _treatments(self) -> Iterator[Written]:
        t = tables()
        for i, tr in enumerate(self.p.treatments or []):
            where = f"treatments[{i}]"
            if tr.type is not None and tr.type in DRUG_TREATMENTS:
                res = self._statement(f"treatment-{i + 1}", tr.type, tr.name, tr.agents or [], tr.ongoing)
                if tr.date:
                    res["effectiveDateTime"] = tr.date.isoformat()
                elif tr.start or tr.end:
                    res["effectivePeriod"] = {
                        k: v.isoformat() for k, v in (("start", tr.start), ("end", tr.end)) if v
                    }
            else:
                res = {
                    "resourceType": "Procedure",
                    "id": f"treatment-{i + 1}",
                    "status": "in-progress" if tr.ongoing else "completed",
                    "subject": self._subject(),
                }
                if tr.type is not None:  # an unclassified item is written without a type
                    cat = [eim("treatment-type", tr.type)]
                    std = t.reverse("procedures", {"type": tr.type}, "snomed")
                    if std:
                        cat.append(coding(*std))
                    res["category"] = {"coding": cat}
                if tr.name:
                    res["code"] = {"text": tr.name}
                if tr.date:
                    res["performedDateTime"] = tr.date.isoformat()
                elif tr.start or tr.end:
                    res["performedPeriod"] = {
                        k: v.isoformat() for k, v in (("start", tr.start), ("end", tr.end)) if v
                    }
                if tr.site:
                    res["bodySite"] = [{"text": tr.site}]
            intent = t.reverse("intents", tr.intent) if tr.intent else None
            if intent:
                res["extension"] = [
                    {
                        "url": MCODE + "mcode-procedure-intent",
                        "valueCodeableConcept": {"coding": [coding(*intent)]},
                    }
                ]
            yield Written(res, tr, "treatments", "treatments", where)
        for i, med in enumerate(self.p.medications or []):
            res = self._statement(f"medication-{i + 1}", "medication", med.name, [], med.ongoing)
            if med.start or med.end:
                res["effectivePeriod"] = {
                    k: v.isoformat() for k, v in (("start", med.start), ("end", med.end)) if v
                }
            route = t.reverse("routes", med.route) if med.route else None
            if route:
                res["dosage"] = [{"route": {"coding": [coding(*route)]}}]
            yield Written(res, med, "medications", "medications", f"medications[{i}]")

    def _statement(
        self, rid: str, kind: str, name: str | None, agents: list[str], ongoing: bool | None
    ) -> dict[str, Any]:
        t = tables()
        res: dict[str, Any] = {
            "resourceType": "MedicationStatement",
            "id": rid,
            "status": {True: "active", False: "completed", None: "unknown"}[ongoing],
            "category": {"coding": [eim("treatment-type", kind)]},
            "subject": self._subject(),
        }
        if agents:
            ingredients = []
            for agent in agents:
                cc: dict[str, Any] = {"text": agent}
                entry = t.agents.get(agent.lower())
                if entry is not None and entry.rxnorm:
                    cc["coding"] = [coding(t.uri("rxnorm"), entry.rxnorm[0])]
                ingredients.append({"itemCodeableConcept": cc})
            med: dict[str, Any] = {
                "resourceType": "Medication",
                "id": "medication",
                "ingredient": ingredients,
            }
            if name:
                med["code"] = {"text": name}
            res["contained"] = [med]
            res["medicationReference"] = {"reference": "#medication"}
        else:
            res["medicationCodeableConcept"] = {"text": name or "unnamed medication"}
        return res

    def _allergies(self) -> Iterator[Written]:
        kinds = {"drug": "medication", "food": "food", "environmental": "environment"}
        for i, al in enumerate(self.p.allergies or []):
            res: dict[str, Any] = {
                "resourceType": "AllergyIntolerance",
                "id": f"allergy-{i + 1}",
                "clinicalStatus": {
                    "coding": [
                        coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active")
                    ]
                },
                "code": {"text": al.substance},
                "patient": self._subject(),
            }
            if al.kind in kinds:
                res["category"] = [kinds[al.kind]]
            if al.severity:
                res["reaction"] = [
                    {"manifestation": [{"text": "reaction not recorded"}], "severity": al.severity}
                ]
            yield Written(res, al, "allergies", "allergies", f"allergies[{i}]")
