"""The explaining runner: every criterion of a trial, with its explanation, and the verdict.

The status-only graph runner (:mod:`.graph`) gives the same statuses and verdicts for many trials
at once; both take polarity and the verdict from :mod:`.core`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .core import CriterionResult, TrialResult, status_of, verdict

if TYPE_CHECKING:
    from ..facts import Facts
    from ..rulefile import TrialMeta
    from .compile import Trial

__all__ = ["evaluate_trial", "summarise"]


def evaluate_trial(trial: Trial, facts: Facts, *, explain: bool = True) -> TrialResult:
    """Every criterion's status and the verdict.  With ``explain=False`` the explanations are
    left empty and never built; statuses and verdicts are the same."""
    results = []
    for c, ctx in zip(trial.criteria, trial.contexts, strict=True):
        out = c.node.evaluate(facts, ctx)
        status = status_of(c.spec.kind, out.value)
        text = ""
        if explain:
            text = out.text
            if c.spec.kind == "exclusion" and out.value is not None:
                lead = "exclusion applies: " if out.value else "exclusion does not apply: "
                text = lead + text
        results.append(CriterionResult(c.id, c.spec.kind, status, c.spec.text, text, out.missing, out.review))
    return summarise(trial.meta, results)


def summarise(meta: TrialMeta, results: list[CriterionResult]) -> TrialResult:
    passes = [None if r.status == "unknown" else r.status == "pass" for r in results]
    fails = [r.id for r in results if r.status == "fail"]
    unknown = [r for r in results if r.status == "unknown"]
    missing = tuple(dict.fromkeys(m for r in unknown for m in r.missing))
    review = tuple(dict.fromkeys(f"{r.id}: {x}" for r in unknown for x in r.review))
    decided = verdict(passes)
    if decided == "ineligible":
        reason = "fails " + ", ".join(fails)
    elif decided == "undetermined":
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if review:
            parts.append("clinician review of " + ", ".join(dict.fromkeys(r.id for r in unknown if r.review)))
        reason = "; ".join(parts) or "unknown: " + ", ".join(r.id for r in unknown)
    else:
        reason = f"all {len(results)} criteria pass"
    return TrialResult(meta.id, meta.title, decided, tuple(results), reason, missing, review)
