"""Overlays: added text, watermarks, badges and borders; product print is not an overlay."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from analyzer.config import marketplace
from analyzer.io.loader import load_image
from analyzer.quality import overlays
from analyzer.quality.context import ImageContext
from analyzer.quality.overlays.insets import find_insets

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
    # One badge-like round part and one watch dial's numerals (print on the product that the
    # verifier takes for added text, a known miss) are flagged among these ten.
    assert sum(bool(r.flags) for r in results) <= 2
    # Unflagged photos lose at most the evidence band (10 points) for text-like marks.
    assert np.median([r.score for r in results]) >= 90


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


@pytest.mark.parametrize(("size", "words", "corner"), [
    (20, "www.myshop.com", "bl"), (18, "(c) 2024 MyShop", "br"), (16, "@myshop_official", "tl")])
def test_a_shops_small_print_in_a_corner_is_found(size, words, corner):
    """16-20 px grey print 30 px from the corner of a 1200 x 1500 studio shot: off the product,
    in the frame's margin on the plain backdrop, it needs the edge margin (text.in_margin); at
    the backdrop's margin these three were missed (a new user's copyright line graded A)."""
    im = Image.new("RGB", (1200, 1500), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((300, 250, 900, 1250), 60, fill=(40, 70, 140))
    d.rectangle((380, 400, 820, 600), fill=(200, 200, 210))
    assert "TEXT_OR_WATERMARK" not in _codes(overlays.check(_ctx(im)))
    regular = Path(FONT).with_name("DejaVuSans.ttf")  # a bold face's 10 px letters merge
    f = ImageFont.truetype(str(regular), size) if regular.is_file() else _font(size)
    w = d.textlength(words, font=f)
    d.text((30 if corner[1] == "l" else 1170 - w, 30 if corner[0] == "t" else 1470 - size),
           words, font=f, fill=(60, 60, 60))
    res = overlays.check(_ctx(im))
    assert "TEXT_OR_WATERMARK" in _codes(res)
    assert "beside the product" in next(f.message for f in res.flags
                                         if f.code == "TEXT_OR_WATERMARK")


@pytest.mark.parametrize(("width", "colour"), [
    (5, (30, 150, 60)), (6, (30, 150, 60)), (2, (128, 128, 128)), (3, (170, 170, 170)),
    (1, (0, 0, 0))])
def test_a_thin_frame_is_a_border(width, colour):
    """A frame of 5-6 px on a 1200 px photo: 0.4-0.5% of the side, 4-5 px at the 1024 px working
    size, where a 0.4% minimum skipped it (a new user's 5 px green frame was graded A); and an
    editor's 1-3 px stroke, 1-2 px at the working size, which a 0.2% minimum skipped (a third new
    user's grey 2-3 px frames, 4 of 4 graded A)."""
    im = Image.new("RGB", (1200, 1200), (255, 255, 255))
    ImageDraw.Draw(im).ellipse([250, 200, 950, 1000], fill=(180, 40, 40))
    assert "BORDER" not in _codes(overlays.check(_ctx(im)))
    ImageDraw.Draw(im).rectangle([0, 0, 1199, 1199], outline=colour, width=width)
    assert "BORDER" in _codes(overlays.check(_ctx(im)))


def _photographed(im: Image.Image, seed: int = 0) -> Image.Image:
    """What a camera makes of a drawn scene: lens blur, uneven light, sensor noise."""
    a = np.asarray(im).astype(np.float32)
    a = cv2.GaussianBlur(a, (0, 0), 1.6)
    h, w = a.shape[:2]
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    light = 0.8 + 0.2 * np.cos((xx - 0.3 * w) / w * 2.5) * np.cos((yy - 0.4 * h) / h * 2.0)
    a *= light[..., None]
    a += np.random.default_rng(seed).normal(0, 3, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def test_print_on_the_product_is_not_an_overlay():
    """A carton's label, photographed (soft, shaded, noisy like the carton), is product print;
    crisp text added on top of the photo afterwards is an overlay. Added text lies over the
    product too, so only how it was made tells them apart: text drawn on a flat synthetic box
    and never photographed looks exactly like added text and would be flagged."""
    im = Image.new("RGB", (900, 900), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.rectangle([200, 150, 700, 800], fill=(30, 90, 170))  # a box, its label printed on it
    d.text((260, 400), "ORGANIC OATS", font=_font(48), fill=(255, 255, 255))
    d.text((260, 480), "500 g net", font=_font(36), fill=(255, 230, 0))
    photo = _photographed(im)
    res = overlays.check(_ctx(photo))
    assert "TEXT_OR_WATERMARK" not in _codes(res)
    added = _text(photo, "HOT DEAL", "tr", 0.05, color=(0, 0, 0))
    assert "TEXT_OR_WATERMARK" in _codes(overlays.check(_ctx(added)))


def test_plain_white_frame_edges_are_not_a_border():
    im = Image.new("RGB", (800, 800), (255, 255, 255))
    ImageDraw.Draw(im).ellipse([150, 100, 650, 700], fill=(180, 40, 40))
    # the product with a camera's grain (a flat-filled drawing is NOT_A_PHOTO), the backdrop pure
    a = np.asarray(im).astype(np.float32)
    grain = np.random.default_rng(0).normal(0, 3, a.shape)
    a = np.where(a.min(axis=2, keepdims=True) < 250, a + grain, a)
    im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
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
    """Neither is a badge (no letters). Since 2026-12-07 (later) the flat disc is a letterless
    sticker (overlays/stickers.py); the shaded ball with its printed word is nothing added."""
    im = Image.new("RGB", (800, 800), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.ellipse([580, 580, 680, 680], fill=(200, 20, 30))  # a plain sticker-sized dot
    # A round product with shading and a printed word: not flat, so not a badge.
    arr = np.asarray(im).copy()
    yy, xx = np.mgrid[:800, :800]
    ball = (xx - 330) ** 2 + (yy - 330) ** 2 < 200 ** 2
    shade = np.clip(1.2 - np.hypot(xx - 280, yy - 280) / 300, 0.3, 1.0)
    arr[ball] = (np.array([230, 80, 150]) * shade[ball, None]).astype(np.uint8)
    im = Image.fromarray(arr)
    ImageDraw.Draw(im).text((260, 310), "FIT", font=_font(40), fill=(255, 255, 255))
    ctx = _ctx(_photographed(im))
    res = overlays.check(ctx)
    assert res.metrics["n_badges"] == 0
    assert res.metrics["n_chars"] == 0 and res.metrics["watermark_glyphs"] == 0  # no letters
    stickers = overlays.graphics(ctx).stickers
    s = overlays.graphics(ctx).scale
    assert len(stickers) == 1 and stickers[0][0] / s > 500  # the dot, not the ball
    assert next(f.message for f in res.flags if f.code == "TEXT_OR_WATERMARK").startswith(
        "found 1 sticker(s) or emoji with no letters (")


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


def _inset(im: Image.Image, content: Image.Image, corner: str, frac: float = 0.26,
           outline: tuple[int, int, int] | None = (0, 0, 0)) -> Image.Image:
    """``content`` pasted as a picture-in-picture ``frac`` of the frame wide into a corner."""
    out = im.copy()
    iw = round(im.width * frac)
    ih = round(iw * content.height / content.width)
    m = im.width // 30
    x = m if "l" in corner else im.width - iw - m
    y = m if "t" in corner else im.height - ih - m
    out.paste(content.resize((iw, ih), Image.Resampling.LANCZOS), (x, y))
    if outline is not None:
        ImageDraw.Draw(out).rectangle([x, y, x + iw - 1, y + ih - 1], outline=outline, width=3)
    return out


def _rim(grey: Image.Image) -> np.ndarray:
    """The pixels of a grey image's outer band (1/50 of its short side, at least 2 px)."""
    a = np.asarray(grey)
    b = max(2, min(a.shape) // 50)
    return np.concatenate([a[:b].ravel(), a[-b:].ravel(), a[:, :b].ravel(), a[:, -b:].ravel()])


@pytest.fixture(scope="module")
def lifestyle(shared_data) -> list[Image.Image]:
    """Crops of the luma store's lifestyle banners that have a background of their own (some
    banners are products on white: pasted with no outline, those have no edge to see)."""
    root = shared_data / "luma" / "pub" / "media" / "wysiwyg"
    out = []
    for p in sorted(root.rglob("*.jpg")):
        im = Image.open(p).convert("RGB")
        s = min(im.size)
        crop = im.crop((0, 0, s, s))
        if (_rim(crop.convert("L").resize((64, 64))) < 235).mean() >= 0.9:
            out.append(crop)
        if len(out) == 6:
            break
    return out


def _whole_products_on_white(photos: list[Image.Image]) -> list[Image.Image]:
    """Photos whose product leaves white around it (some luma main images are close-ups that
    fill the frame, with no backdrop for an inset to sit on)."""
    return [p for p in photos if (_rim(p.convert("L")) >= 245).mean() >= 0.9]


@pytest.mark.shared
def test_inset_pictures_are_found(photos, lifestyle):
    """A lifestyle shot or a detail of the product pasted into a corner is an inset: Amazon
    names inset images among what a main image must not have."""
    shots = _whole_products_on_white(photos)
    assert len(shots) >= 5
    hits, found = 0, []
    corners = ["tl", "tr", "bl", "br"]
    for i, p in enumerate(shots[:6]):
        detail = p.crop((p.width // 3, p.height // 3, 2 * p.width // 3, 2 * p.height // 3))
        for im in (_inset(p, lifestyle[i % len(lifestyle)], corners[i % 4], outline=None),
                   _inset(p, detail, corners[(i + 1) % 4])):
            res = overlays.check(_ctx(im))
            if "INSET_IMAGE" in _codes(res):
                hits += 1
                found.append((im, res))
            # an inset is not a frame around the photo
            assert "BORDER" not in _codes(res)
    # measured: 12 of 12 (10 of 12 before the L-junction boxes: two detail insets that overlap
    # the product were missed)
    assert hits >= 0.75 * 2 * len(shots[:6]), hits
    im, res = found[0]
    f = next(f for f in res.flags if f.code == "INSET_IMAGE")
    assert f.severity == "error" and "Amazon forbids inset images" in f.message and f.fix
    assert res.score <= 45 and res.metrics["n_insets"] >= 1
    etsy = overlays.check(_ctx(im, "etsy"))
    f = next(f for f in etsy.flags if f.code == "INSET_IMAGE")
    assert f.severity == "warning" and "forbids" not in f.message


@pytest.mark.shared
def test_clean_photos_and_boxed_products_have_no_inset(photos, shared_data):
    """Cartons photographed head-on are rectangles with printed panels and a top that the
    first version of the finder took for insets; none of them, and no clean studio shot, is."""
    root = shared_data / "grocery" / "dataset" / "iconic-images-and-descriptions"
    names = ["Oatly-Natural-Oatghurt", "Arla-Mild-Vanilla-Yoghurt", "God-Morgon-Apple-Juice",
             "Tropicana-Juice-Smooth", "Alpro-Blueberry-Soyghurt", "Arla-Natural-Mild-Low-Fat"
             "-Yoghurt"]
    cartons = [p for n in names for p in root.rglob(f"{n}_Iconic.jpg")]
    assert len(cartons) == len(names)
    for p in cartons:
        for use_model in (False, True):
            ctx = ImageContext(load_image(p), marketplace("amazon"), use_model=use_model)
            assert "INSET_IMAGE" not in _codes(overlays.check(ctx)), (p.name, use_model)
    for p in photos:
        assert "INSET_IMAGE" not in _codes(overlays.check(_ctx(p)))


def test_inset_on_a_synthetic_studio_shot_and_a_carton_that_is_not_one():
    """No shared data needed: a product on white with a textured picture pasted top-right is an
    inset; a carton with a printed panel near its top-left corner, standing in the middle, is
    not (its panel has carton around it, not backdrop)."""
    rng = np.random.default_rng(0)
    im = Image.new("RGB", (1000, 1000), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.ellipse([250, 250, 750, 850], fill=(40, 90, 160))
    # a blocky picture: per-pixel noise would average away at the finder's working size
    photo = Image.fromarray(rng.integers(40, 220, (11, 13, 3), dtype=np.uint8)).resize(
        (260, 220), Image.Resampling.NEAREST)
    with_inset = im.copy()
    with_inset.paste(photo, (710, 30))
    res = overlays.check(_ctx(with_inset))
    assert "INSET_IMAGE" in _codes(res)
    assert res.metrics["n_insets"] == 1 and 0.04 < res.metrics["inset_area"] < 0.08
    assert res.maps["text"][100, 800] == 1.0  # the dashboard's overlay marks the inset
    assert "INSET_IMAGE" not in _codes(overlays.check(_ctx(im)))

    carton = Image.new("RGB", (1000, 1000), (255, 255, 255))
    d = ImageDraw.Draw(carton)
    d.rectangle([80, 60, 920, 960], fill=(230, 200, 60))
    carton.paste(photo, (95, 75))  # printed on the carton's face, in the corner zone
    ImageDraw.Draw(carton).rectangle([95, 75, 354, 294], outline=(0, 0, 0), width=3)
    assert "INSET_IMAGE" not in _codes(overlays.check(_ctx(carton)))


def _spots(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A busy printed picture: random coloured discs on brown (no long straight edges inside)."""
    im = Image.new("RGB", size, (150, 110, 70))
    d = ImageDraw.Draw(im)
    for _ in range(60):
        x, y, r = rng.integers(0, size[0]), rng.integers(0, size[1]), rng.integers(6, 20)
        fill = tuple(int(v) for v in rng.integers(20, 240, 3))
        d.ellipse([x - r, y - r, x + r, y + r], fill=fill)
    return im


def test_inset_whose_side_overlaps_a_dark_product_and_a_carton_top_that_is_not_one():
    """No shared data needed. A detail of a dark garment pasted top-right, its left side over the
    garment (no edge there: dark on dark), is outlined on the two sides that meet at the corner
    facing the frame's and on part of the other two: an inset, which the four-sides rule missed.
    A tall carton at the left whose printed top panel sits in the top-left corner is the panel's
    twin (backdrop on three sides, carton past the fourth), but the carton's edges go on past the
    panel's corners: not an inset."""
    rng = np.random.default_rng(0)
    im = Image.new("RGB", (1000, 1000), (255, 255, 255))
    ImageDraw.Draw(im).ellipse([200, 60, 800, 990], fill=(35, 35, 40))
    im.paste(Image.fromarray(rng.integers(60, 200, (9, 7, 3), dtype=np.uint8)).resize(
        (210, 270), Image.Resampling.NEAREST), (395, 360))  # the garment's print
    detail = im.crop((330, 300, 670, 640)).resize((260, 260), Image.Resampling.LANCZOS)
    with_inset = im.copy()
    with_inset.paste(detail, (700, 40))
    ctx = _ctx(with_inset)
    res = overlays.check(ctx)
    assert "INSET_IMAGE" in _codes(res) and res.metrics["n_insets"] == 1
    # the four-sides rule alone (no side may be only partly covered) misses it
    th = dict(ctx.thresholds("overlays"), inset_partial_cover=1.0)
    _, plain, _, _ = overlays.text_zone(ctx, th)
    assert not find_insets(ctx.gray_u8, ctx.mask_bool_or_none, plain, th).found
    assert "INSET_IMAGE" not in _codes(overlays.check(_ctx(im)))

    carton = Image.new("RGB", (1000, 1000), (255, 255, 255))
    d = ImageDraw.Draw(carton)
    d.rectangle([40, 40, 330, 960], fill=(230, 200, 60))
    carton.paste(_spots(np.random.default_rng(2), (291, 220)), (40, 40))
    d.line([40, 260, 330, 260], fill=(0, 0, 0), width=3)
    ctx = _ctx(carton)
    assert "INSET_IMAGE" not in _codes(overlays.check(ctx))
    # the carton's edges going on past the top's corners keep it out: were no edge to go on
    # far enough, the top would be taken for an inset
    th = dict(ctx.thresholds("overlays"), inset_panel_line=1.01)
    _, plain, _, _ = overlays.text_zone(ctx, th)
    assert find_insets(ctx.gray_u8, ctx.mask_bool_or_none, plain, th).found


# ---------------------------------------------------------------- texture vs text (issue 14)
# Amateur photos lie on wood floors, quilts and knits: rows of similar blobs that a
# connected-component text finder takes for letters. Synthetic, seeded, no shared data needed.

def _wood(seed: int, size: tuple[int, int] = (600, 800)) -> np.ndarray:
    """Wood-grain floor: warped dark grain lines on a warm base, planks, sensor noise."""
    g = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    warp = 6 * np.sin(yy / g.uniform(40, 90) + g.uniform(0, 6)) + 3 * np.sin(yy / 17.0)
    period = g.uniform(7, 14)
    grain = 0.5 + 0.5 * np.sin(2 * np.pi * (xx + warp) / period)
    grain = grain ** g.uniform(3, 6)  # thin dark lines
    plank = ((xx // g.uniform(110, 160)) % 2) * g.uniform(8, 20)
    base = np.array([176, 128, 84], np.float32) * g.uniform(0.85, 1.1)
    arr = base[None, None] - 60 * grain[..., None] - plank[..., None]
    arr += g.normal(0, 4, arr.shape)
    return np.clip(arr, 0, 255).astype(np.uint8)


def _quilt(seed: int, size: tuple[int, int] = (600, 800)) -> np.ndarray:
    """A quilted vest's surface: a diamond stitch grid with puffed shading, plus a knit weave."""
    g = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    p = g.uniform(28, 45)
    u, v = (xx + yy) / p, (xx - yy) / p
    puff = np.abs(np.sin(np.pi * u)) * np.abs(np.sin(np.pi * v))
    weave = 0.5 + 0.5 * np.sin(xx * 1.9) * np.sin(yy * 1.7)
    base = np.array([60, 70, 110], np.float32) * g.uniform(0.8, 1.3)
    arr = base[None, None] * (0.55 + 0.45 * puff[..., None]) + 10 * weave[..., None]
    arr += g.normal(0, 3, arr.shape)
    return np.clip(arr, 0, 255).astype(np.uint8)


def _product_on(floor: np.ndarray, seed: int) -> Image.Image:
    """A plain garment-coloured blob lying on the floor texture (an amateur product photo)."""
    g = np.random.default_rng(seed)
    im = Image.fromarray(floor)
    d = ImageDraw.Draw(im)
    h, w = floor.shape[:2]
    col = tuple(int(c) for c in g.integers(30, 220, 3))
    d.rounded_rectangle([w * 0.3, h * 0.2, w * 0.7, h * 0.85], radius=40, fill=col)
    return im


FONTS = ["dejavu/DejaVuSans-Bold.ttf", "dejavu/DejaVuSerif.ttf", "dejavu/DejaVuSansMono.ttf",
         "liberation/LiberationSans-Regular.ttf", "dejavu/DejaVuSerif-BoldItalic.ttf",
         "dejavu/DejaVuSansCondensed.ttf"]


def _word(im: Image.Image, txt: str, font_file: str, size_frac: float, xy: tuple[float, float],
          color: tuple[int, int, int], alpha: int, angle: float) -> Image.Image:
    p = Path("/usr/share/fonts/truetype") / font_file
    f = ImageFont.truetype(str(p), round(im.height * size_frac)) if p.is_file() else _font(
        round(im.height * size_frac))
    box = ImageDraw.Draw(im).textbbox((0, 0), txt, font=f)
    tile = Image.new("RGBA", (box[2] - box[0] + 8, box[3] - box[1] + 8), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((4 - box[0], 4 - box[1]), txt, font=f, fill=(*color, alpha))
    tile = tile.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
    base = im.convert("RGBA")
    base.alpha_composite(tile, (round(xy[0] * im.width), round(xy[1] * im.height)))
    return base.convert("RGB")


def test_wood_grain_and_quilting_are_not_text():
    """The issue's false flags: grain, stitches and weave without any added text."""
    flagged = []
    for seed in range(6):
        for tex in (_wood, _quilt):
            res = overlays.check(_ctx(_product_on(tex(seed), seed)))
            flagged.append("TEXT_OR_WATERMARK" in _codes(res))
        res = overlays.check(_ctx(Image.fromarray(_quilt(seed + 10))))  # the vest fills the frame
        flagged.append("TEXT_OR_WATERMARK" in _codes(res))
    assert sum(flagged) <= 1, flagged


def test_added_text_on_textured_amateur_photos_is_found():
    """Text in several fonts, sizes, opacities and angles, on the floor and over the product."""
    words = ["SALE", "Best Seller", "www.myshop.com", "50% OFF", "NEW ARRIVAL", "Made in Italy"]
    colors = [(255, 255, 255), (0, 0, 0), (200, 20, 30), (20, 40, 160), (255, 140, 0),
              (0, 120, 60)]
    hits, clean_flags = 0, 0
    n = 0
    for seed in range(6):
        for tex in (_wood, _quilt):
            im = _product_on(tex(seed), seed + 1)
            clean_flags += "TEXT_OR_WATERMARK" in _codes(overlays.check(_ctx(im)))
            i = (seed * 2 + (tex is _quilt)) % 6
            xy = [(0.05, 0.05), (0.35, 0.45), (0.1, 0.8), (0.4, 0.1), (0.3, 0.6), (0.05, 0.4)][i]
            out = _word(im, words[i], FONTS[i], [0.05, 0.07, 0.04, 0.06, 0.08, 0.05][i], xy,
                        colors[i], [255, 200, 150, 255, 220, 180][i], [0, 0, -15, 20, 0, 8][i])
            hits += "TEXT_OR_WATERMARK" in _codes(overlays.check(_ctx(out)))
            n += 1
    assert clean_flags <= 1
    # On real amateur photos the finder finds about 70% of such text (README), most of it through
    # the JPEG grid the pasted word breaks; these synthetic floors have no earlier save and
    # regular grain everywhere: 5 of 12 found. Broken, it finds none.
    assert hits >= 5, (hits, n)


def test_shipped_text_verifier_matches_the_features():
    """The verifier data file and the feature list of the finder must agree (a refit after a
    feature change is needed), and its margin must rank a crisp word above wood grain."""
    import json

    from analyzer.quality.overlays import text as text_mod

    d = json.loads(text_mod.VERIFIER.read_text())
    assert tuple(d["features"]) == text_mod.FEATURES and len(d["trees"]) >= 10
    th = overlays_thresholds()
    floor = _product_on(_wood(3), 3)
    worded = _word(floor, "FREE SHIPPING", FONTS[0], 0.06, (0.05, 0.05), (255, 255, 255), 255, 0)
    zone = np.zeros((1, 1), bool)
    plain = text_mod.find_text(np.asarray(floor), zone, th)
    found = text_mod.find_text(np.asarray(worded), zone, th)
    assert found.evidence > plain.evidence and found.n_words >= 1


def overlays_thresholds() -> dict:
    from analyzer.config import check_thresholds

    return check_thresholds("overlays")


def test_inside_margin_only_for_words_wholly_on_the_product():
    """Print never leaves the product: a word partly on the backdrop needs the backdrop margin."""
    from analyzer.quality.overlays import text as text_mod

    th = overlays_thresholds()
    m_out, m_in = float(th["verify_margin"]), float(th["verify_margin_inside"])
    need = text_mod.required_margin(np.array([1.0, 0.97, 0.9, 0.6, 0.0]), th)
    assert need.tolist() == [m_in, m_in, m_out, m_out, m_out]


def test_verifier_margin_equals_a_plain_walk_of_each_tree():
    """The trees are walked all at once; the margin must be the plain per-word, per-tree sum."""
    import json

    from analyzer.quality.overlays import text as text_mod
    from tests.tree_helpers import plain_walk, rows_near_splits

    d = json.loads(text_mod.VERIFIER.read_text())
    X = rows_near_splits(d, 40, np.random.default_rng(0))
    feats = [dict(zip(d["features"], (float(v) for v in row), strict=True)) for row in X]
    ref = [plain_walk(d, list(row)) for row in X]
    assert np.allclose(text_mod.verifier_margin(feats), ref, rtol=0, atol=1e-9)
    assert np.std(ref) > 0.1  # the drawn words reach different leaves


def test_a_set_title_makes_every_piece_on_the_backdrop_product_for_the_text_zone():
    """A kit's small piece (a strap with its label) lies outside the product zone, so print on it
    is judged as a word "outside the product"; with a title that names a set, the clutter check
    counts that piece as the product's, and so does the overlays' product zone."""
    im = Image.new("RGB", (1000, 1000), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.ellipse([120, 80, 720, 680], fill=(40, 150, 90))      # the ball: the largest part
    d.rectangle([160, 790, 380, 870], fill=(40, 80, 160))   # the strap: a small piece
    base = _ctx(im)
    kit = _ctx(im)
    kit.title = "Yoga starter kit"
    mat = _ctx(im)
    mat.title = "Yoga mat"  # names no set: as without a title
    th = base.thresholds("overlays")
    zones = [overlays.text_zone(c, th) for c in (base, kit, mat)]
    s = zones[0][3]
    strap = (round(830 * s), round(255 * s))  # (row, col) of the strap at the working size
    ball = (round(380 * s), round(420 * s))
    assert zones[0][0][ball] and zones[1][0][ball]
    assert not zones[0][0][strap] and zones[1][0][strap] and not zones[2][0][strap]


def test_the_flag_says_where_the_text_lies():
    """The finder searches the whole frame: a word laid over the product is not "outside the
    product" (the flag said so for every word before)."""
    from analyzer.quality.overlays import text as text_mod
    from analyzer.quality.overlays import where_text

    th = overlays_thresholds()
    im = Image.new("RGB", (800, 800), (255, 255, 255))
    ImageDraw.Draw(im).rectangle((150, 150, 650, 650), fill=(70, 90, 120))
    zone = np.zeros((800, 800), bool)
    zone[140:661, 140:661] = True
    over = _text(im.crop((150, 150, 650, 650)), "SALE 50%", "tl", 0.12, (255, 230, 0))
    on_product = im.copy()
    on_product.paste(over, (150, 150))
    beside = _text(im, "SALE 50%", "tl", 0.06, (220, 20, 30))
    for photo, where in ((on_product, "laid over the product"), (beside, "beside the product")):
        found = text_mod.find_text(np.asarray(photo), zone, th)
        assert found.n_words >= 1, where
        assert where_text(found) == where
    mixed = text_mod.TextFinding(0.01, 3, 12, [], np.zeros((1, 1), np.float32), 1.0, 1)
    assert where_text(mixed) == "over and beside the product"


def test_a_badge_alone_is_not_called_zero_characters():
    from analyzer.quality.overlays import flags
    from analyzer.quality.overlays.border import BorderFinding
    from analyzer.quality.overlays.text import TextFinding

    th = overlays_thresholds()
    ctx = _ctx(Image.new("RGB", (600, 600), (255, 255, 255)))
    badge = TextFinding(0.02, 1, 0, [(0, 0, 60, 60)], np.zeros((1, 1), np.float32), -3.0)
    none = BorderFinding(0, 0.0, (0, 0, 0), False)
    msg = next(f.message for f in flags(ctx, badge, none, th) if f.code == "TEXT_OR_WATERMARK")
    assert "0 characters" not in msg and "1 text/logo area(s) (2.0% of the image)" in msg


def _product_shot(w: int = 800, h: int = 800) -> Image.Image:
    """A photographed (shaded, soft, noisy) dark garment-like shape on a white backdrop."""
    im = Image.new("RGB", (w, h), (255, 255, 255))
    ImageDraw.Draw(im).rounded_rectangle([w // 4, h // 6, 3 * w // 4, 5 * h // 6], radius=60,
                                         fill=(40, 45, 60))
    return _photographed(im)


def _plate(im: Image.Image, lines: list[str], box: tuple[int, int, int, int], fill,
           angle: float = 0.0) -> Image.Image:
    """Text on a filled rectangle pasted on the photo: a price tag or a banner strip."""
    x0, y0, x1, y1 = box
    tile = Image.new("RGBA", (x1 - x0, y1 - y0), (*fill, 255))
    d = ImageDraw.Draw(tile)
    font = _font(max(10, round((y1 - y0) / (1.6 * len(lines)))))
    for i, t in enumerate(lines):
        b = d.textbbox((0, 0), t, font=font)
        d.text(((tile.width - (b[2] - b[0])) // 2 - b[0],
                (i + 0.5) * tile.height / len(lines) - (b[3] - b[1]) / 2 - b[1]), t,
               font=font, fill=(255, 255, 255, 255))
    if angle:
        tile = tile.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
    out = im.convert("RGBA")
    out.alpha_composite(tile, (x0, y0))
    return out.convert("RGB")


@pytest.mark.parametrize("lines, box, fill, angle", [
    (["Free returns"], (0, 560, 800, 640), (200, 20, 30), 0.0),       # a strip across the frame
    (["Handmade"], (150, 600, 650, 660), (20, 40, 160), 0.0),          # a strip over the product
    (["Nuevo", "from 12"], (480, 120, 700, 300), (20, 120, 60), 15.0),  # a tilted price tag
])
def test_price_tags_and_banners_are_overlays(lines, box, fill, angle):
    """Text on a filled rectangle (not round, so no sticker) is still a pasted plate: found
    wherever it sits, over the product or across the whole frame."""
    res = overlays.check(_ctx(_plate(_product_shot(), lines, box, fill, angle)))
    assert res.metrics["n_badges"] >= 1
    assert "TEXT_OR_WATERMARK" in _codes(res)


def test_flat_rectangles_without_letters_are_not_plates():
    """A flat coloured strip or card with nothing written on it is no tag (a product's panel,
    a pocket flap): only glyph-sized marks inside make a plate."""
    im = _product_shot()
    d = ImageDraw.Draw(im)
    d.rectangle([0, 620, 800, 680], fill=(200, 20, 30))
    d.rectangle([520, 120, 700, 260], fill=(20, 120, 60))
    res = overlays.check(_ctx(im))
    assert res.metrics["n_badges"] == 0


def test_the_flag_says_whether_a_tag_lies_over_the_product_or_beside_it():
    shot = _product_shot()
    over = overlays.check(_ctx(_plate(shot, ["Handmade"], (150, 600, 650, 660), (20, 40, 160))))
    beside = overlays.check(_ctx(_plate(shot, ["ECO", "19.99"], (630, 30, 780, 170),
                                        (20, 120, 60))))
    msg = {k: next(f.message for f in r.flags if f.code == "TEXT_OR_WATERMARK")
           for k, r in (("over", over), ("beside", beside))}
    assert "laid over the product" in msg["over"] or "over and beside" in msg["over"]
    assert "beside the product" in msg["beside"] and "over" not in msg["beside"].split(";")[0]


def _studio_shot(w: int = 800, h: int = 800) -> Image.Image:
    """:func:`_product_shot`'s garment on a clean white studio backdrop (blown out to 255, as a
    lit sweep is: the plain backdrop the banner's edges must cross)."""
    shot = np.asarray(_product_shot(w, h)).copy()
    m = Image.new("L", (w, h), 0)
    ImageDraw.Draw(m).rounded_rectangle([w // 4, h // 6, 3 * w // 4, 5 * h // 6], radius=60,
                                        fill=255)
    shot[np.asarray(m) == 0] = 255
    return Image.fromarray(shot)


def _see_through_strip(im: Image.Image, txt: str, y0: int, y1: int, fill, alpha: int,
                       x0: int = 0, x1: int | None = None) -> Image.Image:
    """A semi-transparent banner strip with a word on it, across the product and backdrop."""
    x1 = im.width if x1 is None else x1
    tile = Image.new("RGBA", (x1 - x0, y1 - y0), (*fill, alpha))
    d = ImageDraw.Draw(tile)
    font = _font(max(10, round((y1 - y0) / 1.8)))
    b = d.textbbox((0, 0), txt, font=font)
    d.text(((tile.width - (b[2] - b[0])) // 2 - b[0], (tile.height - (b[3] - b[1])) // 2 - b[1]),
           txt, font=font, fill=(255, 255, 255, 255))
    out = im.convert("RGBA")
    out.alpha_composite(tile, (x0, y0))
    return out.convert("RGB")


@pytest.mark.parametrize("alpha", [140, 200])
def test_see_through_banner_across_product_and_backdrop_is_found(alpha):
    """A 55-80% opaque strip is no flat plate (the product shows through and splits it), but its
    straight top and bottom edges run on across the product's outline: a banner."""
    from analyzer.quality.overlays.badges import colour_edges
    from analyzer.quality.overlays.banners import find_banners

    im = _see_through_strip(_studio_shot(), "Handmade", 600, 660, (200, 20, 30), alpha,
                            x0=100, x1=700)
    ctx = _ctx(im)
    th = ctx.thresholds("overlays")
    zone, plain, lab, _ = overlays.text_zone(ctx, th)
    found = find_banners(lab, colour_edges(lab, th), plain, zone, th)
    assert len(found) == 1
    res = overlays.check(ctx)
    assert "TEXT_OR_WATERMARK" in _codes(res)


def test_stripes_and_empty_strips_are_not_banners():
    """Straight horizontal edges are no banner by themselves: a striped garment's stripes stop at
    its outline, and a strip across the photo with nothing written on it holds no letters."""
    from analyzer.quality.overlays.badges import colour_edges
    from analyzer.quality.overlays.banners import find_banners

    im = Image.new("RGB", (800, 800), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.rectangle([200, 130, 600, 670], fill=(40, 45, 60))
    for y in range(170, 640, 70):  # stripes with a printed word between two of them
        d.rectangle([200, y, 600, y + 25], fill=(220, 220, 230))
    d.text((330, 330), "SPORT", font=_font(28), fill=(220, 220, 230))
    striped = np.asarray(_photographed(im)).copy()
    striped[np.asarray(im).min(axis=2) == 255] = 255  # the lit backdrop stays plain
    striped = Image.fromarray(striped)
    empty = _see_through_strip(_studio_shot(), "", 600, 660, (200, 20, 30), 160)
    for shot in (striped, empty):
        ctx = _ctx(shot)
        th = ctx.thresholds("overlays")
        zone, plain, lab, _ = overlays.text_zone(ctx, th)
        assert find_banners(lab, colour_edges(lab, th), plain, zone, th) == []


def test_step_over_is_the_scaled_channel_maximum():
    """The edge test as one inRange: the same pixels as max(L* x 2.55, a*, b*) >= t, also on
    steps exactly at the threshold."""
    from analyzer.quality.overlays.badges import step_over

    rng = np.random.default_rng(0)
    step = np.abs(rng.normal(0, 15, (64, 80, 3))).astype(np.float32)
    step[0, :3] = [[25 / 2.55, 0, 0], [0, 25, 0], [0, 0, np.nextafter(np.float32(25), 0)]]
    ref = (np.maximum(step[..., 0] * 2.55, np.maximum(step[..., 1], step[..., 2])) >= 25)
    got = step_over(step, 25.0)
    assert got.dtype == np.uint8 and set(np.unique(got)) <= {0, 1}
    assert np.array_equal(got.astype(bool), ref)


def test_a_banded_scene_is_not_searched_for_banners():
    """Past ``banner_max_lines`` long lines (blinds, a coiled strap) the pairing stops: a strip is
    not told from the scene's own lines there, and pairing them all would cost tens of ms."""
    from analyzer.quality.overlays.badges import colour_edges
    from analyzer.quality.overlays.banners import find_banners, horizontal_lines

    ctx = _ctx(_see_through_strip(_studio_shot(), "Handmade", 600, 660, (200, 20, 30), 160,
                                  x0=100, x1=700))
    th = dict(ctx.thresholds("overlays"))
    zone, plain, lab, _ = overlays.text_zone(ctx, th)
    edges = colour_edges(lab, th)
    assert len(find_banners(lab, edges, plain, zone, th)) == 1
    th["banner_max_lines"] = len(horizontal_lines(lab, th)) - 1
    assert find_banners(lab, edges, plain, zone, th) == []


def _drawn_bottle() -> Image.Image:
    """A bottle drawn in flat fills with an outline, on white: an illustration."""
    im = Image.new("RGB", (900, 900), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((330, 250, 570, 800), 40, fill=(60, 140, 90), outline=(30, 30, 30),
                        width=4)
    d.rectangle((400, 120, 500, 260), fill=(200, 200, 80), outline=(30, 30, 30), width=4)
    d.rectangle((360, 420, 540, 600), fill=(235, 225, 200), outline=(30, 30, 30), width=3)
    return im


def test_a_drawing_or_a_placeholder_is_not_a_photo_but_the_same_scene_photographed_is():
    """Amazon's main image is a photo of the actual product, "not a graphic or illustration"
    (a third new user's drawn bottle was graded A 99.75 and a grey "no image" placeholder A 92-97).
    A drawing's fills are flat; a camera's grain leaves no neighbourhood of one exact colour."""
    drawn = overlays.check(_ctx(_drawn_bottle()))
    assert drawn.metrics["flat_share"] >= 0.5
    f = next(f for f in drawn.flags if f.code == "NOT_A_PHOTO")
    assert f.severity == "error" and "not a graphic or illustration" in f.message
    assert drawn.score <= 30
    placeholder = Image.new("RGB", (800, 800), (226, 226, 226))
    d = ImageDraw.Draw(placeholder)
    d.polygon([(250, 520), (360, 380), (450, 480), (520, 420), (560, 520)], fill=(246, 246, 246))
    d.ellipse((470, 300, 520, 350), fill=(246, 246, 246))
    assert "NOT_A_PHOTO" in _codes(overlays.check(_ctx(placeholder)))
    etsy = overlays.check(_ctx(_drawn_bottle(), "etsy"))
    assert next(f for f in etsy.flags if f.code == "NOT_A_PHOTO").severity == "warning"
    photo = overlays.check(_ctx(_photographed(_drawn_bottle())))
    assert photo.metrics["flat_share"] < 0.05
    assert "NOT_A_PHOTO" not in _codes(photo)


def test_a_heavily_compressed_photo_is_not_a_drawing(studio_photo):
    """JPEG quality 10 leaves flat 8 x 8 blocks on a photo's smooth parts: the 9 px window spans
    two blocks, and the area-averaged working copy blends them, so it is not called a drawing
    (it is COMPRESSED's to name)."""
    buf = io.BytesIO()
    Image.open(studio_photo).convert("RGB").save(buf, format="JPEG", quality=10)
    ctx = ImageContext(load_image(buf.getvalue(), name="q10.jpg"), marketplace("amazon"),
                       use_model=False)
    res = overlays.check(ctx)
    assert res.metrics["flat_share"] < 0.2
    assert "NOT_A_PHOTO" not in _codes(res)
