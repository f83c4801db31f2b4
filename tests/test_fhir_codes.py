"""FHIR import reads the LOINC codes and UCUM units labs commonly send, for every analyte of the
catalogue; eGFR is its own analyte, never a creatinine clearance."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from eligimatch.facts import build_facts
from eligimatch.fhir import import_bundle
from test_fhir_items import AS_OF, SUBJECT, bundle, evaluate, facts_of

pytest.importorskip("fhir.resources")


LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def observation(loinc: str, value: Any, ucum: str, date_: str = "2026-11-10") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "subject": SUBJECT,
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "effectiveDateTime": date_,
        "valueQuantity": {"value": value, "system": UCUM, "code": ucum, "unit": ucum},
    }


@pytest.mark.parametrize(
    ("loinc", "value", "ucum", "test", "canonical"),
    [
        ("753-4", 1.5, "10*3/uL", "anc", "1.5"),  # manual count
        ("804-5", 4200, "/uL", "wbc", "4.2"),
        ("778-1", 150, "10*3/uL", "platelets", "150"),
        ("20509-6", 12.5, "g/dL", "hemoglobin", "125"),
        ("30313-1", 120, "g/L", "hemoglobin", "120"),
        ("59260-0", 6.206, "mmol/L", "hemoglobin", "100"),  # monomer mmol/L
        ("14631-6", 17.1, "umol/L", "bilirubin", "17.1"),  # the molar code SI labs send
        ("14682-9", 88.4, "umol/L", "creatinine", "88.4"),
        ("1743-4", 40, "U/l", "alt", "40"),
        ("1744-2", 0.5, "ukat/L", "alt", "30"),  # 1 µkat/L = 60 U/L
        ("76625-3", 0.04, "kU/L", "alt", "40"),
        ("34714-6", 1.1, "{INR}", "inr", "1.1"),
        ("46418-0", 2, "1", "inr", "2"),
        ("33914-3", 75, "mL/min/{1.73_m2}", "egfr", "75"),
        ("62238-1", 59, "mL/min/{1.73_m2}", "egfr", "59"),
        ("98979-8", 90, "mL/min/{1.73_m2}", "egfr", "90"),
    ],
)
def test_common_loinc_codes_and_units_are_read(loinc, value, ucum, test, canonical):
    result = import_bundle(bundle(observation(loinc, value, ucum)), "t")
    (lab,) = result.patient.labs or []
    assert lab.test == test and lab.loinc == loinc
    q = build_facts(result.patient, AS_OF).quantity(test)
    assert q is not None and q.value == Fraction(canonical)


def test_egfr_is_never_taken_as_creatinine_clearance(tmp_path):
    egfr = observation("62238-1", 80, "mL/min/{1.73_m2}")
    facts = facts_of(egfr)
    assert facts.quantity("crcl") is None and facts.quantity("egfr") is not None
    out = evaluate(tmp_path, '{ quantity = "crcl", op = ">=", value = 50, unit = "mL/min" }', egfr)
    assert out.value is None
    # an eGFR sent under a clearance code in its per-1.73 m2 unit is refused, not converted
    wrong = import_bundle(bundle(observation("2164-2", 80, "mL/min/{1.73_m2}")), "t")
    assert wrong.patient.labs is None
    assert any("not a unit of creatinine clearance" in f.line() for f in wrong.of_kind("unmapped"))
