"""Seeded synthetic patient profiles for benchmarks (never real patients).

Distributions are rough but clinically plausible for an adult soft-tissue sarcoma clinic: ages
around 55 (SD 16), ECOG mostly 0-1, histologies weighted like a sarcoma referral centre (LMS,
UPS, liposarcomas, synovial sarcoma, myxofibrosarcoma...), a third metastatic, labs mostly normal
with a tail of abnormal values.  Every kind of fact the trials read appears, and each part of a
profile is missing with some probability (absent = not recorded), dates spread so some labs are
stale, and units vary (ANC in /uL, 10^9/L or 10*3/uL; creatinine in mg/dL or umol/L; weight
in kg or lb; tumour size in cm or mm...).  A given (seed, index) always gives the same profile.

    python benchmarks/synth.py 10000 -o cohort.jsonl --seed 1
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

AS_OF = date(2026, 11, 16)

HISTOLOGY = {
    "LMS": 20,
    "MFH": 18,
    "DDLS": 9,
    "WDLS": 5,
    "MRLS": 7,
    "PLLS": 2,
    "SYNS": 8,
    "MFS": 8,
    "MPNST": 3,
    "PLRMS": 2,
    "ERMS": 1,
    "ES": 2,
    "ESST": 1,
    "GIST": 4,
    "ANGS": 3,
    "SFT": 3,
    "DFSP": 2,
    "OS": 2,
}
SITE_GROUP = {
    "extremity": 55,
    "trunk": 14,
    "retroperitoneum": 15,
    "head_and_neck": 5,
    "visceral": 9,
    "other": 2,
}
CONDITIONS = [  # (probability, category, type, extra fields)
    (0.30, "cardiovascular", "hypertension", {"status": "controlled"}),
    (0.10, "metabolic", "diabetes", {"status": "controlled"}),
    (0.04, "cardiovascular", "myocardial_infarction", {"status": "resolved"}),
    (0.03, "cardiovascular", "heart_failure", {"status": "active", "nyha_class": 2}),
    (0.05, "pulmonary", "copd", {"status": "active"}),
    (0.02, "pulmonary", "interstitial_lung_disease", {"status": "active"}),
    (0.03, "autoimmune", "rheumatoid_arthritis", {"status": "active"}),
    (0.02, "infection", "hepatitis_b", {"status": "resolved"}),
    (0.01, "infection", "hiv", {"status": "controlled"}),
    (0.02, "gastrointestinal", "peptic_ulcer", {"status": "resolved"}),
    (0.03, "thromboembolic", "deep_vein_thrombosis", {"status": "resolved"}),
    (0.02, "psychiatric", "psychiatric_disorder", {"status": "controlled"}),
    (0.01, "renal", "renal_insufficiency", {"status": "active", "severity": "moderate"}),
]
MEDICATIONS = [  # (probability, name, classes)
    (0.25, "amlodipine", ["antihypertensive"]),
    (0.10, "metformin", ["other"]),
    (0.08, "prednisolone", ["systemic_corticosteroid"]),
    (0.06, "apixaban", ["anticoagulant"]),
    (0.05, "aspirin", ["antiplatelet"]),
    (0.02, "methotrexate", ["immunosuppressant"]),
    (0.01, "yellow fever vaccine", ["live_vaccine"]),
]


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _day(rng: random.Random, back_min: int, back_max: int) -> str:
    return (AS_OF - timedelta(days=rng.randint(back_min, back_max))).isoformat()


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0, sigma))


def _maybe(rng: random.Random, p_missing: float) -> bool:
    """True when the item is recorded."""
    return rng.random() >= p_missing


def _labs(rng: random.Random, female: bool) -> list[dict[str, Any]]:
    labs: list[dict[str, Any]] = []
    # one draw date for most labs, 0-60 days back: beyond 28 days they are stale for some trials
    when = _day(rng, 0, 60)

    def add(test: str, value: float, unit: str, digits: int, **extra: Any) -> None:
        if _maybe(rng, 0.12):
            labs.append(
                {"test": test, "value": round(max(value, 0), digits), "unit": unit, "date": when, **extra}
            )

    anc = _lognormal(rng, 3.6, 0.45)
    unit = rng.choice(["/uL", "10^9/L", "10*3/uL"])
    add("anc", anc * 1000 if unit == "/uL" else anc, unit, 0 if unit == "/uL" else 2)
    add("wbc", anc * 1.6 + rng.uniform(0.5, 2), "10^9/L", 1)
    hb = rng.gauss(12.3 if female else 13.4, 1.7)
    if rng.random() < 0.5:
        add("hemoglobin", hb, "g/dL", 1)
    else:
        add("hemoglobin", hb * 10, "g/L", 0)
    add("platelets", _lognormal(rng, 240, 0.35), rng.choice(["10^9/L", "10*3/uL"]), 0)
    bili = _lognormal(rng, 0.6, 0.45)
    rr = {"reference_range": {"low": 0.2, "high": 1.2}} if rng.random() < 0.6 else {}
    if rng.random() < 0.5:
        add("bilirubin", bili, "mg/dL", 2, **rr)
    else:
        add(
            "bilirubin",
            bili * 17.1,
            "umol/L",
            1,
            **({"reference_range": {"low": 3, "high": 21}} if rr else {}),
        )
    for test in ("alt", "ast"):
        add(
            test,
            _lognormal(rng, 24, 0.5),
            rng.choice(["U/L", "IU/L"]),
            0,
            **({"reference_range": {"low": 7, "high": 40}} if rng.random() < 0.7 else {}),
        )
    crea = _lognormal(rng, 0.75 if female else 0.95, 0.25)
    if rng.random() < 0.5:
        add(
            "creatinine",
            crea,
            "mg/dL",
            2,
            **(
                {"reference_range": {"low": 0.5, "high": 1.1 if female else 1.3}}
                if rng.random() < 0.7
                else {}
            ),
        )
    else:
        add(
            "creatinine",
            crea * 88.4,
            "umol/L",
            0,
            **({"reference_range": {"low": 45, "high": 97 if female else 115}} if rng.random() < 0.7 else {}),
        )
    if rng.random() < 0.6:
        add("lvef", min(rng.gauss(60, 7), 80), "%", 0)
    if rng.random() < 0.3:
        add("inr", rng.gauss(1.0, 0.12), "1", 2)
    if rng.random() < 0.2:
        labs.append({"test": "hiv_antibody", "result": "negative", "date": when})
    if rng.random() < 0.2:
        labs.append(
            {
                "test": "urine_protein_dipstick",
                "result": rng.choice(["negative", "negative", "trace", "1+"]),
                "date": when,
            }
        )
    return labs


def _diagnosis(rng: random.Random) -> dict[str, Any]:
    status = rng.choices(["primary", "recurrent", "metastatic"], [55, 15, 30])[0]
    d: dict[str, Any] = {
        "histology": _pick(rng, HISTOLOGY),
        "site_group": _pick(rng, SITE_GROUP),
        "status": status,
        "confirmation": "histological",
        "date": _day(rng, 20, 900),
    }
    if _maybe(rng, 0.15):
        d["grade"] = rng.choices(["G1", "G2", "G3", "GX"], [20, 30, 45, 5])[0]
    if _maybe(rng, 0.2):
        size_cm = min(_lognormal(rng, 7, 0.6), 60)
        d["size"] = (
            {"value": round(size_cm, 1), "unit": "cm"}
            if rng.random() < 0.6
            else {"value": round(size_cm * 10), "unit": "mm"}
        )
    if _maybe(rng, 0.2):
        d["depth"] = rng.choices(["deep", "superficial"], [70, 30])[0]
    if _maybe(rng, 0.3):
        d["resectable"] = status != "metastatic" and rng.random() < 0.8
    if _maybe(rng, 0.4):
        d["locally_advanced"] = rng.random() < 0.2
    if _maybe(rng, 0.25):
        d["stage"] = {
            "n": rng.choices(["N0", "N1"], [92, 8])[0],
            "m": "M1" if status == "metastatic" else "M0",
        }
    return d


def _treatments(rng: random.Random, status: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "type": "procedure",
            "name": "core needle biopsy",
            "intent": "diagnostic",
            "invasive": True,
            "date": _day(rng, 10, 200),
        }
    ]
    if status != "primary" or rng.random() < 0.2:
        out.append(
            {
                "type": "surgery",
                "name": "wide excision",
                "intent": "curative",
                "major": True,
                "amputation": rng.random() < 0.03,
                "date": _day(rng, 20, 1500),
            }
        )
    if rng.random() < 0.35:
        start = rng.randint(60, 1200)
        out.append(
            {
                "type": "radiotherapy",
                "intent": "neoadjuvant",
                "dose_gy": 50,
                "start": _day(rng, start, start),
                "end": _day(rng, start - 35, start - 35),
                "involves_target_site": rng.random() < 0.3,
            }
        )
    if status == "metastatic" and rng.random() < 0.7:
        start = rng.randint(20, 400)
        out.append(
            {
                "type": "chemotherapy",
                "name": "doxorubicin",
                "classes": ["anthracycline"],
                "intent": "palliative",
                "start": _day(rng, start, start),
                "end": _day(rng, max(start - 90, 1), max(start - 90, 1)),
            }
        )
    if rng.random() < 0.02:
        out.append(
            {
                "type": "vaccine",
                "name": "live attenuated vaccine",
                "live": True,
                "intent": "non_oncologic",
                "date": _day(rng, 1, 90),
            }
        )
    return out


def profile(seed: int, index: int) -> dict[str, Any]:
    """The synthetic profile number ``index`` of the cohort ``seed``."""
    rng = random.Random(seed * 1_000_003 + index)
    sex = rng.choice(["female", "male"])
    female = sex == "female"
    age = min(max(rng.gauss(55, 16), 16), 92)
    p: dict[str, Any] = {"id": f"syn-{seed}-{index:07d}", "as_of": AS_OF.isoformat()}
    if _maybe(rng, 0.02):
        p["sex"] = sex
    if _maybe(rng, 0.03):
        p["birth_date"] = (AS_OF - timedelta(days=int(age * 365.25))).isoformat()
    if _maybe(rng, 0.1):
        kg = min(max(rng.gauss(70 if female else 82, 15), 35), 200)
        p["weight"] = (
            {"value": round(kg, 1), "unit": "kg"}
            if rng.random() < 0.85
            else {"value": round(kg * 2.20462), "unit": "lb"}
        )
        p["weight"]["date"] = _day(rng, 0, 90)
    if _maybe(rng, 0.3):
        p["height"] = {"value": round(rng.gauss(164 if female else 177, 7)), "unit": "cm"}
    if _maybe(rng, 0.1):
        p["ecog"] = {"value": rng.choices(range(5), [35, 40, 15, 7, 3])[0], "date": _day(rng, 0, 45)}
    if _maybe(rng, 0.4):
        months = rng.choice([3, 6, 12])
        p["life_expectancy"] = {"value": months, "unit": "month", "comparator": ">="}
    status = "primary"
    if _maybe(rng, 0.02):
        p["diagnosis"] = _diagnosis(rng)
        status = p["diagnosis"]["status"]
    if _maybe(rng, 0.1):
        sites = (
            rng.sample(["lung", "lung", "liver", "bone", "lymph_node", "soft_tissue"], rng.randint(1, 2))
            if status == "metastatic"
            else []
        )
        p["metastases"] = [
            {
                "site": s,
                "lesion_count": rng.randint(1, 8) if rng.random() < 0.8 else None,
                "status": "active",
                "date": _day(rng, 5, 120),
            }
            for s in dict.fromkeys(sites)
        ]
        for m in p["metastases"]:
            if m["lesion_count"] is None:
                del m["lesion_count"]
    if _maybe(rng, 0.2):
        p["measurable_disease"] = rng.random() < 0.85
    if _maybe(rng, 0.05):
        p["labs"] = _labs(rng, female)
    if _maybe(rng, 0.3):
        p["blood_pressure"] = [
            {
                "systolic": round(rng.gauss(130, 15)),
                "diastolic": round(rng.gauss(80, 9)),
                "date": _day(rng, 0, 30),
            }
        ]
    if _maybe(rng, 0.1):
        p["conditions"] = [
            {"category": cat, "type": typ, "onset": _day(rng, 200, 5000), **extra}
            for prob, cat, typ, extra in CONDITIONS
            if rng.random() < prob
        ]
    if _maybe(rng, 0.15):
        p["medications"] = [
            {"name": name, "classes": classes, "start": _day(rng, 5, 2000), "ongoing": True}
            for prob, name, classes in MEDICATIONS
            if rng.random() < prob
        ]
    if _maybe(rng, 0.05):
        p["treatments"] = _treatments(rng, status)
    if _maybe(rng, 0.3):
        p["toxicities"] = (
            [
                {
                    "term": rng.choice(["alopecia", "neuropathy", "fatigue"]),
                    "grade": rng.choices([1, 2, 3], [60, 30, 10])[0],
                    "ongoing": True,
                    "date": _day(rng, 10, 200),
                }
            ]
            if rng.random() < 0.3
            else []
        )
    if _maybe(rng, 0.2):
        p["allergies"] = (
            [{"substance": rng.choice(["penicillin", "iodinated contrast", "doxorubicin"]), "kind": "drug"}]
            if rng.random() < 0.15
            else []
        )
    if _maybe(rng, 0.25):
        p["other_malignancies"] = (
            [
                {
                    "histology": rng.choice(["BCC", "PRAD", "BRCA", "CSCC"]),
                    "status": rng.choice(["active", "remission", "cured"]),
                    "date": _day(rng, 100, 4000),
                }
            ]
            if rng.random() < 0.06
            else []
        )
    if _maybe(rng, 0.2):
        cbp = female and age < 50
        p["reproductive"] = {"pregnant": False, "breastfeeding": False, "childbearing_potential": cbp}
        if cbp:
            p["reproductive"]["effective_contraception"] = rng.random() < 0.8
    if _maybe(rng, 0.1):
        p["administrative"] = {
            "consent_signed": rng.random() < 0.9,
            "able_to_lie_flat": rng.random() < 0.97,
            "willing_to_provide_samples": rng.random() < 0.9,
        }
    return p


def profiles(n: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield profile(seed, i)


def write_jsonl(path: Path, n: int, seed: int = 1) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for p in profiles(n, seed):
            f.write(json.dumps(p, separators=(",", ":")) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of profiles")
    ap.add_argument("-o", "--output", type=Path, help="JSON Lines file (default: stdout)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.output is None:
        for p in profiles(args.n, args.seed):
            sys.stdout.write(json.dumps(p, separators=(",", ":")) + "\n")
    else:
        write_jsonl(args.output, args.n, args.seed)


if __name__ == "__main__":
    main()
