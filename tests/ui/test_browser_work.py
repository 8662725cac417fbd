"""Issue 15 items 4, 5, 7, 8 and 9 in a real browser (Debian's Chromium through Playwright, as
tests/ui/test_browser.py drives it): a contributor finds the BAR list, themes and feeds from
the nav, finds the lesson they just logged, sees their work on the home page and deletes a
junk BAR; an anonymous visitor is told why they must sign in; a curator works through a
compact queue and taxonomy and reads the audit log in words; the actions table fits 360 px.
Every page these journeys reach is checked by axe-core (WCAG 2.2 AA at 1280 px, the layout
rules at 360 px) signed in and anonymous, and must not scroll sideways at 360 px.

`make screenshots` (LESSONBANK_SCREENSHOTS=docs/screenshots) also saves the README's pictures
of the main pages, from a site holding the demo bank only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lessons.imports.seed import load_bank, read_bank
from lessons.storage.db import make_engine, migrate, transaction
from lessons.storage.settings import Settings
from retrieval.embedder import HashingEmbedder
from tests.browser_support import (
    CHROMIUM,
    LAUNCH_ARGS,
    LAYOUT_RULES,
    REQUIRED_ENV,
    SCROLL_PROBE,
    LiveServer,
    axe_options,
    browser_missing,
    copy_database,
    rules_run,
    seed,
    serious_violations,
)
from tests.conftest import PASSWORD
from ui.app import create_app

MISSING = browser_missing()
if MISSING and os.environ.get(REQUIRED_ENV):  # CI: never skip these silently
    pytest.fail(f"{REQUIRED_ENV} is set but the browser tests cannot run: {MISSING}", pytrace=False)
if MISSING:
    pytest.skip(f"browser tests skipped: {MISSING}", allow_module_level=True)

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from data import DEMO_BANK  # noqa: E402

NARROW = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
SHOTS_ENV = "LESSONBANK_SCREENSHOTS"
TIDE_TITLE = "Check the tide tables before booking the ferry crossing"


# ---- fixtures ---------------------------------------------------------------------------


def _serve(folder: Path, database_url: str, *, shipped_model: bool = False) -> LiveServer:
    """The app on 127.0.0.1: the hashing embedder, or the shipped model (the pictures show
    the matches a user would see)."""
    settings = Settings(
        database_url=database_url,
        embedding_model=Settings().embedding_model if shipped_model else "hashing",
        load_demo=False,
        secret_key="browser-work-secret",
        secret_key_file=str(folder / "secret_key"),
    )
    embedder = None if shipped_model else HashingEmbedder()
    server = LiveServer(create_app(settings, embedder=embedder))
    # The shipped model embeds the demo bank's passages first: minutes on a busy machine.
    server.start(timeout=900 if shipped_model else 120)
    return server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Iterator[str]:
    """The demo bank and the hostile bank (as the main browser suite seeds them)."""
    folder = tmp_path_factory.mktemp("browser-work")
    database_url = copy_database(migrated_template, folder)
    seed(database_url)
    server = _serve(folder, database_url)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _context(browser: Browser, url: str, viewport: dict[str, int], user: str | None) -> Page:
    context = browser.new_context(base_url=url, viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    page = context.new_page()
    if user:
        sign_in(page, user)
    return page


def sign_in(page: Page, user: str) -> None:
    page.goto("/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    assert "/login" not in page.url, "sign-in failed"


@pytest.fixture(scope="module")
def casey(browser: Browser, site: str) -> Iterator[Page]:
    """A contributor at 1280 px."""
    page = _context(browser, site, DESKTOP, "casey")
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def casey_narrow(browser: Browser, site: str) -> Iterator[Page]:
    page = _context(browser, site, NARROW, "casey")
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def ada(browser: Browser, site: str) -> Iterator[Page]:
    """An admin (a curator too) at 1280 px."""
    page = _context(browser, site, DESKTOP, "ada")
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def ada_narrow(browser: Browser, site: str) -> Iterator[Page]:
    page = _context(browser, site, NARROW, "ada")
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def visitor(browser: Browser, site: str) -> Iterator[Page]:
    page = _context(browser, site, DESKTOP, None)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def visitor_narrow(browser: Browser, site: str) -> Iterator[Page]:
    page = _context(browser, site, NARROW, None)
    yield page
    page.context.close()


# ---- checks every page of these journeys passes ------------------------------------------


def check_page(page: Page, *, narrow: bool) -> None:
    """axe-core finds no serious or critical WCAG 2.2 AA violation (at 360 px: the rules the
    layout decides), and at 360 px the page does not scroll sideways."""
    results = Axe().run(page, options=axe_options(layout_only=narrow)).response
    assert rules_run(results) >= (len(LAYOUT_RULES) if narrow else 50), "axe did not run"
    violations = serious_violations(results)
    assert not violations, f"{page.url}:\n" + "\n".join(violations)
    scroll = page.evaluate(SCROLL_PROBE)
    assert scroll["scrollWidth"] <= scroll["innerWidth"] + 1, (
        f"{page.url} is {scroll['scrollWidth']} px wide: {scroll['widest']}"
    )


def path_of(page: Page) -> str:
    """The page's path and query, to open the same page in another context."""
    parts = urlsplit(page.url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def go(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, f"{path}: {response}"


def log_own_lesson(page: Page) -> str:
    """The contributor logs a review through the form, as its author (no other name)."""
    go(page, "/reviews/new?kind=aar")
    page.fill("#project-name", "Island ferry logistics")
    page.fill("#answers-planned", "Take the clinic team across by ferry on Monday.")
    page.fill("#lessons-0-title", TIDE_TITLE)
    page.fill("#lessons-0-observation", "Low tide grounded the ferry and the crossing was lost.")
    page.fill("#lessons-0-insight", "Nobody read the tide tables when booking.")
    page.fill("#lessons-0-recommendation", "Read the tide tables for the day before booking.")
    with page.expect_navigation():
        page.click("form[action='/reviews'] button[type=submit]:not([name])")
    assert re.search(r"/reviews/\d+", page.url), page.inner_text("main .alert, main .error")
    return page.url


# ---- item 4: findability ------------------------------------------------------------------


def test_nav_leads_to_bar_list_themes_and_the_feed(casey: Page) -> None:
    go(casey, "/")
    with casey.expect_navigation():
        casey.click("header nav a:text-is('Before action reviews')")
    assert casey.url.endswith("/bar"), casey.url
    assert casey.locator("main a.button[href='/bar/new']").count() == 1
    with casey.expect_navigation():
        casey.click("header nav a:text-is('Recurring themes')")
    assert casey.url.endswith("/themes"), casey.url
    href = casey.get_attribute("footer a[href$='.atom']", "href")
    assert href == "/feeds/lessons.atom"
    feed = casey.request.get(href)
    assert feed.headers["content-type"] == "application/atom+xml; charset=utf-8"
    check_page(casey, narrow=False)


def test_my_work_own_pending_lesson_and_a_named_bar(casey: Page, casey_narrow: Page) -> None:
    log_own_lesson(casey)
    # Item 5: the author searches and finds it, apart, though the default search hides it.
    go(casey, "/lessons?q=tide+tables+ferry")
    own = casey.locator(".own-pending")
    assert own.count() == 1, casey.inner_text("main")[:800]
    assert TIDE_TITLE in own.inner_text()
    count = casey.inner_text("#search-count")
    assert "well" in count, count
    check_page(casey, narrow=False)
    # Item 4: a BAR named by its brief, listed on the home page under my work.
    go(casey, "/bar/new")
    casey.fill("#brief", "Booking a ferry crossing for the island clinic team")
    with casey.expect_navigation():
        casey.click("form[action='/bar'] button[type=submit]")
    heading = casey.inner_text("h1")
    assert "Booking a ferry crossing" in heading and "#" not in heading, heading
    bar_path = path_of(casey)
    go(casey, "/")
    assert TIDE_TITLE in casey.inner_text("#my-lessons-heading + ul")
    assert "Booking a ferry crossing" in casey.inner_text("#my-bars-heading + ul")
    assert casey.locator("#my-actions-heading").count() == 1
    check_page(casey, narrow=False)
    for path in ("/", "/lessons?q=tide+tables+ferry", bar_path, "/bar"):
        go(casey_narrow, path)
        check_page(casey_narrow, narrow=True)


def test_the_runner_deletes_a_junk_bar(casey: Page) -> None:
    go(casey, "/bar/new")
    casey.fill("#brief", "asdf asdf junk test")
    with casey.expect_navigation():
        casey.click("form[action='/bar'] button[type=submit]")
    bar_path = path_of(casey)
    casey.click("details.danger summary")
    with casey.expect_navigation():
        casey.click("details.danger button[type=submit]")
    assert casey.url.endswith("/bar?deleted=1"), casey.url
    assert "deleted" in casey.inner_text("[role=status]")
    assert casey.locator(f"main a[href='{bar_path}']").count() == 0
    check_page(casey, narrow=False)


# ---- item 8: small things -------------------------------------------------------------------


def test_anonymous_log_a_review_explains_the_sign_in(visitor: Page, visitor_narrow: Page) -> None:
    go(visitor, "/")
    assert visitor.locator("a:text-is('Log an after action review')").count() == 1
    assert visitor.locator("link[rel=icon]").count() == 1
    with visitor.expect_navigation():
        visitor.click("header nav a:text-is('Log a review')")
    assert "/login" in visitor.url, visitor.url
    text = visitor.inner_text("main")
    assert "You need to be signed in to log a review." in text
    assert "No account?" in text
    check_page(visitor, narrow=False)
    for path in ("/", "/login?next=/reviews/new", "/lessons?q=getting+volunteers+to+come+back"):
        go(visitor_narrow, path)
        check_page(visitor_narrow, narrow=True)
        go(visitor, path)
        check_page(visitor, narrow=False)


def test_actions_table_fits_a_phone(casey_narrow: Page) -> None:
    go(casey_narrow, "/actions")
    widths = casey_narrow.evaluate(
        "() => { const t = document.querySelector('table.actions');"
        " return t && {scroll: t.scrollWidth, client: t.clientWidth}; }"
    )
    assert widths is not None, "no actions table"
    assert widths["scroll"] <= widths["client"] + 1, widths
    check_page(casey_narrow, narrow=True)


def test_bar_note_label_names_the_note_not_the_radio(casey: Page) -> None:
    go(casey, "/bar/new")
    casey.fill("#brief", "zanzibar generator fuel checks for a relief camp")
    with casey.expect_navigation():
        casey.click("form[action='/bar'] button[type=submit]")
    assert casey.locator("fieldset.decision").count() > 0, "no results, so this proves nothing"
    casey.click("fieldset.decision >> nth=0 >> label:text-is('Note') >> nth=1")
    focused = casey.evaluate("() => document.activeElement.localName")
    checked = casey.locator("fieldset.decision >> nth=0 >> input[value=note]").is_checked()
    assert focused == "textarea" and not checked
    date = casey.inner_text("main > p.meta")
    assert re.match(r"\d{2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}", date), date


# ---- item 7: walls ----------------------------------------------------------------------------


def test_curation_queue_is_compact_and_opens_one_form(ada: Page, ada_narrow: Page) -> None:
    go(ada, "/curate")
    assert ada.locator("form[action^='/curate/lessons/']").count() == 0
    height = ada.evaluate("() => document.documentElement.scrollHeight")
    items = ada.locator("article.queue-item").count()
    assert items >= 3 and height < 400 * items, (items, height)
    check_page(ada, narrow=False)
    with ada.expect_navigation():
        ada.locator("article.queue-item a:has-text('Validate or reject')").first.click()
    assert ada.locator("form[action^='/curate/lessons/']").count() == 1
    check_page(ada, narrow=False)
    go(ada_narrow, path_of(ada))
    check_page(ada_narrow, narrow=True)


def test_taxonomy_opens_one_terms_changes(ada: Page, ada_narrow: Page) -> None:
    go(ada, "/taxonomy")
    assert ada.locator("form[action^='/taxonomy/terms/']").count() == 0
    with ada.expect_navigation():
        ada.locator("a:has-text('Rename, merge or move')").first.click()
    actions = ada.locator("form[action^='/taxonomy/terms/']")
    assert actions.count() == 3
    check_page(ada, narrow=False)
    go(ada_narrow, "/taxonomy")
    check_page(ada_narrow, narrow=True)


def test_audit_log_reads_as_words(ada: Page, ada_narrow: Page) -> None:
    go(ada, "/admin/audit")
    assert ada.locator("ul.diff li").count() > 0
    assert '{"' not in ada.inner_text("main table")
    check_page(ada, narrow=False)
    go(ada_narrow, "/admin/audit")
    check_page(ada_narrow, narrow=True)


# ---- the README's pictures ------------------------------------------------------------------

SHOTS: list[tuple[str, str]] = [
    ("home", "/"),
    ("review-form", "/reviews/new?kind=aar"),
    ("curation-queue", "/curate"),
    ("metrics", "/metrics"),
]


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Iterator[str]:
    """The demo bank alone: what a newcomer sees after `make run`."""
    folder = tmp_path_factory.mktemp("browser-shots")
    database_url = copy_database(migrated_template, folder)
    engine = make_engine(database_url)
    migrate(engine)
    with transaction(engine, write=True) as session:
        load_bank(session, read_bank(DEMO_BANK))
    engine.dispose()
    server = _serve(folder, database_url, shipped_model=True)
    try:
        yield server.url
    finally:
        server.stop()


def test_screenshots_of_the_main_pages(request: pytest.FixtureRequest, browser: Browser) -> None:
    """Only under `make screenshots`: the pictures the README shows, 1280 px wide, the first
    screen of each page (small PNGs), signed in as a curator."""
    folder = os.environ.get(SHOTS_ENV)
    if not folder:
        pytest.skip(f"{SHOTS_ENV} is not set (make screenshots sets it)")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    url: str = request.getfixturevalue("demo_site")
    page = _context(browser, url, {"width": 1280, "height": 800}, "kim")
    go(page, "/bar/new")
    page.fill(
        "#brief", "We are starting a measles vaccination campaign and need cold-chain fridges"
    )
    with page.expect_navigation():
        page.click("form[action='/bar'] button[type=submit]")
    saved: dict[str, Any] = {"bar-result": _shot(page, out / "bar-result.png")}
    for name, path in SHOTS:
        go(page, path)
        saved[name] = _shot(page, out / f"{name}.png")
    page.context.close()
    too_big = {name: size for name, size in saved.items() if size > 400_000}
    assert not too_big, f"screenshots over 400 kB: {too_big}"


def _shot(page: Page, path: Path) -> int:
    page.screenshot(path=str(path), full_page=False, animations="disabled", scale="css")
    return path.stat().st_size
