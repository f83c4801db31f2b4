"""Attrition of a screened population, trial by trial (like an OHDSI ATLAS attrition report).

For each trial, its criteria are taken in rule-file order.  After each criterion:

* ``remaining``: patients not failed by this criterion or any earlier one (still possibly
  eligible: every criterion so far passed or is unknown);
* ``remaining_all_pass``: patients that passed this criterion and every earlier one;
* ``excluded_here``: patients whose first failing criterion is this one;
* ``pass`` / ``fail`` / ``unknown``: how this criterion alone came out over all patients.

After the last criterion ``remaining`` = eligible + undetermined and ``remaining_all_pass`` =
eligible.  Counts are plain integers, added per patient in the workers and merged in the parent,
so the report costs no memory per patient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Attrition", "attrition_text"]

VERDICTS = ("eligible", "undetermined", "ineligible")


@dataclass
class Attrition:
    """Per-criterion counts of one trial over the patients screened so far.

    Only what is not a pass is counted per patient: the criteria that fail or are unknown, and
    the position of the first failing and of the first non-passing criterion (histograms from
    which ``remaining`` and ``remaining_all_pass`` are summed up at the end).
    """

    trial_id: str
    title: str
    criteria: tuple[tuple[str, str], ...]  # (criterion id, kind), rule-file order
    patients: int = 0
    fail: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    first_fail: list[int] = field(default_factory=list)  # index; len(criteria) = none
    first_not_pass: list[int] = field(default_factory=list)
    verdicts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.criteria)
        for counts, size in (
            (self.fail, n),
            (self.unknown, n),
            (self.first_fail, n + 1),
            (self.first_not_pass, n + 1),
        ):
            if not counts:
                counts.extend([0] * size)
        for v in VERDICTS:
            self.verdicts.setdefault(v, 0)

    def add_indices(self, failing: Sequence[int], unknown: Sequence[int], verdict: str) -> None:
        """Count one patient from the positions (ascending) of its failing and unknown
        criteria."""
        n = len(self.criteria)
        self.patients += 1
        for k in failing:
            self.fail[k] += 1
        for k in unknown:
            self.unknown[k] += 1
        first = failing[0] if failing else n
        self.first_fail[first] += 1
        self.first_not_pass[min(first, unknown[0] if unknown else n)] += 1
        self.verdicts[verdict] += 1

    def add(self, statuses: Sequence[str], verdict: str) -> None:
        """Count one patient: the status of each criterion (rule-file order) and the verdict."""
        self.add_indices(
            [k for k, s in enumerate(statuses) if s == "fail"],
            [k for k, s in enumerate(statuses) if s == "unknown"],
            verdict,
        )

    def merge(self, other: Attrition) -> None:
        if other.criteria != self.criteria:
            raise ValueError(f"attrition of {other.trial_id} has other criteria than {self.trial_id}")
        self.patients += other.patients
        for mine, theirs in (
            (self.fail, other.fail),
            (self.unknown, other.unknown),
            (self.first_fail, other.first_fail),
            (self.first_not_pass, other.first_not_pass),
        ):
            for k, n in enumerate(theirs):
                mine[k] += n
        for v, n in other.verdicts.items():
            self.verdicts[v] += n

    @property
    def remaining(self) -> list[int]:
        """Patients not failed by criterion k or any earlier one."""
        return self._survivors(self.first_fail)

    @property
    def all_pass(self) -> list[int]:
        """Patients that passed criterion k and every earlier one."""
        return self._survivors(self.first_not_pass)

    def _survivors(self, first: list[int]) -> list[int]:
        out, gone = [], 0
        for k in range(len(self.criteria)):
            gone += first[k]
            out.append(self.patients - gone)
        return out

    def empty(self) -> Attrition:
        return Attrition(self.trial_id, self.title, self.criteria)

    def steps(self) -> list[dict[str, Any]]:
        out = []
        remaining, all_pass = self.remaining, self.all_pass
        for k, (cid, kind) in enumerate(self.criteria):
            out.append(
                {
                    "criterion": cid,
                    "kind": kind,
                    "pass": self.patients - self.fail[k] - self.unknown[k],
                    "fail": self.fail[k],
                    "unknown": self.unknown[k],
                    "excluded_here": self.first_fail[k],
                    "remaining": remaining[k],
                    "remaining_all_pass": all_pass[k],
                }
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "trial_id": self.trial_id,
            "title": self.title,
            "patients": self.patients,
            **{v: self.verdicts[v] for v in VERDICTS},
            "steps": self.steps(),
        }


def attrition_text(reports: Sequence[Attrition]) -> str:
    """The attrition tables as text, one block per trial."""
    from ..safeio import printable

    blocks = []
    for a in reports:
        width = max([len("criterion"), *(len(printable(c)) for c, _ in a.criteria)])
        lines = [
            f"Attrition {printable(a.trial_id)}: {a.patients} patient{'s' if a.patients != 1 else ''}"
            f" screened; eligible {a.verdicts['eligible']}, undetermined "
            f"{a.verdicts['undetermined']}, ineligible {a.verdicts['ineligible']}",
            f"  {'criterion':<{width}}  {'kind':<9}  {'pass':>7}  {'fail':>7}  "
            f"{'unknown':>7}  {'excluded':>8}  {'remaining':>9}  {'all pass':>8}",
            f"  {'(screened)':<{width}}  {'':<9}  {'':>7}  {'':>7}  {'':>7}  {'':>8}  "
            f"{a.patients:>9}  {a.patients:>8}",
        ]
        for s in a.steps():
            lines.append(
                f"  {printable(s['criterion']):<{width}}  {s['kind']:<9}  {s['pass']:>7}  "
                f"{s['fail']:>7}  {s['unknown']:>7}  {s['excluded_here']:>8}  "
                f"{s['remaining']:>9}  {s['remaining_all_pass']:>8}"
            )
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
