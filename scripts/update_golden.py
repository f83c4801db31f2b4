"""Regenerate patients/expected/outcomes.json: the golden screening results of the example
patients (per patient and trial: verdict, failing and unknown criterion ids).

Run after changing rules or example patients, then REVIEW the diff against the seed texts like
code: `git diff patients/expected/outcomes.json`.  tests/test_golden.py fails when the
screening results drift from this file.

    python scripts/update_golden.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from eligimatch.api import read_patient, screen  # noqa: E402
from eligimatch.engine import load_rules  # noqa: E402


def outcomes() -> dict[str, dict[str, dict[str, object]]]:
    rules = load_rules(ROOT / "rules")
    out: dict[str, dict[str, dict[str, object]]] = {}
    for path in sorted((ROOT / "patients").glob("*.json")):
        _, results = screen(read_patient(path), rules, source=str(path))
        out[path.name] = {
            r.trial_id: {
                "verdict": r.verdict,
                "failing": [c.id for c in r.criteria if c.status == "fail"],
                "unknown": [c.id for c in r.criteria if c.status == "unknown"],
            }
            for r in sorted(results, key=lambda r: r.trial_id)
        }
    return out


def main() -> None:
    target = ROOT / "patients" / "expected" / "outcomes.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(outcomes(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
