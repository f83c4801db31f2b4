"""Items of the profile's collections with what all their evidence says.

* Each item keeps its fields, its active period (start, end, ongoing) and the label
  explanations name it by; an unclassified one (no ``type``, no ``site``) is named as such.
* A drug item's classes and agents come from the profile and the drug catalogue together
  (:mod:`.drugs`; partly known ones as :class:`~.drugs.Open`); treatments and medications get
  ``anticancer``; a condition gets the categories its type implies (:mod:`.evidence`), and a
  category that contradicts its type is an error.
* ``amputee`` (:mod:`.amputation`): whether any treatment was an amputation.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from .amputation import amputee
from .drugs import Open, catalogue
from .errors import Problems
from .evidence import condition_types, type_from_name
from .itemparts import Label, dump, unclassified_label
from .memo import remember
from .patient import ANTICANCER_TYPES, Condition, Patient, Treatment
from .quantities import check_date
from .vocabulary import COLLECTIONS
from .wording import display

if TYPE_CHECKING:
    from .facts import Facts

__all__ = ["DRUG_TREATMENTS", "Item", "amputee", "collections", "unclassified_label"]

# treatment types that are drug therapy: their items are read through the drug catalogue, and
# words of their names that the catalogue cannot read leave their classes unknown
DRUG_TREATMENTS = ANTICANCER_TYPES - {"radiotherapy"}


@dataclass(frozen=True)
class Item:
    """One entry of a collection (a treatment, a condition...) with its active period."""

    fields: dict[str, Any]
    start: date | None
    end: date | None  # last day; None with ongoing=True means still going on
    ongoing: bool | None
    label: str = Label()  # type: ignore[assignment]  # made from the model when first read


_DATED: dict[type, tuple[str, ...]] = {}


def _dated(cls: type) -> tuple[str, ...]:
    """The fields of an item model that may hold a date (in their order): the others are not
    looked at for dates after the evaluation date."""
    names = _DATED.get(cls)
    if names is None:
        model_fields = getattr(cls, "model_fields")  # noqa: B009 - a pydantic model's
        names = _DATED[cls] = tuple(n for n, info in model_fields.items() if _may_be_date(info.annotation))
    return names


def _may_be_date(annotation: Any) -> bool:
    """Could a value of this type be a date (itself, not inside a list or a model)?"""
    origin = typing.get_origin(annotation)
    if origin is None:
        if isinstance(annotation, type):
            return issubclass(annotation, date)
        return True  # Any, a type variable...: it may
    if origin in (typing.Union, types.UnionType):
        return any(_may_be_date(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _may_be_date(typing.get_args(annotation)[0])
    return origin is not typing.Literal and not (isinstance(origin, type) and issubclass(origin, Collection))


def _treatment_period(obj: Any) -> tuple[date | None, date | None, bool | None]:
    if obj.date is not None:
        return obj.date, obj.date, False
    return obj.start, obj.end, (False if obj.end is not None else obj.ongoing)


def _medication_period(obj: Any) -> tuple[date | None, date | None, bool | None]:
    return obj.start, obj.end, (False if obj.end is not None else obj.ongoing)


def _condition_period(obj: Any) -> tuple[date | None, date | None, bool | None]:
    ongoing = None if obj.status is None else obj.status != "resolved"
    return obj.onset, obj.resolved, (False if obj.resolved is not None else ongoing)


def _toxicity_period(obj: Any) -> tuple[date | None, date | None, bool | None]:
    return obj.date, obj.resolved, (False if obj.resolved is not None else obj.ongoing)


def _metastasis_period(obj: Any) -> tuple[date | None, date | None, bool | None]:
    ongoing = None if obj.status is None else obj.status != "resolved"
    return obj.date, None, ongoing


def _malignancy_period(obj: Any) -> tuple[date | None, date | None, bool | None]:
    ongoing = None if obj.status is None else obj.status == "active"
    return obj.date, obj.resolved, (False if obj.resolved is not None else ongoing)


def _lesion_period(obj: Any) -> tuple[date | None, date | None, bool | None]:
    return obj.date, obj.date, False


def _no_period(obj: Any) -> tuple[date | None, date | None, bool | None]:
    return None, None, None


# collection → its items' active period (start, end, ongoing)
_PERIODS = {
    "treatments": _treatment_period,
    "medications": _medication_period,
    "conditions": _condition_period,
    "toxicities": _toxicity_period,
    "metastases": _metastasis_period,
    "other_malignancies": _malignancy_period,
    "lesions": _lesion_period,
}


def _period(name: str, obj: Any) -> tuple[date | None, date | None, bool | None]:
    return _PERIODS.get(name, _no_period)(obj)


def collections(p: Patient, facts: Facts, problems: Problems) -> None:
    as_of = facts.as_of
    out = facts.collections
    new = object.__new__
    for name in COLLECTIONS:
        raw = getattr(p, name)
        if not raw:
            out[name] = None if raw is None else []
            continue
        period = _PERIODS.get(name, _no_period)
        items: list[Item] = []
        cls: type | None = None
        for i, obj in enumerate(raw):
            if type(obj) is not cls:
                cls = type(obj)
                dated = _dated(cls)
            fields = dump(obj)
            for fname in dated:
                value = fields[fname]
                if isinstance(value, date) and value > as_of:
                    check_date(value, as_of, f"{name}[{i}].{fname}", problems)
            given = None
            if name == "treatments":
                _treatment_fields(obj, fields)
            elif name == "medications":
                _drug_fields(obj, fields, drug=True, medication=True)
            elif name == "conditions":
                given = _condition_fields(obj, fields, f"{name}[{i}]", problems)
            item = new(Item)  # Item(fields, *period(obj), label), the label made when read
            values = item.__dict__
            values["fields"] = fields
            values["start"], values["end"], values["ongoing"] = period(obj)
            values["_label"] = given
            values["_collection"] = name
            values["_model"] = obj
            items.append(item)
        out[name] = items


def _drug_fields(obj: Any, fields: dict[str, Any], *, drug: bool, medication: bool = False) -> None:
    """An item's classes and agents as the profile and the drug catalogue give them together;
    partly known ones are :class:`Open`.  Medications also get ``anticancer``.  ``fields`` are
    the item's own still (its agents and route, where its model has them)."""
    r = catalogue().read(
        name=obj.name, agents=fields.get("agents"), classes=obj.classes, route=fields.get("route"), drug=drug
    )
    fields["classes"] = list(r.classes) if r.classes_known else Open(r.classes, r.unread)
    fields["agents"] = list(r.agents) if r.agents_known else Open(r.agents, r.unread)
    if medication:  # a treatment's anticancer also depends on its type (_treatment_fields)
        fields["anticancer"] = r.anticancer


