"""Nearest-neighbour search over catalog embeddings behind one small interface.

All vectors are L2-normalised, so the inner product is the cosine similarity and "nearest" means
"largest inner product".

* :class:`ExactIndex`: brute force, one matrix product per block of rows, reading the catalog's
  float16 shards through memory maps block by block, so memory stays bounded whatever the size.
  The float16 rows are converted to float32 a few hundred at a time into a reused buffer
  (:class:`BlockScorer`), so the cost is the product itself: about a second per query over
  1M x 1308 on one core. Exact; its cost grows linearly with the catalog. :func:`count_better`
  gives exact ranks the same way.
* :class:`IVFIndex`: FAISS ``PCA256,IVF{nlist},SQ8``: a PCA projection to 256 dimensions, an
  inverted file over k-means cells (Jegou et al., "Product quantization for nearest neighbor
  search", TPAMI 2011, for the IVF scheme) holding 8-bit scalar-quantised codes, probing
  ``nprobe`` cells; its ``rerank`` x k best candidates are then re-scored exactly against the
  stored float16 embeddings, so the similarities it returns are exact. 256 bytes per vector in
  memory (256 MB per million items).

Both are kinds of :class:`analyzer.search.vector_index.VectorIndex`, registered there with the
on-disk IVF-PQ index (:mod:`analyzer.search.ondisk`); the scoring they share is in
:mod:`analyzer.search.scoring`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from analyzer.search.scoring import (
    BlockScorer,
    faiss_search,
    gather_rows,
    iter_blocks,
    iter_scores,
    pad_results,
    topk_rows,
)
from analyzer.search.vector_index import VectorIndex

RAM_COPY_MAX_FLOATS = 64 * 1024 * 1024   # exact search keeps a float32 copy up to 256 MB


class ExactIndex(VectorIndex):
    """Brute-force inner product over memory-mapped shards."""

    kind = "exact"

    def __init__(self, shards: Sequence[np.ndarray]) -> None:
        self.shards = list(shards)
        n = sum(len(s) for s in self.shards)
        if self.shards and n * self.shards[0].shape[1] <= RAM_COPY_MAX_FLOATS:
            # Small catalogs: one float32 copy in memory instead of converting float16 blocks
            # on every query.
            self.shards = [np.concatenate([np.asarray(s, dtype=np.float32)
                                           for s in self.shards])]

    @property
    def ntotal(self) -> int:
        return sum(len(s) for s in self.shards)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        cand_s: list[np.ndarray] = []
        cand_i: list[np.ndarray] = []
        for start, sims in iter_scores(q, self.shards):
            s, i = topk_rows(sims, k)
            cand_s.append(s)
            cand_i.append(np.where(i >= 0, i + start, -1))
        if not cand_s:
            empty = np.zeros((len(q), 0), np.float32)
            return pad_results(empty, empty.astype(np.int64), k)
        all_i = np.hstack(cand_i)
        sims, order = topk_rows(np.hstack(cand_s), k)
        ids = np.take_along_axis(all_i, np.maximum(order, 0), axis=1)
        ids[(order < 0) | ~np.isfinite(sims)] = -1
        return sims, ids

    @classmethod
    def load(cls, folder: Path, shards: Sequence[np.ndarray]) -> ExactIndex:
        return cls(shards)


class IVFIndex(VectorIndex):
    """FAISS PCA + IVF + 8-bit scalar quantiser, with exact re-ranking of the candidates.

    Vectors above ``PCA_ABOVE`` dimensions are first projected on their ``PCA_DIM`` principal
    axes (fitted on the training sample): the candidates only need to contain the true
    neighbours, the exact re-ranking fixes their order. In that space, the L2 distance ranks like
    the cosine (for unit vectors ``|q - x|^2 = 2 - 2 q.x``, and a centred PCA keeps distances,
    not inner products), so the index uses L2. Memory: ``PCA_DIM`` bytes per vector.
    """

    kind = "ivf_sq8"
    FILE = "ivf_sq8.faiss"
    PCA_ABOVE = 384
    PCA_DIM = 256
    RERANK_EXTRA = 1_000

    def __init__(self, index, shards: Sequence[np.ndarray], nprobe: int = 16,  # type: ignore[no-untyped-def]
                 rerank: int = 50) -> None:
        import faiss

        self.index = index
        self.ivf = faiss.extract_index_ivf(index)
        self.shards = list(shards)
        self.rerank = rerank
        self._offsets = np.cumsum([0] + [len(s) for s in self.shards])
        self.nprobe = nprobe

    @property
    def nprobe(self) -> int:
        return int(self.ivf.nprobe)

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self.ivf.nprobe = int(value)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @staticmethod
    def default_nlist(n: int) -> int:
        """About sqrt(N) cells, at least 16 and at most 2048: FAISS suggests 4-16 sqrt(N), but
        k-means training and assignment cost grow with the cells, and with ~1000 vectors per
        cell a 16-cell probe still answers in milliseconds (benchmarks/bench_search.py)."""
        return int(min(2048, max(16, round(math.sqrt(n)))))

    @classmethod
    def factory_string(cls, dim: int, nlist: int) -> str:
        pca = f"PCA{cls.PCA_DIM}," if dim > cls.PCA_ABOVE else ""
        return f"{pca}IVF{nlist},SQ8"

    @classmethod
    def build(cls, shards: Sequence[np.ndarray], nlist: int | None = None,
              seed: int = 0, progress: Callable[[int], None] | None = None) -> IVFIndex:
        import faiss

        n = sum(len(s) for s in shards)
        dim = int(shards[0].shape[1])
        nlist = nlist or cls.default_nlist(n)
        rng = np.random.default_rng(seed)
        # k-means needs ~40 points per cell (FAISS warns below 39); more only costs time.
        pick = np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))
        offsets = np.cumsum([0] + [len(s) for s in shards])
        train = np.empty((len(pick), dim), np.float32)
        for j, sh in enumerate(shards):
            sel = pick[(pick >= offsets[j]) & (pick < offsets[j + 1])] - offsets[j]
            lo = int(np.searchsorted(pick, offsets[j]))
            train[lo:lo + len(sel)] = sh[sel]
        index = faiss.index_factory(dim, cls.factory_string(dim, nlist), faiss.METRIC_L2)
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.seed = seed
        ivf.cp.niter = 10
        index.train(train)
        del train
        for _, block in iter_blocks(shards):
            index.add(block)
            if progress:
                progress(len(block))
        return cls(index, shards)

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        return gather_rows(self.shards, self._offsets, ids)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        # rerank x k candidates for a top-k list, but at most RERANK_EXTRA more than k for the
        # deep searches of the rank simulation (k in the thousands).
        kk = max(k, min(k * self.rerank, k + self.RERANK_EXTRA))
        _, cand = faiss_search(self.index, q, kk)
        sims = np.full((len(q), k), -np.inf, np.float32)
        ids = np.full((len(q), k), -1, np.int64)
        for r in range(len(q)):
            c = cand[r][cand[r] >= 0]
            if len(c) == 0:
                continue
            s = BlockScorer(q[r])(self._rows(c))[0]
            top = np.argsort(-s, kind="stable")[:k]
            sims[r, :len(top)] = s[top]
            ids[r, :len(top)] = c[top]
        return sims, ids

    def save(self, folder: Path) -> None:
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(folder / self.FILE))
        (folder / "index.json").write_text(json.dumps(
            {"kind": self.kind, "ntotal": self.ntotal, "nlist": int(self.ivf.nlist),
             "nprobe": self.nprobe, "rerank": self.rerank,
             "factory": self.factory_string(int(self.index.d), int(self.ivf.nlist))}, indent=2))

    @classmethod
    def load(cls, folder: Path, shards: Sequence[np.ndarray]) -> IVFIndex:
        import faiss

        info = json.loads((folder / "index.json").read_text())
        index = faiss.read_index(str(folder / cls.FILE))
        return cls(index, shards, nprobe=int(info.get("nprobe", 16)),
                   rerank=int(info.get("rerank", 50)))
