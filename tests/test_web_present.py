"""How the pages show the engine's explanations: a one-line summary, evidence marked up and
escaped.  (The wording itself is the engine's.)"""

from __future__ import annotations

import pytest

pytest.importorskip("markupsafe")

from eligimatch.engine import CriterionResult
from eligimatch.web.present import evidence, has_more, summary


def _c(status, explanation, *, kind="inclusion", missing=(), review=()):
    return CriterionResult(
        id="I1",
        kind=kind,
        status=status,
        text="…",
        explanation=explanation,
        missing=tuple(missing),
        review=tuple(review),
    )


def test_summary_says_what_is_missing_or_what_to_review():
    assert (
        summary(_c("unknown", "LVEF not recorded (needed: LVEF ≥ 40 %)", missing=["LVEF"])) == "Missing: LVEF"
    )
    assert (
        summary(_c("unknown", "x; needs clinician review: whether y", review=["whether y"]))
        == "Needs clinician review: whether y"
    )


def test_summary_prefers_the_clinicians_answer_and_keeps_the_exclusion_lead():
    c = _c(
        "pass",
        "exclusion does not apply: no conditions with category autoimmune (1 "
        "recorded); clinician attestation by Dr R on 2026-11-16: 'no' to whether z",
        kind="exclusion",
    )
    assert summary(c) == (
        "exclusion does not apply: clinician attestation by Dr R on 2026-11-16: 'no' to whether z"
    )
    assert has_more(c)


def test_summary_is_short_and_splits_outside_parentheses():
    c = _c("fail", "ANC 1.2 ×10⁹/L (reported 1200 /uL; 2026-11-12) < 1.5 ×10⁹/L; more")
    assert summary(c) == "ANC 1.2 ×10⁹/L (reported 1200 /uL; 2026-11-12) < 1.5 ×10⁹/L"
    long = _c("fail", "word " * 100)
    assert len(summary(long)) <= 185 and summary(long).endswith("…")


def test_evidence_marks_values_uln_and_dates_and_escapes_the_rest():
    html = str(
        evidence(
            "ALT 150 U/L (2026-11-12) = 3.75 × ULN (ULN 40 U/L from the lab's "
            "reference range); ANC (reported 1200 /uL, 2026-11-12) <script>"
        )
    )
    assert '<time datetime="2026-11-12">2026-11-12</time>' in html
    assert '<span class="uln">ULN 40 U/L from the lab&#39;s reference range</span>' in html
    assert '<span class="reported">reported 1200 /uL</span>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
