"""Exact search ranks of a listing that is not (yet) in the catalog, and their summaries.

The listing is inserted *virtually*: for a query ``q`` with cosine ``s_q`` to the listing, the
listing's product-level rank is

    rank(q) = 1 + #{catalog products p : max_{i in p} cos(q, x_i) > s_q + tol}

i.e. one plus the number of competing products whose best image beats the listing (ties go to
the listing; ``tol`` absorbs float16 storage noise). This is the rank a product-level exact search
over catalog + listing would give, computed with one matrix product and no index rebuild.

Summaries follow the usual retrieval metrics (Manning, Raghavan & Schuetze, *Introduction to
Information Retrieval*, 2008, ch. 8): the median and quartiles of the rank, the share of queries
where the listing lands in the first ``k`` results ("first screen", a hit rate at k), and
``mean_log_rank`` = mean of log2(rank), the continuous statistic used to place a listing among
the catalog's own products (a percentile).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ProductGroups:
    """Which catalog items (embedding rows) belong to which product.

    ``codes[i]`` is the product number of item ``i``; ``product_ids[c]`` the id of product ``c``;
    ``order``/``starts`` sort items by product so :meth:`best` is one ``np.maximum.reduceat``.
    """

    codes: np.ndarray
    product_ids: np.ndarray
    order: np.ndarray
    starts: np.ndarray

    @classmethod
    def from_ids(cls, product_ids: Any) -> ProductGroups:
        ids = np.asarray([str(p) for p in product_ids], dtype=object)
        uniq, first, codes = np.unique(ids, return_index=True, return_inverse=True)
        # Number products in order of first appearance (stable, catalog order).
        by_first = np.argsort(first, kind="stable")
        remap = np.empty_like(by_first)
        remap[by_first] = np.arange(len(by_first))
        codes = remap[codes.ravel()].astype(np.int64)
        order = np.argsort(codes, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0]) if len(codes) else \
            np.zeros(0, np.int64)
        return cls(codes=codes, product_ids=uniq[by_first], order=order, starts=starts)

    @property
    def n_products(self) -> int:
        return len(self.product_ids)

    def best(self, sims: np.ndarray) -> np.ndarray:
        """(q, n_products): each product's best similarity over its images, from (q, n_items)."""
        sims = np.atleast_2d(sims)
        if sims.shape[1] == 0:
            return np.zeros((sims.shape[0], 0), np.float32)
        return np.maximum.reduceat(sims[:, self.order], self.starts, axis=1)

    def main_items(self) -> np.ndarray:
        """The first (main) item of each product, in product order."""
        return self.order[self.starts]


class CandidateSims:
    """Query-to-catalog similarities known only on each query's nearest catalog images.

    The large-catalog stand-in for the (q, n_items) matrix: for each query, the products among
    its top-``K`` images from the catalog's :class:`~analyzer.search.vector_index.VectorIndex`
    (similarities re-scored exactly, each product at its best candidate image) and the *floor*,
    the K-th similarity: every image outside the candidates scores at most that. A count of the
    products that beat a threshold ``t`` is therefore exact when ``t >= floor`` (up to the
    index's recall). When ``t < floor`` the rank lies beyond the candidates (censored): the
    candidates are first deepened (``deepen(rows, K)``, K x 4 up to ``max_k``); if still
    censored, the products outside the candidates that beat ``t`` are *estimated* from a fixed
    random sample of whole products (all their images, exactly scored):

        rank - 1 ~= #{candidate products > t} + U x mean_{sampled non-candidates} [best > t]

    with ``U`` the number of competing products outside the candidates (an unbiased estimate of
    the count, since the sample is uniform over products). :attr:`censored` counts the queries
    whose last count was estimated.

    With ``exact_rows`` (a function returning the exact (q, n_products) best similarities, by
    one bounded-memory pass over the catalog's rows) there is no estimate: the first count that
    reaches beyond the candidates, or deeper than ``trust_items`` candidate images (an IVF
    index's recall falls with depth), switches every query of the set to the exact rows.
    """

    def __init__(self, codes: list[np.ndarray], best: list[np.ndarray], floor: np.ndarray,
                 n_products: int, k: int, max_k: int = 0, deepen: Any = None,
                 sample_codes: np.ndarray | None = None,
                 sample_best: np.ndarray | None = None, item_sims: list[np.ndarray] | None = None,
                 exact_rows: Any = None, trust_items: int = 0) -> None:
        self.codes = codes          # per query: product codes of the candidate products
        self.best = best            # per query: their best candidate similarity (float32)
        self.floor = np.asarray(floor, dtype=np.float32)   # (q,); -inf: every image searched
        self.n_products = int(n_products)
        self.k = np.full(len(codes), int(k), np.int64)
        self.max_k = int(max_k)
        self._deepen = deepen
        self.sample_codes = sample_codes    # (S,) product codes of the sampled products
        self.sample_best = sample_best      # (q, S) each query's best similarity to each
        self.censored = 0
        self.item_sims = item_sims          # per query: its candidate images' similarities
        self._exact_rows = exact_rows
        self.trust_items = int(trust_items)
        self.exact: np.ndarray | None = None   # (q, n_products) once computed

    def __len__(self) -> int:
        return len(self.codes)

    def _drop_row(self, drop: np.ndarray | None, r: int) -> np.ndarray | None:
        if drop is None:
            return None
        return drop if drop.ndim == 1 else drop[r]

    def count_above(self, thresholds: np.ndarray, drop: np.ndarray | None) -> np.ndarray:
        """(q,) int64: per query, the products not in ``drop`` (bool (n_products,) or
        (q, n_products)) whose best image scores above ``thresholds[q]`` (see the class)."""
        t = np.asarray(thresholds, dtype=np.float32).reshape(-1)
        if self.exact is None and self._exact_rows is not None and self.item_sims is not None:
            deep = [t[r] < self.floor[r] or int((self.item_sims[r] > t[r]).sum())
                    > self.trust_items for r in range(len(self.codes))]
            if any(deep):
                self.exact = self._exact_rows()
        if self.exact is not None:
            best = self.exact if drop is None else np.where(drop, -np.inf, self.exact)
            return (best > t[:, None]).sum(axis=1).astype(np.int64)
        out = np.zeros(len(self.codes), np.int64)
        self.censored = 0
        for r in range(len(self.codes)):
            while t[r] < self.floor[r] and self._deepen is not None \
                    and self.k[r] < self.max_k:
                self.k[r] = min(self.max_k, self.k[r] * 4)
                self.codes[r], self.best[r], self.floor[r] = self._deepen(r, int(self.k[r]))
            dr = self._drop_row(drop, r)
            c, b = self.codes[r], self.best[r]
            keep = np.ones(len(c), bool) if dr is None else ~dr[c]
            out[r] = int((b[keep] > t[r]).sum())
            if t[r] < self.floor[r]:
                self.censored += 1
                out[r] += self._estimate_outside(r, t[r], dr, c[keep])
        return out

    def _estimate_outside(self, r: int, t: np.float32, dr: np.ndarray | None,
                          cand: np.ndarray) -> int:
        if self.sample_codes is None or self.sample_best is None or not len(self.sample_codes):
            return 0   # no sample: the count among the candidates is a lower bound
        n_allowed = self.n_products - (0 if dr is None else int(dr.sum()))
        outside = n_allowed - len(cand)
        sc = self.sample_codes
        ok = ~np.isin(sc, self.codes[r])
        if dr is not None:
            ok &= ~dr[sc]
        if outside <= 0 or not ok.any():
            return 0
        share = float((self.sample_best[r][ok] > t).mean())
        return int(round(share * outside))


