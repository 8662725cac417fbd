"""A digest as words: its subject, a plain-text body and an HTML body (the preview page shows
the same HTML). Every text that came from a record is escaped in HTML by Jinja's autoescape."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from lessons.digest.compose import Digest

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=lambda name: bool(name and name.endswith(".html")),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def subject(digest: Digest) -> str:
    return f"Lessonbank digest, {digest.day.isoformat()}: {digest.summary()}"


def text(digest: Digest, *, site: str) -> str:
    return _TEMPLATES.get_template("digest.txt").render(digest=digest, site=site)


def html_body(digest: Digest, *, site: str, show_empty: bool = False) -> Markup:
    """The digest's sections as an HTML fragment (the preview page shows empty ones too)."""
    return Markup(
        _TEMPLATES.get_template("digest_body.html").render(
            digest=digest, site=site, show_empty=show_empty
        )
    )


def html(digest: Digest, *, site: str) -> str:
    """The whole HTML document sent by e-mail."""
    return _TEMPLATES.get_template("digest_mail.html").render(
        body=html_body(digest, site=site), site=site
    )
