"""What an import reports: the profile, and per resource what was read, skipped or not mapped."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from ..patient import Patient

__all__ = ["FhirImport", "Finding", "FindingKind", "Status"]

FindingKind = Literal["unmapped", "skipped", "note", "left_out"]


@dataclass(frozen=True)
class Finding:
    """Something the import reports: an unmapped resource or field, a skipped one, or a note."""

    kind: FindingKind
    resource: str
    code: str
    why: str

    def line(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        return f"{self.resource}{code}: {self.why}"


Status = Literal["mapped", "partial", "skipped", "unmapped"]


@dataclass(frozen=True)
class FhirImport:
    patient: Patient
    findings: tuple[Finding, ...]
    source: str
    # per resource (label): mapped (read whole), partial (kept with fields or a classification
    # left unrecorded), skipped (nothing eligimatch uses), unmapped (not read, or not usable)
    statuses: tuple[tuple[str, Status], ...] = ()

    def coverage(self) -> dict[str, int]:
        """How many resources were mapped, partly mapped, skipped and not mapped."""
        counts = {"resources": len(self.statuses), "mapped": 0, "partial": 0, "skipped": 0, "unmapped": 0}
        for _, status in self.statuses:
            counts[status] += 1
        return counts

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def report(self) -> dict[str, Any]:
        """The import report as JSON-ready data (deterministic)."""
        return {
            "source": self.source,
            "patient_id": self.patient.id,
            "unmapped": [f.__dict__ for f in self.of_kind("unmapped")],
            "notes": [f.__dict__ for f in self.of_kind("note")],
            "skipped": [f.__dict__ for f in self.of_kind("skipped")],
            "left_out": [f.__dict__ for f in self.of_kind("left_out")],
        }

    def warning_lines(self, notes: bool = True) -> list[str]:
        """One line per unmapped item (and note); skipped resources summarised on one line.
        What a retrospective ``as_of`` left out is always listed."""
        lines = [f"unmapped: {f.line()}" for f in self.of_kind("unmapped")]
        lines += [f"note: {f.why}" for f in self.of_kind("left_out")]
        if notes:
            lines += [f"note: {f.line()}" for f in self.of_kind("note")]
        elif self.of_kind("note"):
            lines.append(f"{len(self.of_kind('note'))} import notes (eligimatch import-fhir lists them)")
        skipped = Counter(f.resource.split("/")[0].split(" ")[0] for f in self.of_kind("skipped"))
        if skipped:
            lines.append(
                "skipped (no patient facts eligimatch uses): "
                + ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items()))
            )
        return lines
