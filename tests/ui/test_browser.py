"""Real-browser checks: headless Chromium (Debian's) against a live uvicorn on 127.0.0.1.

- every page a user reaches meets WCAG 2.2 AA as axe-core judges it (serious and critical
  violations fail, each printed with its rule, element and help URL);
- the keyboard alone reaches the before action review form, submits it and lands on the
  result, with a visible focus indicator at every stop;
- at 360 px wide (and at 1280 px) no page scrolls sideways;
- lesson text holding script tags, event-handler attributes, javascript: links and SVG
  onload runs nowhere, and the Content-Security-Policy refuses inline script.

One browser for the module, one context per viewport, each page visited once per viewport.
Without Chromium the module skips, unless LESSONBANK_BROWSER_REQUIRED=1 (CI) makes it fail.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from lessons.storage.settings import Settings
from retrieval.embedder import HashingEmbedder
from tests.browser_support import (
    CHROMIUM,
    CSP_PROBE,
    FOCUS_PROBE,
    HOSTILE_BRIEF,
    INERT_PROBE,
    LAUNCH_ARGS,
    LAYOUT_RULES,
    REQUIRED_ENV,
    SCRIPT,
    SCROLL_PROBE,
    LiveServer,
    Seeded,
    axe_options,
    browser_missing,
    copy_database,
    rules_run,
    seed,
    serious_violations,
    served_paths,
)
from tests.conftest import PASSWORD
from ui.app import create_app

MISSING = browser_missing()
if MISSING and os.environ.get(REQUIRED_ENV):  # CI: never skip these silently
    pytest.fail(f"{REQUIRED_ENV} is set but the browser tests cannot run: {MISSING}", pytrace=False)
if MISSING:
    pytest.skip(f"browser tests skipped: {MISSING}", allow_module_level=True)

# Imported only once known to be installed, so the skip above can say what is missing.
from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright  # noqa: E402

ADMIN = "ada"  # an admin is also a curator: every page is open to them
NARROW = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


@dataclass(frozen=True)
class Site:
    url: str
    ids: Seeded
    paths: set[str]


@dataclass(frozen=True)
class Spec:
    """A page a user reaches: how to get there, the route that serves it (a page whose route
    the app does not have yet is skipped, saying so), and what it must show."""

    name: str
    route: str
    go: Callable[[Page, Site], Any]  # navigates; returns the navigation's Response
    status: int = 200
    shows_hostile: bool = False  # must show the hostile text (so the inert check means something)
    section: str | None = None  # ... in the section under this heading
    html: bool = True  # axe and the width check need an HTML page


def to(path: str | Callable[[Seeded], str]) -> Callable[[Page, Site], Any]:
    def go(page: Page, site: Site) -> Any:
        return page.goto(path(site.ids) if callable(path) else path)

    return go


def submit_review_with_errors(page: Page, site: Site) -> Any:
    """The review form sent with a lesson that has no title and no project: it comes back
    with the errors beside the fields and the hostile text that was typed."""
    page.goto("/reviews/new?kind=aar")
    page.fill("#project-name", "")
    page.fill("#lessons-0-observation", f"Typed {SCRIPT} zanzibar")
    with page.expect_navigation() as navigation:
        page.click("form[action='/reviews'] button[type=submit]:not([name])")
    return navigation.value


def run_bar(page: Page, site: Site) -> Any:
    page.goto("/bar/new")
    page.fill("#brief", HOSTILE_BRIEF)
    with page.expect_navigation() as navigation:
        page.click("form[action='/bar'] button[type=submit]")
    assert re.search(r"/bar/\d+$", page.url), page.url
    return navigation.value


def sign_in(page: Page) -> None:
    page.goto("/login")
    page.fill("#username", ADMIN)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
    assert "/login" not in page.url, "sign-in failed"


def _merge(ids: Seeded) -> str:
    return f"/curate/merge?lessons={ids.lesson}&lessons={ids.other_lesson}"


# Signed in as an admin, in this order (the sign-in page comes first, before signing in).
PAGES = [
    Spec("sign-in", "/login", to("/login")),
    Spec("home", "/", to("/")),
    Spec("lessons", "/lessons", to("/lessons")),
    Spec("search", "/lessons", to("/lessons?q=zanzibar+generator"), shows_hostile=True),
    Spec("lesson", "/lessons/{id:int}", to(lambda i: f"/lessons/{i.lesson}"), shows_hostile=True),
    Spec(
        "similar lessons",
        "/lessons/{id:int}",
        to(lambda i: f"/lessons/{i.other_lesson}"),
        shows_hostile=True,
        section="Also learned elsewhere",
    ),
    Spec(
        "imported lesson",
        "/lessons/{id:int}",
        to(lambda i: f"/lessons/{i.imported}"),
        shows_hostile=True,
    ),
    Spec("demo lesson", "/lessons/{id:int}", to(lambda i: f"/lessons/{i.demo_lesson}")),
    Spec("projects", "/projects", to("/projects"), shows_hostile=True),
    Spec(
        "project", "/projects/{id:int}", to(lambda i: f"/projects/{i.project}"), shows_hostile=True
    ),
    Spec("demo project", "/projects/{id:int}", to(lambda i: f"/projects/{i.demo_project}")),
    Spec("review", "/reviews/{id:int}", to(lambda i: f"/reviews/{i.review}"), shows_hostile=True),
    Spec("review form", "/reviews/new", to("/reviews/new")),
    Spec(
        "review form errors",
        "/reviews/new",
        submit_review_with_errors,
        status=422,
        shows_hostile=True,
    ),
    Spec("BAR form", "/bar/new", to("/bar/new")),
    Spec("BAR result", "/bar/{id:int}", run_bar, shows_hostile=True),
    Spec("BAR list", "/bar", to("/bar")),
    Spec("actions", "/actions", to("/actions"), shows_hostile=True),
    Spec("my actions", "/actions/mine", to("/actions/mine")),
    Spec(
        "digest preview",
        "/digest",
        to(lambda i: f"/digest?person_id={i.digest_person}"),
        shows_hostile=True,
    ),
    Spec("people", "/people", to("/people"), shows_hostile=True),
    Spec("password", "/account/password", to("/account/password")),
    Spec("admin", "/admin", to("/admin")),
    Spec("admin users", "/admin/users", to("/admin/users")),
    Spec("admin projects", "/admin/projects", to("/admin/projects"), shows_hostile=True),
    Spec(
        "admin members",
        "/admin/projects/{id:int}/members",
        to(lambda i: f"/admin/projects/{i.project}/members"),
        shows_hostile=True,
    ),
    Spec("admin audit", "/admin/audit", to("/admin/audit")),
    Spec("admin deleted", "/admin/deleted", to("/admin/deleted")),
    # Oldest first, ten to a page: the hostile lessons, loaded last, are on page 2.
    Spec("curation queue", "/curate", to("/curate?page=2"), shows_hostile=True),
    Spec("duplicates", "/curate/duplicates", to("/curate/duplicates"), shows_hostile=True),
    Spec("merge form", "/curate/merge", to(_merge), shows_hostile=True),
    Spec("taxonomy", "/taxonomy", to("/taxonomy")),
    Spec("themes", "/themes", to("/themes"), shows_hostile=True),
    Spec("metrics", "/metrics", to("/metrics")),
    Spec(
        "project feed",
        "/feeds/projects/{id:int}.atom",
        to(lambda i: f"/feeds/projects/{i.project}.atom"),
        shows_hostile=True,
        html=False,
    ),
    Spec("not found", "/lessons/{id:int}", to("/lessons/99999999"), status=404),
]
IDS = [spec.name for spec in PAGES]


@dataclass
class Visit:
    status: int
    url: str
    violations: list[str]
    inert: dict[str, Any]
    dialogs: list[str]
    scroll: dict[str, Any]


@dataclass
class Tab:
    """One page of one context, signed in as the admin, and what it saw at each visit."""

    page: Page
    site: Site
    layout_only: bool  # axe: only the rules that depend on the layout
    visits: dict[str, Visit] = field(default_factory=dict)
    dialogs: list[str] = field(default_factory=list)
    signed_in: bool = False

    def visit(self, spec: Spec) -> Visit:
        if spec.route not in self.site.paths:
            pytest.skip(f"page not built yet: no route {spec.route}")
        if spec.name in self.visits:
            return self.visits[spec.name]
        if spec.name != "sign-in" and not self.signed_in:
            sign_in(self.page)
            self.signed_in = True
        self.dialogs.clear()
        response = spec.go(self.page, self.site)
        assert response is not None, f"{spec.name}: no response"
        self.page.wait_for_load_state("load")
        visit = Visit(
            status=response.status,
            url=self.page.url,
            violations=self._axe() if spec.html else [],
            inert=self.page.evaluate(INERT_PROBE, spec.section),
            dialogs=list(self.dialogs),
            scroll=self.page.evaluate(SCROLL_PROBE) if spec.html else {},
        )
        self.visits[spec.name] = visit
        return visit

    def _axe(self) -> list[str]:
        options = axe_options(layout_only=self.layout_only)
        results = Axe().run(self.page, options=options).response
        wanted = len(LAYOUT_RULES) if self.layout_only else 50
        assert rules_run(results) >= wanted, f"axe did not run on {self.page.url}"
        return serious_violations(results)


# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, migrated_template: str) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser")
    database_url = copy_database(migrated_template, folder)
    ids = seed(database_url)
    settings = Settings(
        database_url=database_url,
        embedding_model="hashing",
        load_demo=False,
        secret_key="browser-test-secret",
        secret_key_file=str(folder / "secret_key"),
    )
    app = create_app(settings, embedder=HashingEmbedder())
    server = LiveServer(app)
    server.start()
    try:
        yield Site(url=server.url, ids=ids, paths=served_paths(app))
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _context(browser: Browser, site: Site, viewport: dict[str, int]) -> BrowserContext:
    context = browser.new_context(base_url=site.url, viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    return context


def _tab(context: BrowserContext, site: Site, *, layout_only: bool) -> Tab:
    page = context.new_page()
    tab = Tab(page=page, site=site, layout_only=layout_only)

    def on_dialog(dialog: Any) -> None:
        tab.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return tab


@pytest.fixture(scope="module")
def desktop_context(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    context = _context(browser, site, DESKTOP)
    yield context
    context.close()


@pytest.fixture(scope="module")
def desktop(desktop_context: BrowserContext, site: Site) -> Tab:
    return _tab(desktop_context, site, layout_only=False)


@pytest.fixture(scope="module")
def narrow(browser: Browser, site: Site) -> Iterator[Tab]:
    context = _context(browser, site, NARROW)
    yield _tab(context, site, layout_only=True)
    context.close()


# ---- the checks -------------------------------------------------------------------------


def _assert_accessible(visit: Visit, spec: Spec) -> None:
    assert visit.status == spec.status, f"{spec.name}: {visit.url} answered {visit.status}"
    if not spec.html:
        pytest.skip("not an HTML page")
    assert not visit.violations, f"{spec.name} ({visit.url}):\n" + "\n".join(visit.violations)


@pytest.mark.parametrize("spec", PAGES, ids=IDS)
def test_page_meets_wcag_22_aa(desktop: Tab, spec: Spec) -> None:
    _assert_accessible(desktop.visit(spec), spec)


@pytest.mark.parametrize("spec", PAGES, ids=IDS)
def test_page_meets_wcag_22_aa_at_360px(narrow: Tab, spec: Spec) -> None:
    """Again on a phone-sized screen, with the rules whose outcome depends on the layout
    (a table that scrolls inside itself must be reachable by keyboard; targets big enough)."""
    _assert_accessible(narrow.visit(spec), spec)


@pytest.mark.parametrize("spec", PAGES, ids=IDS)
def test_hostile_lesson_text_is_inert(desktop: Tab, spec: Spec) -> None:
    visit = desktop.visit(spec)
    inert = visit.inert
    if spec.shows_hostile:
        where = f"under '{spec.section}' " if spec.section else ""
        assert "window.__xss=1" in inert["text"], (
            f"{spec.name}: the hostile lesson text is not {where}on {visit.url}, "
            "so this proves nothing"
        )
    problems = {
        "script ran (window.__xss is set)": inert["ran"],
        "dialogs opened": visit.dialogs,
        "inline <script> elements": inert["inlineScripts"],
        "event-handler attributes": inert["handlers"],
        "javascript: URLs": inert["jsUrls"],
        "frames, SVG, styles or images from lesson text": inert["foreign"],
    }
    found = {what: value for what, value in problems.items() if value}
    assert not found, f"{spec.name} ({visit.url}): {found}"


@pytest.mark.parametrize("width", ["360px", "1280px"])
@pytest.mark.parametrize("spec", PAGES, ids=IDS)
def test_no_page_scrolls_sideways(request: pytest.FixtureRequest, width: str, spec: Spec) -> None:
    """360 px is a small phone, and what a 1280 px screen shows at 400 % zoom (WCAG 1.4.10)."""
    tab: Tab = request.getfixturevalue("narrow" if width == "360px" else "desktop")
    visit = tab.visit(spec)
    assert visit.status == spec.status, f"{spec.name}: {visit.url} answered {visit.status}"
    if not spec.html:
        pytest.skip("not an HTML page")
    scroll = visit.scroll
    assert scroll["scrollWidth"] <= scroll["innerWidth"] + 1, (
        f"{spec.name} ({visit.url}) is {scroll['scrollWidth']} px wide in a "
        f"{scroll['innerWidth']} px window; too wide: {scroll['widest']}"
    )


def test_content_security_policy_refuses_inline_script(
    desktop_context: BrowserContext, site: Site
) -> None:
    """Escaping is the first defence; the policy is the second: an inline script or event
    handler that did reach a page would still be refused."""
    page = desktop_context.new_page()
    response = page.goto(f"/lessons/{site.ids.lesson}")
    assert response is not None and response.status == 200
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy
    probe = page.evaluate(CSP_PROBE)
    page.close()
    assert probe["ran"] is None, f"an inline {probe['ran']}"
    assert sorted(probe["refused"]) == ["script-src-attr inline", "script-src-elem inline"]


def _tab_until(page: Page, wanted: Callable[[dict[str, Any]], bool], stops: list[Any]) -> None:
    """Press Tab until the focused element is `wanted`, noting every stop on the way."""
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_PROBE)
        stops.append(focused)
        if focused and wanted(focused):
            return
    raise AssertionError(f"not reached by Tab in 60 presses; stops: {stops[-10:]}")


def test_keyboard_alone_runs_a_before_action_review(
    desktop_context: BrowserContext, site: Site, desktop: Tab
) -> None:
    desktop.visit(PAGES[1])  # signed in (the context shares the cookie)
    page = desktop_context.new_page()
    stops: list[Any] = []
    page.goto("/")
    _tab_until(page, lambda f: f["href"] == "/bar/new", stops)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/bar/new"), page.url
    _tab_until(page, lambda f: f["id"] == "brief", stops)
    page.keyboard.type("Running a measles vaccination campaign with cold-chain fridges")
    _tab_until(page, lambda f: f["tag"] == "button" and "Find" in f["text"], stops)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert re.search(r"/bar/\d+$", page.url), page.url
    assert "measles vaccination campaign" in page.inner_text("main")
    assert page.locator("main a[href^='/lessons/']").count() > 0, "no lessons surfaced"
    unseen = [s for s in stops if s and not s["visible"]]
    assert not unseen, f"focus not visible on: {unseen}"
    page.close()
