"""The ``where`` table of ``exists``: field equality, membership, negation, comparisons, ``any``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from ...drugs import Open
from ...facts import Facts
from ...items import Item
from ...patient import Quantity
from ...units import format_number
from ...vocabulary import DERIVED_FROM, suggest
from ..core import Truth, kleene_and, kleene_or
from .base import OPS, SYMBOL, Problems, number
from .field_tests import FieldTest, where_date, where_oncotree, where_quantity

if TYPE_CHECKING:
    from ..columns import Chunk, Codes, Items

_WHERE_FORMS = {"unit", "ref", "under", "not_under"}


@dataclass(frozen=True)
class Match:
    """One field test inside ``where``: equality, membership, negation or a comparison."""

    name: str
    kind: Literal["in", "not_in", "compare"]
    values: tuple[Any, ...] = ()
    op: str = ""
    number: Decimal | None = None
    casefold: bool = False  # free-text fields compare case-insensitively

    def item_columns(self, chunk: Chunk, items: Items) -> Codes:
        """The test on every item of a chunk's collection (the columnar runner): once per
        distinct value of the field."""
        from ..itemcolumns import by_field_value

        return by_field_value(items, self.name, self.test)

    def test(self, value: Any) -> Truth:
        if value is None:
            return None
        if isinstance(value, Open):  # partly known: a hit decides, no hit only if impossible
            hit = any((v.lower() if self.casefold else v) in self.values for v in value)
            if hit:
                return self.kind == "in"
            return None if value.may_have(self.values) else self.kind != "in"
        if self.casefold:
            value = [v.lower() for v in value] if isinstance(value, list) else str(value).lower()
        if self.kind == "compare":
            try:
                return bool(OPS[self.op](Decimal(value), self.number))
            except (TypeError, ArithmeticError):
                return None
        hit = any(v in self.values for v in value) if isinstance(value, list) else value in self.values
        return hit if self.kind == "in" else not hit

    def describe(self) -> str:
        if self.kind == "compare":
            return f"{self.name} {SYMBOL[self.op]} {format_number(self.number or Decimal(0))}"
        vals = "/".join(str(v).lower() if isinstance(v, bool) else str(v) for v in self.values)
        return f"{self.name} {'not ' if self.kind == 'not_in' else ''}{vals}"


def match_value(m: Match | FieldTest, item: Item, facts: Facts) -> Truth:
    """Test one `where` entry against an item."""
    if isinstance(m, FieldTest):
        return m.test_item(item, facts)
    return m.test(item.fields.get(m.name))


def match_gaps(m: Match | FieldTest, item: Item, facts: Facts) -> list[str]:
    """What would have to be recorded for ``m`` to decide on ``item``."""
    if isinstance(m, FieldTest):
        return m.gaps(item, facts) if m.test_item(item, facts) is None else []
    value = item.fields.get(m.name)
    if value is not None and not (isinstance(value, Open) and m.test(value) is None):
        return []
    # a drug item the catalogue could not read says which words it could not
    unread = next((v.unread for v in item.fields.values() if isinstance(v, Open) and v.unread), ())
    if unread:
        shown = ", ".join(repr(u) for u in unread)
        what = "its classes" if m.name in ("classes", "anticancer") else f"its {m.name}"
        return [f"{m.name} (the drug catalogue cannot read {shown}: classify it or record {what})"]
    if isinstance(value, Open) and value.possible is not None:  # a category the type may have
        from ...wording import display

        asked = " or ".join(display(v) for v in m.values)
        return [f"whether its {m.name} includes {asked} (it is {', '.join(value) or 'none'})"]
    sources = [f for f in DERIVED_FROM.get(m.name, ()) if f in item.fields and item.fields[f] is None]
    if value is None and sources:  # a derived field: what it is computed from
        return [f"{m.name} ({' or '.join(sources)})"]
    return [m.name]


def match_details(where: Sequence[Match | FieldTest], item: Item, facts: Facts) -> str:
    """The values an item-aware test looked at, shown after a matching item."""
    parts = [d for m in where if isinstance(m, FieldTest) and (d := m.detail(item, facts))]
    return f" [{'; '.join(parts)}]" if parts else ""


@dataclass(frozen=True)
class AnyOfFieldTest(FieldTest):
    """``any = [{...}, {...}]`` inside ``where``: the item matches at least one of the tables
    (each table: all of its field tests).  Kleene OR of Kleene ANDs."""

    alternatives: tuple[tuple[Match | FieldTest, ...], ...]
    name: str = "any"

    def _values(self, item: Item, facts: Facts) -> list[Truth]:
        return [kleene_and([match_value(m, item, facts) for m in alt]) for alt in self.alternatives]

    def test_item(self, item: Item, facts: Facts) -> Truth:
        return kleene_or(self._values(item, facts))

    def item_columns(self, chunk: Chunk, items: Items) -> Codes:
        """Kleene OR of Kleene ANDs of the alternatives' tests, each over every item."""
        from ..itemcolumns import any_of

        return any_of(chunk, items, self.alternatives)

    def gaps(self, item: Item, facts: Facts) -> list[str]:
        out: list[str] = []
        for alt, v in zip(self.alternatives, self._values(item, facts), strict=True):
            if v is None:
                out.extend(g for m in alt for g in match_gaps(m, item, facts))
        return list(dict.fromkeys(out))

    def describe(self) -> str:
        from ...wording import phrase

        parts = [" and ".join(phrase(m) for m in alt) for alt in self.alternatives]
        shown = [f"({p})" if len(alt) > 1 else p for p, alt in zip(parts, self.alternatives, strict=True)]
        return "either " + " or ".join(shown) if len(shown) > 1 else shown[0]

    def detail(self, item: Item, facts: Facts) -> str:
        for alt, v in zip(self.alternatives, self._values(item, facts), strict=True):
            if v is True:
                return match_details(alt, item, facts).strip(" []")
        return ""


