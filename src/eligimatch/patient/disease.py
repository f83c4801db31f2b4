"""The disease: diagnosis and stage, metastases, lesions, other conditions, other malignancies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .measures import Code, Measured, OncoTreeCode, Quantity, _Model

__all__ = [
    "Condition",
    "ConditionCategory",
    "ConditionType",
    "Diagnosis",
    "Grade",
    "Lesion",
    "Metastasis",
    "MetastasisSite",
    "OtherMalignancy",
    "SiteGroup",
    "Stage",
]


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
