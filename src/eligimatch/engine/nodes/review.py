"""``review``: a judgement only a clinician can make, answered by an attestation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...facts import Facts
from ..core import Outcome, Truth, stale, unknown
from .base import Bad, EvalContext, Example, Node, NodeKind, Problems

if TYPE_CHECKING:
    from ..columns import Chunk, Codes


@dataclass(frozen=True)
class Review(Node):
    """A judgement only a clinician can make; unknown unless an attestation answers it.

    An answer counts for ``within_days`` days, else the trial's ``attestation_max_age_days``,
    else :data:`ATTESTATION_MAX_AGE_DAYS`; an older one is shown but does not answer."""

    reason: str
    within_days: int | None = None

    def asks_review(self) -> bool:
        return True

    def share_key(self, ctx: EvalContext, attested: bool) -> Any:
        # without attestations every review node is unknown, whatever its criterion
        return (self, ctx) if attested else (self,)

    def status(self, facts: Facts, ctx: EvalContext) -> Truth:
        att = facts.attestations.get((ctx.trial_id, ctx.criterion_id))
        limit = ctx.attestation_max_age_days if self.within_days is None else self.within_days
        if att is None or stale(att.date, facts.as_of, limit):
            return None
        return bool(att.answer == "yes")

    def columns(self, chunk: Chunk, ctx: EvalContext) -> Codes:
        """Unknown for the patients without attestations; the others' one by one."""
        from ..columnar import answered

        return answered(chunk, lambda facts: self.status(facts, ctx))

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        att = facts.attestations.get((ctx.trial_id, ctx.criterion_id))
        if att is None:
            return unknown(f"needs clinician review: {self.reason}", review=[self.reason])
        age = (facts.as_of - att.date).days
        limit = ctx.attestation_max_age_days if self.within_days is None else self.within_days
        if stale(att.date, facts.as_of, limit):
            return unknown(
                f"needs clinician review: {self.reason} (the attestation by {att.by} "
                f"on {att.date}, '{att.answer}', is {age} days old; answers older "
                f"than {limit} days do not count)",
                review=[self.reason],
            )
        v = att.answer == "yes"
        note = f": {att.note}" if att.note else ""
        return Outcome(
            v, f"clinician attestation by {att.by} on {att.date}: '{att.answer}' to {self.reason}{note}"
        )


def build_review(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    reason = raw["review"]
    if not isinstance(reason, str) or not reason.strip():
        problems.append((where, "expected the question the clinician must answer"))
        return Bad()
    within = raw.get("within_days")
    if within is not None and (
        isinstance(within, bool) or not isinstance(within, int) or not 0 <= within <= 3650
    ):
        problems.append(
            (
                f"{where.rsplit('.', 1)[0]}.within_days",
                "expected a whole number of days (how old an answer may be)",
            )
        )
        return Bad()
    return Review(reason.strip(), within)


# ---------------------------------------------------------------------------- docs and examples

_TOLERATE = '{ review = "whether the patient can tolerate radiotherapy" }'


def _answer(answer: str, day: str = "2026-11-14") -> dict[str, Any]:
    return {
        "attestations": [
            {"trial": "EXAMPLE", "criterion": "I1", "answer": answer, "by": "Dr Rivera", "date": day}
        ]
    }


KINDS = (
    NodeKind(
        "review",
        build_review,
        frozenset({"within_days"}),
        summary='A judgement only a clinician can make ("can tolerate radiotherapy", "the cumulative '
        'dose may exceed tolerance"), answered by an attestation in the patient profile: '
        "trial, criterion, `yes` or `no`, by whom, when.",
        syntax='`{ review = "the question, as the clinician will read it" }`, optionally '
        "`within_days = N`: how long an answer counts (else the trial's "
        "`attestation_max_age_days`, else 28 days). The answer says whether the criterion's "
        "statement holds, so for an exclusion `yes` means the exclusion applies.",
        unknown='Unknown ("needs clinician review: ...") until an answer no older than the window is '
        "recorded for this trial and criterion; an older answer is shown but does not count. "
        "Never passed silently.",
        examples=(
            Example(_TOLERATE, "true", _answer("yes"), explains="'yes' to whether the patient"),
            Example(_TOLERATE, "false", _answer("no")),
            Example(_TOLERATE, "unknown", {}, explains="needs clinician review"),
            Example(
                _TOLERATE,
                "unknown",
                _answer("yes", "2026-09-01"),
                explains="answers older than 28 days do not count",
            ),
            Example(
                '{ review = "whether the patient can tolerate radiotherapy", within_days = 7 }',
                "unknown",
                _answer("yes", "2026-11-01"),
                explains="answers older than 7 days do not count",
            ),
            Example('{ review = "" }', error="logic.review: expected the question the clinician must answer"),
            Example(
                '{ review = "q", within_days = 5000 }',
                error="logic.within_days: expected a whole number of days (how old an answer may be)",
            ),
            Example(
                '{ review = "q", within = 5 }',
                error="logic.within: unknown key for a 'review' node; did you mean 'within_days'?",
            ),
        ),
    ),
)
