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

eligimatch's own FHIR conventions (used by :mod:`eligimatch.fhir.export`, read here):

* Code systems ``http://eligimatch.invalid/fhir/CodeSystem/<name>`` for the profile's closed
  vocabularies: ``analyte``, ``condition-category``, ``condition-type``, ``condition-role``
  (index-diagnosis, other-malignancy), ``site-group``, ``metastasis-site``, ``treatment-type``
  (the treatment types and ``medication``), ``collection``.  The ``.invalid`` domain is
  reserved, so these can never clash with a real system.
* A ``List`` with mode ``snapshot`` and a ``collection`` code asserts that the collection is
  complete; with ``emptyReason`` it records an empty list ("none").
* The extension ``http://eligimatch.invalid/fhir/StructureDefinition/profile-fields``
  (valueString, a JSON object) carries, unchanged, the profile fields FHIR cannot express (or
  not exactly): attestations, administrative facts, FNCLCC grade, ... on the Patient resource,
  and per item on the resource that carries the item.  Its fields override what was read from
  the resource itself, and the import lists which fields came from it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ..errors import PatientError
from ..patient import Patient
from ..units import analytes
from .mapping import Ctx, Mapped, Result, code_label, map_resource, residual
from .tables import eim_system

__all__ = ["FhirImport", "Finding", "import_bundle", "is_fhir", "load_bundle", "load_entries",
           "profile_json", "read_fhir"]

INSTALL_HINT = ("this is a FHIR resource; reading FHIR needs the optional dependency "
                "fhir.resources: pip install 'eligimatch[fhir]'")
COLLECTIONS = ("conditions", "medications", "treatments", "metastases", "other_malignancies",
               "allergies")
SINGLES = ("weight", "height", "ecog", "pregnant", "diagnosis")
STAGING = ("stage_t", "stage_n", "stage_m", "tumour_size")   # parts of the index diagnosis
SOURCES = {"conditions": "Condition", "medications": "Medication*", "treatments":
           "Procedure/Medication*/Immunization", "metastases": "secondary cancer Condition",
           "other_malignancies": "primary cancer Condition", "allergies": "AllergyIntolerance",
           "labs": "laboratory Observation", "blood_pressure": "blood pressure Observation"}


