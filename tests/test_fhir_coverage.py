"""How much of a realistic bundle gets through: per bundle, the share of
resources mapped and the share of criteria decided, against the figures committed in
``tests/data/fhir/coverage.json``.  The test fails when either drops; when one rises, update the
file (``python tests/test_fhir_coverage.py --write``) and the README's FHIR section.

* resources *mapped*: read whole, or recognised as holding nothing eligimatch uses (skipped with
  the reason); *partial*: kept with a field or its classification left unrecorded (an
  unclassified condition); *unmapped*: not read.
* criteria *decided*: pass or fail, over every criterion of every trial in ``rules/``.

Also: no collection is lost to one item on these bundles (every collection a bundle has
resources for is recorded).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data" / "fhir"
FIGURES = DATA / "coverage.json"
AS_OF = date(2026, 11, 16)  # the Synthea bundles' reference date (they carry no timestamp)


def us_core() -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": "2026-01-01T00:00:00Z",
        "entry": [
            {"resource": json.loads(p.read_text(encoding="utf-8"))}
            for p in sorted((DATA / "us_core").glob("*.json"))
        ],
    }


def bundles() -> dict[str, Any]:
    out: dict[str, Any] = {"us_core (10 examples)": us_core}
    for folder in ("mcode", "synthea"):
        for p in sorted((DATA / folder).glob("*.json")):
            out[f"{folder}/{p.name}"] = lambda p=p: json.loads(p.read_text(encoding="utf-8"))
    return out


@cache
def measure(name: str) -> dict[str, Any]:
    from eligimatch import api
    from eligimatch.engine import load_rules
    from eligimatch.fhir import import_bundle

    imported = import_bundle(bundles()[name](), name)
    cov = imported.coverage()
    as_of = None if imported.patient.as_of is not None else AS_OF
    _, results = api.screen(imported.patient, load_rules(None), as_of, name, explain=False)
    statuses = [c.status for r in results for c in r.criteria]
    return {
        **cov,
        "criteria": len(statuses),
        "decided": sum(s != "unknown" for s in statuses),
        "_import": imported,
    }


def figures(name: str) -> dict[str, int]:
    m = measure(name)
    return {k: v for k, v in m.items() if not k.startswith("_")}


def table(names: list[str]) -> str:
    rows = [
        "| bundle | resources | mapped | partial | unmapped | criteria decided |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        f = figures(name)
        ok = f["mapped"] + f["skipped"]
        rows.append(
            f"| {name} | {f['resources']} | {ok} ({_pct(ok, f['resources'])}) | "
            f"{f['partial']} | {f['unmapped']} | {f['decided']} of {f['criteria']} "
            f"({_pct(f['decided'], f['criteria'])}) |"
        )
    return "\n".join(rows)


def _pct(n: int, d: int) -> str:
    return f"{round(100 * Fraction(n, d or 1))} %"


pytest.importorskip("fhir.resources")
COMMITTED: dict[str, dict[str, int]] = json.loads(FIGURES.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(bundles()))
def test_shares_mapped_and_decided_do_not_drop(name, record_property):
    f = figures(name)
    record_property("coverage", json.dumps(f))
    want = COMMITTED.get(name)
    assert want is not None, f"no committed figures for {name}: run {__file__} --write"
    assert f["resources"] == want["resources"], "the fixture changed: re-measure"
    assert f["criteria"] == want["criteria"], "the rules changed: re-measure"
    mapped, committed = f["mapped"] + f["skipped"], want["mapped"] + want["skipped"]
    assert mapped >= committed, f"{name}: resources mapped dropped from {committed} to {mapped}\n" + table(
        [name]
    )
    assert f["decided"] >= want["decided"], (
        f"{name}: criteria decided dropped from {want['decided']} to {f['decided']}\n" + table([name])
    )


COLLECTION_RESOURCES = {
    "conditions": ("Condition",),
    "treatments": ("Procedure",),
    "medications": ("MedicationRequest", "MedicationStatement"),
    "allergies": ("AllergyIntolerance",),
}


@pytest.mark.parametrize("name", [n for n in sorted(bundles()) if n.startswith("synthea")])
def test_no_collection_is_lost_to_one_item(name):
    imported = measure(name)["_import"]
    raw = bundles()[name]()
    kinds = {e["resource"]["resourceType"] for e in raw["entry"]}
    for collection, sources in COLLECTION_RESOURCES.items():
        if kinds & set(sources):
            assert getattr(imported.patient, collection) is not None, collection


if __name__ == "__main__":
    names = sorted(bundles())
    if "--write" in sys.argv:
        FIGURES.write_text(json.dumps({n: figures(n) for n in names}, indent=1) + "\n", encoding="utf-8")
    print(table(names))
