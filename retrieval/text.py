"""The text of a lesson as the index sees it, and the pieces shown to explain a match."""

from __future__ import annotations

import hashlib
import re

from lessons.storage.models import Lesson

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")


def lesson_text(lesson: Lesson) -> str:
    """Title, observation, insight, recommendation and tags: what a lesson is about."""
    parts = [lesson.title, lesson.observation, lesson.insight, lesson.recommendation]
    if lesson.tags:
        parts.append("Tags: " + ", ".join(tag.replace("-", " ") for tag in lesson.tags))
    return "\n".join(part.strip() for part in parts if part and part.strip())


def passages(lesson: Lesson, max_words: int) -> list[str]:
    """A long lesson in pieces the model reads whole, each led by the title so it keeps its
    context; none for a lesson the model reads whole already (its lesson vector covers it)."""
    text = lesson_text(lesson)
    if len(text.split()) <= max_words:
        return []
    title = (lesson.title or "").strip()
    body = text[len(title) :].strip() if title and text.startswith(title) else text
    room = max(16, max_words - len(title.split()))
    return [f"{title}. {piece}" if title else piece for piece in chunks(body, room)]


def body_sentences(lesson: Lesson) -> list[str]:
    """The sentences a match may be explained by: the observation's, insight's and
    recommendation's (the title when there are none). Vectors are stored for each, in order."""
    body = " ".join((lesson.observation, lesson.insight, lesson.recommendation))
    return sentences(body) or [lesson.title]


def content_hash(model: str, text: str) -> str:
    """Changes when the text or the model changes, and only then."""
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


def passages_hash(model: str, max_words: int, text: str) -> str:
    """As `content_hash`, for a lesson's passages: also changes when they are cut otherwise."""
    return content_hash(f"{model}\0passages of {max_words} words", text)


def sentences_hash(model: str, text: str) -> str:
    """As `content_hash`, for a lesson's sentence vectors (also changes when they are cut
    otherwise)."""
    return content_hash(f"{model}\0sentences", text)


def sentences(text: str) -> list[str]:
    """Rough sentence split; good enough to pick the sentence nearest a brief."""
    return [s.strip() for s in _SENTENCE_END.split(text) if len(s.strip()) > 1]


def chunks(text: str, max_words: int) -> list[str]:
    """Split long text into pieces the model reads whole, on sentence boundaries where possible."""
    pieces: list[str] = []
    current: list[str] = []
    for sentence in sentences(text) or [text]:
        words = sentence.split()
        while len(words) > max_words:  # one very long sentence: cut it by words
            if current:
                pieces.append(" ".join(current))
                current = []
            pieces.append(" ".join(words[:max_words]))
            words = words[max_words:]
        if current and len(current) + len(words) > max_words:
            pieces.append(" ".join(current))
            current = []
        current.extend(words)
    if current:
        pieces.append(" ".join(current))
    return pieces or [text]


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]
