"""The on-disk IVF-PQ index: recall, rank agreement with exact search, incremental updates."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analyzer.search.index import ExactIndex
from analyzer.search.ondisk import (
    OnDiskVectorIndex,
    ShardedVectors,
    build_index,
    default_params,
    open_index,
)
from analyzer.search.vector_index import INDEX_KINDS, index_class, load_index

N, DIM = 12_000, 384


def _draw(base: np.ndarray, n: int, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Mixtures of three 'product' vectors plus noise, as in benchmarks/bench_scale.py."""
    idx = rng.integers(0, len(base), size=(n, 3))
    w = rng.dirichlet([4.0, 1.0, 1.0], size=n).astype(np.float32)
    x = np.einsum("nk,nkd->nd", w, base[idx])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x += noise * rng.standard_normal(x.shape).astype(np.float32) / np.sqrt(x.shape[1])
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(7)
    base = rng.standard_normal((300, DIM)).astype(np.float32)
    x = _draw(base, N, rng, 0.6)
    folder = tmp_path_factory.mktemp("vecs")
    paths = []
    for i, s in enumerate(range(0, N, 5000)):  # float16 shards, as the catalog stores them
        p = folder / f"part-{i:05d}.npy"
        np.save(p, x[s:s + 5000].astype(np.float16))
        paths.append(p)
    queries = _draw(base, 200, np.random.default_rng(8), 0.6)
    return paths, queries


@pytest.fixture(scope="module")
def faiss_index(data, tmp_path_factory):
    paths, _ = data
    vecs = ShardedVectors(paths)
    root = tmp_path_factory.mktemp("idx")
    build_index(root, vecs, engine="faiss", params=default_params(N, DIM, {"nprobe": 16}))
    return root, vecs


def _exact(vecs: ShardedVectors, q: np.ndarray, k: int):
    shards = [np.asarray(vecs[np.arange(vecs.shape[0])], np.float32)]
    return ExactIndex(shards).search(q, k)


def test_sharded_vectors_reads_rows_across_shards(data):
    paths, _ = data
    v = ShardedVectors(paths)
    assert v.shape == (N, DIM)
    ids = np.array([11_999, 0, 5000, 4999, 7])
    want = np.concatenate([np.load(p) for p in paths]).astype(np.float32)[ids]
    np.testing.assert_array_equal(v[ids], want)


def test_index_is_memory_mapped_and_small(faiss_index):
    root, _ = faiss_index
    data_file = root / "ivfpq-0000.ivfdata"
    # PQ codes + ids: about m + 8 bytes per vector, far below the 768 B of float16 vectors
    assert data_file.stat().st_size < N * 100
    idx = open_index(root, faiss_index[1])
    assert idx.ntotal == N


def test_recall_and_exact_similarities(faiss_index, data):
    root, vecs = faiss_index
    _, q = data
    idx = open_index(root, vecs)
    sims, ids = idx.search(q, 10)
    es, ei = _exact(vecs, q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, ei, strict=True)])
    assert recall >= 0.9
    # returned similarities are exact dot products with the stored vectors
    np.testing.assert_allclose(sims[:, 0], np.sum(vecs[ids[:, 0]] * q, axis=1), atol=1e-5)
    assert np.all(np.diff(sims, axis=1) <= 1e-6)


def test_simulated_rank_agrees_with_exact_within_one(faiss_index, data):
    """Rank of a listing = 1 + catalog images more similar to the shopper's photo than it."""
    root, vecs = faiss_index
    _, q = data
    rng = np.random.default_rng(3)
    listing = q + 0.35 * rng.standard_normal(q.shape).astype(np.float32) / np.sqrt(DIM)
    listing /= np.linalg.norm(listing, axis=1, keepdims=True)
    s_listing = np.sum(listing * q, axis=1)
    k = 50
    idx = open_index(root, vecs)
    a_s, _ = idx.search(q, k)
    e_s, _ = _exact(vecs, q, k)
    rank_ann = 1 + np.sum(a_s > s_listing[:, None], axis=1)
    rank_exact = 1 + np.sum(e_s > s_listing[:, None], axis=1)
    assert np.mean(rank_exact <= k) > 0.5            # the ranks are inside the searched depth
    assert np.mean(np.abs(rank_ann - rank_exact) <= 1) >= 0.95


def test_incremental_add_and_remove(data, tmp_path):
    paths, q = data
    vecs = ShardedVectors(paths[:2])                  # index the first 10,000 rows
    root = tmp_path / "idx"
    idx = build_index(root, vecs, params=default_params(10_000, DIM, {"nprobe": 16}))
    assert idx.ntotal == 10_000
    full = ShardedVectors(paths)
    idx.vectors = full
    idx.add(full[np.arange(10_000, N)], np.arange(10_000, N))
    idx = open_index(root, full)                      # the update is on disk, not only in RAM
    assert idx.ntotal == N
    new_q = full[np.arange(10_000, 10_050)]
    _, ids = idx.search(new_q, 1)
    assert np.mean(ids[:, 0] == np.arange(10_000, 10_050)) >= 0.95
    gone = ids[:10, 0]
    assert idx.remove(gone) == 10
    idx = open_index(root, full)
    _, ids2 = idx.search(new_q[:10], 5)
    assert not set(gone) & set(ids2.ravel())
    # tombstones hide items even before the index itself is touched
    alive = np.ones(N, bool)
    _, top = idx.search(q[:5], 3)
    alive[top[:, 0]] = False
    _, filt = idx.search(q[:5], 3, alive=alive)
    assert not set(top[:, 0]) & set(filt.ravel())


