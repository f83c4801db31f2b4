"""How much faster could the engine screen a population?  Measured prototypes, not product code.

The batch runner spends nearly all of its time in ``Trial.evaluate``, which builds every
criterion's explanation text whether anyone reads it or not.  This script measures, on one core
(CPU time, so less sensitive to other processes), on synthetic profiles and the synthetic
catalogue:

1. ``baseline``: ``Trial.evaluate`` for every patient × trial pair (facts built once per patient);
2. ``value-only``: a prototype evaluator that computes only pass / fail / unknown (no text, no
   missing / review lists), delegating the rarer node kinds to ``node.evaluate(...).value``;
   it is checked to give the same status for every criterion of every pair;
3. ``+ float``: the value-only walk comparing quantities as floats, with an exact Fraction
   comparison only when the two are within 1e-9 relative of each other;
4. ``+ memo``: the value-only walk with a per-patient memo of identical leaf nodes (same node,
   same lab window) shared by all trials;
5. the costs around it: parsing + validating a profile, building its facts, and the batch
   layer's per-pair work (statuses, attrition, one JSON line).

    python benchmarks/engine_headroom.py [--patients 30] [--trials 250]

The prototypes live here, outside the library, because evaluate.py is being changed by others;
they show the expected gain of each step, not a finished design.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import catalogue  # noqa: E402
import synth  # noqa: E402

from eligimatch import api  # noqa: E402
from eligimatch.batch_attrition import Attrition  # noqa: E402
from eligimatch.compile import load_rules  # noqa: E402
from eligimatch.evaluate import (  # noqa: E402
    OPS,
    All,
    Any_,
    Compare,
    EvalContext,
    Exists,
    FactIs,
    Match,
    Not,
    Qualitative,
    Review,
    _censored,
    _match_value,
    status_of,
)

Truth = bool | None


def _and(values: list[Truth]) -> Truth:
    if False in values:
        return False
    return None if None in values else True


def _or(values: list[Truth]) -> Truth:
    if True in values:
        return True
    return None if None in values else False


def _compare(node: Compare, facts: Any, ctx: EvalContext, use_float: bool) -> Truth:
    a = node.analyte
    q = facts.quantities.get(a.key)
    if q is None:
        return None
    limit = node.within_days
    if limit is None and node.default_recency and a.source == "lab":
        limit = ctx.lab_max_age_days
    if limit is not None and (q.date is None or (facts.as_of - q.date).days > limit):
        return None
    if node.ordinal is not None:
        if q.result is None:
            return None
        scale = a.scale or a.values
        return bool(OPS[node.op](scale.index(q.result), scale.index(node.ordinal)))
    if q.value is None:
        return None
    if node.uln_multiple is not None:
        if q.uln is None or q.uln <= 0:
            return None
        bound = Fraction(node.uln_multiple) * q.uln
    else:
        bound = node.threshold
    if q.comparator is not None:
        return _censored(node.op, q.comparator, q.value, bound)
    if use_float:
        x, y = float(q.value), float(bound)
        if abs(x - y) > 1e-9 * max(abs(x), abs(y)):
            return bool(OPS[node.op](x, y))
    return bool(OPS[node.op](q.value, bound))


def value_of(node: Any, facts: Any, ctx: EvalContext, use_float: bool = False,
             memo: dict[Any, Truth] | None = None) -> Truth:
    """Pass / fail / unknown of a node, without building any text."""
    kind = type(node)
    if kind is All:
        return _and([value_of(c, facts, ctx, use_float, memo) for c in node.children])
    if kind is Any_:
        return _or([value_of(c, facts, ctx, use_float, memo) for c in node.children])
    if kind is Not:
        v = value_of(node.child, facts, ctx, use_float, memo)
        return None if v is None else not v
    if kind is Review:
        att = facts.attestations.get((ctx.trial_id, ctx.criterion_id))
        return None if att is None else att.answer == "yes"
    key = None
    if memo is not None:
        try:
            key = (node, ctx.lab_max_age_days)
            if key in memo:
                return memo[key]
        except TypeError:       # a node holding a dict (histology lists) is not hashable
            key = None
    v = _leaf(node, kind, facts, ctx, use_float)
    if key is not None and memo is not None:
        memo[key] = v
    return v


def _leaf(node: Any, kind: type, facts: Any, ctx: EvalContext, use_float: bool) -> Truth:
    if kind is Compare:
        return _compare(node, facts, ctx, use_float)
    if kind is FactIs:
        v = facts.scalars.get(node.name)
        return None if v is None else v in node.values
    if kind is Exists:
        items = facts.collections.get(node.collection)
        if items is None:
            return None
        unsure = False
        for item in items:
            values = [m.test(item.fields.get(m.name)) if type(m) is Match
                      else _match_value(m, item, facts) for m in node.where]
            values.append(node._in_window(item, facts))
            v = _and(values)
            if v is True:
                return True
            unsure = unsure or v is None
        return None if unsure else False
    if kind is Qualitative:
        return node.evaluate(facts, ctx).value   # rare: no gain worth the code here
    out: Truth = node.evaluate(facts, ctx).value
    return out


def _statuses_fast(trial: Any, facts: Any, use_float: bool,
                   memo: dict[Any, Truth] | None) -> list[str]:
    meta = trial.meta
    return [status_of(c.spec.kind, value_of(c.node, facts,
                                            EvalContext(meta.id, c.spec.id, meta.lab_max_age_days),
                                            use_float, memo))
            for c in trial.criteria]


# ---------------------------------------------------------------------------- compiled prototype

_UNSET = object()


def compile_node(node: Any, lab: int | None, slots: dict[Any, int]) -> Callable[..., Truth]:
    """A closure computing the node's value; identical leaves (same node, same lab window) of
    every trial share one slot of a per-patient memo; all / any stop at the first deciding
    child (the value of a Kleene and / or does not depend on the rest)."""
    kind = type(node)
    if kind is All or kind is Any_:
        children = [compile_node(c, lab, slots) for c in node.children]
        decisive = kind is Any_

        def junction(facts: Any, ctx: EvalContext, memo: list[Any]) -> Truth:
            unsure = False
            for c in children:
                v = c(facts, ctx, memo)
                if v is decisive:
                    return decisive
                unsure = unsure or v is None
            return None if unsure else not decisive
        return junction
    if kind is Not:
        child = compile_node(node.child, lab, slots)

        def negation(facts: Any, ctx: EvalContext, memo: list[Any]) -> Truth:
            v = child(facts, ctx, memo)
            return None if v is None else not v
        return negation
    if kind is Review:
        def review(facts: Any, ctx: EvalContext, memo: list[Any]) -> Truth:
            att = facts.attestations.get((ctx.trial_id, ctx.criterion_id))
            return None if att is None else att.answer == "yes"
        return review
    try:
        slot = slots.setdefault((node, lab), len(slots))
    except TypeError:
        slot = slots.setdefault((id(node), lab), len(slots))

    def leaf(facts: Any, ctx: EvalContext, memo: list[Any]) -> Truth:
        v = memo[slot]
        if v is _UNSET:
            v = memo[slot] = _leaf(node, kind, facts, ctx, True)
        return v  # type: ignore[no-any-return]
    return leaf


def _cpu(fn: Callable[[], object], repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=30)
    ap.add_argument("--trials", type=int, default=250)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        catalogue.build(Path(tmp), args.trials, args.seed)
        rules = load_rules(Path(tmp))
    trials = list(rules.trials)
    real = list(load_rules(HERE.parent / "rules").trials)
    lines = [json.dumps(p).encode() for p in synth.profiles(args.patients, args.seed)]
    patients = [api.parse_patient(line, "synthetic") for line in lines]
    facts = [api.build_facts(p) for p in patients] if hasattr(api, "build_facts") else None
    if facts is None:
        from eligimatch.facts import build_facts
        facts = [build_facts(p) for p in patients]
    pairs = len(patients) * len(trials)
    n_crit = sum(len(t.criteria) for t in trials) * len(patients)
    print(f"{len(patients)} synthetic patients × {len(trials)} trials = {pairs} pairs, "
          f"{n_crit} criteria (one core, CPU time, best of 3)")

    baseline: list[list[str]] = []

    def run_baseline() -> None:
        baseline.clear()
        for f in facts:
            for t in trials:
                baseline.append([c.status for c in t.evaluate(f).criteria])

    def run_fast(use_float: bool, use_memo: bool) -> list[list[str]]:
        out = []
        for f in facts:
            memo: dict[Any, Truth] | None = {} if use_memo else None
            for t in trials:
                out.append(_statuses_fast(t, f, use_float, memo))
        return out

    rows: list[tuple[str, float]] = []
    rows.append(("baseline Trial.evaluate", _cpu(run_baseline, 3)))
    for label, fl, me in (("value-only", False, False), ("value-only + float", True, False),
                          ("value-only + memo", False, True),
                          ("value-only + float + memo", True, True)):
        same = run_fast(fl, me) == baseline
        seconds = _cpu(lambda fl=fl, me=me: run_fast(fl, me), 3)
        rows.append((f"{label}{'' if same else '  (STATUSES DIFFER!)'}", seconds))
    for label, shared in (("compiled + short-circuit, leaves per trial", False),
                          ("compiled + short-circuit + leaves shared", True)):
        slots: dict[Any, int] = {}
        compiled = []
        per_trial = 1
        for t in trials:
            own: dict[Any, int] = slots if shared else {}
            compiled.append([(c.spec.kind,
                              EvalContext(t.meta.id, c.spec.id, t.meta.lab_max_age_days),
                              compile_node(c.node, t.meta.lab_max_age_days, own))
                             for c in t.criteria])
            per_trial = max(per_trial, len(own))

        def run_compiled(compiled: list[Any] = compiled, shared: bool = shared,
                         size: int = per_trial) -> list[list[str]]:
            out = []
            for f in facts:
                memo = [_UNSET] * size
                for crits in compiled:
                    if not shared:     # nothing carries over from one trial to the next
                        memo = [_UNSET] * size
                    out.append([status_of(kind, fn(f, ctx, memo)) for kind, ctx, fn in crits])
            return out

        same = run_compiled() == baseline
        rows.append((f"{label}{'' if same else '  (STATUSES DIFFER!)'}",
                     _cpu(run_compiled, 3)))
    base = rows[0][1]
    for label, seconds in rows:
        print(f"  {label:<40} {pairs / seconds:>9,.0f} pairs/s  {n_crit / seconds:>11,.0f} "
              f"criteria/s  ×{base / seconds:.1f}")

    parse = _cpu(lambda: [api.parse_patient(line, "s") for line in lines], 3) / len(lines)
    from eligimatch.facts import build_facts
    build = _cpu(lambda: [build_facts(p) for p in patients], 3) / len(patients)
    results = [t.evaluate(facts[0]) for t in trials]
    attrition = [Attrition(t.id, t.meta.title, tuple((c.id, c.spec.kind) for c in t.criteria))
                 for t in trials]

    encoded = [[json.dumps(c.id) for c in t.criteria] for t in trials]   # once per plan

    def layer() -> None:     # what screen_chunk does per pair besides evaluating (as there)
        head = '{"patient_id": "x", "source": "f:1", "trial_id": '
        for r, a, ids in zip(results, attrition, encoded, strict=True):
            fail_at: list[int] = []
            unknown_at: list[int] = []
            for k, c in enumerate(r.criteria):
                if c.status == "fail":
                    fail_at.append(k)
                elif c.status == "unknown":
                    unknown_at.append(k)
            a.add_indices(fail_at, unknown_at, r.verdict)
            _ = (f'{head}"{r.trial_id}", "as_of": "2026-11-16", "verdict": "{r.verdict}", '
                 f'"failing": [{", ".join(ids[k] for k in fail_at)}], '
                 f'"unknown": [{", ".join(ids[k] for k in unknown_at)}]}}\n')

    per_pair_layer = _cpu(layer, 3) / len(trials)
    print(f"  per patient: read + validate {parse * 1e6:.0f} µs, facts {build * 1e6:.0f} µs; "
          f"per pair: batch layer (statuses, attrition, JSON line) {per_pair_layer * 1e6:.1f} µs,"
          f" baseline evaluation {base / pairs * 1e6:.0f} µs")

    leaves: Counter[Any] = Counter()

    def walk(node: Any, lab: int | None) -> None:
        if isinstance(node, All | Any_):
            for c in node.children:
                walk(c, lab)
        elif isinstance(node, Not):
            walk(node.child, lab)
        else:
            try:
                leaves[(node, lab)] += 1
            except TypeError:
                leaves[(id(node), lab)] += 1

    for group, name in ((real, "real"), (trials, "synthetic")):
        leaves.clear()
        for t in group:
            for c in t.criteria:
                walk(c.node, t.meta.lab_max_age_days)
        total = sum(leaves.values())
        print(f"  {name} catalogue: {len(group)} trials, {total} leaf nodes, {len(leaves)} "
              f"distinct ({100 * (1 - len(leaves) / total):.0f}% shared)")


if __name__ == "__main__":
    main()
