"""What BM25 ranking keeps between queries, per database: how many lessons hold each term,
every lesson's length, and each viewer's `Collection`; each until lessons change (or, for a
common term's lessons, while the bank barely changes)."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from lessons.storage.fulltext import COLUMNS
from retrieval import bm25_bounded
from retrieval.bm25 import Collection, Corpus, Ids, Mask
from retrieval.fts5_index import _quoted, _rowids, _rows, column_sizes

# Viewers' collections kept (see `_CollectionCache`).
_COLLECTIONS = 64
# Document frequencies are reused while the bank has changed size by less than this share,
# and for at most this long: an IDF moves by a fraction of a percent at most, and counting a
# common term's lessons again costs tens of milliseconds at a million lessons.
_DF_DRIFT = 0.001
_DF_MAX_AGE_S = 600.0
_KEPT_POSTINGS = 8_000_000  # lesson ids kept, all terms together


class _FrequencyCache:
    """Lessons holding each term over the whole index (sorted ids), per database. A common
    term's are kept while the bank changes size by less than _DF_DRIFT and for at most
    _DF_MAX_AGE_S; a rare term's only until lessons change (a kept rare term goes stale where
    it matters most: a lesson's new, telling word counted as absent would not be found at
    all). Their sizes choose the ranking path and budget the postings read; a viewer's own
    counts are taken from them (`Collection.frequencies`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._common: dict[str, tuple[int, float, dict[str, Ids]]] = {}
        self._rare: dict[str, tuple[object, dict[str, Ids]]] = {}

    def _kept(self, key: str, size: int, version: object) -> tuple[dict[str, Ids], dict[str, Ids]]:
        now = time.monotonic()
        with self._lock:
            size0, born, common = self._common.get(key, (size, now, {}))
            if abs(size - size0) > size0 * _DF_DRIFT or now - born > _DF_MAX_AGE_S:
                size0, born, common = size, now, {}
            self._common[key] = (size0, born, common)
            seen, rare = self._rare.get(key, (version, {}))
            if version is None or seen != version:
                rare = {}
            self._rare[key] = (version, rare)
            return common, rare

    def postings(
        self, connection: Connection, size: int, words: Sequence[str], version: object = None
    ) -> dict[str, Ids]:
        """The lessons holding each word, sorted (`size`: lessons in the index; `version`:
        lessons' change counter, None to keep no rare term)."""
        common, rare = self._kept(str(connection.engine.url), size, version)
        found: dict[str, Ids] = {}
        for word in words:
            with self._lock:
                kept = common.get(word, rare.get(word))
            if kept is None:
                kept = _rowids(connection, _quoted(word), 2**62)
                # "Common" is the bounded path's budget, read from its module each time.
                is_common = len(kept) > bm25_bounded.CANDIDATE_POSTINGS
                if is_common or version is not None:
                    self._keep(common if is_common else rare, word, kept)
            found[word] = kept
        return found

    def get(self, connection: Connection, size: int, terms: Sequence[str]) -> dict[str, int]:
        """How many lessons hold each term."""
        return {t: len(ids) for t, ids in self.postings(connection, size, terms).items()}

    def _keep(self, kept: dict[str, Ids], term: str, ids: Ids) -> None:
        with self._lock:
            kept[term] = ids
            # Bounded memory: the oldest kept terms go first (8 M ids, 64 MB).
            while sum(len(v) for v in kept.values()) > _KEPT_POSTINGS and len(kept) > 1:
                del kept[next(iter(kept))]


frequencies = _FrequencyCache()


class _LengthCache:
    """Every indexed lesson's length in tokens (all columns), by lesson id, per database; read
    again whenever lessons change (`lessons.storage.changes.version`), so always this snapshot's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_database: dict[str, tuple[object, npt.NDArray[np.float64], Mask]] = {}

    def get(self, connection: Connection, version: object) -> tuple[np.ndarray, Mask]:
        """(length by lesson id, 0 where none; whether each id is in the index)."""
        key = str(connection.engine.url)
        with self._lock:
            found = self._by_database.get(key)
        if found is not None and found[0] == version:
            return found[1], found[2]
        # One row, not one a lesson (a million at most): the ids, and every size record
        # back to back (each holds one varint a column, so they part again by count).
        listed, records = _rows(
            connection,
            "SELECT group_concat(id), group_concat(hex(sz), '') FROM lesson_fts_docsize",
            (),
        )[0]
        ids = np.fromstring(listed or "", dtype=np.int64, sep=",")
        sizes = column_sizes(bytes.fromhex(records or "")).reshape(len(ids), len(COLUMNS))
        top = int(ids.max()) + 1 if len(ids) else 0
        lengths, indexed = np.zeros(top), np.zeros(top, bool)
        lengths[ids], indexed[ids] = sizes.sum(axis=1), True
        with self._lock:
            self._by_database[key] = (version, lengths, indexed)
        return lengths, indexed


_lengths_by_id = _LengthCache()


class _CollectionCache:
    """One `Collection` per array of allowed ids (the retriever keeps one per viewer and
    filters until lessons change) and snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: list[tuple[weakref.ref[Ids], str, object, Collection]] = []

    def get(self, connection: Connection, allowed_ids: Ids, version: object) -> Collection:
        url = str(connection.engine.url)
        with self._lock:
            self._kept = [k for k in self._kept if k[0]() is not None][-_COLLECTIONS:]
            for ref, key, seen, found in self._kept:
                if ref() is allowed_ids and key == url and seen == version:
                    return found
        lengths, indexed = _lengths_by_id.get(connection, version)
        ids = allowed_ids[allowed_ids < len(indexed)]
        ids = ids[indexed[ids]]
        visible = np.zeros(len(indexed), bool)
        visible[ids] = True
        total = float(lengths[ids].sum())
        average = total / len(ids) if len(ids) else 0.0
        made = Collection(ids, lengths, visible, Corpus(len(ids), average), version)
        with self._lock:
            self._kept.append((weakref.ref(allowed_ids), url, version, made))
        return made


_collections = _CollectionCache()


def collection(connection: Connection, allowed_ids: Ids, version: object) -> Collection:
    """The viewer's collection: `allowed_ids` (sorted) as of `version` (lessons.storage.changes)."""
    return _collections.get(connection, allowed_ids, version)
