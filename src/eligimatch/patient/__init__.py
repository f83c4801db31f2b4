"""The patient profile (pydantic v2).

Conventions that matter for safety:

* **An absent field means "not recorded"** and makes every criterion that needs it *unknown*.
  **An explicit empty list means "none"**: ``"treatments": []`` says the patient has had no
  treatment; leaving ``treatments`` out says nobody recorded the history.
* A recorded list is taken as complete for what it records.
* Unknown keys are errors (no silently ignored data); NaN and infinity are rejected.
* Controlled vocabularies (condition types, treatment types, drug classes, metastatic sites) are
  closed lists, so a misspelling is an error rather than a silent non-match.
* Nothing here reads the clock: dates are checked against ``as_of`` in :mod:`eligimatch.facts`.

``eligimatch schema`` prints the JSON Schema of :class:`Patient`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from ..jsonin import exact_json
from .disease import (
    Condition,
    ConditionCategory,
    ConditionType,
    Diagnosis,
    Grade,
    Lesion,
    Metastasis,
    MetastasisSite,
    OtherMalignancy,
    SiteGroup,
    Stage,
)
from .measures import (
    FORMAT_VERSION,
    FORMAT_VERSIONS,
    BloodPressure,
    Code,
    Comparator,
    FormatVersion,
    Lab,
    Measured,
    NonNeg,
    OncoTreeCode,
    Quantity,
    ReferenceRange,
    Score,
    _Model,
)
from .therapy import (
    ANTICANCER_TYPES,
    Allergy,
    DrugClass,
    Medication,
    Response,
    Toxicity,
    Treatment,
    TreatmentType,
)

__all__ = [
    "ANTICANCER_TYPES",
    "FORMAT_VERSION",
    "FORMAT_VERSIONS",
    "Administrative",
    "Allergy",
    "Attestation",
    "BloodPressure",
    "Code",
    "Comparator",
    "Condition",
    "ConditionCategory",
    "ConditionType",
    "Diagnosis",
    "DrugClass",
    "FormatVersion",
    "Grade",
    "Lab",
    "Lesion",
    "Measured",
    "Medication",
    "Metastasis",
    "MetastasisSite",
    "NonNeg",
    "OncoTreeCode",
    "OtherMalignancy",
    "Patient",
    "Quantity",
    "ReferenceRange",
    "Reproductive",
    "Response",
    "Score",
    "SiteGroup",
    "Stage",
    "Toxicity",
    "Treatment",
    "TreatmentType",
]


class Reproductive(_Model):
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    childbearing_potential: bool | None = None
    effective_contraception: bool | None = None


class Administrative(_Model):
    consent_signed: bool | None = None
    prior_trial_participation: bool | None = None
    able_to_lie_flat: bool | None = None
    able_to_take_oral_medication: bool | None = None
    willing_to_provide_samples: bool | None = None


class Attestation(_Model):
    """A clinician's answer to a criterion that needs judgement.

    ``answer`` says whether the criterion's statement, as written, holds for the patient:
    for an inclusion "yes" lets it pass; for an exclusion "yes" means the exclusion applies.
    """

    trial: str = Field(min_length=1)
    criterion: str = Field(min_length=1)
    answer: Literal["yes", "no"]
    by: str = Field(min_length=1)
    date: dt.date
    note: str | None = None


class Patient(_Model):
    """A patient profile.  Absent = not recorded (unknown); empty list = none."""

    format_version: FormatVersion | None = Field(
        default=None, description="version of the profile format; absent means the current one"
    )
    id: str = Field(min_length=1, max_length=200)
    as_of: dt.date | None = Field(default=None, description="evaluation date; --as-of overrides")
    sex: Literal["female", "male"] | None = None
    birth_date: dt.date | None = None
    weight: Quantity | None = None
    height: Quantity | None = None
    ecog: Score | None = None
    life_expectancy: Quantity | None = None
    diagnosis: Diagnosis | None = None
    metastases: list[Metastasis] | None = None
    measurable_disease: bool | None = Field(
        default=None, description="at least one measurable lesion by RECIST 1.1"
    )
    lesions: list[Lesion] | None = None
    labs: list[Lab] | None = None
    blood_pressure: list[BloodPressure] | None = None
    conditions: list[Condition] | None = None
    medications: list[Medication] | None = None
    treatments: list[Treatment] | None = None
    toxicities: list[Toxicity] | None = None
    allergies: list[Allergy] | None = None
    other_malignancies: list[OtherMalignancy] | None = None
    reproductive: Reproductive | None = None
    administrative: Administrative | None = None
    attestations: list[Attestation] = Field(default_factory=list)

    @field_validator("format_version", mode="before")
    @classmethod
    def _known_version(cls, v: object) -> object:
        if v is not None and v not in FORMAT_VERSIONS:
            got = str(v) if isinstance(v, Decimal) else exact_json(v)  # as written: "2", 2, 1.0
            raise PydanticCustomError(
                "format_version",
                "unknown profile format version {got}; this eligimatch reads "
                "{known} (leave format_version out for the current version)",
                {"got": got[:40], "known": " or ".join(f'"{x}"' for x in FORMAT_VERSIONS)},
            )
        return v
