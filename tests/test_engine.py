"""The engine: every check runs, scores combine as documented, bad input never raises."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from analyzer.config import thresholds
from analyzer.engine import analyze
from analyzer.errors import ListingLensError
from analyzer.quality import registry
from analyzer.quality.overall import grade_for, overall_score, weighted_score
from analyzer.results import SCORE_KEYS, CheckResult, Flag


def _jpeg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def _product(size: int = 1200) -> Image.Image:
    """A synthetic product shot: a textured object on white."""
    rng = np.random.default_rng(1)
    im = np.full((size, size, 3), 255, np.uint8)
    s0, s1 = size // 6, size - size // 6
    n = (s1 - s0) // 8 + 1
    tex = rng.integers(40, 200, (n, n, 3), dtype=np.uint8)
    im[s0:s1, s0:s1] = np.kron(tex, np.ones((8, 8, 1), np.uint8))[: s1 - s0, : s1 - s0]
    return Image.fromarray(im)


@pytest.fixture(scope="module")
def good_report():
    return analyze(_jpeg(_product()), name="good.jpg", use_model=False)


def test_report_has_every_registered_score(good_report):
    r = good_report
    assert r.ok and r.error is None
    names = list(registry.checks())
    assert {"sharpness", "exposure", "resolution", "overlays"} <= set(names)
    assert set(r.scores) == {"overall", *names}
    assert set(r.scores) <= set(SCORE_KEYS)
    for v in r.scores.values():
        assert 0.0 <= v <= 100.0
    assert r.grade in "ABCDF"
    assert all("." in k for k in r.metrics)
    json.dumps(r.to_dict())  # the CLI contract must serialise


def test_overall_is_the_documented_weighted_mean(good_report):
    w = thresholds()["overall"]["weights"]
    names = [n for n in good_report.scores if n != "overall"]
    expected = sum(w[n] * good_report.checks[n].score for n in names) / sum(w[n] for n in names)
    assert good_report.scores["overall"] == pytest.approx(expected, abs=0.01)
    assert weighted_score(good_report.checks) == pytest.approx(expected)


def test_grades_and_error_cap():
    bands = thresholds()["overall"]["grades"]
    assert grade_for(bands["A"] + 1, []) == "A"
    assert grade_for(bands["B"], []) == "B"
    assert grade_for(bands["D"] - 1, []) == "F"
    err = Flag("LOW_RESOLUTION", "error", "m", "f")
    warn = Flag("NO_ZOOM", "warning", "m", "f")
    assert grade_for(99, [warn]) == "A"
    assert grade_for(99, [err]) == thresholds()["overall"]["cap_grade_with_error"]
    assert grade_for(10, [err]) == "F"  # the cap never raises a grade


def test_a_warning_from_a_low_scoring_check_caps_the_grade():
    """A is "Ready to list": a warning whose check scored under ``cap_warning_below`` caps the
    grade at ``cap_grade_with_warning`` (a product 93% crushed to black kept an A at 86 by the
    weighted mean); a mild warning (its check at 50 or more) leaves the grade to the score."""
    cfg = thresholds()["overall"]
    below = float(cfg["cap_warning_below"])
    warn = Flag("UNDEREXPOSED", "warning", "m", "f", check="exposure")
    assert grade_for(95, [warn], {"exposure": below - 10, "sharpness": 100}) == \
        cfg["cap_grade_with_warning"]
    assert grade_for(95, [warn], {"exposure": below, "sharpness": 100}) == "A"
    assert grade_for(95, [warn]) == "A"  # without the checks' scores, nothing to read
    # another check's low score does not make this warning a cap
    assert grade_for(95, [warn], {"exposure": 90, "framing": 0}) == "A"
    assert grade_for(40, [warn], {"exposure": 0}) == "D"  # never raises a grade
    err = Flag("LOW_RESOLUTION", "error", "m", "f", check="resolution")
    assert grade_for(95, [warn, err], {"exposure": 0, "resolution": 10}) == \
        cfg["cap_grade_with_error"]  # the stricter cap wins


@pytest.mark.parametrize("use_model", [True, False], ids=["u2netp", "classical"])
def test_a_frame_with_no_product_is_an_f(use_model):
    # Blank white canvas: sharp, well exposed and on white, so the weighted mean alone gave 69 (C).
    r = analyze(_jpeg(Image.new("RGB", (1200, 1200), (255, 255, 255))), name="blank.jpg",
                use_model=use_model)
    assert "NO_PRODUCT" in {f.code for f in r.flags}
    cfg = thresholds()["overall"]
    assert r.scores["overall"] <= cfg["fail_score"] < cfg["grades"]["D"]
    assert r.grade == "F"
    # The cap needs the flag: the same checks without it keep their weighted mean.
    uncapped = overall_score(r.checks, [])
    assert uncapped == pytest.approx(weighted_score(r.checks))
    assert uncapped > 50


def test_weights_cover_every_check_and_sum_to_one():
    w = thresholds()["overall"]["weights"]
    assert set(w) == set(registry.CHECK_MODULES)
    assert sum(w.values()) == pytest.approx(1.0)
    assert weighted_score({"sharpness": CheckResult("sharpness", 50.0)}) == 50.0


def test_bad_image_is_flagged_with_actionable_messages():
    im = _product(420).filter(ImageFilter.GaussianBlur(4))
    d = ImageDraw.Draw(im)
    d.text((20, 20), "SALE 50% OFF", fill=(200, 0, 0), font_size=28)
    r = analyze(_jpeg(im), name="bad.jpg", use_model=False)
    codes = {f.code for f in r.flags}
    assert {"BLURRY", "LOW_RESOLUTION"} <= codes
    sev = thresholds()["default_severity"]
    for f in r.flags:
        assert f.code in sev
        assert f.severity in ("error", "warning", "info")
        assert f.message and f.fix and "\n" not in f.message
    sevs = [f.severity for f in r.flags]
    assert sevs == sorted(sevs, key=["error", "warning", "info"].index)
    assert r.grade in "CDF"


def test_bad_input_never_raises():
    r = analyze(b"this is not an image", name="notes.txt")
    assert not r.ok and r.error["code"] == "NOT_AN_IMAGE"
    r = analyze("/nonexistent/file.jpg")
    assert not r.ok and r.error["code"] == "FILE_NOT_FOUND"
    with pytest.raises(ListingLensError) as e:
        analyze(b"x", marketplace="nowhere")
    assert e.value.code.value == "UNKNOWN_MARKETPLACE"


def test_a_crashing_check_costs_one_image(monkeypatch):
    def boom(ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("bug")

    registry.checks()
    monkeypatch.setitem(registry._CHECKS, "sharpness", boom)
    r = analyze(_jpeg(_product(400)), name="x.jpg", use_model=False)
    assert not r.ok and r.error["code"] == "INTERNAL_ERROR"


def test_keep_image_and_marketplace_severity():
    data = _jpeg(_product(600))
    r = analyze(data, name="x.jpg", use_model=False, keep_image=True)
    assert r.image is not None and r.image.rgb.shape[2] == 3
    amazon = analyze(data, name="x.jpg", use_model=False, marketplace="amazon")
    etsy = analyze(data, name="x.jpg", use_model=False, marketplace="etsy")
    sev_a = {f.code: f.severity for f in amazon.flags}
    sev_e = {f.code: f.severity for f in etsy.flags}
    assert sev_a.get("LOW_RESOLUTION") is None and sev_a.get("NO_ZOOM") == "warning"
    assert "NO_ZOOM" not in sev_e  # Etsy sets no zoom size


@pytest.mark.slow
def test_real_studio_photo_grades_well(studio_photo):
    r = analyze(studio_photo, use_model=True)
    assert r.ok and r.scores["sharpness"] >= 90 and r.scores["overlays"] >= 90
    assert r.scores["overall"] >= 70
