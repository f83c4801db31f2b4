"""FHIR MedicationStatement, -Administration and -Request → ``medications`` or drug ``treatments``.

The agents are recognised by RxNorm code or by name (``data/drug_classes.toml``) and classified
there, or an RxNorm-coded drug the table does not know by agent through the ``[[drug]]`` sets of
``data/fhir_value_sets.toml``.  Agents whose classes hold only when given systemically need a
recorded systemic route.  A drug eligimatch cannot fully classify stays in its list(s) with its
classes partly known instead of reading as "none of these classes".
"""

from __future__ import annotations

from typing import Any

from ..drugs import SYSTEMIC_ROUTES  # the routes under which a systemic-only class holds
from .common import (
    Ctx,
    Mapped,
    Result,
    code_label,
    codings,
    eim_codes,
    fhir_date,
    lookup,
    partial_date,
    text_of,
)
from .tables import tables
from .treatments import coded_intents

__all__ = ["map_medication"]

_MED_STATUS: dict[str, dict[str, bool | str | None]] = {
    # status -> ongoing (True/False/None) or "skip"
    "MedicationStatement": {
        "active": True,
        "completed": False,
        "stopped": False,
        "on-hold": None,
        "unknown": None,
        "intended": "skip",
        "not-taken": "skip",
        "entered-in-error": "skip",
    },
    "MedicationAdministration": {
        "completed": False,
        "in-progress": True,
        "stopped": False,
        "on-hold": None,
        "unknown": None,
        "not-done": "skip",
        "entered-in-error": "skip",
    },
    "MedicationRequest": {
        "active": True,
        "completed": False,
        "stopped": False,
        "on-hold": None,
        "cancelled": "skip",
        "entered-in-error": "skip",
        "draft": "skip",
        "unknown": "skip",
    },
}


def _medication_concept(res: Any, ctx: Ctx) -> tuple[Any, list[Any]]:
    """(code CodeableConcept, ingredient CodeableConcepts) of the medication given."""
    if res.medicationCodeableConcept is not None:
        return res.medicationCodeableConcept, []
    ref = res.medicationReference.reference if res.medicationReference else None
    med = None
    if ref and ref.startswith("#"):
        med = next((c for c in res.contained or [] if getattr(c, "id", None) == ref[1:]), None)
    elif ref:
        med = ctx.resolve(ref)
    if med is None or med.get_resource_type() != "Medication":
        return None, []
    ingredients = [i.itemCodeableConcept for i in med.ingredient or [] if i.itemCodeableConcept]
    return med.code, ingredients


def _agent(cc: Any) -> list[str]:
    t = tables()
    found = []
    for c in codings(cc):
        if c.system == t.uri("rxnorm") and c.code in t.agent_by_rxnorm:
            found.append(t.agent_by_rxnorm[c.code])
    if found:
        return sorted(set(found), key=found.index)
    texts = [cc.text] if cc is not None and cc.text else []
    texts += [c.display for c in codings(cc) if c.display]
    for text in texts:
        found.extend(a for a in t.agents_in(text) if a not in found)
    return found


def _route(res: Any) -> tuple[str | None, bool]:
    dosages = (
        res.dosage
        if isinstance(getattr(res, "dosage", None), list)
        else ([res.dosage] if getattr(res, "dosage", None) is not None else [])
    )
    dosages += list(getattr(res, "dosageInstruction", None) or [])
    routes = {r for d in dosages for r in lookup("routes", codings(d.route))}
    unknown = any(d.route is not None and not lookup("routes", codings(d.route)) for d in dosages)
    return (routes.pop() if len(routes) == 1 else None), unknown or len(routes) > 1


def _med_dates(res: Any, kind: str) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    out: dict[str, Any] = {}
    if kind == "MedicationRequest":
        bounds = events = None
        for d in res.dosageInstruction or []:
            timing = d.timing
            if timing is not None and timing.repeat is not None and timing.repeat.boundsPeriod:
                bounds = timing.repeat.boundsPeriod
            if timing is not None and timing.event:
                events = timing.event
        if bounds is not None:
            out["start"], p1 = fhir_date(bounds.start)
            out["end"], p2 = fhir_date(bounds.end)
        elif events:
            out["start"], p1 = fhir_date(min(events, key=str))
            p2 = None
        else:
            p1 = p2 = None
            notes.append(
                "no dosage period; the date it was ordered (authoredOn) is not taken as the date it was given"
            )
    else:
        d, p1 = fhir_date(res.effectiveDateTime)
        p2 = None
        if d is not None:
            out["date"] = d
        elif res.effectivePeriod is not None:
            out["start"], p1 = fhir_date(res.effectivePeriod.start)
            out["end"], p2 = fhir_date(res.effectivePeriod.end)
    for p in (p1, p2):
        if p:
            notes.append(partial_date("date", p))
    return {k: v for k, v in out.items() if v is not None}, notes


