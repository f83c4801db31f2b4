"""The facts of a thousand mutated profiles, and the problems of the bad ones, are those the code
gave when the snapshot was written: every value and its type, every text, gap, label and
problem, in order.  A change of speed must not change any of them.

The profiles are the example patients and some synthetic ones (``data/facts_snapshot/base.jsonl``),
each mutated by a seeded generator the way real records go wrong or vary: units by other names
and unusual spellings (some not units of the analyte), censored values, reference ranges
missing, without a unit, implausible or upside down, results on the same day, unknown tests,
dates after the evaluation date, leap days and month ends, stale weights, creatinine of 0,
unclassified items, categories that contradict a type...

The snapshot (``data/facts_snapshot/digests.json``) holds a SHA-256 of each profile's reading.
When a change of the facts is intended, review it, then rewrite the snapshot with
``python tests/test_facts_snapshot.py --write``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from eligimatch.api import parse_patient
from eligimatch.errors import EligimatchError, PatientError
from eligimatch.facts import build_facts
from eligimatch.units import analytes, spellings

HERE = Path(__file__).parent / "data" / "facts_snapshot"
SEED = 20261201
PER_BASE = 24

ODD_UNITS = [
    "µmol/L", "μmol/l", "10⁹/L", "×10⁹/L", "x10^9/L", "G/L", "/mm³", "mcmol/L", " mg/dL ", "mg/dl",
    "IU/L", "[IU]/L", "U/l", "10*3/uL", "10^3/µL", "g/dl", "mmol/l", "%", "{ratio}", "1", "s", "mEq/L",
    "kg", "lb", "[lb_av]", "cm", "m", "in", "mo", "months", "wk", "a", "d", "mmHg", "kPa", "mL/min",
    "bogus", "u/L", "MG/DL", "mg%", "10*-3/ul", "/uL",
]  # fmt: skip
DAYS = [
    "2024-02-29", "2000-02-29", "2023-02-28", "2024-01-31", "2024-03-31", "2025-12-31", "2026-01-01",
    "1940-02-29", "2026-11-30", "2026-08-31", "2026-11-16", "2026-11-17", "2026-02-28",
]  # fmt: skip


def _units_of(key: str) -> list[str]:
    a, ok = analytes()[key], []
    for text in spellings():
        try:
            a.canonical_unit(text)
        except EligimatchError:
            continue
        ok.append(text)
    return ok


class _Mutator:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        cat = analytes()
        self.labs = sorted(k for k, a in cat.items() if a.source == "lab")
        keys = [k for k in self.labs if cat[k].kind == "quantity"]
        self.units = {k: _units_of(k) for k in [*keys, "weight", "height", "life_expectancy", "tumour_size"]}

    def number(self) -> Any:
        r, c = self.rng, self.rng.random()
        if c < 0.1:
            return 0
        if c < 0.25:
            return r.choice([0.1, 1, 1.5, 2.25, 100, 1000, 12345.678901, 0.000001, 88.4, 1.13])
        return round(r.uniform(0, 300), r.randint(0, 4))

    def day(self, as_of: date, lo: int = -4000, hi: int = 20) -> str:
        if self.rng.random() < 0.15:
            return self.rng.choice(DAYS)
        return (as_of + timedelta(days=self.rng.randint(lo, hi))).isoformat()

    def lab(self, d: dict[str, Any], as_of: date) -> None:
        r, cat = self.rng, analytes()
        labs = d.setdefault("labs", [])
        c = r.randrange(9)
        if c == 0 or not labs:
            key = r.choice(self.labs)
            if cat[key].kind == "quantity":
                item = {"test": key, "value": self.number(), "unit": r.choice(self.units[key] or ["1"])}
                if r.random() < 0.4:
                    high = self.number()
                    item["reference_range"] = {
                        "low": 0,
                        "high": high,
                        "unit": r.choice(self.units[key] or ["1"]),
                    }
            else:
                item = {
                    "test": key,
                    "result": r.choice([*(cat[key].scale or cat[key].values), "Positive", "odd"]),
                }
            labs.append({**item, "date": self.day(as_of, -90, 2)})
            return
        lab = r.choice(labs)
        if c == 1 and "unit" in lab:
            lab["unit"] = r.choice(ODD_UNITS + (self.units.get(lab["test"]) or []))
        elif c == 2 and "value" in lab:
            lab["comparator"] = r.choice(["<", "<=", ">", ">="])
        elif c == 3 and "value" in lab:
            lab["reference_range"] = r.choice(
                [{"high": self.number()}, {"low": self.number(), "high": self.number()}, {"low": 1}, None]
            )
            if lab["reference_range"] is None:
                del lab["reference_range"]
        elif c == 4:
            lab["date"] = self.day(as_of, -400, 5)
        elif c == 5:
            twin = copy.deepcopy(lab)
            if "value" in twin and r.random() < 0.5:
                twin["value"] = self.number()
            labs.append(twin)
        elif c == 6 and "value" in lab:
            lab["value"] = self.number()
        elif c == 7:
            lab["test"] = r.choice(["ANC", "bili", "neutrophils", lab["test"].upper()])
        elif c == 8 and "value" in lab and lab["test"] in self.units:
            lab["unit"], lab["value"] = r.choice(self.units[lab["test"]] or ["1"]), self.number()

    def profile(self, d: dict[str, Any], as_of: date) -> None:
        r = self.rng
        c = r.randrange(16)
        if c < 4:
            self.lab(d, as_of)
        elif c == 4:
            d["birth_date"] = self.day(as_of, -36000, 2)
        elif c == 5:
            d["as_of"] = r.choice(DAYS)
        elif c == 6:
            key = r.choice(["weight", "height", "life_expectancy"])
            d[key] = {"value": self.number(), "unit": r.choice([*self.units[key], "kg", "bogus"])}
            if r.random() < 0.6:
                d[key]["date"] = self.day(as_of, -120, 2)
            if r.random() < 0.2:
                d[key]["comparator"] = r.choice(["<", ">="])
        elif c == 7:
            d["sex"] = r.choice(["female", "male", None])
            if d["sex"] is None:
                del d["sex"]
        elif c == 8:
            unit = r.choice(["mg/dL", "umol/L", "mmol/L", "µmol/L"])
            value = r.choice([0, 0.5, 1.1, 88.4, 200])
            d.setdefault("labs", []).append(
                {"test": "creatinine", "value": value, "unit": unit, "date": self.day(as_of, -30, 1)}
            )
        elif c == 9:
            d["blood_pressure"] = [
                {
                    "systolic": r.randint(80, 200),
                    "diastolic": r.randint(40, 120),
                    "unit": r.choice(["mmHg", "kPa", "mm[Hg]", "bogus"]),
                    "date": r.choice([d.get("as_of") or "2026-11-16", self.day(as_of, -30, 2)]),
                }
                for _ in range(r.randint(0, 3))
            ]
        elif c == 10:
            d["metastases"] = [
                {
                    k: v
                    for k, v in (
                        ("site", r.choice(["lung", "liver", "bone", "brain", None])),
                        ("status", r.choice(["active", "resolved", "treated_stable", None])),
                        ("lesion_count", r.choice([1, 2, 5, None])),
                        ("date", self.day(as_of, -900, 2)),
                    )
                    if v is not None
                }
                for _ in range(r.randint(0, 4))
            ]
        elif c == 11:
            d.setdefault("conditions", []).append(
                r.choice(
                    [
                        {"type": "other", "name": r.choice(["cellulitis", "Multiple sclerosis", "odd"])},
                        {"code": {"system": "http://snomed.info/sct", "code": "12345", "display": "Thing"}},
                        {"type": "hypertension", "category": r.choice(["autoimmune", "cardiovascular"])},
                        {"type": "hiv", "onset": self.day(as_of), "resolved": self.day(as_of, -100, 3)},
                        {"type": "pulmonary_embolism", "status": "resolved", "name": "PE"},
                    ]
                )
            )
        elif c == 12:
            d.setdefault("treatments", []).append(
                r.choice(
                    [
                        {"name": r.choice(["XY-101", "doxorubicin", "Left above-knee amputation"])},
                        {"type": "procedure", "name": "isolated limb perfusion with melphalan"},
                        {"type": "surgery", "amputation": r.choice([True, False]), "date": self.day(as_of)},
                        {"type": "procedure", "name": r.choice(["excisional biopsy", "core biopsy"])},
                        {
                            "type": "chemotherapy",
                            "agents": ["doxorubicin", "zz-77"],
                            "start": self.day(as_of),
                        },
                        {"type": "surgery", "involves_target_site": True, "intent": "non_oncologic"},
                    ]
                )
            )
        elif c == 13:
            d.setdefault("medications", []).append(
                {"name": r.choice(["prednisolone 5mg", "methotrexate", "unknownium", "tenofovir"])}
                | ({"ongoing": True} if r.random() < 0.5 else {"end": self.day(as_of, -50, 2)})
            )
        elif c == 14:
            d["reproductive"] = {"pregnant": r.choice([True, False]), "breastfeeding": r.choice([True, None])}
            d["attestations"] = [
                {"trial": "T", "criterion": "I1", "answer": "yes", "by": "dr", "date": self.day(as_of, -5, 3)}
            ]
        else:
            for key in r.sample(
                ["labs", "conditions", "treatments", "metastases", "toxicities", "diagnosis"], 2
            ):
                if key == "diagnosis" or r.random() < 0.5:
                    d.pop(key, None)
                else:
                    d[key] = []


def profiles() -> Iterator[tuple[str, str]]:
    """(name, JSON text) of every profile of the snapshot, in order."""
    rng = random.Random(SEED)
    mutate = _Mutator(rng)
    for b, line in enumerate((HERE / "base.jsonl").read_text("utf-8").splitlines()):
        base = json.loads(line)
        yield f"{b}", line
        for m in range(PER_BASE):
            d = copy.deepcopy(base)
            as_of = date.fromisoformat(d.get("as_of") or "2026-11-16")
            for _ in range(rng.randint(1, 4)):
                mutate.profile(d, as_of)
            yield f"{b}.{m}", json.dumps(d, ensure_ascii=False)


def _shown(v: Any) -> str:
    """A value with its type, all the way down (Fraction(3) is not Decimal("3") nor 3)."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {_shown(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple | frozenset | set):
        inner = sorted(map(_shown, v)) if isinstance(v, frozenset | set) else map(_shown, v)
        extra = {k: _shown(x) for k, x in vars(v).items()} if hasattr(v, "__dict__") else ""
        return f"{type(v).__name__}[{', '.join(inner)}]{extra}"
    if type(v).__name__ == "Analyte":
        return f"Analyte:{v.key}"
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        parts = ", ".join(f"{f.name}={_shown(getattr(v, f.name))}" for f in dataclasses.fields(v))
        return f"{type(v).__name__}({parts})"
    if hasattr(v, "model_dump"):
        return f"{type(v).__name__}{_shown(v.model_dump())}"
    return f"{type(v).__name__}:{v!r}"


