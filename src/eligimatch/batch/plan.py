"""The plan of a batch run and the one cache of its compiled trials.

A :class:`Plan` is everything a worker needs, picklable: the bytes of the selected rule files
and the shared value sets they use, as read (so a remote worker needs no access to the parent's
files), the trials to screen, the rules' content hash, the as-of date and the output format.
:func:`compiled` turns it into what screening needs: the trials, their shared
:class:`~eligimatch.engine.Program`, the ids JSON-encoded once and an empty attrition per trial.

The cache: each process keeps the compiled form of **one** plan, keyed by the plan's content
hash (:attr:`Plan.key`: the rule files' names and bytes, the shared value sets' hash and the
chosen trial ids).  The parent puts its own compiled trials there in :func:`make_plan`, so
forked workers inherit them and compile nothing; a spawned or remote worker compiles the plan's
bytes once (:func:`~eligimatch.engine.compile_bytes`: no file is read or written), on its first
chunk.  A process that starts another plan drops the previous one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .attrition import Attrition
from .inputs import BatchError

if TYPE_CHECKING:
    from ..engine import Program, RuleSet, Trial
    from ..rulesource import SharedSets

__all__ = ["Compiled", "OutputFormat", "Plan", "compiled", "make_plan"]

OutputFormat = Literal["jsonl", "csv"]


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs to screen records, picklable."""

    rule_files: tuple[tuple[str, bytes], ...]  # (the file's path in the parent, its bytes)
    trial_ids: tuple[str, ...]
    rules_sha256: str  # RuleSet.sha256 of the rules the trials come from
    as_of: date | None  # None: each profile's own as_of
    fmt: OutputFormat
    max_bytes: int | None = None  # of one profile (None: the input limit)
    shared: SharedSets | None = None  # the value sets the rule files share
    # ids and registry ids of the loaded trials not chosen: attestations may name them
    elsewhere: frozenset[str] = frozenset()
    key: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        h = hashlib.sha256()
        for name, data in self.rule_files:
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        if self.shared is not None:
            h.update(self.shared.sha256.encode() + b"\0")
        h.update("\0".join(self.trial_ids).encode())
        object.__setattr__(self, "key", h.hexdigest())


@dataclass(frozen=True)
class Compiled:
    """A plan's trials, compiled, and what screening them needs."""

    trials: tuple[Trial, ...]
    program: Program
    encoded: tuple[tuple[str, tuple[str, ...]], ...]  # JSON trial id, JSON criterion ids
    attrition: tuple[Attrition, ...]  # empty, one per trial
    drafts: tuple[frozenset[str], ...]  # per trial: criteria marked draft

    @classmethod
    def of(cls, trials: Sequence[Trial]) -> Compiled:
        from ..draft.mark import draft_ids
        from ..engine import Program

        trials = tuple(trials)
        marked = draft_ids(trials)
        return cls(
            trials,
            Program(trials),
            tuple(
                (
                    json.dumps(t.id, ensure_ascii=False),
                    tuple(json.dumps(c.id, ensure_ascii=False) for c in t.criteria),
                )
                for t in trials
            ),
            tuple(
                Attrition(t.id, t.meta.title, tuple((c.id, c.spec.kind) for c in t.criteria)) for t in trials
            ),
            tuple(marked.get(t.id, frozenset()) for t in trials),
        )

    @property
    def has_drafts(self) -> bool:
        return any(self.drafts)


# The per-process cache: the compiled form of the one plan this process works on, by Plan.key.
_CACHE: dict[str, Compiled] = {}


def _remember(key: str, done: Compiled) -> Compiled:
    _CACHE.clear()
    _CACHE[key] = done
    return done


def make_plan(
    ruleset: RuleSet,
    trial_ids: Sequence[str] | None,
    as_of: date | None,
    fmt: OutputFormat,
    max_bytes: int | None = None,
) -> Plan:
    """The plan for the chosen trials (all when ``trial_ids`` is empty), in the order given.

    Unknown trial ids raise :class:`~eligimatch.errors.UnknownTrialError`.  The parent's
    compiled trials are cached under the plan's key, so forked workers need not compile them
    again.
    """
    chosen = [ruleset.get(i) for i in dict.fromkeys(trial_ids)] if trial_ids else list(ruleset.trials)
    chosen = list({t.id: t for t in chosen}.values())
    files = []
    for t in chosen:
        try:
            data = Path(t.path).read_bytes()
        except OSError as exc:
            raise BatchError(f"{t.path}: cannot read: {exc.strerror}") from exc
        if hashlib.sha256(data).hexdigest() != t.sha256:
            raise BatchError(f"{t.path}: the rule file changed while it was being loaded; run again")
        files.append((t.path, data))
    ids = {t.id for t in chosen}
    elsewhere = frozenset(
        name for t in ruleset.trials if t.id not in ids for name in (t.id, t.meta.registry_id) if name
    )
    plan = Plan(
        tuple(files),
        tuple(t.id for t in chosen),
        ruleset.sha256,
        as_of,
        fmt,
        max_bytes,
        next((t.shared for t in chosen if t.shared is not None), None),
        elsewhere,
    )
    _remember(plan.key, Compiled.of(chosen))
    return plan


def compiled(plan: Plan) -> Compiled:
    """The plan compiled: from the cache, or from the plan's bytes (once per process)."""
    done = _CACHE.get(plan.key)
    if done is None:
        done = _remember(plan.key, Compiled.of(_compile(plan)))
    return done


def _compile(plan: Plan) -> tuple[Trial, ...]:
    """The plan's trials compiled from its bytes (named as in the parent), in plan order; through
    the compiled-rules cache (:mod:`..engine.cache`), as the parent loaded them."""
    from ..engine import compile_bytes
    from ..engine.cache import cached

    loaded = {
        t.id: t for t in (cached(data, name, plan.shared, compile_bytes) for name, data in plan.rule_files)
    }
    missing = [i for i in plan.trial_ids if i not in loaded]
    if missing:  # bytes that are not the files the plan was made from
        raise BatchError(f"the plan's rule files define no trial {', '.join(map(repr, missing))}")
    return tuple(loaded[i] for i in plan.trial_ids)
