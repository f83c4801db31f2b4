"""``evidence``: a condition judged from every kind of evidence (problem list, labs, medications)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...facts import Facts
from ...quantities import LAB_MAX_AGE_DAYS
from ...vocabulary import suggest
from ..core import Outcome
from .base import Bad, EvalContext, Node, NodeKind, Problems


@dataclass(frozen=True)
class Evidence(Node):
    """``{evidence = "hiv"}``: the patient has the condition, judged from every kind of evidence
    (problem list, lab results, medications; see ``data/evidence.toml`` and
    :func:`eligimatch.evidence.assess`).  Negative tests must lie within the trial's lab window.
    ``rule_out = "test"``: only a recent negative test rules the condition out."""

    concept: Any      # eligimatch.evidence.Concept
    rule_out: str = "record"

    def symbols(self) -> set[str]:
        return {"conditions", "medications", *self.concept.tests()}

    def share_key(self, ctx: EvalContext, attested: bool) -> Any:
        return (self, ctx.lab_max_age_days)  # negative tests count within the trial's lab window

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
        problems.append((where, f"unknown evidence concept {key!r}{suggest(str(key), known)} "
                                f"(one of {', '.join(known)}; see data/evidence.toml)"))
        return Bad()
    rule_out = raw.get("rule_out", "record")
    if rule_out not in ("record", "test"):
        problems.append((f"{where.rsplit('.', 1)[0]}.rule_out",
                         "expected 'record' (a recorded problem list without it rules it out) or "
                         "'test' (only a recent negative test does)"))
        return Bad()
    return Evidence(known[key], rule_out)


KINDS = (NodeKind("evidence", build_evidence, frozenset({"rule_out"})),)