def map_medication(res: Any, ctx: Ctx) -> Result:
    t = tables()
    kind = res.get_resource_type()
    if res.status not in _MED_STATUS[kind]:
        why = f"status {res.status!r} is not a {kind} status"
        return Result(
            mapped=[Mapped(target=t, value={}, fatal=("", why)) for t in ("medications", "treatments")]
        )
    ongoing = _MED_STATUS[kind][res.status]
    if ongoing == "skip":
        return Result(skipped=f"status {res.status}")
    if kind == "MedicationRequest" and res.intent in ("proposal", "plan"):
        return Result(skipped=f"intent {res.intent}: not an order that was given")
    code, ingredients = _medication_concept(res, ctx)
    name = text_of(code) or ", ".join(filter(None, (text_of(i) for i in ingredients))) or None
    cats = res.category if isinstance(res.category, list) else [res.category]
    types = eim_codes(codings(cats), "treatment-type")
    route, route_unclear = _route(res)
    agents: list[str] = []
    unclassified: list[str] = []
    classes: list[str] = []
    for concept in ingredients or ([code] if code is not None else []):
        hits = _agent(concept)
        coded = lookup("drugs", codings(concept))  # an RxNorm value set (its classes)
        if hits:
            agents.extend(h for h in hits if h not in agents)
        elif len(coded) == 1:
            classes.extend(c for c in coded[0]["classes"] if c not in classes)
        else:
            unclassified.append(text_of(concept) or code_label(concept) or "unnamed medication")
    treatment_types = []
    for a in agents:
        agent = t.agents[a]
        if agent.treatment:
            treatment_types.append(agent.treatment)
        if agent.systemic_route_only and agent.classes:
            if route is None:
                unclassified.append(
                    f"{a} (route not recorded; its classes hold only when given systemically)"
                )
                continue
            if route not in SYSTEMIC_ROUTES:
                continue
        classes.extend(c for c in agent.classes if c not in classes)
    dates, notes = _med_dates(res, kind)
    if route_unclear:
        notes.append("route not recognised")
    ttype = types[0] if len(types) == 1 else None
    mixed = None
    if ttype is None and treatment_types:
        distinct = sorted(set(treatment_types))
        ttype = distinct[0] if len(distinct) == 1 else None
        if ttype is None:
            mixed = f"agents of different treatment types ({', '.join(distinct)})"
    unread = [u for u in unclassified if "route not recorded" not in u]
    if unclassified or mixed:
        return Result(
            mapped=_unclassified_drug(
                name, agents, unread, unclassified, mixed, ttype, route, dates, ongoing, notes
            )
        )
    if ttype in (None, "medication"):
        start, end = dates.get("start", dates.get("date")), dates.get("end", dates.get("date"))
        value = {
            "name": name or "unnamed medication",
            "classes": classes,
            "route": route,
            "start": start,
            "end": end,
            "ongoing": ongoing,
        }
        m = Mapped(target="medications", value={k: v for k, v in value.items() if v is not None}, notes=notes)
    else:
        value = {
            "type": ttype,
            "name": name,
            "agents": agents,
            "classes": classes,
            **dates,
            "ongoing": ongoing,
        }
        value.update(_intent(res))
        m = Mapped(target="treatments", value={k: v for k, v in value.items() if v is not None}, notes=notes)
    return Result(mapped=[m])


def _intent(res: Any) -> dict[str, Any]:
    intents = coded_intents(res)
    return {"intent": intents.pop()} if len(intents) == 1 else {}


def _unclassified_drug(
    name: str | None,
    agents: list[str],
    unread: list[str],
    unclassified: list[str],
    mixed: str | None,
    ttype: str | None,
    route: str | None,
    dates: dict[str, Any],
    ongoing: Any,
    notes: list[str],
) -> list[Mapped]:
    """A drug eligimatch cannot fully classify stays in its list(s) with its name and agents and
    no stated classes: the drug catalogue then reads what it can, and its classes are only partly
    known (so class tests on it are unknown, and name it).  A drug of unknown kind may be an
    anticancer treatment or another medication, so it is kept in both lists (in ``treatments``
    without a type)."""
    why = "; ".join(
        [
            *(f"{u!r} is not in drug_classes.toml" if "route" not in u else u for u in unclassified),
            *([mixed] if mixed else []),
        ]
    )
    shown = name or ", ".join([*agents, *unread]) or "unnamed medication"
    out = []
    if ttype in (None, "medication") and not mixed:
        start, end = dates.get("start", dates.get("date")), dates.get("end", dates.get("date"))
        value = {"name": shown, "route": route, "start": start, "end": end, "ongoing": ongoing}
        m = Mapped(
            target="medications", value={k: v for k, v in value.items() if v is not None}, notes=list(notes)
        )
        m.gaps["classes"] = f"not classified: {why}; kept with its classes partly known"
        out.append(m)
    # in treatments too when it is drug therapy, or a drug of unknown kind (not one whose only
    # doubt is the route of a known agent)
    if mixed or ttype not in (None, "medication") or (ttype is None and unread):
        value = {
            "type": None if mixed else ttype,
            "name": shown,
            "agents": [*agents, *unread],
            **dates,
            "ongoing": ongoing,
        }
        m = Mapped(
            target="treatments", value={k: v for k, v in value.items() if v is not None}, notes=list(notes)
        )
        m.gaps["classes"] = f"not classified: {why}; kept with its classes partly known" + (
            "" if ttype else " and its treatment type unknown (it may be an anticancer drug)"
        )
        out.append(m)
    return out
