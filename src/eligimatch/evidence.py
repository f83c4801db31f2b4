"""Clinical facts from all the evidence: condition types and their categories, and the evidence
concepts (HIV, hepatitis B, hepatitis C) that rules ask about by name.

* ``data/condition_types.toml``: each condition type implies its categories (multiple sclerosis
  is autoimmune), allows a few more, and may be recognised from the name of a condition recorded
  as type "other" ("cellulitis").
* ``data/evidence.toml``: each concept lists the problem-list types, lab results and medication
  classes that establish it, rule it out, or send it to review.  :func:`assess` weighs them
  (positive evidence wins; disagreement is never resolved towards "absent").

Nothing here knows about trials; :class:`eligimatch.engine.nodes.evidence.Evidence` is the rule node.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from .diskcache import toml_table

if TYPE_CHECKING:
    from .facts import Facts
    from .items import Item
    from .quantities import QuantityFact

__all__ = ["Concept", "ConditionType", "Finding", "assess", "concepts", "condition_types"]


def _text(name: str) -> str:
    return resources.files("eligimatch.data").joinpath(name).read_text(encoding="utf-8")


def _words(text: str) -> str:
    return " " + " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split()) + " "


# ---------------------------------------------------------------------------- condition types


@dataclass(frozen=True)
class ConditionType:
    name: str
    implies: tuple[str, ...]
    allows: frozenset[str]
    names: tuple[str, ...]  # phrases of a name that identify the type, as " word word "


@functools.cache
def condition_types() -> dict[str, ConditionType]:
    raw = toml_table(_text("condition_types.toml"))
    out = {}
    for name, entry in raw.items():
        implies = tuple(entry.get("implies", ()))
        out[name] = ConditionType(
            name=name,
            implies=implies,
            allows=frozenset((*implies, *entry.get("allows", ()), "other")),
            names=tuple(_words(n) for n in entry.get("names", ())),
        )
    return out


def type_from_name(name: str | None) -> str | None:
    """The one condition type whose listed phrases appear in ``name`` (whole words), or None."""
    if not name:
        return None
    words = _words(name)
    hits = {t.name for t in condition_types().values() if any(p in words for p in t.names)}
    return hits.pop() if len(hits) == 1 else None


# ---------------------------------------------------------------------------- evidence concepts


@dataclass(frozen=True)
class ResultTest:
    test: str
    values: tuple[str, ...] = ()  # qualitative results that count
    detectable: bool | None = None  # for viral loads

    def matches(self, q: QuantityFact) -> bool:
        if self.detectable is None:
            return q.result in self.values
        if q.value is None:
            return False
        shown = q.value > 0 and q.comparator not in ("<", "<=")
        return shown is self.detectable

    def describe(self) -> str:
        if self.detectable is None:
            return f"{self.test} {'/'.join(self.values)}"
        return f"{self.test} {'detectable' if self.detectable else 'undetectable'}"


@dataclass(frozen=True)
class Concept:
    key: str
    label: str
    conditions: tuple[str, ...]
    condition_status: Literal["any", "not_resolved"]
    positive: tuple[ResultTest, ...]
    negative: tuple[ResultTest, ...]
    review: tuple[ResultTest, ...]
    review_classes: tuple[str, ...]

    def tests(self) -> set[str]:
        return {t.test for t in (*self.positive, *self.negative, *self.review)}


def _tests(raw: list[dict[str, Any]], where: str) -> tuple[ResultTest, ...]:
    from .units import analytes

    out = []
    for entry in raw:
        test = entry["test"]
        a = analytes().get(test)
        if a is None:
            raise ValueError(f"evidence.toml [{where}]: unknown test {test!r}")
        if "detectable" in entry:
            if a.kind != "quantity":
                raise ValueError(f"evidence.toml [{where}]: {test} is not a viral load")
            out.append(ResultTest(test, detectable=bool(entry["detectable"])))
        else:
            values = tuple(entry["is"])
            if a.kind != "qualitative" or set(values) - set(a.values):
                raise ValueError(f"evidence.toml [{where}]: {values} are not results of {test}")
            out.append(ResultTest(test, values=values))
    return tuple(out)


@functools.cache
def concepts() -> dict[str, Concept]:
    raw = toml_table(_text("evidence.toml"))
    types = condition_types()
    out = {}
    for key, e in raw.items():
        unknown = [c for c in e.get("conditions", ()) if c not in types]
        if unknown:
            raise ValueError(f"evidence.toml [{key}]: unknown condition types {unknown}")
        out[key] = Concept(
            key=key,
            label=e["label"],
            conditions=tuple(e.get("conditions", ())),
            condition_status=e.get("condition_status", "any"),
            positive=_tests(e.get("positive", []), key),
            negative=_tests(e.get("negative", []), key),
            review=_tests(e.get("review", []), key),
            review_classes=tuple(e.get("review_classes", ())),
        )
    return out


# ---------------------------------------------------------------------------- assessment


@dataclass(frozen=True)
class Finding:
    """The answer to "does the patient have <concept>?" with what decided it."""

    value: bool | None
    text: str
    missing: tuple[str, ...] = ()
    review: tuple[str, ...] = ()


def _result_text(q: QuantityFact) -> str:
    return f"{q.analyte.short} {q.shown()}"


def _condition_hits(c: Concept, items: list[Item]) -> list[Item]:
    hits = []
    for item in items:
        if item.fields.get("type") not in c.conditions:
            continue
        if c.condition_status == "not_resolved" and item.fields.get("status") == "resolved":
            continue
        hits.append(item)
    return hits


def _current(item: Item, as_of: date) -> bool | None:
    if item.end is not None:
        return item.end >= as_of
    return item.ongoing


def assess(c: Concept, facts: Facts, lab_limit: int | None, *, rule_out: str = "record") -> Finding:
    """Weigh every kind of evidence for concept ``c`` (see ``data/evidence.toml``).

    ``lab_limit``: how many days old a negative result may be to rule the concept out.
    ``rule_out``: "record" (a recorded problem list without the condition rules it out) or
    "test" (only a recent negative result does).
    """
    conditions = facts.collections.get("conditions")
    # 1. positive evidence, whatever its age
    found: list[str] = []
    listed = _condition_hits(c, conditions) if conditions is not None else []
    # items are named in a fixed order, whatever the order of the patient's lists
    found.extend(sorted(dict.fromkeys(f"{item.label} on the problem list" for item in listed)))
    for t in c.positive:
        q = facts.quantity(t.test)
        if q is not None and t.matches(q):
            note = "" if listed or conditions is None else ", although the problem list does not record it"
            found.append(f"{_result_text(q)}{note}")
    if found:
        return Finding(True, f"{c.label}: " + "; ".join(found))
    # 2. a recent negative test
    negatives = []
    for t in c.negative:
        q = facts.quantity(t.test)
        if q is None or not t.matches(q) or q.date is None:
            continue
        if lab_limit is None or (facts.as_of - q.date).days <= lab_limit:
            negatives.append(_result_text(q))
    # 3. review evidence, unless a recent negative test settles it
    reasons = []
    for t in c.review:
        q = facts.quantity(t.test)
        if q is not None and t.matches(q):
            reasons.append(_result_text(q))
    meds = facts.collections.get("medications") or []
    reasons.extend(
        sorted(
            dict.fromkeys(
                f"{item.label} (also given for other reasons)"
                for item in meds
                if set(item.fields.get("classes") or ()) & set(c.review_classes)
                and _current(item, facts.as_of) is not False
            )
        )
    )
    if negatives:
        shown = "; ".join(negatives)
        extra = f" (despite {'; '.join(reasons)})" if reasons else ""
        return Finding(False, f"no {c.label}: {shown}{extra}")
    if reasons:
        question = f"whether the patient has {c.label} ({'; '.join(reasons)})"
        return Finding(None, f"needs clinician review: {question}", review=(question,))
    # 4. the problem list
    tests = " or ".join(dict.fromkeys(facts_short(t.test) for t in c.negative))
    window = f" within {lab_limit} days" if lab_limit is not None else ""
    stale = _stale_negatives(c, facts, lab_limit)
    # an unclassified condition (no type: a code eligimatch cannot place) may be this one, so
    # a problem list that holds one cannot rule the concept out
    unclassified = [i.label for i in conditions or () if i.fields.get("type") is None]
    if rule_out == "record" and unclassified:
        why = (
            f"{c.label}: not among the classified conditions, but "
            f"{'; '.join(sorted(unclassified))}, and no {tests} result{window}{stale}"
        )
        return Finding(
            None, why, missing=(f"the type of the unclassified conditions or an {tests} result{window}",)
        )
    if rule_out == "record" and conditions is not None:
        return Finding(
            False,
            f"no {c.label}: not on the problem list ({len(conditions)} "
            f"conditions recorded), no positive test",
        )
    if rule_out == "test":
        where = "not on the problem list" if conditions is not None else "conditions not recorded"
        why = f"{c.label}: {where}, but a negative {tests}{window} is needed{stale}"
        return Finding(None, why, missing=(f"{tests} result{window}",))
    why = f"{c.label}: conditions not recorded and no {tests} result{window}{stale}"
    return Finding(None, why, missing=(f"conditions (problem list) or an {tests} result{window}",))


def holds(c: Concept, facts: Facts, lab_limit: int | None, *, rule_out: str = "record") -> bool | None:
    """The value of :func:`assess`, step by step the same, without building its text (for the
    status-only runners; tests/test_graph.py checks that both agree)."""
    positive, negative_age, otherwise = parts(c, facts, rule_out)
    if positive:
        return True
    if negative_age is not None and (lab_limit is None or negative_age <= lab_limit):
        return False
    return otherwise


def parts(c: Concept, facts: Facts, rule_out: str) -> tuple[bool, int | None, bool | None]:
    """What decides :func:`holds`, but for the lab window: is there positive evidence; how
    many days old the newest negative test is (None: no dated one); and the value when no
    recent negative test settles it (review evidence, then the problem list)."""
    conditions = facts.collections.get("conditions")
    if conditions is not None and _condition_hits(c, conditions):
        return True, None, True
    quantity = facts.quantity
    if any((q := quantity(t.test)) is not None and t.matches(q) for t in c.positive):
        return True, None, True
    ages = [
        (facts.as_of - q.date).days
        for t in c.negative
        if (q := quantity(t.test)) is not None and t.matches(q) and q.date is not None
    ]
    negative_age = min(ages) if ages else None
    if any((q := quantity(t.test)) is not None and t.matches(q) for t in c.review):
        return False, negative_age, None
    classes = set(c.review_classes)
    if any(
        set(item.fields.get("classes") or ()) & classes and _current(item, facts.as_of) is not False
        for item in facts.collections.get("medications") or ()
    ):
        return False, negative_age, None
    if rule_out == "record" and conditions is not None:
        unclassified = any(i.fields.get("type") is None for i in conditions)
        return False, negative_age, None if unclassified else False
    return False, negative_age, None


def _stale_negatives(c: Concept, facts: Facts, lab_limit: int | None) -> str:
    old = []
    for t in c.negative:
        q = facts.quantity(t.test)
        if q is not None and t.matches(q) and q.date is not None:
            old.append(
                f"{q.analyte.short} {q.result or q.shown()} on {q.date} is "
                f"{(facts.as_of - q.date).days} days old"
            )
        elif q is not None and t.matches(q):
            old.append(f"{q.analyte.short} {q.result or q.shown()} has no date")
    return f" ({'; '.join(old)})" if old else ""


def facts_short(test: str) -> str:
    from .units import analytes

    return analytes()[test].short
