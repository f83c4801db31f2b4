"""The library entry points: read a patient, screen it against the rules."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .compile import RuleSet, Trial
from .errors import PatientError
from .evaluate import TrialResult
from .facts import Facts, build_facts
from .patient import Patient

__all__ = ["parse_patient", "read_patient", "screen"]


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse_patient(text: str | bytes, source: str) -> Patient:
    """Validate a patient profile given as JSON text; raise :class:`PatientError`."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PatientError(source, [("", f"not valid JSON (line {exc.lineno}, column "
                                         f"{exc.colno}: {exc.msg})")]) from exc
    except (UnicodeDecodeError, RecursionError) as exc:
        raise PatientError(source, [("", "not valid JSON text")]) from exc
    if not isinstance(raw, dict):
        raise PatientError(source, [("", "a patient profile must be a JSON object")])
    try:
        return Patient.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown field (not part of the patient format; see 'eligimatch schema')"
            problems.append((_loc(err["loc"]), msg))
        raise PatientError(source, problems) from exc


def read_patient(path: Path) -> Patient:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PatientError(str(path), [("", f"cannot read: {exc.strerror}")]) from exc
    return parse_patient(data, str(path))


def screen(patient: Patient, rules: RuleSet | list[Trial], as_of: date | None = None,
           source: str = "<patient>") -> tuple[Facts, list[TrialResult]]:
    """Evaluate one patient against every trial; facts are computed once and shared."""
    facts = build_facts(patient, as_of, source)
    trials = rules.trials if isinstance(rules, RuleSet) else rules
    return facts, [t.evaluate(facts) for t in trials]
