"""Overlays: added text, watermarks, badges and borders; product print is not an overlay."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from analyzer.config import marketplace
from analyzer.io.loader import load_image
from analyzer.quality import overlays
from analyzer.quality.context import ImageContext

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if Path(FONT).is_file():
        return ImageFont.truetype(FONT, size)
    return ImageFont.load_default(size=size)


def _ctx(im: Image.Image, mkt: str = "amazon", use_model: bool = False) -> ImageContext:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=92)
    return ImageContext(load_image(buf.getvalue(), name="t.jpg"), marketplace(mkt),
                        use_model=use_model)


def _codes(res) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in res.flags}


def _text(im: Image.Image, txt: str, where: str, size_frac: float, color=(200, 20, 30),
          alpha: int = 255) -> Image.Image:
    base = im.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    font = _font(max(10, round(im.height * size_frac)))
    box = d.textbbox((0, 0), txt, font=font)
    tw, th = box[2] - box[0], box[3] - box[1]
    m = im.width // 30
    x = m if "l" in where else im.width - tw - m
    y = m if "t" in where else im.height - th - m
    d.text((x, y), txt, font=font, fill=(*color, alpha))
    return Image.alpha_composite(base, layer).convert("RGB")


def _pad(im: Image.Image, frac: float, color=(128, 128, 128)) -> Image.Image:
    w = max(3, round(max(im.size) * frac))
    canvas = Image.new("RGB", (im.width + 2 * w, im.height + 2 * w), color)
    canvas.paste(im, (w, w))
    return canvas


@pytest.fixture(scope="module")
def photos(luma_main_images) -> list[Image.Image]:
    return [Image.open(p).convert("RGB") for p in luma_main_images[2:80:8]]


@pytest.mark.shared
def test_clean_studio_photos_have_no_overlay(photos):
    results = [overlays.check(_ctx(p)) for p in photos]
    assert sum(bool(r.flags) for r in results) <= 1
    assert np.median([r.score for r in results]) == 100


@pytest.mark.shared
def test_added_text_is_found(photos):
    variants = [("SALE 50% OFF", "tl", 0.05), ("FREE SHIPPING", "br", 0.04),
                ("www.myshop.com", "bl", 0.035), ("Best Seller", "tr", 0.06)]
    hits = 0
    for p, (txt, where, size) in zip(photos, variants * 3, strict=False):
        res = overlays.check(_ctx(_text(p, txt, where, size)))
        hits += "TEXT_OR_WATERMARK" in _codes(res)
    assert hits >= 8  # of 10
    res = overlays.check(_ctx(_text(photos[0], "SALE 50% OFF", "tl", 0.05)))
    f = next(f for f in res.flags if f.code == "TEXT_OR_WATERMARK")
    assert "Amazon" in f.message and f.severity == "error" and f.fix
    assert res.score <= 50
    assert res.maps["text"].shape == res.maps["text"].shape and res.maps["text"].max() == 1.0


@pytest.mark.shared
def test_semi_transparent_watermark_text_is_found(photos):
    hits = sum("TEXT_OR_WATERMARK" in _codes(overlays.check(_ctx(
        _text(p, "(c) MyShop", "br", 0.05, color=(60, 60, 60), alpha=130))))
        for p in photos[:6])
    assert hits >= 4


@pytest.mark.shared
def test_severity_follows_marketplace(photos):
    im = _text(photos[1], "FREE SHIPPING", "tl", 0.05)
    sev = {m: next(f.severity for f in overlays.check(_ctx(im, m)).flags
                   if f.code == "TEXT_OR_WATERMARK") for m in ("amazon", "etsy")}
    assert sev == {"amazon": "error", "etsy": "warning"}


@pytest.mark.shared
def test_grey_padding_and_painted_frame_are_borders(photos):
    for p in photos[:5]:
        assert "BORDER" not in _codes(overlays.check(_ctx(p)))
        padded = overlays.check(_ctx(_pad(p, 0.03)))
        assert "BORDER" in _codes(padded)
        assert padded.score <= 40
        framed = p.copy()
        ImageDraw.Draw(framed).rectangle([0, 0, p.width - 1, p.height - 1],
                                         outline=(20, 60, 160), width=25)
        assert "BORDER" in _codes(overlays.check(_ctx(framed)))


def test_print_on_the_product_is_not_an_overlay():
    im = Image.new("RGB", (900, 900), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.rectangle([200, 150, 700, 800], fill=(30, 90, 170))  # a box, its label printed on it
    d.text((260, 400), "ORGANIC OATS", font=_font(48), fill=(255, 255, 255))
    d.text((260, 480), "500 g net", font=_font(36), fill=(255, 230, 0))
    res = overlays.check(_ctx(im))
    assert "TEXT_OR_WATERMARK" not in _codes(res)
    added = _text(im, "HOT DEAL", "tr", 0.05, color=(0, 0, 0))
    assert "TEXT_OR_WATERMARK" in _codes(overlays.check(_ctx(added)))


def test_plain_white_frame_edges_are_not_a_border():
    im = Image.new("RGB", (800, 800), (255, 255, 255))
    ImageDraw.Draw(im).ellipse([150, 100, 650, 700], fill=(180, 40, 40))
    res = overlays.check(_ctx(im))
    assert not res.flags and res.score == 100


def _badge(im: Image.Image, txt: str, corner: str, fill=(200, 20, 30)) -> Image.Image:
    """A round "SALE"-style sticker pasted on the photo (it may overlap the product)."""
    out = im.copy()
    d = ImageDraw.Draw(out)
    r = round(0.09 * min(im.size))
    cx = r + im.width // 30 if "l" in corner else im.width - r - im.width // 30
    cy = r + im.height // 30 if "t" in corner else im.height - r - im.height // 30
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    font = _font(max(10, r // 2))
    box = d.textbbox((0, 0), txt, font=font)
    d.text((cx - (box[2] - box[0]) // 2 - box[0], cy - (box[3] - box[1]) // 2 - box[1]), txt,
           font=font, fill=(255, 255, 255))
    return out


@pytest.mark.shared
def test_badges_are_found_even_where_the_mask_takes_them_for_product(photos):
    corners = ["br", "tl", "tr", "bl"]
    fills = [(200, 20, 30), (255, 140, 0), (20, 120, 60), (20, 40, 160)]
    hits = 0
    for i, p in enumerate(photos[:6]):
        res = overlays.check(_ctx(_badge(p, ["NEW", "SALE", "-20%", "TOP"][i % 4],
                                         corners[i % 4], fills[i % 4]), use_model=True))
        hits += "TEXT_OR_WATERMARK" in _codes(res) and res.metrics["n_badges"] >= 1
    assert hits >= 5


def test_flat_disc_without_letters_and_round_product_are_not_badges():
    im = Image.new("RGB", (800, 800), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.ellipse([560, 560, 700, 700], fill=(200, 20, 30))  # a plain sticker-sized dot
    # A round product with shading and a printed word: not flat, so not a badge.
    arr = np.asarray(im).copy()
    yy, xx = np.mgrid[:800, :800]
    ball = (xx - 330) ** 2 + (yy - 330) ** 2 < 200 ** 2
    shade = np.clip(1.2 - np.hypot(xx - 280, yy - 280) / 300, 0.3, 1.0)
    arr[ball] = (np.array([230, 80, 150]) * shade[ball, None]).astype(np.uint8)
    im = Image.fromarray(arr)
    ImageDraw.Draw(im).text((260, 310), "FIT", font=_font(40), fill=(255, 255, 255))
    res = overlays.check(_ctx(im))
    assert res.metrics["n_badges"] == 0
    assert "TEXT_OR_WATERMARK" not in _codes(res)


def test_backdrop_is_the_plain_colour_connected_to_the_border():
    lab = np.zeros((100, 100, 3), np.float32)
    lab[..., 0] = 100.0                      # white backdrop
    lab[30:70, 30:70] = (40.0, 20.0, -30.0)  # a product
    lab[45:55, 45:55] = (100.0, 0.0, 0.0)    # white print inside it, not connected to the border
    bd = overlays.backdrop(lab, (100, 100), 4.0, 0.6)
    assert bd[0, 0] and bd[10, 50] and not bd[50, 50] and not bd[35, 35]
    busy = lab.copy()
    busy[:5] = (50.0, 60.0, 0.0)             # a border that is not one plain colour
    busy[:, :5] = (30.0, -40.0, 40.0)
    assert not overlays.backdrop(busy, (100, 100), 4.0, 0.6).any()
