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

:func:`choose_kind` picks exact below ``ANN_MIN_ITEMS`` (the crossover measured by
``benchmarks/bench_search.py``) and IVF above. New kinds (an on-disk IVF-PQ for millions of items)
subclass :class:`VectorIndex` and register in :data:`INDEX_KINDS`.
"""

from __future__ import annotations

import json
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# Exact search below, the IVF index from here. Measured (benchmarks/bench_search.py
# --crossover-only, single-query top-10, one thread, CPU time, 1308-d): break-even near 5,000
# items (exact 2.1 ms vs IVF 2.0 ms at recall@10 0.97), IVF 2x faster at 10,000 (2.9 vs 1.4 ms,
# recall 0.98) and 2.6x at 20,000. Below ~10k the gain is too small to give up exact results.
ANN_MIN_ITEMS = 10_000
BLOCK_ROWS = 65_536
RAM_COPY_MAX_FLOATS = 64 * 1024 * 1024   # exact search keeps a float32 copy up to 256 MB
# FAISS spreads a batch of queries over its OpenMP threads; a single query runs on one thread
# anyway, but the idle ones spin-wait after each call: on 2 cores that took the CPU per single
# query at 1M items from 4 to 23 ms (benchmarks/bench_scale.py --threads 2). Batches smaller than
# this search on one thread.
FAISS_ONE_THREAD_BELOW = 8


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


def _pad(sims: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    q, have = sims.shape
    if have >= k:
        return sims[:, :k], ids[:, :k]
    s = np.full((q, k), -np.inf, np.float32)
    i = np.full((q, k), -1, np.int64)
    s[:, :have], i[:, :have] = sims, ids
    return s, i


def iter_blocks(shards: Sequence[np.ndarray], rows: int = BLOCK_ROWS):  # type: ignore[no-untyped-def]
    """(first row id, float32 block) over the concatenation of ``shards``."""
    base = 0
    for sh in shards:
        for s in range(0, len(sh), rows):
            yield base + s, np.asarray(sh[s:s + rows], dtype=np.float32)
        base += len(sh)


class BlockScorer:
    """``q @ rows.T`` in float32 for row blocks stored as float16, without a float32 copy of
    the block.

    Converting a whole 65k x 1280 float16 block to float32 first costs more than the product
    itself (NumPy's half-to-float cast runs ~6 ns per element here, and the fresh 330 MB
    buffer page-faults). Rows are instead converted ``CONVERT_ROWS`` at a time into one small
    reused float32 buffer (cache-resident) by torch's vectorised cast and multiplied straight
    into the output: the result is the float32 product, ~10x faster (benchmarks/bench_search.py:
    exact rank of one query over 1M x 1308 float16 rows in about a second on one core).
    Without torch, or for float32 rows, it is the plain NumPy product.
    """

    CONVERT_ROWS = 512

    def __init__(self, queries: np.ndarray) -> None:
        self.q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        try:
            import torch
        except ImportError:  # pragma: no cover - torch is a dependency
            torch = None
        self._torch = torch
        self._qt = torch.from_numpy(self.q) if torch is not None else None
        self._buf = None

    def __call__(self, block: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """(q, len(block)) similarities, written into ``out`` when given."""
        if out is None:
            out = np.empty((len(self.q), len(block)), np.float32)
        if block.dtype != np.float16 or self._torch is None:
            np.matmul(self.q, np.asarray(block, dtype=np.float32).T, out=out)
            return out
        torch = self._torch
        step = self.CONVERT_ROWS
        if self._buf is None or self._buf.shape[1] != block.shape[1]:
            self._buf = torch.empty((step, block.shape[1]), dtype=torch.float32)
        with warnings.catch_warnings():  # a read-only memory map: torch only reads it here
            warnings.simplefilter("ignore", UserWarning)
            src = torch.from_numpy(np.ascontiguousarray(block))
        dst = torch.from_numpy(out)
        for s in range(0, len(block), step):
            chunk = src[s:s + step]
            buf = self._buf[:len(chunk)]
            buf.copy_(chunk)
            torch.matmul(self._qt, buf.T, out=dst[:, s:s + len(chunk)])
        return out


def iter_scores(queries: np.ndarray, shards: Sequence[np.ndarray], rows: int = BLOCK_ROWS):  # type: ignore[no-untyped-def]
    """(first row id, (q, rows) float32 similarities) block by block over ``shards``."""
    score = BlockScorer(queries)
    base = 0
    for sh in shards:
        for s in range(0, len(sh), rows):
            yield base + s, score(sh[s:s + rows])
        base += len(sh)


def exact_scores(queries: np.ndarray, shards: Sequence[np.ndarray]) -> np.ndarray:
    """(q, N) float32 similarities of every query to every row (for product-level search)."""
    n = sum(len(s) for s in shards)
    score = BlockScorer(queries)
    out = np.empty((len(score.q), n), np.float32)
    base = 0
    for sh in shards:
        for s in range(0, len(sh), BLOCK_ROWS):
            block = sh[s:s + BLOCK_ROWS]
            score(block, out[:, base + s:base + s + len(block)])
        base += len(sh)
    return out


def gather_rows(shards: Sequence[np.ndarray], starts: np.ndarray, ids: Any) -> np.ndarray:
    """Rows by global id (any order) from ``shards`` whose first global ids are ``starts``, in
    their stored dtype (float16 stays float16: :class:`BlockScorer` converts it in small blocks,
    much faster than NumPy's half-to-float cast; mixed dtypes give float32)."""
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    dtypes = {a.dtype for a in shards}
    out = np.empty((len(ids), shards[0].shape[1]),
                   dtype=dtypes.pop() if len(dtypes) == 1 else np.float32)
    if len(ids) == 0:
        return out
    if ids.min() < 0 or ids.max() >= starts[len(shards)]:
        raise IndexError("row id out of range")
    shard_of = np.searchsorted(starts, ids, side="right") - 1
    for j in np.unique(shard_of):
        sel = np.flatnonzero(shard_of == j)
        local = ids[sel] - starts[j]
        order = np.argsort(local, kind="stable")  # ascending offsets: sequential-ish reads
        out[sel[order]] = shards[j][local[order]]
    return out


def count_better(queries: np.ndarray, shards: Sequence[np.ndarray],
                 thresholds: np.ndarray) -> np.ndarray:
    """Exact rank support: for each query, how many rows score strictly above its threshold
    (e.g. the listing's own similarity); rank = count + 1. One pass over the rows, memory one
    block of scores."""
    t = np.asarray(thresholds, dtype=np.float32).reshape(-1, 1)
    counts = np.zeros(len(t), np.int64)
    for _, s in iter_scores(queries, shards):
        counts += (s > t).sum(axis=1)
    return counts


def faiss_search(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``index.search(queries, k)``, on one OpenMP thread for fewer than
    ``FAISS_ONE_THREAD_BELOW`` queries. The thread count is per calling thread in OpenMP, so
    concurrent app sessions do not change each other's."""
    import faiss

    if len(queries) >= FAISS_ONE_THREAD_BELOW:
        return index.search(queries, k)
    prev = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return index.search(queries, k)
    finally:
        faiss.omp_set_num_threads(prev)


def topk_rows(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of each row of ``sims`` (q, n), sorted best first."""
    n = sims.shape[1]
    kk = min(k, n)
    if kk == 0:
        return _pad(np.zeros((len(sims), 0), np.float32), np.zeros((len(sims), 0), np.int64), k)
    part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk] if kk < n else \
        np.tile(np.arange(n), (len(sims), 1))
    psims = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-psims, axis=1, kind="stable")
    return _pad(np.take_along_axis(psims, order, axis=1).astype(np.float32),
                np.take_along_axis(part, order, axis=1).astype(np.int64), k)


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
            return _pad(np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64), k)
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
        kk = max(k, k * self.rerank)
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


INDEX_KINDS: dict[str, type[VectorIndex]] = {
    ExactIndex.kind: ExactIndex,
    IVFIndex.kind: IVFIndex,
}


def _register_ondisk() -> None:
    # Imported lazily: ondisk.py subclasses VectorIndex from this module.
    if "faiss-ivfpq" not in INDEX_KINDS:
        from analyzer.search.ondisk import OnDiskVectorIndex

        INDEX_KINDS[OnDiskVectorIndex.kind] = OnDiskVectorIndex


def ondisk_min_items() -> int:
    """Catalog size from which the compressed on-disk IVF-PQ index replaces the in-memory one
    (``search.ondisk_min_items`` in thresholds.yaml)."""
    from analyzer.config import thresholds

    return int((thresholds().get("search") or {}).get("ondisk_min_items", 1_000_000))


def choose_kind(n: int) -> str:
    if n >= ondisk_min_items():
        return "faiss-ivfpq"
    return IVFIndex.kind if n >= ANN_MIN_ITEMS else ExactIndex.kind


def index_class(kind: str) -> type[VectorIndex]:
    _register_ondisk()
    return INDEX_KINDS[kind]


def load_index(folder: Path, shards: Sequence[np.ndarray]) -> VectorIndex:
    """The index saved in ``folder`` (index.json names its kind), or exact search when there is
    none or it does not cover every row (a catalog grown since the index was built)."""
    info_path = folder / "index.json"
    n = sum(len(s) for s in shards)
    if info_path.is_file():
        info = json.loads(info_path.read_text())
        _register_ondisk()
        cls = INDEX_KINDS.get(info.get("kind", ""))
        if cls is not None and int(info.get("ntotal", -1)) == n:
            return cls.load(folder, shards)
    return ExactIndex(shards)
