"""Registry records → :class:`Record`: metadata and the inclusion / exclusion texts.

Two inputs: a ClinicalTrials.gov API v2 study (JSON, the study object or its
``protocolSection``), and the plain text of a registry web page (like ``seeds/*.txt``), where the
criteria sit between an "Inclusion Criteria" line, an "Exclusion Criteria" line and the next
section label of the page.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EligimatchError

__all__ = ["DraftError", "Record", "read_record"]


class DraftError(EligimatchError, ValueError):
    """A registry record the drafter cannot read."""


@dataclass(frozen=True)
class Record:
    source: str
    registry_id: str | None
    title: str
    phase: str
    status: str
    inclusion: str
    exclusion: str
    sex: str | None = None  # ALL / FEMALE / MALE from a structured field
    minimum_age: str | None = None  # "18 Years"
    maximum_age: str | None = None
    sites: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    interventions: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


def read_record(path: Path) -> Record:
    from ..jsonin import TooLarge, max_input_bytes, read_bytes

    try:
        data = read_bytes(path, max_input_bytes())
    except TooLarge as exc:
        raise DraftError(f"{path}: {exc}") from None
    except OSError as exc:
        raise DraftError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DraftError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if text.lstrip().startswith("{"):
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DraftError(
                f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        return from_ctgov(raw, str(path))
    return from_page(text, str(path))


# ---------------------------------------------------------------------------- API v2 JSON


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        d = d.get(k) if isinstance(d, dict) else None
    return d


def _str(v: Any) -> str | None:
    return v.strip() if isinstance(v, str) and v.strip() else None


def from_ctgov(raw: Any, source: str) -> Record:
    ps = raw.get("protocolSection", raw) if isinstance(raw, dict) else None
    if not isinstance(ps, dict) or not isinstance(_get(ps, "eligibilityModule"), dict):
        raise DraftError(f"{source}: not a ClinicalTrials.gov study (no protocolSection.eligibilityModule)")
    elig = ps["eligibilityModule"]
    criteria = elig.get("eligibilityCriteria")
    if not isinstance(criteria, str):
        raise DraftError(f"{source}: eligibilityModule.eligibilityCriteria: expected the criteria text")
    inc, exc, notes = split_sections(criteria)
    phases = _get(ps, "designModule", "phases")
    phase = "/".join(p for p in phases if isinstance(p, str)) if isinstance(phases, list) else ""
    sites = []
    for loc in _get(ps, "contactsLocationsModule", "locations") or []:
        if isinstance(loc, dict):
            parts = [_str(loc.get(k)) for k in ("facility", "city", "state", "country")]
            if any(parts):
                sites.append(", ".join(p for p in parts if p))
    ident = _get(ps, "identificationModule") or {}
    interventions = [
        _str(i.get("name"))
        for i in _get(ps, "armsInterventionsModule", "interventions") or []
        if isinstance(i, dict)
    ]
    return Record(
        source=source,
        registry_id=_str(ident.get("nctId")),
        title=_str(ident.get("briefTitle")) or _str(ident.get("officialTitle")) or "Untitled",
        phase=phase or "NA",
        status=_str(_get(ps, "statusModule", "overallStatus")) or "UNKNOWN",
        inclusion=inc,
        exclusion=exc,
        sex=_str(elig.get("sex")),
        minimum_age=_str(elig.get("minimumAge")),
        maximum_age=_str(elig.get("maximumAge")),
        sites=tuple(sites),
        conditions=tuple(c for c in _get(ps, "conditionsModule", "conditions") or [] if isinstance(c, str)),
        interventions=tuple(i for i in interventions if i),
        notes=notes,
    )


_INC = re.compile(r"^[ \t>*#]*(?:key\s+)?inclusion\s+criteria\b[^\n]*$", re.I | re.M)
_EXC = re.compile(r"^[ \t>*#]*(?:key\s+)?exclusion\s+criteria\b[^\n]*$", re.I | re.M)


def split_sections(text: str) -> tuple[str, str, list[str]]:
    """(inclusion text, exclusion text, notes) of an eligibilityCriteria string."""
    notes: list[str] = []
    m_inc, m_exc = _INC.search(text), _EXC.search(text)
    if m_inc and m_exc and m_exc.start() > m_inc.start():
        pre = text[: m_inc.start()].strip()
        if pre:
            notes.append("text before the inclusion criteria was not drafted: " + pre[:200])
        return text[m_inc.end() : m_exc.start()], text[m_exc.end() :], notes
    if m_inc:
        notes.append("the record has no exclusion criteria heading")
        return text[m_inc.end() :], "", notes
    if m_exc:
        notes.append(
            "the record has no inclusion criteria heading; the text before the "
            "exclusion criteria is read as inclusion criteria"
        )
        return text[: m_exc.start()], text[m_exc.end() :], notes
    notes.append("the record has no inclusion / exclusion headings; all of it is read as inclusion criteria")
    return text, "", notes


# ---------------------------------------------------------------------------- web pages

# Section labels of registry pages that end the exclusion criteria.
_PAGE_END = re.compile(
    r"^\s*(minimum eligible age|maximum eligible age|eligible sex|"
    r"accepts healthy volunteers|study & design|study details|study design|"
    r"primary purpose|allocation|interventional model|masking|sponsors|"
    r"locations|trial locations|contacts|central contacts|"
    r"outcome measures|primary outcome measures|ages|sex|enrollment)\s*$",
    re.I | re.M,
)
_NCT = re.compile(r"\bNCT\d{8}\b")
_STATUS = re.compile(
    r"^\s*(NOT_YET_RECRUITING|RECRUITING|ACTIVE_NOT_RECRUITING|COMPLETED|"
    r"ENROLLING_BY_INVITATION|SUSPENDED|TERMINATED|WITHDRAWN|UNKNOWN|"
    r"Not yet recruiting|Recruiting|Active, not recruiting|Completed)\s*$",
    re.M,
)
_PHASE = re.compile(
    r"^\s*(?:Clinical Phase\s*\n\s*)?(PHASE\d(?:/PHASE\d)?|EARLY_PHASE1|"
    r"Phase [1-4](?:/Phase [1-4])?|Phase N/A|NA)\s*$",
    re.M,
)


def _after(label: str, text: str) -> str | None:
    m = re.search(rf"^\s*{label}\s*\n\s*\n?\s*([^\n]+)$", text, re.M | re.I)
    return m.group(1).strip() if m else None


def from_page(text: str, source: str) -> Record:
    m_inc = _INC.search(text)
    if m_inc is None:
        raise DraftError(f"{source}: no 'Inclusion Criteria' heading found")
    m_exc = _EXC.search(text, m_inc.end())
    notes: list[str] = []
    if m_exc:
        inc = text[m_inc.end() : m_exc.start()]
        end = _PAGE_END.search(text, m_exc.end())
        exc = text[m_exc.end() : end.start() if end else len(text)]
    else:
        end = _PAGE_END.search(text, m_inc.end())
        inc, exc = text[m_inc.end() : end.start() if end else len(text)], ""
        notes.append("the page has no exclusion criteria heading")
    if not exc.strip():
        notes.append("the page gives no exclusion criteria (cut off in the record?)")
    nct = _NCT.search(text)
    head = text[: m_inc.start()].splitlines()
    title = next(
        (
            ln.strip()
            for ln in head
            if len(ln.split()) >= 5 and not ln.strip().endswith(".") and not _NCT.search(ln)
        ),
        f"Untitled registry record ({Path(source).name})",
    )
    status = _STATUS.search(text)
    phase = _PHASE.search(text)
    phase_text = phase.group(1) if phase else "NA"
    phase_text = re.sub(r"Phase ([1-4])", r"PHASE\1", phase_text).replace("Phase N/A", "NA")
    sex = _after("Eligible Sex", text)
    return Record(
        source=source,
        registry_id=nct.group(0) if nct else None,
        title=title,
        phase=phase_text,
        status=status.group(1).upper().replace(", ", "_").replace(" ", "_") if status else "UNKNOWN",
        inclusion=inc,
        exclusion=exc,
        sex=sex.upper() if sex else None,
        minimum_age=_after("Minimum Eligible Age", text),
        maximum_age=_after("Maximum Eligible Age", text),
        notes=notes,
    )
