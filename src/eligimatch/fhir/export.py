"""Write a patient profile as a FHIR R4 Bundle (``eligimatch export-fhir``).

The reverse of :mod:`eligimatch.fhir.importer`, so that a profile can travel as FHIR and come back
unchanged: profile → bundle → imported profile screens identically (tests/test_fhir.py checks it
for every example patient).

Everything FHIR expresses is written as FHIR: Patient gender and birth date; Observations with
LOINC codes and UCUM units for labs, ECOG, weight, height, blood pressure and pregnancy status;
Conditions (mCODE primary and secondary cancer profiles, comorbidities); Procedures and
MedicationStatements for treatments and medications; AllergyIntolerances.  The profile's closed
vocabularies (condition type, treatment type, site group, ...) are written as codings in
eligimatch's own code systems next to any standard code, so they read back exactly.

Facts FHIR cannot carry cleanly (consent and the other administrative facts, clinician
attestations, FNCLCC grade, resectability, RECIST lesions, toxicities, life expectancy, whether a
radiotherapy involved the target site, ...) are carried **unchanged** in the eligimatch
profile-fields extension (valueString holding a JSON object), on the Patient for patient-level
facts and on the item's own resource for item fields.  A made-up FHIR rendering of an attestation
or a consent flag would look standard without being understood by anyone else; an explicit
eligimatch extension says plainly that only eligimatch reads it, and other FHIR tools ignore it
safely.  Which fields go there is not a hand-kept list: the exporter reads each resource back
with the importer and puts into the extension exactly the fields that did not come back equal, so
a field added to the profile later travels without a code change.  Finally the whole bundle is
read back and compared with the profile; a difference is an error, never a silent loss.

Collections that the profile records (including empty ones) get an eligimatch completeness
``List`` (mode snapshot; ``emptyReason`` nilknown when empty), so "none" survives the trip.
"""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import PatientError, UnitError
from ..patient import Patient
from ..units import analytes, parse_unit
from .importer import INSTALL_HINT, _fhir_models, import_bundle
from .mapping import LOINC, Ctx, map_resource
from .tables import EXT_FIELDS, MCODE, UCUM, eim_system, tables

__all__ = ["export_bundle"]

DRUG_TREATMENTS = frozenset({"chemotherapy", "targeted_therapy", "immunotherapy",
                             "hormonal_therapy", "investigational", "other_anticancer"})
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_NS = uuid.UUID("3b0c1f8e-5a4e-4f7e-9a39-6f1c2a7d0e11")   # eligimatch export namespace


def _num(v: Decimal | int | float) -> int | float:
    d = Decimal(v)
    return int(d) if d == d.to_integral_value() else float(d)


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _eim(name: str, code: str) -> dict[str, Any]:
    return _coding(eim_system(name), code)


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
    except ArithmeticError as exc:      # a "unit" such as 1e999999999
        raise PatientError(source, [(where, f"unit {unit!r} is not a unit")]) from exc
    for code, text in t.ucum.items():
        if parse_unit(text).key == key:
            return code
    raise PatientError(source, [(where, f"unit {unit!r} has no UCUM code in eligimatch's table "
                                 "(data/ucum_units.toml)")])


def _norm(value: Any) -> Any:
    """Compare profiles by meaning: units by what they are, class lists as sets."""
    if isinstance(value, dict):
        # a lab's LOINC code is filled from the Observation code on import: not compared
        out = {k: _norm(v) for k, v in value.items() if not (k == "loinc" and "test" in value)}
        if isinstance(out.get("reference_range"), dict) and out["reference_range"].get(
                "unit") is None and "unit" in value:
            out["reference_range"] = {**out["reference_range"], "unit": _norm_unit(value["unit"])}
        if isinstance(value.get("unit"), str):
            out["unit"] = _norm_unit(value["unit"])
        if isinstance(out.get("classes"), list):
            out["classes"] = sorted(out["classes"])
        return out
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def _norm_unit(unit: Any) -> Any:
    if not isinstance(unit, str):
        return unit
    try:
        return parse_unit(unit).key
    except (UnitError, ArithmeticError):
        return unit


