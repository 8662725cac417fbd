"""The BM25 formula and the statistics it is computed from: the viewer's own.

Every statistic is the viewer's own (`Collection`): lesson count, average length and document
frequencies come from the lessons the viewer may see, never from the whole index, so no score
shown changes when a hidden lesson holding a query term is added (FTS5's own bm25() counts
every lesson, which told a contributor how many hidden lessons hold a word). `exact`
(retrieval.bm25_exact) ranks every visible match by those statistics when the query's
postings are few; the bounded path (retrieval.bm25_bounded) uses the same ones.

The pieces: this module (constants, `Corpus`, `Collection`); retrieval.fts5_index (reading
FTS5's own records, postings and tokenizer); retrieval.bm25_caches (what is kept between
queries); retrieval.bm25_exact (every visible match scored); retrieval.bm25_bounded (a bounded
set of candidates, for banks too large for that).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

# FTS5's bm25() constants, and our column weights: a term in the title says more than one in
# the body, and a tag more than the body.
K1, B = 1.2, 0.75
WEIGHTS = (4.0, 1.0, 2.0)  # whole numbers: `bm25_exact._weighted_counts` relies on it

Ids = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Corpus:
    lessons: int
    average_length: float  # tokens per lesson over all columns

    def idf(self, frequency: int) -> float:
        """FTS5's IDF: terms in more than half the lessons count for (almost) nothing."""
        value = math.log((self.lessons - frequency + 0.5) / (frequency + 0.5))
        return value if value > 0 else 1e-6


@dataclass
class Collection:
    """The lessons a viewer may see, as BM25 counts them: their number, average length and,
    per query word, how many hold it. Nothing about a hidden lesson enters a score."""

    ids: Ids  # sorted
    lengths: np.ndarray  # every indexed lesson's length, by id
    visible: Mask  # by id
    corpus: Corpus
    version: object  # the lessons' snapshot (lessons.storage.changes.version)
    frequency: dict[str, int] = field(default_factory=dict)  # query word -> visible lessons

    def holds(self, ids: Ids) -> Mask:
        """Which of `ids` (lesson ids) the viewer may see."""
        inside = ids < len(self.visible)
        found = np.zeros(len(ids), bool)
        found[inside] = self.visible[ids[inside]]
        return found

    def frequencies(self, held: dict[str, Ids]) -> dict[str, int]:
        """Visible lessons holding each word, of those holding it
        (`bm25_caches._FrequencyCache`)."""
        for word, ids in held.items():
            if word not in self.frequency:
                self.frequency[word] = int(np.count_nonzero(self.holds(ids)))
        return {w: self.frequency[w] for w in held}


def _members(values: Ids, sorted_ids: Ids) -> tuple[np.ndarray, Ids]:
    """Which `values` are in `sorted_ids` (ascending, not empty), and where."""
    at = np.searchsorted(sorted_ids, values).clip(max=len(sorted_ids) - 1)
    return sorted_ids[at] == values, at
