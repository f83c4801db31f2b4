"""Rule files → compiled trials, with every check done at load time.

Loading a rule file parses the TOML, validates it against :mod:`eligimatch.trial`, compiles each
criterion's logic (known quantities and facts with "did you mean" suggestions, units of the right
dimension, typed rule-engine expressions, valid OncoTree codes, valid collection fields and
values), and rejects duplicate ids.  ``check`` additionally runs each criterion's own examples.
All problems of a file are collected, each naming the file, the criterion and the field.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .dates import parse_duration
from .errors import DurationError, EligimatchError, RuleFileError, UnitError
from .evaluate import (
    ATTESTATION_MAX_AGE_DAYS,
    All,
    Any_,
    AnyOfFieldTest,
    AnyRecorded,
    Constant,
    CriterionResult,
    DateFieldTest,
    EvalContext,
    Evidence,
    Exists,
    Expr,
    FactIs,
    FieldTest,
    Histology,
    Match,
    Node,
    Not,
    OncoTreeFieldTest,
    Qualitative,
    QuantityFieldTest,
    Recorded,
    Review,
    TrialResult,
    status_of,
)
from .evaluate import Compare as CompareNode
from .facts import (
    COLLECTIONS,
    DERIVED_ITEM_FIELDS,
    ITEM_QUANTITY_UNITS,
    ONCOTREE_ITEM_FIELDS,
    SCALAR_VALUES,
    SCALARS,
    Facts,
    suggest,
)
from .patient import Quantity
from .trial import CriterionSpec, RuleFile, TrialMeta
from .units import analytes, parse_unit
from .wording import describe_items

__all__ = ["Criterion", "RuleSet", "Trial", "default_rules_dir", "load_rule_file", "load_rules"]

KIND_KEYS = ("all", "any", "not", "quantity", "fact", "expr", "histology", "exists", "review",
             "recorded", "any_recorded", "evidence")
EXTRA_KEYS: dict[str, set[str]] = {
    "all": set(), "any": set(), "not": set(), "expr": set(), "review": {"within_days"},
    "histology": set(),
    "quantity": {"op", "value", "unit", "uln", "is", "within_days", "recency"},
    "fact": {"is", "in"},
    "exists": {"where", "within", "current", "label"},
    "recorded": {"within_days", "recency"}, "any_recorded": {"otherwise"},
    "evidence": {"rule_out"},
}
OPS = ("<", "<=", ">", ">=", "==", "!=")


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
    sha256: str
    contexts: tuple[EvalContext, ...] = field(init=False, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.meta.id

    def __post_init__(self) -> None:
        # one evaluation context per criterion, made once
        object.__setattr__(self, "contexts", tuple(self.context(c.id) for c in self.criteria))

    def context(self, criterion_id: str) -> EvalContext:
        m = self.meta
        return EvalContext(m.id, criterion_id, m.lab_max_age_days,
                           m.attestation_max_age_days or ATTESTATION_MAX_AGE_DAYS)

    def evaluate(self, facts: Facts, *, explain: bool = True) -> TrialResult:
        """Every criterion's status and the verdict.  With ``explain=False`` (batch screening)
        the explanations are left empty and never built; statuses and verdicts are the same."""
        results = []
        for c, ctx in zip(self.criteria, self.contexts, strict=True):
            out = c.node.evaluate(facts, ctx)
            status = status_of(c.spec.kind, out.value)
            text = ""
            if explain:
                text = out.text
                if c.spec.kind == "exclusion" and out.value is not None:
                    lead = "exclusion applies: " if out.value else "exclusion does not apply: "
                    text = lead + text
            results.append(CriterionResult(c.id, c.spec.kind, status, c.spec.text,
                                           text, out.missing, out.review))
        return summarise(self.meta, results)


def summarise(meta: TrialMeta, results: list[CriterionResult]) -> TrialResult:
    fails = [r.id for r in results if r.status == "fail"]
    unknown = [r for r in results if r.status == "unknown"]
    missing = tuple(dict.fromkeys(m for r in unknown for m in r.missing))
    review = tuple(dict.fromkeys(f"{r.id}: {x}" for r in unknown for x in r.review))
    if fails:
        verdict, reason = "ineligible", "fails " + ", ".join(fails)
    elif unknown:
        verdict = "undetermined"
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if review:
            parts.append("clinician review of " + ", ".join(
                dict.fromkeys(r.id for r in unknown if r.review)))
        reason = "; ".join(parts) or "unknown: " + ", ".join(r.id for r in unknown)
    else:
        verdict, reason = "eligible", f"all {len(results)} criteria pass"
    return TrialResult(meta.id, meta.title, verdict, tuple(results), reason,  # type: ignore[arg-type]
                       missing, review)


@dataclass(frozen=True)
class RuleSet:
    trials: tuple[Trial, ...]
    directory: str

    @property
    def sha256(self) -> str:
        h = hashlib.sha256()
        for t in sorted(self.trials, key=lambda t: t.id):
            h.update(t.id.encode() + b"\0" + t.sha256.encode() + b"\0")
        return h.hexdigest()

    def get(self, trial_id: str) -> Trial:
        from .errors import UnknownTrialError

        for t in self.trials:
            if t.id == trial_id or t.meta.registry_id == trial_id:
                return t
        ids = [t.id for t in self.trials]
        close = difflib.get_close_matches(trial_id, ids, n=1)
        raise UnknownTrialError(trial_id, ids, close[0] if close else None)


# ---------------------------------------------------------------------------- loading

def default_rules_dir() -> Path:
    """The project's own rules: shipped inside the package, or the checkout's ``rules/``."""
    packaged = resources.files("eligimatch").joinpath("rules")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "rules"


def rule_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise RuleFileError(str(directory), [("", "not a directory of rule files")])
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise RuleFileError(str(directory), [("", "no rule files (*.toml) found")])
    return files


def load_rules(directory: Path | None = None) -> RuleSet:
    """Load every ``*.toml`` in ``directory``; raise on the first broken file."""
    d = directory or default_rules_dir()
    trials = [load_rule_file(p) for p in rule_files(d)]
    seen: dict[str, str] = {}
    for t in trials:
        if t.id in seen:
            raise RuleFileError(t.path, [("trial.id", f"{t.id!r} is also defined in {seen[t.id]}")])
        seen[t.id] = t.path
    return RuleSet(tuple(trials), str(d))


def load_rule_file(path: Path) -> Trial:
    """Load, validate and compile one rule file; raise :class:`RuleFileError` with every problem."""
    from .jsonin import TooLarge, max_input_bytes, read_bytes

    try:
        data = read_bytes(path, max_input_bytes())
    except TooLarge as exc:
        raise RuleFileError(str(path), [("", str(exc))]) from None
    except OSError as exc:
        raise RuleFileError(str(path), [("", f"cannot read: {exc.strerror or exc}")]) from None
    problems: list[tuple[str, str]] = []
    trial = _compile_file(path, data, problems)
    if problems or trial is None:
        raise RuleFileError(str(path), problems)
    return trial


def _compile_file(path: Path, data: bytes, problems: list[tuple[str, str]]) -> Trial | None:
    from . import tomlin

    raw, refused = tomlin.parse(data)   # bounded: nesting depth, number magnitudes
    if raw is None:
        problems.extend(refused)
        return None
    try:    # strict: TOML has types, so "30" for a number of days is an error, not a guess
        model = RuleFile.model_validate(raw, strict=True)
    except ValidationError as exc:
        problems.extend((_loc(err["loc"], raw), err["msg"]) for err in exc.errors())
        return None
    ids: dict[str, int] = {}
    criteria = []
    for c in model.criteria:
        for name in (c.id, *c.aliases):
            ids[name] = ids.get(name, 0) + 1
        criteria.append(_compile_criterion(c, problems))
    problems.extend((f"criteria[{name}].id", f"duplicate criterion id {name!r}")
                    for name, n in ids.items() if n > 1)
    return Trial(model.trial, tuple(criteria), str(path), hashlib.sha256(data).hexdigest())


def _loc(loc: tuple[Any, ...], raw: Any) -> str:
    parts: list[str] = []
    node = raw
    for p in loc:
        if isinstance(p, int) and isinstance(node, list) and p < len(node):
            item = node[p]
            label = item.get("id") if isinstance(item, dict) else None
            parts[-1:] = [f"{parts[-1] if parts else ''}[{label or p}]"]
            node = item
        else:
            parts.append(str(p))
            node = node.get(p) if isinstance(node, dict) else None
    return ".".join(parts)


# ---------------------------------------------------------------------------- compiling

def _compile_criterion(spec: CriterionSpec, problems: list[tuple[str, str]]) -> Criterion:
    where = f"criteria[{spec.id}].logic"
    node = _node(spec.logic, where, problems)
    return Criterion(spec, node, _has_review(node))


def _has_review(node: Node) -> bool:
    if isinstance(node, Review):
        return True
    if isinstance(node, All | Any_):
        return any(_has_review(c) for c in node.children)
    if isinstance(node, Not):
        return _has_review(node.child)
    if isinstance(node, AnyRecorded):
        return node.otherwise is not None and _has_review(node.otherwise)
    return False


class _Bad(Node):
    """Placeholder for a node that failed to compile (only seen while collecting problems)."""


def _node(raw: Any, where: str, problems: list[tuple[str, str]]) -> Node:
    if not isinstance(raw, dict):
        problems.append((where, "a logic node must be a table"))
        return _Bad()
    kinds = [k for k in KIND_KEYS if k in raw]
    if len(kinds) != 1:
        problems.append((where, f"a logic node needs exactly one of {', '.join(KIND_KEYS)}; "
                                f"got {', '.join(sorted(raw)) or 'nothing'}"))
        return _Bad()
    kind = kinds[0]
    extra = set(raw) - {kind} - EXTRA_KEYS[kind]
    if extra:
        problems.append((f"{where}.{sorted(extra)[0]}",
                         f"unknown key for a {kind!r} node{suggest(sorted(extra)[0], EXTRA_KEYS[kind])}"))
        return _Bad()
    return _BUILDERS[kind](raw, f"{where}.{kind}", problems)


def _children(raw: Any, where: str, problems: list[tuple[str, str]]) -> tuple[Node, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append((where, "expected a non-empty list of logic nodes"))
        return ()
    return tuple(_node(r, f"{where}[{i}]", problems) for i, r in enumerate(raw))


def _build_all(raw: dict[str, Any], where: str, problems: list[tuple[str, str]]) -> Node:
    return All(_children(raw["all"], where, problems))


def _build_any(raw: dict[str, Any], where: str, problems: list[tuple[str, str]]) -> Node:
    return Any_(_children(raw["any"], where, problems))


def _build_not(raw: dict[str, Any], where: str, problems: list[tuple[str, str]]) -> Node:
    return Not(_node(raw["not"], where, problems))


def _decimal(raw: Any, where: str, problems: list[tuple[str, str]]) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | str):
        problems.append((where, f"expected a number, got {raw!r}"))
        return None
    try:
        d = Decimal(str(raw))
    except ArithmeticError:
        problems.append((where, f"expected a number, got {raw!r}"))
        return None
    if not d.is_finite():
        problems.append((where, "must be a finite number"))
        return None
    if d and not -30 <= d.adjusted() <= 30:  # exact arithmetic on 1e-999999999 never ends
        problems.append((where, f"{raw!r} is out of range (10⁻³⁰ to 10³⁰)"))
        return None
    return d


def _build_quantity(raw: dict[str, Any], where: str, problems: list[tuple[str, str]]) -> Node:
    key = raw["quantity"]
    catalogue = analytes()
    if not isinstance(key, str) or key not in catalogue:
        problems.append((where, f"unknown quantity {key!r}{suggest(str(key), catalogue)}"))
        return _Bad()
    a = catalogue[key]
    base = where.rsplit(".", 1)[0]
    within = raw.get("within_days")
    if within is not None and (isinstance(within, bool) or not isinstance(within, int)
                               or within < 0):
        problems.append((f"{base}.within_days", "expected a whole number of days"))
        return _Bad()
    recency = raw.get("recency", "default")
    if recency not in ("default", "none"):
        problems.append((f"{base}.recency", "expected 'default' or 'none'"))
        return _Bad()
    if a.kind == "qualitative":
        vals = raw.get("is")
        vals = [vals] if isinstance(vals, str) else vals
        if not vals or any(v not in a.values for v in vals) or set(raw) - {
                "quantity", "is", "within_days", "recency"}:
            problems.append((f"{base}.is", f"{a.name} is qualitative: give is = one of "
                                           f"{', '.join(a.values)}"))
            return _Bad()
        return Qualitative(a, tuple(vals), within, recency == "default")
    op = raw.get("op")
    if op not in OPS:
        problems.append((f"{base}.op", f"expected one of {' '.join(OPS)}, got {op!r}"))
        return _Bad()
    if "is" in raw:
        problems.append((f"{base}.is", f"'is' is for qualitative results; {a.name} is {a.kind}"))
        return _Bad()
    if a.kind == "ordinal":
        v = raw.get("value")
        if v not in a.scale or "unit" in raw or "uln" in raw:
            problems.append((f"{base}.value", f"{a.name} is graded: value must be one of "
                                              f"{', '.join(a.scale)}"))
            return _Bad()
        return CompareNode(a, op, ordinal=v, within_days=within,
                           default_recency=recency == "default")
    if "uln" in raw:
        if "value" in raw or "unit" in raw:
            problems.append((f"{base}.uln", "give either uln = k or value and unit, not both"))
            return _Bad()
        k = _decimal(raw["uln"], f"{base}.uln", problems)
        if k is None:
            return _Bad()
        if a.uln_band is None and a.source != "lab":
            problems.append((f"{base}.uln", f"{a.name} has no upper limit of normal"))
            return _Bad()
        return CompareNode(a, op, uln_multiple=k, within_days=within,
                           default_recency=recency == "default")
    if "value" not in raw:
        problems.append((base, "a quantity comparison needs value (and unit) or uln"))
        return _Bad()
    value = _decimal(raw["value"], f"{base}.value", problems)
    if value is None:
        return _Bad()
    assert a.unit is not None
    unit_text = raw.get("unit")
    if unit_text is None:
        if a.unit.dimensionality != analytes()["ecog"].unit.dimensionality:  # type: ignore[union-attr]
            problems.append((f"{base}.unit", f"a threshold for {a.name} needs a unit "
                                             f"(e.g. {a.unit.text})"))
            return _Bad()
        unit_text = a.unit.text
    try:
        threshold = a.to_canonical(value, a.unit_for(str(unit_text)))
    except UnitError as exc:
        problems.append((f"{base}.unit", str(exc)))
        return _Bad()
    return CompareNode(a, op, threshold=threshold, within_days=within,
                       default_recency=recency == "default")


def _build_fact(raw: dict[str, Any], where: str, problems: list[tuple[str, str]]) -> Node:
    name = raw["fact"]
    if not isinstance(name, str) or name not in SCALARS:
        problems.append((where, f"unknown fact {name!r}{suggest(str(name), SCALARS)}"))
        return _Bad()
    typ, desc = SCALARS[name]
    base = where.rsplit(".", 1)[0]
    if ("is" in raw) == ("in" in raw):
        problems.append((base, "a fact node needs exactly one of is = value or in = [values]"))
        return _Bad()
    vals = [raw["is"]] if "is" in raw else raw["in"]
    if not isinstance(vals, list) or not vals:
        problems.append((f"{base}.in", "expected a non-empty list"))
        return _Bad()
    for v in vals:
        if typ == "boolean" and not isinstance(v, bool):
            problems.append((base, f"{name} is true or false, got {v!r}"))
            return _Bad()
        if typ == "string" and name in SCALAR_VALUES and v not in SCALAR_VALUES[name]:
            allowed = SCALAR_VALUES[name]
            problems.append((base, f"{v!r} is not a value of {name} (one of "
                                   f"{', '.join(allowed)}){suggest(str(v), allowed)}"))
            return _Bad()
    return FactIs(name, desc, tuple(vals))


@cache
def _rule_context() -> Any:
    import rule_engine

    types: dict[str, Any] = {}
    for name, (typ, _) in SCALARS.items():
        types[name] = rule_engine.DataType.BOOLEAN if typ == "boolean" else rule_engine.DataType.STRING
    for key, a in analytes().items():
        if a.kind == "quantity":
            types[key] = rule_engine.DataType.FLOAT
    # mapping_attribute_lookup=False: `{...}.name` is an error now, as it will be in rule-engine 6
    return rule_engine.Context(type_resolver=rule_engine.type_resolver_from_dict(types),
                               mapping_attribute_lookup=False)


def _symbols_of(node: Any, out: set[str], builtins: set[str]) -> None:
    import rule_engine.ast as ast

    if isinstance(node, ast.SymbolExpression):
        (builtins if node.scope else out).add(node.name)
    for attr in ("left", "right", "expression", "condition", "case_true", "case_false",
                 "container", "member", "context", "statement", "resolve_object", "value"):
        child = getattr(node, attr, None)
        if isinstance(child, ast.ExpressionBase | ast.Statement):
            _symbols_of(child, out, builtins)
    value = getattr(node, "value", None)
    if isinstance(value, tuple | list):
        for v in value:
            if isinstance(v, ast.ExpressionBase):
                _symbols_of(v, out, builtins)


# rule-engine's string literals (optionally prefixed), comments, and its regex operators
_EXPR_TOKENS = re.compile(r"""[a-z]?(["'])(?:[^\\\n]|\\.)*?\1|\#.*$|(=~~?|!~~?)""", re.M)


def _regex_operator(text: str) -> str | None:
    """The first of ``=~ =~~ !~ !~~`` in an expression (outside strings and comments)."""
    for m in _EXPR_TOKENS.finditer(text):
        if m.group(2):
            return m.group(2)
    return None


def _build_expr(raw: dict[str, Any], where: str, problems: list[tuple[str, str]]) -> Node:
    text = raw["expr"]
    if not isinstance(text, str) or not text.strip():
        problems.append((where, "expected a rule-engine expression string"))
        return _Bad()
    if text.strip() in ("true", "false"):  # a constant needs no rule-engine (nor its import)
        return Constant(text.strip() == "true")
    import rule_engine

    regex = _regex_operator(text)
    if regex is not None:   # rule-engine evaluates constant parts while parsing: a
        # catastrophic pattern ('aaaa…!' =~ '^(a+)+$') would hang loading
        problems.append((where, f"the regular-expression operator {regex!r} is not allowed "
                                f"(no criterion needs one; a pattern can take unbounded time) "
                                f"in {text!r}"))
        return _Bad()
    try:
        rule = rule_engine.Rule(text, context=_rule_context())
    except rule_engine.SymbolResolutionError as exc:
        hint = f"; did you mean {exc.suggestion!r}?" if getattr(exc, "suggestion", None) else ""
        problems.append((where, f"unknown symbol {exc.symbol_name!r}{hint}"))
        return _Bad()
    except rule_engine.RuleSyntaxError as exc:
        tok = getattr(exc, "token", None)
        pos = getattr(tok, "lexpos", None)
        caret = f" at column {pos + 1}: {text!r}" if pos is not None else f" in {text!r}"
        problems.append((where, f"syntax error{caret}"))
        return _Bad()
    except rule_engine.EngineError as exc:
        problems.append((where, f"{exc.message if hasattr(exc, 'message') else exc} in {text!r}"))
        return _Bad()
    names: set[str] = set()
    builtins: set[str] = set()
    _symbols_of(rule.statement, names, builtins)
    if builtins:
        problems.append((where, f"built-in symbols ({', '.join(sorted('$' + b for b in builtins))})"
                                " are not allowed: rules never read the clock"))
        return _Bad()
    return Expr(text, rule, tuple(sorted(names)))


def _build_review(raw: dict[str, Any], where: str, problems: list[tuple[str, str]]) -> Node:
    reason = raw["review"]
    if not isinstance(reason, str) or not reason.strip():
        problems.append((where, "expected the question the clinician must answer"))
        return _Bad()
    within = raw.get("within_days")
    if within is not None and (isinstance(within, bool) or not isinstance(within, int)
                               or not 0 <= within <= 3650):
        problems.append((f"{where.rsplit('.', 1)[0]}.within_days",
                         "expected a whole number of days (how old an answer may be)"))
        return _Bad()
    return Review(reason.strip(), within)


def _build_histology(raw: dict[str, Any], where: str, problems: list[tuple[str, str]]) -> Node:
    from .ontology import oncotree

    spec = raw["histology"]
    if (not isinstance(spec, dict) or set(spec) - {"include", "exclude", "review", "review_exact"}
            or not set(spec) - {"review_exact"}):
        problems.append((where, "expected a table with include, exclude and/or review lists "
                                "(and optionally review_exact)"))
        return _Bad()
    tree = oncotree()

    def codes_of(key: str) -> list[str] | None:
        """The list under ``key``, every entry an OncoTree code; None after a problem."""
        codes = spec.get(key, [])
        if not isinstance(codes, list):
            problems.append((f"{where}.{key}", "expected a list of OncoTree codes"))
            return None
        for code in codes:
            if code not in tree:
                problems.append((f"{where}.{key}", f"{code!r} is not an OncoTree code"
                                                   f"{suggest(str(code), tree.nodes)}"))
                return None
        return codes

    listed: dict[str, str] = {}
    for verdict in ("include", "exclude", "review"):
        codes = codes_of(verdict)
        if codes is None:
            return _Bad()
        for code in codes:
            if code in listed:
                problems.append((f"{where}.{verdict}", f"{code!r} is listed twice"))
                return _Bad()
            listed[code] = verdict
    exact = codes_of("review_exact")
    if exact is None:
        return _Bad()
    return Histology(listed, review_exact=frozenset(exact))


def _field_info(model: type[BaseModel], collection: str) -> dict[str, tuple[Any, ...] | type]:
    """field name → allowed literal values (tuple) or a python type."""
    out: dict[str, tuple[Any, ...] | type] = {}
    for name, f in model.model_fields.items():
        ann = f.annotation
        out[name] = _allowed(ann)
    for name, typ in DERIVED_ITEM_FIELDS.get(collection, {}).items():
        out[name] = typ
    return out


def _allowed(ann: Any) -> tuple[Any, ...] | type:
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Literal:
        return args
    if origin in (list,) and args:
        return _allowed(args[0])
    if args:  # Optional[X] / X | None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _allowed(non_none[0])
    return ann if isinstance(ann, type) else object


def _build_exists(raw: dict[str, Any], where: str, problems: list[tuple[str, str]]) -> Node:
    name = raw["exists"]
    base = where.rsplit(".", 1)[0]
    if not isinstance(name, str) or name not in COLLECTIONS:
        problems.append((where, f"unknown collection {name!r}{suggest(str(name), COLLECTIONS)}"))
        return _Bad()
    model, dated = COLLECTIONS[name]
    fields = _field_info(model, name)
    matches: list[Match | FieldTest] = []
    spec = raw.get("where", {})
    if not isinstance(spec, dict):
        problems.append((f"{base}.where", "expected a table of field = value"))
        return _Bad()
    for fname, want in spec.items():
        fwhere = f"{base}.where.{fname}"
        if _is_where_extension(fname, want, fields.get(fname)):
            extra = _where_extension(name, fname, want, fields, fwhere, problems)
            if extra is None:
                return _Bad()
            matches.extend(extra)
            continue
        if fname not in fields:
            problems.append((fwhere, f"{name} have no field {fname!r}{suggest(fname, fields)}"))
            return _Bad()
        m = _match(fname, want, fields[fname], fwhere, problems)
        if m is None:
            return _Bad()
        matches.append(m)
    window = None
    if "within" in raw:
        if not dated:
            problems.append((f"{base}.within", f"{name} carry no dates"))
            return _Bad()
        try:
            window = parse_duration(raw["within"])
        except DurationError as exc:
            problems.append((f"{base}.within", str(exc)))
            return _Bad()
    current = raw.get("current", False)
    if not isinstance(current, bool) or (current and window is not None) or (
            current and not dated):
        problems.append((f"{base}.current", "expected true or false, without 'within', on a "
                                            "dated collection"))
        return _Bad()
    label = raw.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        problems.append((f"{base}.label", "expected a short description of what is looked for"))
        return _Bad()
    desc = label.strip() if label else describe_items(name, matches)
    return Exists(name, tuple(matches), window, desc, current)


def _match(fname: str, want: Any, allowed: tuple[Any, ...] | type, where: str,
           problems: list[tuple[str, str]]) -> Match | None:
    kind = "in"
    if isinstance(want, dict):
        if set(want) == {"not"}:
            kind, want = "not_in", want["not"]
        elif set(want) == {"op", "value"} and want["op"] in OPS:
            number = _decimal(want["value"], f"{where}.value", problems)
            if number is None:
                return None
            if allowed not in (int, Decimal):
                problems.append((where, f"{fname} is not a number"))
                return None
            return Match(fname, "compare", op=want["op"], number=number)
        else:
            problems.append((where, "expected a value, a list, {not = ...} or {op, value}"))
            return None
    values = want if isinstance(want, list) else [want]
    if not values:
        problems.append((where, "expected at least one value"))
        return None
    for v in values:
        if isinstance(allowed, tuple):
            if v not in allowed:
                problems.append((where, f"{v!r} is not a value of {fname} (one of "
                                        f"{', '.join(map(str, allowed))})"
                                        f"{suggest(str(v), map(str, allowed))}"))
                return None
        elif allowed is bool and not isinstance(v, bool):
            problems.append((where, f"{fname} is true or false, got {v!r}"))
            return None
        elif allowed is str and not isinstance(v, str):
            problems.append((where, f"{fname} is text, got {v!r}"))
            return None
    if allowed is str:
        return Match(fname, kind, tuple(v.lower() for v in values),  # type: ignore[arg-type]
                     casefold=True)
    return Match(fname, kind, tuple(values))  # type: ignore[arg-type]


_BUILDERS = {
    "all": _build_all, "any": _build_any, "not": _build_not, "quantity": _build_quantity,
    "fact": _build_fact, "expr": _build_expr, "histology": _build_histology,
    "exists": _build_exists, "review": _build_review,
}


# ---------------------------------------------------------------------------- check

def check_rules(paths: Iterable[Path], warnings: list[str] | None = None) -> list[str]:
    """Every problem in the given rule files, examples included, one line each.  Criteria
    still marked ``draft`` (``eligimatch draft``) are not problems: one warning line per file
    is appended to ``warnings`` when given."""
    from .api import parse_patient
    from .facts import build_facts
    from .jsonin import exact_json

    lines: list[str] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            trial = load_rule_file(path)
        except RuleFileError as exc:
            lines.extend(f"{path}: {f}: {m}" if f else f"{path}: {m}" for f, m in exc.problems)
            continue
        if trial.id in seen:
            lines.append(f"{path}: trial.id: {trial.id!r} is also defined in {seen[trial.id]}")
        seen[trial.id] = str(path)
        drafts = [c.id for c in trial.criteria if c.spec.draft is not None]
        if drafts and warnings is not None:
            warnings.append(f"{path}: warning: {len(drafts)} of {len(trial.criteria)} criteria "
                            f"are drafts, not yet reviewed: {', '.join(drafts)}")
        for c in trial.criteria:
            for i, ex in enumerate(c.spec.examples):
                where = f"{path}: criteria[{c.id}].examples[{i}]"
                try:
                    # read strictly, as a patient file is: no "1200" for a number, no 0
                    # for false
                    patient = parse_patient(exact_json({"id": f"example-{c.id}-{i}",
                                                        **ex.patient}), f"{where}.patient")
                except EligimatchError as exc:
                    lines.append(str(exc))
                    continue
                try:
                    facts = build_facts(patient, ex.as_of, where)
                except EligimatchError as exc:
                    lines.append(str(exc))
                    continue
                out = c.node.evaluate(facts, trial.context(c.id))
                got = status_of(c.spec.kind, out.value)
                if got != ex.expect:
                    lines.append(f"{where}: expected {ex.expect}, got {got} ({out.text})")
                elif ex.explanation_contains and ex.explanation_contains not in out.text:
                    lines.append(f"{where}: explanation lacks {ex.explanation_contains!r}: "
                                 f"{out.text}")
    return lines


# ============================================================================ vocabulary additions
# Additions for issue 3 (documented in docs/rule-vocabulary.md, tested in
# tests/test_engine_additions.py).  `where` gains item-aware tests; two node kinds are added.

Problems = list[tuple[str, str]]
_WHERE_FORMS = {"unit", "ref", "under", "not_under"}
_DATE_REFS = ("start", "end", "as_of")


def _is_where_extension(fname: str, want: Any, allowed: Any) -> bool:
    """Is this `where` entry one of the added forms (handled by :func:`_where_extension`)?"""
    if fname == "any":
        return True
    if isinstance(want, dict):
        return set(want) != {"not"} and (bool(_WHERE_FORMS & set(want))
                                         or allowed is Quantity or allowed is date)
    return isinstance(want, list) and bool(want) and all(isinstance(w, dict) for w in want)


def _where_extension(collection: str, fname: str, want: Any,
                     fields: dict[str, tuple[Any, ...] | type], where: str,
                     problems: Problems) -> list[FieldTest] | None:
    if fname == "any":
        return _where_any(collection, want, fields, where, problems)
    if fname not in fields:
        problems.append((where, f"{collection} have no field {fname!r}{suggest(fname, fields)}"))
        return None
    allowed = fields[fname]
    tables = want if isinstance(want, list) else [want]
    out: list[FieldTest] = []
    for i, t in enumerate(tables):
        w = f"{where}[{i}]" if isinstance(want, list) else where
        m: FieldTest | None
        if not isinstance(t, dict):
            problems.append((w, "expected a table"))
            return None
        if "under" in t or "not_under" in t:
            m = _where_oncotree(collection, fname, t, w, problems)
        elif "ref" in t or allowed is date:
            m = _where_date(collection, fname, t, allowed, w, problems)
        elif "unit" in t or allowed is Quantity:
            m = _where_quantity(collection, fname, t, allowed, w, problems)
        else:
            problems.append((w, "expected {op, value, unit}, {op, ref, plus | minus} or "
                                "{under | not_under = [codes]}"))
            return None
        if m is None:
            return None
        out.append(m)
    return out


def _where_any(collection: str, want: Any, fields: dict[str, tuple[Any, ...] | type],
               where: str, problems: Problems) -> list[FieldTest] | None:
    if not isinstance(want, list) or not want or not all(isinstance(t, dict) and t for t in want):
        problems.append((where, "any = [...] takes a non-empty list of non-empty tables of "
                                "field tests"))
        return None
    alternatives = []
    for i, table in enumerate(want):
        alt: list[Match | FieldTest] = []
        for fname, value in table.items():
            fwhere = f"{where}[{i}].{fname}"
            if _is_where_extension(fname, value, fields.get(fname)):
                extra = _where_extension(collection, fname, value, fields, fwhere, problems)
                if extra is None:
                    return None
                alt.extend(extra)
                continue
            if fname not in fields:
                problems.append((fwhere, f"{collection} have no field {fname!r}"
                                         f"{suggest(fname, fields)}"))
                return None
            m = _match(fname, value, fields[fname], fwhere, problems)
            if m is None:
                return None
            alt.append(m)
        alternatives.append(tuple(alt))
    return [AnyOfFieldTest(tuple(alternatives))]


def _where_quantity(collection: str, fname: str, t: dict[str, Any], allowed: Any, where: str,
                    problems: Problems) -> FieldTest | None:
    ref_unit = ITEM_QUANTITY_UNITS.get(collection, {}).get(fname)
    if allowed is not Quantity or ref_unit is None:
        problems.append((where, f"{fname} of {collection} is not a quantity with a unit"))
        return None
    if set(t) != {"op", "value", "unit"}:
        problems.append((where, f"compare {fname} as {{ op, value, unit }}, e.g. unit = "
                                f"{ref_unit!r}; got {', '.join(sorted(t))}"))
        return None
    if t["op"] not in OPS:
        problems.append((f"{where}.op", f"expected one of {' '.join(OPS)}, got {t['op']!r}"))
        return None
    number = _decimal(t["value"], f"{where}.value", problems)
    if number is None:
        return None
    try:
        spec = parse_unit(str(t["unit"]))
    except UnitError as exc:
        problems.append((f"{where}.unit", str(exc)))
        return None
    if spec.dimensionality != parse_unit(ref_unit).dimensionality:
        problems.append((f"{where}.unit", f"{t['unit']!r} is not a unit of {fname} (expected a "
                                          f"unit like {ref_unit})"))
        return None
    return QuantityFieldTest(fname, t["op"], number, spec)


def _where_date(collection: str, fname: str, t: dict[str, Any], allowed: Any, where: str,
                problems: Problems) -> FieldTest | None:
    if allowed is not date:
        problems.append((where, f"{fname} of {collection} is not a date"))
        return None
    extra = set(t) - {"op", "ref", "plus", "minus"}
    if extra or "op" not in t or "ref" not in t:
        problems.append((where, f"compare the date {fname} as {{ op, ref, plus | minus }}; got "
                                f"{', '.join(sorted(t))}"))
        return None
    if t["op"] not in OPS:
        problems.append((f"{where}.op", f"expected one of {' '.join(OPS)}, got {t['op']!r}"))
        return None
    ref = t["ref"]
    if ref not in _DATE_REFS:
        problems.append((f"{where}.ref", f"expected 'start' or 'end' (the item's own period) or "
                                         f"'as_of' (the evaluation date), got {ref!r}"))
        return None
    if ref != "as_of" and not COLLECTIONS[collection][1]:
        problems.append((f"{where}.ref", f"{collection} carry no dates"))
        return None
    if "plus" in t and "minus" in t:
        problems.append((where, "give plus or minus, not both"))
        return None
    key = "plus" if "plus" in t else "minus" if "minus" in t else None
    offset = None
    if key is not None:
        try:
            offset = parse_duration(t[key])
        except DurationError as exc:
            problems.append((f"{where}.{key}", str(exc)))
            return None
    return DateFieldTest(fname, t["op"], ref, offset, -1 if key == "minus" else 1)


def _where_oncotree(collection: str, fname: str, t: dict[str, Any], where: str,
                    problems: Problems) -> FieldTest | None:
    from .ontology import oncotree

    if fname not in ONCOTREE_ITEM_FIELDS.get(collection, ()):
        problems.append((where, f"{fname} of {collection} does not hold OncoTree codes"))
        return None
    if set(t) not in ({"under"}, {"not_under"}):
        problems.append((where, "give under = [codes] or not_under = [codes]"))
        return None
    key = "under" if "under" in t else "not_under"
    codes = t[key]
    if not isinstance(codes, list) or not codes:
        problems.append((f"{where}.{key}", "expected a non-empty list of OncoTree codes"))
        return None
    tree = oncotree()
    for code in codes:
        if not isinstance(code, str) or code not in tree:
            problems.append((f"{where}.{key}", f"{code!r} is not an OncoTree code"
                                               f"{suggest(str(code), tree.nodes)}"))
            return None
    return OncoTreeFieldTest(fname, tuple(codes), negate=key == "not_under")


def _recency(raw: dict[str, Any], base: str, problems: Problems) -> tuple[int | None, bool] | None:
    within = raw.get("within_days")
    if within is not None and (isinstance(within, bool) or not isinstance(within, int)
                               or within < 0):
        problems.append((f"{base}.within_days", "expected a whole number of days"))
        return None
    recency = raw.get("recency", "default")
    if recency not in ("default", "none"):
        problems.append((f"{base}.recency", "expected 'default' or 'none'"))
        return None
    return within, recency == "default"


def _build_recorded(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    key = raw["recorded"]
    catalogue = analytes()
    if not isinstance(key, str) or key not in catalogue:
        problems.append((where, f"unknown quantity {key!r}{suggest(str(key), catalogue)}"))
        return _Bad()
    recency = _recency(raw, where.rsplit(".", 1)[0], problems)
    if recency is None:
        return _Bad()
    return Recorded(catalogue[key], *recency)


def _build_any_recorded(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    children = _children(raw["any_recorded"], where, problems)
    if not children or any(isinstance(c, _Bad) for c in children):
        return _Bad()
    comparisons: list[CompareNode | Qualitative] = []
    for i, c in enumerate(children):
        if not isinstance(c, CompareNode | Qualitative):
            problems.append((f"{where}[{i}]", "any_recorded takes quantity comparisons only"))
            return _Bad()
        comparisons.append(c)
    otherwise = None
    if "otherwise" in raw:
        otherwise = _node(raw["otherwise"], f"{where.rsplit('.', 1)[0]}.otherwise", problems)
    return AnyRecorded(tuple(comparisons), otherwise)


def _build_evidence(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    from .evidence import concepts

    key = raw["evidence"]
    known = concepts()
    if not isinstance(key, str) or key not in known:
        problems.append((where, f"unknown evidence concept {key!r}{suggest(str(key), known)} "
                                f"(one of {', '.join(known)}; see data/evidence.toml)"))
        return _Bad()
    rule_out = raw.get("rule_out", "record")
    if rule_out not in ("record", "test"):
        problems.append((f"{where.rsplit('.', 1)[0]}.rule_out",
                         "expected 'record' (a recorded problem list without it rules it out) or "
                         "'test' (only a recent negative test does)"))
        return _Bad()
    return Evidence(known[key], rule_out)


_BUILDERS.update({"recorded": _build_recorded, "any_recorded": _build_any_recorded,
                  "evidence": _build_evidence})