def test_catalog_index_interface(data, tmp_path):
    """Registered (by dotted path) as a catalog VectorIndex kind, saved/loaded through
    analyzer.search.vector_index."""
    paths, q = data
    shards = [np.load(p, mmap_mode="r") for p in paths]
    assert INDEX_KINDS[OnDiskVectorIndex.kind] == "analyzer.search.ondisk:OnDiskVectorIndex"
    assert index_class(OnDiskVectorIndex.kind) is OnDiskVectorIndex
    vi = OnDiskVectorIndex.build(shards, params={"nprobe": 16}, scratch=tmp_path)
    vi.save(tmp_path / "index")
    loaded = load_index(tmp_path / "index", shards)
    assert isinstance(loaded, OnDiskVectorIndex) and loaded.ntotal == N
    sims, ids = loaded.search(q[:20], 5)
    assert ids.shape == (20, 5) and np.all(ids >= 0)


@pytest.mark.slow
def test_lance_engine_same_interface(data, tmp_path):
    pytest.importorskip("lancedb")
    paths, q = data
    vecs = ShardedVectors(paths[:1])                  # 5,000 rows: Lance's build is slow
    idx = build_index(tmp_path / "lance", vecs, engine="lance",
                      params=default_params(5000, DIM, {"nprobe": 16}))
    idx = open_index(tmp_path / "lance", vecs)
    _, ids = idx.search(q[:50], 10)
    _, ei = ExactIndex([np.asarray(vecs[np.arange(5000)])]).search(q[:50], 10)
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, ei, strict=True)]) >= 0.8
    assert idx.remove(ids[:3, 0]) == len(set(ids[:3, 0]))


def test_catalog_switches_to_ondisk_index_and_grows_it_incrementally(data, tmp_path, monkeypatch):
    """Past `search.ondisk_min_items` a catalog build writes the on-disk index; a later `add`
    extends it (no retraining) and search still finds the added rows."""
    import shutil

    from analyzer.search import catalog as catmod
    from analyzer.search import vector_index as idxmod

    paths, q = data
    monkeypatch.setattr(idxmod, "ondisk_min_items", lambda: 1000)
    root = tmp_path / "cat"
    (root / "embeddings").mkdir(parents=True)
    first = paths[:-1]
    manifest = {"dim": DIM, "count": 0, "shards": []}
    for i, p in enumerate(paths):
        shutil.copy(p, root / "embeddings" / f"part-{i:05d}.npy")
    rows = [int(np.load(p, mmap_mode="r").shape[0]) for p in paths]

    def grow(n_shards: int) -> None:
        manifest["shards"] = [{"name": f"part-{i:05d}", "rows": rows[i],
                               "first_item_id": sum(rows[:i])} for i in range(n_shards)]
        manifest["count"] = sum(rows[:n_shards])
        catmod._maybe_build_index(root, manifest, progress=False)

    grow(len(first))
    assert manifest["index"] == {"kind": "faiss-ivfpq", "ntotal": sum(rows[:-1])}
    trained = (root / "index" / "index.json").read_text()
    grow(len(paths))
    assert manifest["index"] == {"kind": "faiss-ivfpq", "ntotal": N}
    cat = catmod.Catalog(root=root, manifest=manifest, meta=None)
    loaded = idxmod.load_index(root / "index", cat.shards)
    assert isinstance(loaded, OnDiskVectorIndex) and loaded.ntotal == N
    assert json.loads(trained)["spec"] == json.loads(
        (root / "index" / "index.json").read_text())["spec"]
    # A query equal to an added row finds that row first.
    last = np.asarray(np.load(paths[-1])[:5], np.float32)
    last /= np.linalg.norm(last, axis=1, keepdims=True)
    _, ids = loaded.search(last, 3)
    assert list(ids[:, 0]) == list(range(sum(rows[:-1]), sum(rows[:-1]) + 5))


def test_blockwise_float16_scoring_is_the_float32_product(data):
    """The fast exact path (float16 rows converted in small blocks) gives the float32 product:
    scores, top-k and exact-rank counts equal NumPy's on the same rows."""
    from analyzer.search.scoring import count_better, exact_scores, iter_scores

    paths, queries = data
    shards = [np.load(p, mmap_mode="r") for p in paths]  # 5000-row float16 memory maps
    rows16 = np.concatenate([np.asarray(s) for s in shards])
    assert rows16.dtype == np.float16
    q = queries[:3]
    want = q @ rows16.astype(np.float32).T
    got = exact_scores(q, shards)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert sum(s.shape[1] for _, s in iter_scores(q, shards, rows=700)) == N
    _, ids = ExactIndex(shards).search(q, 10)
    np.testing.assert_array_equal(np.sort(ids, axis=1), np.sort(np.argsort(-want)[:, :10], axis=1))
    thr = np.array([0.2, 0.5, 0.9], np.float32)
    np.testing.assert_array_equal(count_better(q, shards, thr), (got > thr[:, None]).sum(axis=1))
    assert 0 < count_better(q[:1], shards, thr[:1])[0] < N


def test_rerank_depth_grows_with_the_catalog():
    from analyzer.search.ondisk import IndexParams

    p = IndexParams(rerank=1000, rerank_fraction=0.0008)
    assert p.candidates(10_000) == 1000          # the floor for small catalogs
    assert p.candidates(1_000_000) == 1000
    assert p.candidates(5_000_000) == 4000       # denser catalog: deeper exact re-rank
    # An index.json written before the field existed gets the default fraction.
    assert IndexParams.from_dict({"rerank": 500}).candidates(5_000_000) == 4000
