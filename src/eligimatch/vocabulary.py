"""The typed context rules may use, read from the patient profile's models (:mod:`.patient`).

Nothing here is a copy of the profile: names, types and allowed values come from the models'
annotations, so a field or a value added to :mod:`.patient` is one rules can use, and a rule that
names one the profile does not have fails when it is compiled (with a "did you mean").

* **Scalar facts** (``fact`` and ``expr`` nodes): every yes/no or closed-choice field of the
  profile outside its lists and measurements, named by its field (``pregnant``, ``grade``), a
  nested one by its place (``stage_n`` is ``diagnosis.stage.n``); ``diagnosis.status`` is
  ``disease_status``.  Free text is not a fact, except the T stage.  Facts derived when the
  facts are built (``amputee``) are listed in ``DERIVED_SCALARS``.
* **Collections** (``exists`` nodes): every list of items in the profile except the labs and
  blood pressures (read as quantities) and the attestations (answers); its items carry dates
  when their model has a date field.
* **Item fields** (``where``): the item model's fields, with the values a closed choice allows,
  plus those the facts add (``DERIVED_ITEM_FIELDS``); quantity fields marked
  :class:`~.patient.Measured` compare with a unit of their unit's dimension; fields marked
  :class:`~.patient.OncoTreeCode` may be tested by ancestry.
"""

from __future__ import annotations

import datetime as dt
import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from .patient import Measured, OncoTreeCode, Patient, Quantity, Score

__all__ = [
    "COLLECTIONS",
    "DERIVED_FROM",
    "DERIVED_ITEM_FIELDS",
    "ITEM_FIELDS",
    "ITEM_QUANTITY_UNITS",
    "ONCOTREE_ITEM_FIELDS",
    "SCALARS",
    "SCALAR_VALUES",
    "Scalar",
    "Vocabulary",
    "derive",
    "suggest",
]

ScalarType = Literal["boolean", "string"]

# Fields of the profile that are not about the patient.
PROFILE_METADATA = frozenset({"format_version", "id", "as_of"})
# Lists of the profile that are not collections: read as quantities, or answers to criteria.
NOT_COLLECTIONS = frozenset({"labs", "blood_pressure", "attestations"})
# Models read as quantities (through the analyte catalogue), never as facts.
MEASUREMENTS: tuple[type[BaseModel], ...] = (Quantity, Score)
# Facts named otherwise than by their place, and free-text fields that are facts all the same.
RENAMED: dict[tuple[str, ...], str] = {("diagnosis", "status"): "disease_status"}
FREE_TEXT_FACTS = frozenset({("diagnosis", "stage", "t")})
# Facts the facts builder derives from the whole profile: name → (type, description).
DERIVED_SCALARS: dict[str, tuple[ScalarType, str]] = {
    "amputee": ("boolean", "whether the patient has had an amputation"),
}
# How a fact is named in explanations (a fact without one is named after its field).
DESCRIPTIONS = {
    "sex": "sex",
    "pregnant": "pregnancy status",
    "breastfeeding": "breastfeeding status",
    "childbearing_potential": "childbearing potential",
    "effective_contraception": "use of effective contraception",
    "consent_signed": "signed informed consent",
    "prior_trial_participation": "prior clinical-trial participation",
    "able_to_lie_flat": "ability to lie flat",
    "able_to_take_oral_medication": "ability to take oral medication",
    "willing_to_provide_samples": "willingness to provide tissue and blood samples",
    "measurable_disease": "measurable disease by RECIST 1.1",
    "disease_status": "disease status (primary / recurrent / metastatic)",
    "locally_advanced": "whether the tumour is locally advanced",
    "resectable": "resectability",
    "site_group": "tumour site group",
    "grade": "tumour grade",
    "depth": "tumour depth",
    "confirmation": "how the diagnosis was confirmed",
    "stage_t": "T stage",
    "stage_n": "N stage",
    "stage_m": "M stage",
}
# Fields the facts builder computes for items, usable in `where` like the model's own.
DERIVED_ITEM_FIELDS: dict[str, dict[str, Any]] = {
    "treatments": {"anticancer": bool},
    "medications": {"anticancer": bool, "agents": str},
}
# the recorded fields a derived field is computed from: what to record when it is unknown
DERIVED_FROM: dict[str, tuple[str, ...]] = {"anticancer": ("involves_target_site", "intent")}


@dataclass(frozen=True)
class Scalar:
    """A scalar fact: where the profile holds it (``()`` for a derived one), its type, how
    explanations name it, and the values a closed choice allows (``None``: any string)."""

    name: str
    path: tuple[str, ...]
    type: ScalarType
    description: str
    values: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Vocabulary:
    """Everything rules may ask about a profile of one model (see the module's doc)."""

    scalars: Mapping[str, Scalar]
    collections: Mapping[str, tuple[type[BaseModel], bool]]
    item_fields: Mapping[str, Mapping[str, tuple[Any, ...] | type]]
    item_quantity_units: Mapping[str, Mapping[str, str]]
    oncotree_item_fields: Mapping[str, tuple[str, ...]]


