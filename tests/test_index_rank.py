"""The search simulation through the catalog's vector index (issue 16, "rank through the index").

A copy of the shipped demo catalog gets the on-disk FAISS IVF-PQ index; a SearchContext forced
onto the index path (``index_rank.dense_max_items = 0``) must give the ranks, copies, lookalikes
and coverage of the exact in-memory path, and must never load the catalog's matrix whole.
Needs no ``../shared``: the uploads are the demo catalog's own photos, edited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from analyzer.search.catalog import DEMO_CATALOG, Catalog
from analyzer.search.rank import CandidateSims, ProductGroups, virtual_ranks

FAST = {"n_baseline_products": 0, "n_queries": 8, "n_peer_queries": 8}


@pytest.fixture(scope="module")
def indexed_demo(tmp_path_factory) -> Path:
    """The demo catalog's vectors and metadata, with an on-disk IVF-PQ index."""
    from analyzer.search.ondisk import OnDiskVectorIndex

    root = tmp_path_factory.mktemp("indexed") / "catalog"
    root.mkdir()
    for sub in ("meta", "embeddings"):
        shutil.copytree(DEMO_CATALOG / sub, root / sub)
    man = json.loads((DEMO_CATALOG / "manifest.json").read_text())
    # The images stay where they are: absolute paths in the copy's metadata.
    cat = Catalog(root=root, manifest=man, meta=None)  # type: ignore[arg-type]
    idx = OnDiskVectorIndex.build(cat.shards)
    idx.save(root / "index")
    man["index"] = {"kind": idx.kind, "ntotal": idx.ntotal}
    (root / "manifest.json").write_text(json.dumps(man))
    import pandas as pd

    for p in sorted((root / "meta").glob("*.parquet")):
        m = pd.read_parquet(p)
        m["image"] = [str(DEMO_CATALOG / x) for x in m["image"]]
        m["thumb"] = [str(DEMO_CATALOG / x) for x in m["thumb"]]
        m.to_parquet(p, index=False)
    return root


def _contexts(indexed: Path, **index_rank):
    from analyzer.search.integration import SearchContext

    exact = SearchContext.open(DEMO_CATALOG, device="cpu", overrides=FAST)
    over = {**FAST, "index_rank": {"dense_max_items": 0, **index_rank}}
    via_index = SearchContext(Catalog.open(indexed), exact.embedder,
                              exact.cfg.__class__.from_thresholds(over))
    return exact, via_index