def match(
    fname: str, want: Any, allowed: tuple[Any, ...] | type, where: str, problems: Problems
) -> Match | None:
    kind = "in"
    if isinstance(want, dict):
        if set(want) == {"not"}:
            kind, want = "not_in", want["not"]
        elif set(want) == {"op", "value"} and want["op"] in OPS:
            amount = number(want["value"], f"{where}.value", problems)
            if amount is None:
                return None
            if allowed not in (int, Decimal):
                problems.append((where, f"{fname} is not a number"))
                return None
            return Match(fname, "compare", op=want["op"], number=amount)
        else:
            problems.append((where, "expected a value, a list, {not = ...} or {op, value}"))
            return None
    values = want if isinstance(want, list) else [want]
    if not values:
        problems.append((where, "expected at least one value"))
        return None
    for v in values:
        if isinstance(allowed, tuple):
            if v not in allowed:
                problems.append(
                    (
                        where,
                        f"{v!r} is not a value of {fname} (one of "
                        f"{', '.join(map(str, allowed))})"
                        f"{suggest(str(v), map(str, allowed))}",
                    )
                )
                return None
        elif allowed is bool and not isinstance(v, bool):
            problems.append((where, f"{fname} is true or false, got {v!r}"))
            return None
        elif allowed is str and not isinstance(v, str):
            problems.append((where, f"{fname} is text, got {v!r}"))
            return None
        elif allowed in (int, Decimal) and (isinstance(v, bool) or not isinstance(v, int | Decimal)):
            problems.append((where, f"{fname} is a number, got {v!r}"))
            return None
    if allowed is str:
        return Match(
            fname,
            kind,  # type: ignore[arg-type]
            tuple(v.lower() for v in values),
            casefold=True,
        )
    return Match(fname, kind, tuple(values))  # type: ignore[arg-type]


def where_tests(
    collection: str,
    table: dict[str, Any],
    fields: dict[str, tuple[Any, ...] | type],
    where: str,
    problems: Problems,
) -> list[Match | FieldTest] | None:
    """The tests of one ``where`` table (``where`` is its place in the file); None after a
    problem."""
    out: list[Match | FieldTest] = []
    for fname, want in table.items():
        fwhere = f"{where}.{fname}"
        if _is_item_test(fname, want, fields.get(fname)):
            extra = _item_tests(collection, fname, want, fields, fwhere, problems)
            if extra is None:
                return None
            out.extend(extra)
            continue
        if fname not in fields:
            problems.append((fwhere, f"{collection} have no field {fname!r}{suggest(fname, fields)}"))
            return None
        m = match(fname, want, fields[fname], fwhere, problems)
        if m is None:
            return None
        out.append(m)
    return out


def _is_item_test(fname: str, want: Any, allowed: Any) -> bool:
    """Is this `where` entry an item-aware test (:mod:`.field_tests`) or ``any``?"""
    if fname == "any":
        return True
    if isinstance(want, dict):
        return set(want) != {"not"} and (
            bool(_WHERE_FORMS & set(want)) or allowed is Quantity or allowed is date
        )
    return isinstance(want, list) and bool(want) and all(isinstance(w, dict) for w in want)


def _item_tests(
    collection: str,
    fname: str,
    want: Any,
    fields: dict[str, tuple[Any, ...] | type],
    where: str,
    problems: Problems,
) -> list[FieldTest] | None:
    if fname == "any":
        return _any_of(collection, want, fields, where, problems)
    if fname not in fields:
        problems.append((where, f"{collection} have no field {fname!r}{suggest(fname, fields)}"))
        return None
    allowed = fields[fname]
    tables = want if isinstance(want, list) else [want]
    out: list[FieldTest] = []
    for i, t in enumerate(tables):
        w = f"{where}[{i}]" if isinstance(want, list) else where
        m: FieldTest | None
        if not isinstance(t, dict):
            problems.append((w, "expected a table"))
            return None
        if "under" in t or "not_under" in t:
            m = where_oncotree(collection, fname, t, w, problems)
        elif "ref" in t or allowed is date:
            m = where_date(collection, fname, t, allowed, w, problems)
        elif "unit" in t or allowed is Quantity:
            m = where_quantity(collection, fname, t, allowed, w, problems)
        else:
            problems.append(
                (w, "expected {op, value, unit}, {op, ref, plus | minus} or {under | not_under = [codes]}")
            )
            return None
        if m is None:
            return None
        out.append(m)
    return out


def _any_of(
    collection: str, want: Any, fields: dict[str, tuple[Any, ...] | type], where: str, problems: Problems
) -> list[FieldTest] | None:
    if not isinstance(want, list) or not want or not all(isinstance(t, dict) and t for t in want):
        problems.append((where, "any = [...] takes a non-empty list of non-empty tables of field tests"))
        return None
    alternatives = []
    for i, table in enumerate(want):
        alt = where_tests(collection, table, fields, f"{where}[{i}]", problems)
        if alt is None:
            return None
        alternatives.append(tuple(alt))
    return [AnyOfFieldTest(tuple(alternatives))]
