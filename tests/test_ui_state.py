"""The result cache, the catalog map, search-panel helpers and the batch pipeline."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analyzer.io.loader import LoadedImage
from analyzer.results import CheckResult, ImageReport
from analyzer.ui import pipeline
from analyzer.ui.search_panel import headline, whatif_scenarios
from analyzer.ui.state import (
    ResultCache,
    SearchHandle,
    Settings,
    fit_catalog_map,
    resolve_catalog,
)


def _report(h: str) -> ImageReport:
    rgb = np.full((64, 48, 3), 200, np.uint8)
    img = LoadedImage(name=h, rgb=rgb, alpha=None, width=48, height=64, format="PNG",
                      original_mode="RGB", bit_depth=8, file_size=10, content_hash=h)
    chk = CheckResult("sharpness", 80.0, maps={"blur": np.zeros((64, 48), np.float32)})
    return ImageReport(file=h, ok=True, checks={"sharpness": chk}, image=img, content_hash=h,
                       grade="B", scores={"overall": 80.0},
                       mask=np.full((64, 48), 255, np.uint8))


def test_light_report_drops_image_mask_and_maps_but_keeps_scores() -> None:
    r = _report("a")
    light = r.light()
    assert light.image is None and light.mask is None and light.checks["sharpness"].maps == {}
    assert light.checks["sharpness"].score == 80.0 and light.grade == "B"
    assert r.image is not None and r.mask is not None  # original untouched
    assert "blur" in r.checks["sharpness"].maps


def test_result_cache_light_store_holds_no_pixels() -> None:
    """The light store (up to 20,000 photos) must not keep a ~1 MB product mask per photo."""
    c = ResultCache(max_full=1, max_light=10)
    for h in "ab":
        c.put((h,), _report(h))
    for h in "ab":
        light = c.get((h,), full=False)
        assert light.image is None and light.mask is None
        assert all(not chk.maps for chk in light.checks.values())


def test_result_cache_keeps_few_full_reports_and_all_light_ones() -> None:
    c = ResultCache(max_full=2, max_light=10)
    for h in "abc":
        c.put((h,), _report(h))
    assert c.get(("a",), full=True) is None          # evicted from the full LRU
    assert c.get(("a",), full=False).grade == "B"    # still in the light store
    assert c.get(("c",), full=True).image is not None
    assert set(c.thumbs) == {"a", "b", "c"}
    assert Image.open(io.BytesIO(c.thumbs["a"])).format == "JPEG"
    hits, misses = c.hits, c.misses
    c.get(("zzz",))
    assert (c.hits, c.misses) == (hits, misses + 1)


def test_catalog_map_projects_catalog_rows_onto_their_coordinates() -> None:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(50, 16)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    cmap = fit_catalog_map(emb)
    assert cmap.coords.shape == (50, 2)
    assert np.allclose(cmap.project(emb[7]), cmap.coords[7], atol=1e-4)
    assert 0 < sum(cmap.explained) <= 1


def test_resolve_catalog_reports_bad_folders(tmp_path: Path) -> None:
    assert resolve_catalog(None) == (None, None)
    folder, err = resolve_catalog(str(tmp_path / "nope"))
    assert folder is None and "No folder" in err
    folder, err = resolve_catalog(str(tmp_path))
    assert folder is None and "not a catalog folder" in err
    (tmp_path / "manifest.json").write_text("{}")
    assert resolve_catalog(str(tmp_path)) == (str(tmp_path.resolve()), None)


SEARCH = {
    "n_queries": 24, "primary_k": 10, "median_rank": 14.0, "rank_p25": 6.0, "rank_p75": 30.0,
    "top_k_share": {"4": 0.04, "10": 0.12, "20": 0.6},
    "what_if": {"fixes": ["whiten_background", "crop_to_fill"], "median_rank": 3.0,
                "top_k_share": {"4": 0.5, "10": 0.47, "20": 0.9},
                "by_fix": {"whiten_background": {"median_rank": 5.0,
                                                 "top_k_share": {"10": 0.3}},
                           "crop_to_fill": {"median_rank": 9.0, "top_k_share": {"10": 0.2}}}},
}


def test_whatif_scenarios_per_fix_and_all_together() -> None:
    rows = whatif_scenarios(SEARCH)
    assert [r["key"] for r in rows] == ["whiten_background", "crop_to_fill", "all"]
    assert rows[0]["label"] == "Make the background pure white"
    assert rows[0]["before"] == 0.12 and rows[0]["after"] == 0.3
    assert rows[-1]["after"] == 0.47 and rows[-1]["median_after"] == 3.0
    assert whatif_scenarios({**SEARCH, "what_if": None}) == []
    assert "first screen (top 10) in 12%" in headline(SEARCH)


def test_batch_reports_bad_files_and_reuses_cache(studio_photos: list[Path]) -> None:
    photo = studio_photos[0].read_bytes()
    files = [("bad.jpg", b"hello, not an image"), ("p.jpg", photo), ("copy.jpg", photo)]
    cache = ResultCache()
    settings = Settings(marketplace="amazon", use_model=False, catalog=None)
    handle = SearchHandle(None, error="off")
    seen: list[str] = []
    b = pipeline.run_batch(files, settings, cache, lambda f, t: seen.append(t))
    assert [i.name for i in b.items] == ["bad.jpg", "p.jpg", "copy.jpg"]
    assert b.items[0].error_report.error["code"] == "NOT_AN_IMAGE"
    assert b.analysed == 2                      # the renamed copy came from the cache
    assert b.items[1].key == b.items[2].key
    assert seen and seen[-1].startswith("Checked 3")
    r = pipeline.full_report(b.items[2], files, settings, cache, handle)
    assert r.file == "copy.jpg" and r.ok and r.image is not None
    # without a catalog there is nothing to simulate, and the report is the quality one
    assert not pipeline.needs_search(b.items[1], settings, handle, cache)
    assert pipeline.enrich_items(b.items, files, settings, handle, cache) == 0
    again = pipeline.run_batch(files, settings, cache)
    assert again.analysed == 0
    assert pipeline.batch_id(again) == pipeline.batch_id(b)
    other = pipeline.run_batch(files, Settings("etsy", False, None), cache)
    assert other.analysed == 2                  # another marketplace is another analysis


@pytest.mark.parametrize("n", [0, 2])
def test_catalog_map_tiny_catalogs(n: int) -> None:
    cmap = fit_catalog_map(np.ones((n, 4), np.float32))
    assert cmap.coords.shape == (n, 2)
