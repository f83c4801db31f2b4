"""Write a patient profile as a FHIR R4 Bundle (``eligimatch export-fhir``).

The reverse of :mod:`eligimatch.fhir.importer`, so that a profile can travel as FHIR and come back
unchanged: profile → bundle → imported profile screens identically (tests/test_fhir.py checks it
for every example patient).

The Patient (gender, birth date) and eligimatch's completeness Lists are written here; every
other item as the FHIR resource :mod:`eligimatch.fhir.writers` builds for it (Observations with
LOINC codes and UCUM units, mCODE Conditions, Procedures, MedicationStatements, ...).

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
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import PatientError, UnitError
from ..patient import Patient
from ..units import parse_unit
from . import validate
from .importer import import_bundle
from .mapping import Ctx, map_resource
from .tables import EXT_FIELDS
from .writers import Writer, coding, eim

__all__ = ["export_bundle"]

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_NS = uuid.UUID("3b0c1f8e-5a4e-4f7e-9a39-6f1c2a7d0e11")  # eligimatch export namespace


def _norm(value: Any) -> Any:
    """Compare profiles by meaning: units by what they are, class lists as sets."""
    if isinstance(value, dict):
        # a lab's LOINC code is filled from the Observation code on import: not compared
        out = {k: _norm(v) for k, v in value.items() if not (k == "loinc" and "test" in value)}
        if (
            isinstance(out.get("reference_range"), dict)
            and out["reference_range"].get("unit") is None
            and "unit" in value
        ):
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
        pid = (
            patient.id
            if FHIR_ID.match(patient.id)
            else (re.sub(r"[^A-Za-z0-9\-.]", "-", patient.id)[:64] or "patient")
        )
        self.pid = pid
        self.patient_url = self._url("Patient", pid)
        self.ctx = Ctx(resolve=lambda ref: None)

    def _url(self, kind: str, rid: str) -> str:
        return f"urn:uuid:{uuid.uuid5(_NS, f'{self.pid}/{kind}/{rid}')}"

    def _subject(self) -> dict[str, str]:
        return {"reference": self.patient_url}

    # -- the generic step: write natively, read back, carry the difference

    def add(
        self,
        resource: dict[str, Any],
        item: BaseModel | None,
        target: str,
        collection: str | None = None,
        where: str = "",
    ) -> None:
        kind = resource["resourceType"]
        url = self._url(kind, resource["id"])
        if item is not None:
            extra = self._residual(resource, item, target, where)
            if extra:
                resource.setdefault("extension", []).insert(
                    0,
                    {"url": EXT_FIELDS, "valueString": json.dumps(extra, sort_keys=True, ensure_ascii=False)},
                )
        self.entries.append({"fullUrl": url, "resource": resource})
        if collection is not None:
            self.members.setdefault(collection, []).append(url)

    def _residual(self, resource: dict[str, Any], item: BaseModel, target: str, where: str) -> dict[str, Any]:
        r4b = validate.fhir_models()
        model = r4b.get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        result = map_resource(model, self.ctx)
        mapped = [m for m in result.mapped if m.target == target]
        value: dict[str, Any] = dict(mapped[0].value) if mapped else {}
        forced = {mapped[0].fatal[0]} if mapped and mapped[0].fatal else set()
        if "" in forced:
            raise PatientError(
                self.source,
                [(where, f"internal: the exported resource cannot be read back ({mapped[0].fatal})")],
            )
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

    # -- the bundle

    def run(self) -> dict[str, Any]:
        p = self.p
        patient: dict[str, Any] = {"resourceType": "Patient", "id": self.pid}
        if p.sex:
            patient["gender"] = p.sex
        if p.birth_date:
            patient["birthDate"] = p.birth_date.isoformat()
        self.entries.append({"fullUrl": self.patient_url, "resource": patient})
        for w in Writer(p, self.patient_url, self.source).resources():
            self.add(w.resource, w.item, w.target, w.collection, w.where)
        self._lists()
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection", "entry": self.entries}
        if p.as_of:
            bundle["timestamp"] = f"{p.as_of.isoformat()}T00:00:00Z"
        back = import_bundle(bundle, self.source).patient
        extra = self._patient_residual(back)
        if extra:
            patient["extension"] = [
                {"url": EXT_FIELDS, "valueString": json.dumps(extra, sort_keys=True, ensure_ascii=False)}
            ]
        final = import_bundle(bundle, self.source).patient
        diff = _differs(_norm(p.model_dump()), _norm(final.model_dump()))
        if diff:
            raise PatientError(
                self.source,
                [("", "internal: fields do not survive the trip through FHIR: " + ", ".join(diff))],
            )
        return bundle

    def _patient_residual(self, back: Patient) -> dict[str, Any]:
        want, got = _norm(self.p.model_dump()), _norm(back.model_dump())
        original = self.p.model_dump(mode="json")
        extra: dict[str, Any] = {}
        for k in _differs(want, got):
            if isinstance(want[k], dict) and isinstance(got.get(k), dict):
                extra[k] = {sub: original[k][sub] for sub in want[k] if got[k].get(sub) != want[k][sub]}
            else:
                extra[k] = original[k]
        return extra

    def _lists(self) -> None:
        for name in (
            "labs",
            "blood_pressure",
            "conditions",
            "medications",
            "treatments",
            "metastases",
            "other_malignancies",
            "allergies",
        ):
            if getattr(self.p, name) is None:
                continue
            lst: dict[str, Any] = {
                "resourceType": "List",
                "id": f"list-{name.replace('_', '-')}",
                "status": "current",
                "mode": "snapshot",
                "code": {"coding": [eim("collection", name)]},
                "subject": self._subject(),
            }
            members = self.members.get(name, [])
            if members:
                lst["entry"] = [{"item": {"reference": url}} for url in members]
            else:
                lst["emptyReason"] = {
                    "coding": [coding("http://terminology.hl7.org/CodeSystem/list-empty-reason", "nilknown")]
                }
            self.entries.append({"fullUrl": self._url("List", lst["id"]), "resource": lst})


def export_bundle(patient: Patient, source: str = "<patient>") -> dict[str, Any]:
    """The profile as an R4 Bundle (JSON-ready dict); raise PatientError if it cannot be."""
    if validate.fhir_models() is None:
        raise PatientError(source, [("", validate.INSTALL_HINT.replace("reading", "writing"))])
    return _Exporter(patient, source).run()
