"""The framing check: fill vs the marketplace target, cut-off products, off-centre products."""

from __future__ import annotations

import numpy as np
import pytest
from quality_controls import context, crop_cut_off, rgb_of, shrink_in_frame

from analyzer.config import check_thresholds
from analyzer.quality import framing
from analyzer.quality.framing import cut_off_sides, main_parts, measure_framing

TH = check_thresholds("framing")


def _rect_mask(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    m = np.zeros((h, w), bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    return m


# ---- measure functions on exact masks -------------------------------------------------------

def test_fill_is_the_span_of_the_frame_and_bbox_is_in_fractions() -> None:
    m = measure_framing(_rect_mask(200, 100, (10, 50, 90, 150)), TH)
    assert m["fill"] == pytest.approx(0.8)  # 80 of 100 px wide; 100 of 200 px tall
    assert m["fill_area"] == pytest.approx(80 * 100 / 20000)
    assert (m["bbox_x0"], m["bbox_y0"], m["bbox_x1"], m["bbox_y1"]) == pytest.approx(
        (0.1, 0.25, 0.9, 0.75))
    assert m["center_offset"] == pytest.approx(0.0)
    assert m["edge_touch_sides"] == 0


def test_specks_do_not_stretch_the_box() -> None:
    mask = _rect_mask(200, 200, (60, 60, 140, 140))
    mask[2:4, 2:4] = True  # a speck in the corner
    assert main_parts(mask, 0.05, 0.001)[:10, :10].sum() == 0
    assert measure_framing(mask, TH)["fill"] == pytest.approx(0.4)


def test_touching_one_side_is_a_cut_off_but_full_bleed_is_not() -> None:
    m = measure_framing(_rect_mask(100, 100, (30, 20, 100, 80)), TH)
    assert cut_off_sides(m, TH) == ["right"]
    full = measure_framing(np.ones((100, 100), bool), TH)
    assert cut_off_sides(full, TH) == []  # no background on the border: a close-up, not a crop


def test_offset_sign_and_size() -> None:
    m = measure_framing(_rect_mask(100, 100, (50, 40, 90, 60)), TH)
    assert m["center_offset_x"] == pytest.approx(0.2)
    assert m["center_offset_y"] == pytest.approx(0.0)


def test_empty_mask_scores_zero_and_says_so() -> None:
    ctx = context(np.full((64, 64, 3), 255, np.uint8), use_model=False)
    r = framing.check(ctx)
    assert r.score == 0.0
    assert r.metrics["product_found"] == 0.0
    assert "no distinct product" in r.flags[0].message


# ---- synthetic controls on a real studio shot -----------------------------------------------

@pytest.fixture(scope="module")
def studio(luma_main_images) -> np.ndarray:
    return rgb_of(luma_main_images[5])


@pytest.mark.shared
@pytest.mark.parametrize("use_model", [True, False], ids=["u2netp", "classical"])
def test_shrunk_product_is_too_small_with_the_rule_in_the_message(studio, use_model) -> None:
    base = framing.check(context(studio, use_model=use_model))
    small = framing.check(context(shrink_in_frame(studio, 0.5), use_model=use_model))
    assert small.metrics["fill"] == pytest.approx(base.metrics["fill"] * 0.5, abs=0.06)
    flag = next(f for f in small.flags if f.code == "PRODUCT_TOO_SMALL")
    assert f"product spans {small.metrics['fill']:.0%} of the frame" in flag.message
    assert "Amazon asks about 85%" in flag.message
    assert small.score < base.score - 30
    assert small.metrics["fill_target"] == 0.85
    etsy = framing.check(context(shrink_in_frame(studio, 0.5), "etsy", use_model=use_model))
    assert next(f for f in etsy.flags if f.code == "PRODUCT_TOO_SMALL").severity == "info"
    assert "Etsy asks about 70%" in etsy.flags[0].message


@pytest.mark.shared
@pytest.mark.parametrize("side", ["right", "bottom"])
def test_cropped_product_is_cut_off_on_that_side(studio, side) -> None:
    r = framing.check(context(crop_cut_off(studio, side, 0.3)))
    flag = next(f for f in r.flags if f.code == "PRODUCT_CUT_OFF")
    assert side in flag.message
    assert r.metrics[f"edge_touch_{side}"] >= TH["touch_min"]
    whole = framing.check(context(studio))
    assert not any(f.code == "PRODUCT_CUT_OFF" for f in whole.flags)
    assert r.score < whole.score


@pytest.mark.shared
def test_product_moved_to_a_corner_is_off_centre(studio) -> None:
    r = framing.check(context(shrink_in_frame(studio, 0.55, offset=(0.2, 0.0))))
    flag = next(f for f in r.flags if f.code == "OFF_CENTER")
    assert "right" in flag.message
    assert r.metrics["center_offset_x"] > TH["center_flag"]


@pytest.mark.shared
@pytest.mark.slow
def test_studio_product_shots_are_whole_and_sized(luma_main_images) -> None:
    """Bags and gear (the manifest's first products) are shot whole, with a margin.

    Apparel on a model cropped at the head or waist is left out: the mask takes the person as
    the salient object, so those frames do read as cut off.
    """
    picks = luma_main_images[:8]
    results = [framing.check(context(rgb_of(p, 512), fmt="JPEG")) for p in picks]
    fills = [r.metrics["fill"] for r in results]
    cut = sum(any(f.code == "PRODUCT_CUT_OFF" for f in r.flags) for r in results)
    assert cut == 0
    assert np.median(fills) > 0.7, fills
    for r in results:
        assert 0.0 <= r.metrics["bbox_x0"] < r.metrics["bbox_x1"] <= 1.0
        assert 0.0 <= r.metrics["bbox_y0"] < r.metrics["bbox_y1"] <= 1.0
        assert r.metrics["center_offset"] < TH["center_flag"]
