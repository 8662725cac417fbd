"""Lesson text may use a small, safe subset of Markdown: rendered, then sanitised."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in the source is escaped by the parser (html=False); the sanitiser then keeps only
# these tags and http(s)/mailto links, so nothing a writer types can run in a reader's browser.
_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
_TAGS = {"p", "em", "strong", "ul", "ol", "li", "code", "pre", "blockquote", "a", "br"}
_ATTRIBUTES = {"a": {"href"}}


def render(text: str | None) -> Markup:
    """Markdown to sanitised HTML, ready to place in a template."""
    if not text:
        return Markup("")
    html = _PARSER.render(text)
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)
