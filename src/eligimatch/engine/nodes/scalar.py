"""Scalar facts and expressions: ``fact``, ``expr`` (rule-engine), constants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from ...facts import Facts
from ...units import analytes, format_number
from ...vocabulary import SCALAR_VALUES, SCALARS, suggest
from ..core import Outcome, Truth, recency_limit, stale, unknown
from .base import Bad, EvalContext, Example, Node, NodeKind, Problems

if TYPE_CHECKING:
    from ..columns import Chunk, Codes


@dataclass(frozen=True)
class FactIs(Node):
    """A recorded scalar fact is one of the given values."""

    name: str
    description: str
    values: tuple[Any, ...]

    context_free = True

    def symbols(self) -> set[str]:
        return {self.name}

    def status(self, facts: Facts, ctx: EvalContext) -> Truth:
        v = facts.scalars.get(self.name)
        return None if v is None else v in self.values

    def columns(self, chunk: Chunk, ctx: EvalContext) -> Codes:
        return chunk.by_scalar(self.name, lambda f: self.status(f, ctx), self)

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        v = facts.scalars.get(self.name)
        if v is None:
            return unknown(f"{self.description} not recorded", missing=[self.description])
        shown = {True: "yes", False: "no"}.get(v, v) if isinstance(v, bool) else v
        return Outcome(v in self.values, lambda: f"{self.description}: {shown}")


@dataclass(frozen=True)
class Constant(Node):
    """``{ expr = "true" }`` / ``{ expr = "false" }``: a fixed answer (e.g. the ``otherwise`` of
    an ``any_recorded`` whose absence of a result should decide nothing)."""

    value: bool

    context_free = True

    def status(self, facts: Facts, ctx: EvalContext) -> Truth:
        return self.value

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        return Outcome(self.value, "")


@dataclass(frozen=True)
class Expr(Node):
    """A rule-engine expression over scalar facts and quantities (canonical units).

    Unknown when any symbol it reads is not recorded; rule-engine itself has no unknown.
    """

    source: str
    rule: Any
    names: tuple[str, ...]

    def symbols(self) -> set[str]:
        return set(self.names)

    def share_key(self, ctx: EvalContext, attested: bool) -> Any:
        # the compiled rule compares by identity; quantities age by the trial's lab window
        return (type(self), self.source, self.names, ctx.lab_max_age_days)

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        values: dict[str, Any] = {}
        missing = []
        for n in self.names:
            if n in SCALARS:
                v = facts.scalars.get(n)
            else:
                q = facts.quantity(n)
                a = analytes()[n]
                limit = recency_limit(a, None, True, ctx.lab_max_age_days)
                if q is not None and stale(q.date, facts.as_of, limit):  # every fact ages
                    missing.append(f"recent {a.short} (within {limit} days)")
                    values[n] = None
                    continue
                v = None if q is None or q.comparator is not None else q.value
                if v is not None:  # rule-engine numbers are Decimals
                    v = Decimal(v.numerator) / Decimal(v.denominator)
            if v is None:
                missing.append(n)
            values[n] = v
        if missing:
            return unknown(f"`{self.source}` needs {', '.join(missing)}", missing=missing)
        import rule_engine  # already loaded: the rule was compiled with it

        try:
            v = bool(self.rule.matches(values))
        except (rule_engine.EngineError, ArithmeticError, TypeError) as exc:
            # e.g. x / 0, "a".to_flt, {}[{}] (a mapping as a key)
            why = f"`{self.source}` cannot be evaluated for these values ({exc})"
            return unknown(why, review=[why])
        shown = ", ".join(
            f"{k}={format_number(x) if isinstance(x, Decimal) else x}" for k, x in values.items()
        )
        return Outcome(v, f"`{self.source}` is {'true' if v else 'false'} ({shown})")


def build_fact(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    name = raw["fact"]
    if not isinstance(name, str) or name not in SCALARS:
        problems.append((where, f"unknown fact {name!r}{suggest(str(name), SCALARS)}"))
        return Bad()
    typ, desc = SCALARS[name]
    base = where.rsplit(".", 1)[0]
    if ("is" in raw) == ("in" in raw):
        problems.append((base, "a fact node needs exactly one of is = value or in = [values]"))
        return Bad()
    vals = [raw["is"]] if "is" in raw else raw["in"]
    if not isinstance(vals, list) or not vals:
        problems.append((f"{base}.in", "expected a non-empty list"))
        return Bad()
    for v in vals:
        if typ == "boolean" and not isinstance(v, bool):
            problems.append((base, f"{name} is true or false, got {v!r}"))
            return Bad()
        if typ == "string" and name in SCALAR_VALUES and v not in SCALAR_VALUES[name]:
            allowed = SCALAR_VALUES[name]
            problems.append(
                (
                    base,
                    f"{v!r} is not a value of {name} (one of {', '.join(allowed)}){suggest(str(v), allowed)}",
                )
            )
            return Bad()
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
    return rule_engine.Context(
        type_resolver=rule_engine.type_resolver_from_dict(types), mapping_attribute_lookup=False
    )


def _symbols_of(node: Any, out: set[str], builtins: set[str]) -> None:
    import rule_engine.ast as ast

    if isinstance(node, ast.SymbolExpression):
        (builtins if node.scope else out).add(node.name)
    for attr in (
        "left",
        "right",
        "expression",
        "condition",
        "case_true",
        "case_false",
        "container",
        "member",
        "context",
        "statement",
        "resolve_object",
        "value",
    ):
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


def build_expr(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    text = raw["expr"]
    if not isinstance(text, str) or not text.strip():
        problems.append((where, "expected a rule-engine expression string"))
        return Bad()
    if text.strip() in ("true", "false"):  # a constant needs no rule-engine (nor its import)
        return Constant(text.strip() == "true")
    import rule_engine

    regex = _regex_operator(text)
    if regex is not None:  # rule-engine evaluates constant parts while parsing: a
        # catastrophic pattern ('aaaa…!' =~ '^(a+)+$') would hang loading
        problems.append(
            (
                where,
                f"the regular-expression operator {regex!r} is not allowed "
                f"(no criterion needs one; a pattern can take unbounded time) "
                f"in {text!r}",
            )
        )
        return Bad()
    try:
        rule = rule_engine.Rule(text, context=_rule_context())
    except rule_engine.SymbolResolutionError as exc:
        hint = f"; did you mean {exc.suggestion!r}?" if getattr(exc, "suggestion", None) else ""
        problems.append((where, f"unknown symbol {exc.symbol_name!r}{hint}"))
        return Bad()
    except rule_engine.RuleSyntaxError as exc:
        tok = getattr(exc, "token", None)
        pos = getattr(tok, "lexpos", None)
        caret = f" at column {pos + 1}: {text!r}" if pos is not None else f" in {text!r}"
        problems.append((where, f"syntax error{caret}"))
        return Bad()
    except rule_engine.EngineError as exc:
        problems.append((where, f"{exc.message if hasattr(exc, 'message') else exc} in {text!r}"))
        return Bad()
    except (TypeError, ArithmeticError) as exc:  # a constant part rule-engine evaluates while
        # parsing, e.g. {}[{}] (a mapping as a key)
        problems.append((where, f"{text!r} cannot be evaluated: {exc}"))
        return Bad()
    names: set[str] = set()
    builtins: set[str] = set()
    _symbols_of(rule.statement, names, builtins)
    if builtins:
        problems.append(
            (
                where,
                f"built-in symbols ({', '.join(sorted('$' + b for b in builtins))})"
                " are not allowed: rules never read the clock",
            )
        )
        return Bad()
    return Expr(text, rule, tuple(sorted(names)))


# ---------------------------------------------------------------------------- docs and examples

_SEX = '{ fact = "sex", is = "female" }'
_GRADE = '{ fact = "grade", in = ["G2", "G3"] }'
_EXPR = '{ expr = "anc >= 1.5 and platelets >= 100" }'


def _labs(**values: float) -> dict[str, Any]:
    return {
        "labs": [{"test": k, "value": v, "unit": "10^9/L", "date": "2026-11-12"} for k, v in values.items()]
    }


KINDS = (
    NodeKind(
        "fact",
        build_fact,
        frozenset({"is", "in"}),
        summary="A scalar fact of the profile — sex, tumour grade, disease status, pregnancy, "
        "consent, ... (derived from the yes/no and closed-choice fields of the patient "
        "format) — is a value or one of several.",
        syntax='`{ fact = "sex", is = "female" }`, `{ fact = "grade", in = ["G2", "G3"] }`; '
        "`is = true` / `false` for a yes/no fact. The fact and its values are checked at "
        "load against the patient format.",
        unknown="Unknown when the fact is not recorded (an absent field); never read as false.",
        examples=(
            Example(_SEX, "true", {"sex": "female"}),
            Example(_SEX, "false", {"sex": "male"}),
            Example(_SEX, "unknown", {}, explains="sex not recorded"),
            Example(_GRADE, "true", {"diagnosis": {"grade": "G3"}}),
            Example(_GRADE, "false", {"diagnosis": {"grade": "G1"}}),
            Example(
                '{ fact = "pregnantt", is = true }',
                error="logic.fact: unknown fact 'pregnantt'; did you mean 'pregnant'?",
            ),
            Example('{ fact = "pregnant", is = "yes" }', error="logic: pregnant is true or false, got 'yes'"),
            Example(
                '{ fact = "grade", is = "G4" }',
                error="logic: 'G4' is not a value of grade (one of G1, G2, G3, GX)",
            ),
            Example('{ fact = "grade", in = [] }', error="logic.in: expected a non-empty list"),
            Example(
                '{ fact = "grade" }',
                error="logic: a fact node needs exactly one of is = value or in = [values]",
            ),
        ),
    ),
    NodeKind(
        "expr",
        build_expr,
        summary="A [rule-engine](https://zeroSteiner.github.io/rule-engine/) expression over "
        "scalar facts and quantities (in their canonical units), for the rare criterion "
        'the other nodes cannot say. `expr = "true"` / `"false"` is a constant.',
        syntax='`{ expr = "anc >= 1.5 and platelets >= 100" }`. Typed when the file is loaded: '
        "a misspelt symbol or a type mismatch is an error. `$now` and the other built-in "
        "symbols are refused (rules never read the clock), and so are the regular-"
        "expression operators `=~ =~~ !~ !~~` (a pattern can take unbounded time).",
        unknown="Unknown when any symbol it reads is not recorded, is a censored value or is too "
        "old (a quantity ages as in a comparison: the trial's lab window, else the "
        "analyte's), and when it cannot be evaluated for the values (a division by zero), "
        "which also asks for review.",
        examples=(
            Example(_EXPR, "true", _labs(anc=2, platelets=150)),
            Example(_EXPR, "false", _labs(anc=2, platelets=50)),
            Example(_EXPR, "unknown", _labs(anc=2), explains="needs platelets"),
            Example(
                _EXPR,
                "unknown",
                {
                    "labs": [
                        {"test": "anc", "value": 2, "unit": "10^9/L", "date": "2026-11-12"},
                        {"test": "platelets", "value": 150, "unit": "10^9/L", "date": "2025-11-12"},
                    ]
                },
                explains="needs recent platelets (within 28 days)",
            ),
            Example(
                '{ expr = "anc / 0 > 1" }',
                "unknown",
                _labs(anc=2),
                explains="cannot be evaluated for these values",
            ),
            Example('{ expr = "true" }', "true"),
            Example('{ expr = "ancc > 1" }', error="logic.expr: unknown symbol 'ancc'; did you mean 'anc'?"),
            Example('{ expr = "anc >" }', error="logic.expr: syntax error in 'anc >'"),
            Example('{ expr = "sex > 1" }', error="logic.expr: data type mismatch in 'sex > 1'"),
            Example(
                "{ expr = \"sex =~ 'f.*'\" }",
                error="logic.expr: the regular-expression operator '=~' is not allowed (no "
                "criterion needs one; a pattern can take unbounded time) in "
                "\"sex =~ 'f.*'\"",
            ),
            Example(
                '{ expr = "$today < $today" }',
                error="logic.expr: built-in symbols ($today) are not allowed: rules never read the clock",
            ),
            Example('{ expr = "" }', error="logic.expr: expected a rule-engine expression string"),
        ),
    ),
)
