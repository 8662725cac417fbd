"""Cleaning text that arrives with leftover HTML, entities and export artefacts."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]+>")
_BLOCK_TAG = re.compile(r"<\s*(br|/p|p|/li|/div|/h\d)\b[^>]*>", re.IGNORECASE)
_NBSP_ARTEFACT = re.compile(r"(?<=[.:;!?])_|(?<!\S)_(?!\S)|_{2,}", re.MULTILINE)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def clean_text(raw: object) -> str:
    """Plain text: tags dropped (block tags become line breaks), entities decoded (twice, for
    double-escaped sources such as `&amp;raquo;`), `._` non-breaking-space artefacts removed,
    whitespace tidied with paragraph breaks kept."""
    if raw is None:
        return ""
    text = str(raw)
    text = _BLOCK_TAG.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(html.unescape(text))
    text = _NBSP_ARTEFACT.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return "\n".join(line.strip() for line in text.strip().splitlines())


def _squash(text: str) -> str:
    """Words only, for comparing two cleanings of the same text."""
    return " ".join(re.findall(r"\w+", text.lower()))


def combine(kept: str, incoming: str) -> str:
    """Two versions of one section: the fuller one when one holds the other, otherwise both
    (paragraphs not already present are appended), so no source's text is lost."""
    if not incoming or _squash(incoming) in _squash(kept):
        return kept
    if not kept or _squash(kept) in _squash(incoming):
        return incoming
    present = {_squash(p) for p in kept.split("\n\n")}
    extra = [p for p in incoming.split("\n\n") if _squash(p) not in present]
    return "\n\n".join([kept, *extra])
