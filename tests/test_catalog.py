"""Catalog build (folder, CSV), skipped files, incremental add, format and mismatch errors, and the
vector indexes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyzer.errors import ErrorCode, ListingLensError
from analyzer.search.catalog import Catalog, add_to_catalog, build_catalog
from analyzer.search.catalog_source import read_source
from analyzer.search.index import ExactIndex, IVFIndex
from analyzer.search.vector_index import load_index
from tests.catalog_helpers import write_products

EMBEDDER = "builtin:global"   # the whole-image backbone only: the catalog mechanics, quickly


def _write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["image", "product_id", "title", "category"])
        w.writeheader()
        w.writerows(rows)


@pytest.fixture(scope="module")
def folder_catalog(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    write_products(src / "flat", n_products=4, views=1)
    write_products(src / "flat" / "multi", n_products=1, views=3)   # one product, three views
    (src / "flat" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (src / "flat" / "notes.png").write_text("hello")
    out = tmp_path_factory.mktemp("cat") / "catalog"
    res = build_catalog(src / "flat", out, embedder=EMBEDDER, progress=False)
    return res, out


def test_build_from_folder(folder_catalog):
    res, out = folder_catalog
    assert res.items == 7 and res.catalog == out
    assert sorted(Path(s["file"]).name for s in res.skipped) == ["broken.jpg", "notes.png"]
    assert {s["code"] for s in res.skipped} <= {"NOT_AN_IMAGE", "CORRUPT_IMAGE",
                                                "TRUNCATED_IMAGE"}
    assert all(s["message"] for s in res.skipped)
    cat = Catalog.open(out)
    man = json.loads((out / "manifest.json").read_text())
    for key in ("format_version", "embedder_id", "dim", "count", "created", "library_version",
                "shards", "dtype"):
        assert key in man
    assert man["count"] == 7 and man["shards"] == [{"name": "part-00000", "rows": 7,
                                                     "first_item_id": 0}]
    emb = np.load(out / "embeddings" / "part-00000.npy", mmap_mode="r")
    assert emb.shape == (7, man["dim"]) and emb.dtype == np.float16
    np.testing.assert_allclose(np.linalg.norm(cat.embeddings, axis=1), 1.0, atol=2e-3)
    assert list(cat.meta["item_id"]) == list(range(7))
    assert set(cat.meta.columns) >= {"item_id", "product_id", "image", "title", "category",
                                     "thumb", "phash", "content_hash"}
    # Sub-folder images are views of one product; top-level images are their own products.
    assert (cat.meta["product_id"] == "multi").sum() == 3
    assert cat.meta["product_id"].nunique() == 5
    for i in range(7):
        assert cat.thumbnail_path(i).is_file() and cat.image_path(i).is_file()
    assert all(len(h) == 16 for h in cat.meta["phash"])


def test_build_from_csv_with_relative_paths(tmp_path):
    rows = write_products(tmp_path / "photos", n_products=3, views=2)
    for r in rows:
        r["image"] = f"photos/{r['image']}"
    rows.append({"image": "photos/missing.jpg", "product_id": "PX", "title": "x", "category": ""})
    _write_csv(tmp_path / "listing.csv", rows)
    res = build_catalog(tmp_path / "listing.csv", tmp_path / "cat", embedder=EMBEDDER,
                        progress=False)
    assert res.items == 6
    assert [s["code"] for s in res.skipped] == ["FILE_NOT_FOUND"]
    cat = Catalog.open(tmp_path / "cat")
    assert list(cat.meta["product_id"]) == ["P0", "P0", "P1", "P1", "P2", "P2"]
    assert cat.meta["title"].iloc[2] == rows[2]["title"]
    assert set(cat.meta["category"]) == {"Shapes", "Other"}
    assert all(cat.image_path(i).is_file() for i in range(6))
    # Refuses to overwrite silently.
    with pytest.raises(ListingLensError) as e:
        build_catalog(tmp_path / "listing.csv", tmp_path / "cat", embedder=EMBEDDER,
                      progress=False)
    assert e.value.code == ErrorCode.CATALOG_MISMATCH


def test_bad_csv(tmp_path):
    (tmp_path / "x.csv").write_text("path,name\na.jpg,b\n")
    with pytest.raises(ListingLensError) as e:
        read_source(tmp_path / "x.csv")
    assert e.value.code == ErrorCode.BAD_CSV
    with pytest.raises(ListingLensError) as e:
        read_source(tmp_path / "nothing-here")
    assert e.value.code == ErrorCode.FILE_NOT_FOUND


def test_incremental_add_embeds_only_new_images(tmp_path, monkeypatch):
    import analyzer.embed as embed_mod

    real = embed_mod.get_embedder
    calls: list[int] = []

    class Counting:
        def __init__(self, inner):
            self.inner, self.id, self.dim, self.device = inner, inner.id, inner.dim, inner.device

        def embed(self, images, masks=None, batch_size=32):
            calls.append(len(images))
            return self.inner.embed(images, masks, batch_size)

    monkeypatch.setattr(embed_mod, "get_embedder",
                        lambda spec="builtin", device="auto", allow_download=False:
                        Counting(real(spec, device, allow_download)))
    write_products(tmp_path / "a", n_products=3, views=1)
    build_catalog(tmp_path / "a", tmp_path / "cat", embedder=EMBEDDER, progress=False)
    assert sum(calls) == 3
    before = np.load(tmp_path / "cat" / "embeddings" / "part-00000.npy")
    calls.clear()
    rows = write_products(tmp_path / "b", n_products=5, views=1)[3:]   # two new products
    for r in rows:
        r["product_id"] = "NEW-" + r["product_id"]
    _write_csv(tmp_path / "b" / "new.csv", rows)
    res = add_to_catalog(tmp_path / "cat", tmp_path / "b" / "new.csv", progress=False)
    assert sum(calls) == 2 and res.items == 5
    cat = Catalog.open(tmp_path / "cat")
    assert [s["name"] for s in cat.manifest["shards"]] == ["part-00000", "part-00001"]
    assert cat.manifest["shards"][1]["first_item_id"] == 3
    assert list(cat.meta["item_id"]) == list(range(5))
    np.testing.assert_array_equal(np.load(tmp_path / "cat" / "embeddings" / "part-00000.npy"),
                                  before)
    # The new images are searchable: each finds itself first.
    sims, ids = cat.search(cat.embeddings[3:], k=2)
    assert list(ids[:, 0]) == [3, 4] and sims[0, 0] > 0.99


def test_embedder_mismatch_and_missing_catalog(folder_catalog, tmp_path):
    from analyzer.embed import get_embedder

    _, out = folder_catalog
    cat = Catalog.open(out)
    with pytest.raises(ListingLensError) as e:
        cat.check_embedder(get_embedder("builtin", device="cpu"))
    assert e.value.code == ErrorCode.CATALOG_MISMATCH
    with pytest.raises(ListingLensError) as e:
        cat.embedder(spec="builtin")
    assert e.value.code == ErrorCode.CATALOG_MISMATCH
    with pytest.raises(ListingLensError) as e:
        cat.search(np.ones((1, 7), np.float32), 3)
    assert e.value.code == ErrorCode.CATALOG_MISMATCH
    assert cat.embedder().id == cat.embedder_id
    with pytest.raises(ListingLensError) as e:
        Catalog.open(tmp_path)
    assert e.value.code == ErrorCode.CATALOG_NOT_FOUND
    # A manifest that disagrees with its shards.
    bad = tmp_path / "bad"
    bad.mkdir()
    man = dict(cat.manifest, count=99)
    (bad / "manifest.json").write_text(json.dumps(man))
    (bad / "meta").mkdir()
    pd.read_parquet(out / "meta" / "part-00000.parquet").to_parquet(
        bad / "meta" / "part-00000.parquet")
    with pytest.raises(ListingLensError) as e:
        Catalog.open(bad)
    assert e.value.code == ErrorCode.CATALOG_MISMATCH


def test_search_products_one_row_per_product(folder_catalog):
    _, out = folder_catalog
    cat = Catalog.open(out)
    multi = np.flatnonzero(cat.meta["product_id"] == "multi")
    res = cat.search_products(cat.embeddings[multi[:1]], k=10)[0]
    assert len(res) == 5                                  # 5 products, 7 images
    assert [r["rank"] for r in res] == [1, 2, 3, 4, 5]
    assert len({r["product_id"] for r in res}) == 5
    assert res[0]["product_id"] == "multi" and res[0]["item_id"] == multi[0]
    sims = [r["similarity"] for r in res]
    assert sims == sorted(sims, reverse=True)
    top3 = cat.search_products(cat.embeddings[:2], k=3)
    assert [len(r) for r in top3] == [3, 3]
    only = cat.search_products(cat.embeddings[:1], k=10, category="none-such")[0]
    assert only == []


def _clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(64, dim))
    x = centres[rng.integers(0, 64, n)] + 0.6 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_exact_index_over_shards_matches_brute_force():
    x = _clustered(3000, 32)
    shards = [x[:1000].astype(np.float16), x[1000:]]
    q = x[[5, 1500, 2999]]
    sims, ids = ExactIndex(shards).search(q, 7)
    full = q @ np.vstack([s.astype(np.float32) for s in shards]).T
    np.testing.assert_array_equal(ids, np.argsort(-full, axis=1)[:, :7])
    np.testing.assert_allclose(sims, np.sort(full, axis=1)[:, ::-1][:, :7], atol=1e-5)
    s, i = ExactIndex([x[:3]]).search(q, 5)                 # fewer rows than k: padded
    assert (i[:, 3:] == -1).all() and np.isneginf(s[:, 3:]).all()


def test_ivf_index_recall_and_roundtrip(tmp_path):
    x = _clustered(6000, 48, seed=1)
    shards = [x[:2500], x[2500:]]
    idx = IVFIndex.build(shards, nlist=32)
    q = _clustered(50, 48, seed=2)
    _, exact = ExactIndex(shards).search(q, 10)
    sims, ann = idx.search(q, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(ann, exact, strict=True)])
    assert recall >= 0.9
    # Re-ranked similarities are the exact ones.
    np.testing.assert_allclose(sims[:, 0], np.einsum("ij,ij->i", q, x[ann[:, 0]]), atol=1e-5)
    idx.save(tmp_path / "index")
    again = load_index(tmp_path / "index", shards)
    assert isinstance(again, IVFIndex)
    np.testing.assert_array_equal(again.search(q, 10)[1], ann)
    # An index that does not cover every row falls back to exact search.
    assert isinstance(load_index(tmp_path / "index", shards + [x[:10]]), ExactIndex)


def test_single_queries_search_faiss_on_one_thread():
    import faiss

    from analyzer.search.scoring import FAISS_ONE_THREAD_BELOW, faiss_search

    x = _clustered(500, 16, seed=3)
    flat = faiss.IndexFlatIP(16)
    flat.add(x)
    seen: list[int] = []

    class Spy:
        def search(self, q, k):
            seen.append(faiss.omp_get_max_threads())
            return flat.search(q, k)

    prev = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(2)
    try:
        one = faiss_search(Spy(), x[:1], 5)
        batch = faiss_search(Spy(), x[:FAISS_ONE_THREAD_BELOW], 5)
        # The caller's setting is back after the call, and results are FAISS's own.
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(prev)
    assert seen == [1, 2]
    np.testing.assert_array_equal(one[1], flat.search(x[:1], 5)[1])
    np.testing.assert_array_equal(batch[1][:, 0], np.arange(FAISS_ONE_THREAD_BELOW))


def test_build_refuses_a_folder_of_other_files(tmp_path):
    """A thirteenth new user's try built a catalog with --out set to their folder of store
    photos: manifest, shards and thumbnails landed among the photos, and the next `analyze` of
    the folder graded 18 thumbnails as store photos."""
    write_products(tmp_path / "src", n_products=2, views=1)
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "my_photo.jpg").write_bytes(b"not touched")
    with pytest.raises(ListingLensError) as e:
        build_catalog(tmp_path / "src", shop, embedder=EMBEDDER, progress=False)
    assert e.value.code is ErrorCode.OUTPUT_EXISTS and "my_photo.jpg" in e.value.message
    assert sorted(p.name for p in shop.iterdir()) == ["my_photo.jpg"]   # nothing written
    empty = tmp_path / "empty"
    empty.mkdir()   # an empty folder is a new catalog's
    assert build_catalog(tmp_path / "src", empty, embedder=EMBEDDER, progress=False).items == 2
