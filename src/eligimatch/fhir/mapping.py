"""One FHIR R4 resource → pieces of a patient profile (used by :mod:`eligimatch.fhir.importer`).

Each mapper takes a resource parsed by fhir.resources (R4B models) and returns a
:class:`Result`: the profile items it yields (:class:`Mapped`), or why it was skipped (no
patient facts) or could not be mapped at all.  A mapped item may still carry

* ``gaps``: fields left unrecorded, each with the reason (listed as unmapped; the field stays
  ``None`` so the criteria that need it are unknown), and
* ``fatal``: a reason the whole item cannot be used; the importer then leaves the collection or
  analyte it belongs to unrecorded rather than record a list that silently lacks it.

Codes are matched on (system, code) pairs through :mod:`eligimatch.fhir.tables`; display texts
are never used to identify a lab, a condition or a procedure.  Drug agents are the exception:
without an RxNorm code in the table, an agent is recognised by its name as a whole word in the
medication's text (documented in ``data/drug_classes.toml``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .common import LOINC, Ctx, Mapped, Result, code_label, residual
from .conditions import map_condition
from .measurements import unit_of
from .medications import map_medication
from .observations import map_observation
from .treatments import map_allergy, map_immunization, map_procedure

__all__ = [
    "LOINC",
    "Ctx",
    "Mapped",
    "Result",
    "apply_residual",
    "code_label",
    "map_resource",
    "residual",
    "unit_of",
]


NO_PATIENT_FACTS = frozenset(
    {
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "Location",
        "Device",
        "Specimen",
        "Encounter",
        "Provenance",
        "Medication",
        "BodyStructure",
        "Coverage",
        "OperationOutcome",
        "HealthcareService",
        "Endpoint",
        "RelatedPerson",
        "Substance",
    }
)

# Resources whose content the profile has no place for (or reads from other resources), with why.
SKIPPED_KINDS = {
    "Claim": "billing: its diagnoses and procedures are read from their own Condition and "
    "Procedure resources",
    "ExplanationOfBenefit": "billing: its diagnoses and procedures are read from their own "
    "Condition and Procedure resources",
    "DocumentReference": "a document: eligimatch reads no free text or attachments",
    "ImagingStudy": "imaging metadata: findings are read from Observations and Conditions",
    "FamilyMemberHistory": "family history: the profile records the patient's own history",
    "CarePlan": "a care plan holds no patient facts eligimatch uses",
    "CareTeam": "a care team holds no patient facts eligimatch uses",
    "Goal": "a goal holds no patient facts eligimatch uses",
    "SupplyDelivery": "a supply delivery holds no patient facts eligimatch uses",
}

MAPPERS: dict[str, Callable[[Any, Ctx], Result]] = {
    "Observation": map_observation,
    "Condition": map_condition,
    "Procedure": map_procedure,
    "MedicationStatement": map_medication,
    "MedicationAdministration": map_medication,
    "MedicationRequest": map_medication,
    "AllergyIntolerance": map_allergy,
    "Immunization": map_immunization,
}


def map_resource(res: Any, ctx: Ctx) -> Result:
    """Map one resource (not Patient, List or Bundle: :mod:`eligimatch.fhir.importer` reads those)."""
    kind = res.get_resource_type()
    mapper = MAPPERS.get(kind)
    if mapper is None:
        if kind in NO_PATIENT_FACTS:
            return Result(skipped=f"a {kind} holds no patient facts eligimatch uses")
        if kind in SKIPPED_KINDS:
            return Result(skipped=SKIPPED_KINDS[kind])
        if kind == "DiagnosticReport":
            return Result(skipped="a report: its results are read from their own Observations")
        return Result(unmapped=f"eligimatch does not read {kind} resources")
    result = mapper(res, ctx)
    fields, problem = residual(res)
    for m in result.mapped:
        if problem:
            m.fatal = ("", problem)
            continue
        if fields:
            apply_residual(m, fields)
    return result


def apply_residual(m: Mapped, fields: dict[str, Any]) -> None:
    """Overlay the eligimatch profile-fields extension on a mapped item."""
    if m.target == "pregnant":
        fields = {k: v for k, v in fields.items() if k == "pregnant"}
    m.value.update(fields)
    for name in fields:
        m.gaps.pop(name, None)
    if m.fatal is not None and m.fatal[0] and m.fatal[0] in fields:
        m.fatal = None
    m.notes.append("fields carried in the eligimatch extension: " + ", ".join(sorted(fields)))
