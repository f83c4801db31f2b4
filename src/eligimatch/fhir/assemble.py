"""The mapped items of a bundle → the fields of one profile.

Labs are kept per analyte, unless one of its results could not be mapped (then every result of
that analyte is left unrecorded: a newer unreadable ANC must not let an older one through);
a collection with an item that could not be mapped is left unrecorded as a whole; single values
(weight, ECOG, pregnancy status, ...) are the newest, and disagreeing values of the same date
leave them unrecorded; TNM categories and the tumour size attach to the index diagnosis when
they are about it.  Each decision is reported through the importer's ``add``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from ..units import analytes
from .common import Mapped
from .report import FindingKind

__all__ = ["COLLECTIONS", "SINGLES", "SOURCES", "STAGING", "STAGING_LABELS", "Assembler"]

COLLECTIONS = ("conditions", "medications", "treatments", "metastases", "other_malignancies", "allergies")
SINGLES = ("weight", "height", "ecog", "pregnant", "diagnosis")
STAGING = ("stage_t", "stage_n", "stage_m", "tumour_size")  # parts of the index diagnosis
SOURCES = {
    "conditions": "Condition",
    "medications": "Medication*",
    "treatments": "Procedure/Medication*/Immunization",
    "metastases": "secondary cancer Condition",
    "other_malignancies": "primary cancer Condition",
    "allergies": "AllergyIntolerance",
    "labs": "laboratory Observation",
    "blood_pressure": "blood pressure Observation",
}

STAGING_LABELS = {
    "stage_t": "T category",
    "stage_n": "N category",
    "stage_m": "M category",
    "tumour_size": "tumour size",
}


class Assembler:
    """Builds the profile fields from what the importer mapped (and records what it leaves out)."""

    def __init__(
        self,
        mapped: list[Mapped],
        failed: dict[tuple[str, str], list[str]],
        partial: dict[str, list[tuple[str, tuple[dt.date, dt.date]]]],
        lists: set[str],
        index: dict[str, Any],
        add: Callable[[FindingKind, str, str, str], None],
    ) -> None:
        self.mapped = mapped
        self.failed = failed  # (target, key) → labels of the resources that failed
        self.partial = partial  # analyte → results dated only to the month or year
        self.lists = lists  # collections a completeness List asserts
        self.index = index  # fullUrl and Kind/id → resource
        self.add = add
        self.diagnosis_source: Any = None  # the Condition read as the index diagnosis

    def assemble(self, profile: dict[str, Any]) -> None:
        by_target: dict[str, list[Mapped]] = {}
        for m in self.mapped:
            by_target.setdefault(m.target, []).append(m)
        self._older_partial_results(by_target.get("labs", []))
        failed_targets = {t for t, _ in self.failed}
        # labs: per analyte
        labs = []
        for m in by_target.get("labs", []):
            if ("labs", m.key) in self.failed:
                continue
            labs.append(m.value)
        for (target, key), labels in sorted(self.failed.items()):
            if target == "labs":
                others = sum(1 for m in by_target.get("labs", []) if m.key == key)
                extra = f"; {others} other result(s) not used" if others else ""
                self.add(
                    "note",
                    "Bundle",
                    "",
                    f"{analytes()[key].short} left unrecorded "
                    f"because {', '.join(labels)} could not be mapped{extra}",
                )
        self._collection(profile, "labs", labs, False)
        bps = [m.value for m in by_target.get("blood_pressure", [])]
        self._collection(profile, "blood_pressure", bps, "blood_pressure" in failed_targets)
        for name in COLLECTIONS:
            items = [m.value for m in by_target.get(name, [])]
            self._collection(profile, name, items, name in failed_targets)
        for name in SINGLES:
            self._single(profile, name, by_target.get(name, []), name in failed_targets)
        for name in STAGING:
            self._staging(profile, name, by_target.get(name, []), name in failed_targets)

    def _newest(self, name: str, items: list[Mapped]) -> dict[str, Any] | None:
        """The value of the newest dated item (else of the undated ones); None, listed, when the
        newest disagree.  ECOG grades derived from a Karnofsky score may be a set of grades
        (``options``): the newest decide only when they leave exactly one grade."""
        dated = [m for m in items if m.when is not None]
        pool = dated or items
        if dated:
            newest = max(m.when for m in dated if m.when is not None)
            pool = [m for m in dated if m.when == newest]
        if any("options" in m.value for m in pool):
            sets = [set(m.value["options"]) if "options" in m.value else {m.value["value"]} for m in pool]
            common = set.intersection(*sets)
            if len(common) != 1:
                shown = " or ".join(str(g) for g in sorted(set().union(*sets)))
                self.add(
                    "unmapped",
                    "Bundle",
                    "",
                    f"{name} left unrecorded: the newest "
                    f"performance status ({pool[0].when or 'undated'}) is a Karnofsky "
                    f"score that may be ECOG {shown}",
                )
                return None
            direct = [m for m in pool if "options" not in m.value]
            if direct:
                return direct[0].value
            value: dict[str, Any] = {"value": common.pop()}
            if pool[0].when is not None:
                value["date"] = pool[0].when
            return value
        values = {json.dumps(m.value, sort_keys=True, default=str) for m in pool}
        if len(values) > 1:
            self.add(
                "unmapped",
                "Bundle",
                "",
                f"{name} left unrecorded: {len(pool)} different values on the same date",
            )
            return None
        return pool[0].value

    def _staging(self, profile: dict[str, Any], name: str, items: list[Mapped], failed: bool) -> None:
        """A TNM category or the tumour size, attached to the index diagnosis when it is about
        it (no focus, or the focus is the index diagnosis's Condition)."""
        what = STAGING_LABELS[name]
        if failed:
            labels = [lbl for (t, _), lbls in self.failed.items() if t == name for lbl in lbls]
            self.add(
                "note",
                "Bundle",
                "",
                f"{what} left unrecorded because {', '.join(labels)} could not be mapped",
            )
            return
        if not items:
            return
        dx = profile.get("diagnosis")
        if dx is None:
            self.add("note", "Bundle", "", f"{what} read but not used: no index diagnosis to attach it to")
            return
        mine = [
            m
            for m in items
            if not m.refs
            or any(
                self.index.get(r) is not None and self.index.get(r) is self.diagnosis_source for r in m.refs
            )
        ]
        if len(mine) < len(items):
            self.add(
                "note",
                "Bundle",
                "",
                f"{len(items) - len(mine)} {what} Observation(s) "
                "about another focus than the index diagnosis not used",
            )
        value = self._newest(what, mine) if mine else None
        if value is None:
            return
        if name == "tumour_size":
            dx.setdefault("size", value)
        else:
            # fields carried in the eligimatch extension of the diagnosis win
            dx["stage"] = {**value, **(dx.get("stage") or {})}

    def _older_partial_results(self, labs: list[Mapped]) -> None:
        """A result dated only "2026-11" keeps that precision: it cannot be placed on a day, so
        it leaves its analyte unrecorded -- unless a fully dated result of the same analyte is
        later than every day it may be, in which case it is surely not the newest and is only
        listed."""
        for key, spans in self.partial.items():
            labels = self.failed.get(("labs", key), [])
            if len(spans) != len(labels):
                continue  # another result of it failed for another reason
            dated = [m.when for m in labs if m.key == key and m.when is not None]
            newest = max(dated, default=None)
            if newest is None or any(hi >= newest for _, (_, hi) in spans):
                continue
            del self.failed[("labs", key)]
            for label, (lo, hi) in spans:
                self.add(
                    "note",
                    label,
                    "",
                    f"dated only to {lo} .. {hi}: older than the "
                    f"{analytes()[key].short} result of {newest}, which is used",
                )

    def _left_unrecorded(self, name: str) -> None:
        """A note: ``name`` is left out because some of its resources could not be mapped."""
        labels = [lbl for (t, _), lbls in self.failed.items() if t == name for lbl in lbls]
        because = f"{name} left unrecorded because {', '.join(labels)} could not be mapped"
        self.add("note", "Bundle", "", because)

    def _collection(
        self, profile: dict[str, Any], name: str, items: list[dict[str, Any]], failed: bool
    ) -> None:
        listed = name in self.lists
        if failed:
            self._left_unrecorded(name)
            return
        if items or listed:
            profile[name] = items
            if not listed and name not in ("labs", "blood_pressure"):
                self.add(
                    "note",
                    "Bundle",
                    "",
                    f"{name}: {len(items)} read and taken as the "
                    "complete list (the bundle has no eligimatch completeness List)",
                )
        elif name in SOURCES and not any(t == name for t, _ in self.failed):
            self.add("note", "Bundle", "", f"{name} left unrecorded: no {SOURCES[name]} resources")

    def _single(self, profile: dict[str, Any], name: str, items: list[Mapped], failed: bool) -> None:
        if failed:
            self._left_unrecorded(name)
            return
        if not items:
            return
        if name == "diagnosis":
            explicit = [m for m in items if m.explicit_role]
            pool = explicit or items
            if len(pool) > 1:
                self.add(
                    "unmapped",
                    "Bundle",
                    "",
                    f"diagnosis left unrecorded: {len(pool)} "
                    "primary cancer Conditions and none marked as the index diagnosis",
                )
                return
            profile["diagnosis"] = dict(pool[0].value)
            self.diagnosis_source = pool[0].source
            return
        value = self._newest(name, items)
        if value is None:
            return
        if name == "pregnant":
            profile["reproductive"] = {"pregnant": value["pregnant"]}
        else:
            profile[name] = value
