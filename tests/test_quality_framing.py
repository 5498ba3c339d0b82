"""The framing check: fill vs the marketplace target, cut-off products, off-centre products."""

from __future__ import annotations

import numpy as np
import pytest
from quality_controls import context, crop_cut_off, rgb_of, shrink_in_frame

from analyzer.config import check_thresholds
from analyzer.quality import framing
from analyzer.quality.framing import cut_off_sides, measure_framing
from analyzer.vision.mask_ops import large_components

TH = check_thresholds("framing")


def _rect_mask(h: int, w: int, box: tuple[int, int, int, int]) -> np.ndarray:
    m = np.zeros((h, w), bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    return m


# ---- measure functions on exact masks -------------------------------------------------------

def test_fill_is_the_span_of_the_frame_and_bbox_is_in_fractions() -> None:
    m = measure_framing(_rect_mask(200, 100, (10, 50, 90, 150)), TH)
    assert m["fill_frame"] == pytest.approx(0.8)  # 80 of 100 px wide; 100 of 200 px tall
    assert m["fill"] == pytest.approx(0.8 * (4 / 3) * 1.02 / 2)  # a 1:2 frame in a 3:4 tile
    assert m["fill_area"] == pytest.approx(80 * 100 / 20000)
    assert (m["bbox_x0"], m["bbox_y0"], m["bbox_x1"], m["bbox_y1"]) == pytest.approx(
        (0.1, 0.25, 0.9, 0.75))
    assert m["center_offset"] == pytest.approx(0.0)
    assert m["edge_touch_sides"] == 0


def test_a_usual_shape_keeps_its_fill_but_a_panorama_is_read_as_its_tile_shows_it() -> None:
    """A search tile shows a photo whole: from 3:4 to 4:3 the fill is the photo's own span, and
    a wider or taller frame is shrunk to fit, so the product's span along the short axis counts
    only ``display_scale`` of it (a product filling the height of a 4:1 photo: a third)."""
    usual = measure_framing(_rect_mask(300, 400, (150, 15, 250, 285)), TH)  # 4:3, 90% tall
    assert usual["display_scale"] == 1.0
    assert usual["fill"] == usual["fill_frame"] == pytest.approx(0.9)
    pano = measure_framing(_rect_mask(100, 400, (160, 5, 240, 95)), TH)  # 4:1, 90% tall
    assert pano["fill_frame"] == pytest.approx(0.9)
    assert pano["display_scale"] == pytest.approx((4 / 3) * 1.02 / 4)
    assert pano["fill"] == pytest.approx(0.9 * pano["display_scale"])
    strip = measure_framing(_rect_mask(400, 100, (5, 160, 95, 240)), TH)  # 1:4, 90% wide
    assert strip["fill"] == pytest.approx(0.9 * pano["display_scale"])
    # The long axis is not shrunk: a product spanning 95% of a panorama's width fills its tile.
    long = measure_framing(_rect_mask(100, 400, (10, 40, 390, 60)), TH)
    assert long["fill"] == pytest.approx(0.95)


def test_a_panorama_of_a_product_is_too_small_for_its_tile(studio) -> None:
    """A studio photo padded with white to 4:1 (a new user's try: graded A, "Ready to list"):
    the product spans most of the photo's height but a third of that in a search tile, an error
    on Amazon; the same photo at 4:3, a usual shape, keeps its fill and no flag."""
    h, w = studio.shape[:2]
    top = h // 2 - (w * 3 // 4) // 2
    usual = np.ascontiguousarray(studio[top:top + w * 3 // 4])  # 4:3 around the bag
    ok = framing.check(context(usual))
    assert ok.metrics["display_scale"] == 1.0
    assert ok.metrics["fill"] == ok.metrics["fill_frame"] > 0.85
    assert not any(f.code == "PRODUCT_TOO_SMALL" for f in ok.flags)
    uh, uw = usual.shape[:2]
    pano = np.full((uh, 4 * uh, 3), 255, np.uint8)
    pano[:, (4 * uh - uw) // 2:(4 * uh - uw) // 2 + uw] = usual
    r = framing.check(context(pano))
    assert r.metrics["fill_frame"] > 0.6 and r.metrics["fill"] < TH["fill_error"]
    f = next(f for f in r.flags if f.code == "PRODUCT_TOO_SMALL")
    assert f.severity == "error"
    assert "of a search tile" in f.message and "the photo is 4.0:1" in f.message
    assert "under half the tile" in f.message
    assert "Crop the photo to a square around the product" in f.fix


def test_specks_do_not_stretch_the_box() -> None:
    mask = _rect_mask(200, 200, (60, 60, 140, 140))
    mask[2:4, 2:4] = True  # a speck in the corner
    assert large_components(mask, 0.05, 0.001)[:10, :10].sum() == 0
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
    assert [f.code for f in r.flags] == ["NO_PRODUCT"]
    assert r.flags[0].severity == "error" and "flat tone" in r.flags[0].message


def test_a_thin_strip_with_a_product_is_not_one_flat_tone() -> None:
    """A 20 x 4000 px strip: one sampling step for both axes read two of its 20 columns and
    missed a bar in the others, calling the frame "one flat tone"."""
    rgb = np.full((4000, 20, 3), 255, np.uint8)
    rgb[1000:3000, 5:15] = (30, 60, 200)
    m = framing.measure_framing(np.zeros((4000, 20), bool), check_thresholds("framing"),
                                context(rgb, use_model=False).lab, rgb)
    assert m["frame_l_std"] > 20.0
    assert framing._grid_steps(1024, 825) == (4, 4)  # an ordinary photo: the grid as before


@pytest.mark.parametrize("use_model", [True, False], ids=["u2netp", "classical"])
def test_blank_or_speck_only_uploads_have_no_product(use_model) -> None:
    rng = np.random.default_rng(0)
    noisy_white = np.clip(250 + rng.normal(0, 2, (400, 400, 3)), 0, 255).astype(np.uint8)
    speck = np.full((400, 400, 3), 255, np.uint8)
    speck[195:201, 195:201] = 0  # 0.02% of the frame: dust, not a product
    for rgb in (noisy_white, np.full((300, 500, 3), 128, np.uint8), speck):
        r = framing.check(context(rgb, use_model=use_model))
        codes = [f.code for f in r.flags]
        assert codes == ["NO_PRODUCT"], codes
        assert r.score == 0.0
        assert r.flags[0].fix and "Amazon" in r.flags[0].message
    # A real (small) product is not "no product".
    box = np.full((400, 400, 3), 255, np.uint8)
    box[150:250, 160:240] = (40, 90, 170)
    codes = {f.code for f in framing.check(context(box, use_model=use_model)).flags}
    assert "NO_PRODUCT" not in codes and "PRODUCT_TOO_SMALL" in codes


def test_a_busy_frame_without_a_distinct_product_is_not_a_blank_upload() -> None:
    from analyzer.quality.framing import no_distinct_product, no_product

    lemons = {"product_found": 1.0, "fill_area": 0.001, "frame_l_std": 20.7}  # a pile of fruit
    assert no_distinct_product(lemons, TH) and not no_product(lemons, TH)
    speck = dict(lemons, frame_l_std=1.7)
    assert no_product(speck, TH)
    flat = {"product_found": 1.0, "fill_area": 0.4, "frame_l_std": 0.5}  # mask made up a blob
    assert no_product(flat, TH)
    real = {"product_found": 1.0, "fill_area": 0.3, "frame_l_std": 25.0}
    assert not no_product(real, TH) and not no_distinct_product(real, TH)


def test_model_cropped_at_the_head_is_a_note_but_a_cropped_product_is_a_warning() -> None:
    def figure(color: tuple[int, int, int]) -> np.ndarray:
        im = np.full((400, 300, 3), 255, np.uint8)
        im[0:330, 90:210] = color  # runs into the top edge only
        return im

    skin = framing.check(context(figure((224, 172, 140)), use_model=False))
    flag = next(f for f in skin.flags if f.code == "PRODUCT_CUT_OFF")
    assert flag.severity == "info" and "model" in flag.message and "top" in flag.message
    assert skin.metrics["skin_fraction_upper"] > 0.9
    blue = framing.check(context(figure((30, 60, 160)), use_model=False))
    flag = next(f for f in blue.flags if f.code == "PRODUCT_CUT_OFF")
    assert flag.severity == "warning" and "model" not in flag.message
    assert blue.score <= skin.score - TH["cut_off_penalty"] + 1


# ---- synthetic controls on a real studio shot -----------------------------------------------

@pytest.fixture(scope="module")
def studio(studio_photo) -> np.ndarray:
    return rgb_of(studio_photo)


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


def test_a_product_lost_in_the_frame_is_an_error_where_the_marketplace_hides_it(studio) -> None:
    """Under half the frame (``fill_error``) on Amazon, whose search-suppression rule names a
    product too small: an error, so the grade is capped (a product shrunk to a third graded B
    with the warning alone); a little under the 85% target stays a warning, and Etsy, which
    suppresses nothing, keeps its note."""
    tiny = framing.check(context(shrink_in_frame(studio, 0.35)))
    assert tiny.metrics["fill"] < TH["fill_error"]
    f = next(f for f in tiny.flags if f.code == "PRODUCT_TOO_SMALL")
    assert f.severity == "error" and "hides a listing from search" in f.message
    near = framing.check(context(shrink_in_frame(studio, 0.75)))
    assert TH["fill_error"] < near.metrics["fill"] < 0.83
    assert next(f for f in near.flags if f.code == "PRODUCT_TOO_SMALL").severity == "warning"
    etsy = framing.check(context(shrink_in_frame(studio, 0.35), "etsy"))
    assert next(f for f in etsy.flags if f.code == "PRODUCT_TOO_SMALL").severity == "info"


@pytest.mark.parametrize("side", ["right", "bottom"])
def test_cropped_product_is_cut_off_on_that_side(studio, side) -> None:
    r = framing.check(context(crop_cut_off(studio, side, 0.3)))
    flag = next(f for f in r.flags if f.code == "PRODUCT_CUT_OFF")
    assert side in flag.message
    assert r.metrics[f"edge_touch_{side}"] >= TH["touch_min"]
    whole = framing.check(context(studio))
    assert not any(f.code == "PRODUCT_CUT_OFF" for f in whole.flags)
    assert r.score < whole.score


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
    assert not any(f.code == "NO_PRODUCT" for r in results for f in r.flags)
    fills = [r.metrics["fill"] for r in results]
    cut = sum(any(f.code == "PRODUCT_CUT_OFF" for f in r.flags) for r in results)
    assert cut == 0
    assert np.median(fills) > 0.7, fills
    for r in results:
        assert 0.0 <= r.metrics["bbox_x0"] < r.metrics["bbox_x1"] <= 1.0
        assert 0.0 <= r.metrics["bbox_y0"] < r.metrics["bbox_y1"] <= 1.0
        assert r.metrics["center_offset"] < TH["center_flag"]


@pytest.mark.shared
@pytest.mark.slow
def test_apparel_on_a_model_cropped_on_purpose_is_only_a_note(luma_main_images) -> None:
    """Tops and bottoms worn by a model, cropped at the head or the feet: marketplaces accept
    this, so most of these cut-offs are notes (info), not warnings."""
    picks = [p for p in luma_main_images if p.name[:2] in ("mh", "wh", "mp", "wp", "mt", "wt")]
    picks = picks[:: max(1, len(picks) // 10)][:10]
    results = [framing.check(context(rgb_of(p, 512), fmt="JPEG")) for p in picks]
    cuts = [f for r in results for f in r.flags if f.code == "PRODUCT_CUT_OFF"]
    assert len(cuts) >= 5  # the mask takes the whole model, so these frames do touch the edge
    assert sum(f.severity == "info" for f in cuts) >= 0.7 * len(cuts)


def test_a_cut_off_product_too_small_is_not_told_to_crop() -> None:
    """A product too small in its tile and cut by the frame's edge was told both "crop the photo
    to a square" and "step back" (an eleventh new user's try): a crop would cut more of it off,
    so its fix is to re-shoot with the whole product in the frame. A whole product in the same
    frame is still told to crop."""
    im = np.full((800, 400, 3), 255, np.uint8)
    im[300:500, 150:400] = (40, 60, 120)  # runs into the right edge of a 1:2 frame
    r = framing.check(context(im, use_model=False))
    codes = {f.code: f for f in r.flags}
    assert "PRODUCT_CUT_OFF" in codes
    small = codes["PRODUCT_TOO_SMALL"]
    assert small.fix.startswith("Re-shoot with the whole product") and "Crop" not in small.fix
    whole = np.full((800, 400, 3), 255, np.uint8)
    whole[300:500, 80:320] = (40, 60, 120)
    w = {f.code: f for f in framing.check(context(whole, use_model=False)).flags}
    assert "PRODUCT_CUT_OFF" not in w and w["PRODUCT_TOO_SMALL"].fix.startswith("Crop")
