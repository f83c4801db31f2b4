"""How one item of a collection is read from its model, for :mod:`.items`: its fields as a
plain dict, and the label explanations name it by.

* :func:`dump` is ``model.model_dump()``, the same dict made from the model's own values: a
  nested model is dumped, a list copied, every other value (text, number, date, flag) is
  the model's (pydantic's serialiser, called for each item, cost a third of its reading).
* :class:`Label`: an item's label is made from its model when first read (explanations read
  it; status-only evaluation does not).  The model is frozen, so the label made later is the
  one made at once.
"""

from __future__ import annotations

import types
import typing
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from .wording import display, singular

__all__ = ["Label", "attrs", "dump", "get", "label", "unclassified_label"]

# the types whose values model_dump gives as they are (in Python mode)
_AS_IS = (str, int, bool, float, Decimal, date, type(None))


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types a value of ``annotation`` may have (Optional and unions unpacked)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return tuple(m for a in typing.get_args(annotation) for m in _members(a))
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    return (annotation,)


def _as_is(t: Any) -> bool:
    if typing.get_origin(t) is typing.Literal:
        return all(type(v) in _AS_IS for v in typing.get_args(t))
    return isinstance(t, type) and t in _AS_IS


def _how(annotation: Any) -> str | None:
    """How model_dump gives a field's value: "as is", "list" (a copy of a list of plain values),
    "model" (a nested model, dumped), or None (anything else: the model is dumped by pydantic)."""
    members = [m for m in _members(annotation) if m is not type(None)]
    if all(_as_is(m) for m in members):
        return "as is"
    if len(members) == 1:
        m = members[0]
        if typing.get_origin(m) is list and all(_as_is(a) for a in typing.get_args(m)):
            return "list"
        if isinstance(m, type) and issubclass(m, BaseModel):
            return "model"
    return None


# model class → (how many fields it has, those not given as they are, with how); None: the
# model is dumped by pydantic (a field of another kind, a serialiser, a computed or excluded field)
_PLANS: dict[type, tuple[int, tuple[tuple[str, str], ...]] | None] = {}


def _plan(cls: type) -> tuple[int, tuple[tuple[str, str], ...]] | None:
    if cls in _PLANS:
        return _PLANS[cls]
    model_fields = getattr(cls, "model_fields")  # noqa: B009 - a pydantic model's
    hows = [(name, _how(info.annotation)) for name, info in model_fields.items()]
    decorators = getattr(cls, "__pydantic_decorators__", None)
    plain = (
        getattr(cls, "model_dump") is BaseModel.model_dump  # noqa: B009
        and decorators is not None
        and not decorators.field_serializers
        and not decorators.model_serializers
        and not getattr(cls, "model_computed_fields", None)
        and not any(info.exclude for info in model_fields.values())
        and all(h is not None for _, h in hows)
    )
    plan = (len(hows), tuple((n, h) for n, h in hows if h != "as is")) if plain else None
    _PLANS[cls] = plan  # type: ignore[assignment]
    return plan  # type: ignore[return-value]


def dump(obj: BaseModel) -> dict[str, Any]:
    """``obj.model_dump()``: every field by name, nested models as dicts, lists copied."""
    cls = type(obj)
    plan = _PLANS[cls] if cls in _PLANS else _plan(cls)
    fields = obj.__dict__
    if plan is None or len(fields) != plan[0]:  # not every field set: as pydantic dumps it
        return obj.model_dump()
    fields = fields.copy()
    for name, how in plan[1]:
        value = fields[name]
        if value is not None:
            fields[name] = list(value) if how == "list" else value.model_dump()
    return fields


# ---------------------------------------------------------------------------- labels


def unclassified_label(name: str, obj: Any) -> str | None:
    """How an unclassified item (a condition or treatment without ``type``, a metastasis
    without ``site``) is named in explanations, or None for a classified one."""
    if name == "conditions" and obj.type is None:
        code = obj.code.code if obj.code is not None else ""
        text = obj.name or (obj.code.display if obj.code is not None else None) or ""
        shown = " ".join(dict.fromkeys(x for x in (code, text) if x))
        return f"Condition '{shown}' could not be classified"
    if name == "treatments" and obj.type is None:
        shown = obj.name or ", ".join(obj.agents or ())
        return f"Treatment '{shown}' could not be classified"
    if name == "metastases" and obj.site is None:
        return "a metastasis whose site could not be classified"
    return None


_LABEL_ATTRS = ("name", "term", "substance", "description", "type", "site", "kind")
_ATTRS_OF: dict[tuple[type, tuple[str, ...]], tuple[str, ...]] = {}


def attrs(cls: type, names: tuple[str, ...]) -> tuple[str, ...]:
    """Those of ``names`` an item of ``cls`` has (a model's fields, or of the class): getattr with
    a default on a model is slow where it has no such attribute (pydantic's __getattr__ raises)."""
    found = _ATTRS_OF.get((cls, names))
    if found is None:
        fields = getattr(cls, "model_fields", {})
        found = _ATTRS_OF[cls, names] = tuple(a for a in names if a in fields or hasattr(cls, a))
    return found


def get(obj: Any, name: str) -> Any:
    """``getattr(obj, name, None)``, fast where the model has no such field."""
    return getattr(obj, name) if attrs(type(obj), (name,)) else None


def label(name: str, obj: Any) -> str:
    """How an item of collection ``name`` is named in explanations."""
    unclassified = unclassified_label(name, obj)
    if unclassified is not None:
        return unclassified
    for attr in attrs(type(obj), _LABEL_ATTRS):
        v = getattr(obj, attr)
        if v:
            text = str(v) if attr in ("name", "term", "substance", "description") else display(v)
            break
    else:
        text = singular(name)
    if name == "treatments" and get(obj, "name") and obj.type not in text:
        text = f"{display(obj.type)} ({obj.name})"
    if name == "conditions" and get(obj, "name"):
        text = f"{obj.name} [{display(obj.type)}]"
    return text


class Label:
    """The ``label`` field of an item: the one given, or, for an item read from a profile
    (``_collection`` and ``_model``), :func:`label` of its model, made when first read."""

    def __get__(self, item: Any, owner: type | None = None) -> str:
        if item is None:  # no default: the field is required
            raise AttributeError("label")
        values = item.__dict__
        text: str | None = values["_label"]
        if text is None:
            text = values["_label"] = label(values["_collection"], values["_model"])
        return text

    def __set__(self, item: Any, text: str) -> None:
        item.__dict__["_label"] = text
