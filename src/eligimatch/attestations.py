"""Clinicians' answers (a profile's ``attestations``) matched to the loaded rules.

An answer names its trial by id (or registry id) and its criterion by id or by one of the
criterion's aliases, so an answer given before a protocol amendment renumbered the criterion
still answers it: :func:`resolve` rewrites every answer to the ids the rules use now.  An answer
that names a trial or a criterion the loaded rules do not have is an error (one line naming the
profile and the field, with a "did you mean"), never an answer that silently answers nothing.

Screening calls this once per patient (:func:`eligimatch.api.patient_facts`), whichever runner
then reads the answers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from .errors import PatientError, Problems
from .patient import Attestation, Patient
from .vocabulary import suggest

if TYPE_CHECKING:
    from .engine import Trial

__all__ = ["resolve"]


def _index(trials: Sequence[Trial]) -> tuple[dict[str, Trial], dict[str, dict[str, str]]]:
    """trial id or registry id → trial; trial id → criterion id or alias → criterion id."""
    by_name: dict[str, Trial] = {}
    for t in trials:
        by_name.setdefault(t.id, t)
        if t.meta.registry_id:
            by_name.setdefault(t.meta.registry_id, t)
    names = {t.id: {name: c.id for c in t.criteria for name in (c.id, *c.spec.aliases)} for t in trials}
    return by_name, names


def resolve(
    patient: Patient, trials: Sequence[Trial], source: str, elsewhere: Collection[str] = ()
) -> Patient:
    """``patient`` with every attestation naming its trial and criterion by their current ids;
    raise :class:`PatientError` listing every one that names something ``trials`` do not have.

    ``elsewhere``: ids (and registry ids) of loaded trials that are not screened in this run
    (a batch of some of the trials); answers to them are kept as given and answer nothing."""
    if not patient.attestations:
        return patient
    by_name, names = _index(trials)
    problems = Problems()
    resolved: list[Attestation] = []
    for i, att in enumerate(patient.attestations):
        trial = by_name.get(att.trial)
        if trial is None and att.trial in elsewhere:
            resolved.append(att)
            continue
        if trial is None:
            known = sorted({t.id for t in trials})
            problems.add(
                f"attestations[{i}].trial",
                f"unknown trial {att.trial!r}{suggest(att.trial, by_name)} (the rules "
                f"loaded define {', '.join(known) or 'none'})",
            )
            continue
        criterion = names[trial.id].get(att.criterion)
        if criterion is None:
            problems.add(
                f"attestations[{i}].criterion",
                f"{trial.id} has no criterion {att.criterion!r}{suggest(att.criterion, names[trial.id])}",
            )
            continue
        same = (trial.id, criterion) == (att.trial, att.criterion)
        resolved.append(att if same else att.model_copy(update={"trial": trial.id, "criterion": criterion}))
    if problems:
        raise PatientError(source, problems)
    if all(a is b for a, b in zip(resolved, patient.attestations, strict=True)):
        return patient
    return patient.model_copy(update={"attestations": resolved})
