"""Rule bytes → a compiled trial, with every check done at compile time.

Compiling parses the TOML, validates it against :mod:`eligimatch.rulefile`, compiles each
criterion's logic through the node kinds of :mod:`.registry` (known quantities and facts with
"did you mean" suggestions, units of the right dimension, typed rule-engine expressions, valid
OncoTree codes, valid collection fields and values), and rejects duplicate ids.  All problems of
a file are collected, each naming the criterion and the field.  Reading files and directories is
:mod:`.load`; running a criterion's examples is :mod:`.examples`.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..errors import RuleFileError
from ..facts import Facts
from ..rulefile import CriterionSpec, RuleFile, TrialMeta
from ..rulesource import SharedSets
from ..vocabulary import suggest
from .core import ATTESTATION_MAX_AGE_DAYS, TrialResult
from .nodes.base import Bad, EvalContext, Node, Problems
from .registry import kinds

__all__ = ["Criterion", "RuleSet", "Trial", "compile_bytes", "compile_node"]


@dataclass(frozen=True)
class Criterion:
    spec: CriterionSpec
    node: Node
    needs_review: bool

    @property
    def id(self) -> str:
        return self.spec.id


@dataclass(frozen=True)
class Trial:
    meta: TrialMeta
    criteria: tuple[Criterion, ...]
    path: str
    sha256: str  # of the rule file's bytes
    shared: SharedSets | None = field(default=None, repr=False, compare=False)  # the value sets it used
    contexts: tuple[EvalContext, ...] = field(init=False, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.meta.id

    def __post_init__(self) -> None:
        # one evaluation context per criterion, made once
        object.__setattr__(self, "contexts", tuple(self.context(c.id) for c in self.criteria))

    def context(self, criterion_id: str) -> EvalContext:
        m = self.meta
        return EvalContext(
            m.id, criterion_id, m.lab_max_age_days, m.attestation_max_age_days or ATTESTATION_MAX_AGE_DAYS
        )

    def evaluate(self, facts: Facts, *, explain: bool = True) -> TrialResult:
        """Every criterion's status and the verdict (see :func:`.runner.evaluate_trial`)."""
        from .runner import evaluate_trial

        return evaluate_trial(self, facts, explain=explain)


@dataclass(frozen=True)
class RuleSet:
    trials: tuple[Trial, ...]
    directory: str

    @property
    def sha256(self) -> str:
        h = hashlib.sha256()
        for t in sorted(self.trials, key=lambda t: t.id):
            h.update(t.id.encode() + b"\0" + t.sha256.encode() + b"\0")
            if t.shared is not None:  # the shared value sets are part of the rules
                h.update(t.shared.sha256.encode() + b"\0")
        return h.hexdigest()

    def get(self, trial_id: str) -> Trial:
        from ..errors import UnknownTrialError

        for t in self.trials:
            if t.id == trial_id or t.meta.registry_id == trial_id:
                return t
        ids = [t.id for t in self.trials]
        close = difflib.get_close_matches(trial_id, ids, n=1)
        raise UnknownTrialError(trial_id, ids, close[0] if close else None)


def compile_bytes(data: bytes, source: str, shared: SharedSets | None = None) -> Trial:
    """Compile one rule file's bytes; ``source`` names it in errors and in :attr:`Trial.path`;
    ``shared``: the value sets its references may use besides its own definitions.
    Raises :class:`RuleFileError` with every problem found."""
    problems = Problems(compile_node)
    trial = _compile(source, data, shared, problems)
    if problems or trial is None:
        raise RuleFileError(source, list(problems))
    return trial


def _compile(source: str, data: bytes, shared: SharedSets | None, problems: Problems) -> Trial | None:
    from .. import rulesource, tomlin

    # bounded (nesting depth, number magnitudes, size), definitions expanded
    raw, refused = rulesource.read(data, shared)
    if raw is None:
        problems.extend(refused)
        return None
    try:  # strict: TOML has types, so "30" for a number of days is an error, not a guess
        model = RuleFile.model_validate(raw, strict=True)
    except ValidationError as exc:
        problems.extend((tomlin.location(err["loc"], raw), err["msg"]) for err in exc.errors())
        return None
    ids: dict[str, int] = {}
    criteria = []
    for c in model.criteria:
        for name in (c.id, *c.aliases):
            ids[name] = ids.get(name, 0) + 1
        node = problems.node(c.logic, f"criteria[{c.id}].logic")
        criteria.append(Criterion(c, node, node.asks_review()))
    problems.extend(
        (f"criteria[{name}].id", f"duplicate criterion id {name!r}") for name, n in ids.items() if n > 1
    )
    return Trial(model.trial, tuple(criteria), source, hashlib.sha256(data).hexdigest(), shared)


def compile_node(raw: Any, where: str, problems: Problems) -> Node:
    """One logic node (a table naming exactly one node kind) → a compiled node."""
    registry = kinds()
    if not isinstance(raw, dict):
        problems.add(where, "a logic node must be a table")
        return Bad()
    found = [k for k in registry if k in raw]
    if len(found) != 1:
        problems.add(
            where,
            f"a logic node needs exactly one of {', '.join(registry)}; "
            f"got {', '.join(sorted(raw)) or 'nothing'}",
        )
        return Bad()
    kind = registry[found[0]]
    extra = set(raw) - {kind.key} - kind.keys
    if extra:
        first = sorted(extra)[0]
        problems.add(f"{where}.{first}", f"unknown key for a {kind.key!r} node{suggest(first, kind.keys)}")
        return Bad()
    return kind.build(raw, f"{where}.{kind.key}", problems)
