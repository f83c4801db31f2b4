"""The store: stored patients, clinician attestations and the append-only audit log.

SQLAlchemy 2 over any database URL (an SQLite file by default; PostgreSQL for a shared
deployment).  The schema is made and upgraded by Alembic (:mod:`eligimatch.web.migrate`).

* A patient is stored once per patient id; uploading the same id again replaces the profile
  (the audit log keeps that it happened).  URLs use the row number, never the patient's id.
* An attestation is never deleted: withdrawing it records who, when and why.
* The audit log only grows: the store has no update or delete for it, and the migration
  installs database triggers that refuse both.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

__all__ = ["AttestationRow", "AuditRow", "PatientRow", "Store"]


class Base(DeclarativeBase):
    pass


class PatientRow(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(300))  # file name or "pasted", "CDS Hooks"
    kind: Mapped[str] = mapped_column(String(20))  # profile | fhir
    profile: Mapped[str] = mapped_column(Text)  # profile JSON as screened
    as_of: Mapped[date]
    import_notes: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of lines
    revision: Mapped[int] = mapped_column(default=1)  # bumped on every change
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]

    def notes(self) -> list[str]:
        out: list[str] = json.loads(self.import_notes)
        return out


class AttestationRow(Base):
    __tablename__ = "attestations"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    trial: Mapped[str] = mapped_column(String(100))
    criterion: Mapped[str] = mapped_column(String(100))
    answer: Mapped[str] = mapped_column(String(3))  # yes | no
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(200))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class AuditRow(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    patient: Mapped[int | None] = mapped_column(index=True)
    patient_id: Mapped[str | None] = mapped_column(String(200))
    trial: Mapped[str | None] = mapped_column(String(100))
    criterion: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text, default="")
    rules_sha256: Mapped[str] = mapped_column(String(64))


class SettingRow(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class Store:
    """Reads and appends; every method runs in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    # ------------------------------------------------------------------ settings
    def secret(self) -> bytes:
        """The key that signs session cookies and CSRF tokens, made on first start."""
        with self.session() as s:
            row = s.get(SettingRow, "secret_key")
            if row is None:
                row = SettingRow(key="secret_key", value=secrets.token_hex(32))
                s.add(row)
            return bytes.fromhex(row.value)

    # ------------------------------------------------------------------ patients
    def patients(self) -> Sequence[PatientRow]:
        with self.session() as s:
            return s.scalars(select(PatientRow).order_by(PatientRow.patient_id)).all()

    def patient(self, key: int) -> PatientRow | None:
        with self.session() as s:
            return s.get(PatientRow, key)

    def patient_by_id(self, patient_id: str) -> PatientRow | None:
        with self.session() as s:
            return s.scalars(select(PatientRow).where(PatientRow.patient_id == patient_id)).first()

    def put_patient(
        self,
        *,
        patient_id: str,
        source: str,
        kind: str,
        profile: str,
        as_of: date,
        notes: list[str],
        actor: str,
        now: datetime,
    ) -> tuple[PatientRow, bool]:
        """Store a patient, or replace the profile of the one with this id; True if new."""
        with self.session() as s:
            row = s.scalars(select(PatientRow).where(PatientRow.patient_id == patient_id)).first()
            created = row is None
            if row is None:
                row = PatientRow(patient_id=patient_id, created_at=now, created_by=actor, revision=1)
                s.add(row)
            else:
                row.revision += 1
            row.source, row.kind, row.profile, row.as_of = source, kind, profile, as_of
            row.import_notes = json.dumps(notes, ensure_ascii=False)
            row.updated_at = now
            s.flush()
            return row, created

    # ------------------------------------------------------------------ attestations
    def attestations(self, key: int) -> Sequence[AttestationRow]:
        with self.session() as s:
            return s.scalars(
                select(AttestationRow).where(AttestationRow.patient == key).order_by(AttestationRow.id)
            ).all()

    def attestation(self, att_id: int) -> AttestationRow | None:
        with self.session() as s:
            return s.get(AttestationRow, att_id)

    def add_attestation(
        self, key: int, *, trial: str, criterion: str, answer: str, reason: str, by: str, now: datetime
    ) -> AttestationRow:
        """Record an answer; an earlier active answer to the same item is withdrawn by it."""
        with self.session() as s:
            earlier = s.scalars(
                select(AttestationRow).where(
                    AttestationRow.patient == key,
                    AttestationRow.trial == trial,
                    AttestationRow.criterion == criterion,
                    AttestationRow.withdrawn_at.is_(None),
                )
            ).all()
            for old in earlier:
                old.withdrawn_at, old.withdrawn_by = now, by
                old.withdrawn_reason = "replaced by a new answer"
            row = AttestationRow(
                patient=key, trial=trial, criterion=criterion, answer=answer, reason=reason, by=by, at=now
            )
            s.add(row)
            self._bump(s, key, now)
            s.flush()
            return row

    def withdraw(self, att_id: int, *, by: str, reason: str, now: datetime) -> AttestationRow:
        with self.session() as s:
            row = s.get(AttestationRow, att_id)
            if row is None or row.withdrawn_at is not None:
                raise LookupError(att_id)
            row.withdrawn_at, row.withdrawn_by, row.withdrawn_reason = now, by, reason
            self._bump(s, row.patient, now)
            return row

    @staticmethod
    def _bump(s: Session, key: int, now: datetime) -> None:
        p = s.get(PatientRow, key)
        if p is not None:
            p.revision += 1
            p.updated_at = now

    # ------------------------------------------------------------------ audit
    def audit(
        self,
        *,
        actor: str,
        action: str,
        rules_sha256: str,
        now: datetime,
        patient: PatientRow | None = None,
        patient_id: str | None = None,
        trial: str | None = None,
        criterion: str | None = None,
        detail: str = "",
    ) -> None:
        with self.session() as s:
            s.add(
                AuditRow(
                    at=now,
                    actor=actor,
                    action=action,
                    patient=patient.id if patient else None,
                    patient_id=patient.patient_id if patient else patient_id,
                    trial=trial,
                    criterion=criterion,
                    detail=detail,
                    rules_sha256=rules_sha256,
                )
            )

    def audit_log(self, *, patient: int | None = None, limit: int = 200) -> Sequence[AuditRow]:
        with self.session() as s:
            q = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
            if patient is not None:
                q = q.where(AuditRow.patient == patient)
            return s.scalars(q).all()
