"""Examples for drafted criteria, decided by the engine itself.

Candidate patients are assembled from the clauses' samples (every clause true; every clause
false; one clause false and the others true; and the reverse; nothing recorded) and, for a
review criterion, a clinician's answer yes / no.  Each candidate is evaluated with the drafted
logic; the first that passes, the first that fails and the first that stays unknown become the
criterion's examples.  The examples therefore hold by construction; what they are for is to show
a reader what the typed logic does, and to guard it when it is edited.
"""

from __future__ import annotations

from typing import Any

from .clause import AS_OF, Sample, merge

__all__ = ["choose_examples"]


def candidates(samples: list[tuple[Sample, ...]]) -> list[dict[str, Any]]:
    def pick(clause: tuple[Sample, ...], truth: bool) -> list[dict[str, Any]]:
        return [s.patient for s in clause if s.truth is truth]

    out: list[dict[str, Any]] = []

    def add(parts: list[dict[str, Any]]) -> None:
        p: dict[str, Any] = {}
        for part in parts:
            p = merge(p, part)
        if p not in out:
            out.append(p)

    for truth in (True, False):
        if all(pick(c, truth) for c in samples):
            add([pick(c, truth)[0] for c in samples])
    for i, c in enumerate(samples):
        for truth in (True, False):
            others = [pick(o, not truth) for j, o in enumerate(samples) if j != i]
            for mine in pick(c, truth):
                if all(others):
                    add([mine, *(o[0] for o in others)])
                add([mine])
    out.append({})
    return out


def choose_examples(
    trial: dict[str, Any], criteria: list[dict[str, Any]], samples: dict[str, list[tuple[Sample, ...]]]
) -> None:
    """Add ``examples`` to each criterion dict (in place)."""
    from ..engine import compile_bytes, status_of
    from ..errors import EligimatchError
    from ..facts import build_facts
    from ..patient import Patient
    from .write import render

    loaded = compile_bytes(render(trial, criteria).encode("utf-8"), "draft")
    for spec, crit in zip(criteria, loaded.criteria, strict=True):
        cands = candidates(samples.get(spec["id"], []))
        if crit.needs_review:
            cands = [
                {
                    "attestations": [
                        {
                            "trial": loaded.id,
                            "criterion": spec["id"],
                            "answer": a,
                            "by": "example",
                            "date": AS_OF,
                        }
                    ]
                }
                for a in ("yes", "no")
            ] + cands
        chosen: dict[str, dict[str, Any]] = {}
        for patient in cands:
            try:
                facts = build_facts(Patient.model_validate({"id": "example", **patient}), AS_OF, "example")
            except (EligimatchError, ValueError):
                continue
            out = crit.node.evaluate(facts, loaded.context(crit.id))
            chosen.setdefault(status_of(spec["kind"], out.value), patient)
        spec["examples"] = [
            {"expect": s, "as_of": AS_OF, "patient": chosen[s]}
            for s in ("pass", "fail", "unknown")
            if s in chosen
        ]
