"""Initial schema: patients, attestations, the append-only audit log, settings.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER attestations_no_delete BEFORE DELETE ON attestations
       BEGIN SELECT RAISE(ABORT, 'attestations are withdrawn, never deleted'); END""",
    """CREATE TRIGGER attestations_answer_fixed BEFORE UPDATE ON attestations
       WHEN NEW.answer IS NOT OLD.answer OR NEW.reason IS NOT OLD.reason OR NEW.by IS NOT OLD.by
         OR NEW.at IS NOT OLD.at OR NEW.trial IS NOT OLD.trial
         OR NEW.criterion IS NOT OLD.criterion OR OLD.withdrawn_at IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'an attestation can only be withdrawn, once'); END""",
]

_POSTGRES_TRIGGERS = [
    """CREATE FUNCTION eligimatch_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
       FOR EACH ROW EXECUTE FUNCTION eligimatch_append_only()""",
    """CREATE TRIGGER attestations_no_delete BEFORE DELETE ON attestations
       FOR EACH ROW EXECUTE FUNCTION eligimatch_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.String(200), nullable=False, unique=True),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("import_notes", sa.Text, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "attestations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient", sa.Integer, sa.ForeignKey("patients.id"), nullable=False, index=True),
        sa.Column("trial", sa.String(100), nullable=False),
        sa.Column("criterion", sa.String(100), nullable=False),
        sa.Column("answer", sa.String(3), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("withdrawn_at", sa.DateTime, nullable=True),
        sa.Column("withdrawn_by", sa.String(200), nullable=True),
        sa.Column("withdrawn_reason", sa.Text, nullable=True),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False, index=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("patient", sa.Integer, nullable=True, index=True),
        sa.Column("patient_id", sa.String(200), nullable=True),
        sa.Column("trial", sa.String(100), nullable=True),
        sa.Column("criterion", sa.String(100), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("rules_sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for stmt in {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRES_TRIGGERS}.get(dialect, []):
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS eligimatch_append_only() CASCADE")
    for table in ("settings", "audit", "attestations", "patients"):
        op.drop_table(table)
