"""Pydantic models of a rule file (one TOML file per trial in ``rules/``).

A rule file has a ``schema`` number, a ``[trial]`` table and ``[[criteria]]``.  Each criterion
carries an id that starts with its registry number (``I8``, ``I8.anc``, ``E3.autoimmune``), its
kind, the verbatim text from the seed, its ``logic`` (checked and compiled by
:mod:`eligimatch.engine.compile`), notes on interpretation and its own examples.  See the README for
the logic vocabulary.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["CriterionSpec", "Example", "RuleFile", "TrialMeta"]

CRITERION_ID = r"^[IE][0-9]+(\.[a-z0-9_]+)*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class TrialMeta(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="registry id, or a stable id")
    title: str = Field(min_length=1)
    phase: str
    status: str
    seed: str = Field(description="the seed file the rules were encoded from (seeds/...)")
    registry_id: str | None = Field(default=None, description="None when the record has none")
    lab_max_age_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="labs older than this (days before as_of) count as stale → unknown",
    )
    attestation_max_age_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="clinician attestations older than this are shown but do not answer "
        "(default: eligimatch.engine.core.ATTESTATION_MAX_AGE_DAYS)",
    )
    notes: str | None = None


class Example(_Model):
    """A small patient for which the criterion must give ``expect``."""

    expect: Literal["pass", "fail", "unknown"]
    as_of: dt.date
    patient: dict[str, Any] = Field(default_factory=dict)
    explanation_contains: str | None = None
    note: str | None = None


class CriterionSpec(_Model):
    id: str = Field(pattern=CRITERION_ID)
    aliases: list[str] = Field(default_factory=list)
    kind: Literal["inclusion", "exclusion"]
    text: str = Field(min_length=1, description="verbatim from the seed")
    logic: dict[str, Any]
    notes: str | None = None
    examples: list[Example] = Field(default_factory=list)
    draft: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9_+]+$",
        description="drafted by `eligimatch draft`: the recogniser(s) that produced the logic, "
        "or 'review'; remove the field once a person has checked the criterion",
    )

    @model_validator(mode="after")
    def _prefix_matches_kind(self) -> CriterionSpec:
        want = "I" if self.kind == "inclusion" else "E"
        if not self.id.startswith(want):
            raise ValueError(f"id {self.id!r} of an {self.kind} criterion must start with {want!r}")
        return self


class RuleFile(_Model):
    schema_: Literal[1] = Field(alias="schema")
    trial: TrialMeta
    criteria: list[CriterionSpec] = Field(min_length=1)
