"""The dashboard reuses what the quality step and the search simulation computed: the product
mask for overlays and the map, the search embedding for the lookalikes map (no second u2netp or
torch run after the search simulation, which kept the server busy when the next upload came)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from analyzer.io.loader import LoadedImage
from analyzer.results import ImageReport
from analyzer.ui.state import ResultCache, SearchHandle, Settings, enrich_cached


def _report(h: str, with_mask: bool = True) -> ImageReport:
    rgb = np.full((64, 48, 3), 200, np.uint8)
    img = LoadedImage(name=h, rgb=rgb, alpha=None, width=48, height=64, format="PNG",
                      original_mode="RGB", bit_depth=8, file_size=10, content_hash=h)
    mask = np.zeros((64, 48), np.uint8)
    mask[10:50, 8:40] = 255
    return ImageReport(file=h, ok=True, image=img, content_hash=h, grade="B",
                       scores={"overall": 80.0}, mask=mask if with_mask else None)


class _Ctx:
    def __init__(self) -> None:
        self.calls = 0

    def enrich(self, report, marketplace=None):  # type: ignore[no-untyped-def]
        self.calls += 1
        report.search = {"median_rank": 3}
        return SimpleNamespace(embedding=np.arange(4, dtype=np.float64), queries=[],
                               what_if_image=None, timings={})


def test_enrich_keeps_the_search_embedding_for_the_map() -> None:
    cache = ResultCache()
    handle = SearchHandle("cat", ctx=_Ctx(), catalog_id="cid")
    settings = Settings("amazon")
    enrich_cached(_report("h1"), settings, handle, cache)
    got = cache.get_extras(settings.key("h1", "cid")).get("embedding")
    assert got is not None and got.dtype == np.float32 and np.array_equal(got, np.arange(4))
    assert cache.get_extras(settings.key("h1", "other-catalog")) == {}


def test_overlay_mask_is_the_quality_mask(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from analyzer.ui import resources
    from analyzer.vision import mask as mask_mod

    def no_mask(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("the product mask was computed a second time")

    monkeypatch.setattr(mask_mod, "product_mask", no_mask)
    m = resources.product_mask(_report("h2"))
    assert m.dtype == np.float32
    assert m.max() == pytest.approx(1.0) and m[0, 0] == 0.0 and m[20, 20] == 1.0
    assert resources.product_mask(_report("h3", with_mask=False)) is None
