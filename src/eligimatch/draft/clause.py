"""What a recogniser finds in an item: a clause with its span, its logic and sample patients.

A clause states a condition as the text does (for an exclusion item: the excluding condition).
Its samples are small patient fragments for which the clause is true or false; the drafter
combines them into candidate example patients and lets the engine decide their status, so the
examples in a drafted file always hold (see :mod:`.examples`).
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["AS_OF", "Clause", "Sample", "conjoin", "fact_fragment", "lab", "merge", "recent"]

AS_OF = dt.date(2026, 3, 1)  # the evaluation date of generated examples


def recent(days: int = 3) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


Fragment = dict[str, Any]


@dataclass(frozen=True)
class Sample:
    truth: bool
    patient: Fragment


@dataclass(frozen=True)
class Clause:
    start: int
    end: int
    recogniser: str
    summary: str  # what was recognised, in words
    logic: dict[str, Any] | None  # None: recognised but imposes nothing (both sexes)
    samples: tuple[Sample, ...] = ()
    typed: bool = True  # False: recognised, but eligimatch cannot decide it
    role: str = "condition"  # "condition", or "liver_exception" (see compose)
    data: dict[str, Any] = field(default_factory=dict, compare=False)


def lab(test: str, value: Decimal | int | str, unit: str | None, **extra: Any) -> Fragment:
    entry: dict[str, Any] = {"test": test, "date": recent()}
    if isinstance(value, str):
        entry["result"] = value
    else:
        entry["value"] = value
        if unit is not None:
            entry["unit"] = unit
    entry.update(extra)
    return {"labs": [entry]}


# Where a scalar fact lives in a patient profile.
_FACT_PATH: dict[str, tuple[str, ...]] = {
    "sex": ("sex",),
    "measurable_disease": ("measurable_disease",),
    "pregnant": ("reproductive", "pregnant"),
    "breastfeeding": ("reproductive", "breastfeeding"),
    "childbearing_potential": ("reproductive", "childbearing_potential"),
    "effective_contraception": ("reproductive", "effective_contraception"),
    "consent_signed": ("administrative", "consent_signed"),
}


def fact_fragment(name: str, value: Any) -> Fragment:
    path = _FACT_PATH[name]
    out: Fragment = {path[-1]: value}
    for key in reversed(path[:-1]):
        out = {key: out}
    return out


def merge(a: Fragment, b: Fragment) -> Fragment:
    """Two patient fragments as one (tables merged, lists concatenated)."""
    out = copy.deepcopy(a)
    for k, v in b.items():
        if k in out and isinstance(out[k], dict) and isinstance(v, dict):
            out[k] = merge(out[k], v)
        elif k in out and isinstance(out[k], list) and isinstance(v, list):
            out[k] = out[k] + copy.deepcopy(v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def conjoin(parts: list[tuple[Sample, ...]]) -> tuple[Sample, ...]:
    """Samples of "all of these" from samples of each: every part true; one part false with
    the others true."""
    if len(parts) == 1:
        return parts[0]
    trues = [[s.patient for s in p if s.truth] for p in parts]
    if not all(trues):
        return ()
    both: Fragment = {}
    for t in trues:
        both = merge(both, t[0])
    out = [Sample(True, both)]
    for i, p in enumerate(parts):
        for s in p:
            if s.truth:
                continue
            frag = s.patient
            for j, t in enumerate(trues):
                if j != i:
                    frag = merge(frag, t[0])
            out.append(Sample(False, frag))
    return tuple(out)
