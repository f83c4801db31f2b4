"""Screening over the store: stored profiles plus their active attestations, rules loaded once.

Everything the pages, the REST API and CDS Hooks do to patients goes through
:class:`Workspace`, so each action is audited in one place.  Results are cached per patient
revision (an attestation or a new profile bumps it).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from .. import explain
from ..api import parse_patient, screen
from ..engine import RuleSet, Trial, TrialResult, load_rules
from ..errors import EligimatchError
from ..facts import Facts
from ..patient import Attestation, Patient
from .config import Settings
from .store import AttestationRow, PatientRow, Store

__all__ = ["ActionError", "Screened", "Workspace", "version"]


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _v

    try:
        return _v("eligimatch")
    except PackageNotFoundError:  # pragma: no cover - a bare checkout
        return "0+unknown"


class ActionError(EligimatchError, ValueError):
    """A request the workspace refuses (unknown patient, not a review item, ...)."""

    def __init__(self, message: str, status: int = 422) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Screened:
    """One stored patient screened against every trial, as of its evaluation date."""

    row: PatientRow
    facts: Facts
    results: list[TrialResult]  # eligible → undetermined → ineligible
    attestations: Sequence[AttestationRow]
    rules_sha256: str

    def document(self) -> dict[str, Any]:
        """The same JSON document as ``eligimatch screen --format json``."""
        return explain.document(
            self.facts.patient_id,
            self.row.source,
            self.facts.as_of,
            self.results,
            self.rules_sha256,
            version(),
        )

    def result(self, trial_id: str) -> TrialResult | None:
        return next((r for r in self.results if r.trial_id == trial_id), None)

    @cached_property
    def active(self) -> dict[tuple[str, str], AttestationRow]:
        return {(a.trial, a.criterion): a for a in self.attestations if a.active}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    raise TypeError(type(value).__name__)


class Workspace:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.rules: RuleSet = load_rules(settings.rules_dir)
        self._cache: OrderedDict[tuple[int, int], Screened] = OrderedDict()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The time, as naive UTC (how the store keeps times on every database)."""
        return self.settings.now().astimezone(UTC).replace(tzinfo=None)

    @property
    def rules_sha256(self) -> str:
        return self.rules.sha256

    def trial(self, trial_id: str) -> Trial:
        return self.rules.get(trial_id)

    def audit(self, actor: str, action: str, **kw: Any) -> None:
        self.store.audit(actor=actor, action=action, rules_sha256=self.rules.sha256, now=self.now(), **kw)

    # ------------------------------------------------------------------ reading input
    def read(self, text: str | bytes, source: str) -> tuple[Patient, date, str, list[str]]:
        """Validate a profile or a FHIR bundle: (patient, evaluation date, kind, notes).

        A profile without ``as_of`` (a FHIR bundle without a timestamp) is evaluated as of
        today, and the notes say so.  Raises :class:`PatientError` with the CLI's message.
        """
        notes: list[str] = []
        patient = parse_patient(text, source, notes=notes)
        kind = "profile"
        try:
            raw = json.loads(text)
            kind = "fhir" if isinstance(raw, dict) and "resourceType" in raw else "profile"
        except ValueError:  # pragma: no cover - parse_patient accepted it
            pass
        if kind == "fhir":
            notes = self._fhir_notes(raw, source) or notes
        as_of = patient.as_of or self.settings.today()
        if patient.as_of is None:
            notes.append(f"{source}: no evaluation date in the record: screened as of {as_of}")
        screen(patient, self.rules, as_of, source, explain=False)  # impossible data → error
        return patient, as_of, kind, notes

    @staticmethod
    def _fhir_notes(raw: Any, source: str) -> list[str]:
        from ..fhir import import_bundle

        try:
            return [f"{source}: {line}" for line in import_bundle(raw, source).warning_lines()]
        except EligimatchError:  # pragma: no cover - parse_patient imported it already
            return []

    @staticmethod
    def profile_text(patient: Patient, kind: str, text: str | bytes) -> str:
        if kind == "profile":
            return text.decode("utf-8") if isinstance(text, bytes) else text
        from ..fhir import profile_json

        return profile_json(patient)

    # ------------------------------------------------------------------ storing
    def add_patient(
        self, text: str | bytes, source: str, actor: str, via: str = "upload"
    ) -> tuple[PatientRow, list[str], bool]:
        patient, as_of, kind, notes = self.read(text, source)
        row, created = self.store.put_patient(
            patient_id=patient.id,
            source=source,
            kind=kind,
            profile=self.profile_text(patient, kind, text),
            as_of=as_of,
            notes=notes,
            actor=actor,
            now=self.now(),
        )
        self.audit(
            actor,
            "store patient" if created else "replace profile",
            patient=row,
            detail=f"{via}: {source} ({kind})",
        )
        return row, notes, created

    def get(self, key: int) -> PatientRow:
        row = self.store.patient(key)
        if row is None:
            raise ActionError(f"no stored patient {key}", 404)
        return row

    # ------------------------------------------------------------------ screening
    def screened(self, row: PatientRow) -> Screened:
        with self._lock:
            hit = self._cache.get((row.id, row.revision))
            if hit is not None:
                self._cache.move_to_end((row.id, row.revision))
                return hit
        atts = self.store.attestations(row.id)
        patient = parse_patient(row.profile, row.source)
        active = [a for a in atts if a.active]
        if active:
            patient = patient.model_copy(
                update={
                    "attestations": [
                        *patient.attestations,
                        *(self._attestation(a, row.as_of) for a in active),
                    ]
                }
            )
        facts, results = screen(patient, self.rules, row.as_of, row.source)
        out = Screened(row, facts, explain.ordered(results), atts, self.rules.sha256)
        with self._lock:
            self._cache[(row.id, row.revision)] = out
            while len(self._cache) > 512:
                self._cache.popitem(last=False)
        return out

    @staticmethod
    def _attestation(a: AttestationRow, as_of: date) -> Attestation:
        """The stored answer as the profile's attestation.  The engine takes no answer dated
        after the evaluation date, so an answer given later is dated on the evaluation date and
        its note says when it was really given."""
        answered = a.at.date()
        note = a.reason
        if answered > as_of:
            note = f"{a.reason} (answered {answered}, after the record's date)"
        return Attestation(
            trial=a.trial,
            criterion=a.criterion,
            answer=a.answer,
            by=a.by,
            date=min(answered, as_of),
            note=note,
        )

    def view(self, row: PatientRow, actor: str, what: str = "patient page") -> Screened:
        s = self.screened(row)
        self.audit(actor, "view", patient=row, detail=what)
        return s

    def all_screened(self) -> list[Screened]:
        return self.screen_all()[0]

    def screen_all(self) -> tuple[list[Screened], list[tuple[PatientRow, str]]]:
        """Every stored patient screened, and those whose stored profile no longer reads (the
        patient format or the rules changed under it), with the one-line message."""
        out, broken = [], []
        for row in self.store.patients():
            try:
                out.append(self.screened(row))
            except EligimatchError as exc:
                broken.append((row, str(exc)))
        return out, broken

    # ------------------------------------------------------------------ attestations
    def attest(
        self, row: PatientRow, *, trial: str, criterion: str, answer: str, reason: str, actor: str
    ) -> tuple[AttestationRow, str, str]:
        """Record a clinician's answer; returns it with the verdict before and after."""
        t = self.trial(trial)
        crit = next((c for c in t.criteria if c.id == criterion), None)
        if crit is None:
            raise ActionError(f"{t.id} has no criterion {criterion!r}")
        if not crit.needs_review:
            raise ActionError(f"{t.id} {criterion} has no clinician-review item to answer")
        if answer not in ("yes", "no"):
            raise ActionError(f"answer: {answer!r} is not 'yes' or 'no'")
        reason = " ".join(reason.split())
        if not reason:
            raise ActionError("reason: give the reason for the answer")
        before = self._verdict(row, t.id)
        att = self.store.add_attestation(
            row.id, trial=t.id, criterion=criterion, answer=answer, reason=reason, by=actor, now=self.now()
        )
        row = self.get(row.id)
        after = self._verdict(row, t.id)
        self.audit(
            actor,
            "attest",
            patient=row,
            trial=t.id,
            criterion=criterion,
            detail=f"answer {answer}: {reason}; verdict {before} → {after}",
        )
        return att, before, after

    def withdraw(
        self, row: PatientRow, att_id: int, *, reason: str, actor: str
    ) -> tuple[AttestationRow, str, str]:
        att = self.store.attestation(att_id)
        if att is None or att.patient != row.id:
            raise ActionError(f"no attestation {att_id} for this patient", 404)
        if not att.active:
            raise ActionError(f"attestation {att_id} was already withdrawn", 409)
        reason = " ".join(reason.split()) or "withdrawn"
        before = self._verdict(row, att.trial)
        att = self.store.withdraw(att_id, by=actor, reason=reason, now=self.now())
        row = self.get(row.id)
        after = self._verdict(row, att.trial)
        self.audit(
            actor,
            "withdraw attestation",
            patient=row,
            trial=att.trial,
            criterion=att.criterion,
            detail=f"withdrew '{att.answer}' of {att.by}: {reason}; verdict {before} → {after}",
        )
        return att, before, after

    def _verdict(self, row: PatientRow, trial_id: str) -> str:
        r = self.screened(row).result(trial_id)
        return r.verdict if r else "?"
