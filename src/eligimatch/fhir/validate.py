"""Validating a Bundle with fhir.resources (R4B models), resource by resource.

fhir.resources is imported only here and only when a bundle is read or written
(:func:`fhir_models`); without it the user is told what to install (:data:`INSTALL_HINT`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from ..errors import PatientError

__all__ = ["INSTALL_HINT", "fhir_models", "load_bundle", "load_entries"]

INSTALL_HINT = (
    "this is a FHIR resource; reading FHIR needs the optional dependency "
    "fhir.resources: pip install 'eligimatch[fhir]'"
)


def fhir_models() -> Any:
    try:
        from fhir.resources import R4B
    except ImportError:
        return None
    return R4B


def load_bundle(raw: Any, source: str) -> Any:
    """Validate ``raw`` as an R4 Bundle; raise :class:`PatientError` with every problem found.

    Strict: every resource must be valid (see :func:`load_entries` for the import's lenient
    reading, which skips an invalid resource and reads the rest)."""
    bundle, invalid = load_entries(raw, source)
    if invalid:
        raise PatientError(
            source, [("", "not a valid FHIR R4 Bundle"), *((where, why) for where, _, why in invalid)]
        )
    return bundle


def load_entries(raw: Any, source: str) -> tuple[Any, list[tuple[str, str, str]]]:
    """Validate the Bundle and each of its resources on its own.

    Returns the Bundle holding the valid resources and, for each resource that fails validation,
    (where, label, why): the import reports it and reads the rest.  The narrative (``text``) of a
    resource is dropped before validation: it is for people, eligimatch never reads it, and the
    official US Core diagnosticreport-cbc.json has one without its required ``div``.  Raises
    :class:`PatientError` for what is not a Bundle at all (not a JSON object, another resource
    type, an unknown resource type, an invalid envelope)."""
    r4b = fhir_models()
    if r4b is None:
        raise PatientError(source, [("", INSTALL_HINT)])
    kind = raw.get("resourceType") if isinstance(raw, dict) else None
    if not isinstance(kind, str):
        raise PatientError(
            source, [("", "not a FHIR resource (a JSON object with a 'resourceType' is expected)")]
        )
    if kind != "Bundle":
        raise PatientError(
            source,
            [
                (
                    "resourceType",
                    f"a FHIR {kind!r} resource, not a Bundle: "
                    "eligimatch reads FHIR Bundles (wrap the resources in a "
                    "Bundle of type 'collection')",
                )
            ],
        )
    problems = []
    entries = raw.get("entry")
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        res = entry.get("resource") if isinstance(entry, dict) else None
        kind = res.get("resourceType") if isinstance(res, dict) else None
        if isinstance(res, dict) and not _known_type(r4b, kind):
            problems.append((f"entry[{i}].resource.resourceType", f"{kind!r} is not a FHIR R4 resource type"))
    if problems:
        raise PatientError(source, problems)
    from fhir.resources.R4B.bundle import Bundle

    invalid: list[tuple[str, str, str]] = []
    kept = dict(raw)
    if isinstance(entries, list):
        kept["entry"] = []
        for i, entry in enumerate(entries):
            res = entry.get("resource") if isinstance(entry, dict) else None
            if not isinstance(res, dict):
                kept["entry"].append(entry)
                continue
            res = {k: v for k, v in res.items() if k != "text"}
            try:
                r4b.get_fhir_model_class(res["resourceType"]).model_validate(res)
            except ValidationError as exc:
                label = (
                    f"{res['resourceType']}/{res['id']}"
                    if isinstance(res.get("id"), str)
                    else f"{res['resourceType']} (entry {i})"
                )
                errors = exc.errors(include_url=False)
                why = "; ".join(
                    f"{_where(err['loc'], res) or '(resource)'}: {_short(err['msg'])}" for err in errors[:3]
                )
                if len(errors) > 3:
                    why += f"; and {len(errors) - 3} more problems"
                invalid.append((f"entry[{i}].resource({res['resourceType']})", label, why))
                continue
            except (KeyError, TypeError, ValueError) as exc:
                invalid.append((f"entry[{i}].resource", f"entry {i}", str(exc)))
                continue
            kept["entry"].append({**entry, "resource": res})
    try:
        return Bundle.model_validate(kept), invalid
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = [(_where(err["loc"], kept), _short(err["msg"])) for err in errors[:8]]
        if len(errors) > 8:
            problems.append(("", f"and {len(errors) - 8} more problems"))
        raise PatientError(source, [("", "not a valid FHIR R4 Bundle"), *problems]) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise PatientError(source, [("", f"not a valid FHIR R4 Bundle ({exc})")]) from exc


def _known_type(r4b: Any, kind: Any) -> bool:
    if not isinstance(kind, str) or not kind.isidentifier():
        return False
    try:
        r4b.get_fhir_model_class(kind)
    except (KeyError, ValueError, AttributeError, ImportError):
        return False
    return True


def _where(loc: Sequence[Any], raw: Any) -> str:
    out, node = "", raw
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        if isinstance(node, dict) and isinstance(node.get("resourceType"), str) and part != 0:
            out += f"({node['resourceType']})"
    return out


def _short(msg: str) -> str:
    return msg.removeprefix("Value error, ").split("\n")[0]
