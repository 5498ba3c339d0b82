"""Does this photo stand out from the catalog, and is it a copy of a photo already there?

**Lookalikes and uniqueness.** For a listing embedding ``e`` and catalog products ``p`` (each at
its best image), ``s_p = max_{i in p} cos(e, x_i)``. The *k-NN distance*

    d_k(e) = 1 - mean of the k largest s_p

is the usual local-density outlier statistic (Ramaswamy, Rastogi & Shim, "Efficient algorithms
for mining outliers from large data sets", SIGMOD 2000, use the k-th; the mean is steadier).
``uniqueness`` is the percentile of ``d_k`` among the same statistic of the catalog's own
products (each product's main image against all *other* products): 50 = as distinct as a typical
catalog product, 5 = more crowded than 95% of them.

**Near-duplicates.** The same photo re-used, re-encoded, resized or lightly edited: the DCT
perceptual hash (Zauner, "Implementation and benchmarking of perceptual image hash functions",
2010; ``imagehash.phash``, 64 bits) within a small Hamming distance *and* a high embedding cosine,
or either one very strictly. The hash alone confuses colour variants shot on the same set
(luma's blue and grey backpacks share a hash); the embedding alone confuses a re-shoot of the
same product with a copy. An identical file (same sha256) is always a duplicate.
That first rule is :data:`analyzer.search.duplicates.FIRST_RULE`, kept for comparison; the search
simulation uses the mirror-invariant :mod:`analyzer.search.duplicates` (copies flipped, cropped,
stamped, tinted).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from analyzer.search.rank import ProductGroups, percentile_of

_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def phash_hex(rgb: np.ndarray) -> str:
    """``imagehash.phash`` of an RGB uint8 array as 16 hex digits (what the catalog stores)."""
    import imagehash
    from PIL import Image

    return str(imagehash.phash(Image.fromarray(rgb)))


def hex_to_u64(hashes: Any) -> np.ndarray:
    """Hex strings of up to 16 digits -> uint64; unparsable/empty ones -> 0 with a mask."""
    out = np.zeros(len(hashes), dtype=np.uint64)
    for i, h in enumerate(hashes):
        try:
            out[i] = np.uint64(int(str(h), 16) & 0xFFFFFFFFFFFFFFFF)
        except (TypeError, ValueError):
            out[i] = np.uint64(0)
    return out


def valid_hashes(hashes: Any) -> np.ndarray:
    ok = np.zeros(len(hashes), dtype=bool)
    for i, h in enumerate(hashes):
        try:
            int(str(h), 16)
            ok[i] = len(str(h)) > 0
        except (TypeError, ValueError):
            ok[i] = False
    return ok


def hamming(a: int | np.uint64, b: np.ndarray) -> np.ndarray:
    """Bit differences between one 64-bit hash and an array of them (popcount of the xor)."""
    x = np.bitwise_xor(np.uint64(a), b.astype(np.uint64))
    return _POPCOUNT8[x.view(np.uint8).reshape(-1, 8)].sum(axis=1).astype(np.int64)


def hash_distances(listing_hash: str, item_hashes: Any) -> np.ndarray:
    return hamming(int(listing_hash, 16), hex_to_u64(list(item_hashes)))


def knn_distance(product_sims: np.ndarray, k: int) -> np.ndarray:
    """d_k = 1 - mean of the k largest similarities per row; rows of (q, n_products) (-inf =
    excluded). Fewer than k finite values: the mean of those there are."""
    s = np.atleast_2d(np.asarray(product_sims, dtype=np.float64))
    k = max(1, min(int(k), s.shape[1])) if s.shape[1] else 1
    if s.shape[1] == 0:
        return np.full(s.shape[0], np.nan)
    top = -np.sort(-s, axis=1)[:, :k]
    top = np.where(np.isfinite(top), top, np.nan)
    return 1.0 - np.nanmean(top, axis=1)


def catalog_knn_baseline(embeddings: np.ndarray, groups: ProductGroups, k: int) -> np.ndarray:
    """d_k of each catalog product's main image against all other products: (n_products,)."""
    main = groups.main_items()
    sims = embeddings[main] @ embeddings.T
    best = groups.best(sims)
    np.fill_diagonal(best, -np.inf)  # a product is not its own neighbour
    return knn_distance(best, k)


def uniqueness(d_k: float, baseline: np.ndarray) -> float:
    """Percentile (0-100) of the listing's d_k among the catalog's (larger d_k = more distinct)."""
    return percentile_of(d_k, baseline, lower_is_better=False)
