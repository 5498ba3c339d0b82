"""Lookalikes, uniqueness and near-duplicates."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from analyzer.search import differentiation as diff
from analyzer.search.rank import ProductGroups
from tests.rank_helpers import main_image, tops_context


def test_hamming_of_hex_hashes():
    a = "ffffffffffffffff"
    hashes = ["ffffffffffffffff", "fffffffffffffff0", "0000000000000000", "not-a-hash", ""]
    d = diff.hamming(int(a, 16), diff.hex_to_u64(hashes))
    assert d[:3].tolist() == [0, 4, 64]
    assert diff.valid_hashes(hashes).tolist() == [True, True, True, False, False]


def test_duplicate_rule_needs_hash_and_similarity_or_either_strictly():
    from analyzer.search.duplicates import CopyRule

    rule = CopyRule(phash_max=6, similarity=0.9, phash_strict=2, similarity_strict=0.985)
    dist = np.array([5, 5, 1, 30, 30, 30])
    sims = np.array([0.95, 0.5, 0.3, 0.99, 0.8, 0.8])
    same = np.array([False] * 5 + [True])
    ok = np.ones(6, bool)
    assert rule.is_duplicate(dist, sims, same, ok).tolist() == [True, False, True, True, False,
                                                                True]
    # an unparsable catalog hash never matches by hash
    ok[2] = False
    assert not rule.is_duplicate(dist, sims, same, ok)[2]


def test_knn_distance_and_uniqueness_of_an_outlier():
    rng = np.random.default_rng(0)
    centre = rng.normal(size=16)
    crowd = centre + 0.1 * rng.normal(size=(30, 16))
    crowd /= np.linalg.norm(crowd, axis=1, keepdims=True)
    groups = ProductGroups.from_ids([f"p{i}" for i in range(30)])
    base = diff.catalog_knn_baseline(crowd.astype(np.float32), groups, k=5)
    assert base.shape == (30,) and np.all(base >= 0)
    inlier = centre / np.linalg.norm(centre)
    outlier = rng.normal(size=16)
    outlier /= np.linalg.norm(outlier)
    d_in = diff.knn_distance((crowd @ inlier)[None], 5)[0]
    d_out = diff.knn_distance((crowd @ outlier)[None], 5)[0]
    assert diff.uniqueness(d_out, base) == 100.0
    assert diff.uniqueness(d_in, base) < 20.0
    # excluded neighbours (-inf) are skipped, not averaged in
    row = np.array([[0.9, -np.inf, 0.7]])
    assert diff.knn_distance(row, 2)[0] == pytest.approx(1 - 0.8)


@pytest.fixture(scope="module")
def tops(shared_data, tmp_path_factory):
    return tops_context(shared_data, tmp_path_factory.getbasetemp(), n_queries=4,
                        n_peer_queries=4, n_baseline_products=0)


def _analyzed(path_or_bytes, name="upload.jpg"):
    from analyzer.engine import analyze

    return analyze(path_or_bytes, name=name, keep_image=True)


@pytest.mark.shared
@pytest.mark.slow
def test_exact_copy_of_a_catalog_image_is_a_near_duplicate_naming_that_listing(tops,
                                                                              shared_data):
    ctx, _rows = tops
    item = 3
    src = ctx.catalog.image_path(item)
    pid = str(ctx.catalog.meta["product_id"].iloc[item])
    title = str(ctx.catalog.meta["title"].iloc[item])
    report = _analyzed(src)
    ctx.enrich(report)
    dups = report.differentiation["near_duplicates"]
    assert dups and dups[0]["product_id"] == pid and dups[0]["same_file"]
    assert dups[0]["phash_distance"] == 0 and dups[0]["similarity"] > 0.99
    flag = next(f for f in report.flags if f.code == "NEAR_DUPLICATE")
    assert pid in flag.message and title in flag.message
    # the duplicate is this listing (or a copy): it is neither a lookalike nor a competitor
    assert pid not in [n["product_id"] for n in report.differentiation["nearest"]]

    # a re-encoded, resized copy (a competitor's download of the photo) is caught too
    im = Image.open(src).convert("RGB")
    im = im.resize((im.width * 6 // 10, im.height * 6 // 10))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=70)
    copy = _analyzed(buf.getvalue(), "competitor.jpg")
    ctx.enrich(copy)
    dups = copy.differentiation["near_duplicates"]
    assert dups and dups[0]["product_id"] == pid and not dups[0]["same_file"]
    assert any(f.code == "NEAR_DUPLICATE" and pid in f.message for f in copy.flags)


@pytest.mark.shared
@pytest.mark.slow
def test_other_products_are_not_duplicates_and_lookalikes_are_named(tops, shared_data):
    ctx, rows = tops
    in_catalog = set(ctx.groups.product_ids)
    r = next(r for r in rows if r["product_key"] not in in_catalog)
    report = _analyzed(main_image(shared_data, r))
    res = ctx.enrich(report)
    d = report.differentiation
    assert d["near_duplicates"] == []
    assert not any(f.code == "NEAR_DUPLICATE" for f in report.flags)
    sims = [n["similarity"] for n in d["nearest"]]
    assert len(sims) == 5 and sims == sorted(sims, reverse=True)
    assert {n["product_id"] for n in d["nearest"]} <= in_catalog
    assert 0.0 <= d["uniqueness"] <= 100.0
    assert report.scores["differentiation"] == pytest.approx(d["uniqueness"], abs=0.01)
    assert res is not None and set(res.timings) == {"mask", "simulation", "embedding",
                                                    "ranking"}

    # With thresholds that call every Top crowded, the flag names the lookalikes and a fix.
    from analyzer.search.integration import SearchContext

    strict = SearchContext(ctx.catalog, ctx.embedder, ctx.cfg.__class__.from_thresholds({
        "n_queries": 4, "n_peer_queries": 4, "n_baseline_products": 0,
        "low_uniqueness_percentile": 101.0, "lookalike_similarity": 0.0}))
    report = _analyzed(main_image(shared_data, r))
    strict.enrich(report)
    flag = next(f for f in report.flags if f.code == "LOW_DIFFERENTIATION")
    top = report.differentiation["nearest"][0]
    assert top["product_id"] in flag.message and top["title"] in flag.message
    assert f"{top['similarity']:.2f}" in flag.message and flag.fix


def test_one_near_duplicate_flag_per_copied_listing():
    """A listing's photos are often one shot recoloured: an upload copying three of them gets one
    NEAR_DUPLICATE naming the listing and counting the others, not three rows (the card, JSON,
    CSV and PDF all read these flags)."""
    from analyzer.search.integration import SearchContext
    from analyzer.search.search_config import SearchConfig

    ctx = SearchContext.__new__(SearchContext)
    ctx.cfg = SearchConfig.from_thresholds()
    pk = str(ctx.cfg.primary_k)
    search = {"top_k_share": {pk: 1.0}, "percentile": 90.0, "outside_catalog": False}

    def dup(pid: str, image: str, sim: float) -> dict:
        return {"product_id": pid, "title": f"title {pid}", "image": image, "similarity": sim,
                "phash_distance": 4, "same_file": False, "registered": None}

    d = {"uniqueness": 80.0, "nearest": [],
         "near_duplicates": [dup("P1", "a.jpg", 0.97), dup("P1", "b.jpg", 0.95),
                             dup("P2", "c.jpg", 0.93), dup("P1", "d.jpg", 0.92)]}
    flags = [f for f in ctx._flags(search, d, None) if f.code == "NEAR_DUPLICATE"]
    assert len(flags) == 2
    assert "(P1, a.jpg" in flags[0].message and "also copies 2 other photos" in flags[0].message
    assert "(P2, c.jpg" in flags[1].message and "also copies" not in flags[1].message
