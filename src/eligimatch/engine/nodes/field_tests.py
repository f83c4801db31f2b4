"""Item-aware tests inside ``where``: a Quantity field with a unit, a date field against the item's own
period or the evaluation date, OncoTree ancestry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from ...dates import Duration, parse_duration
from ...errors import DurationError, UnitError
from ...facts import Facts
from ...items import Item
from ...patient import Quantity
from ...units import UnitSpec, convert, format_number, parse_unit
from ...vocabulary import COLLECTIONS, ITEM_QUANTITY_UNITS, ONCOTREE_ITEM_FIELDS, suggest
from ..core import Truth
from .base import OPS, SYMBOL, Problems, censored, number

if TYPE_CHECKING:
    from ..columns import Chunk, Codes, Items

_DATE_REFS = ("start", "end", "as_of")


class FieldTest:
    """A `where` entry that needs the whole item (or the evaluation date), not one value."""

    name: str

    def test_item(self, item: Item, facts: Facts) -> Truth:
        raise NotImplementedError

    def item_columns(self, chunk: Chunk, items: Items) -> Codes:
        """The test on every item of a chunk's collection (the columnar runner): item by item."""
        from ..itemcolumns import item_by_item

        return item_by_item(chunk, items, self.test_item)

    def gaps(self, item: Item, facts: Facts) -> list[str]:
        return [self.name]

    def describe(self) -> str:
        raise NotImplementedError

    def detail(self, item: Item, facts: Facts) -> str:
        return ""


@dataclass(frozen=True)
class QuantityFieldTest(FieldTest):
    """``field = {op, value, unit}``: a Quantity field of the item against a threshold.

    The item's value is converted into the threshold's unit with :func:`units.convert` (exact);
    a censored value (``comparator``) decides only when every value it allows does; a unit that
    cannot be read or has another dimension leaves the item unknown.
    """

    name: str
    op: str
    value: Decimal
    unit: UnitSpec

    def _converted(self, raw: Any) -> Fraction | None:
        try:
            return convert(raw["value"], parse_unit(str(raw["unit"])), self.unit)
        except UnitError:
            return None

    def test_item(self, item: Item, facts: Facts) -> Truth:
        raw = item.fields.get(self.name)
        if raw is None:
            return None
        v = self._converted(raw)
        if v is None:
            return None
        limit = Fraction(self.value)
        if raw.get("comparator"):
            return censored(self.op, raw["comparator"], v, limit)
        return bool(OPS[self.op](v, limit))

    def item_columns(self, chunk: Chunk, items: Items) -> Codes:
        """The test on every item of a chunk's collection: once per distinct value of the field
        (all it reads)."""
        from ..itemcolumns import by_field_item

        return by_field_item(chunk, items, self.name, self.test_item)

    def gaps(self, item: Item, facts: Facts) -> list[str]:
        raw = item.fields.get(self.name)
        if raw is None:
            return [self.name]
        if self._converted(raw) is None:
            return [
                f"{self.name} in a unit like {self.unit.text} (the unit {raw['unit']!r} "
                f"cannot be read as one)"
            ]
        return [
            f"exact {self.name} (a censored {raw['comparator']}"
            f"{format_number(raw['value'])} {raw['unit']} cannot decide)"
        ]

    def describe(self) -> str:
        return f"{self.name} {SYMBOL[self.op]} {format_number(self.value)} {self.unit.text}"

    def detail(self, item: Item, facts: Facts) -> str:
        raw = item.fields.get(self.name)
        if raw is None:
            return ""
        shown = f"{raw.get('comparator') or ''}{format_number(raw['value'], 6)} {raw['unit']}"
        v = self._converted(raw)
        if v is not None and parse_unit(str(raw["unit"])).key != self.unit.key:
            shown += f" = {format_number(v, 6)} {self.unit.text}"
        return f"{self.name} {shown}"


