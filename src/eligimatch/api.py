"""The library entry points: read a patient, screen it against the rules."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
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


def _number(text: str) -> Decimal:
    """A JSON number with a fraction or an exponent, exactly; absurd magnitudes are refused
    (1e999999999 would become a billion-digit integer in a whole-number field)."""
    d = Decimal(text)
    if d and not -30 <= d.adjusted() <= 30:
        raise ValueError(f"the number {text[:20]} is out of range (10⁻³⁰ to 10³⁰)")
    return d


def parse_patient(text: str | bytes, source: str, *, notes: list[str] | None = None) -> Patient:
    """Validate a patient profile given as JSON text; raise :class:`PatientError`.

    A FHIR R4 Bundle (a JSON object with ``resourceType``) is imported through
    :mod:`eligimatch.fhir`; what it could not map is appended to ``notes`` when given.
    """
    try:  # numbers as Decimal: through a float, 1499.99999999999999 /µL would read as 1500
        raw = json.loads(text, parse_float=_number)
    except json.JSONDecodeError as exc:
        raise PatientError(source, [("", f"not valid JSON (line {exc.lineno}, column "
                                         f"{exc.colno}: {exc.msg})")]) from exc
    except (UnicodeDecodeError, RecursionError) as exc:
        raise PatientError(source, [("", "not valid JSON text")]) from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise PatientError(source, [("", f"not valid JSON: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise PatientError(source, [("", "a patient profile must be a JSON object")])
    if "resourceType" in raw:
        from .fhir import import_bundle

        imported = import_bundle(raw, source)
        if notes is not None:
            notes.extend(f"{source}: {line}" for line in imported.warning_lines(notes=False))
        return imported.patient
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


def read_patient(path: Path, *, notes: list[str] | None = None) -> Patient:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PatientError(str(path), [("", f"cannot read: {exc.strerror}")]) from exc
    return parse_patient(data, str(path), notes=notes)


def screen(patient: Patient, rules: RuleSet | list[Trial], as_of: date | None = None,
           source: str = "<patient>", *, explain: bool = True
           ) -> tuple[Facts, list[TrialResult]]:
    """Evaluate one patient against every trial; facts are computed once and shared.

    ``explain=False`` leaves the explanations empty (statuses and verdicts are the same)."""
    facts = build_facts(patient, as_of, source)
    trials = rules.trials if isinstance(rules, RuleSet) else rules
    return facts, [t.evaluate(facts, explain=explain) for t in trials]
