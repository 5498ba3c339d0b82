"""Emoji and stickers with no letters pasted on a photo are found (overlays/stickers.py); a
photographed surface, the backdrop, bands and what other finders report are not."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from analyzer.codes import FlagCode
from analyzer.config import check_thresholds, marketplace
from analyzer.io.loader import load_image
from analyzer.quality import clutter, overlays
from analyzer.quality.context import ImageContext
from analyzer.quality.overlays.badges import colour_edges, plate_holes
from analyzer.quality.overlays.insets import InsetFinding
from analyzer.quality.overlays.stickers import find_stickers, is_sticker, plates
from analyzer.vision.backdrop import lab_of

YELLOW = (255, 204, 40)


def _ctx(im: Image.Image) -> ImageContext:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=92)
    return ImageContext(load_image(buf.getvalue(), name="t.jpg"), marketplace("amazon"),
                        use_model=False)


def _product(seed: int = 0) -> Image.Image:
    """A photographed product: a blue-grey oval with shading and a camera's grain, on white."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:600, 0:600]
    oval = ((xx - 300) / 220.0) ** 2 + ((yy - 300) / 260.0) ** 2 <= 1.0
    a = np.full((600, 600, 3), 255.0)
    shade = 1.0 - 0.25 * (yy / 600.0)
    a[oval] = (np.array([70.0, 95.0, 140.0]) * shade[oval][:, None])
    a[oval] += rng.normal(0, 5, (int(oval.sum()), 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _star(cx: float, cy: float, r: float, inner: float = 0.38) -> list[tuple[float, float]]:
    return [(cx + (r if k % 2 == 0 else inner * r) * math.cos(-math.pi / 2 + k * math.pi / 5),
             cy + (r if k % 2 == 0 else inner * r) * math.sin(-math.pi / 2 + k * math.pi / 5))
            for k in range(10)]


def _heart(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    t = np.linspace(0, 2 * math.pi, 120)
    return [(cx + r * math.sin(v) ** 3,
             cy - r * (13 * math.cos(v) - 5 * math.cos(2 * v) - 2 * math.cos(3 * v)
                       - math.cos(4 * v)) / 16) for v in t]


def _found(im: Image.Image) -> list[tuple[int, int, int, int]]:
    th = check_thresholds("overlays")
    lab = lab_of(np.asarray(im.convert("RGB")))
    edges = colour_edges(lab, th)
    return find_stickers(lab, edges, plate_holes(edges, th), th)


@pytest.mark.parametrize("shape", ["disc", "heart", "classic star", "fat star", "square"])
def test_a_flat_letterless_sticker_over_the_product_is_found(shape):
    im = _product()
    d = ImageDraw.Draw(im)
    if shape == "disc":
        d.ellipse([260, 260, 340, 340], fill=YELLOW)
    elif shape == "heart":
        d.polygon(_heart(300, 300, 40), fill=(230, 30, 60))
    elif shape == "square":
        d.rectangle([265, 265, 335, 335], fill=(120, 177, 89))
    else:
        d.polygon(_star(300, 300, 45, 0.38 if shape == "classic star" else 0.5),
                  fill=(255, 165, 0))
    boxes = _found(im)
    assert len(boxes) == 1, boxes
    x0, y0, x1, y1 = boxes[0]
    assert x0 < 300 < x1 and y0 < 300 < y1
    res = overlays.check(_ctx(im))
    assert res.metrics["n_stickers"] == 1
    flag = next(f for f in res.flags if f.code == FlagCode.TEXT_OR_WATERMARK)
    assert flag.message.startswith("found 1 sticker(s) or emoji with no letters (")
    assert "laid over the product" in flag.message
    assert "sticker or emoji" in flag.fix
    assert res.score <= 50


def test_the_clean_product_and_a_printed_patch_of_it_are_no_sticker():
    im = _product()
    assert _found(im) == []
    # a saturated patch photographed with the rest: the same shading and grain as the product
    a = np.asarray(im).astype(float)
    yy, xx = np.mgrid[0:600, 0:600]
    disc = (xx - 300) ** 2 + (yy - 300) ** 2 <= 40 ** 2
    rng = np.random.default_rng(3)
    a[disc] = np.array(YELLOW) * (1.0 - 0.25 * yy[disc] / 600.0)[:, None] + rng.normal(
        0, 5, (int(disc.sum()), 3))
    assert _found(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))) == []


@pytest.mark.parametrize("case", ["white", "grey", "band", "tiny", "at the frame", "shaded"])
def test_what_is_no_sticker(case):
    im = _product()
    d = ImageDraw.Draw(im)
    if case == "white":  # the backdrop seen through a hole of the product, or a white label
        d.ellipse([260, 260, 340, 340], fill=(255, 255, 255))
    elif case == "grey":
        d.ellipse([260, 260, 340, 340], fill=(128, 128, 128))
    elif case == "band":  # a garment's cuff or a carton's strip: flat, saturated, but a band
        d.rectangle([150, 420, 450, 470], fill=(85, 172, 238))
    elif case == "tiny":  # under sticker_min_area of the frame
        d.ellipse([295, 295, 305, 305], fill=YELLOW)
    elif case == "at the frame":  # a hole the frame cuts is the backdrop's or a strip's
        d.ellipse([-40, 200, 40, 280], fill=YELLOW)
    else:  # a phone's shaded emoji: the known limit (README, "Stickers with no letters")
        yy, xx = np.mgrid[0:600, 0:600]
        disc = (xx - 300) ** 2 + (yy - 300) ** 2 <= 40 ** 2
        a = np.asarray(im).astype(float)
        light = 1.0 + 0.4 * (0.5 - np.hypot(xx - 285, yy - 282) / 72.0)
        a[disc] = np.array(YELLOW) * light[disc][:, None]
        im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    assert _found(im) == []


def test_plate_reads_and_the_rule():
    th = check_thresholds("overlays")
    im = _product()
    ImageDraw.Draw(im).ellipse([260, 260, 340, 340], fill=YELLOW)
    lab = lab_of(np.asarray(im))
    edges = colour_edges(lab, th)
    ps = plates(lab, edges, plate_holes(edges, th), th)
    disc = [p for p in ps if p.box[0] < 300 < p.box[2] and p.box[1] < 300 < p.box[3]]
    assert len(disc) == 1
    p = disc[0]
    assert 0.012 < p.area < 0.0145  # pi 39^2 / 600^2 inside the outline: 0.0133
    assert p.chroma > 60 and p.spread < 1.0
    assert is_sticker(p, th)
    assert not is_sticker(p, dict(th, sticker_min_chroma=p.chroma + 1))
    assert not is_sticker(p, dict(th, sticker_flat_de=p.spread - 1e-3))


def test_a_sticker_another_finder_reports_is_reported_once():
    box = (10, 10, 50, 50)
    none = InsetFinding([], 0.0)
    assert overlays.own_stickers([box], [], None, none, 1.0) == [box]
    # a smiley whose eyes the badge finder read as letters: the badge
    assert overlays.own_stickers([box], [(20, 20, 60, 60)], None, none, 1.0) == []
    # wholly on a printed cover: the cover's own flat logo
    face = np.zeros((100, 100), bool)
    face[0:80, 0:80] = True
    assert overlays.own_stickers([box], [], face, none, 1.0) == []
    # inside an inset picture (its boxes in the photo's px; the sticker's at scale 0.5)
    inset = InsetFinding([(0, 0, 120, 120)], 0.1)
    assert overlays.own_stickers([box], [], None, inset, 0.5) == []


def test_a_sticker_is_no_prop_for_the_clutter_check():
    im = _product()
    ImageDraw.Draw(im).ellipse([40, 40, 110, 110], fill=YELLOW)  # on the backdrop, beside it
    ctx = _ctx(im)
    assert overlays.check(ctx).metrics["n_stickers"] == 1
    assert FlagCode.CLUTTERED_BACKGROUND not in [f.code for f in clutter.check(ctx).flags]


def _paste_disc(path: Path) -> Image.Image:
    im = Image.open(path).convert("RGB")
    w, h = im.size
    r = 0.06 * min(w, h)
    ImageDraw.Draw(im).ellipse([w / 2 - r, h / 2 - r, w / 2 + r, h / 2 + r], fill=YELLOW)
    return im


def test_real_photos_no_sticker_and_a_sticker_on_them(studio_photos, amateur_photos):
    clean = [*studio_photos[:12], *amateur_photos[:24]]
    flagged = [p.name for p in clean if overlays.check(_ctx(Image.open(p).convert("RGB")))
               .metrics["n_stickers"] > 0]
    assert flagged == []
    found = [overlays.check(_ctx(_paste_disc(p))).metrics["n_stickers"] > 0
             for p in [*studio_photos[:6], *amateur_photos[:6]]]
    assert sum(found) >= 10, found


def test_a_sticker_beside_added_text_is_named_among_the_areas():
    from PIL import ImageFont
    im = _product()
    d = ImageDraw.Draw(im)
    d.ellipse([260, 260, 340, 340], fill=YELLOW)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 44)
    d.text((150, 530), "SALE 50%", font=font, fill=(200, 0, 0))
    res = overlays.check(_ctx(im))
    msg = next(f.message for f in res.flags if f.code == FlagCode.TEXT_OR_WATERMARK)
    assert "text/logo area(s)" in msg and "1 of them a sticker or emoji with no letters" in msg