DateRef = Literal["start", "end", "as_of"]
_REF_TEXT = {"start": "start", "end": "end", "as_of": "the evaluation date"}


@dataclass(frozen=True)
class DateFieldTest(FieldTest):
    """``field = {op, ref, plus | minus}``: a date field against a date of the item's own period
    (``start``, ``end``) or the evaluation date (``as_of``), shifted by a calendar duration.

    An item still going on (no end, ``ongoing`` true) has an open end, later than any date.
    """

    name: str
    op: str
    ref: DateRef
    offset: Duration | None = None
    sign: int = 1  # +1: plus, -1: minus

    def _reference(self, item: Item, facts: Facts) -> date | Literal["open"] | None:
        if self.ref == "as_of":
            base: date | None = facts.as_of
        elif self.ref == "start":
            base = item.start
        else:
            if item.end is None and item.ongoing:
                return "open"
            base = item.end
        if base is None or self.offset is None:
            return base
        return self.offset.after(base) if self.sign > 0 else self.offset.before(base)

    def test_item(self, item: Item, facts: Facts) -> Truth:
        d = item.fields.get(self.name)
        ref = self._reference(item, facts)
        if not isinstance(d, date) or ref is None:
            return None
        if ref == "open":
            return self.op in ("<", "<=", "!=")
        return bool(OPS[self.op](d, ref))

    def item_columns(self, chunk: Chunk, items: Items) -> Codes:
        """The test on every item of a chunk's collection, on day numbers (:func:`..itemcolumns.dated`)."""
        from ..itemcolumns import dated

        return dated(self, chunk, items)

    def gaps(self, item: Item, facts: Facts) -> list[str]:
        out = [] if isinstance(item.fields.get(self.name), date) else [self.name]
        if self._reference(item, facts) is None:
            out.append("start date" if self.ref == "start" else "end date (or ongoing)")
        return out

    def describe(self) -> str:
        shift = ""
        if self.offset is not None:
            shift = f" {'+' if self.sign > 0 else '−'} {self.offset.describe()}"
        return f"{self.name} {SYMBOL[self.op]} {_REF_TEXT[self.ref]}{shift}"

    def detail(self, item: Item, facts: Facts) -> str:
        d = item.fields.get(self.name)
        if self.ref == "as_of":
            return f"{self.name} {d}"
        base = item.start if self.ref == "start" else item.end
        shown = "ongoing" if base is None and item.ongoing else str(base)
        return f"{self.name} {d}, {self.ref} {shown}"


@dataclass(frozen=True)
class OncoTreeFieldTest(FieldTest):
    """``field = {under = [codes]}`` / ``{not_under = [codes]}``: an OncoTree code field is (not)
    one of the codes or below one of them; a code OncoTree does not know leaves the item unknown."""

    name: str
    codes: tuple[str, ...]
    negate: bool = False

    def test_item(self, item: Item, facts: Facts) -> Truth:
        from ...ontology import oncotree

        code = item.fields.get(self.name)
        tree = oncotree()
        if code is None or code not in tree:
            return None
        hit = any(tree.is_a(code, c) for c in self.codes)
        return not hit if self.negate else hit

    def item_columns(self, chunk: Chunk, items: Items) -> Codes:
        """The test on every item of a chunk's collection: once per distinct code."""
        from ..itemcolumns import by_field_item

        return by_field_item(chunk, items, self.name, self.test_item)

    def gaps(self, item: Item, facts: Facts) -> list[str]:
        code = item.fields.get(self.name)
        if code is None:
            return [f"{self.name} (OncoTree code)"]
        return [f"{self.name} as an OncoTree code ({code!r} is not one)"]

    def describe(self) -> str:
        return f"{self.name} {'not ' if self.negate else ''}under {'/'.join(self.codes)}"

    def detail(self, item: Item, facts: Facts) -> str:
        return f"{self.name} {item.fields.get(self.name)}"


