"""The ``exists`` node: some item of a collection matches its ``where`` tests and falls in its
window (built by the ``exists`` kind, :mod:`.exists`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from ...dates import Duration
from ...facts import Facts
from ...items import Item
from ..core import Outcome, Truth, unknown
from .base import EvalContext, Node
from .field_tests import FieldTest
from .where import Match, match_details, match_gaps, match_value

if TYPE_CHECKING:
    from ..columns import Chunk, Codes


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
    current: bool = False  # only items still going on at as_of

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

    def status(self, facts: Facts, ctx: EvalContext) -> Truth:
        items = facts.collections.get(self.collection)
        if items is None:
            return None
        start_of_window = _window_start(self.window, facts.as_of) if self.window else None
        unsure = False
        for item in items:
            v = self._match(item, facts, start_of_window)
            if v is True:
                return True
            if v is None:
                unsure = True
        return None if unsure else False

    def columns(self, chunk: Chunk, ctx: EvalContext) -> Codes:
        from ..itemcolumns import exists

        return exists(self, chunk)

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        items = facts.collections.get(self.collection)
        what = self.description

        def span() -> str:
            return (
                f" within {self.window.describe()} before {facts.as_of}"
                if self.window
                else f" current on {facts.as_of}"
                if self.current
                else ""
            )

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
            return Outcome(
                True,
                lambda: (
                    f"{what}{span()}: "
                    + ", ".join(
                        sorted(
                            dict.fromkeys(_show_item(i) + match_details(self.where, i, facts) for i in hits)
                        )
                    )
                ),
            )
        if unsure:
            gaps = sorted(dict.fromkeys(f"{_show_item(i)}: {self._unknown_fields(i, facts)}" for i in unsure))
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


@functools.lru_cache(maxsize=1 << 14)
def _window_start(window: Duration, as_of: date) -> date:
    """The first day before a window (calendar arithmetic done once per window and date)."""
    return window.before(as_of)


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
