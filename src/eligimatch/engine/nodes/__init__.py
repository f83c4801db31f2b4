"""The node kinds of the rule language, one module per family; :mod:`..registry` lists them.

The node classes are importable from here for tests and tools.
"""

from __future__ import annotations

from .base import OPS, EvalContext, Node, NodeKind, censored
from .evidence import Evidence
from .exists import Exists
from .field_tests import DateFieldTest, FieldTest, OncoTreeFieldTest, QuantityFieldTest
from .histology import Histology
from .logic import All, Any_, Not
from .quantity import Compare, Qualitative
from .recorded import AnyRecorded, Recorded
from .review import Review
from .scalar import Constant, Expr, FactIs
from .where import AnyOfFieldTest, Match

__all__ = [
    "OPS",
    "All",
    "AnyOfFieldTest",
    "AnyRecorded",
    "Any_",
    "Compare",
    "Constant",
    "DateFieldTest",
    "EvalContext",
    "Evidence",
    "Exists",
    "Expr",
    "FactIs",
    "FieldTest",
    "Histology",
    "Match",
    "Node",
    "NodeKind",
    "Not",
    "OncoTreeFieldTest",
    "Qualitative",
    "QuantityFieldTest",
    "Recorded",
    "Review",
    "censored",
]
