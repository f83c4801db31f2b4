"""Treatment history: medications, anticancer and other treatments, toxicities, allergies."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from .measures import NonNeg, _Model

__all__ = [
    "ANTICANCER_TYPES",
    "Allergy",
    "DrugClass",
    "Medication",
    "Response",
    "Toxicity",
    "Treatment",
    "TreatmentType",
]


DrugClass = Literal[
    "anthracycline",
    "alkylating_agent",
    "antimetabolite",
    "taxane",
    "vinca_alkaloid",
    "platinum",
    "anti_angiogenic",
    "tyrosine_kinase_inhibitor",
    "vegf_antibody",
    "immune_checkpoint_inhibitor",
    "pd1_inhibitor",
    "pdl1_inhibitor",
    "ctla4_inhibitor",
    "cytokine",
    "immunomodulator",
    "hormonal",
    "systemic_corticosteroid",
    "immunosuppressant",
    "antihypertensive",
    "anticoagulant",
    "antiplatelet",
    "systemic_anti_infective",
    "antiepileptic",
    "live_vaccine",
    "inactivated_vaccine",
    "blood_product",
    "cytotoxic",
    "topoisomerase_inhibitor",
    "antiretroviral",
    "hbv_antiviral",
    "other",
]


class Medication(_Model):
    """A medication the patient takes or took.

    ``classes`` left out means "not recorded": the drug catalogue then reads the classes from the
    name (``data/drug_classes.toml``), and a name it cannot read leaves them unknown.  An
    anticancer drug in this list counts as anticancer therapy too.
    """

    name: str = Field(min_length=1)
    classes: list[DrugClass] | None = Field(
        default=None, description="as recorded; the catalogue adds what the name implies"
    )
    route: (
        Literal["oral", "intravenous", "subcutaneous", "intramuscular", "topical", "inhaled", "other"] | None
    ) = None
    start: dt.date | None = None
    end: dt.date | None = None
    ongoing: bool | None = None


TreatmentType = Literal[
    "surgery",
    "chemotherapy",
    "radiotherapy",
    "targeted_therapy",
    "immunotherapy",
    "hormonal_therapy",
    "investigational",
    "other_anticancer",
    "vaccine",
    "transfusion",
    "procedure",
]
ANTICANCER_TYPES = frozenset(
    {
        "chemotherapy",
        "radiotherapy",
        "targeted_therapy",
        "immunotherapy",
        "hormonal_therapy",
        "investigational",
        "other_anticancer",
    }
)
Response = Literal["CR", "PR", "SD", "PD", "NE"]


class Treatment(_Model):
    """An anticancer treatment, operation, procedure, vaccination or transfusion.

    Single-day events (an operation, a vaccination) may give ``date`` instead of start/end.
    Left-out ``agents`` and ``classes`` are "not recorded", never "none".  ``type`` left out: an
    **unclassified** item (a FHIR procedure or drug eligimatch cannot place), kept with its
    ``name``: every criterion that asks about a type, class or purpose is unknown for it.
    """

    type: TreatmentType | None = None
    name: str | None = None
    agents: list[str] | None = Field(
        default=None, description="as recorded; the catalogue also reads agents from the name"
    )
    classes: list[DrugClass] | None = Field(
        default=None, description="as recorded; the catalogue adds what the agents imply"
    )
    intent: (
        Literal["neoadjuvant", "adjuvant", "curative", "palliative", "diagnostic", "non_oncologic"] | None
    ) = None
    date: dt.date | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    ongoing: bool | None = None
    site: str | None = None
    involves_target_site: bool | None = Field(
        default=None, description="radiotherapy or surgery at the site now to be treated"
    )
    dose_gy: NonNeg | None = None
    major: bool | None = Field(default=None, description="major surgery")
    amputation: bool | None = None
    invasive: bool | None = None
    live: bool | None = Field(default=None, description="live (attenuated) vaccine")
    best_response: Response | None = None
    progression_date: dt.date | None = None
    stopped_for_toxicity: bool | None = None
    in_clinical_trial: bool | None = None

    @model_validator(mode="after")
    def _dates(self) -> Treatment:
        if self.type is None and not self.name and not self.agents:
            raise ValueError("an unclassified treatment (no 'type') needs a 'name' or 'agents'")
        if self.date is not None and (self.start is not None or self.end is not None):
            raise ValueError("give either 'date' (single-day event) or 'start'/'end', not both")
        if self.start and self.end and self.end < self.start:
            raise ValueError("'end' is before 'start'")
        return self


class Toxicity(_Model):
    """An adverse event of earlier treatment, graded by CTCAE."""

    term: str = Field(min_length=1)
    grade: int = Field(ge=0, le=5)
    ongoing: bool | None = None
    date: dt.date | None = None
    resolved: dt.date | None = None


class Allergy(_Model):
    substance: str = Field(min_length=1)
    kind: Literal["drug", "contrast_agent", "food", "environmental", "other"] | None = None
    severity: Literal["mild", "moderate", "severe"] | None = None
