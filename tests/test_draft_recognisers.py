"""Every recogniser's own examples: phrases it must type on their own, phrases it must leave to
review (like a linter's rule examples)."""

from __future__ import annotations

import pytest

from eligimatch.draft.compose import compose
from eligimatch.draft.recognisers import RECOGNISERS

PASSES = [(r.name, p) for r in RECOGNISERS for p in r.passes]
FAILS = [(r.name, p) for r in RECOGNISERS for p in r.fails]


def _kind(name: str, text: str) -> str:
    exclusion = (
        "pregnan",
        "lactating",
        "hiv",
        "brain",
        "central nervous",
        "major surgery",
        "inability",
        "less than 18",
        "surufatinib",
        "pazopanib",
        "inr",
        "(inr)",
        "lvef(left",
        "investigational",
    )
    return "exclusion" if any(w in text.lower() for w in exclusion) else "inclusion"


def test_every_recogniser_is_documented_with_examples() -> None:
    names = [r.name for r in RECOGNISERS]
    assert len(names) == len(set(names))
    for r in RECOGNISERS:
        assert r.doc and (r.passes or r.fails), r.name


@pytest.mark.parametrize(("name", "text"), PASSES)
def test_typed_on_its_own(name: str, text: str) -> None:
    d = compose(text, _kind(name, text))
    assert d.typed, (d.reason, d.leftover)
    assert name in d.recognisers


@pytest.mark.parametrize(("name", "text"), FAILS)
def test_left_to_review(name: str, text: str) -> None:
    d = compose(text, _kind(name, text))
    assert not d.typed
    assert "review" in d.logic
