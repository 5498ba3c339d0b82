"""How the search simulation reads a catalog: the whole matrix in memory, or its vector index.

:class:`~analyzer.search.integration.SearchContext` needs, for one upload, the similarity of a
few dozen query vectors (shopper photos, peer images) to the catalog's products, the upload's
own nearest products and copies, and the rows of a few catalog images. Two ways to get them,
behind the same four methods (``vectors``, ``query_sims``, ``upload``, ``knn_baseline``):

* :class:`DenseAccess` (catalogs below ``search.index_rank.dense_max_items`` images): the whole
  catalog as one float32 matrix in memory and one matrix product per question, exactly as
  before (the demo catalog's ranks and cached baseline are unchanged, bit for bit).
* :class:`IndexAccess` (larger catalogs): nothing of size N x dim in memory. Every question is a
  k-NN search in the catalog's :class:`~analyzer.search.vector_index.VectorIndex` (the on-disk
  IVF-PQ index at a million images) whose candidates are re-scored exactly from the memory-mapped
  float16 shards; rows by id are read from those shards. Ranks come from
  :class:`~analyzer.search.rank.CandidateSims` (exact while the listing lies within the
  candidates, which are deepened on demand; estimated from a product sample beyond them);
  copies from the upload's (and its mirror image's) nearest images plus every image whose file
  hash or pHash matches (:mod:`analyzer.search.duplicates`, the same rule); the catalog's own
  k-NN distances (uniqueness, coverage) from a seeded sample of products.

Memory of :class:`IndexAccess` at 1M images: the index (tens of MB, memory-mapped), the
product sample (``sample_products`` products' rows, float32) and one uint64 pHash per image.
The shards are read with ``pread`` (:class:`~analyzer.search.scoring.RowFile`), not memory-mapped,
so the rows read come from the kernel's page cache and do not pile up in the process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from analyzer.search import differentiation as diff
from analyzer.search import duplicates as copies
from analyzer.search.rank import CandidateSims, ProductGroups
from analyzer.search.scoring import BLOCK_ROWS, BlockScorer, RowFile, gather_rows
from analyzer.vision.registration import CopyMatch


@dataclass(frozen=True)
class IndexRankConfig:
    """``search.index_rank`` in thresholds.yaml."""

    dense_max_items: int = 50_000   # below: DenseAccess (float32 in memory: 280 MB at 1408-d)
    candidates: int = 2_000         # first k-NN depth of a rank query
    max_candidates: int = 32_000    # deepened x4 up to this while the listing lies beyond
    upload_candidates: int = 256    # the upload's own neighbours (lookalikes, copies)
    sample_products: int = 4_096    # products scored exactly for the beyond-K estimate
    baseline_products: int = 1_000  # products whose k-NN distance forms the baseline
    # Beyond the candidates, or deeper than trust_items of them: one exact pass over the rows
    # (bounded memory) instead of the sample estimate.
    exact_beyond: bool = True
    trust_items: int = 100
    seed: int = 0

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> IndexRankConfig:
        from analyzer.config import known_keys

        d = known_keys(d, {f.name for f in fields(cls)}, "thresholds.yaml search.index_rank")
        return cls(**{k: type(getattr(cls, k))(v) for k, v in d.items()})


@dataclass
class UploadMatch:
    """The upload against the catalog: its best similarity per product (``-inf`` where the
    index path did not reach), and its copies (most similar first) with their mirror-invariant
    similarity and pHash distance."""

    prod_sims: np.ndarray
    best_item: Callable[[int], int]
    dup_items: np.ndarray
    dup_sims: np.ndarray
    dup_hash: np.ndarray
    registered: dict[int, CopyMatch] = field(default_factory=dict)  # by catalog item


class DenseAccess:
    """The catalog as one float32 matrix (the path for catalogs below the threshold)."""

    kind = "dense"

    def __init__(self, catalog: Any, groups: ProductGroups, phash: pd.Series,
                 sha: pd.Series) -> None:
        self.E = np.ascontiguousarray(catalog.embeddings, dtype=np.float32)
        self.groups = groups
        self.phash = phash.fillna("").astype(str).to_numpy()
        self.sha = sha.fillna("").astype(str).to_numpy()

    def vectors(self, ids: Any) -> np.ndarray:
        return self.E[ids]

    def query_sims(self, *qs: np.ndarray) -> list[np.ndarray]:
        """Each query set's (q, n_items) similarities."""
        return [q @ self.E.T for q in qs]

    def upload(self, e: np.ndarray, e_mirror: np.ndarray, sig: copies.QuerySignature,
               content_hash: str, rule: copies.CopyRule,
               register: Callable[[int], CopyMatch] | None = None) -> UploadMatch:
        item_sims = self.E @ e
        prod_sims = self.groups.best(item_sims[None])[0]
        copy_sims = copies.mirror_similarities(e, e_mirror, item_sims, self.E)
        dup_items, hd, tried = copies.find_copies(sig, content_hash, copy_sims, self.phash,
                                                  self.sha, rule, register)
        codes = self.groups.codes

        def best_item(c: int) -> int:
            items = np.flatnonzero(codes == c)
            return int(items[np.argmax(item_sims[items])])

        return UploadMatch(prod_sims, best_item, dup_items, copy_sims[dup_items], hd[dup_items],
                           tried)

    def knn_baseline(self, k: int) -> np.ndarray:
        return diff.catalog_knn_baseline(self.E, self.groups, k)


