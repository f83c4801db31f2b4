"""``histology``: the index diagnosis's OncoTree code against include / exclude / review lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...facts import Facts
from ...vocabulary import suggest
from ..core import Outcome, Truth, unknown
from .base import Bad, EvalContext, Example, Node, NodeKind, Problems

if TYPE_CHECKING:
    from ..columns import Chunk, Codes


@dataclass(frozen=True)
class Histology(Node):
    """The index diagnosis's OncoTree code against include / exclude / review lists."""

    listed: dict[str, str]  # code → include / exclude / review
    notes: str = ""
    # codes that go to review only when they ARE the patient's code (an organ or family code that
    # does not say the histological type); their descendants are classified by `listed`
    review_exact: frozenset[str] = frozenset()

    def __hash__(self) -> int:  # equal lists, equal hash (`listed` is a dict)
        return hash((tuple(sorted(self.listed.items())), self.notes, self.review_exact))

    context_free = True

    def symbols(self) -> set[str]:
        return {"histology"}

    def status(self, facts: Facts, ctx: EvalContext) -> Truth:
        from ...ontology import oncotree

        code = facts.histology
        tree = oncotree()
        if code is None or code not in tree or code in self.review_exact:
            return None
        verdict, _ = tree.classify(code, self.listed)  # type: ignore[arg-type]
        return None if verdict == "review" else verdict == "include"

    def columns(self, chunk: Chunk, ctx: EvalContext) -> Codes:
        return chunk.by_value("histology", lambda f: f.histology, lambda f: self.status(f, ctx), self)

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        from ...ontology import oncotree

        code = facts.histology
        if code is None:
            return unknown("histology (OncoTree code) not recorded", missing=["histology (OncoTree code)"])
        tree = oncotree()
        if code not in tree:
            gap = f"histology code {code!r} is not an OncoTree code"
            return unknown(gap, missing=["a recognised OncoTree histology code"])

        def name() -> str:
            return f"{tree.name(code)} ({code})"

        if code in self.review_exact:
            reason = f"whether histology {name()} counts for this criterion"
            return unknown(
                f"histology {name()} does not say the histological type: needs clinician review",
                review=[reason],
            )
        verdict, via = tree.classify(code, self.listed)  # type: ignore[arg-type]
        if verdict is None:
            return Outcome(False, lambda: f"histology {name()} is not among the listed types")

        def subject() -> str:
            return (
                f"histology {name()} is"
                if via == code
                else f"histology {name()} is under {tree.name(via or '')} ({via}), which is"
            )

        if verdict == "review":
            reason = f"whether histology {name()} counts for this criterion"
            return unknown(f"{subject()} listed for review: needs clinician review", review=[reason])
        if verdict == "include":
            return Outcome(True, lambda: f"{subject()} listed")
        return Outcome(False, lambda: f"{subject()} listed as an exception")


def build_histology(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    from ...ontology import oncotree

    spec = raw["histology"]
    if (
        not isinstance(spec, dict)
        or set(spec) - {"include", "exclude", "review", "review_exact"}
        or not set(spec) - {"review_exact"}
    ):
        problems.append(
            (
                where,
                "expected a table with include, exclude and/or review lists (and optionally review_exact)",
            )
        )
        return Bad()
    tree = oncotree()

    def codes_of(key: str) -> list[str] | None:
        """The list under ``key``, every entry an OncoTree code; None after a problem."""
        codes = spec.get(key, [])
        if not isinstance(codes, list):
            problems.append((f"{where}.{key}", "expected a list of OncoTree codes"))
            return None
        for code in codes:
            if code not in tree:
                problems.append(
                    (f"{where}.{key}", f"{code!r} is not an OncoTree code{suggest(str(code), tree.nodes)}")
                )
                return None
        return codes

    listed: dict[str, str] = {}
    for verdict in ("include", "exclude", "review"):
        codes = codes_of(verdict)
        if codes is None:
            return Bad()
        for code in codes:
            if code in listed:
                problems.append((f"{where}.{verdict}", f"{code!r} is listed twice"))
                return Bad()
            listed[code] = verdict
    exact = codes_of("review_exact")
    if exact is None:
        return Bad()
    return Histology(listed, review_exact=frozenset(exact))


# ---------------------------------------------------------------------------- docs and examples

_STS = '{ histology = { include = ["SOFT_TISSUE"], exclude = ["RMS"], review = ["EMCHS"] } }'
_EXACT = '{ histology = { include = ["TISSUE"], exclude = ["SCLC"], review_exact = ["TISSUE", "LUNG"] } }'


def _dx(code: str | None) -> dict[str, Any]:
    return {"diagnosis": {} if code is None else {"histology": code}}


KINDS = (
    NodeKind(
        "histology",
        build_histology,
        summary="The index diagnosis's OncoTree code against lists of codes: the most specific "
        "listed code at or above the patient's code decides, so a list can include a family, "
        "exclude a branch of it and include a leaf again (include `SOFT_TISSUE`, exclude `RMS`, "
        "include `PLRMS`).",
        syntax="""`{ histology = { include = [codes], exclude = [codes], review = [codes],
review_exact = [codes] } }`, any of the lists (`review_exact` not alone). `review` sends a code and
everything below it to clinician review; `review_exact` only the code itself, for codes that name
an organ or a family without the histological type (\"Lung\", `LUNG`, may be small cell or not;
\"Lung Adenocarcinoma\", `LUAD`, below it is settled). Every code is checked against OncoTree at
load.""",
        unknown="Unknown when the histology is not recorded or is not an OncoTree code; unknown with a "
        "question for a clinician when the deciding code is listed for review. A code under "
        "none of the lists is false.",
        examples=(
            Example(_STS, "true", _dx("LMS"), explains="is under Soft Tissue (SOFT_TISSUE)"),
            Example(_STS, "false", _dx("ERMS"), explains="listed as an exception"),
            Example(_STS, "false", _dx("LUAD"), explains="not among the listed types"),
            Example(_STS, "unknown", _dx("EMCHS"), explains="needs clinician review"),
            Example(_STS, "unknown", _dx(None), explains="not recorded"),
            Example(_STS, "unknown", _dx("XYZ"), explains="is not an OncoTree code"),
            Example(
                '{ histology = { include = ["SOFT_TISSUE", "PLRMS"], exclude = ["RMS"] } }',
                "true",
                _dx("PLRMS"),
                note="the most specific listed code decides",
            ),
            Example(_EXACT, "true", _dx("LUAD")),
            Example(_EXACT, "false", _dx("SCLC")),
            Example(_EXACT, "unknown", _dx("LUNG"), explains="does not say the histological type"),
            Example(
                '{ histology = { include = ["LMSS"] } }',
                error="logic.histology.include: 'LMSS' is not an OncoTree code; did you mean 'LMS'?",
            ),
            Example(
                '{ histology = { include = "LMS" } }',
                error="logic.histology.include: expected a list of OncoTree codes",
            ),
            Example(
                '{ histology = { include = ["LMS"], exclude = ["LMS"] } }',
                error="logic.histology.exclude: 'LMS' is listed twice",
            ),
            Example(
                '{ histology = { review_exact = ["LUNG"] } }',
                error="logic.histology: expected a table with include, exclude and/or review lists "
                "(and optionally review_exact)",
            ),
            Example(
                '{ histology = { include = ["TISSUE"], review_exact = ["LUNGG"] } }',
                error="logic.histology.review_exact: 'LUNGG' is not an OncoTree code; did you mean 'LUNG'?",
            ),
        ),
    ),
)
