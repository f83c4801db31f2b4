"""eligimatch: patient-to-clinical-trial eligibility with typed, unit-aware rules and
three-valued (pass / fail / unknown) evaluation.

Library use::

    from eligimatch import load_rules, read_patient, screen

    rules = load_rules()                      # the rules shipped with eligimatch
    facts, results = screen(read_patient(path), rules)
    for r in results:
        print(r.trial_id, r.verdict, r.reason)

Heavy dependencies are imported on first use, so importing the package is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "EligimatchError",
    "PatientError",
    "RuleFileError",
    "UnitError",
    "load_rules",
    "parse_patient",
    "read_patient",
    "screen",
]

if TYPE_CHECKING:
    from .api import parse_patient, read_patient, screen
    from .engine import load_rules
    from .errors import EligimatchError, PatientError, RuleFileError, UnitError

_WHERE = {
    "EligimatchError": "errors",
    "PatientError": "errors",
    "RuleFileError": "errors",
    "UnitError": "errors",
    "load_rules": "compile",
    "parse_patient": "api",
    "read_patient": "api",
    "screen": "api",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'eligimatch' has no attribute {name!r}")
