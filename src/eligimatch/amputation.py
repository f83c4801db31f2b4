"""Amputations: whether any treatment of a profile was one (the ``amputee`` fact), and that only
an operation or a procedure is.

A treatment's flag or its name says it was an amputation, whatever its type; an operation, or
an item of unrecorded type, whose flag does not say is unknown; a procedure says it by its name
(one without a name or a flag is unknown); a drug, radiotherapy, transfusion or vaccination is
none.  ``amputee`` is True if any treatment was an amputation, False only if every one says it
was not, else unknown (None).
"""

from __future__ import annotations

import re

from .errors import Problems
from .memo import remember
from .patient import Patient, Treatment

__all__ = ["amputations", "amputee"]


def _amputation(t: Treatment) -> bool | None:
    """Was the treatment an amputation?  Its flag or its name says so, whatever its type; an
    operation, or an item of unrecorded type, whose flag does not say is unknown; a procedure
    says it by its name (one without a name or a flag is unknown); a drug, radiotherapy,
    transfusion or vaccination is none."""
    if t.amputation or _amputation_named(t.name):
        return True
    if t.type in ("surgery", None):
        return t.amputation
    if t.type == "procedure":
        return False if t.amputation is False or t.name else None
    return False


_AMPUTATION = re.compile(
    r"\b(amputation|amputated|disarticulation|hemipelvectomy|"
    r"forequarter|hindquarter)\b",
    re.I,
)
_NAMED: dict[str | None, bool] = {}  # treatment name → _amputation_named (bounded)


def _amputation_named(name: str | None) -> bool:
    """Does a treatment's name say it was an amputation?"""
    named = _NAMED.get(name)
    if named is None:
        named = _AMPUTATION.search(name or "") is not None
        remember(_NAMED, name, named, 4096)
    return named


def amputee(p: Patient) -> bool | None:
    """Known True if any treatment was an amputation; False only if every one says it was not
    (see _amputation)."""
    if p.treatments is None:
        return None
    unknown = False
    for t in p.treatments:
        flag = _amputation(t)
        if flag is True:
            return True
        unknown = unknown or flag is None
    return None if unknown else False


def amputations(p: Patient, problems: Problems) -> bool | None:
    """:func:`amputee`, each treatment flagged as an amputation checked on the way: only an
    operation or a procedure (or an item of unrecorded type) can be one."""
    if p.treatments is None:
        return None
    found, unknown = False, False
    for i, t in enumerate(p.treatments):
        if t.amputation is not None and t.type not in ("surgery", "procedure", None):
            problems.add(
                f"treatments[{i}].amputation",
                f"only an operation or procedure can be an amputation, not a {t.type}",
            )
        if not found:
            flag = _amputation(t)
            found = flag is True
            unknown = unknown or flag is None
    return True if found else None if unknown else False
