"""Why a lesson matched: the brief's words it shares (filler words are no reason), and its
sentence closest in meaning to the brief (by the model, when the caller can ask it; else the
sentence sharing the most words)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # type: ignore[import-untyped]

from lessons.storage.models import Lesson
from retrieval.text import sentences, words

# Words too common to explain anything (or to search on).
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
# Words shared with a brief that are no reason to read a lesson: scikit-learn's English stop
# words (numbers, quantifiers: "six", "across", "never", "nobody") and everyday filler.
_FILLER_TEXT = """
people person persons thing things way ways lot lots kind sort want wanted really actually
make makes made making get gets got getting take takes took time times like said say says
know knew known going went come came good well right left still even ever
"""
FILLER = STOPWORDS | ENGLISH_STOP_WORDS | frozenset(_FILLER_TEXT.split())
# Given sentences, the index of the one closest in meaning to the brief (None: no answer, pick
# by shared words).
Closest = Callable[[list[str]], int | None]
_TOKEN = re.compile(r"[A-Za-z0-9]+|[^A-Za-z0-9]+")


def has_words(text: str) -> bool:
    """Whether the text holds a word worth searching on (not only punctuation, emoji,
    numbers or filler words)."""
    return any(w not in STOPWORDS and not w.isdigit() for w in words(text))


@dataclass(frozen=True)
class Explanation:
    matched_terms: list[str]
    best_sentence: str
    # The best sentence cut into (text, is_match) pieces, for highlighting without raw HTML.
    highlighted: list[tuple[str, bool]]


_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    """English Snowball stem, so `fridges` meets `fridge` and `arrival` meets `arrived`."""
    return str(_STEMMER.stemWord(word))


def content_stems(text: str) -> frozenset[str]:
    """The stems of the text's content words. Short texts (the same lessons' sentences come
    back search after search, a brief is explained against every hit) are cached; long ones
    are not, so briefs of any length cannot fill memory."""
    return _short_content_stems(text) if len(text) <= _CACHED_UP_TO else _content_stems(text)


def _content_stems(text: str) -> frozenset[str]:
    return frozenset(
        stem(w) for w in words(text.replace("-", " ")) if w not in STOPWORDS and len(w) > 2
    )


_CACHED_UP_TO = 1_000  # characters: 20,000 texts this long hold well under 100 MB of stems
_short_content_stems = lru_cache(maxsize=20_000)(_content_stems)


def highlight(text: str, stems: frozenset[str]) -> list[tuple[str, bool]]:
    """`text` in pieces, each marked when it is a word whose stem is in `stems`."""
    pieces: list[tuple[str, bool]] = []
    for token in _TOKEN.findall(text):
        hit = token[0].isalnum() and stem(token.lower()) in stems
        if pieces and pieces[-1][1] == hit:
            pieces[-1] = (pieces[-1][0] + token, hit)
        else:
            pieces.append((token, hit))
    return pieces


def explain(
    lesson: Lesson,
    query: str,
    closest: Closest | None = None,
    among: list[str] | None = None,
) -> Explanation:
    """Terms of `query` found in the lesson, and the lesson sentence closest in meaning to it
    (`closest` picks among `among`, or among all the lesson's sentences); without `closest`,
    the sentence that holds most of the terms."""
    query_stems = content_stems(query)
    body = " ".join(part for part in (lesson.observation, lesson.insight, lesson.recommendation))
    matched: dict[str, None] = {}
    for word in words(f"{lesson.title} {body} {' '.join(lesson.tags)}".replace("-", " ")):
        if word not in FILLER and len(word) > 2 and stem(word) in query_stems:
            matched[word] = None
    candidates = among or sentences(body) or [lesson.title]
    pick = closest(candidates) if closest is not None else None
    if pick is not None:
        best = candidates[pick][:400]
    else:
        best = max(
            enumerate(candidates),
            key=lambda pair: (len(content_stems(pair[1]) & query_stems), -pair[0]),
        )[1][:400]
    return Explanation(
        matched_terms=list(matched)[:12],
        best_sentence=best,
        highlighted=highlight(best, frozenset(stem(w) for w in matched)),
    )