def virtual_ranks(query_sims: np.ndarray | CandidateSims, listing_sims: np.ndarray,
                  groups: ProductGroups, exclude: np.ndarray | None = None,
                  tol: float = 1e-3) -> np.ndarray:
    """Rank of the listing for each query (formula in the module docstring).

    ``query_sims``: (q, n_items) cosine of each query to each catalog image, or the same known
    on each query's nearest images (:class:`CandidateSims`, large catalogs); ``listing_sims``:
    (q,) cosine of each query to the listing; ``exclude``: bool (n_products,) or
    (q, n_products) of products that do not compete (the query's own product, the listing's
    duplicates). Returns int64 (q,), 1 = first.
    """
    if isinstance(query_sims, CandidateSims):
        ls = np.asarray(listing_sims, dtype=np.float32).reshape(-1)
        return 1 + query_sims.count_above(ls + np.float32(tol), exclude)
    best = groups.best(query_sims)
    if exclude is not None:
        best = np.where(exclude, -np.inf, best)
    ls = np.asarray(listing_sims, dtype=np.float32).reshape(-1, 1)
    return 1 + (best > ls + np.float32(tol)).sum(axis=1).astype(np.int64)


def rank_summary(ranks: np.ndarray, ks: list[int] | tuple[int, ...]) -> dict[str, Any]:
    """Median, quartiles, first-screen shares and mean log2 rank of a set of ranks."""
    r = np.asarray(ranks, dtype=np.float64)
    if r.size == 0:
        return {"n_queries": 0, "median_rank": None, "rank_p25": None, "rank_p75": None,
                "top_k_share": {str(k): None for k in ks}, "mean_log_rank": None}
    return {
        "n_queries": int(r.size),
        "median_rank": float(np.median(r)),
        "rank_p25": float(np.percentile(r, 25)),
        "rank_p75": float(np.percentile(r, 75)),
        "top_k_share": {str(k): round(float((r <= k).mean()), 4) for k in ks},
        "mean_log_rank": round(float(np.log2(r).mean()), 4),
    }


def percentile_of(value: float, baseline: np.ndarray, lower_is_better: bool = True) -> float:
    """Share (0-100) of ``baseline`` values the given value beats, ties counted half (the
    mid-rank percentile). With ``lower_is_better`` a smaller value beats a larger one."""
    b = np.asarray(baseline, dtype=np.float64)
    b = b[np.isfinite(b)]
    if b.size == 0 or value is None or not np.isfinite(value):
        return float("nan")
    if lower_is_better:
        better, ties = (b > value).sum(), (b == value).sum()
    else:
        better, ties = (b < value).sum(), (b == value).sum()
    return float(100.0 * (better + 0.5 * ties) / b.size)


def search_score(summary: dict[str, Any], ks: list[int] | tuple[int, ...]) -> float:
    """0-100: the mean of the first-screen shares over ``ks`` (x 100). 100 = the listing is on
    the first 4 results for every simulated shopper; 0 = never in the first 20."""
    shares = [summary["top_k_share"].get(str(k)) for k in ks]
    shares = [s for s in shares if s is not None]
    return float(100.0 * np.mean(shares)) if shares else 0.0