@dataclass(frozen=True)
class Finding:
    """Something the import reports: an unmapped resource or field, a skipped one, or a note."""

    kind: Literal["unmapped", "skipped", "note", "left_out"]
    resource: str
    code: str
    why: str

    def line(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        return f"{self.resource}{code}: {self.why}"


Status = Literal["mapped", "partial", "skipped", "unmapped"]


@dataclass(frozen=True)
class FhirImport:
    patient: Patient
    findings: tuple[Finding, ...]
    source: str
    # per resource (label): mapped (read whole), partial (kept with fields or a classification
    # left unrecorded), skipped (nothing eligimatch uses), unmapped (not read, or not usable)
    statuses: tuple[tuple[str, Status], ...] = ()

    def coverage(self) -> dict[str, int]:
        """How many resources were mapped, partly mapped, skipped and not mapped."""
        counts = {"resources": len(self.statuses), "mapped": 0, "partial": 0, "skipped": 0,
                  "unmapped": 0}
        for _, status in self.statuses:
            counts[status] += 1
        return counts

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def report(self) -> dict[str, Any]:
        """The import report as JSON-ready data (deterministic)."""
        return {
            "source": self.source,
            "patient_id": self.patient.id,
            "unmapped": [f.__dict__ for f in self.of_kind("unmapped")],
            "notes": [f.__dict__ for f in self.of_kind("note")],
            "skipped": [f.__dict__ for f in self.of_kind("skipped")],
            "left_out": [f.__dict__ for f in self.of_kind("left_out")],
        }

    def warning_lines(self, notes: bool = True) -> list[str]:
        """One line per unmapped item (and note); skipped resources summarised on one line.
        What a retrospective ``as_of`` left out is always listed."""
        lines = [f"unmapped: {f.line()}" for f in self.of_kind("unmapped")]
        lines += [f"note: {f.why}" for f in self.of_kind("left_out")]
        if notes:
            lines += [f"note: {f.line()}" for f in self.of_kind("note")]
        elif self.of_kind("note"):
            lines.append(f"{len(self.of_kind('note'))} import notes (eligimatch import-fhir "
                         "lists them)")
        skipped = Counter(f.resource.split("/")[0].split(" ")[0] for f in self.of_kind("skipped"))
        if skipped:
            lines.append("skipped (no patient facts eligimatch uses): " + ", ".join(
                f"{n} {kind}" for kind, n in sorted(skipped.items())))
        return lines


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


# ------------------------------------------------------------------------------- validation

def _fhir_models() -> Any:
    try:
        from fhir.resources import R4B
    except ImportError:
        return None
    return R4B


def load_bundle(raw: Any, source: str) -> Any:
    """Validate ``raw`` as an R4 Bundle; raise :class:`PatientError` with every problem found.

    Strict: every resource must be valid (see :func:`load_entries` for the import's lenient
    reading, which skips an invalid resource and reads the rest)."""
    bundle, invalid = load_entries(raw, source)
    if invalid:
        raise PatientError(source, [("", "not a valid FHIR R4 Bundle"),
                                    *((where, why) for where, _, why in invalid)])
    return bundle


def load_entries(raw: Any, source: str) -> tuple[Any, list[tuple[str, str, str]]]:
    """Validate the Bundle and each of its resources on its own.

    Returns the Bundle holding the valid resources and, for each resource that fails validation,
    (where, label, why): the import reports it and reads the rest.  The narrative (``text``) of a
    resource is dropped before validation: it is for people, eligimatch never reads it, and the
    official US Core diagnosticreport-cbc.json has one without its required ``div``.  Raises
    :class:`PatientError` for what is not a Bundle at all (not a JSON object, another resource
    type, an unknown resource type, an invalid envelope)."""
    r4b = _fhir_models()
    if r4b is None:
        raise PatientError(source, [("", INSTALL_HINT)])
    kind = raw.get("resourceType") if isinstance(raw, dict) else None
    if not isinstance(kind, str):
        raise PatientError(source, [("", "not a FHIR resource (a JSON object with a "
                                         "'resourceType' is expected)")])
    if kind != "Bundle":
        raise PatientError(source, [("resourceType", f"a FHIR {kind!r} resource, not a Bundle: "
                                     "eligimatch reads FHIR Bundles (wrap the resources in a "
                                     "Bundle of type 'collection')")])
    problems = []
    entries = raw.get("entry")
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        res = entry.get("resource") if isinstance(entry, dict) else None
        kind = res.get("resourceType") if isinstance(res, dict) else None
        if isinstance(res, dict) and not _known_type(r4b, kind):
            problems.append((f"entry[{i}].resource.resourceType",
                             f"{kind!r} is not a FHIR R4 resource type"))
    if problems:
        raise PatientError(source, problems)
    from fhir.resources.R4B.bundle import Bundle

    invalid: list[tuple[str, str, str]] = []
    kept = dict(raw)
    if isinstance(entries, list):
        kept["entry"] = []
        for i, entry in enumerate(entries):
            res = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(res, dict):
                kept["entry"].append(entry)
                continue
            res = {k: v for k, v in res.items() if k != "text"}
            try:
                r4b.get_fhir_model_class(res["resourceType"]).model_validate(res)
            except ValidationError as exc:
                label = f"{res['resourceType']}/{res['id']}" if isinstance(
                    res.get("id"), str) else f"{res['resourceType']} (entry {i})"
                errors = exc.errors(include_url=False)
                why = "; ".join(f"{_where(err['loc'], res) or '(resource)'}: {_short(err['msg'])}"
                                for err in errors[:3])
                if len(errors) > 3:
                    why += f"; and {len(errors) - 3} more problems"
                invalid.append((f"entry[{i}].resource({res['resourceType']})", label, why))
                continue
            except (KeyError, TypeError, ValueError) as exc:
                invalid.append((f"entry[{i}].resource", f"entry {i}", str(exc)))
                continue
            kept["entry"].append({**entry, "resource": res})
    try:
        return Bundle.model_validate(kept), invalid
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = [(_where(err["loc"], kept), _short(err["msg"])) for err in errors[:8]]
        if len(errors) > 8:
            problems.append(("", f"and {len(errors) - 8} more problems"))
        raise PatientError(source, [("", "not a valid FHIR R4 Bundle"), *problems]) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise PatientError(source, [("", f"not a valid FHIR R4 Bundle ({exc})")]) from exc


def _known_type(r4b: Any, kind: Any) -> bool:
    if not isinstance(kind, str) or not kind.isidentifier():
        return False
    try:
        r4b.get_fhir_model_class(kind)
    except (KeyError, ValueError, AttributeError, ImportError):
        return False
    return True


def _where(loc: Sequence[Any], raw: Any) -> str:
    out, node = "", raw
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        if isinstance(node, dict) and isinstance(node.get("resourceType"), str) and part != 0:
            out += f"({node['resourceType']})"
    return out


def _short(msg: str) -> str:
    return msg.removeprefix("Value error, ").split("\n")[0]


# ------------------------------------------------------------------------------- import

class _Importer:
    def __init__(self, bundle: Any, source: str, as_of: dt.date | None = None) -> None:
        self.source = source
        self.as_of = as_of          # a retrospective evaluation date (see eligimatch.retro)
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
        self.lists: set[str] = set()        # collections a completeness List asserts
        self.patient_refs: set[str] = set()
        self.diagnosis_source: Any = None   # the Condition read as the index diagnosis
        self.subject: str | None = None

    def add(self, kind: Literal["unmapped", "skipped", "note", "left_out"], label: str, code: str,
            why: str) -> None:
        self.findings.append(Finding(kind, label, code, why))

    def run(self) -> FhirImport:
        profile: dict[str, Any] = {}
        patients = [(label, url, r) for label, url, r in self.entries
                    if r.get_resource_type() == "Patient"]
        if len(patients) > 1:
            raise PatientError(self.source, [("entry", f"{len(patients)} Patient resources: "
                                              "eligimatch imports one patient at a time")])
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
        self._assemble(profile)
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
            problems = [(".".join(str(x) for x in err["loc"]), err["msg"])
                        for err in exc.errors(include_url=False)]
            raise PatientError(self.source, [("", "the imported profile is not valid"),
                                             *problems]) from exc
        if self.as_of is not None:
            patient = self._earlier(patient, self.as_of)
        return FhirImport(patient=patient, findings=tuple(self.findings), source=self.source,
                          statuses=tuple(self.status.items()))

    # -- pieces

    def _patient(self, label: str, p: Any, profile: dict[str, Any]) -> dict[str, Any]:
        if p.id:
            profile["id"] = p.id
        if p.gender in ("male", "female"):
            profile["sex"] = p.gender
        elif p.gender is not None:
            self.add("unmapped", label, f"gender|{p.gender}",
                     f"sex left unrecorded: gender {p.gender!r} has no equivalent in the profile")
        if p.birthDate is not None:
            if isinstance(p.birthDate, dt.date):
                profile["birth_date"] = p.birthDate
            else:
                self.add("unmapped", label, "birthDate",
                         f"birth date left unrecorded: {p.birthDate!r} is not a full date")
        fields, problem = residual(p)
        if problem:
            raise PatientError(self.source, [(label, problem)])
        if fields:
            self.add("note", label, "", "profile fields carried in the eligimatch extension: "
                     + ", ".join(sorted(fields)))
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
            ok = ref in self.patient_refs or any(ref.endswith("/" + r) for r in self.patient_refs
                                                 if r.startswith("Patient/"))
        else:
            self.subject = self.subject or ref
            ok = ref == self.subject
        if not ok:
            self.add("unmapped", label, code, f"refers to another patient ({ref})")
        return ok

    def _list(self, label: str, res: Any) -> None:
        codes = [c.code for c in (res.code.coding if res.code else []) or []
                 if c.system == eim_system("collection")]
        if not codes or res.mode != "snapshot" or res.status != "current":
            self.add("skipped", label, code_label(res.code),
                     "only eligimatch completeness Lists are read")
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
        self.status[label] = ("unmapped" if fatal else "partial" if any(
            m.gaps for m in result.mapped) else "mapped")
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
        lines = [f"{n} {label if n == 1 else _LATER_PLURAL.get(label, label + 's')} after "
                 f"{when} not used" for label, n in sorted(self.later.items())]
        patient, notes = as_of_earlier(patient, when)
        for line in lines + notes:
            self.add("left_out", "Bundle", "", line)
        return patient

    def _assemble(self, profile: dict[str, Any]) -> None:
        by_target: dict[str, list[Mapped]] = {}
        for m in self.mapped:
            by_target.setdefault(m.target, []).append(m)
        self._older_partial_results(by_target.get("labs", []))
        failed_targets = {t for t, _ in self.failed}
        # labs: per analyte
        labs = []
        for m in by_target.get("labs", []):
            if ("labs", m.key) in self.failed:
                continue
            labs.append(m.value)
        for (target, key), labels in sorted(self.failed.items()):
            if target == "labs":
                others = sum(1 for m in by_target.get("labs", []) if m.key == key)
                extra = f"; {others} other result(s) not used" if others else ""
                self.add("note", "Bundle", "", f"{analytes()[key].short} left unrecorded "
                         f"because {', '.join(labels)} could not be mapped{extra}")
        self._collection(profile, "labs", labs, False)
        bps = [m.value for m in by_target.get("blood_pressure", [])]
        self._collection(profile, "blood_pressure", bps, "blood_pressure" in failed_targets)
        for name in COLLECTIONS:
            items = [m.value for m in by_target.get(name, [])]
            self._collection(profile, name, items, name in failed_targets)
        for name in SINGLES:
            self._single(profile, name, by_target.get(name, []), name in failed_targets)
        for name in STAGING:
            self._staging(profile, name, by_target.get(name, []), name in failed_targets)

    def _newest(self, name: str, items: list[Mapped]) -> dict[str, Any] | None:
        """The value of the newest dated item (else of the undated ones); None, listed, when the
        newest disagree.  ECOG grades derived from a Karnofsky score may be a set of grades
        (``options``): the newest decide only when they leave exactly one grade."""
        dated = [m for m in items if m.when is not None]
        pool = dated or items
        if dated:
            newest = max(m.when for m in dated if m.when is not None)
            pool = [m for m in dated if m.when == newest]
        if any("options" in m.value for m in pool):
            sets = [set(m.value["options"]) if "options" in m.value else {m.value["value"]}
                    for m in pool]
            common = set.intersection(*sets)
            if len(common) != 1:
                shown = " or ".join(str(g) for g in sorted(set().union(*sets)))
                self.add("unmapped", "Bundle", "", f"{name} left unrecorded: the newest "
                         f"performance status ({pool[0].when or 'undated'}) is a Karnofsky "
                         f"score that may be ECOG {shown}")
                return None
            direct = [m for m in pool if "options" not in m.value]
            if direct:
                return direct[0].value
            value: dict[str, Any] = {"value": common.pop()}
            if pool[0].when is not None:
                value["date"] = pool[0].when
            return value
        values = {json.dumps(m.value, sort_keys=True, default=str) for m in pool}
        if len(values) > 1:
            self.add("unmapped", "Bundle", "", f"{name} left unrecorded: {len(pool)} different "
                     "values on the same date")
            return None
        return pool[0].value

    def _staging(self, profile: dict[str, Any], name: str, items: list[Mapped],
                 failed: bool) -> None:
        """A TNM category or the tumour size, attached to the index diagnosis when it is about
        it (no focus, or the focus is the index diagnosis's Condition)."""
        what = _STAGING_LABELS[name]
        if failed:
            labels = [lbl for (t, _), lbls in self.failed.items() if t == name for lbl in lbls]
            self.add("note", "Bundle", "", f"{what} left unrecorded because "
                     f"{', '.join(labels)} could not be mapped")
            return
        if not items:
            return
        dx = profile.get("diagnosis")
        if dx is None:
            self.add("note", "Bundle", "", f"{what} read but not used: no index diagnosis to "
                     "attach it to")
            return
        mine = [m for m in items if not m.refs or any(
            self.index.get(r) is not None and self.index.get(r) is self.diagnosis_source
            for r in m.refs)]
        if len(mine) < len(items):
            self.add("note", "Bundle", "", f"{len(items) - len(mine)} {what} Observation(s) "
                     "about another focus than the index diagnosis not used")
        value = self._newest(what, mine) if mine else None
        if value is None:
            return
        if name == "tumour_size":
            dx.setdefault("size", value)
        else:
            # fields carried in the eligimatch extension of the diagnosis win
            dx["stage"] = {**value, **(dx.get("stage") or {})}

    def _older_partial_results(self, labs: list[Mapped]) -> None:
        """A result dated only "2026-11" keeps that precision: it cannot be placed on a day, so
        it leaves its analyte unrecorded -- unless a fully dated result of the same analyte is
        later than every day it may be, in which case it is surely not the newest and is only
        listed."""
        for key, spans in self.partial.items():
            labels = self.failed.get(("labs", key), [])
            if len(spans) != len(labels):
                continue        # another result of it failed for another reason
            dated = [m.when for m in labs if m.key == key and m.when is not None]
            newest = max(dated, default=None)
            if newest is None or any(hi >= newest for _, (_, hi) in spans):
                continue
            del self.failed[("labs", key)]
            for label, (lo, hi) in spans:
                self.add("note", label, "", f"dated only to {lo} .. {hi}: older than the "
                         f"{analytes()[key].short} result of {newest}, which is used")

    def _collection(self, profile: dict[str, Any], name: str, items: list[dict[str, Any]],
                    failed: bool) -> None:
        listed = name in self.lists
        if failed:
            labels = [lbl for (t, _), lbls in self.failed.items() if t == name for lbl in lbls]
            self.add("note", "Bundle", "", f"{name} left unrecorded because "
                     f"{', '.join(labels)} could not be mapped")
            return
        if items or listed:
            profile[name] = items
            if not listed and name not in ("labs", "blood_pressure"):
                self.add("note", "Bundle", "", f"{name}: {len(items)} read and taken as the "
                         "complete list (the bundle has no eligimatch completeness List)")
        elif name in SOURCES and not any(t == name for t, _ in self.failed):
            self.add("note", "Bundle", "", f"{name} left unrecorded: no {SOURCES[name]} "
                     "resources")

    def _single(self, profile: dict[str, Any], name: str, items: list[Mapped],
                failed: bool) -> None:
        if failed:
            labels = [lbl for (t, _), lbls in self.failed.items() if t == name for lbl in lbls]
            self.add("note", "Bundle", "", f"{name} left unrecorded because "
                     f"{', '.join(labels)} could not be mapped")
            return
        if not items:
            return
        if name == "diagnosis":
            explicit = [m for m in items if m.explicit_role]
            pool = explicit or items
            if len(pool) > 1:
                self.add("unmapped", "Bundle", "", f"diagnosis left unrecorded: {len(pool)} "
                         "primary cancer Conditions and none marked as the index diagnosis")
                return
            profile["diagnosis"] = dict(pool[0].value)
            self.diagnosis_source = pool[0].source
            return
        value = self._newest(name, items)
        if value is None:
            return
        if name == "pregnant":
            profile["reproductive"] = {"pregnant": value["pregnant"]}
        else:
            profile[name] = value


_LATER = {"labs": "lab result", "ecog": "ECOG score", "pregnant": "pregnancy status"}
_LATER_PLURAL = {"pregnancy status": "pregnancy statuses"}


_STAGING_LABELS = {"stage_t": "T category", "stage_n": "N category", "stage_m": "M category",
                   "tumour_size": "tumour size"}


def _describe(m: Mapped) -> str:
    if m.target == "labs":
        return f"{analytes()[m.key].short} (every result)" if m.key in analytes() else "the lab"
    if m.target in ("weight", "height", "ecog", "tumour_size"):
        return analytes()[m.target].name
    if m.target in _STAGING_LABELS:
        return _STAGING_LABELS[m.target]
    return {"pregnant": "pregnancy status", "blood_pressure": "blood pressure"}.get(
        m.target, m.target.replace("_", " "))


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
    if patients:    # whose data this is cannot be skipped
        raise PatientError(source, [("", "the Patient resource is not valid FHIR R4"),
                                    *patients])
    importer = _Importer(bundle, source, as_of)
    for where, label, why in invalid:
        importer.add("unmapped", label, "", f"not valid FHIR R4, skipped ({where}: {why})")
        importer.status[label] = "unmapped"
    return importer.run()
