"""A registry record → a drafted rule file (criteria, notes, examples, TOML text)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .clause import Sample
from .compose import Drafted, compose, samples_of
from .recognisers.demographics import age_clause
from .record import Record, read_record
from .split import Item, split_block
from .text import unescape

__all__ = ["DraftResult", "draft_file", "draft_record"]

_ALTERNATIVES = re.compile(
    r"\b(one of|any of|either|including|such as|at least one|"
    r"the following characteristics)\b",
    re.I,
)


@dataclass
class DraftResult:
    trial: dict[str, Any]
    criteria: list[dict[str, Any]]
    text: str

    def share(self) -> tuple[int, int]:
        typed = sum(c["draft"] != "review" for c in self.criteria)
        return typed, len(self.criteria)


def _is_heading(text: str) -> bool:
    t = text.strip()
    return t.endswith(":") and len(t.split()) <= 6


def _criteria_of(items: list[Item], kind: str, positional: bool) -> list[tuple[str, str, str, Drafted]]:
    """(id, verbatim text, notes, drafted) for every item of a block."""
    prefix = "I" if kind == "inclusion" else "E"
    out: list[tuple[str, str, str, Drafted]] = []

    def note(item: Item) -> str:
        bits = []
        if not item.numbered or positional:
            bits.append(
                f"The record does not number this item; it is numbered {item.number} in order of appearance."
            )
        if item.heading:
            bits.append(f"Listed under: {unescape(item.heading).strip()}")
        return " ".join(bits)

    def visit(item: Item) -> None:
        text = unescape(item.text).strip()
        if item.children:
            kids = [unescape(c.text).strip() for c in item.children]
            if _ALTERNATIVES.search(text) or any(k.lower().endswith(" or") for k in kids):
                whole = f"{text} {'; '.join(kids)}"  # alternatives: one criterion
                out.append(
                    (
                        f"{prefix}{item.number}",
                        whole,
                        note(item) + " Its sub-items are alternatives, drafted as one criterion.",
                        compose(whole, kind),
                    )
                )
                return
            if not _is_heading(text) and text:
                out.append((f"{prefix}{item.number}", text, note(item), compose(text, kind)))
            for c in item.children:
                visit(c)
            return
        if text:
            out.append((f"{prefix}{item.number}", text, note(item), compose(text, kind)))

    for item in items:
        visit(item)
    return out


def _structured(record: Record) -> list[tuple[str, str, str, dict[str, Any], list[Any]]]:
    """Criteria from the registry's structured fields: (id, text, recogniser, logic, samples)."""
    out: list[tuple[str, str, str, dict[str, Any], list[Any]]] = []
    limits = []
    for field_name, op, raw in (("minimum", ">=", record.minimum_age), ("maximum", "<=", record.maximum_age)):
        m = re.fullmatch(r"(\d{1,3})\s+Years?", raw or "", re.I)
        if m:
            limits.append((field_name, op, int(m.group(1)), raw))
    if limits:
        clauses = [age_clause(0, 0, op, n) for _, op, n, _ in limits]
        logic = clauses[0].logic if len(clauses) == 1 else {"all": [c.logic for c in clauses]}
        text = "; ".join(f"{name.capitalize()} age: {raw}" for name, _, _, raw in limits)
        out.append(("I0.age", text + " (registry field)", "age", logic or {}, [c.samples for c in clauses]))
    if record.sex and record.sex.upper() in ("FEMALE", "MALE"):
        sex = record.sex.lower()
        other = "male" if sex == "female" else "female"
        out.append(
            (
                "I0.sex",
                f"Sex: {record.sex} (registry field)",
                "sex",
                {"fact": "sex", "is": sex},
                [(Sample(True, {"sex": sex}), Sample(False, {"sex": other}))],
            )
        )
    return out


def _trial_id(record: Record) -> str:
    if record.registry_id:
        return record.registry_id
    return "DRAFT-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(record.source).stem)[:60]


def draft_record(record: Record, trial_id: str | None = None) -> DraftResult:
    from .examples import choose_examples
    from .write import render

    trial_notes = [
        "Drafted by `eligimatch draft` from the registry record; every criterion "
        "is marked `draft` until a person has checked it against the text.",
        *record.notes,
    ]
    if record.sites:
        trial_notes.append(
            "Sites: "
            + "; ".join(record.sites[:40])
            + (f" (and {len(record.sites) - 40} more)" if len(record.sites) > 40 else "")
        )
    trial: dict[str, Any] = {
        "id": trial_id or _trial_id(record),
        "registry_id": record.registry_id,
        "title": record.title,
        "phase": record.phase,
        "status": record.status,
        "seed": record.source,
    }
    criteria: list[dict[str, Any]] = []
    samples: dict[str, list[tuple[Sample, ...]]] = {}
    for cid, text, rec, logic, smp in _structured(record):
        criteria.append(
            {
                "id": cid,
                "kind": "inclusion",
                "draft": rec,
                "text": text,
                "notes": "From the registry's structured eligibility fields.",
                "logic": logic,
            }
        )
        samples[cid] = smp
    for kind, block in (("inclusion", record.inclusion), ("exclusion", record.exclusion)):
        items, positional = split_block(block)
        if positional and items:
            trial_notes.append(
                f"The {kind} criteria are not numbered in the record; they are "
                "numbered in order of appearance."
            )
        seen: set[str] = set()
        for cid, text, note, d in _criteria_of(items, kind, positional):
            while cid in seen:  # a record that repeats a number
                cid += "_"
            seen.add(cid)
            criteria.append(
                {
                    "id": cid,
                    "kind": kind,
                    "draft": d.draft,
                    "text": text,
                    "notes": _notes(d, note),
                    "logic": d.logic,
                }
            )
            samples[cid] = samples_of(d) if d.typed else []
    if not criteria:
        from .record import DraftError

        raise DraftError(f"{record.source}: no eligibility criteria found")
    trial["notes"] = "\n".join(trial_notes)
    choose_examples(trial, criteria, samples)
    header = (
        f"Drafted by `eligimatch draft` from {record.source}.\nEvery criterion carries "
        "`draft`: check it against the registry text, correct the logic, then delete the "
        "`draft` line.\nThe logic vocabulary is documented in README.md (Rule files)."
    )
    return DraftResult(trial, criteria, render(trial, criteria, header))


def _notes(d: Drafted, note: str) -> str:
    bits = [note] if note else []
    if d.typed:
        bits.append("Typed by " + ", ".join(d.recognisers) + ": " + "; ".join(d.summaries) + ".")
    else:
        bits.append(f"Left to review ({d.reason}).")
        if d.leftover:
            bits.append("Not accounted for: " + " ".join(dict.fromkeys(d.leftover)) + ".")
        if d.summaries:
            from .tomlw import value

            parts = [f"{c.summary}" + (f" → {value(c.logic)}" if c.logic else "") for c in d.clauses]
            bits.append("Recognised (a suggestion, not applied): " + "; ".join(parts) + ".")
    return " ".join(bits)


def draft_file(path: Path, trial_id: str | None = None) -> DraftResult:
    return draft_record(read_record(path), trial_id)