_MOST = 4096  # entries of each memo of this module (bounded: the input chooses the keys)

# (type, name, agents, classes, intent, at the target site, route) → (classes, agents,
# anticancer): a pure function of the key, remembered for the treatments met most (bounded, as
# the input chooses); its lists are copied for each item, its partly known (Open) ones are
# immutable
_TREATMENTS: dict[tuple[Any, ...], tuple[Any, Any, bool | None]] = {}


def _treatment_fields(obj: Treatment, fields: dict[str, Any]) -> None:
    """A treatment's classes, agents and whether it was anticancer therapy."""
    agents, classes = obj.agents, obj.classes
    key = (
        obj.type,
        obj.name,
        None if agents is None else tuple(agents),
        None if classes is None else tuple(classes),
        obj.intent,
        obj.involves_target_site,
        fields.get("route"),  # none on a treatment now: read by _drug_fields all the same
    )
    hit = _TREATMENTS.get(key)
    if hit is None:
        _read_treatment(obj, fields)
        hit = (_copy(fields["classes"]), _copy(fields["agents"]), fields["anticancer"])
        remember(_TREATMENTS, key, hit, _MOST)
    else:  # each item has its own lists (an Open tuple is immutable)
        classes, agents, fields["anticancer"] = hit
        fields["classes"] = list(classes) if type(classes) is list else classes
        fields["agents"] = list(agents) if type(agents) is list else agents


def _copy(values: Any) -> Any:
    """A list copied (each item has its own), anything else (an Open tuple) as it is."""
    return list(values) if type(values) is list else values


def _read_treatment(obj: Treatment, fields: dict[str, Any]) -> None:
    if obj.type is None:
        # unclassified: its classes and agents are at least what the catalogue reads in it, and
        # it is anticancer therapy only if one of those says so; otherwise nothing is known
        r = catalogue().read(name=obj.name, agents=obj.agents, classes=obj.classes, route=None, drug=True)
        fields["classes"] = Open(r.classes)
        fields["agents"] = Open(r.agents)
        fields["anticancer"] = True if r.anticancer else None
        return
    _drug_fields(obj, fields, drug=obj.type in DRUG_TREATMENTS)
    if (
        obj.type in ("surgery", "procedure")
        and obj.name is None
        and obj.agents is None
        and obj.classes is None
    ):
        # an operation or procedure nobody named may have been given with a drug (an isolated
        # limb perfusion with melphalan): its drug classes and agents are not known
        fields["classes"] = Open(fields["classes"])
        fields["agents"] = Open(fields["agents"])
    # an operation on the tumour treats it, whatever intent was written down (an unplanned
    # "presumed lipoma" excision, an excisional biopsy of the sarcoma)
    site = obj.involves_target_site
    oncologic = None if obj.intent is None else obj.intent not in ("diagnostic", "non_oncologic")
    if obj.type in ANTICANCER_TYPES:
        anticancer: bool | None = True
    elif obj.type == "surgery":
        # at the tumour: it treated it; elsewhere: its intent says; where unrecorded, only an
        # oncological intent decides (a "non-oncological" operation may have been on the tumour)
        anticancer = True if site or oncologic else oncologic if site is False else None
    elif obj.type == "procedure":
        # at the tumour: what it did decides (an excision treats, a biopsy samples); where
        # unrecorded, a procedure that samples does not treat and any other may have
        treats = _procedure_treats(obj.name)
        anticancer = False if site is False else treats if site else False if treats is False else None
    else:
        anticancer = False
    if anticancer is not True and obj.type not in ANTICANCER_TYPES:
        drug = (
            catalogue()
            .read(name=obj.name, agents=obj.agents, classes=obj.classes, route=None, drug=False)
            .anticancer
        )
        anticancer = True if drug else anticancer  # isolated limb perfusion with melphalan
    fields["anticancer"] = anticancer