def _differs(want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    return [k for k, v in want.items() if got.get(k) != v]


class _Exporter:
    def __init__(self, patient: Patient, source: str) -> None:
        self.p = patient
        self.source = source
        self.entries: list[dict[str, Any]] = []
        self.members: dict[str, list[str]] = {}
        pid = patient.id if FHIR_ID.match(patient.id) else (
            re.sub(r"[^A-Za-z0-9\-.]", "-", patient.id)[:64] or "patient")
        self.pid = pid
        self.patient_url = self._url("Patient", pid)
        self.ctx = Ctx(resolve=lambda ref: None)

    def _url(self, kind: str, rid: str) -> str:
        return f"urn:uuid:{uuid.uuid5(_NS, f'{self.pid}/{kind}/{rid}')}"

    def _subject(self) -> dict[str, str]:
        return {"reference": self.patient_url}

    # -- the generic step: write natively, read back, carry the difference

    def add(self, resource: dict[str, Any], item: BaseModel | None, target: str,
            collection: str | None = None, where: str = "") -> None:
        kind = resource["resourceType"]
        url = self._url(kind, resource["id"])
        if item is not None:
            extra = self._residual(resource, item, target, where)
            if extra:
                resource.setdefault("extension", []).insert(0, {
                    "url": EXT_FIELDS,
                    "valueString": json.dumps(extra, sort_keys=True, ensure_ascii=False)})
        self.entries.append({"fullUrl": url, "resource": resource})
        if collection is not None:
            self.members.setdefault(collection, []).append(url)

    def _residual(self, resource: dict[str, Any], item: BaseModel, target: str,
                  where: str) -> dict[str, Any]:
        r4b = _fhir_models()
        model = r4b.get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        result = map_resource(model, self.ctx)
        mapped = [m for m in result.mapped if m.target == target]
        value: dict[str, Any] = dict(mapped[0].value) if mapped else {}
        forced = {mapped[0].fatal[0]} if mapped and mapped[0].fatal else set()
        if "" in forced:
            raise PatientError(self.source, [(where, "internal: the exported resource cannot "
                                              f"be read back ({mapped[0].fatal})")])
        cls = type(item)
        original = item.model_dump(mode="json")
        want = _norm(item.model_dump())
        extra: dict[str, Any] = {k: original[k] for k in forced if k in original}
        for _ in range(4):
            merged = {**value, **extra}
            try:
                got = _norm(cls.model_validate(merged).model_dump())
            except ValidationError as exc:
                names = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
                if not names - set(extra):
                    break
                extra.update({n: original.get(n) for n in names})
                continue
            diff = [k for k in _differs(want, got) if k not in extra]
            if not diff:
                return extra
            extra.update({k: original[k] for k in diff})
        raise PatientError(self.source, [(where, "internal: cannot express the item in FHIR")])

    # -- sections

    def run(self) -> dict[str, Any]:
        p = self.p
        patient: dict[str, Any] = {"resourceType": "Patient", "id": self.pid}
        if p.sex:
            patient["gender"] = p.sex
        if p.birth_date:
            patient["birthDate"] = p.birth_date.isoformat()
        self.entries.append({"fullUrl": self.patient_url, "resource": patient})
        self._observations()
        self._conditions()
        self._treatments()
        self._allergies()
        self._lists()
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection",
                                  "entry": self.entries}
        if p.as_of:
            bundle["timestamp"] = f"{p.as_of.isoformat()}T00:00:00Z"
        back = import_bundle(bundle, self.source).patient
        extra = self._patient_residual(back)
        if extra:
            patient["extension"] = [{"url": EXT_FIELDS, "valueString": json.dumps(
                extra, sort_keys=True, ensure_ascii=False)}]
        final = import_bundle(bundle, self.source).patient
        diff = _differs(_norm(p.model_dump()), _norm(final.model_dump()))
        if diff:
            raise PatientError(self.source, [("", "internal: fields do not survive the trip "
                                              "through FHIR: " + ", ".join(diff))])
        return bundle

    def _patient_residual(self, back: Patient) -> dict[str, Any]:
        want, got = _norm(self.p.model_dump()), _norm(back.model_dump())
        original = self.p.model_dump(mode="json")
        extra: dict[str, Any] = {}
        for k in _differs(want, got):
            if isinstance(want[k], dict) and isinstance(got.get(k), dict):
                extra[k] = {sub: original[k][sub] for sub in want[k]
                            if got[k].get(sub) != want[k][sub]}
            else:
                extra[k] = original[k]
        return extra

    def _obs(self, rid: str, code: dict[str, Any], category: str, when: Any) -> dict[str, Any]:
        obs: dict[str, Any] = {
            "resourceType": "Observation", "id": rid, "status": "final",
            "category": [{"coding": [_coding(OBS_CATEGORY, category)]}],
            "code": code, "subject": self._subject()}
        if when is not None:
            obs["effectiveDateTime"] = when.isoformat()
        return obs

    def _quantity(self, value: Decimal, unit: str, where: str,
                  comparator: str | None = None) -> dict[str, Any]:
        q: dict[str, Any] = {"value": _num(value)}
        if comparator:
            q["comparator"] = comparator
        q.update({"unit": unit, "system": UCUM, "code": _ucum_code(unit, where, self.source)})
        return q

    def _loinc(self, key: str, preferred: str | None = None) -> dict[str, Any]:
        a = analytes()[key]
        if a.loinc:
            code = preferred if preferred in a.loinc else a.loinc[0]
            return {"coding": [_coding(LOINC, str(code), a.name)], "text": a.name}
        return {"coding": [_eim("analyte", key)], "text": a.name}

    def _observations(self) -> None:
        p = self.p
        for i, lab in enumerate(p.labs or []):
            where = f"labs[{i}]"
            obs = self._obs(f"lab-{i + 1}", self._loinc(lab.test, lab.loinc), "laboratory",
                            lab.date)
            if lab.value is not None and lab.unit is not None:
                obs["valueQuantity"] = self._quantity(lab.value, lab.unit, where, lab.comparator)
            elif lab.result is not None:
                obs["valueString"] = lab.result
            rr = lab.reference_range
            if rr is not None and (rr.low is not None or rr.high is not None):
                unit = rr.unit or lab.unit or ""
                obs["referenceRange"] = [{
                    end: self._quantity(v, unit, f"{where}.reference_range")
                    for end, v in (("low", rr.low), ("high", rr.high)) if v is not None}]
            self.add(obs, lab, "labs", "labs", where)
        for key in ("weight", "height"):
            q = getattr(p, key)
            if q is not None:
                obs = self._obs(key, self._loinc(key), "vital-signs", q.date)
                obs["valueQuantity"] = self._quantity(q.value, q.unit, key, q.comparator)
                self.add(obs, q, key, where=key)
        if p.ecog is not None:
            obs = self._obs("ecog", self._loinc("ecog"), "survey", p.ecog.date)
            obs["valueInteger"] = p.ecog.value
            self.add(obs, p.ecog, "ecog", where="ecog")
        for i, bp in enumerate(p.blood_pressure or []):
            obs = self._obs(f"bp-{i + 1}", {"coding": [_coding(LOINC, "85354-9",
                                                               "Blood pressure panel")]},
                            "vital-signs", bp.date)
            obs["component"] = [
                {"code": {"coding": [_coding(LOINC, code, name)]},
                 "valueQuantity": self._quantity(value, bp.unit, f"blood_pressure[{i}]")}
                for code, name, value in (("8480-6", "Systolic blood pressure", bp.systolic),
                                          ("8462-4", "Diastolic blood pressure", bp.diastolic))]
            self.add(obs, bp, "blood_pressure", "blood_pressure", f"blood_pressure[{i}]")
        rep = p.reproductive
        if rep is not None and rep.pregnant is not None:
            sys_code = tables().reverse("pregnancy_values", rep.pregnant)
            assert sys_code is not None
            obs = self._obs("pregnancy", {"coding": [_coding(LOINC, "82810-3",
                                                             "Pregnancy status")]},
                            "social-history", None)
            obs["valueCodeableConcept"] = {"coding": [_coding(*sys_code)]}
            self.add(obs, None, "pregnant")

    def _condition(self, rid: str, role: str, code: dict[str, Any]) -> dict[str, Any]:
        cond: dict[str, Any] = {"resourceType": "Condition", "id": rid,
                                "category": [{"coding": [_eim("condition-role", role)]}],
                                "subject": self._subject()}
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
            code["coding"] = [_coding(tables().uri("oncotree"), histology, display)]
        if text:
            code["text"] = text
        return code

    def _conditions(self) -> None:
        p = self.p
        d = p.diagnosis
        if d is not None:
            cond = self._condition("diagnosis", "index-diagnosis",
                                   self._oncotree(d.histology, d.histology_text))
            site: dict[str, Any] = {}
            if d.primary_site:
                site["text"] = d.primary_site
            if d.site_group:
                site["coding"] = [_eim("site-group", d.site_group)]
            if site:
                cond["bodySite"] = [site]
            if d.date:
                cond["onsetDateTime"] = d.date.isoformat()
            self.add(cond, d, "diagnosis", where="diagnosis")
        for i, met in enumerate(p.metastases or []):
            ref = tables().reverse("metastasis_codes", met.site, "snomed")
            code: dict[str, Any] = {"coding": [_coding(*ref)]} if ref else {}
            where_text = met.site.replace('_', ' ') if met.site else "site not classified"
            code["text"] = f"Secondary malignant neoplasm ({where_text})"
            cond = self._condition(f"metastasis-{i + 1}", "metastasis", code)
            if met.site is not None:
                cond["bodySite"] = [{"coding": [_eim("metastasis-site", met.site)]}]
            if met.status in ("active", "resolved"):
                cond["clinicalStatus"] = {"coding": [_coding(CLINICAL, met.status)]}
            if met.date:
                cond["onsetDateTime"] = met.date.isoformat()
            self.add(cond, met, "metastases", "metastases", f"metastases[{i}]")
        for i, om in enumerate(p.other_malignancies or []):
            cond = self._condition(f"other-malignancy-{i + 1}", "other-malignancy",
                                   self._oncotree(om.histology, om.description))
            if om.site:
                cond["bodySite"] = [{"text": om.site}]
            status = {"active": "active", "remission": "remission", "cured": "resolved"}.get(
                om.status or "")
            if status:
                cond["clinicalStatus"] = {"coding": [_coding(CLINICAL, status)]}
            if om.date:
                cond["onsetDateTime"] = om.date.isoformat()
            if om.resolved:
                cond["abatementDateTime"] = om.resolved.isoformat()
            self.add(cond, om, "other_malignancies", "other_malignancies",
                     f"other_malignancies[{i}]")
        for i, c in enumerate(p.conditions or []):
            codings = []
            if c.code is not None:
                codings.append(_coding(c.code.system, c.code.code, c.code.display))
            if c.type is not None:      # an unclassified condition keeps only its own code
                codings.append(_eim("condition-type", c.type))
            ccode: dict[str, Any] = {"coding": codings} if codings else {}
            if c.name:
                ccode["text"] = c.name
            cond = self._condition(f"condition-{i + 1}", "comorbidity", ccode)
            if c.category is not None:
                cond["category"][0]["coding"].append(_eim("condition-category", c.category))
            if c.status in ("active", "resolved"):
                cond["clinicalStatus"] = {"coding": [_coding(CLINICAL, c.status)]}
            if c.onset:
                cond["onsetDateTime"] = c.onset.isoformat()
            if c.resolved:
                cond["abatementDateTime"] = c.resolved.isoformat()
            sev = tables().reverse("severities", c.severity) if c.severity else None
            if sev:
                cond["severity"] = {"coding": [_coding(*sev)]}
            self.add(cond, c, "conditions", "conditions", f"conditions[{i}]")

    def _treatments(self) -> None:
        t = tables()
        for i, tr in enumerate(self.p.treatments or []):
            where = f"treatments[{i}]"
            if tr.type is not None and tr.type in DRUG_TREATMENTS:
                res = self._statement(f"treatment-{i + 1}", tr.type, tr.name, tr.agents or [],
                                      tr.ongoing)
                if tr.date:
                    res["effectiveDateTime"] = tr.date.isoformat()
                elif tr.start or tr.end:
                    res["effectivePeriod"] = {k: v.isoformat() for k, v in
                                              (("start", tr.start), ("end", tr.end)) if v}
            else:
                res = {"resourceType": "Procedure", "id": f"treatment-{i + 1}",
                       "status": "in-progress" if tr.ongoing else "completed",
                       "subject": self._subject()}
                if tr.type is not None:  # an unclassified item is written without a type
                    cat = [_eim("treatment-type", tr.type)]
                    std = t.reverse("procedures", {"type": tr.type}, "snomed")
                    if std:
                        cat.append(_coding(*std))
                    res["category"] = {"coding": cat}
                if tr.name:
                    res["code"] = {"text": tr.name}
                if tr.date:
                    res["performedDateTime"] = tr.date.isoformat()
                elif tr.start or tr.end:
                    res["performedPeriod"] = {k: v.isoformat() for k, v in
                                              (("start", tr.start), ("end", tr.end)) if v}
                if tr.site:
                    res["bodySite"] = [{"text": tr.site}]
            intent = t.reverse("intents", tr.intent) if tr.intent else None
            if intent:
                res["extension"] = [{"url": MCODE + "mcode-procedure-intent",
                                     "valueCodeableConcept": {"coding": [_coding(*intent)]}}]
            self.add(res, tr, "treatments", "treatments", where)
        for i, med in enumerate(self.p.medications or []):
            res = self._statement(f"medication-{i + 1}", "medication", med.name, [], med.ongoing)
            if med.start or med.end:
                res["effectivePeriod"] = {k: v.isoformat() for k, v in
                                          (("start", med.start), ("end", med.end)) if v}
            route = t.reverse("routes", med.route) if med.route else None
            if route:
                res["dosage"] = [{"route": {"coding": [_coding(*route)]}}]
            self.add(res, med, "medications", "medications", f"medications[{i}]")

    def _statement(self, rid: str, kind: str, name: str | None, agents: list[str],
                   ongoing: bool | None) -> dict[str, Any]:
        t = tables()
        res: dict[str, Any] = {
            "resourceType": "MedicationStatement", "id": rid,
            "status": {True: "active", False: "completed", None: "unknown"}[ongoing],
            "category": {"coding": [_eim("treatment-type", kind)]},
            "subject": self._subject()}
        if agents:
            ingredients = []
            for agent in agents:
                cc: dict[str, Any] = {"text": agent}
                entry = t.agents.get(agent.lower())
                if entry is not None and entry.rxnorm:
                    cc["coding"] = [_coding(t.uri("rxnorm"), entry.rxnorm[0])]
                ingredients.append({"itemCodeableConcept": cc})
            med: dict[str, Any] = {"resourceType": "Medication", "id": "medication",
                                   "ingredient": ingredients}
            if name:
                med["code"] = {"text": name}
            res["contained"] = [med]
            res["medicationReference"] = {"reference": "#medication"}
        else:
            res["medicationCodeableConcept"] = {"text": name or "unnamed medication"}
        return res

    def _allergies(self) -> None:
        kinds = {"drug": "medication", "food": "food", "environmental": "environment"}
        for i, al in enumerate(self.p.allergies or []):
            res: dict[str, Any] = {
                "resourceType": "AllergyIntolerance", "id": f"allergy-{i + 1}",
                "clinicalStatus": {"coding": [_coding(
                    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                    "active")]},
                "code": {"text": al.substance}, "patient": self._subject()}
            if al.kind in kinds:
                res["category"] = [kinds[al.kind]]
            if al.severity:
                res["reaction"] = [{"manifestation": [{"text": "reaction not recorded"}],
                                    "severity": al.severity}]
            self.add(res, al, "allergies", "allergies", f"allergies[{i}]")

    def _lists(self) -> None:
        for name in ("labs", "blood_pressure", "conditions", "medications", "treatments",
                     "metastases", "other_malignancies", "allergies"):
            if getattr(self.p, name) is None:
                continue
            lst: dict[str, Any] = {
                "resourceType": "List", "id": f"list-{name.replace('_', '-')}",
                "status": "current", "mode": "snapshot",
                "code": {"coding": [_eim("collection", name)]}, "subject": self._subject()}
            members = self.members.get(name, [])
            if members:
                lst["entry"] = [{"item": {"reference": url}} for url in members]
            else:
                lst["emptyReason"] = {"coding": [_coding(
                    "http://terminology.hl7.org/CodeSystem/list-empty-reason", "nilknown")]}
            self.entries.append({"fullUrl": self._url("List", lst["id"]), "resource": lst})


def export_bundle(patient: Patient, source: str = "<patient>") -> dict[str, Any]:
    """The profile as an R4 Bundle (JSON-ready dict); raise PatientError if it cannot be."""
    if _fhir_models() is None:
        raise PatientError(source, [("", INSTALL_HINT.replace("reading", "writing"))])
    return _Exporter(patient, source).run()
