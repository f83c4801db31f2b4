"""Results → text and JSON.  No decisions are made here.

The JSON document (``--format json``) is stable and documented in the README::

    {
      "format_version": "1", "eligimatch": "<version>", "rules_sha256": "<hash of the rule files>",
      "patient_id": "...", "source": "<file>", "as_of": "YYYY-MM-DD",
      "trials": [
        {"trial_id": "...", "title": "...", "verdict": "eligible|ineligible|undetermined",
         "reason": "...", "failing": [ids], "unknown": [ids], "missing": [...], "review": [...],
         "criteria": [{"id", "kind", "status", "text", "summary", "explanation", "missing",
                       "review"}]}
      ]
    }

Keys are sorted and output is byte-identical for the same patient, rules and as-of date.
``format_version`` (:data:`FORMAT_VERSION`) changes when a key is removed, renamed or changes
meaning; keys may be added within a version, so a reader should ignore keys it does not know.

A criterion reads as one short sentence first (:func:`summary`: what is missing, the question for
a clinician, or the clause of the explanation that decided it) and then the full evidence.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from .draft.mark import resting_on, shares
from .engine import CriterionResult, TrialResult
from .safeio import printable as _p  # text output: no value can start a line of its own

__all__ = ["explain_text", "has_more", "screen_json", "screen_text", "summary", "trials_json", "trials_text"]

ORDER = {"eligible": 0, "undetermined": 1, "ineligible": 2}
LABEL = {"eligible": "ELIGIBLE", "undetermined": "UNDETERMINED", "ineligible": "INELIGIBLE"}
STATUS = {"pass": "PASS", "fail": "FAIL", "unknown": "UNKNOWN"}
#: Version of the JSON document of ``screen`` / ``explain --format json`` (see the module doc).
FORMAT_VERSION = "1"


def ordered(results: Sequence[TrialResult]) -> list[TrialResult]:
    return sorted(results, key=lambda r: (ORDER[r.verdict], r.trial_id))


Drafts = Mapping[str, frozenset[str]]


SHORT = 180  # characters of a summary clause before it is cut
_LEADS = ("exclusion does not apply: ", "exclusion applies: ")


def _clauses(text: str) -> list[str]:
    """The explanation split at '; ' outside parentheses and brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif ch == ";" and depth == 0 and text[i + 1 : i + 2] == " ":
            parts.append(text[start:i])
            start = i + 2
    parts.append(text[start:])
    return [p for p in parts if p]


def summary(c: CriterionResult) -> str:
    """One short sentence: the question for a clinician, what is missing, or the deciding clause
    of the explanation: a clinician's answer when one decided it, else the first value compared
    with its threshold, else the first clause."""
    if c.status == "unknown" and c.review:
        return "needs clinician review: " + "; ".join(c.review)
    if c.status == "unknown" and c.missing:
        return "missing: " + "; ".join(c.missing)
    text = c.explanation or ""
    lead = next((x for x in _LEADS if text.startswith(x)), "")
    clauses = _clauses(text[len(lead) :])
    if not clauses:
        return text
    answered = [x for x in clauses if x.startswith("clinician attestation")]
    # the deciding value against its threshold, when a clause compares one
    compared = [x for x in clauses if any(f" {op} " in x for op in ("≤", "≥", "<", ">", "≠"))]
    first = (answered or compared or clauses)[0]
    if len(first) > SHORT:
        first = first[:SHORT].rsplit(" ", 1)[0] + " …"
    return lead + first


def has_more(c: CriterionResult) -> bool:
    """Does the full explanation say more than the summary?"""
    return bool(c.explanation) and c.explanation.strip() != summary(c).strip()


def criterion_dict(c: CriterionResult, drafts: frozenset[str] = frozenset()) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id,
        "kind": c.kind,
        "status": c.status,
        "text": c.text,
        "summary": summary(c) if c.explanation else "",
        "explanation": c.explanation,
        "missing": list(c.missing),
        "review": list(c.review),
    }
    if drafts:  # only for trials with draft criteria: other output is unchanged
        out["draft"] = c.id in drafts
    return out


def draft_resting(r: TrialResult, drafts: Drafts | None) -> list[str]:
    """The draft criteria the trial's verdict rests on (see eligimatch.draft.mark)."""
    ids = (drafts or {}).get(r.trial_id, frozenset())
    return resting_on(
        r.verdict, [c.id for c in r.criteria], [c.id for c in r.criteria if c.status == "fail"], ids
    )


def _draft_note(r: TrialResult, drafts: Drafts | None) -> str:
    resting = draft_resting(r, drafts)
    return f" [rests on {len(resting)} draft criteri{'on' if len(resting) == 1 else 'a'}]" if resting else ""


