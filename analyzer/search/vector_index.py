"""The catalog's vector-index contract and its kinds, registered by dotted path.

A kind subclasses :class:`VectorIndex` and is named in :data:`INDEX_KINDS` as
``"module:Class"``; it is imported only when a catalog needs it (the pattern of FiftyOne
Brain's similarity backends), so this module imports none of them and none of them imports
another. :func:`choose_kind` picks exact search for small catalogs, the in-memory IVF index from
``ANN_MIN_ITEMS`` and the on-disk IVF-PQ index from ``search.ondisk_min_items``.
"""

from __future__ import annotations

import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Exact search below, the IVF index from here. Measured (benchmarks/bench_search.py
# --crossover-only, single-query top-10, one thread, CPU time, 1308-d): break-even near 5,000
# items (exact 2.1 ms vs IVF 2.0 ms at recall@10 0.97), IVF 2x faster at 10,000 (2.9 vs 1.4 ms,
# recall 0.98) and 2.6x at 20,000. Below ~10k the gain is too small to give up exact results.
ANN_MIN_ITEMS = 10_000

# kind -> "module:Class"
INDEX_KINDS: dict[str, str] = {
    "exact": "analyzer.search.index:ExactIndex",
    "ivf_sq8": "analyzer.search.index:IVFIndex",
    "faiss-ivfpq": "analyzer.search.ondisk:OnDiskVectorIndex",
}


class VectorIndex(ABC):
    """Top-k inner-product search over a fixed set of row vectors (ids = row numbers)."""

    kind: str = ""

    @property
    @abstractmethod
    def ntotal(self) -> int: ...

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(sims (q, k) float32, ids (q, k) int64), best first; ids -1 / sims -inf pad when
        there are fewer than k vectors."""

    def save(self, folder: Path) -> None:  # noqa: B027 - optional: an exact index stores nothing
        """Persist into ``folder`` (an exact index has nothing to store)."""

    @classmethod
    def load(cls, folder: Path, shards: Sequence[np.ndarray]) -> VectorIndex:
        raise NotImplementedError


def index_class(kind: str) -> type[VectorIndex]:
    """The class registered for ``kind`` (KeyError for an unknown kind)."""
    module, _, name = INDEX_KINDS[kind].partition(":")
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, VectorIndex)) or cls.kind != kind:
        raise TypeError(f"{INDEX_KINDS[kind]} is not the VectorIndex of kind {kind!r}")
    return cls


def ondisk_min_items() -> int:
    """Catalog size from which the compressed on-disk IVF-PQ index replaces the in-memory one
    (``search.ondisk_min_items`` in thresholds.yaml)."""
    from analyzer.config import thresholds

    return int((thresholds().get("search") or {}).get("ondisk_min_items", 1_000_000))


def choose_kind(n: int) -> str:
    if n >= ondisk_min_items():
        return "faiss-ivfpq"
    return "ivf_sq8" if n >= ANN_MIN_ITEMS else "exact"


def load_index(folder: Path, shards: Sequence[np.ndarray]) -> VectorIndex:
    """The index saved in ``folder`` (index.json names its kind), or exact search when there is
    none or it does not cover every row (a catalog grown since the index was built)."""
    info_path = folder / "index.json"
    n = sum(len(s) for s in shards)
    if info_path.is_file():
        info = json.loads(info_path.read_text())
        kind = info.get("kind", "")
        if kind in INDEX_KINDS and int(info.get("ntotal", -1)) == n:
            return index_class(kind).load(folder, shards)
    return index_class("exact")(shards)  # type: ignore[call-arg]