class IndexAccess:
    """The catalog through its :class:`VectorIndex` and memory-mapped shards (large catalogs)."""

    kind = "index"

    def __init__(self, catalog: Any, groups: ProductGroups, phash: pd.Series,
                 sha: pd.Series, cfg: IndexRankConfig) -> None:
        from analyzer.search.vector_index import load_index

        # Rows read with pread (RowFile), not memory-mapped: see RowFile; the index is opened
        # on the same readers so that its own exact re-scoring maps nothing either.
        self.shards = [RowFile(p) for p in catalog.shard_paths()]
        self.index = load_index(catalog.root / "index", self.shards)
        self.starts = np.cumsum([0] + [len(s) for s in self.shards])
        self.n = int(self.starts[-1])
        self.groups = groups
        self.cfg = cfg
        self.sha = sha.fillna("")          # the table's strings, compared vectorised
        # One uint64 per image (not its hex string): the hash half of the copy rule scans them
        # all (cheap).
        hashes = phash.fillna("").astype(str).tolist()
        self._hash_u64 = diff.hex_to_u64(hashes)
        self._hash_ok = diff.valid_hashes(hashes)
        del hashes
        rng = np.random.default_rng(cfg.seed)
        n_prod = groups.n_products
        # (only for the estimate beyond the candidates, without exact_beyond)
        n_sample = 0 if cfg.exact_beyond else min(cfg.sample_products, n_prod)
        pick = np.sort(rng.permutation(n_prod)[:n_sample])
        # Every image of the sampled products, so a product's best is exact in the sample.
        items = np.flatnonzero(np.isin(groups.codes, pick))
        self._sample_items = items
        self._sample_item_codes = groups.codes[items]
        order = np.argsort(self._sample_item_codes, kind="stable")
        self._sample_order = order
        sc = self._sample_item_codes[order]
        self._sample_starts = np.flatnonzero(np.r_[True, np.diff(sc) != 0]) if len(sc) \
            else np.zeros(0, np.int64)
        self.sample_codes = sc[self._sample_starts] if len(sc) else np.zeros(0, np.int64)
        self._sample_vecs = self.vectors(items)

    # -- rows and searches

    def vectors(self, ids: Any) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        rows = gather_rows(self.shards, self.starts, ids.reshape(-1))
        return np.asarray(rows, dtype=np.float32).reshape(*ids.shape, self.shards[0].shape[1])

    def _search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.index.search(np.ascontiguousarray(np.atleast_2d(q), np.float32),
                                 int(min(k, self.n)))

    def _products(self, sims: np.ndarray, ids: np.ndarray, k: int
                  ) -> tuple[np.ndarray, np.ndarray, np.float32, np.ndarray]:
        """One query's candidates as products (codes, best sim, floor, best item)."""
        ok = ids >= 0
        s, i = sims[ok], ids[ok]
        codes = self.groups.codes[i]
        # Candidates come best first: a product's first occurrence is its best image.
        uc, first = np.unique(codes, return_index=True)
        # Below the floor nothing is known, unless every image was searched. An IVF index may
        # return fewer than k (only the probed cells' images): the floor is then its last one.
        if k >= self.n:
            floor = np.float32(-np.inf)
        else:
            floor = np.float32(s[-1]) if len(s) else np.float32(np.inf)
        return uc, s[first].astype(np.float32), floor, i[first]

    def query_sims(self, *qs: np.ndarray) -> list[CandidateSims]:
        """Each query set's :class:`CandidateSims`; the sets share one exact pass, made the first
        time one of them needs it."""
        qs = tuple(np.ascontiguousarray(np.atleast_2d(q), dtype=np.float32) for q in qs)
        sizes = np.cumsum([0] + [len(q) for q in qs])
        cache: list[np.ndarray] = []

        def exact(j: int) -> np.ndarray:
            if not cache:
                cache.append(self.exact_best(np.concatenate(qs)))
            return cache[0][sizes[j]:sizes[j + 1]]

        return [self._query_set(q, (lambda j=j: exact(j))) for j, q in enumerate(qs)]

    def _query_set(self, q: np.ndarray, exact_rows: Callable[[], np.ndarray]) -> CandidateSims:
        k0 = self.cfg.candidates
        codes, best, floors, items = [], [], [], []
        if len(q):
            sims, ids = self._search(q, k0)
            for r in range(len(q)):
                c, b, f, _ = self._products(sims[r], ids[r], k0)
                codes.append(c)
                best.append(b)
                floors.append(f)
                items.append(sims[r][ids[r] >= 0])
        if self.cfg.exact_beyond:
            return CandidateSims(codes, best, np.asarray(floors, np.float32),
                                 self.groups.n_products, k0, item_sims=items,
                                 exact_rows=exact_rows,
                                 trust_items=self.cfg.trust_items)

        def deepen(r: int, k: int) -> tuple[np.ndarray, np.ndarray, np.float32]:
            s, i = self._search(q[r:r + 1], k)
            c, b, f, _ = self._products(s[0], i[0], k)
            return c, b, f

        if len(self._sample_items) and len(q):
            item_s = (q @ self._sample_vecs.T)[:, self._sample_order]
            sample_best = np.maximum.reduceat(item_s, self._sample_starts, axis=1)
        else:
            sample_best = np.zeros((len(q), 0), np.float32)
        return CandidateSims(codes, best, np.asarray(floors, np.float32),
                             self.groups.n_products, k0, self.cfg.max_candidates, deepen,
                             self.sample_codes, sample_best)

    def exact_best(self, q: np.ndarray) -> np.ndarray:
        """(q, n_products) exact best similarity of each query to each product: one pass over
        the shards, a block of rows at a time (pages released after each block)."""
        g = self.groups
        out = np.full((len(q), g.n_products), -np.inf, np.float32)
        score = BlockScorer(q)
        base = 0
        rows = BLOCK_ROWS // 4    # 46 MB of float16 rows at 1408-d per read
        for sh in self.shards:
            for s0 in range(0, len(sh), rows):
                block = sh[s0:s0 + rows]
                sims = score(block)
                c = g.codes[base + s0:base + s0 + len(block)]
                order = np.argsort(c, kind="stable")
                cs = c[order]
                starts = np.flatnonzero(np.r_[True, cs[1:] != cs[:-1]])
                run = np.maximum.reduceat(sims[:, order], starts, axis=1)
                rc = cs[starts]
                out[:, rc] = np.maximum(out[:, rc], run)
            base += len(sh)
        return out

    # -- the upload

    def upload(self, e: np.ndarray, e_mirror: np.ndarray, sig: copies.QuerySignature,
               content_hash: str, rule: copies.CopyRule,
               register: Callable[[int], CopyMatch] | None = None) -> UploadMatch:
        k = self.cfg.upload_candidates
        _, ids = self._search(np.stack([e, e_mirror]), k)
        cand = np.unique(ids[ids >= 0])
        # Images that the hash half of the rule alone can make copies: same file, or a pHash
        # within the strict distance (of the upload or its mirror image).
        by_file = np.flatnonzero((self.sha == content_hash).to_numpy(dtype=bool)) \
            if content_hash else np.zeros(0, np.int64)
        d = np.minimum(diff.hamming(sig.hashes[0], self._hash_u64),
                       diff.hamming(sig.hashes[1], self._hash_u64))
        by_hash = np.flatnonzero(self._hash_ok & (d <= rule.phash_strict))
        subset = np.unique(np.concatenate([cand, by_file, by_hash])).astype(np.int64)
        V = self.vectors(subset)
        s_e = V @ np.asarray(e, np.float32)
        copy_sims = copies.mirror_similarities(e, e_mirror, s_e, V)
        hashes = [f"{int(h):016x}" if ok else "" for h, ok in
                  zip(self._hash_u64[subset], self._hash_ok[subset], strict=True)]
        # registration's candidates are the most similar of the subset, which holds the
        # upload's nearest images: the same candidates as the dense path's
        dup_local, hd, tried = copies.find_copies(
            sig, content_hash, copy_sims, hashes, self.sha.iloc[subset].tolist(), rule,
            None if register is None else (lambda j: register(int(subset[j]))))
        codes = self.groups.codes[subset]
        prod_sims = np.full(self.groups.n_products, -np.inf, np.float32)
        np.maximum.at(prod_sims, codes, s_e)
        best: dict[int, int] = {}
        for j in np.argsort(-s_e, kind="stable"):
            best.setdefault(int(codes[j]), int(subset[j]))
        return UploadMatch(prod_sims, lambda c: best[int(c)], subset[dup_local],
                           copy_sims[dup_local], hd[dup_local],
                           {int(subset[j]): m for j, m in tried.items()})

    # -- the catalog's own neighbourhoods

    def knn_baseline(self, k: int) -> np.ndarray:
        """d_k of a seeded sample of products' main images against the other products (a
        sample: the baseline is a distribution, used through quantiles and percentiles)."""
        g = self.groups
        rng = np.random.default_rng(self.cfg.seed + 1)
        n = g.n_products
        pick = np.sort(rng.permutation(n)[:min(self.cfg.baseline_products, n)])
        main = g.main_items()[pick]
        depth = max(8 * k, 64)
        out = np.full(len(pick), np.nan)
        for s0 in range(0, len(pick), 256):
            sims, ids = self._search(self.vectors(main[s0:s0 + 256]), depth)
            for r in range(len(sims)):
                c, b, _, _ = self._products(sims[r], ids[r], depth)
                b = b[c != pick[s0 + r]]
                out[s0 + r] = diff.knn_distance(b[None], k)[0] if len(b) else np.nan
        return out


def open_access(catalog: Any, groups: ProductGroups, phash: pd.Series, sha: pd.Series,
                cfg: IndexRankConfig) -> DenseAccess | IndexAccess:
    """Dense below ``cfg.dense_max_items`` images, the catalog's index from there."""
    if len(catalog) < cfg.dense_max_items:
        return DenseAccess(catalog, groups, phash, sha)
    return IndexAccess(catalog, groups, phash, sha, cfg)
