"""The pages in a real browser: Playwright for Python driving Debian's chromium (launched by
path; Playwright's own browser download does not work on these machines).

A coordinator uploads p04, answers its NCT07342322 review items (one by keyboard alone) and sees
the trial become eligible with the answers in the audit trail; then withdraws one.  The same
pages read and work with JavaScript off.  Screenshots go to build/test-artifacts/web/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from web_support import P04, REVIEW_TRIAL, ROOT, make_app, running

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path(os.environ.get("ELIGIMATCH_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "build" / "test-artifacts" / "web"
LAPTOP = {"width": 1366, "height": 800}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    with running(make_app(tmp_path_factory.mktemp("browser") / "store.db")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        msg = f"no chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _upload_p04(page, server: str) -> str:
    page.goto(f"{server}/patients")
    page.get_by_label("Upload a file").set_input_files(str(P04))
    page.get_by_role("button", name="Screen and store").click()
    page.wait_for_url(re.compile(r"/patients/\d+$"))
    return page.url


def test_answer_review_items_in_the_browser(server, browser):
    page = browser.new_page(viewport=LAPTOP)
    expect = playwright_api.expect
    url = _upload_p04(page, server)
    card = page.locator(f"#trial-{REVIEW_TRIAL}")
    expect(card.locator(".badge").first).to_have_text("Undetermined")
    _shot(page, "01-patient-before")
    forms = card.locator("form.review")
    n = forms.count()
    assert n >= 1, "p04 shows no review item for NCT07342322"

    for i in range(n):
        form = card.locator("form.review").first  # the card is swapped after each answer
        kind = form.get_attribute("data-kind")
        criterion = form.get_attribute("data-criterion")
        answer = "No" if kind == "exclusion" else "Yes"
        if i == 0:  # by keyboard alone: focus the answer, Space to choose, Tab, type, Enter
            form.get_by_label(answer, exact=True).focus()
            page.keyboard.press("Space")
            page.keyboard.press("Tab")
            page.keyboard.type("dose summed from the RT plan: within tolerance")
            page.keyboard.press("Enter")
        else:
            form.get_by_label(answer, exact=True).check()
            form.get_by_label("Reason").fill("discussed with the treating oncologist")
            form.get_by_role("button", name="Record answer").click()
        expect(card.locator(".flash")).to_contain_text(f"to {criterion} recorded")
        if i == 0:  # the README's picture: one answer applied, the others still to give
            page.evaluate("window.scrollTo(0, 0)")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "patient-page.png"))

    expect(card.locator(".badge").first).to_have_text("Eligible")
    expect(card.locator(".flash")).to_contain_text("undetermined → eligible")
    audit = page.locator("#audit")
    expect(audit.locator("tr.a-attest")).to_have_count(n)
    expect(page.locator("#overview")).to_contain_text("Eligible")
    _shot(page, "02-patient-eligible")

    # the evidence behind an answer: the clinician's name is in the criterion's explanation
    card.locator("details.criteria > summary").click()
    expect(card.locator("li.crit").filter(has_text="Dr Rivera").first).to_be_visible()

    # withdraw one answer: recorded, not deleted; the trial is undetermined again
    card.locator("form.withdraw").first.get_by_role("button", name="Withdraw").click()
    expect(card.locator(".badge").first).to_have_text("Undetermined")
    expect(page.locator("#answers tr.withdrawn")).to_have_count(1)
    expect(audit.locator("tr.a-withdraw-attestation")).to_have_count(1)

    page.reload()  # what the server stored, not what the page swapped in
    expect(page.locator(f"#trial-{REVIEW_TRIAL} .badge").first).to_have_text("Undetermined")
    assert page.url == url
    page.close()


def test_pages_read_and_work_without_javascript(server, browser):
    context = browser.new_context(java_script_enabled=False, viewport=LAPTOP)
    page = context.new_page()
    expect = playwright_api.expect
    _upload_p04(page, server)  # the same patient id: its profile is replaced
    card = page.locator(f"#trial-{REVIEW_TRIAL}")
    form = card.locator("form.review").first
    expect(form).to_be_visible()
    criterion = form.get_attribute("data-criterion")
    form.get_by_label("Yes", exact=True).check()
    form.get_by_label("Reason").fill("no-JS check")
    form.get_by_role("button", name="Record answer").click()  # a plain POST and a redirect
    page.wait_for_load_state()
    expect(page.locator("#answers")).to_contain_text("no-JS check")
    expect(page.locator("#audit")).to_contain_text(criterion or "")

    page.goto(page.url.split("#")[0] + "?show=open")
    expect(page.locator("li.crit.s-pass")).to_have_count(0)
    page.goto(f"{server}/trials/{REVIEW_TRIAL}")
    expect(page.get_by_role("heading", name="Worklist: closest to eligible")).to_be_visible()
    expect(page.locator("table.attrition tbody tr").first).to_be_visible()
    _shot(page, "03-trial-page")
    page.goto(f"{server}/patients")
    expect(page.locator("table.grid tbody tr")).to_have_count(1)
    _shot(page, "04-patients")
    page.goto(f"{server}/audit")
    _shot(page, "05-audit")
    context.close()
