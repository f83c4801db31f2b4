"""The rule engine: the Kleene core, the node kinds of the rule language, the compiler, and the
two runners (explaining and status-only) that share every semantic function.

* :mod:`.core` — truth values, outcomes, results; junction, negation, polarity, verdict,
  staleness;
* :mod:`.nodes` — one module per node family (builder, node class, docs, examples);
  :mod:`.registry` — the one list of node kinds;
* :mod:`.compile` — rule bytes → :class:`Trial`; :mod:`.load` — files and directories;
* :mod:`.runner` — the explaining runner; :mod:`.graph` — the status-only shared graph;
* :mod:`.examples` — the one example runner; :mod:`.check` — ``eligimatch check``.
"""

from __future__ import annotations

from .check import check_rules
from .compile import Criterion, RuleSet, Trial, compile_bytes
from .core import (
    ATTESTATION_MAX_AGE_DAYS,
    CriterionResult,
    Outcome,
    Status,
    TrialResult,
    Truth,
    Verdict,
    status_of,
)
from .graph import Program, TrialStatus
from .load import default_rules_dir, load_rule_file, load_rules, rule_files
from .nodes.base import EvalContext, Node

__all__ = [
    "ATTESTATION_MAX_AGE_DAYS",
    "Criterion",
    "CriterionResult",
    "EvalContext",
    "Node",
    "Outcome",
    "Program",
    "RuleSet",
    "Status",
    "Trial",
    "TrialResult",
    "TrialStatus",
    "Truth",
    "Verdict",
    "check_rules",
    "compile_bytes",
    "default_rules_dir",
    "load_rule_file",
    "load_rules",
    "rule_files",
    "status_of",
]
