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
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .jsonin import exact_json

__all__ = ["Patient"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, str_strip_whitespace=True)


#: Versions of the profile format read here (``format_version``; absent means the last).
FormatVersion = Literal["1"]
FORMAT_VERSIONS: tuple[str, ...] = typing.get_args(FormatVersion)
FORMAT_VERSION = FORMAT_VERSIONS[-1]


@dataclass(frozen=True)
class Measured:
    """Marks an item's quantity field that rules may compare: ``unit`` gives the dimension a
    threshold must have (any unit of that dimension is accepted)."""

    unit: str


class OncoTreeCode:
    """Marks a field that holds an OncoTree code, which rules may test by ancestry."""


Comparator = Literal["<", "<=", ">", ">="]
# Digits are bounded (30 before and 30 after the point): exact arithmetic on 1e-999999999
# would need a billion-digit integer.
NonNeg = Annotated[Decimal, Field(ge=0, allow_inf_nan=False, max_digits=60, decimal_places=30)]


class Quantity(_Model):
    """A measured or estimated amount with its unit, e.g. ``{"value": 72, "unit": "kg"}``."""

    value: NonNeg
    unit: str = Field(min_length=1, max_length=40)
    comparator: Comparator | None = Field(
        default=None, description="for a censored value such as '>= 6 months' or '< 20 IU/mL'"
    )
    date: dt.date | None = None


class Score(_Model):
    """A whole-number score with the date it was assessed (ECOG)."""

    value: int = Field(ge=0, le=5)
    date: dt.date | None = None


class Code(_Model):
    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = None


class ReferenceRange(_Model):
    low: NonNeg | None = None
    high: NonNeg | None = None
    unit: str | None = Field(default=None, description="defaults to the result's unit")


class Lab(_Model):
    """One laboratory (or other quantitative) result.

    ``test`` is a key of the analyte catalogue (``eligimatch analytes`` would list them: anc,
    platelets, hemoglobin, bilirubin, alt, ast, creatinine, crcl, inr, aptt, glucose_fasting,
    hbv_dna_iu, hbv_dna_copies, hcv_rna_iu, hcv_rna_copies, hiv_antibody, urine_protein_24h,
    urine_protein_dipstick, lvef, wbc).  Give ``value`` and ``unit`` for a number, or ``result``
    for an ordinal or qualitative result ("2+", "positive").  A censored number such as "<20"
    is ``{"value": 20, "comparator": "<"}``.
    """

    test: str = Field(min_length=1)
    value: NonNeg | None = None
    unit: str | None = Field(default=None, min_length=1, max_length=40)
    comparator: Comparator | None = None
    result: str | None = None
    date: dt.date
    reference_range: ReferenceRange | None = None
    loinc: str | None = None

    @model_validator(mode="after")
    def _one_result(self) -> Lab:
        if (self.value is None) == (self.result is None):
            raise ValueError("give exactly one of 'value' (with 'unit') or 'result'")
        if self.value is not None and self.unit is None:
            raise ValueError("a numeric value needs a 'unit'")
        if self.comparator is not None and self.value is None:
            raise ValueError("'comparator' goes with a numeric 'value'")
        return self


class BloodPressure(_Model):
    systolic: Annotated[Decimal, Field(gt=0, le=400, decimal_places=30)]
    diastolic: Annotated[Decimal, Field(gt=0, le=300, decimal_places=30)]
    unit: str = Field(default="mmHg", min_length=1, max_length=40)
    date: dt.date
    on_antihypertensive_treatment: bool | None = None


Grade = Literal["G1", "G2", "G3", "GX"]
SiteGroup = Literal["extremity", "trunk", "retroperitoneum", "head_and_neck", "visceral", "bone", "other"]


class Stage(_Model):
    t: str | None = None
    n: Literal["N0", "N1", "NX"] | None = None
    m: Literal["M0", "M1", "MX"] | None = None
    system: str | None = None


class Diagnosis(_Model):
    """The cancer being screened for (the index diagnosis)."""

    histology: str | None = Field(default=None, description="OncoTree code, e.g. LMS, MFH, DDLS")
    histology_text: str | None = None
    primary_site: str | None = None
    site_group: SiteGroup | None = None
    grade: Grade | None = Field(default=None, description="FNCLCC grade G1-G3 (GX: not assessable)")
    size: Quantity | None = Field(default=None, description="largest diameter of the tumour")
    depth: Literal["superficial", "deep"] | None = None
    status: Literal["primary", "recurrent", "metastatic"] | None = None
    locally_advanced: bool | None = None
    resectable: bool | None = None
    confirmation: Literal["histological", "cytological", "clinical", "radiological"] | None = None
    stage: Stage | None = None
    date: dt.date | None = None


MetastasisSite = Literal[
    "lung",
    "liver",
    "bone",
    "brain",
    "spinal_cord",
    "leptomeninges",
    "lymph_node",
    "soft_tissue",
    "peritoneum",
    "pleura",
    "adrenal",
    "skin",
    "kidney",
    "other",
]


