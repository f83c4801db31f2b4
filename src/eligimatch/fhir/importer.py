"""Read FHIR R4 bundles (US Core, mCODE) into patient profiles.

``import_bundle(raw, source)`` validates a Bundle with fhir.resources (R4B models; an optional
dependency: ``pip install 'eligimatch[fhir]'``), maps every resource it can into the patient
profile, and lists everything else.  ``eligimatch import-fhir`` writes the profile; ``eligimatch
screen`` and ``explain`` accept a bundle directly (see :func:`eligimatch.api.parse_patient`).

What is read (the tables are data: ``data/fhir_codes.toml``, ``data/ucum_units.toml``,
``data/drug_classes.toml`` and the LOINC codes of ``data/analytes.toml``):

* Patient: ``gender`` (male/female) and ``birthDate``; Bundle ``timestamp`` (its date as
  written) becomes ``as_of``.
* Observation, by LOINC system AND code: the catalogue's labs (770-8, neutrophils in %, is
  refused as ANC), with the UCUM ``code`` read through the UCUM table, ``comparator`` as a
  censored value, the normal ``referenceRange`` as the lab's range (its high is the ULN) and the
  effective date; ECOG 89247-1 (integer or coded answer); body weight and height; blood pressure
  panels 85354-9 (components 8480-6 / 8462-4); LVEF; pregnancy status 82810-3; mCODE TNM
  categories, tumour size and Karnofsky (:mod:`eligimatch.fhir.mcode`; stage groups and
  cancer disease status are recognised and listed as skipped).
* Condition: primary cancers (mCODE profile or a cancer code) → ``diagnosis`` with an OncoTree
  code derived from OncoTree, NCIt, ICD-O-3 or SNOMED CT codings and the body site; secondary
  cancers → ``metastases`` by site (from the code, or from ``bodySite`` for mCODE's generic
  128462008); other conditions → ``conditions`` through the table.
* Procedure → surgery / radiotherapy / procedure treatments (an mCODE radiotherapy course over
  several volumes: one item per volume with its site and dose); MedicationStatement, -Administration
  and -Request → ``medications`` or drug ``treatments`` with agents classified by the agent
  table; AllergyIntolerance → ``allergies``; Immunization → vaccine treatments.

Never guessed:

* A resource eligimatch cannot read is listed as a :class:`Finding` (resource, code, why).
* An item that is recognised but cannot be mapped leaves what depends on it unrecorded: every
  result of that analyte (a newer unreadable ANC must not let an older one through), the whole
  collection (a medication list missing an unclassified drug would read as "no
  immunosuppressant"), or the single field (histology without an OncoTree code).
* Absence is not "none": a collection with no resources stays unrecorded.  A collection with
  resources is taken as the list the record holds (as a hand-written profile is); only an
  eligimatch completeness ``List`` (below) records an EMPTY list.

The conventions of eligimatch's own code systems, completeness Lists and profile-fields extension
are described in :mod:`eligimatch.fhir`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import PatientError
from ..patient import Patient
from ..units import analytes
from .assemble import STAGING_LABELS, Assembler
from .mapping import Ctx, Mapped, Result, code_label, map_resource, residual
from .report import FhirImport, Finding, FindingKind, Status
from .tables import eim_system
from .validate import load_entries

__all__ = ["import_bundle", "is_fhir", "profile_json", "read_fhir"]


def profile_json(patient: Patient) -> str:
    """The profile as JSON text for ``eligimatch screen``: unrecorded fields left out, numbers
    written exactly as JSON numbers (a profile is read strictly: a number in a string would be
    refused)."""
    from ..jsonin import exact_json

    return exact_json(patient.model_dump(), indent=2)


def is_fhir(raw: Any) -> bool:
    """A JSON object with ``resourceType`` is FHIR (a patient profile never has that key)."""
    return isinstance(raw, dict) and "resourceType" in raw


def read_fhir(path: Path, *, max_bytes: int | None = None) -> FhirImport:
    """Read a bundle file: bounded, strict JSON (:mod:`eligimatch.jsonin`: the input limit, no
    duplicate keys, numbers within 10⁻³⁰..10³⁰, limited nesting), then :func:`import_bundle`."""
    from .. import jsonin

    limit = jsonin.max_input_bytes() if max_bytes is None else max_bytes
    try:
        text = jsonin.read_bytes(path, limit)
    except jsonin.TooLarge as exc:
        raise PatientError(str(path), [("", str(exc))]) from None
    except OSError as exc:
        raise PatientError(str(path), [("", f"cannot read: {exc.strerror or exc}")]) from None
    raw = jsonin.load(text, str(path), PatientError, limit=limit, max_depth=jsonin.MAX_DEPTH)
    return import_bundle(raw, str(path))


class _Importer:
    """One bundle read: each resource mapped or listed, then the profile assembled."""

    def __init__(self, bundle: Any, source: str, as_of: dt.date | None = None) -> None:
        self.source = source
        self.as_of = as_of  # a retrospective evaluation date (see eligimatch.retro)
        self.later: Counter[str] = Counter()
        self.bundle = bundle
        self.findings: list[Finding] = []
        self.entries: list[tuple[str, str | None, Any]] = []  # label, fullUrl, resource
        self.index: dict[str, Any] = {}
        for i, e in enumerate(bundle.entry or []):
            res = e.resource
            if res is None:
                continue
            kind = res.get_resource_type()
            label = f"{kind}/{res.id}" if res.id else f"{kind} (entry {i})"
            self.entries.append((label, e.fullUrl, res))
            if e.fullUrl:
                self.index[str(e.fullUrl)] = res
            if res.id:
                self.index[f"{kind}/{res.id}"] = res
        self.mapped: list[Mapped] = []
        self.status: dict[str, Status] = {}
        self.failed: dict[tuple[str, str], list[str]] = {}
        # results dated only to the month or year: analyte → (label, first and last day)
        self.partial: dict[str, list[tuple[str, tuple[dt.date, dt.date]]]] = {}
        self.lists: set[str] = set()  # collections a completeness List asserts
        self.patient_refs: set[str] = set()
        self.subject: str | None = None

    def add(self, kind: FindingKind, label: str, code: str, why: str) -> None:
        self.findings.append(Finding(kind, label, code, why))

    def run(self) -> FhirImport:
        profile: dict[str, Any] = {}
        patients = [(label, url, r) for label, url, r in self.entries if r.get_resource_type() == "Patient"]
        if len(patients) > 1:
            raise PatientError(
                self.source,
                [("entry", f"{len(patients)} Patient resources: eligimatch imports one patient at a time")],
            )
        patient_fields: dict[str, Any] = {}
        if patients:
            label, url, p = patients[0]
            self.status[label] = "mapped"
            self.patient_refs = {f"Patient/{p.id}"} | ({str(url)} if url else set())
            patient_fields = self._patient(label, p, profile)
        ctx = Ctx(resolve=lambda ref: self.index.get(ref))
        for label, _, res in self.entries:
            kind = res.get_resource_type()
            if kind == "Patient":
                continue
            if kind == "List":
                self._list(label, res)
                continue
            code = _code_of(res)
            if not self._same_patient(label, code, res):
                self.status[label] = "unmapped"
                continue
            self._take(label, code, map_resource(res, ctx), res)
        Assembler(self.mapped, self.failed, self.partial, self.lists, self.index, self.add).assemble(profile)
        profile.setdefault("id", self._fallback_id())
        timestamp = self.bundle.timestamp
        if timestamp is not None and "as_of" not in patient_fields:
            profile["as_of"] = timestamp.date()
        for key, value in patient_fields.items():
            if isinstance(value, dict) and isinstance(profile.get(key), dict):
                profile[key] = {**profile[key], **value}
            else:
                profile[key] = value
        try:
            patient = Patient.model_validate(profile)
        except ValidationError as exc:
            problems = [
                (".".join(str(x) for x in err["loc"]), err["msg"]) for err in exc.errors(include_url=False)
            ]
            raise PatientError(self.source, [("", "the imported profile is not valid"), *problems]) from exc
        if self.as_of is not None:
            patient = self._earlier(patient, self.as_of)
        return FhirImport(
            patient=patient,
            findings=tuple(self.findings),
            source=self.source,
            statuses=tuple(self.status.items()),
        )

    # -- pieces

    def _patient(self, label: str, p: Any, profile: dict[str, Any]) -> dict[str, Any]:
        if p.id:
            profile["id"] = p.id
        if p.gender in ("male", "female"):
            profile["sex"] = p.gender
        elif p.gender is not None:
            self.add(
                "unmapped",
                label,
                f"gender|{p.gender}",
                f"sex left unrecorded: gender {p.gender!r} has no equivalent in the profile",
            )
        if p.birthDate is not None:
            if isinstance(p.birthDate, dt.date):
                profile["birth_date"] = p.birthDate
            else:
                self.add(
                    "unmapped",
                    label,
                    "birthDate",
                    f"birth date left unrecorded: {p.birthDate!r} is not a full date",
                )
        fields, problem = residual(p)
        if problem:
            raise PatientError(self.source, [(label, problem)])
        if fields:
            self.add(
                "note",
                label,
                "",
                "profile fields carried in the eligimatch extension: " + ", ".join(sorted(fields)),
            )
        return fields or {}

    def _fallback_id(self) -> str:
        if self.subject:
            return self.subject.rsplit("/", 1)[-1]
        return str(self.bundle.id or "unidentified")

    def _same_patient(self, label: str, code: str, res: Any) -> bool:
        ref_obj = getattr(res, "subject", None) or getattr(res, "patient", None)
        ref = getattr(ref_obj, "reference", None)
        if not ref:
            return True
        if self.patient_refs:
            ok = ref in self.patient_refs or any(
                ref.endswith("/" + r) for r in self.patient_refs if r.startswith("Patient/")
            )
        else:
            self.subject = self.subject or ref
            ok = ref == self.subject
        if not ok:
            self.add("unmapped", label, code, f"refers to another patient ({ref})")
        return ok

    def _list(self, label: str, res: Any) -> None:
        codes = [
            c.code
            for c in (res.code.coding if res.code else []) or []
            if c.system == eim_system("collection")
        ]
        if not codes or res.mode != "snapshot" or res.status != "current":
            self.add("skipped", label, code_label(res.code), "only eligimatch completeness Lists are read")
            self.status[label] = "skipped"
            return
        self.lists.add(str(codes[0]))
        self.status[label] = "mapped"

    def _take(self, label: str, code: str, result: Result, res: Any = None) -> None:
        for note in result.notes:
            self.add("note", label, code, note)
        if result.skipped:
            self.add("skipped", label, code, result.skipped)
            self.status[label] = "skipped"
            return
        if result.unmapped:
            self.add("unmapped", label, code, result.unmapped)
            self.status[label] = "unmapped"
            return
        fatal = any(m.fatal is not None for m in result.mapped)
        self.status[label] = (
            "unmapped" if fatal else "partial" if any(m.gaps for m in result.mapped) else "mapped"
        )
        for m in result.mapped:
            m.source = res
            if self._after_as_of(m):
                continue
            for note in m.notes:
                self.add("note", label, code, note)
            for name, why in sorted(m.gaps.items()):
                self.add("unmapped", label, code, f"{name} left unrecorded: {why}")
            what = _describe(m)
            if m.fatal is not None:
                if m.target == "labs" and m.span is not None:
                    self.partial.setdefault(m.key, []).append((label, m.span))
                self.failed.setdefault((m.target, m.key), []).append(label)
                self.add("unmapped", label, code, f"{m.fatal[1]} ({what} left unrecorded)")
                continue
            self.mapped.append(m)

    def _after_as_of(self, m: Mapped) -> bool:
        """Is this dated result later than a retrospective evaluation date (and not later than
        the bundle's own date, which stays an error)?  Then it is counted and left out."""
        if self.as_of is None:
            return False
        first = m.when if m.when is not None else m.span[0] if m.span is not None else None
        own = self.bundle.timestamp.date() if self.bundle.timestamp is not None else None
        if first is None or first <= self.as_of or (own is not None and first > own):
            return False
        self.later[_LATER.get(m.target, m.target.replace("_", " "))] += 1
        return True

    def _earlier(self, patient: Patient, when: dt.date) -> Patient:
        from ..retro import as_of_earlier

        if patient.as_of is not None and when >= patient.as_of:
            return patient
        lines = [
            f"{n} {label if n == 1 else _LATER_PLURAL.get(label, label + 's')} after {when} not used"
            for label, n in sorted(self.later.items())
        ]
        patient, notes = as_of_earlier(patient, when)
        for line in lines + notes:
            self.add("left_out", "Bundle", "", line)
        return patient


_LATER = {"labs": "lab result", "ecog": "ECOG score", "pregnant": "pregnancy status"}
_LATER_PLURAL = {"pregnancy status": "pregnancy statuses"}


def _describe(m: Mapped) -> str:
    if m.target == "labs":
        return f"{analytes()[m.key].short} (every result)" if m.key in analytes() else "the lab"
    if m.target in ("weight", "height", "ecog", "tumour_size"):
        return analytes()[m.target].name
    if m.target in STAGING_LABELS:
        return STAGING_LABELS[m.target]
    return {"pregnant": "pregnancy status", "blood_pressure": "blood pressure"}.get(
        m.target, m.target.replace("_", " ")
    )


def _code_of(res: Any) -> str:
    kind = res.get_resource_type()
    if kind.startswith("Medication"):
        cc = getattr(res, "medicationCodeableConcept", None)
        if cc is None and getattr(res, "medicationReference", None) is not None:
            return f"medication: {res.medicationReference.reference}"
        return code_label(cc)
    if kind == "Immunization":
        return code_label(res.vaccineCode)
    return code_label(getattr(res, "code", None))


def import_bundle(raw: Any, source: str, *, as_of: dt.date | None = None) -> FhirImport:
    """Validate a FHIR R4 Bundle and map it to a patient profile (see the module docstring).

    ``as_of``, earlier than the bundle's date, screens retrospectively: results dated after it
    are left out before the newest of each is chosen, then :func:`eligimatch.retro.as_of_earlier`
    trims the profile; what was left out is listed (``left_out`` findings).  Data after the
    bundle's own date is left in, so that it is reported as an error."""
    bundle, invalid = load_entries(raw, source)
    patients = [(where, why) for where, _, why in invalid if where.endswith("(Patient)")]
    if patients:  # whose data this is cannot be skipped
        raise PatientError(source, [("", "the Patient resource is not valid FHIR R4"), *patients])
    importer = _Importer(bundle, source, as_of)
    for where, label, why in invalid:
        importer.add("unmapped", label, "", f"not valid FHIR R4, skipped ({where}: {why})")
        importer.status[label] = "unmapped"
    return importer.run()
