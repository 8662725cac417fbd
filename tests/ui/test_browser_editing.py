"""Real-browser checks for issue 15's editing slice (items 1, 2, 3, 6, 10): what a person
does on a page, in Debian's Chromium, with axe-core judging each page touched at 1280 and
360 px. Fixtures (the live server on a seeded copy, the browser) are test_browser.py's."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser_support import axe_options, rules_run, serious_violations
from tests.ui import test_browser as shared  # skips the module when Chromium is missing
from tests.ui.test_browser import DESKTOP, NARROW, Site, sign_in

# The live server and the browser, shared with test_browser.py's fixtures (one per module).
site = shared.site
browser = shared.browser

# Imported only once known to be installed, as test_browser.py does.
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


def assert_accessible(page: Page) -> None:
    results = Axe().run(page, options=axe_options()).response
    assert rules_run(results) >= 50, f"axe did not run on {page.url}"
    assert serious_violations(results) == [], page.url


def _bar_with_open_actions(page: Page, site: Site) -> None:
    """A BAR for the demo project, whose earlier reviews left actions open."""
    page.goto(f"/bar/new?project_id={site.ids.demo_project}")
    page.fill("#brief", "Volunteers and supplies for the next campaign")
    with page.expect_navigation():
        page.click("form[action='/bar'] button[type=submit]")
    assert re.search(r"/bar/\d+$", page.url), page.url
    assert page.locator("#open-actions input[value=done]").count() > 0, "no open actions"
    assert page.locator("input[name='decisions.0.decision']").count() > 0, "no lessons"


def _save(page: Page) -> Any:
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=re.compile("^Save decisions")).last.click()
    return navigation.value


def test_bar_decisions_and_open_actions_are_never_lost(page: Page, site: Site) -> None:
    """Item 3: Apply + note on a lesson and "Close as done" (without evidence) on an open
    action, then one save: refused for the missing evidence, both parts are still there;
    carried forward instead, both are saved. On main the open-actions form threw the Apply away."""
    sign_in(page)
    _bar_with_open_actions(page, site)
    page.check("input[name='decisions.0.decision'][value=apply]")
    page.fill("textarea[name='decisions.0.note']", "Ask the district about fridges")
    page.locator("#open-actions input[value=done]").first.check()
    refused = _save(page)
    assert refused.status == 422
    assert page.is_checked("input[name='decisions.0.decision'][value=apply]")
    assert page.input_value("textarea[name='decisions.0.note']") == (
        "Ask the district about fridges"
    )
    assert page.locator("#open-actions input[value=done]").first.is_checked()
    assert "say what shows it is done" in page.inner_text("main")
    assert_accessible(page)
    # Carried forward rather than closed: the action stays open for the other viewport's run.
    page.locator("#open-actions input[value=carry]").first.check()
    saved = _save(page)
    assert saved.status == 200 and "saved=1" in page.url
    assert page.is_checked("input[name='decisions.0.decision'][value=apply]")
    assert page.input_value("textarea[name='decisions.0.note']") == (
        "Ask the district about fridges"
    )
    assert_accessible(page)
    assert "Carried forward into this work" in page.inner_text("#open-actions")


def test_a_printed_bar_is_its_record(page: Page, site: Site) -> None:
    """Item 10: printed, the BAR shows the brief, each lesson considered with the decision and
    note, who ran it and who saved the decisions, and when; no forms, buttons or navigation."""
    sign_in(page)
    page.goto(f"/bar/new?project_id={site.ids.demo_project}")
    page.fill("#brief", "Printing the brief of a cold-chain campaign")
    with page.expect_navigation():
        page.click("form[action='/bar'] button[type=submit]")
    title = page.inner_text("ol.results li h3 >> nth=0")
    page.check("input[name='decisions.0.decision'][value=not_relevant]")
    page.fill("textarea[name='decisions.0.note']", "Different district, different fridges")
    _save(page)
    page.emulate_media(media="print")
    printed = page.inner_text("body")
    assert "Printing the brief of a cold-chain campaign" in printed
    assert re.search(r"Decisions last saved .+ by ada", printed), printed[:2000]
    row = page.locator("table.record tbody tr").filter(has_text=title[:40])
    assert "Not relevant" in row.inner_text()
    assert "Different district, different fridges" in row.inner_text()
    assert page.locator("nav").is_hidden() and page.locator("main form").first.is_hidden()
    assert page.get_by_role("button").filter(visible=True).count() == 0
    assert page.pdf()[:4] == b"%PDF"
    page.emulate_media(media="screen")
    assert page.locator("table.record").is_hidden()
    assert_accessible(page)


def test_the_signed_in_user_is_the_author_and_strangers_are_refused(page: Page, site: Site) -> None:
    """Item 1: the review form's "Whose words" names a directory person or is left empty (the
    signed-in account's own words); a typed stranger is refused beside the field, with
    everything typed kept. The BAR form has no "Your name": its runner is the account."""
    sign_in(page)
    page.goto("/bar/new")
    assert page.locator("#run_by").count() == 0
    page.goto("/reviews/new?kind=aar")
    assert page.locator("#author[list=directory-people]").count() == 1
    page.fill("#project-name", "Authorship check")
    page.fill("#lessons-0-title", "Label the cold boxes")
    page.fill("#answers-planned", "Deliver vaccines to six clinics.")
    page.fill("#author", "Somebody New")
    with page.expect_navigation() as refused:
        page.click("form[action='/reviews'] button[type=submit]:not([name])")
    assert refused.value is not None and refused.value.status == 422
    assert "people directory" in page.inner_text("#author-error")
    assert page.input_value("#lessons-0-title") == "Label the cold boxes"
    assert_accessible(page)
    page.fill("#author", "")
    with page.expect_navigation():
        page.click("form[action='/reviews'] button[type=submit]:not([name])")
    assert re.search(r"/reviews/\d+$", page.url), page.inner_text("main")[:1500]
    meta = page.inner_text("main p.meta")
    assert "by ada" in meta and "recorded by" not in meta


def test_a_lesson_is_edited_on_its_own_page_and_a_refusal_keeps_what_was_typed(
    page: Page, site: Site
) -> None:
    """Item 2: from the lesson's page, "Edit this lesson" opens its form; a title over the
    limit comes back with the problem beside it and everything typed kept; a good one is saved
    and shown on the lesson's page, and its Changes table records the edit. On main the page
    had no Edit link and /lessons/{id}/edit did not exist."""
    sign_in(page)
    page.goto(f"/lessons/{site.ids.other_lesson}")
    with page.expect_navigation():
        page.get_by_role("link", name="Edit this lesson").click()
    assert page.url.endswith(f"/lessons/{site.ids.other_lesson}/edit"), page.url
    assert_accessible(page)
    page.fill("#observation", "The fridges came three weeks late, again.")
    page.fill("#title", "Fridges " * 40)
    with page.expect_navigation() as refused:
        page.get_by_role("button", name="Save changes").click()
    assert refused.value is not None and refused.value.status == 422
    assert "200" in page.inner_text("#title-error")
    assert page.input_value("#title") == "Fridges " * 40
    assert page.input_value("#observation") == "The fridges came three weeks late, again."
    assert_accessible(page)
    title = f"Order fridges twelve weeks ahead ({page.viewport_size['width']} px)"  # type: ignore[index]
    page.fill("#title", title)
    with page.expect_navigation():
        page.get_by_role("button", name="Save changes").click()
    assert page.url.endswith(f"/lessons/{site.ids.other_lesson}"), page.url
    assert page.inner_text("h1") == title
    assert title in page.inner_text("table:has(caption:text('Audit log of this lesson'))")
    assert_accessible(page)
