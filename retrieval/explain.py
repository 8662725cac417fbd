"""Why a lesson matched: the brief's words it shares and its sentence that shares the most."""

from __future__ import annotations

from dataclasses import dataclass

from lessons.models import Lesson
from retrieval.text import sentences, words

# Words too common to explain anything.
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers him his how i if in into is it its itself just me more most my
no nor not now of off on once only or other our ours out over own same she should so some such
than that the their theirs them then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your new next work
plan planning need needs use used using
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Explanation:
    matched_terms: list[str]
    best_sentence: str


def _stem(word: str) -> str:
    """A crude stem so `fridges` meets `fridge` and `delayed` meets `delay`."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def explain(lesson: Lesson, query: str) -> Explanation:
    """Terms of `query` found in the lesson, and the lesson sentence that holds most of them."""
    query_stems = {_stem(w) for w in words(query) if w not in STOPWORDS and len(w) > 2}
    body = " ".join([lesson.observation, lesson.insight, lesson.recommendation])
    matched: dict[str, None] = {}
    for word in words(f"{lesson.title} {body} {' '.join(lesson.tags)}"):
        if _stem(word) in query_stems and word not in STOPWORDS:
            matched[word] = None
    candidates = sentences(body) or [lesson.title]
    best = max(
        candidates,
        key=lambda s: (len({_stem(w) for w in words(s)} & query_stems), -candidates.index(s)),
    )
    return Explanation(matched_terms=list(matched)[:12], best_sentence=best[:400])