def where_quantity(
    collection: str, fname: str, t: dict[str, Any], allowed: Any, where: str, problems: Problems
) -> FieldTest | None:
    ref_unit = ITEM_QUANTITY_UNITS.get(collection, {}).get(fname)
    if allowed is not Quantity or ref_unit is None:
        problems.append((where, f"{fname} of {collection} is not a quantity with a unit"))
        return None
    if set(t) != {"op", "value", "unit"}:
        problems.append(
            (
                where,
                f"compare {fname} as {{ op, value, unit }}, e.g. unit = "
                f"{ref_unit!r}; got {', '.join(sorted(t))}",
            )
        )
        return None
    if t["op"] not in OPS:
        problems.append((f"{where}.op", f"expected one of {' '.join(OPS)}, got {t['op']!r}"))
        return None
    amount = number(t["value"], f"{where}.value", problems)
    if amount is None:
        return None
    try:
        spec = parse_unit(str(t["unit"]))
    except UnitError as exc:
        problems.append((f"{where}.unit", str(exc)))
        return None
    if spec.dimensionality != parse_unit(ref_unit).dimensionality:
        problems.append(
            (f"{where}.unit", f"{t['unit']!r} is not a unit of {fname} (expected a unit like {ref_unit})")
        )
        return None
    return QuantityFieldTest(fname, t["op"], amount, spec)


def where_date(
    collection: str, fname: str, t: dict[str, Any], allowed: Any, where: str, problems: Problems
) -> FieldTest | None:
    if allowed is not date:
        problems.append((where, f"{fname} of {collection} is not a date"))
        return None
    extra = set(t) - {"op", "ref", "plus", "minus"}
    if extra or "op" not in t or "ref" not in t:
        problems.append(
            (where, f"compare the date {fname} as {{ op, ref, plus | minus }}; got {', '.join(sorted(t))}")
        )
        return None
    if t["op"] not in OPS:
        problems.append((f"{where}.op", f"expected one of {' '.join(OPS)}, got {t['op']!r}"))
        return None
    ref = t["ref"]
    if ref not in _DATE_REFS:
        problems.append(
            (
                f"{where}.ref",
                f"expected 'start' or 'end' (the item's own period) or "
                f"'as_of' (the evaluation date), got {ref!r}",
            )
        )
        return None
    if ref != "as_of" and not COLLECTIONS[collection][1]:
        problems.append((f"{where}.ref", f"{collection} carry no dates"))
        return None
    if "plus" in t and "minus" in t:
        problems.append((where, "give plus or minus, not both"))
        return None
    key = "plus" if "plus" in t else "minus" if "minus" in t else None
    offset = None
    if key is not None:
        try:
            offset = parse_duration(t[key])
        except DurationError as exc:
            problems.append((f"{where}.{key}", str(exc)))
            return None
    return DateFieldTest(fname, t["op"], ref, offset, -1 if key == "minus" else 1)


def where_oncotree(
    collection: str, fname: str, t: dict[str, Any], where: str, problems: Problems
) -> FieldTest | None:
    from ...ontology import oncotree

    if fname not in ONCOTREE_ITEM_FIELDS.get(collection, ()):
        problems.append((where, f"{fname} of {collection} does not hold OncoTree codes"))
        return None
    if set(t) not in ({"under"}, {"not_under"}):
        problems.append((where, "give under = [codes] or not_under = [codes]"))
        return None
    key = "under" if "under" in t else "not_under"
    codes = t[key]
    if not isinstance(codes, list) or not codes:
        problems.append((f"{where}.{key}", "expected a non-empty list of OncoTree codes"))
        return None
    tree = oncotree()
    for code in codes:
        if not isinstance(code, str) or code not in tree:
            problems.append(
                (f"{where}.{key}", f"{code!r} is not an OncoTree code{suggest(str(code), tree.nodes)}")
            )
            return None
    return OncoTreeFieldTest(fname, tuple(codes), negate=key == "not_under")