class Metastasis(_Model):
    """A metastatic site.  ``site`` left out: a metastasis whose site was not classified (a
    FHIR body site eligimatch cannot read): criteria that ask about a site are unknown for it."""

    site: MetastasisSite | None = None
    lesion_count: int | None = Field(default=None, ge=1, le=10000)
    symptomatic: bool | None = None
    spine: Literal["none", "vertebral", "epidural", "cord"] | None = Field(
        default=None,
        description="spinal involvement: none; vertebral (bone only); epidural "
        "(into the epidural space or compressing the cord); cord "
        "(intramedullary)",
    )
    status: Literal["active", "treated_stable", "resolved"] | None = None
    date: dt.date | None = None


class Lesion(_Model):
    site: str | None = None
    kind: Literal["primary_tumour", "metastasis", "lymph_node", "bone_metastasis_soft_tissue_mass"] | None = (
        None
    )
    longest_diameter: Annotated[Quantity | None, Measured("mm")] = None
    shortest_diameter: Annotated[Quantity | None, Measured("mm")] = None
    measurable_recist_1_1: bool | None = None
    target: bool | None = None
    date: dt.date | None = None
    imaging: (
        Literal["ct", "mri", "pet_ct", "x_ray", "bone_scan", "ultrasound", "clinical", "other"] | None
    ) = Field(default=None, description="how the lesion was shown and measured (e.g. ct, mri)")


ConditionCategory = Literal[
    "autoimmune",
    "cardiovascular",
    "pulmonary",
    "infection",
    "hepatic",
    "renal",
    "gastrointestinal",
    "bleeding",
    "thromboembolic",
    "psychiatric",
    "substance_abuse",
    "immunodeficiency",
    "metabolic",
    "neurological",
    "other",
]
ConditionType = Literal[
    "myocardial_infarction",
    "unstable_angina",
    "angina",
    "heart_failure",
    "ventricular_arrhythmia",
    "arrhythmia",
    "coronary_artery_bypass",
    "hypertension",
    "valvular_disease",
    "cardiomyopathy",
    "stroke",
    "transient_ischaemic_attack",
    "deep_vein_thrombosis",
    "pulmonary_embolism",
    "interstitial_lung_disease",
    "pulmonary_fibrosis",
    "copd",
    "asthma",
    "hiv",
    "hepatitis_b",
    "hepatitis_c",
    "other_hepatitis",
    "cirrhosis",
    "tuberculosis",
    "bacterial_infection",
    "viral_infection",
    "fungal_infection",
    "peptic_ulcer",
    "ulcerative_colitis",
    "crohns_disease",
    "gastrointestinal_perforation",
    "bowel_obstruction",
    "gastrointestinal_bleeding",
    "haemoptysis",
    "haematemesis",
    "other_bleeding",
    "malabsorption",
    "epilepsy",
    "psychiatric_disorder",
    "substance_use_disorder",
    "diabetes",
    "electrolyte_abnormality",
    "rheumatoid_arthritis",
    "systemic_lupus_erythematosus",
    "psoriasis",
    "autoimmune_thyroiditis",
    "multiple_sclerosis",
    "vasculitis",
    "primary_immunodeficiency",
    "renal_insufficiency",
    "hepatic_insufficiency",
    "pathological_fracture",
    "other",
]


class Condition(_Model):
    """A comorbidity or medical event (past or present).

    ``type`` implies its categories (multiple sclerosis is autoimmune and neurological, a
    pulmonary embolism thromboembolic), whatever ``category`` says; ``category`` may add one the
    type allows, and one that contradicts the type is an error (``data/condition_types.toml``).

    ``type`` left out: an **unclassified** condition (a FHIR code eligimatch cannot place).  It
    stays on the problem list with its ``name`` and ``code``; its type and categories are unknown,
    so only the criteria that could match it become unknown, and they name it.
    """

    category: ConditionCategory | None = None
    type: ConditionType | None = None
    name: str | None = None
    code: Code | None = None
    status: Literal["active", "controlled", "resolved"] | None = None
    onset: dt.date | None = None
    resolved: dt.date | None = None
    severity: Literal["mild", "moderate", "severe"] | None = None
    nyha_class: int | None = Field(default=None, ge=1, le=4)
    requires_systemic_treatment: bool | None = None
    symptomatic: bool | None = None
    volume: Annotated[Quantity | None, Measured("mL")] = Field(
        default=None, description="e.g. the volume of a bleed"
    )

    @model_validator(mode="after")
    def _named(self) -> Condition:
        if self.type is None and not self.name and self.code is None:
            raise ValueError("an unclassified condition (no 'type') needs a 'name' or a 'code'")
        return self


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


class OtherMalignancy(_Model):
    """A cancer other than the index diagnosis."""

    histology: Annotated[str | None, OncoTreeCode] = Field(default=None, description="OncoTree code")
    description: str | None = None
    site: str | None = None
    in_situ: bool | None = None
    date: dt.date | None = Field(default=None, description="date of diagnosis")
    status: Literal["active", "remission", "cured"] | None = None
    resolved: dt.date | None = Field(default=None, description="end of treatment / remission")
    curatively_treated: bool | None = None


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
