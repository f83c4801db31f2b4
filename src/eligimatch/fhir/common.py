"""Shared pieces of the FHIR mappers: the mapped-item records and coding helpers.

Everything here works on resources parsed by fhir.resources (R4B models) and on the code tables of
:mod:`eligimatch.fhir.tables`; codes are always matched on (system, code) pairs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .tables import EXT_FIELDS, eim_system, tables

__all__ = [
    "LOINC",
    "Ctx",
    "Mapped",
    "Result",
    "body_site",
    "clinical_status",
    "code_label",
    "codings",
    "date_span",
    "eim_codes",
    "extensions",
    "fhir_date",
    "lookup",
    "partial_date",
    "profiles",
    "residual",
    "text_of",
]

LOINC = "http://loinc.org"


@dataclass
class Mapped:
    """One profile item (or single value) read from a resource."""

    target: str  # labs, weight, ecog, conditions, diagnosis, ...
    value: dict[str, Any]
    key: str = ""  # analyte key for labs; group key for single values
    when: dt.date | None = None  # date used to pick the latest single value
    gaps: dict[str, str] = field(default_factory=dict)
    fatal: tuple[str, str] | None = None  # (field that would resolve it or "", why)
    notes: list[str] = field(default_factory=list)
    explicit_role: bool = False  # a primary cancer marked index/other by eligimatch
    span: tuple[dt.date, dt.date] | None = None  # the days a partial date (2026-11) may be
    refs: tuple[str, ...] = ()  # what an observation is about (Observation.focus)
    source: Any = None  # the resource it was read from (set by the importer)


@dataclass
class Result:
    mapped: list[Mapped] = field(default_factory=list)
    skipped: str | None = None
    unmapped: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Ctx:
    """What a mapper may look up besides the resource itself."""

    resolve: Callable[[str], Any | None] = lambda ref: None


def codings(cc: Any) -> list[Any]:
    if cc is None:
        return []
    if isinstance(cc, list):
        return [c for x in cc for c in codings(x)]
    return list(getattr(cc, "coding", None) or [])


def code_label(cc: Any) -> str:
    """``system|code`` of the first coding (or the text), for listings."""
    for c in codings(cc):
        if c.code:
            return f"{c.system or ''}|{c.code}"
    if cc is not None and not isinstance(cc, list) and getattr(cc, "text", None):
        return f"text: {cc.text}"
    return ""


def text_of(cc: Any) -> str | None:
    if cc is None:
        return None
    if getattr(cc, "text", None):
        return str(cc.text)
    for c in codings(cc):
        if c.display:
            return str(c.display)
    return None


def lookup(section: str, ccs: Iterable[Any]) -> list[Any]:
    t = tables()
    out = []
    for c in ccs:
        hit = t.lookup(section, c.system, c.code)
        if hit is not None:
            out.append(hit)
    return out


def eim_codes(ccs: Iterable[Any], name: str) -> list[str]:
    system = eim_system(name)
    return [str(c.code) for c in ccs if c.system == system and c.code]


def fhir_date(value: Any) -> tuple[dt.date | None, str | None]:
    """A FHIR date/dateTime/instant as a date (as written, no time-zone shift), or its text."""
    if value is None:
        return None, None
    if isinstance(value, dt.datetime):
        return value.date(), None
    if isinstance(value, dt.date):
        return value, None
    return None, str(value)


def date_span(text: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day a partial FHIR date ("2026", "2026-11") may be, or None."""
    import calendar
    import re

    m = re.fullmatch(r"(\d{4})(?:-(\d{2}))?", text.strip())
    if m is None:
        return None
    year = int(m.group(1))
    if m.group(2) is None:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = int(m.group(2))
    if not 1 <= month <= 12:
        return None
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def partial_date(what: str, text: str) -> str:
    return f"{what} {text!r} is not a full date"


def profiles(res: Any) -> set[str]:
    meta = getattr(res, "meta", None)
    return {str(p).split("|")[0] for p in (getattr(meta, "profile", None) or [])}


def residual(res: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The eligimatch profile-fields extension of a resource: (fields, problem)."""
    for ext in getattr(res, "extension", None) or []:
        if ext.url == EXT_FIELDS:
            try:
                data = json.loads(ext.valueString or "")
            except (ValueError, TypeError):
                return None, "the eligimatch profile-fields extension is not JSON"
            if not isinstance(data, dict):
                return None, "the eligimatch profile-fields extension is not a JSON object"
            return data, None
    return None, None


def extensions(res: Any, url: str) -> list[Any]:
    return [e for e in getattr(res, "extension", None) or [] if e.url == url]


def body_site(body_sites: list[Any]) -> tuple[str | None, dict[str, Any]]:
    """(site text, table entry merged over the body sites) of Condition/Procedure.bodySite."""
    t = tables()
    text = None
    info: dict[str, Any] = {}
    for bs in body_sites or []:
        text = text or text_of(bs)
        for c in codings(bs):
            hit = t.lookup("body_sites", c.system, c.code)
            if hit:
                for k, v in hit.items():
                    info.setdefault(k, v)
        for code in eim_codes(codings(bs), "site-group"):
            info["site_group"] = code
        for code in eim_codes(codings(bs), "metastasis-site"):
            info["metastasis_site"] = code
    return text, info


def clinical_status(cond: Any) -> str | None:
    codes = [c.code for c in codings(cond.clinicalStatus)]
    return str(codes[0]) if codes else None