def reading(text: str, name: str) -> str:
    """What build_facts makes of a profile (or the problems it raises), as text."""
    try:
        patient = parse_patient(text, name)
    except EligimatchError as exc:
        return f"unreadable: {type(exc).__name__}"
    try:
        f = build_facts(patient, None, name)
    except PatientError as exc:
        return f"problems: {list(exc.problems)!r}\n{exc}"
    lines = [f"{f.patient_id!r} {f.as_of} {f.histology!r}"]
    lines += [f"quantity {k}: {_shown(q)} shown {q.shown()!r}" for k, q in f.quantities.items()]
    lines += [f"gap {k}: {g!r} {f.gap(k)!r}" for k, g in f.quantity_gaps.items()]
    lines += [f"scalars {_shown(f.scalars)}", f"attestations {_shown(f.attestations)}"]
    for k, items in f.collections.items():
        lines.append(f"{k}: {'not recorded' if items is None else len(items)}")
        lines += [f"  {_shown(item)}" for item in items or ()]
    return "\n".join(lines)


def digests() -> dict[str, str]:
    return {name: hashlib.sha256(reading(text, name).encode()).hexdigest()[:32] for name, text in profiles()}


def test_the_facts_of_every_mutated_profile_are_those_of_the_snapshot():
    want = json.loads((HERE / "digests.json").read_text("utf-8"))
    got = digests()
    assert list(got) == list(want)
    changed = [name for name in got if got[name] != want[name]]
    if changed:
        texts = dict(profiles())
        first = changed[0]
        raise AssertionError(
            f"{len(changed)} of {len(got)} profiles read differently, first {first}:\n"
            f"{texts[first]}\n{reading(texts[first], first)}"
        )


def test_the_snapshot_reads_good_and_bad_profiles():
    kinds = [reading(text, name).split(":")[0] for name, text in profiles()]
    assert kinds.count("problems") > 200 and len(kinds) - kinds.count("problems") > 400


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    (HERE / "digests.json").write_text(json.dumps(digests(), indent=0) + "\n", "utf-8")
