"""The typed context comes from the patient models: a field or value added there is one rules can
use, with nothing copied by hand; what rules already use stays as it was."""

from __future__ import annotations

import datetime as dt
import typing
from decimal import Decimal
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, create_model

from eligimatch import patient
from eligimatch.facts import build_facts
from eligimatch.patient import Measured, OncoTreeCode, Patient, Quantity
from eligimatch.vocabulary import (
    COLLECTIONS,
    DERIVED_SCALARS,
    ITEM_FIELDS,
    ITEM_QUANTITY_UNITS,
    ONCOTREE_ITEM_FIELDS,
    SCALAR_VALUES,
    SCALARS,
    Scalar,
    derive,
    suggest,
)

# What the rule files and the compiler relied on before the vocabulary was derived.
BOOLEANS = {
    "pregnant",
    "breastfeeding",
    "childbearing_potential",
    "effective_contraception",
    "consent_signed",
    "prior_trial_participation",
    "able_to_lie_flat",
    "able_to_take_oral_medication",
    "willing_to_provide_samples",
    "measurable_disease",
    "locally_advanced",
    "resectable",
    "amputee",
}
CHOICES = {
    "sex": ("female", "male"),
    "disease_status": ("primary", "recurrent", "metastatic"),
    "site_group": ("extremity", "trunk", "retroperitoneum", "head_and_neck", "visceral", "bone", "other"),
    "grade": ("G1", "G2", "G3", "GX"),
    "depth": ("superficial", "deep"),
    "confirmation": ("histological", "cytological", "clinical", "radiological"),
    "stage_n": ("N0", "N1", "NX"),
    "stage_m": ("M0", "M1", "MX"),
}


def test_the_facts_rules_use_are_all_there_with_their_types_and_values():
    assert {n for n, (t, _) in SCALARS.items() if t == "boolean"} == BOOLEANS
    assert {n for n, (t, _) in SCALARS.items() if t == "string"} == {*CHOICES, "stage_t"}
    assert SCALAR_VALUES == CHOICES
    assert SCALARS["pregnant"] == ("boolean", "pregnancy status")
    assert SCALARS["stage_t"] == ("string", "T stage")


def test_collections_and_their_item_fields():
    assert {n: dated for n, (_, dated) in COLLECTIONS.items()} == {
        "treatments": True,
        "conditions": True,
        "medications": True,
        "metastases": True,
        "toxicities": True,
        "allergies": False,
        "other_malignancies": True,
        "lesions": True,
    }
    assert COLLECTIONS["treatments"][0] is patient.Treatment
    assert ITEM_QUANTITY_UNITS == {
        "lesions": {"longest_diameter": "mm", "shortest_diameter": "mm"},
        "conditions": {"volume": "mL"},
    }
    assert ONCOTREE_ITEM_FIELDS == {"other_malignancies": ("histology",)}
    assert ITEM_FIELDS["treatments"]["anticancer"] is bool  # derived by the facts
    assert ITEM_FIELDS["medications"]["classes"] == typing.get_args(patient.DrugClass)
    assert ITEM_FIELDS["metastases"]["site"] == typing.get_args(patient.MetastasisSite)


@pytest.mark.parametrize(
    "name",
    [
        "format_version",
        "id",
        "as_of",
        "histology",
        "primary_site",
        "system",
        "labs",
        "blood_pressure",
        "attestations",
        "status",
    ],
)
def test_what_is_not_a_fact_or_collection(name):
    assert name not in SCALARS and name not in COLLECTIONS


def test_every_fact_is_set_by_the_facts_builder():
    facts = build_facts(Patient(id="x"), dt.date(2026, 1, 1))
    assert set(facts.scalars) == set(SCALARS)
    assert all(v is None for v in facts.scalars.values())  # nothing recorded: nothing known


def test_a_nested_fact_is_read_from_its_place():
    p = Patient.model_validate(
        {
            "id": "x",
            "diagnosis": {"status": "recurrent", "stage": {"n": "N1", "t": "T2b"}},
            "administrative": {"able_to_lie_flat": False},
        }
    )
    s = build_facts(p, dt.date(2026, 1, 1)).scalars
    assert (s["disease_status"], s["stage_n"], s["stage_t"], s["stage_m"]) == ("recurrent", "N1", "T2b", None)
    assert s["able_to_lie_flat"] is False and s["consent_signed"] is None


