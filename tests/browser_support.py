"""What the real-browser tests stand on: Chromium (Debian's, driven by Playwright), axe-core,
a live uvicorn serving the app on 127.0.0.1, and a bank seeded with hostile lesson text.

Kept apart from tests/ui/test_browser.py so the test file reads as the list of checks."""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from sqlmodel import Session, col, select
from starlette.applications import Starlette
from starlette.routing import Route

from data import DEMO_BANK
from lessons.imports.seed import load_bank, read_bank
from lessons.imports.upsert import LessonRecord, upsert_all
from lessons.storage.db import make_engine, migrate, transaction
from lessons.storage.models import Lesson, LessonStatus, Person, Project, Review
from tests.databases import databases

# Debian's Chromium: Playwright's own browser download cannot reach its servers from here.
CHROMIUM = Path(os.environ.get("LESSONBANK_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# CI sets this, so a machine without Chromium fails the run instead of skipping the checks.
REQUIRED_ENV = "LESSONBANK_BROWSER_REQUIRED"
# What "WCAG 2.2 AA" means to axe-core: every A and AA rule of 2.0, 2.1 and 2.2.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
# On a narrow screen, again the rules whose outcome depends on the layout (colours do not
# change with the width, and the colour-contrast rule is the slow one).
LAYOUT_RULES = ["scrollable-region-focusable", "target-size", "meta-viewport"]
FAILING_IMPACTS = ("serious", "critical")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import axe_playwright_python  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[dev]')"
    if not os.access(CHROMIUM, os.X_OK):
        return (
            f"Chromium not found at {CHROMIUM}: apt-get install chromium "
            f"(or point LESSONBANK_CHROMIUM at a Chromium binary)"
        )
    return None


# ---- hostile lesson text ----------------------------------------------------------------

# Each payload would set window.__xss if the browser ran it. The word "zanzibar" marks the
# hostile lessons, so a search finds them and a page can be checked to really show them.
MARK = "zanzibar"
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
SVG = '<svg onload="window.__xss=1"><circle r="4"></circle></svg>'
MD_LINK = "[open the zanzibar checklist](javascript:window.__xss=1)"
RAW_LINK = '<a href="javascript:window.__xss=1">zanzibar raw link</a>'
JS_URL = "javascript:window.__xss=1"

HOSTILE_TITLE = f"Zanzibar lesson {SCRIPT} with {IMG}"
HOSTILE_TEXT = {
    "observation": f"The zanzibar generator failed twice. {IMG} Then {SVG} happened.",
    "insight": f"Nobody read the zanzibar manual: {MD_LINK}. {SCRIPT}",
    "recommendation": (
        f"Check the zanzibar generator fuel before each run. {RAW_LINK}\n\n"
        f'<iframe srcdoc="{SCRIPT}"></iframe> <style>body{{display:none}}</style>'
    ),
}
HOSTILE_PROJECT = f"Zanzibar relief {SCRIPT}"
HOSTILE_AUTHOR = f"Mallory {IMG}"
HOSTILE_BRIEF = f"We are about to run the zanzibar generator for a relief camp. {SCRIPT} {IMG}"


def _hostile_lesson(n: int, status: str) -> dict[str, Any]:
    return {
        "title": f"{HOSTILE_TITLE} #{n}",
        **HOSTILE_TEXT,
        "polarity": "improve",
        "perspective": "operational",
        "tags": [SCRIPT, IMG, "zanzibar"],
        "sensitivity": "internal",
        "status": status,
    }


def hostile_bank() -> dict[str, Any]:
    """Three projects that met the same (hostile) problem, so it is also a recurring theme;
    one lesson in each is validated (search, BAR, similar lessons), one awaits a curator (the
    curation queue), and each review's answers and action carry the payloads too."""
    projects = []
    for n, name in enumerate([HOSTILE_PROJECT, "Zanzibar water point", "Zanzibar clinic"]):
        projects.append(
            {
                "name": name,
                "summary": f"A zanzibar project. {SCRIPT} {IMG}",
                "unit": f"Zanzibar unit {SVG}",
                "start_date": "2025-01-10",
                "tags": ["zanzibar", SCRIPT],
                "reviews": [
                    {
                        "kind": "aar",
                        "held_on": "2025-03-01",
                        "author": HOSTILE_AUTHOR,
                        "answers": {"planned": f"Run zanzibar {SCRIPT}", "actual": IMG},
                        "lessons": [
                            _hostile_lesson(2 * n + 1, "validated"),
                            _hostile_lesson(2 * n + 2, "identified"),
                        ],
                        "actions": [
                            {
                                "what": f"Fix the zanzibar generator {SCRIPT} {IMG}",
                                "owner": HOSTILE_AUTHOR,
                                "due": "2025-04-01",
                                "lesson_index": 0,
                            }
                        ],
                    }
                ],
            }
        )
    # Mallory has an account and an address: her digest (overdue hostile actions) is a page.
    people = [{"name": HOSTILE_AUTHOR, "email": "mallory@example.org", "account": "mallory"}]
    return {"people": people, "projects": projects}


def imported_hostile_lesson() -> LessonRecord:
    """A lesson as an import reads it: the one path that sets a source link."""
    return LessonRecord(
        external_id="browser-test:zanzibar-1",
        title=f"Imported zanzibar lesson {SCRIPT}",
        observation=f"Imported zanzibar text {IMG}",
        source_url=JS_URL,
        project=HOSTILE_PROJECT,
        author=HOSTILE_AUTHOR,
        status=LessonStatus.VALIDATED,
    )


@dataclass(frozen=True)
class Seeded:
    """Ids of the records the pages under test show."""

    lesson: int  # a validated hostile lesson
    other_lesson: int  # another validated one (its page shows the first as similar)
    imported: int  # the imported one with a javascript: source link
    queued: int  # a hostile lesson awaiting validation
    project: int
    review: int
    demo_lesson: int  # a demo lesson (merged lessons point to it, when merges are seeded)
    demo_project: int
    digest_person: int  # Mallory, whose digest holds the hostile actions


def seed(database_url: str) -> Seeded:
    """The demo bank and the hostile bank, loaded through the same services users go through."""
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with transaction(engine, write=True) as session:
            load_bank(session, read_bank(DEMO_BANK))
            load_bank(session, hostile_bank())
            result = upsert_all(
                session, [("row 1", imported_hostile_lesson())], actor="browser test"
            )
            assert not result.problems, result.problems
        with Session(engine) as session:
            return _ids(session)
    finally:
        engine.dispose()


def _ids(session: Session) -> Seeded:
    def lesson(title: str) -> int:
        found = session.exec(select(Lesson.id).where(Lesson.title == title)).one()
        assert found is not None
        return found

    project = session.exec(select(Project).where(Project.name == HOSTILE_PROJECT)).one()
    review = session.exec(select(Review.id).where(Review.project_id == project.id)).one()
    demo = session.exec(
        select(Lesson)
        .where(col(Lesson.title).not_like("%anzibar%"))
        .where(Lesson.status == LessonStatus.VALIDATED)
        .order_by(col(Lesson.id))
    ).first()
    assert project.id is not None and review is not None and demo is not None
    assert demo.id is not None and demo.project_id is not None
    return Seeded(
        lesson=lesson(f"{HOSTILE_TITLE} #1"),
        other_lesson=lesson(f"{HOSTILE_TITLE} #3"),
        imported=lesson(imported_hostile_lesson().title),
        queued=lesson(f"{HOSTILE_TITLE} #2"),
        project=project.id,
        review=review,
        demo_lesson=demo.id,
        demo_project=demo.project_id,
        digest_person=session.exec(select(Person.id).where(Person.name == HOSTILE_AUTHOR)).one()
        or 0,
    )


def copy_database(template: str, folder: Path) -> str:
    return databases().copy(template, folder)


def served_paths(app: Starlette) -> set[str]:
    """The GET paths the app serves, as written in its routes (`/lessons/{id:int}`)."""
    return {
        route.path
        for route in app.routes
        if isinstance(route, Route) and "GET" in (route.methods or ())
    }


# ---- the live server --------------------------------------------------------------------


class LiveServer:
    """uvicorn serving `app` on 127.0.0.1 in a thread, on a port the OS picked."""

    def __init__(self, app: Starlette) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def start(self, timeout: float = 120.0) -> None:
        """Start and wait until the app has finished its start-up (migrated, indexed)."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the live server stopped during start-up (see its log)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the live server did not start within {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.socket.close()


# ---- checks run inside the page ---------------------------------------------------------

# Anything hostile text could have turned into: a set flag, inline script elements, event
# handler attributes, javascript: URLs, frames, SVG or style elements (the templates have
# none), images not served by us. `text` is what the page shows, or, given a heading, what the
# section under that heading shows.
INERT_PROBE = """(heading) => {
  const attrs = el => Array.from(el.attributes || []);
  const all = Array.from(document.querySelectorAll('*'));
  const jsUrl = v => /^\\s*javascript:/i.test(v || '');
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'xlink:href'];
  const foreign = el => ['iframe', 'object', 'embed', 'svg', 'style', 'base'].includes(el.localName)
    || (el.localName === 'img' && !(el.getAttribute('src') || '').startsWith('/'));
  const root = document.body || document.documentElement;
  const titled = heading && Array.from(document.querySelectorAll('h2'))
    .find(h => h.textContent.trim() === heading);
  return {
    ran: typeof window.__xss !== 'undefined',
    inlineScripts: Array.from(document.querySelectorAll('script'))
      .filter(s => !s.getAttribute('src')).map(s => s.outerHTML.slice(0, 120)),
    handlers: all.flatMap(el => attrs(el).filter(a => a.name.toLowerCase().startsWith('on'))
      .map(a => `<${el.localName} ${a.name}>`)),
    jsUrls: all.flatMap(el => attrs(el)
      .filter(a => urlAttrs.includes(a.name) && jsUrl(a.value))
      .map(a => `<${el.localName} ${a.name}="${a.value}">`)),
    foreign: all.filter(foreign).map(el => el.outerHTML.slice(0, 120)),
    text: heading ? (titled ? titled.closest('section').textContent : '') : root.textContent,
  };
}"""

# A page's own inline script and inline handler, added after load: the CSP must refuse both
# (the browser reports each refusal as a securitypolicyviolation event).
CSP_PROBE = """async () => {
  const refused = [];
  document.addEventListener('securitypolicyviolation',
    e => refused.push(e.effectiveDirective + ' ' + e.blockedURI));
  const s = document.createElement('script');
  s.textContent = 'window.__cspProbe = "script ran"';
  document.body.append(s);
  const b = document.createElement('button');
  b.setAttribute('onclick', 'window.__cspProbe = "handler ran"');
  document.body.append(b);
  b.click();
  await new Promise(resolve => setTimeout(resolve, 100));
  return {ran: window.__cspProbe || null, refused};
}"""

# The focused element's visible focus indicator: a real outline or a box shadow.
FOCUS_PROBE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow && s.boxShadow !== 'none';
  return {tag: el.localName, text: (el.textContent || el.name || '').trim().slice(0, 60),
          href: el.getAttribute('href'), id: el.id, visible: outline || shadow,
          outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, shadow: s.boxShadow};
}"""

# How wide the page is, and what makes it so: elements past the window's right edge, and
# elements whose own content (a long word, a wide table) spills out of them.
SCROLL_PROBE = """() => {
  const limit = window.innerWidth + 1;
  const name = el => el.localName + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ')[0] : '');
  const culprits = Array.from(document.querySelectorAll('body *')).filter(el => {
    const style = getComputedStyle(el);
    const spills = el.scrollWidth > el.clientWidth + 1 && style.overflowX === 'visible'
      && el.clientWidth > 0;
    return el.getBoundingClientRect().right > limit || spills;
  });
  // The innermost culprits say most: an element whose children are not culprits themselves.
  const innermost = culprits.filter(el => !culprits.some(o => o !== el && el.contains(o)));
  return {
    scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth: window.innerWidth,
    widest: innermost.slice(0, 6).map(el =>
      `${name(el)} (right ${Math.round(el.getBoundingClientRect().right)}, ` +
      `content ${el.scrollWidth}): ${(el.textContent || '').trim().slice(0, 40)}`),
  };
}"""


def serious_violations(results: dict[str, Any]) -> list[str]:
    """axe's serious and critical violations, one line per element: rule, target, help URL."""
    lines = []
    for violation in results["violations"]:
        if violation.get("impact") not in FAILING_IMPACTS:
            continue
        for node in violation["nodes"]:
            lines.append(
                f"{violation['id']} ({violation['impact']}): {node['target']} — "
                f"{violation['help']} {violation['helpUrl']}"
            )
    return lines


def axe_options(*, layout_only: bool = False) -> dict[str, Any]:
    only = (
        {"type": "rule", "values": LAYOUT_RULES}
        if layout_only
        else {"type": "tag", "values": WCAG_TAGS}
    )
    return {"runOnly": only, "resultTypes": ["violations"]}


def rules_run(results: dict[str, Any]) -> int:
    """How many rules axe reported on, whatever their outcome: a page axe could not judge
    (not loaded, the script refused) reports none and would otherwise pass."""
    kinds = ("passes", "violations", "incomplete", "inapplicable")
    return sum(len(results.get(kind, [])) for kind in kinds)