def _bare(annotation: Any) -> Any:
    """``X`` of ``X | None``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _model(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def allowed(annotation: Any) -> tuple[Any, ...] | type:
    """A field's allowed literal values (a tuple), else its Python type (``object`` if mixed);
    a list's are those of its items."""
    ann = _bare(annotation)
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:  # a constrained type (NonNeg = Decimal ≥ 0): the type itself
        return allowed(typing.get_args(ann)[0])
    if origin is Literal:
        return typing.get_args(ann)
    if origin is list:
        return allowed(typing.get_args(ann)[0])
    return ann if isinstance(ann, type) else object


def _scalars(model: type[BaseModel], path: tuple[str, ...], out: dict[str, Scalar]) -> None:
    for fname, info in model.model_fields.items():
        here = (*path, fname)
        if not path and fname in PROFILE_METADATA:
            continue
        ann = _bare(info.annotation)
        sub = _model(ann)
        if sub is not None:
            if sub not in MEASUREMENTS:
                _scalars(sub, here, out)
            continue
        if typing.get_origin(ann) is list:
            continue
        values = allowed(ann)
        if ann is bool:
            typ: ScalarType = "boolean"
        elif isinstance(values, tuple) or (ann is str and here in FREE_TEXT_FACTS):
            typ = "string"
        else:
            continue  # free text, a number, a date, a list
        name = RENAMED.get(here, "_".join(here[1:]) or fname)
        if name in out:
            raise ValueError(
                f"{'.'.join(here)} and {'.'.join(out[name].path)} would both be the "
                f"fact {name!r}: name one of them in vocabulary.RENAMED"
            )
        desc = DESCRIPTIONS.get(name) or info.description or name.replace("_", " ")
        out[name] = Scalar(
            name, here, typ, desc, tuple(map(str, values)) if isinstance(values, tuple) else None
        )


def _is_dated(model: type[BaseModel]) -> bool:
    return any(_bare(f.annotation) is dt.date for f in model.model_fields.values())


def derive(profile: type[BaseModel] = Patient) -> Vocabulary:
    """The vocabulary of a profile model (``Patient``; a test passes a variant of it)."""
    scalars: dict[str, Scalar] = {}
    _scalars(profile, (), scalars)
    for name, (typ, desc) in DERIVED_SCALARS.items():
        scalars[name] = Scalar(name, (), typ, desc)
    collections: dict[str, tuple[type[BaseModel], bool]] = {}
    fields: dict[str, dict[str, tuple[Any, ...] | type]] = {}
    units: dict[str, dict[str, str]] = {}
    oncotree: dict[str, tuple[str, ...]] = {}
    for name, info in profile.model_fields.items():
        ann = _bare(info.annotation)
        item = _model(typing.get_args(ann)[0]) if typing.get_origin(ann) is list else None
        if item is None or name in NOT_COLLECTIONS:
            continue
        collections[name] = (item, _is_dated(item))
        fields[name] = {f: allowed(i.annotation) for f, i in item.model_fields.items()}
        fields[name].update(DERIVED_ITEM_FIELDS.get(name, {}))
        for fname, finfo in item.model_fields.items():
            for mark in finfo.metadata:
                if isinstance(mark, Measured):
                    units.setdefault(name, {})[fname] = mark.unit
                elif mark is OncoTreeCode:
                    oncotree[name] = (*oncotree.get(name, ()), fname)
    return Vocabulary(scalars, collections, fields, units, oncotree)


VOCABULARY = derive()
# The forms the compiler reads: name → (type, description); string fact → allowed values;
# collection → (item model, whether items carry dates); collection → quantity field → unit;
# collection → fields holding OncoTree codes; collection → field → allowed values or type.
SCALARS: dict[str, tuple[str, str]] = {s.name: (s.type, s.description) for s in VOCABULARY.scalars.values()}
SCALAR_VALUES: dict[str, tuple[str, ...]] = {
    s.name: s.values for s in VOCABULARY.scalars.values() if s.values is not None
}
COLLECTIONS: dict[str, tuple[type[BaseModel], bool]] = dict(VOCABULARY.collections)
ITEM_QUANTITY_UNITS: dict[str, dict[str, str]] = {
    k: dict(v) for k, v in VOCABULARY.item_quantity_units.items()
}
ONCOTREE_ITEM_FIELDS: dict[str, tuple[str, ...]] = dict(VOCABULARY.oncotree_item_fields)
ITEM_FIELDS: dict[str, dict[str, tuple[Any, ...] | type]] = {
    k: dict(v) for k, v in VOCABULARY.item_fields.items()
}


def suggest(word: str, choices: Iterable[str]) -> str:
    """'; did you mean ...?' for the closest of ``choices``, or ''."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
