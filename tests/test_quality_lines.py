"""Dimension lines drawn beside the product are found (overlays/lines.py); straight parts of a
photo without an end mark, curves and the clean photo are not."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from analyzer.config import check_thresholds, marketplace
from analyzer.io.loader import load_image
from analyzer.quality import clutter, overlays
from analyzer.quality.context import ImageContext
from analyzer.quality.overlays.lines import beside, is_line, line_features


def _ctx(im: Image.Image) -> ImageContext:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=92)
    return ImageContext(load_image(buf.getvalue(), name="t.jpg"), marketplace("amazon"),
                        use_model=False)


def _room(im: Image.Image, f: float = 0.8) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The photo shrunk to ``f`` onto white (a seller making room for the arrows), and where
    the photo now lies."""
    W, H = im.size
    sw, sh = round(W * f), round(H * f)
    canvas = Image.new("RGB", (W, H), (255, 255, 255))
    ox, oy = (W - sw) // 2, (H - sh) // 2
    canvas.paste(im.resize((sw, sh), Image.Resampling.LANCZOS), (ox, oy))
    return np.asarray(canvas).copy(), (ox, oy, ox + sw, oy + sh)


def _arrow(a: np.ndarray, p: tuple[int, int], q: tuple[int, int], colour: tuple[int, int, int],
           t: int, ends: str) -> None:
    cv2.line(a, p, q, colour, t, cv2.LINE_AA)
    pv, qv = np.array(p, float), np.array(q, float)
    for tip, back in ((pv, qv), (qv, pv)):
        d = (tip - back) / np.hypot(*(tip - back))
        n = np.array([-d[1], d[0]])
        if ends == "tick":
            a0, a1 = tip + n * 6 * t, tip - n * 6 * t
            cv2.line(a, tuple(np.rint(a0).astype(int)), tuple(np.rint(a1).astype(int)), colour,
                     t, cv2.LINE_AA)
        elif ends == "filled":
            base = tip - d * 7 * t
            pts = np.rint([tip, base + n * 3 * t, base - n * 3 * t]).astype(np.int32)
            cv2.fillPoly(a, [pts], colour, cv2.LINE_AA)


@pytest.fixture(scope="module")
def studio(studio_photo: Path) -> Image.Image:
    return Image.open(studio_photo).convert("RGB")


def test_clean_studio_photo_has_no_line(studio):
    assert overlays.check(_ctx(studio)).metrics["n_lines"] == 0
    a, _ = _room(studio)
    assert overlays.check(_ctx(Image.fromarray(a))).metrics["n_lines"] == 0


@pytest.mark.parametrize("ends,colour,t", [("filled", (0, 0, 0), 3), ("tick", (200, 30, 40), 2),
                                           ("filled", (130, 130, 130), 2)])
def test_dimension_lines_beside_the_product_are_flagged(studio, ends, colour, t):
    a, (x0, y0, x1, y1) = _room(studio)
    gap = min(a.shape[:2]) // 25
    _arrow(a, (x0 + 20, y1 + gap), (x1 - 20, y1 + gap), colour, t, ends)  # the width, below
    _arrow(a, (x1 + gap, y0 + 20), (x1 + gap, y1 - 20), colour, t, ends)  # the height, right
    im = Image.fromarray(a)
    res = overlays.check(_ctx(im))
    assert res.metrics["n_lines"] >= 1
    flag = next(f for f in res.flags if f.code == "TEXT_OR_WATERMARK")
    assert "dimension line" in flag.message
    assert "measurement lines" in flag.fix
    # the line is the overlays check's to report, not a prop beside the product
    assert "CLUTTERED_BACKGROUND" not in {f.code for f in clutter.check(_ctx(im)).flags}


def _features(draw) -> tuple[dict, int]:  # type: ignore[no-untyped-def]
    m = np.zeros((600, 600), np.uint8)
    draw(m)
    ys, xs = np.nonzero(m)
    return line_features(ys, xs, 600, check_thresholds("overlays")), 600


def test_line_test_needs_a_straight_thin_unbroken_band_with_an_end_mark():
    th = check_thresholds("overlays")

    def arrow(m: np.ndarray) -> None:
        _arrow(m, (100, 300), (500, 300), (1, 1, 1), 2, "filled")

    def bare(m: np.ndarray) -> None:  # a straight rod, a strap's edge: no mark at its ends
        cv2.line(m, (100, 300), (500, 300), 1, 2)

    def curve(m: np.ndarray) -> None:  # a cord with a knot at its end
        xs = np.arange(100, 500)
        pts = np.stack([xs, 300 + 40 * np.sin(xs / 40.0)], 1).astype(np.int32)
        cv2.polylines(m, [pts], False, 1, 2)
        cv2.circle(m, (500, int(300 + 40 * np.sin(12.5))), 12, 1, -1)

    def bar(m: np.ndarray) -> None:  # a thick bar: a prop, not a line
        cv2.rectangle(m, (100, 280), (500, 320), 1, -1)

    def dashed(m: np.ndarray) -> None:  # broken more than a drawn rule is
        for x in range(100, 500, 20):
            cv2.line(m, (x, 300), (x + 8, 300), 1, 2)
        cv2.line(m, (100, 290), (100, 310), 1, 2)

    def ticks(m: np.ndarray) -> None:  # an upright line with ticks across its ends
        _arrow(m, (300, 60), (300, 540), (1, 1, 1), 2, "tick")

    assert is_line(*_features(arrow), th)
    assert is_line(*_features(ticks), th)
    for shape in (bare, curve, bar, dashed):
        assert not is_line(*_features(shape), th), shape.__name__


def test_a_line_lies_beside_the_product_not_on_it_or_along_the_frame():
    th = check_thresholds("overlays")
    shape = (600, 500)
    assert beside((100, 550, 400, 560), 0.0, shape, th)  # under the product
    assert beside((450, 0, 458, 500), 0.0, shape, th)  # its end at the top edge
    assert not beside((0, 300, 500, 306), 0.0, shape, th)  # edge to edge: a seam, a horizon
    assert not beside((450, 0, 458, 600), 0.0, shape, th)  # ... top to bottom too
    assert not beside((100, 590, 400, 600), 0.0, shape, th)  # along the bottom edge
    assert not beside((100, 550, 400, 560), 0.9, shape, th)  # in the product's outline
