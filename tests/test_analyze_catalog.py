"""`listing-lens analyze ... --catalog DIR`: the search and differentiation JSON fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.cli import main
from tests.rank_helpers import LUMA_TOPS_IN_CATALOG, N_CATALOG, tops_catalog

SMALL = {"n_queries": 4, "n_peer_queries": 4, "n_baseline_products": 3}


@pytest.fixture()
def small_simulation(monkeypatch):
    """The CLI's own SearchContext.open, with a smaller simulation so the test stays quick."""
    from analyzer.search.search_config import SearchConfig

    orig = SearchConfig.from_thresholds.__func__

    def patched(cls, overrides=None):
        return orig(cls, {**SMALL, **(overrides or {})})

    monkeypatch.setattr(SearchConfig, "from_thresholds", classmethod(patched))


def _tops_catalog(studio_tops: list[tuple[str, str, Path]], base: Path) -> Path:
    """The rank tests' catalog of luma Tops (built once per session) where ../shared/data is
    present; otherwise the same 20 products from the demo catalog's 512 px copies."""
    from tests.conftest import SHARED_DATA, shared_present

    if shared_present():
        return tops_catalog(SHARED_DATA, base)
    from analyzer.search.catalog import build_catalog
    from analyzer.search.catalog_source import SourceItem

    out = base / "demo_tops_catalog"
    items = [SourceItem(path=p, product_id=k, title=t, category="Tops")
             for k, t, p in studio_tops[LUMA_TOPS_IN_CATALOG][:N_CATALOG]]
    build_catalog(None, out, items=items, progress=False, overwrite=True)
    return out


@pytest.mark.slow
def test_analyze_with_catalog_adds_search_and_differentiation(studio_tops, tmp_path_factory,
                                                              small_simulation, capsys):
    root = _tops_catalog(studio_tops, tmp_path_factory.getbasetemp())
    from analyzer.search.catalog import Catalog

    cat = Catalog.open(root)
    in_catalog = set(cat.meta["product_id"])
    new = next(p for k, _t, p in studio_tops if k not in in_catalog)
    dup = cat.image_path(0)
    # one worker, in this process: the small simulation's settings are patched in here
    rc = main(["analyze", str(new), str(dup), "--catalog", str(root), "--format", "json",
               "--no-model", "--workers", "1"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(out) == 2
    for r in out:
        s, d = r["search"], r["differentiation"]
        assert set(s["top_k_share"]) == {"4", "10", "20"}
        assert all(0.0 <= v <= 1.0 for v in s["top_k_share"].values())
        assert 1 <= s["median_rank"] <= s["n_products"] + 1
        assert s["n_queries"] == 8 and s["shopper"]["n_queries"] == 4
        assert s["percentile"] is not None and 0 <= s["percentile"] <= 100
        assert s["baseline_products"] == 3
        assert s["what_if"] is None or {"fixes", "median_rank", "top_k_share",
                                        "percentile", "visual"} <= set(s["what_if"])
        # the headline figures are the expected search position (stage 2); the visual match
        # rank (stage 1) is under search.visual with the same keys
        v = s["visual"]
        assert {"median_rank", "top_k_share", "percentile", "shopper", "peer"} <= set(v)
        assert 1 <= v["median_rank"] <= s["n_products"] + 1
        st = s["stage2"]
        assert st["quality_prior"]["name"] == "image_quality_ctr"
        assert st["quality"] == pytest.approx(r["scores"]["overall"], abs=0.01)
        assert st["marketplace"] == "amazon" and "suppressed" in st["suppression"]
        if st["suppression"]["suppressed"]:
            assert s["median_rank"] == s["n_products"] + 1
        assert 0 <= d["uniqueness"] <= 100
        assert all({"product_id", "similarity"} <= set(n) for n in d["nearest"])
        assert isinstance(d["near_duplicates"], list)
        assert 0 <= r["scores"]["search"] <= 100 and 0 <= r["scores"]["differentiation"] <= 100
    assert out[0]["differentiation"]["near_duplicates"] == []
    assert out[1]["differentiation"]["near_duplicates"][0]["product_id"] == \
        str(cat.meta["product_id"].iloc[0])
    assert any(f["code"] == "NEAR_DUPLICATE" for f in out[1]["flags"])


def test_analyze_with_a_missing_catalog_is_a_clear_error(tmp_path, capsys):
    img = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 30, 30)).save(img)
    rc = main(["analyze", str(img), "--catalog", str(tmp_path / "nope"), "--format", "json"])
    err = capsys.readouterr().err
    assert rc == 2 and "CATALOG_NOT_FOUND" in err
