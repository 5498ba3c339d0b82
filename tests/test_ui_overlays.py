"""Overlay builders: pure arrays in, RGB arrays out."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from analyzer.io.loader import LoadedImage
from analyzer.results import CheckResult, ImageReport
from analyzer.ui import overlays


def _scene(h: int = 120, w: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """A dark product on a white background whose right third is light grey (not pure white)."""
    rgb = np.full((h, w, 3), 255, np.uint8)
    rgb[:, 2 * w // 3:] = 235
    rgb[30:90, 40:80] = (40, 60, 200)
    mask = np.zeros((h, w), np.float32)
    mask[30:90, 40:80] = 1.0
    return rgb, mask


def _report(rgb: np.ndarray, maps: dict[str, dict[str, np.ndarray]] | None = None,
            metrics: dict | None = None) -> ImageReport:
    h, w = rgb.shape[:2]
    img = LoadedImage(name="x.png", rgb=rgb, alpha=None, width=w * 2, height=h * 2, format="PNG",
                      original_mode="RGB", bit_depth=8, file_size=1000, content_hash="ab" * 32)
    checks = {name: CheckResult(name=name, score=50.0, maps=m)
              for name, m in (maps or {}).items()}
    return ImageReport(file="x.png", ok=True, checks=checks, metrics=metrics or {}, image=img,
                       content_hash=img.content_hash, grade="C", scores={"overall": 60.0})


def test_to_unit_handles_bool_uint8_and_unbounded_floats() -> None:
    assert overlays.to_unit(np.array([[True, False]])).tolist() == [[1.0, 0.0]]
    assert overlays.to_unit(np.array([[0, 255]], np.uint8)).tolist() == [[0.0, 1.0]]
    u = overlays.to_unit(np.linspace(-50, 5000, 1000).reshape(10, 100))
    assert u.min() == 0.0 and u.max() == 1.0
    # NaN must not poison the map
    assert np.isfinite(overlays.to_unit(np.array([[np.nan, 1.0, 3.0]]))).all()


def test_fit_map_resizes_to_the_photo() -> None:
    m = overlays.fit_map(np.ones((10, 20), np.float32), (120, 160, 3))
    assert m.shape == (120, 160)


def test_mask_overlay_keeps_product_and_dims_background() -> None:
    rgb, mask = _scene()
    out = overlays.mask_overlay(rgb, mask)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    # background (pure white) is dimmed; the product's centre is tinted green, not dimmed
    assert out[5, 5].mean() < 200
    assert out[60, 60, 1] > rgb[60, 60, 1]


def test_white_overlay_marks_pure_white_green_and_grey_red() -> None:
    rgb, mask = _scene()
    out = overlays.white_overlay(rgb, None, mask)
    green, red = out[5, 5], out[5, 150]
    assert green[1] > green[0] and green[1] > green[2]
    assert red[0] > red[1] and red[0] > red[2]
    # the product itself is left untouched
    assert (out[60, 60] == rgb[60, 60]).all()


def test_fill_overlay_draws_box_at_scaled_coordinates() -> None:
    rgb, _ = _scene()
    # bbox in original pixels (2x the working copy)
    out = overlays.fill_overlay(rgb, (80, 60, 160, 180), target=0.85, bbox_scale=2.0)
    blue = np.array([37, 99, 235])
    assert (out[60, 40] == blue).all()       # top-left corner of the box, working pixels
    assert not (out[5, 5] == blue).all()
    orange = np.array([249, 115, 22])
    assert (out == orange).all(axis=2).any()  # the dashed target frame is drawn


def test_fill_overlay_on_a_panorama_draws_the_square_that_fixes_it() -> None:
    # a 4:1 strip, the product 60 px of its 100 px height: the target is the square around the
    # product it fills at 85% (side 60 / 0.85 ~ 71 px, centred on it), not 85% of the strip
    rgb = np.full((100, 400, 3), 255, np.uint8)
    out = overlays.fill_overlay(rgb, (180, 20, 220, 80), target=0.85, tile_square=True)
    orange = (out == np.array([249, 115, 22])).all(axis=2)
    ys, xs = np.nonzero(orange)
    assert 160 <= xs.min() <= 168 and 232 <= xs.max() <= 240, (xs.min(), xs.max())
    assert xs.max() - xs.min() < 80  # not the strip's 340 px target
    plain = (overlays.fill_overlay(rgb, (180, 20, 220, 80), target=0.85)
             == np.array([249, 115, 22])).all(axis=2)
    assert np.nonzero(plain)[1].max() - np.nonzero(plain)[1].min() > 300


def test_bbox_fill_is_span_of_longer_side() -> None:
    assert overlays.bbox_fill((0, 0, 50, 100), (100, 200)) == pytest.approx(1.0)
    assert overlays.bbox_fill((10, 10, 60, 40), (100, 100)) == pytest.approx(0.5)
    assert overlays.bbox_fill(None, (10, 10)) is None


def test_available_overlays_explains_missing_maps() -> None:
    rgb, mask = _scene()
    rep = _report(rgb, {"sharpness": {"blur": np.random.default_rng(0).random((30, 40))}})
    opts = {o.key: o for o in overlays.available_overlays(rep, mask)}
    assert opts["blur"].available
    assert not opts["edges"].available and "clutter" in opts["edges"].reason
    assert opts["fill"].available  # from the mask's box
    assert opts["white"].available


def test_find_map_takes_the_map_its_check_declared_and_nothing_else() -> None:
    rgb, _ = _scene()
    a = np.zeros((5, 5))
    rep = _report(rgb, {"clutter": {"edges": a, "whatever": np.ones((5, 5))},
                        "sharpness": {"lap_var": np.ones((5, 5))}})
    assert overlays.find_map(rep.checks, "edges") is not None
    np.testing.assert_array_equal(overlays.find_map(rep.checks, "edges"), a)
    assert overlays.find_map(rep.checks, "blur") is None  # no guessing from "lap_var"
    assert overlays.find_map(rep.checks, "white") is None


def test_checks_make_exactly_the_maps_they_declare() -> None:
    from analyzer.codes import MapKind
    from analyzer.engine import analyze
    from analyzer.quality.registry import declared_maps, map_producers

    assert set(map_producers()) == set(MapKind)
    rgb, _ = _scene()
    report = analyze(cv2.imencode(".png", rgb[..., ::-1])[1].tobytes(), use_model=False)
    assert report.ok, report.error
    for name, res in report.checks.items():
        assert set(res.maps) == set(declared_maps(name)), name


def test_render_overlay_returns_photo_sized_rgb_for_every_available_option() -> None:
    rgb, mask = _scene()
    rep = _report(rgb, {"sharpness": {"blur": np.random.default_rng(1).random((60, 80))},
                        "clutter": {"edges": np.random.default_rng(2).random((120, 160)) > 0.9}})
    for opt in overlays.available_overlays(rep, mask):
        assert opt.available, opt
        out = overlays.render_overlay(rep, opt.key, mask)
        assert out.shape == rgb.shape and out.dtype == np.uint8
        if opt.key != "photo":
            assert not np.array_equal(out, rgb), opt.key


def test_report_bbox_uses_framing_metrics_in_original_pixels() -> None:
    rgb, _ = _scene()
    rep = _report(rgb, metrics={"framing.bbox_x0": 80, "framing.bbox_y0": 60,
                                "framing.bbox_x1": 160, "framing.bbox_y1": 180})
    box, scale = overlays.report_bbox(rep, None)
    assert box == (80, 60, 160, 180) and scale == pytest.approx(2.0)
