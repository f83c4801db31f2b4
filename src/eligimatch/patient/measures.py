"""The profile's building blocks: the strict base model, the format version, markers the
vocabulary reads, measured amounts, scores, codes and lab results."""

from __future__ import annotations

import datetime as dt
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True, str_strip_whitespace=True)


__all__ = [
    "FORMAT_VERSION",
    "FORMAT_VERSIONS",
    "BloodPressure",
    "Code",
    "Comparator",
    "FormatVersion",
    "Lab",
    "Measured",
    "NonNeg",
    "OncoTreeCode",
    "Quantity",
    "ReferenceRange",
    "Score",
]


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
