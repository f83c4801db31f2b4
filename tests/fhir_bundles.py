"""Small FHIR bundles written by tests: the resources given, after one Patient."""

from __future__ import annotations

from typing import Any

SNOMED = "http://snomed.info/sct"
SUBJECT = {"reference": "Patient/p1"}


def bundle(*resources: dict[str, Any], timestamp: str = "2026-11-16T09:00:00Z") -> dict[str, Any]:
    """A collection Bundle: Patient p1 (female, born 1970-01-01), then ``resources``."""
    patient = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": timestamp,
        "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": r} for i, r in enumerate([patient, *resources])],
    }