_REMOVES = frozenset(
    {
        "excision",
        "excisional",
        "resection",
        "excised",
        "resected",
        "enucleation",
        "debulking",
        "amputation",
        "ablation",
        "perfusion",
        "embolisation",
        "embolization",
        "chemoembolisation",
        "chemoembolization",
    }
)
_SAMPLES = frozenset({"biopsy", "aspiration", "cytology", "puncture", "drainage", "imaging"})


def _procedure_treats(name: str | None) -> bool | None:
    """Does a procedure at the tumour site treat it?  An excision or ablation does (an
    excisional biopsy removes the tumour); a core, incisional or needle biopsy does not; any other
    procedure there cannot be told from its name."""
    if name in _TREATS:
        return _TREATS[name]
    words = set(_NOT_LETTERS.sub(" ", (name or "").lower()).split())
    treats = True if words & _REMOVES else False if words & _SAMPLES else None
    remember(_TREATS, name, treats, _MOST)
    return treats


_NOT_LETTERS = re.compile(r"[^a-z]+")
_TREATS: dict[str | None, bool | None] = {}  # procedure name → _procedure_treats (bounded)


# (type, category, name of one of type "other") → (category, type, label): what
# _read_condition makes of a classified condition that raises no problem, remembered
# (bounded, as the input chooses); lists copied for each item, an Open tuple is immutable
_CONDITIONS: dict[tuple[Any, ...], tuple[Any, Any, str | None]] = {}


def _condition_fields(obj: Condition, fields: dict[str, Any], where: str, problems: Problems) -> str | None:
    """Categories implied by the type (plus the one given); the type read from the name of a
    condition of type "other".  Returns a label when the type was read from the name."""
    if obj.type is None:
        return _read_condition(obj, fields, where, problems)
    key = (obj.type, obj.category, obj.name if obj.type == "other" else None)
    hit = _CONDITIONS.get(key)
    if hit is None:
        before = len(problems)
        label = _read_condition(obj, fields, where, problems)
        if len(problems) == before:
            remember(_CONDITIONS, key, (_copy(fields["category"]), fields["type"], label), _MOST)
        return label
    category, fields["type"], label = hit
    fields["category"] = list(category) if type(category) is list else category
    return label


def _read_condition(obj: Condition, fields: dict[str, Any], where: str, problems: Problems) -> str | None:
    types = condition_types()
    if obj.type is None:
        # unclassified: its type is unknown, and so are its categories unless one was given
        # (a given category is one it has; it may have others)
        fields["category"] = None if obj.category is None else Open([obj.category])
        return None
    ctype: str = obj.type
    label = None
    if ctype == "other":
        named = type_from_name(obj.name)
        if named is not None:
            ctype = named
            fields["type"] = named
            label = f"{obj.name} [{display(named)}, read from the name]"
    spec = types[ctype]
    if obj.category is not None and obj.category not in spec.allows and obj.type != "other":
        problems.add(
            f"{where}.category",
            f"{obj.category!r} contradicts the type {obj.type!r} (which is "
            f"{', '.join(spec.implies) or 'of no fixed category'}; allowed: "
            f"{', '.join(sorted(spec.allows))})",
        )
    categories = list(spec.implies)
    if obj.category is not None and obj.category not in categories:
        categories.append(obj.category)
    if ctype == "other":
        # no taxonomy to go on: the category given is all there is, and without one nothing
        fields["category"] = None if obj.category is None else categories
    elif spec.allows - {*categories, "other"}:
        # a category the type may or may not have (a pulmonary embolism filed as cardiovascular
        # disease): leaving it out must not rule it out
        fields["category"] = Open(categories, (), possible=spec.allows - {"other"})
    else:
        fields["category"] = categories
    return label