def trial_dict(r: TrialResult, *, criteria: bool = True, drafts: Drafts | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "trial_id": r.trial_id,
        "title": r.title,
        "verdict": r.verdict,
        "reason": r.reason,
        "failing": [c.id for c in r.criteria if c.status == "fail"],
        "unknown": [c.id for c in r.criteria if c.status == "unknown"],
        "missing": list(r.missing),
        "review": list(r.review),
    }
    mine = (drafts or {}).get(r.trial_id, frozenset())
    if mine:
        out["draft"] = draft_resting(r, drafts)
    if criteria:
        out["criteria"] = [criterion_dict(c, mine) for c in r.criteria]
    return out


def document(
    patient_id: str,
    source: str,
    as_of: date,
    results: Sequence[TrialResult],
    rules_sha256: str,
    version: str,
    *,
    drafts: Drafts | None = None,
) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "eligimatch": version,
        "rules_sha256": rules_sha256,
        "patient_id": patient_id,
        "source": source,
        "as_of": as_of.isoformat(),
        "trials": [trial_dict(r, drafts=drafts) for r in ordered(results)],
    }


def dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2)


def screen_json(docs: Sequence[dict[str, Any]]) -> str:
    return dumps(docs[0] if len(docs) == 1 else list(docs))


def _first_fail(r: TrialResult) -> str:
    fails = [c for c in r.criteria if c.status == "fail"]
    head = ", ".join(c.id for c in fails)
    return f"fails {head} — {fails[0].explanation}" if fails else r.reason


def screen_text(
    patient_id: str, source: str, as_of: date, results: Sequence[TrialResult], *, drafts: Drafts | None = None
) -> str:
    lines = [f"Patient {_p(patient_id)} ({_p(source)}), as of {as_of}:"]
    width = max((len(_p(r.trial_id)) for r in results), default=0)
    for r in ordered(results):
        reason = _first_fail(r) if r.verdict == "ineligible" else r.reason
        lines.append(
            f"  {LABEL[r.verdict]:<12}  {_p(r.trial_id):<{width}}  {_p(reason)}{_draft_note(r, drafts)}"
        )
    undecided = [r for r in results if r.verdict == "undetermined"]
    if undecided:
        counts: Counter[str] = Counter(m for r in undecided for m in r.missing)
        if counts:
            items = [
                f"{_p(m)} ({n} trial{'s' if n != 1 else ''})"
                for m, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            lines.append("  To decide the undetermined trials, record: " + ", ".join(items))
        reviews = [f"{_p(r.trial_id)} {_p(x)}" for r in undecided for x in r.review]
        if reviews:
            lines.append("  Needs clinician review: " + "; ".join(reviews))
    return "\n".join(lines)


def explain_text(patient_id: str, as_of: date, r: TrialResult, *, drafts: Drafts | None = None) -> str:
    lines = [
        f"{_p(r.trial_id)}: {_p(r.title)}",
        f"Patient {_p(patient_id)}, as of {as_of}: {LABEL[r.verdict]} — {_p(r.reason)}"
        f"{_draft_note(r, drafts)}",
        "",
    ]
    mine = (drafts or {}).get(r.trial_id, frozenset())
    for c in r.criteria:
        mark = ", draft" if c.id in mine else ""
        lines.append(f"{STATUS[c.status]:<8} {_p(c.id)} ({c.kind}{mark})")
        lines.append(f"         criterion: {_p(c.text)}")
        lines.append(f"         why: {_p(summary(c))}")
        if has_more(c):
            lines.append(f"         evidence: {_p(c.explanation)}")
    return "\n".join(lines)


def trials_dicts(trials: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "trial_id": t.id,
            "registry_id": t.meta.registry_id,
            "title": t.meta.title,
            "phase": t.meta.phase,
            "status": t.meta.status,
            "seed": t.meta.seed,
            "criteria": len(t.criteria),
            "needs_review": [c.id for c in t.criteria if c.needs_review],
            "draft": [c.id for c in t.criteria if c.spec.draft is not None],
            "shares": {k: round(v, 4) for k, v in shares(t).items()},
            "sha256": t.sha256,
        }
        for t in trials
    ]


def trials_json(trials: Sequence[Any], rules_sha256: str) -> str:
    return dumps({"rules_sha256": rules_sha256, "trials": trials_dicts(trials)})


def trials_text(trials: Sequence[Any]) -> str:
    lines = []
    width = max((len(t.id) for t in trials), default=0)
    for t in sorted(trials, key=lambda t: t.id):
        n_inc = sum(c.spec.kind == "inclusion" for c in t.criteria)
        n_exc = len(t.criteria) - n_inc
        sh = shares(t)
        lines.append(
            f"{t.id:<{width}}  {_p(t.meta.phase):<8} {_p(t.meta.status):<20} {n_inc:>2} "
            f"inclusion / {n_exc:>2} exclusion criteria  typed {sh['typed']:>4.0%} "
            f"review {sh['review']:>4.0%} draft {sh['draft']:>4.0%}  {_p(t.meta.title)}"
        )
    return "\n".join(lines)
