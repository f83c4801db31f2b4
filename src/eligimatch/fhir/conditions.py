"""FHIR Conditions → diagnosis (primary cancer), metastases, other malignancies, comorbidities.

A Condition's role comes from eligimatch's condition-role coding, else from the mCODE primary /
secondary cancer profiles, else from its codes (``[metastasis_codes]``, ``[metastasis_generic]``
-- SNOMED 128462008 "secondary malignant neoplastic disease" with the site in ``bodySite``, as
mCODE writes it --, ``[cancer_codes]`` and OncoTree / NCIt / ICD-O-3 codings); anything else is
a comorbidity, classified through ``[conditions]`` of ``data/fhir_codes.toml`` or not at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..ontology import oncotree
from .common import (
    Ctx,
    Mapped,
    Result,
    body_site,
    clinical_status,
    code_label,
    codings,
    eim_codes,
    extensions,
    fhir_date,
    lookup,
    partial_date,
    profiles,
    text_of,
)
from .tables import MCODE, eim_system, tables

__all__ = ["map_condition"]

# ------------------------------------------------------------------------------- Condition


def map_condition(cond: Any, ctx: Ctx) -> Result:
    t = tables()
    ver = {c.code for c in codings(cond.verificationStatus)}
    if ver & {"refuted", "entered-in-error"}:
        return Result(skipped=f"verification status {', '.join(sorted(ver))}")
    ccs = codings(cond.code)
    roles = eim_codes(codings(cond.category), "condition-role")
    profs = profiles(cond)
    role = roles[0] if len(roles) == 1 else None
    if role is None:
        if (
            MCODE + "mcode-secondary-cancer-condition" in profs
            or lookup("metastasis_codes", ccs)
            or lookup("metastasis_generic", ccs)
        ):
            role = "metastasis"
        elif (
            MCODE + "mcode-primary-cancer-condition" in profs
            or lookup("cancer_codes", ccs)
            or any(t.alias(c.system) in ("oncotree", "ncit", "icdo3") for c in ccs)
        ):
            role = "cancer"
        else:
            role = "comorbidity"
    if role == "metastasis":
        m = _metastasis(cond)
    elif role in ("cancer", "index-diagnosis", "other-malignancy"):
        m = _cancer(cond, role)
    else:
        m = _comorbidity(cond)
    doubt = ver & {"unconfirmed", "provisional", "differential"}
    if doubt and m.fatal is None:
        why = f"verification status {', '.join(sorted(doubt))}: not a confirmed condition"
        if role == "comorbidity":  # kept, but as what it may be: unclassified
            m.value = {k: v for k, v in m.value.items() if k not in ("type", "category")}
            if not m.value.get("name") and not m.value.get("code"):
                m.value["name"] = text_of(cond.code) or "an unconfirmed condition"
            m.gaps["type"] = f"{why}: kept as an unclassified condition"
        elif role == "metastasis":  # a metastasis that may be there: its site is not known
            m.value.pop("site", None)
            m.gaps["site"] = f"{why}: kept as a metastasis of unclassified site"
        else:
            m.fatal = ("", why)
    return Result(mapped=[m])


def _onset(cond: Any) -> tuple[dt.date | None, list[str]]:
    notes = []
    value = cond.onsetDateTime or (cond.onsetPeriod.start if cond.onsetPeriod else None)
    d, partial = fhir_date(value)
    if partial:
        notes.append(partial_date("onset", partial))
    elif cond.onsetString or cond.onsetAge or cond.onsetRange:
        notes.append("onset not given as a date")
    return d, notes


def _abatement(cond: Any) -> tuple[dt.date | None, list[str]]:
    value = cond.abatementDateTime or (cond.abatementPeriod.end if cond.abatementPeriod else None)
    d, partial = fhir_date(value)
    return d, ([partial_date("abatement", partial)] if partial else [])


def _metastasis(cond: Any) -> Mapped:
    m = Mapped(target="metastases", value={})
    site_text, info = body_site(cond.bodySite)
    site = info.get("metastasis_site")
    if site is None:
        sites = set(lookup("metastasis_codes", codings(cond.code)))
        site = sites.pop() if len(sites) == 1 else None
    if site is None:
        where = site_text or code_label(cond.code) or "no body site"
        m.gaps["site"] = (
            f"the site of the metastasis ({where}) cannot be read from its body "
            "site or code: kept as a metastasis of unclassified site"
        )
    onset, notes = _onset(cond)
    m.notes += notes
    status = {"active": "active", "recurrence": "active", "relapse": "active", "resolved": "resolved"}.get(
        clinical_status(cond) or ""
    )
    if status is None and clinical_status(cond):
        m.notes.append(f"clinical status {clinical_status(cond)!r} has no equivalent metastasis status")
    m.value = {k: v for k, v in {"site": site, "status": status, "date": onset}.items() if v is not None}
    return m


def _oncotree_candidates(ccs: list[Any]) -> tuple[list[str], list[dict[str, Any]], list[str]]:
    """(OncoTree codes, organ-dependent histology entries, unknown OncoTree codes)."""
    t = tables()
    tree = oncotree()
    codes: list[str] = []
    by_organ: list[dict[str, Any]] = []
    unknown: list[str] = []
    for c in ccs:
        alias = t.alias(c.system)
        if alias == "oncotree" and c.code:
            (codes if c.code in tree else unknown).append(str(c.code))
        elif alias == "ncit" and c.code in t.ncit_oncotree:
            codes.append(t.ncit_oncotree[c.code])
        hit = t.lookup("cancer_codes", c.system, c.code)
        if hit:
            codes.append(hit)
        hist = t.lookup("histology", c.system, c.code)
        if hist:
            if "oncotree" in hist:
                codes.append(hist["oncotree"])
            else:
                by_organ.append({**hist, "code": f"{c.code}"})
    return codes, by_organ, unknown


def _deepest(codes: list[str]) -> tuple[str | None, str | None]:
    """The most specific code when all lie on one lineage; else (None, why)."""
    tree = oncotree()
    uniq = sorted(set(codes), key=lambda c: -len(tree.lineage(c)))
    if not uniq:
        return None, None
    deepest = uniq[0]
    if all(tree.is_a(deepest, c) for c in uniq):
        return deepest, None
    return None, f"its codes give OncoTree codes on different branches ({', '.join(uniq)})"


def _cancer(cond: Any, role: str) -> Mapped:
    target = "other_malignancies" if role == "other-malignancy" else "diagnosis"
    m = Mapped(target=target, value={}, explicit_role=role != "cancer")
    hist_ext = [
        e.valueCodeableConcept
        for e in extensions(cond, MCODE + "mcode-histology-morphology-behavior")
        if e.valueCodeableConcept
    ]
    ccs = codings(cond.code) + codings(hist_ext)
    codes, by_organ, unknown = _oncotree_candidates(ccs)
    site_text, info = body_site(cond.bodySite)
    organs = {info["organ"]} if "organ" in info else set()
    tree = oncotree()
    for c in codes:
        organs.update(x for x in tree.lineage(c) if tree.nodes[x].parent == "TISSUE")
    unresolved = []
    for entry in by_organ:
        # a morphology whose OncoTree code depends on the organ: the organ decides; without a
        # listed organ its default (if any) does; otherwise it cannot be placed, and the
        # histology stays unrecorded rather than follow the other codes alone
        hits = [entry["by_organ"][o] for o in sorted(organs) if o in entry["by_organ"]]
        if not hits and "default" in entry:
            hits = [entry["default"]]
        if not hits:
            unresolved.append(
                f"morphology {entry['code']} needs its organ ("
                + " or ".join(sorted(entry["by_organ"]))
                + "), and "
                + (f"the site gives {', '.join(sorted(organs))}" if organs else "no site is given")
            )
        codes.extend(hits)
    histology, conflict = _deepest(codes)
    if unresolved:
        histology, conflict = None, "; ".join(unresolved)
    if unknown:
        m.notes.append(f"OncoTree code(s) {', '.join(unknown)} are not in OncoTree {tree.release}")
    if histology is None:
        m.gaps["histology"] = conflict or (
            "no OncoTree code follows from its codes ("
            + ", ".join(f"{c.system}|{c.code}" for c in ccs if c.code)
            + ")"
        )
    onset, notes = _onset(cond)
    m.notes += notes
    text = text_of(cond.code)
    hist_text = text_of(hist_ext[0]) if hist_ext else None
    if target == "diagnosis":
        m.value = {
            "histology": histology,
            "histology_text": hist_text or text,
            "primary_site": site_text,
            "site_group": info.get("site_group"),
            "date": onset,
        }
    else:
        resolved, more = _abatement(cond)
        m.notes += more
        status = {
            "active": "active",
            "recurrence": "active",
            "relapse": "active",
            "remission": "remission",
            "resolved": "cured",
        }.get(clinical_status(cond) or "")
        m.value = {
            "histology": histology,
            "description": text,
            "site": site_text,
            "date": onset,
            "status": status,
            "resolved": resolved,
        }
    m.value = {k: v for k, v in m.value.items() if v is not None}
    return m


def _comorbidity(cond: Any) -> Mapped:
    """A comorbidity.  One whose codes eligimatch cannot classify stays on the problem list as an
    unclassified condition (no type; its code and text kept), so that only the criteria that could
    match it become unknown, and they name it."""
    m = Mapped(target="conditions", value={})
    ccs = codings(cond.code)
    cats = eim_codes(codings(cond.category) + ccs, "condition-category")
    types = eim_codes(ccs, "condition-type")
    category = cats[0] if cats else None
    ctype = types[0] if types else None
    if category is None or ctype is None:
        hits = {tuple(h[:2]) for h in lookup("conditions", ccs)}
        if len(hits) == 1:
            c2, t2 = hits.pop()
            category, ctype = category or c2, ctype or t2
        elif len(hits) > 1:
            ctype = None
            m.gaps["type"] = (
                "its codes name different conditions ("
                + ", ".join(sorted(f"{c}/{ty}" for c, ty in hits))
                + "): kept as an unclassified condition"
            )
    if ctype is not None and not types:
        t = tables()
        outside = [c for c in ccs if t.outside_complete_set(ctype, c.system, c.code)]
        if outside:
            # a code of a system whose value set lists every code of that type says it is not
            c = outside[0]
            m.gaps["type"] = (
                f"its codes disagree: {c.code} is outside the complete "
                f"{t.alias(c.system)} value set of {ctype}: kept as an "
                "unclassified condition"
            )
            category = ctype = None
    if ctype is None and "type" not in m.gaps:
        combined = [c for c in ccs if tables().is_combination(c.system, c.code)]
        m.gaps["type"] = (
            f"{combined[0].code} is a combination code naming more than one condition: kept as "
            "an unclassified condition"
            if combined
            else "condition code not in eligimatch's condition table: kept as an unclassified condition"
        )
    first = next((c for c in ccs if c.code and not str(c.system or "").startswith(eim_system(""))), None)
    onset, notes = _onset(cond)
    resolved, more = _abatement(cond)
    m.notes += notes + more
    status, note = condition_status(cond)
    if note:
        m.notes.append(note)
    severity = lookup("severities", codings(cond.severity))
    name = text_of(cond.code) if ctype is None else (cond.code.text if cond.code else None)
    m.value = {
        "category": category,
        "type": ctype,
        "name": name,
        "code": (
            {"system": first.system, "code": first.code, "display": first.display}
            if first is not None
            else None
        ),
        "status": status,
        "onset": onset,
        "resolved": resolved,
        "severity": severity[0] if len(set(severity)) == 1 else None,
    }
    if m.value["code"] is not None:
        m.value["code"] = {k: v for k, v in m.value["code"].items() if v is not None}
    if ctype is None and m.value["code"] is None and not name:
        m.value["name"] = "a condition with no code or text"
    m.value = {k: v for k, v in m.value.items() if v is not None}
    return m


# FHIR Condition.clinicalStatus -> profile status.  "inactive" is the parent of "remission"
# and "resolved" in the FHIR code system: it does not say the condition is gone, so inactive and
# remission are read as "controlled" (present, quiescent) -- never as resolved.
_CLINICAL_STATUS = {
    "active": "active",
    "recurrence": "active",
    "relapse": "active",
    "inactive": "controlled",
    "remission": "controlled",
    "resolved": "resolved",
}


def condition_status(cond: Any) -> tuple[str | None, str | None]:
    """(profile status, note) from Condition.clinicalStatus."""
    clinical = clinical_status(cond)
    if clinical is None:
        return None, None
    status = _CLINICAL_STATUS.get(clinical)
    if status is None:
        return None, f"clinical status {clinical!r} has no equivalent condition status"
    if clinical in ("inactive", "remission"):
        return status, (
            f"clinical status {clinical!r} read as 'controlled' (not resolved: the condition may return)"
        )
    return status, None