def _uploads() -> list[tuple[np.ndarray, str]]:
    """A catalog photo as is (same file), mirrored and cropped 5% (a copy), and a product photo
    shrunk onto a grey backdrop (not a copy)."""
    import cv2

    from analyzer.io.loader import load_image

    cat = Catalog.open(DEMO_CATALOG)
    a = load_image(cat.image_path(0))
    b = load_image(cat.image_path(100)).rgb
    h, w = b.shape[:2]
    crop = np.ascontiguousarray(b[int(.05 * h):, ::-1][:, int(.05 * w):])
    c = load_image(cat.image_path(400)).rgb
    small = cv2.resize(c, (w // 2, h // 2) if c.shape[:2] == (h, w) else
                       (c.shape[1] // 2, c.shape[0] // 2))
    grey = np.full_like(c, 170)
    grey[:small.shape[0], :small.shape[1]] = small
    return [(a.rgb, a.content_hash), (crop, ""), (grey, "")]


@pytest.mark.parametrize("index_rank", [
    {},                                        # candidates reach every image
    {"candidates": 20, "trust_items": 5},      # shallow: the exact pass beyond them
    {"candidates": 20, "max_candidates": 1280, "exact_beyond": False},   # deepened instead
], ids=["deep", "shallow", "deepened"])
def test_the_index_path_gives_the_exact_paths_ranks_copies_and_lookalikes(indexed_demo,
                                                                          index_rank):
    exact, via_index = _contexts(indexed_demo, **index_rank)
    assert type(via_index.access).__name__ == "IndexAccess"
    assert via_index.catalog.index.kind == "faiss-ivfpq"
    close, total = 0, 0
    for seed, (rgb, sha) in enumerate(_uploads()):
        want = exact.evaluate(rgb, content_hash=sha, seed=seed)
        got = via_index.evaluate(rgb, content_hash=sha, seed=seed)
        for key in ("ranks",):
            a = np.asarray(got.search[key])
            b = np.asarray(want.search[key])
            assert a.shape == b.shape
            close += int((np.abs(a - b) <= 1).sum())
            total += len(a)
        va, vb = np.asarray(got.search["visual"]["ranks"]), \
            np.asarray(want.search["visual"]["ranks"])
        close += int((np.abs(va - vb) <= 1).sum())
        total += len(va)
        assert sorted(d["item_id"] for d in got.differentiation["near_duplicates"]) == \
            sorted(d["item_id"] for d in want.differentiation["near_duplicates"])
        assert [n["product_id"] for n in got.differentiation["nearest"]] == \
            [n["product_id"] for n in want.differentiation["nearest"]]
        assert got.search["outside_catalog"] == want.search["outside_catalog"]
        assert got.search["peer"]["category"] == want.search["peer"]["category"]
        assert got.differentiation["uniqueness"] == pytest.approx(
            want.differentiation["uniqueness"], abs=2.0)
    assert close / total >= 0.95
    # The uploads were chosen so that two are copies and one is not.
    assert exact.evaluate(_uploads()[1][0], seed=1).differentiation["near_duplicates"]


def test_above_the_threshold_the_catalog_matrix_is_never_loaded(indexed_demo, monkeypatch):
    from analyzer.search import index as index_mod
    from analyzer.search.integration import SearchContext

    def refuse(*_a, **_k):
        raise AssertionError("the whole catalog matrix was loaded")

    monkeypatch.setattr(Catalog, "embeddings", property(refuse))
    monkeypatch.setattr(index_mod.ExactIndex, "__init__", refuse)
    rgb, sha = _uploads()[0]
    emb = Catalog.open(DEMO_CATALOG).embedder("cpu")
    over = {**FAST, "index_rank": {"dense_max_items": 0}}
    from analyzer.search.search_config import SearchConfig

    ctx = SearchContext(Catalog.open(indexed_demo), emb, SearchConfig.from_thresholds(over))
    res = ctx.evaluate(rgb, content_hash=sha, seed=0)
    assert res.search["median_rank"] is not None and res.differentiation["near_duplicates"]
    with pytest.raises(ValueError):
        ctx.E  # noqa: B018 - the matrix is not there to give
    # Below the threshold the same catalog is read whole (the patch would fire).
    small = SearchConfig.from_thresholds(FAST)
    with pytest.raises(AssertionError, match="whole catalog"):
        SearchContext(Catalog.open(indexed_demo), emb, small)


class _Index:
    """Exact top-k over a small matrix: a stand-in VectorIndex for CandidateSims' arithmetic."""

    def __init__(self, X: np.ndarray) -> None:
        self.X = X

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        s = q @ self.X.T
        ids = np.argsort(-s, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(s, ids, 1).astype(np.float32), ids.astype(np.int64)


def _candidates(X, groups, q, k, max_k, sample):
    idx = _Index(X)

    def products(s, i, kk):
        codes = groups.codes[i]
        uc, first = np.unique(codes, return_index=True)
        floor = np.float32(s[-1]) if kk < len(X) else np.float32(-np.inf)
        return uc, s[first], floor

    s, i = idx.search(q, k)
    rows = [products(s[r], i[r], k) for r in range(len(q))]

    def deepen(r, kk):
        s2, i2 = idx.search(q[r:r + 1], kk)
        return products(s2[0], i2[0], kk)

    sb = groups.best(q @ X.T)[:, sample]
    return CandidateSims([r[0] for r in rows], [r[1] for r in rows],
                         np.array([r[2] for r in rows]), groups.n_products, k, max_k, deepen,
                         sample, sb)


def test_candidate_ranks_are_exact_within_the_candidates_and_estimated_beyond():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 16)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    groups = ProductGroups.from_ids([f"p{i // 3}" for i in range(600)])
    q = X[rng.choice(600, 12, replace=False)] + 0.3 * rng.normal(size=(12, 16)).astype(
        np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    listing = rng.normal(size=16).astype(np.float32)
    listing /= np.linalg.norm(listing)
    exclude = np.zeros(groups.n_products, bool)
    exclude[:5] = True
    want = virtual_ranks(q @ X.T, q @ listing, groups, exclude)
    everyone = np.arange(groups.n_products)
    # Deep enough to reach every listing: exact.
    got = virtual_ranks(_candidates(X, groups, q, 20, 600, everyone[:0]), q @ listing, groups,
                        exclude)
    assert (got == want).all()
    # Too shallow and no sample: a lower bound, never above the truth.
    shallow = _candidates(X, groups, q, 5, 5, everyone[:0])
    low = virtual_ranks(shallow, q @ listing, groups, exclude)
    assert (low <= want).all() and (low < want).any() and shallow.censored > 0
    # Too shallow, with the exact pass: exact, and only computed when a count needs it.
    calls = []

    def exact_rows():
        calls.append(1)
        return groups.best(q @ X.T)

    s, i = _Index(X).search(q, 5)
    cs = CandidateSims([groups.codes[i[r]][np.sort(np.unique(groups.codes[i[r]],
                                                             return_index=True)[1])]
                        for r in range(len(q))],
                       [s[r][np.sort(np.unique(groups.codes[i[r]], return_index=True)[1])]
                        for r in range(len(q))],
                       s[:, -1], groups.n_products, 5, item_sims=list(s),
                       exact_rows=exact_rows, trust_items=5)
    top = virtual_ranks(cs, np.full(len(q), 2.0, np.float32), groups, exclude)
    assert (top == 1).all() and not calls   # above everything: the candidates suffice
    assert (virtual_ranks(cs, q @ listing, groups, exclude) == want).all() and calls
    # Too shallow but every product sampled: the estimate is the exact count.
    est = virtual_ranks(_candidates(X, groups, q, 5, 5, everyone), q @ listing, groups,
                        exclude)
    assert (est == want).all()


def test_row_file_reads_the_rows_a_memory_map_reads(tmp_path):
    from analyzer.search.scoring import RowFile, gather_rows

    rng = np.random.default_rng(1)
    parts = [rng.normal(size=(n, 7)).astype(np.float16) for n in (5, 9)]
    for j, a in enumerate(parts):
        np.save(tmp_path / f"p{j}.npy", a)
    files = [RowFile(tmp_path / f"p{j}.npy") for j in range(2)]
    maps = [np.load(tmp_path / f"p{j}.npy", mmap_mode="r") for j in range(2)]
    assert files[1].shape == (9, 7) and files[1].dtype == np.float16 and len(files[0]) == 5
    np.testing.assert_array_equal(files[1][2:8], maps[1][2:8])
    ids = np.array([13, 0, 6, 4, 6])
    starts = np.array([0, 5, 14])
    np.testing.assert_array_equal(gather_rows(files, starts, ids), gather_rows(maps, starts, ids))
