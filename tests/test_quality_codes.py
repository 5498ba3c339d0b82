"""QR code and barcode stickers pasted on a photo are found (overlays/codes.py); print is not."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from analyzer.config import check_thresholds, marketplace
from analyzer.io.loader import load_image
from analyzer.quality import clutter, overlays
from analyzer.quality.context import ImageContext
from analyzer.quality.overlays.codes import code_features, is_code

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def _ctx(im: Image.Image, use_model: bool = False) -> ImageContext:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=92)
    return ImageContext(load_image(buf.getvalue(), name="t.jpg"), marketplace("amazon"),
                        use_model=use_model)


def _qr(n: int = 25, seed: int = 0) -> np.ndarray:
    """A QR-like symbol (True = dark): random modules and the three finder squares."""
    rng = np.random.default_rng(seed)
    m = rng.random((n, n)) < 0.5
    f = np.zeros((7, 7), bool)
    f[[0, -1], :] = f[:, [0, -1]] = True
    f[2:5, 2:5] = True
    for y, x in ((0, 0), (0, n - 7), (n - 7, 0)):
        m[y:y + 7, x:x + 7] = f
    return m


def _barcode(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.repeat(rng.random(48) < 0.5, rng.integers(1, 4, 48))


def _symbol(mod: np.ndarray, px: int, quiet: int = 2) -> Image.Image:
    """Dark modules on white paper, ``px`` pixels a module, a quiet zone of ``quiet`` modules
    (a 1-D ``mod`` is a barcode, its bars 0.6 of its length tall)."""
    if mod.ndim == 1:
        mod = np.repeat(mod[None, :], max(1, round(0.6 * len(mod))), axis=0)
    big = np.kron(mod, np.ones((px, px), bool))
    a = np.full((big.shape[0] + 2 * quiet * px, big.shape[1] + 2 * quiet * px), 255, np.uint8)
    a[quiet * px:quiet * px + big.shape[0], quiet * px:quiet * px + big.shape[1]][big] = 0
    return Image.fromarray(a).convert("RGB")


def _paste(im: Image.Image, sym: Image.Image, where: str) -> Image.Image:
    out = im.convert("RGB").copy()
    m = min(im.size) // 30
    x = m if "l" in where else im.width - sym.width - m
    y = m if "t" in where else im.height - sym.height - m
    out.paste(sym, (x, y))
    return out


@pytest.fixture(scope="module")
def studio(studio_photo: Path) -> Image.Image:
    return Image.open(studio_photo).convert("RGB")


def test_clean_studio_photo_has_no_code(studio):
    res = overlays.check(_ctx(studio))
    assert res.metrics["n_codes"] == 0


@pytest.mark.parametrize("kind,where", [("qr", "tr"), ("qr", "bl"), ("barcode", "br")])
def test_code_sticker_in_a_corner_is_flagged(studio, kind, where):
    side = min(studio.size) // 8  # an eighth of the short side, a new user's shop QR
    sym = _symbol(_qr(), max(2, side // 29)) if kind == "qr" else \
        _symbol(_barcode(), max(1, side // 110))
    res = overlays.check(_ctx(_paste(studio, sym, where)))
    assert res.metrics["n_codes"] >= 1
    flag = next(f for f in res.flags if f.code == "TEXT_OR_WATERMARK")
    assert "QR code or barcode" in flag.message
    # the sticker is the overlays check's to report, not a prop beside the product
    assert "CLUTTERED_BACKGROUND" not in {f.code for f in
                                          clutter.check(_ctx(_paste(studio, sym, where))).flags}


def test_turned_qr_on_the_backdrop_is_flagged(studio):
    # above the product, in the middle of the top edge: no corner, the backdrop
    sym = _symbol(_qr(29, seed=3), 4).rotate(17, expand=True, fillcolor=(255, 255, 255))
    out = studio.copy()
    out.paste(sym, ((studio.width - sym.width) // 2, studio.height // 25))
    assert overlays.check(_ctx(out, use_model=True)).metrics["n_codes"] >= 1


def test_barcode_printed_on_a_package_is_the_products_own():
    # a box on white with its barcode in the middle of its face: print, not a sticker
    im = Image.new("RGB", (1000, 1000), "white")
    d = ImageDraw.Draw(im)
    d.rectangle([250, 200, 750, 800], fill=(200, 60, 40))
    d.rectangle([380, 420, 620, 580], fill=(255, 255, 255))
    sym = _symbol(_barcode(2), 2)
    im.paste(sym, (500 - sym.width // 2, 500 - sym.height // 2))
    assert overlays.check(_ctx(im)).metrics["n_codes"] == 0


def _crop(draw) -> np.ndarray:  # type: ignore[no-untyped-def]
    im = Image.new("L", (160, 160), 255)
    draw(ImageDraw.Draw(im))
    return np.asarray(im)


def test_stage_two_tells_a_code_from_words_and_a_photo():
    th = check_thresholds("overlays")
    qr = np.asarray(_symbol(_qr(25), 5).convert("L"))
    bars = np.asarray(_symbol(_barcode(1), 2).convert("L"))
    font = ImageFont.truetype(FONT, 22) if Path(FONT).is_file() else ImageFont.load_default()
    words = _crop(lambda d: [d.text((5, 10 + 30 * i), "FREE SHIP", font=font, fill=0)
                             for i in range(5)])
    rng = np.random.default_rng(0)
    grain = np.clip(rng.normal(128, 30, (160, 160)), 0, 255).astype(np.uint8)
    assert is_code(code_features(qr), th)
    assert is_code(code_features(bars), th)
    assert not is_code(code_features(words), th)
    assert not is_code(code_features(grain), th)
