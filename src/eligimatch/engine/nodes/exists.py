"""``exists``: some item of a collection matches ``where`` (and falls in the window)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ...dates import Duration, parse_duration
from ...errors import DurationError
from ...facts import Facts
from ...items import Item
from ...vocabulary import COLLECTIONS, suggest
from ...wording import describe_items
from ..core import Outcome, Truth, unknown
from .base import Bad, EvalContext, Node, NodeKind, Problems
from .field_tests import FieldTest
from .where import Match, field_info, match_details, match_gaps, match_value, where_tests


@dataclass(frozen=True)
class Exists(Node):
    """Some item of a collection matches ``where`` (and falls in the window, if any).

    Kleene: True if an item surely matches; False if the collection is recorded and every item
    surely does not; otherwise unknown (not recorded, a field or a date missing).
    """

    collection: str
    where: tuple[Match | FieldTest, ...]
    window: Duration | None
    description: str
    current: bool = False    # only items still going on at as_of

    context_free = True

    def symbols(self) -> set[str]:
        return {self.collection}

    def _in_window(self, item: Item, facts: Facts, start_of_window: date | None = None) -> Truth:
        """Does the item's period reach into the window (as_of − window, as_of]?"""
        if self.current:
            if item.end is not None:
                return item.end >= facts.as_of
            return item.ongoing
        if self.window is None:
            return True
        if start_of_window is None:
            start_of_window = self.window.before(facts.as_of)
        end = item.end
        if end is None and item.ongoing:
            return True
        if end is not None:
            return end > start_of_window
        if item.start is not None and item.start > start_of_window:
            return True
        return None

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        items = facts.collections.get(self.collection)
        what = self.description

        def span() -> str:
            return (f" within {self.window.describe()} before {facts.as_of}" if self.window
                    else f" current on {facts.as_of}" if self.current else "")

        if items is None:
            noun = self.collection.replace("_", " ")
            return unknown(f"{noun} not recorded (needed: {what}{span()})", missing=[noun])
        hits, unsure = [], []
        start_of_window = self.window.before(facts.as_of) if self.window else None
        for item in items:
            v = self._match(item, facts, start_of_window)
            if v is True:
                hits.append(item)
            elif v is None:
                unsure.append(item)
        # items are listed in a fixed order, whatever the order of the patient's list
        if hits:
            return Outcome(True, lambda: f"{what}{span()}: " + ", ".join(sorted(dict.fromkeys(
                _show_item(i) + match_details(self.where, i, facts) for i in hits))))
        if unsure:
            gaps = sorted(dict.fromkeys(
                f"{_show_item(i)}: {self._unknown_fields(i, facts)}" for i in unsure))
            # a gap is a field to record, or a question ("whether ...") to answer
            text = "; ".join(g if ": whether " in g else f"{g} not recorded" for g in gaps)
            return unknown(f"{what}{span()}: cannot tell, {text}", missing=gaps)
        return Outcome(False, lambda: f"no {what}{span()} ({len(items)} recorded)")

    def _match(self, item: Item, facts: Facts, start_of_window: date | None) -> Truth:
        """Kleene AND of the item's field tests and its window, stopping at the first False."""
        value: Truth = True
        for m in self.where:
            v = m.test(item.fields.get(m.name)) if type(m) is Match else match_value(m, item, facts)
            if v is False:
                return False
            if v is None:
                value = None
        w = self._in_window(item, facts, start_of_window)
        return False if w is False else None if w is None else value

    def _unknown_fields(self, item: Item, facts: Facts) -> str:
        names = list(dict.fromkeys(g for m in self.where for g in match_gaps(m, item, facts)))
        if (self.window is not None or self.current) and self._in_window(item, facts) is None:
            names.append("end date (or ongoing)" if item.start else "dates")
        return ", ".join(names)


def _show_item(item: Item) -> str:
    if item.start and item.end and item.start != item.end:
        when = f"{item.start} to {item.end}"
    elif item.start:
        when = str(item.start) + (" onwards" if item.ongoing else "")
    elif item.end:
        when = f"until {item.end}"
    else:
        when = "date not recorded"
    return f"{item.label} ({when})"


def build_exists(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    name = raw["exists"]
    base = where.rsplit(".", 1)[0]
    if not isinstance(name, str) or name not in COLLECTIONS:
        problems.append((where, f"unknown collection {name!r}{suggest(str(name), COLLECTIONS)}"))
        return Bad()
    model, dated = COLLECTIONS[name]
    fields = field_info(model, name)
    spec = raw.get("where", {})
    if not isinstance(spec, dict):
        problems.append((f"{base}.where", "expected a table of field = value"))
        return Bad()
    tests = where_tests(name, spec, fields, f"{base}.where", problems)
    if tests is None:
        return Bad()
    window = None
    if "within" in raw:
        if not dated:
            problems.append((f"{base}.within", f"{name} carry no dates"))
            return Bad()
        try:
            window = parse_duration(raw["within"])
        except DurationError as exc:
            problems.append((f"{base}.within", str(exc)))
            return Bad()
    current = raw.get("current", False)
    if not isinstance(current, bool) or (current and window is not None) or (
            current and not dated):
        problems.append((f"{base}.current", "expected true or false, without 'within', on a "
                                            "dated collection"))
        return Bad()
    label = raw.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        problems.append((f"{base}.label", "expected a short description of what is looked for"))
        return Bad()
    desc = label.strip() if label else describe_items(name, tests)
    return Exists(name, tuple(tests), window, desc, current)


KINDS = (NodeKind("exists", build_exists, frozenset({"where", "within", "current", "label"})),)
