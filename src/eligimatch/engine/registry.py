"""The one list of the rule language: every node kind, from the module that defines it.

A node kind is a :class:`~.nodes.base.NodeKind` in the ``KINDS`` of a module of
:mod:`eligimatch.engine.nodes`: its key, the other keys its table takes, its builder, its
documentation and its examples.  Adding a node kind is one module plus one line in
:data:`FAMILIES`.  The compiler, both runners, ``eligimatch check``, the generated
``docs/rule-language.md`` and the tests all read this list.
"""

from __future__ import annotations

from types import ModuleType

from .nodes import evidence, exists, histology, logic, quantity, recorded, review, scalar
from .nodes.base import NodeKind

__all__ = ["FAMILIES", "kinds", "register"]

FAMILIES: list[ModuleType] = [
    logic,  # all, any, not
    quantity,  # quantity comparisons (value, × ULN, grade, qualitative)
    scalar,  # fact, expr
    histology,  # histology
    exists,  # exists (with its where tests)
    review,  # review
    recorded,  # recorded, any_recorded
    evidence,  # evidence
]

_kinds: dict[str, NodeKind] | None = None


def kinds() -> dict[str, NodeKind]:
    """Every node kind by its key, in the order of :data:`FAMILIES`."""
    global _kinds
    if _kinds is None:
        out: dict[str, NodeKind] = {}
        for family in FAMILIES:
            for kind in family.KINDS:
                if kind.key in out:
                    raise ValueError(f"node kind {kind.key!r} is defined twice (again in {family.__name__})")
                out[kind.key] = kind
        _kinds = out
    return _kinds


def register(family: ModuleType) -> None:
    """Add a module of node kinds (e.g. a plug-in, or a test's own node kind)."""
    global _kinds
    FAMILIES.append(family)
    _kinds = None
