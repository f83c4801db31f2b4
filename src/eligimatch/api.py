"""The library entry points: read a patient, screen it against the rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import attestations, jsonfast, jsonin
from .engine import RuleSet, Trial, TrialResult
from .errors import PatientError
from .facts import Facts, build_facts
from .patient import Patient

__all__ = ["parse_patient", "patient_facts", "read_patient", "screen"]


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse_patient(
    text: str | bytes,
    source: str,
    *,
    notes: list[str] | None = None,
    max_bytes: int | None = None,
    as_of: date | None = None,
) -> Patient:
    """Validate a patient profile given as JSON text; raise :class:`PatientError`.

    The JSON is read strictly (:mod:`eligimatch.jsonin`): at most ``max_bytes`` (default: the
    input limit, ``ELIGIMATCH_MAX_INPUT_MB``), no duplicate keys, bounded numbers, and every
    value of its field's JSON type (no ``"1200"`` for a number, no ``0`` or ``"n"`` for false,
    no number for a date).  A FHIR R4 Bundle (a JSON object with ``resourceType``) is imported
    through :mod:`eligimatch.fhir`; what it could not map is appended to ``notes`` when given.

    ``as_of`` (an explicit evaluation date, ``--as-of``) earlier than the data screens
    retrospectively: the data after it is left out and listed in ``notes``
    (:mod:`eligimatch.retro`); data after the file's own ``as_of`` stays an error.
    """
    patient = _exact_patient()(jsonin.text_of(text, source, PatientError, limit=max_bytes))
    if patient is None:
        return _full_parse(text, source, notes, max_bytes, as_of)
    return _earlier(patient, source, notes, as_of)


def _earlier(patient: Patient, source: str, notes: list[str] | None, as_of: date | None) -> Patient:
    if as_of is not None:
        from .retro import as_of_earlier

        patient, left_out = as_of_earlier(patient, as_of)
        if notes is not None:
            notes.extend(f"{source}: note: {line}" for line in left_out)
    return patient


# What the fast path must never accept (what lax validation would coerce, a key given twice), and
# a number it must read exactly when it reads it: checked once, when the fast path is built.
_HEAD = '{"id": "probe", "as_of": "2026-01-01", '
_LAB = '"labs": [{"test": "anc", "unit": "/uL", "date": "2026-01-01", "value": '
_NEVER = (
    _HEAD + _LAB + '"1200"}]}',
    _HEAD + '"weight": {"value": 70, "unit": "kg", "date": 20260101}}',
    _HEAD + '"reproductive": {"pregnant": 0}}',
    _HEAD + '"ecog": {"value": true, "date": "2026-01-01"}}',
    _HEAD + '"sex": "female", "sex": "male"}',
    _HEAD + _LAB + "1e-40}]}",
)
_EXACT = (_HEAD + _LAB + "1499.99999999999999}]}", Decimal("1499.99999999999999"))


@cache
def _exact_patient() -> Callable[[str], Patient | None]:
    """The fast path (:mod:`.jsonfast`): a profile of exactly typed JSON read in one pass, or
    None; built on first use.  It leans on how pydantic builds validators: should a version of
    pydantic build a twin that is not as strict (it accepts one of :data:`_NEVER`, or reads
    :data:`_EXACT` through a float), or one the twin cannot mirror, every profile takes the full
    path instead."""

    def declined(text: str) -> None:
        return None

    try:
        read = jsonfast.reader(Patient)
        text, value = _EXACT
        exact = read(text)
        inexact = exact is not None and (not exact.labs or exact.labs[0].value != value)
        if inexact or any(read(probe) is not None for probe in _NEVER):
            return declined
    except Exception:  # jsonfast.Unsupported, or a twin this pydantic cannot build: the full path
        return declined
    return read


def _full_parse(
    text: str | bytes, source: str, notes: list[str] | None, max_bytes: int | None, as_of: date | None
) -> Patient:
    """The full path of :func:`parse_patient`: it reads every input and names every problem."""
    raw = jsonin.load(text, source, PatientError, limit=max_bytes)
    if not isinstance(raw, dict):
        raise PatientError(source, [("", "a patient profile must be a JSON object")])
    if "resourceType" in raw:
        from .fhir import import_bundle

        jsonin.check_depth(raw, source, PatientError)
        imported = import_bundle(raw, source, as_of=as_of)
        if notes is not None:
            notes.extend(f"{source}: {line}" for line in imported.warning_lines(notes=False))
        return imported.patient
    try:
        patient = Patient.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown field (not part of the patient format; see 'eligimatch schema')"
            problems.append((_loc(err["loc"]), msg))
        raise PatientError(source, problems) from exc
    wrong = jsonin.type_problems(patient, raw)
    if wrong:
        raise PatientError(source, wrong)
    return _earlier(patient, source, notes, as_of)


def read_patient(
    path: Path, *, notes: list[str] | None = None, max_bytes: int | None = None, as_of: date | None = None
) -> Patient:
    """Read and validate a profile (or a FHIR bundle) from a file; see :func:`parse_patient`."""
    limit = jsonin.max_input_bytes() if max_bytes is None else max_bytes
    try:
        data = jsonin.read_bytes(path, limit)
    except jsonin.TooLarge as exc:
        raise PatientError(str(path), [("", str(exc))]) from None
    except OSError as exc:
        raise PatientError(str(path), [("", f"cannot read: {exc.strerror or exc}")]) from None
    return parse_patient(data, str(path), notes=notes, max_bytes=limit, as_of=as_of)


def patient_facts(
    patient: Patient, trials: Sequence[Trial], as_of: date | None = None, source: str = "<patient>"
) -> Facts:
    """The facts of a patient screened against ``trials`` (all the rules loaded): its
    attestations matched to their trials and criteria (:mod:`eligimatch.attestations`; one
    naming neither is a :class:`PatientError`), then :func:`~eligimatch.facts.build_facts`."""
    return build_facts(attestations.resolve(patient, trials, source), as_of, source)


def screen(
    patient: Patient,
    rules: RuleSet | Sequence[Trial],
    as_of: date | None = None,
    source: str = "<patient>",
    *,
    explain: bool = True,
    only: Sequence[Trial] | None = None,
) -> tuple[Facts, list[TrialResult]]:
    """Evaluate one patient against every trial (or the trials ``only`` names, its attestations
    still checked against all); facts are computed once and shared.

    ``explain=False`` leaves the explanations empty (statuses and verdicts are the same)."""
    trials = rules.trials if isinstance(rules, RuleSet) else rules
    facts = patient_facts(patient, trials, as_of, source)
    return facts, [t.evaluate(facts, explain=explain) for t in (trials if only is None else only)]
