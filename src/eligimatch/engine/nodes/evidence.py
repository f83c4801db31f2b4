"""``evidence``: a condition judged from every kind of evidence (problem list, labs, medications)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...facts import Facts
from ...quantities import LAB_MAX_AGE_DAYS
from ...vocabulary import suggest
from ..core import Outcome, Truth
from .base import Bad, EvalContext, Example, Node, NodeKind, Problems

if TYPE_CHECKING:
    from ..columns import Chunk, Codes


@dataclass(frozen=True)
class Evidence(Node):
    """``{evidence = "hiv"}``: the patient has the condition, judged from every kind of evidence
    (problem list, lab results, medications; see ``data/evidence.toml`` and
    :func:`eligimatch.evidence.assess`).  Negative tests must lie within the trial's lab window.
    ``rule_out = "test"``: only a recent negative test rules the condition out."""

    concept: Any  # eligimatch.evidence.Concept
    rule_out: str = "record"

    def symbols(self) -> set[str]:
        return {"conditions", "medications", *self.concept.tests()}

    def share_key(self, ctx: EvalContext, attested: bool) -> Any:
        return (self, ctx.lab_max_age_days)  # negative tests count within the trial's lab window

    def status(self, facts: Facts, ctx: EvalContext) -> Truth:
        from ...evidence import holds

        return holds(self.concept, facts, ctx.lab_max_age_days or LAB_MAX_AGE_DAYS, rule_out=self.rule_out)

    def columns(self, chunk: Chunk, ctx: EvalContext) -> Codes:
        from ..columnar import evidence

        return evidence(self.concept, self.rule_out, chunk, ctx.lab_max_age_days or LAB_MAX_AGE_DAYS)

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        from ...evidence import assess

        limit = ctx.lab_max_age_days or LAB_MAX_AGE_DAYS
        f = assess(self.concept, facts, limit, rule_out=self.rule_out)
        return Outcome(f.value, f.text, f.missing, f.review)


def build_evidence(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    from ...evidence import concepts

    key = raw["evidence"]
    known = concepts()
    if not isinstance(key, str) or key not in known:
        problems.append(
            (
                where,
                f"unknown evidence concept {key!r}{suggest(str(key), known)} "
                f"(one of {', '.join(known)}; see data/evidence.toml)",
            )
        )
        return Bad()
    rule_out = raw.get("rule_out", "record")
    if rule_out not in ("record", "test"):
        problems.append(
            (
                f"{where.rsplit('.', 1)[0]}.rule_out",
                "expected 'record' (a recorded problem list without it rules it out) or "
                "'test' (only a recent negative test does)",
            )
        )
        return Bad()
    return Evidence(known[key], rule_out)


# ---------------------------------------------------------------------------- docs and examples

_HIV = '{ evidence = "hiv" }'
_HIV_AB = {"test": "hiv_antibody", "date": "2026-11-10"}

KINDS = (
    NodeKind(
        "evidence",
        build_evidence,
        frozenset({"rule_out"}),
        summary="Does the patient have the condition (`hiv`, `hepatitis_b`, `hepatitis_c`), judged "
        "from every kind of evidence in the profile: the problem list, the results that "
        "establish or rule it out, and the medications that need review. Each concept is "
        "defined once, in `data/evidence.toml`.",
        syntax='`{ evidence = "hiv" }`; `rule_out = "test"` when only a recent negative test may '
        'rule the condition out ("known HIV must be excluded by a test"); the default, '
        '`rule_out = "record"`, also accepts a recorded problem list without it.',
        unknown="True on any positive evidence (the condition on the problem list, a positive "
        "result, whatever its age). Unknown with a question for a clinician when a result "
        "needs interpretation or a current medication of the listed classes is recorded and no "
        "recent negative test settles it. False on a negative result within the trial's lab "
        'window, or (`rule_out = "record"`) a problem list recorded without the condition. '
        "Otherwise unknown, asking for the problem list or a recent test. Adding evidence "
        "never turns true into false.",
        examples=(
            Example(
                _HIV,
                "true",
                {"conditions": [], "labs": [{**_HIV_AB, "result": "positive"}]},
                explains="although the problem list does not record it",
            ),
            Example(_HIV, "false", {"conditions": []}, explains="not on the problem list"),
            Example(_HIV, "false", {"labs": [{**_HIV_AB, "result": "negative"}]}),
            Example(_HIV, "unknown", {}, explains="conditions not recorded"),
            Example(
                _HIV,
                "unknown",
                {
                    "conditions": [],
                    "medications": [
                        {"name": "tenofovir/emtricitabine", "start": "2026-01-01", "ongoing": True}
                    ],
                },
                explains="needs clinician review",
            ),
            Example(
                '{ evidence = "hiv", rule_out = "test" }',
                "unknown",
                {"conditions": []},
                explains="a negative HIV Ab or HIV Ag/Ab within 28 days is needed",
            ),
            Example(
                '{ evidence = "hbv" }',
                error="logic.evidence: unknown evidence concept 'hbv'; did you mean 'hiv'? (one "
                "of hiv, hepatitis_b, hepatitis_c; see data/evidence.toml)",
            ),
            Example(
                '{ evidence = "hiv", rule_out = "lab" }',
                error="logic.rule_out: expected 'record' (a recorded problem list without it "
                "rules it out) or 'test' (only a recent negative test does)",
            ),
        ),
    ),
)
