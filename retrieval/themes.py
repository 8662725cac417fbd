"""Recurring themes: lessons grouped by meaning, by clustering their stored vectors.

Average-linkage agglomerative clustering (scikit-learn) over cosine similarity: two groups
join only while the mean similarity of every pair across them stays above THRESHOLD, so each
lesson in a group is close to the group as a whole, not just to one centre. The sentence-
transformers `community_detection` (a centre and every lesson within a radius of it) was tried
first: at thresholds low enough to join the same problem met in different sectors (0.40-0.42
on the demo bank) its first community took 13-14 lessons mixing offline data collection,
briefing councillors and missed-bin heat maps; average linkage at 0.38 keeps them apart (see
scripts/check_themes.py for the demo bank and the NASA figures).

Which lessons may be clustered is the domain's rule (`lessons.curation.themes.candidate_ids`): the
viewer's access is applied before any vector is read.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections import OrderedDict

import numpy as np
from sqlmodel import Session, col, select

from lessons.accounts.access import Viewer
from lessons.curation.themes import access_key, candidate_ids
from lessons.storage import changes
from lessons.storage.models import LessonEmbedding
from retrieval.embedder import Vectors

# Mean pairwise cosine a group must keep (all-MiniLM-L6-v2 over a lesson's whole text). Chosen
# on the demo bank: 0.40 splits "order early for the season" from "order early for lead time";
# 0.36 starts joining unrelated volunteer and committee lessons.
THRESHOLD = 0.38
# A theme needs three projects, so a group needs at least three lessons.
MIN_SIZE = 3
# A group larger than this is no theme a curator can read (the NASA bank, all one engineering
# domain, made one of 191 lessons at THRESHOLD): it is split at a threshold SPLIT_STEP higher,
# again if need be, keeping the sub-groups that are large enough.
MAX_SIZE = 40
SPLIT_STEP = 0.04
# Up to this many lessons the exact pairwise matrix is clustered (5,000 lessons: 12.5M pairs,
# about 100 MB); beyond it, only each lesson's nearest neighbours are linked, which keeps
# memory linear in the bank.
EXACT_LIMIT = 5_000
NEIGHBOURS = 30
_CACHE_SIZE = 16


def cluster(
    vectors: Vectors,
    *,
    threshold: float = THRESHOLD,
    min_size: int = MIN_SIZE,
    max_size: int = MAX_SIZE,
    exact_limit: int = EXACT_LIMIT,
) -> list[list[int]]:
    """Groups of row indices whose mean pairwise cosine is at least `threshold`, each with at
    least `min_size` rows (and at most `max_size`, splitting larger ones tighter); the most
    central row (highest mean similarity to the rest) first, the others by similarity to it;
    largest groups first."""
    found = []
    for members in _linked(vectors, threshold, min_size, exact_limit):
        if len(members) <= max_size or threshold + SPLIT_STEP >= 1.0:
            found.append(members)
            continue
        tighter = cluster(
            vectors[members],
            threshold=threshold + SPLIT_STEP,
            min_size=min_size,
            max_size=max_size,
            exact_limit=exact_limit,
        )
        found += [[members[row] for row in part] for part in tighter]
    return sorted(found, key=lambda members: (-len(members), members[0]))


def _linked(vectors: Vectors, threshold: float, min_size: int, exact_limit: int) -> list[list[int]]:
    from sklearn.cluster import AgglomerativeClustering  # type: ignore[import-untyped]

    rows = len(vectors)
    if rows < max(min_size, 2):
        return []
    connectivity = None
    if rows > exact_limit:
        from sklearn.neighbors import kneighbors_graph  # type: ignore[import-untyped]

        connectivity = kneighbors_graph(
            vectors, n_neighbors=min(NEIGHBOURS, rows - 1), metric="cosine", include_self=False
        )
    model = AgglomerativeClustering(
        n_clusters=None,
        metric="cosine",
        linkage="average",
        distance_threshold=1.0 - threshold,
        connectivity=connectivity,
    )
    with warnings.catch_warnings():
        # A neighbour graph in several pieces is joined up by scikit-learn, which says so.
        warnings.simplefilter("ignore", UserWarning)
        labels = model.fit_predict(vectors)
    groups: dict[int, list[int]] = {}
    for row, label in enumerate(labels):
        groups.setdefault(int(label), []).append(row)
    return [
        _central_first(vectors, members) for members in groups.values() if len(members) >= min_size
    ]


def _central_first(vectors: Vectors, members: list[int]) -> list[int]:
    block = vectors[members]
    similarity = block @ block.T
    centre = int(np.argmax(similarity.sum(axis=1)))
    order = np.argsort(-similarity[centre], kind="stable")
    return [members[i] for i in order]


def stored_vectors(session: Session, *, viewer: Viewer, model: str) -> tuple[list[int], Vectors]:
    """The stored vectors of the lessons the viewer may have clustered (access first)."""
    rows = session.exec(
        select(LessonEmbedding.lesson_id, LessonEmbedding.vector)
        .where(
            LessonEmbedding.model == model,
            col(LessonEmbedding.lesson_id).in_(candidate_ids(viewer)),
        )
        .order_by(col(LessonEmbedding.lesson_id))
    ).all()
    ids = [lesson_id for lesson_id, _ in rows]
    if not rows:
        return ids, np.zeros((0, 0), dtype=np.float32)
    matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float32)
    return ids, matrix.reshape(len(rows), -1)


class ThemeFinder:
    """Clusters per reader, kept until lessons change: the themes page reloads in one cheap
    read of the change counter. Only lesson ids are cached; what is shown is loaded afresh."""

    def __init__(self, *, threshold: float = THRESHOLD, min_size: int = MIN_SIZE) -> None:
        self.threshold = threshold
        self.min_size = min_size
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, list[list[int]]] = OrderedDict()

    def clusters(self, session: Session, *, viewer: Viewer, model: str) -> list[list[int]]:
        """Groups of lesson ids (most central first) among lessons the viewer may see."""
        key = json.dumps(
            [access_key(viewer), changes.version(session), model, self.threshold, self.min_size],
            default=str,
        )
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        ids, vectors = stored_vectors(session, viewer=viewer, model=model)
        groups = [
            [ids[row] for row in members]
            for members in cluster(vectors, threshold=self.threshold, min_size=self.min_size)
        ]
        with self._lock:
            self._cache[key] = groups
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return groups
