"""The Kleene core: truth values, outcomes, results, and the semantic functions both runners use.

Each logic node answers True, False or None (unknown) together with an explanation, the facts
that were missing or stale, and the items that need a clinician's review.  ``all`` / ``any`` /
``not`` follow Kleene's strong logic, order-independently: ``any`` is True as soon as one child
is True, whatever the others are, so "creatinine ≤ 1.5 × ULN or CrCl ≥ 50 mL/min" passes on
creatinine alone when CrCl is unknown.

A criterion's logic states its condition as written.  For an inclusion, condition True → pass;
for an exclusion, condition True → fail (the exclusion applies) and False → pass.  Unknown stays
unknown.  The trial verdict: any fail → ineligible; otherwise any unknown → undetermined;
otherwise eligible.

The explaining runner (:mod:`eligimatch.engine.runner`) and the status-only graph runner
(:mod:`eligimatch.engine.graph`) take junction, negation, polarity, verdict and staleness from
the functions here, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

from ..quantities import LAB_MAX_AGE_DAYS

if TYPE_CHECKING:
    from ..units import Analyte

__all__ = [
    "ATTESTATION_MAX_AGE_DAYS",
    "CriterionResult",
    "Outcome",
    "Status",
    "TrialResult",
    "Truth",
    "Verdict",
    "junction",
    "kleene_and",
    "kleene_not",
    "kleene_or",
    "negation",
    "polarity",
    "recency_limit",
    "stale",
    "status_of",
    "verdict",
]

# How many days a clinician's attestation answers for, unless the trial says otherwise: older
# ones are shown but do not answer (a judgement on "recent tests" does not outlive them).
ATTESTATION_MAX_AGE_DAYS = 28

Truth = bool | None
Status = Literal["pass", "fail", "unknown"]
Verdict = Literal["eligible", "ineligible", "undetermined"]


# ---------------------------------------------------------------------------- Kleene logic


def kleene_not(a: Truth) -> Truth:
    return None if a is None else not a


negation = kleene_not


def junction(values: Iterable[Truth], *, any_: bool) -> Truth:
    """Kleene OR (``any_``) or AND of ``values``, read lazily: stops at the first value that
    decides (True for OR, False for AND), so the rest are never computed."""
    unsure = False
    for v in values:
        if v is any_:
            return any_
        if v is None:
            unsure = True
    return None if unsure else not any_


def kleene_and(values: Sequence[Truth]) -> Truth:
    return junction(values, any_=False)


def kleene_or(values: Sequence[Truth]) -> Truth:
    return junction(values, any_=True)


# ---------------------------------------------------------------------------- polarity, verdict


def polarity(exclusion: bool, value: Truth) -> Truth:
    """Does the criterion pass (True), fail (False) or stay unknown, given its condition's value?
    An exclusion passes when its condition is False."""
    return value if value is None or not exclusion else not value


def status_of(kind: str, value: Truth) -> Status:
    holds = polarity(kind == "exclusion", value)
    return "unknown" if holds is None else "pass" if holds else "fail"


def verdict(passes: Iterable[Truth]) -> Verdict:
    """The trial verdict from its criteria's pass values (True pass, False fail, None unknown)."""
    seen = set(passes)
    return "ineligible" if False in seen else "undetermined" if None in seen else "eligible"


# ---------------------------------------------------------------------------- staleness


def recency_limit(
    a: Analyte, within_days: int | None, default_recency: bool, lab_max_age_days: int | None
) -> int | None:
    """How many days old a value may be: the node's own ``within_days``; else, unless the node
    opts out with recency = "none", for a lab the trial's ``lab_max_age_days``, then the
    analyte's ``max_age_days``, then :data:`LAB_MAX_AGE_DAYS`; for a profile value (ECOG,
    weight, blood pressure, life expectancy) the analyte's ``max_age_days``.  Values that do
    not age (age from the birth date, counts of metastases) have no limit."""
    if within_days is not None or not default_recency:
        return within_days
    if a.source == "lab":
        return lab_max_age_days or a.max_age_days or LAB_MAX_AGE_DAYS
    return a.max_age_days


def stale(when: date | None, as_of: date, limit: int | None) -> bool:
    """Is a fact of date ``when`` too old (or undated) to count ``limit`` days back from
    ``as_of``?  Without a limit nothing is stale."""
    if limit is None:
        return False
    return when is None or (as_of - when).days > limit


# ---------------------------------------------------------------------------- outcomes


class Outcome:
    """A node's answer: True / False / None (unknown), why, and what is missing or needs review.

    The explanation may be given as a function that builds it: it is called only when ``text``
    is read, so screening many patients does not pay for explanations nobody reads.
    """

    __slots__ = ("_text", "missing", "review", "value")

    def __init__(
        self,
        value: Truth,
        text: str | Callable[[], str],
        missing: tuple[str, ...] = (),
        review: tuple[str, ...] = (),
    ) -> None:
        self.value = value
        self._text = text
        self.missing = missing
        self.review = review

    @property
    def text(self) -> str:
        if not isinstance(self._text, str):
            self._text = self._text()
        return self._text

    def __repr__(self) -> str:
        return f"Outcome({self.value!r}, {self.text!r}, {self.missing!r}, {self.review!r})"


def unknown(
    text: str | Callable[[], str], *, missing: Sequence[str] = (), review: Sequence[str] = ()
) -> Outcome:
    return Outcome(None, text, tuple(missing), tuple(review))


def merge_gaps(
    children: Sequence[Outcome], *, data_first: bool = False
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Missing facts and review items of the unknown children.

    With ``data_first`` (an ``all``), review items are asked for only when no sibling is still
    waiting for data: a clinician is not asked a question the record may make moot.
    """
    missing: dict[str, None] = {}
    review: dict[str, None] = {}
    for c in children:
        if c.value is None:
            missing.update(dict.fromkeys(c.missing))
            review.update(dict.fromkeys(c.review))
    if data_first and missing:
        review.clear()
    return tuple(missing), tuple(review)


def join_texts(outs: Sequence[Outcome]) -> str:
    return "; ".join(dict.fromkeys(o.text for o in outs if o.text))


# ---------------------------------------------------------------------------- results


@dataclass(slots=True)
class CriterionResult:
    id: str
    kind: Literal["inclusion", "exclusion"]
    status: Status
    text: str
    explanation: str
    missing: tuple[str, ...] = ()
    review: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrialResult:
    trial_id: str
    title: str
    verdict: Verdict
    criteria: tuple[CriterionResult, ...]
    reason: str
    missing: tuple[str, ...] = field(default=())
    review: tuple[str, ...] = field(default=())
