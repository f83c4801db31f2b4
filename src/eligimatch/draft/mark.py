"""Which results rest on draft criteria (the one rule every output uses to mark them).

A verdict rests on the draft criteria that could change it if their drafted logic were wrong:
an *ineligible* verdict with a failing criterion that is not a draft rests on none; otherwise
(ineligible only through drafts, eligible, undetermined) it rests on every draft criterion of
the trial that is not already outweighed.  Kept free of heavy imports: the CLI, the explanation
renderer and the batch writer call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["draft_ids", "resting_on", "shares"]


def draft_ids(trials: Iterable[Any]) -> dict[str, frozenset[str]]:
    """trial id → the ids of its criteria marked ``draft`` (trials without drafts left out)."""
    out = {}
    for t in trials:
        ids = frozenset(c.id for c in t.criteria if c.spec.draft is not None)
        if ids:
            out[t.id] = ids
    return out


def resting_on(verdict: str, ids: Sequence[str], failing: Iterable[str], drafts: frozenset[str]) -> list[str]:
    """The draft criteria (in rule-file order) a verdict rests on."""
    if not drafts:
        return []
    fails = set(failing)
    if verdict == "ineligible" and fails - drafts:
        return []
    if verdict == "ineligible":
        return [i for i in ids if i in fails]
    return [i for i in ids if i in drafts]


def shares(trial: Any) -> dict[str, float]:
    """The share of a trial's criteria that are typed (no review node), review and draft."""
    n = len(trial.criteria) or 1
    review = sum(c.needs_review for c in trial.criteria)
    draft = sum(c.spec.draft is not None for c in trial.criteria)
    return {"typed": (n - review) / n, "review": review / n, "draft": draft / n}
