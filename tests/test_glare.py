"""Glare: a flash's or a lamp's hotspot blown to white on the product (analyzer/vision/glare.py),
reported by the exposure check as OVEREXPOSED; a white print, a white product and a clean photo
are not glare."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from analyzer.config import check_thresholds, marketplace
from analyzer.io.loader import load_image
from analyzer.quality import exposure
from analyzer.quality.context import ImageContext
from analyzer.vision import glare
from analyzer.vision.srgb import linear_to_srgb, srgb_to_linear


def _ctx(rgb: np.ndarray) -> ImageContext:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return ImageContext(load_image(buf.getvalue(), name="t.png"), marketplace("amazon"),
                        use_model=False)


def _product(colour: tuple[int, int, int] = (40, 70, 160), n: int = 480) -> np.ndarray:
    """A shaded oval product on a white backdrop, lit from the top left."""
    img = np.full((n, n, 3), 255, np.uint8)
    oval = np.zeros((n, n), np.uint8)
    cv2.ellipse(oval, (n // 2, n // 2), (int(0.3 * n), int(0.38 * n)), 0, 0, 360, 1, -1)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
    shade = 0.8 + 0.35 * (1.0 - 0.5 * (xx + yy))
    body = np.clip(np.array(colour, np.float32) * shade[..., None], 0, 255)
    img[oval > 0] = body[oval > 0].astype(np.uint8)
    return img


def _hotspot(rgb: np.ndarray, centre: tuple[int, int], r: float, halo: float = 1.2) -> np.ndarray:
    """Light added in linear light, a Gaussian whose core (radius ``r``) clips to white."""
    n = rgb.shape[0]
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    rho2 = ((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (r * r)
    light = np.exp((1.0 - rho2) / (2.0 * halo * halo))
    lin = srgb_to_linear(rgb / 255.0) + light[..., None]
    return np.rint(linear_to_srgb(lin) * 255).astype(np.uint8)


def _glare_flags(res) -> list:  # type: ignore[no-untyped-def]
    return [f for f in res.flags if f.code == "OVEREXPOSED" and "glare" in f.message]


def test_a_hotspot_blown_to_white_on_the_product_is_glare():
    clean = _product()
    shot = _hotspot(clean, (220, 200), 14.0)
    res = exposure.check(_ctx(shot))
    (flag,) = _glare_flags(res)
    assert "flash" in flag.message and "diffuser" in flag.fix
    assert res.metrics["glare"] >= float(check_thresholds("exposure")["glare_flag"])
    ok = exposure.check(_ctx(clean))
    assert not _glare_flags(ok) and ok.metrics["glare"] == 0.0
    assert res.score < ok.score


def test_a_white_print_a_white_product_and_a_small_highlight_are_not_glare():
    """A white logo (crisp edge: no halo), a white product's blown patch (a surface near white)
    and a glossy product's small highlight (under the line) keep the photo unflagged."""
    printed = _product()
    cv2.circle(printed, (220, 200), 16, (255, 255, 255), -1)
    white = _hotspot(_product((225, 225, 230)), (220, 200), 14.0)
    small = _hotspot(_product(), (220, 200), 3.0)
    for rgb in (printed, white, small):
        res = exposure.check(_ctx(rgb))
        assert not _glare_flags(res), res.metrics["glare"]


def test_spot_features_tell_the_halo_from_a_crisp_edge():
    th = check_thresholds("exposure")
    shot = _hotspot(_product(), (220, 200), 14.0)
    printed = _product()
    cv2.circle(printed, (220, 200), 16, (255, 255, 255), -1)
    reads = []
    for rgb in (shot, printed):
        ctx = _ctx(rgb)
        lab = np.ascontiguousarray(ctx.lab[::2, ::2])
        sub = np.ascontiguousarray(ctx.rgb[::2, ::2])
        region = exposure.product_region(ctx.mask_bool[::2, ::2], lab.shape[:2],
                                         float(th["erode_frac"]))
        (spot, *_) = glare.spots(lab, sub, region, th)
        reads.append(spot)
    hot, crisp = reads
    assert hot.enclosed == pytest.approx(1.0) and crisp.enclosed == pytest.approx(1.0)
    assert hot.halo >= float(th["glare_halo"]) > crisp.halo
    assert glare.is_glare(hot, th) and not glare.is_glare(crisp, th)


def test_no_product_or_no_white_reads_no_spot():
    th = check_thresholds("exposure")
    lab = np.zeros((20, 20, 3), np.float32)
    rgb = np.zeros((20, 20, 3), np.uint8)
    assert glare.spots(lab, rgb, np.zeros((20, 20), bool), th) == []
    assert glare.spots(lab, rgb, np.ones((20, 20), bool), th) == []
    assert glare.glare_share([], th) == 0.0
