"""What a batch writes: one record per patient × trial, and the attrition document.

Every output names the rules and the date it was decided on, so that a result can be audited
and replayed (the same profiles, rules with this content hash and this as-of date give the same
bytes):

* a JSON Lines record::

    {"patient_id": "p01", "source": "cohort.jsonl:12", "trial_id": "NCT07342322",
     "as_of": "2026-11-16", "rules_sha256": "<64 hex>", "verdict": "undetermined",
     "failing": [], "unknown": ["I9"]}

  plus ``"draft": [ids]`` (the draft criteria the verdict rests on) only for trials that have
  draft criteria;
* CSV: the same columns (:data:`CSV_COLUMNS`; ``failing``, ``unknown`` and ``draft`` joined
  with ``;``), a ``draft`` column only when some trial has draft criteria;
* the attrition document (:func:`attrition_document`): ``rules_sha256``, ``as_of`` (the
  ``--as-of`` given, or null for each profile's own) and ``as_of_range`` (the first and last
  as-of date of the patients screened);
* the closing summary line (:func:`as_of_text` and the rules hash).

``rules_sha256`` is :attr:`eligimatch.engine.RuleSet.sha256`: the hash of the ids and file
hashes of every trial of the rules directory, the same value ``screen --format json`` reports.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..engine.chunked import ChunkStatuses
    from ..engine.graph import TrialStatus
    from .plan import Compiled, Plan
    from .run import Summary

__all__ = ["CSV_COLUMNS", "RecordWriter", "as_of_text", "attrition_document", "csv_header"]

CSV_COLUMNS = ("patient_id", "source", "trial_id", "as_of", "rules_sha256", "verdict", "failing", "unknown")


def csv_header(has_drafts: bool) -> str:
    return ",".join(CSV_COLUMNS + (("draft",) if has_drafts else ())) + "\n"


class RecordWriter:
    """The output records of a chunk, as text.

    JSON Lines are assembled from ids JSON-encoded once per plan, byte-identical to
    ``json.dumps`` of the record (``ensure_ascii=False``)."""

    def __init__(self, plan: Plan, done: Compiled) -> None:
        self.out = io.StringIO()
        self.chunks: list[str] = []  # the text of each chunk written (kept as it is)
        self.done = done
        self.sha = plan.rules_sha256
        self.csv = csv.writer(self.out, lineterminator="\n") if plan.fmt == "csv" else None
        self.patient_id = self.source = self.as_of = self.head = self.mid = ""

    def patient(self, patient_id: str, source: str, as_of: str) -> None:
        """Start the records of one patient."""
        self.patient_id, self.source, self.as_of = patient_id, source, as_of
        self.head = (
            f'{{"patient_id": {json.dumps(patient_id, ensure_ascii=False)}, '
            f'"source": {json.dumps(source, ensure_ascii=False)}, "trial_id": '
        )
        self.mid = f', "as_of": "{as_of}", "rules_sha256": "{self.sha}", "verdict": "'

    def trial(
        self,
        k: int,
        verdict: str,
        fail_at: Sequence[int],
        unknown_at: Sequence[int],
        resting: Sequence[str] | None,
    ) -> None:
        """The record of the patient and trial ``k`` of the plan (``resting``: the draft
        criteria the verdict rests on, None for a trial without drafts)."""
        if self.csv is None:
            self.out.write(
                f"{self.head}{self.done.encoded[k][0]}{self.mid}"
                f"{self._json_tail(k, verdict, fail_at, unknown_at, resting)}"
            )
            return
        crit = self.done.trials[k].criteria
        row = [
            self.patient_id,
            self.source,
            self.done.trials[k].id,
            self.as_of,
            self.sha,
            verdict,
            ";".join(crit[i].id for i in fail_at),
            ";".join(crit[i].id for i in unknown_at),
        ]
        if self.done.has_drafts:
            row.append(";".join(resting or ()))
        self.csv.writerow(row)

    def _json_tail(
        self,
        k: int,
        verdict: str,
        fail_at: Sequence[int],
        unknown_at: Sequence[int],
        resting: Sequence[str] | None,
    ) -> str:
        """A JSON record from its verdict on (what depends on the trial's statuses alone)."""
        ids = self.done.encoded[k][1]
        mark = f', "draft": {json.dumps(list(resting), ensure_ascii=False)}' if resting is not None else ""
        failing = ", ".join([ids[i] for i in fail_at]) if fail_at else ""
        unknown = ", ".join([ids[i] for i in unknown_at]) if unknown_at else ""
        return f'{verdict}", "failing": [{failing}], "unknown": [{unknown}]{mark}}}\n'

    def _csv_tail(
        self,
        k: int,
        verdict: str,
        fail_at: Sequence[int],
        unknown_at: Sequence[int],
        resting: Sequence[str] | None,
    ) -> str:
        crit = self.done.trials[k].criteria
        row = [verdict, ";".join(crit[i].id for i in fail_at), ";".join(crit[i].id for i in unknown_at)]
        if self.done.has_drafts:
            row.append(";".join(resting or ()))
        return _csv_fields(row) + "\n"

    def chunk(
        self,
        patients: Sequence[tuple[str, str, str]],
        statuses: ChunkStatuses,
        resting: Callable[[int, TrialStatus], Sequence[str] | None],
    ) -> None:
        """The records of a chunk of patients ``(id, source, as-of date)`` at once, from the
        chunk's status patterns: the part of a record that depends on a trial's statuses is
        made once per distinct pattern, and the records are joined from their pieces in one
        go (numpy object arrays place them without a Python loop per record).  The bytes are those
        :meth:`patient` and :meth:`trial` write (CSV fields are quoted one by one)."""
        import numpy as np

        if not patients:
            return
        if self.csv is None:
            heads = [
                f'{{"patient_id": {json.dumps(pid, ensure_ascii=False)}, '
                f'"source": {json.dumps(src, ensure_ascii=False)}, "trial_id": '
                for pid, src, _ in patients
            ]
            mids = [
                f', "as_of": "{as_of}", "rules_sha256": "{self.sha}", "verdict": "'
                for _, _, as_of in patients
            ]
            trial_ids = [trial_id for trial_id, _ in self.done.encoded]
            tail = self._json_tail
        else:
            heads = [_csv_fields([pid, src]) + "," for pid, src, _ in patients]
            mids = [_csv_fields([as_of, self.sha]) + "," for _, _, as_of in patients]
            trial_ids = [_csv_fields([t.id]) + "," for t in self.done.trials]
            tail = self._csv_tail

        def column(values: list[str]) -> Any:
            out = np.empty(len(values), object)
            out[:] = values
            return out

        drafts = self.done.drafts
        # the four pieces of each record, referenced (not copied) in record order, joined once
        pieces = np.empty((len(patients), len(trial_ids), 4), object)
        pieces[:, :, 0] = column(heads)[:, None]
        pieces[:, :, 1] = column(trial_ids)[None, :]
        pieces[:, :, 2] = column(mids)[:, None]
        pieces[:, :, 3] = statuses.texts(
            lambda k, s: tail(k, s[0], s[1], s[2], resting(k, s) if drafts[k] else None)
        )
        self.chunks.append("".join(pieces.ravel().tolist()))

    def text(self) -> str:
        """Everything written: records written one by one, then those of chunks."""
        return self.out.getvalue() + "".join(self.chunks)


def _csv_fields(fields: Sequence[str]) -> str:
    """Fields as :func:`csv.writer` writes them in a row (each quoted on its own, if needed)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def as_of_text(as_of: date | None, first: str | None, last: str | None) -> str:
    """The evaluation date of a run, for its summary line."""
    if as_of is not None:
        return f"as of {as_of.isoformat()}"
    if first is None or last is None:
        return "as of each profile's own date"
    if first == last:
        return f"as of {first} (the profiles' own)"
    return f"as of {first} to {last} (each profile's own)"


def attrition_document(summary: Summary, plan: Plan, version: str) -> dict[str, Any]:
    """The attrition report as JSON: what was screened, on which rules, as of when."""
    first, last = summary.as_of_first, summary.as_of_last
    return {
        "eligimatch": version,
        "rules_sha256": plan.rules_sha256,
        "as_of": plan.as_of.isoformat() if plan.as_of else None,
        "as_of_range": [first, last] if first and last else None,
        "patients": summary.patients,
        "records_skipped": summary.failed,
        "trials": [a.as_dict() for a in summary.attrition],
    }