def test_every_quantity_field_of_an_item_says_its_unit():
    for name, (model, _) in COLLECTIONS.items():
        for fname, info in model.model_fields.items():
            if info.annotation is Quantity or Quantity in typing.get_args(info.annotation):
                assert any(isinstance(m, Measured) for m in info.metadata), f"{name}.{fname}"


# ------------------------------------------------------------ a profile model with additions


class Administrative(patient.Administrative):
    able_to_swallow: bool | None = None


Diagnosis = create_model(
    "Diagnosis",
    __base__=patient.Diagnosis,
    grade=(Literal["G1", "G2", "G3", "G4", "GX"] | None, None),
    laterality=(Literal["left", "right"] | None, None),
)


class Device(BaseModel):
    kind: Literal["pacemaker", "port"]
    implanted: dt.date | None = None
    size: Annotated[Quantity | None, Measured("mm")] = None
    tumour: Annotated[str | None, OncoTreeCode] = None


class Consent(BaseModel):
    given: bool | None = None


Extended = create_model(
    "Patient",
    __base__=Patient,
    administrative=(Administrative | None, None),
    diagnosis=(Diagnosis | None, None),
    devices=(list[Device] | None, None),
    frail=(bool | None, None),
)


def test_a_field_or_value_added_to_the_profile_is_in_the_vocabulary():
    v = derive(Extended)
    assert v.scalars["able_to_swallow"] == Scalar(
        "able_to_swallow", ("administrative", "able_to_swallow"), "boolean", "able to swallow"
    )
    assert v.scalars["frail"] == Scalar("frail", ("frail",), "boolean", "frail")
    assert v.scalars["laterality"].values == ("left", "right")
    assert v.scalars["grade"].values == ("G1", "G2", "G3", "G4", "GX")
    assert v.collections["devices"] == (Device, True)
    assert v.item_fields["devices"]["kind"] == ("pacemaker", "port")
    assert v.item_quantity_units["devices"] == {"size": "mm"}
    assert v.oncotree_item_fields["devices"] == ("tumour",)
    # and nothing else moved
    base = derive(Patient)
    assert set(v.scalars) - set(base.scalars) == {"able_to_swallow", "frail", "laterality"}
    assert set(v.collections) - set(base.collections) == {"devices"}


def test_two_fields_that_would_be_one_fact_are_refused():
    clash = create_model(
        "Patient", __base__=Patient, consent=(Consent | None, None), given=(bool | None, None)
    )
    with pytest.raises(
        ValueError,
        match=r"given and consent\.given would both be the fact "
        r"'given': name one of them in vocabulary\.RENAMED",
    ):
        derive(clash)


def test_a_derived_fact_is_not_read_from_the_profile():
    assert (
        Scalar("amputee", (), "boolean", DERIVED_SCALARS["amputee"][1]) == derive(Patient).scalars["amputee"]
    )


@pytest.mark.parametrize(
    "word, choices, hint",
    [
        ("pregnnt", SCALARS, "; did you mean 'pregnant'?"),
        ("zzz", SCALARS, ""),
        ("G4", ("G1", "GX"), ""),
    ],
)
def test_suggest(word, choices, hint):
    assert suggest(word, choices) == hint


def test_a_constrained_number_field_is_a_number():
    """dose_gy is a non-negative Decimal (Annotated): a numeric where test on it compiles, a text
    match does not."""
    from eligimatch.engine.compile import compile_node
    from eligimatch.engine.nodes.base import Problems

    assert ITEM_FIELDS["treatments"]["dose_gy"] is Decimal
    ok = Problems(compile_node)
    compile_node({"exists": "treatments", "where": {"dose_gy": {"op": ">=", "value": 30}}}, "x", ok)
    assert ok == []
    bad = Problems(compile_node)
    compile_node({"exists": "treatments", "where": {"dose_gy": "high"}}, "x", bad)
    assert bad and "dose_gy" in bad[0][0]
