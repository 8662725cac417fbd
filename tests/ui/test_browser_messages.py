"""Real-browser check for issue 15 item 6 (messages in people's words) on the review form, in
Debian's Chromium with axe-core at 1280 and 360 px. Fixtures (the live server on a seeded
copy, the browser) are test_browser.py's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_support import axe_options, rules_run, serious_violations
from tests.ui import test_browser as shared  # skips the module when Chromium is missing
from tests.ui.test_browser import DESKTOP, NARROW, Site, sign_in

site = shared.site
browser = shared.browser

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Browser, Page  # noqa: E402


@pytest.fixture(params=["1280", "360"])
def page(request: pytest.FixtureRequest, browser: Browser, site: Site) -> Any:
    viewport = DESKTOP if request.param == "1280" else NARROW
    context = browser.new_context(base_url=site.url, viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()


def test_review_form_problems_come_at_once_in_the_forms_words(page: Page, site: Site) -> None:
    """Item 6: a stranger as author, a title over the limit and a new action due in 1999 are
    all reported in one answer, each named as the form labels it (never `lessons.0.title`),
    at the top and beside its field, with everything typed kept."""
    sign_in(page)
    page.goto("/reviews/new?kind=aar")
    title = "Label the cold boxes " * 12
    page.fill("#project-name", "Messages check")
    page.fill("#answers-planned", "Deliver vaccines to six clinics.")
    page.fill("#author", "Somebody New")
    page.fill("#lessons-0-title", title)
    page.fill("#actions-0-what", "Check the labels")
    page.fill("#actions-0-due", "1999-09-30")
    with page.expect_navigation() as refused:
        page.click("form[action='/reviews'] button[type=submit]:not([name])")
    assert refused.value is not None and refused.value.status == 422
    assert page.inner_text("#author-error").startswith("Whose words: ")
    assert page.inner_text("#lessons-0-title-error").startswith("Lesson 1 title: at most")
    assert "you typed" in page.inner_text("#lessons-0-title-error")
    assert page.inner_text("#actions-0-due-error") == "Action 1 due date: Due date is in the past"
    summary = page.inner_text("main [role=alert]")
    for label in ("Whose words", "Lesson 1 title", "Action 1 due date"):
        assert label in summary
    assert "lessons.0" not in summary and "actions.0" not in summary
    assert page.input_value("#lessons-0-title") == title
    assert page.input_value("#author") == "Somebody New"
    results = Axe().run(page, options=axe_options()).response
    assert rules_run(results) >= 50, f"axe did not run on {page.url}"
    assert serious_violations(results) == [], page.url
