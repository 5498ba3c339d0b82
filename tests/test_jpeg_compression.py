"""JPEG compression: the file's table quality, an earlier save read from the 8 x 8 grid, and the
COMPRESSED flag of the sharpness check (analyzer/io/jpeg.py)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from analyzer.engine import analyze
from analyzer.io import jpeg
from analyzer.io.loader import load_image


def _photo(seed: int = 0, size: tuple[int, int] = (640, 480), contrast: float = 60.0
           ) -> np.ndarray:
    """A textured product on white: smooth random texture (every low DCT frequency present)
    inside an ellipse, as a studio shot's product is; ``contrast``: the texture's grey sd."""
    rng = np.random.default_rng(seed)
    w, h = size
    tex = cv2.GaussianBlur(rng.normal(0, 1, (h, w, 3)).astype(np.float32), (0, 0), 2.5)
    tex = 128 + contrast * tex / tex.std()
    img = np.full((h, w, 3), 255, np.float32)
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (w // 3, h // 3), 0, 0, 360, 1, -1)
    img[mask > 0] = tex[mask > 0]
    return np.clip(img, 0, 255).astype(np.uint8)


def _jpeg(arr: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.mark.parametrize("q", [15, 30, 50, 75, 95])
def test_table_quality_inverts_the_ijg_scaling(q):
    im = Image.open(io.BytesIO(_jpeg(_photo(), q)))
    assert jpeg.table_quality(im.quantization) == pytest.approx(q, abs=1)


def test_table_quality_without_tables_is_unknown():
    assert jpeg.table_quality(None) is None and jpeg.table_quality({}) is None


@pytest.mark.parametrize("q", [20, 35])
def test_an_earlier_low_quality_save_survives_a_high_quality_re_save(q):
    resaved = _jpeg(_decoded(_jpeg(_photo(1), q)), 95)
    assert jpeg.table_quality(Image.open(io.BytesIO(resaved)).quantization) > 90
    hist = jpeg.history_quality(_decoded(resaved))
    assert hist is not None and abs(hist - q) <= 8


def test_a_good_save_reads_as_good_and_no_grid_as_unknown():
    good = jpeg.history_quality(_decoded(_jpeg(_photo(2), 90)))
    assert good is None or good >= 75
    # Resized after the low-quality save (the grid moves): no evidence, never "bad".
    small = cv2.resize(_decoded(_jpeg(_photo(2), 20)), (501, 377), interpolation=cv2.INTER_AREA)
    hist = jpeg.history_quality(_decoded(_jpeg(small, 95)))
    assert hist is None or hist >= 60
    # Never compressed at all.
    assert jpeg.history_quality(_photo(2)) is None


@pytest.mark.parametrize("seed", [0, 1])
def test_a_single_save_at_quality_60_reads_as_60_not_as_a_coarser_earlier_save(seed):
    """A smooth, low-contrast product (a plain knit): at quality 60 most of its coefficients
    land on +-1 step. Under a step of about twice the true one those values sit half-way between
    multiples (phase pi); read as |mean exp| they looked coherent and the photo read as an
    earlier save at 30 (COMPRESSED on a normal web export). Read as mean cos, 60."""
    data = _jpeg(_photo(seed, contrast=6.0), 60)
    hist = jpeg.history_quality(_decoded(data))
    assert hist is not None and abs(hist - 60) <= 5
    r = analyze(data, name="export.jpg", use_model=False)
    assert r.ok and "COMPRESSED" not in {f.code for f in r.flags}
    assert r.metrics["sharpness.jpeg_quality"] >= 50


def test_a_large_jpeg_decoded_at_reduced_scale_reads_its_earlier_save_on_its_luminance():
    """Over twice the working size a JPEG is decoded at a reduced scale (libjpeg's DCT scaling),
    which leaves no grid; the earlier save is read on the full-size luminance decode instead."""
    resaved = _jpeg(_decoded(_jpeg(_photo(5, size=(2400, 1800)), 25)), 95)
    img = load_image(resaved, name="big.jpg")
    assert max(img.rgb.shape[:2]) <= 1024 and img.width == 2400  # decoded at reduced scale
    assert img.jpeg_quality == pytest.approx(95, abs=1)
    assert img.jpeg_history_quality is not None and abs(img.jpeg_history_quality - 25) <= 8
    r = analyze(resaved, name="big.jpg", use_model=False)
    assert "COMPRESSED" in {f.code for f in r.flags}
    good = load_image(_jpeg(_photo(5, size=(2400, 1800)), 92), name="good.jpg")
    assert good.jpeg_history_quality is None or good.jpeg_history_quality >= 75


def test_loader_reads_both_and_png_has_neither():
    resaved = _jpeg(_decoded(_jpeg(_photo(3), 25)), 95)
    img = load_image(resaved, name="resaved.jpg")
    assert img.jpeg_quality == pytest.approx(95, abs=1)
    assert img.jpeg_history_quality is not None and img.jpeg_history_quality < 40
    buf = io.BytesIO()
    Image.fromarray(_photo(3)).save(buf, "PNG")
    png = load_image(buf.getvalue(), name="p.png")
    assert png.jpeg_quality is None and png.jpeg_history_quality is None


def test_compressed_flag_on_a_re_saved_low_quality_photo_only():
    bad = analyze(_jpeg(_decoded(_jpeg(_photo(4), 25)), 95), name="bad.jpg")
    good = analyze(_jpeg(_photo(4), 92), name="good.jpg")
    sb, sg = bad.checks["sharpness"], good.checks["sharpness"]
    flag = next(f for f in bad.flags if f.code == "COMPRESSED")
    assert "re-saved at quality 95" in flag.message
    assert sb.metrics["jpeg_quality"] < 40 and sb.score < 50
    assert not any(f.code == "COMPRESSED" for f in good.flags)
    assert sg.metrics["jpeg_quality"] >= 75 and sg.score > sb.score


def test_compressed_is_an_error_that_suppresses_on_amazon_only():
    """JPEG blocks are the "pixelation" of Amazon's image-issues page: an error there (the grade
    is capped, the listing counted as suppressed); other marketplaces keep the warning."""
    from analyzer.config import marketplace

    data = _jpeg(_decoded(_jpeg(_photo(4), 25)), 95)
    on_amazon = analyze(data, name="bad.jpg", marketplace="amazon")
    on_etsy = analyze(data, name="bad.jpg", marketplace="etsy")
    assert next(f for f in on_amazon.flags if f.code == "COMPRESSED").severity == "error"
    assert next(f for f in on_etsy.flags if f.code == "COMPRESSED").severity == "warning"
    assert on_amazon.grade not in ("A", "B")
    assert "COMPRESSED" in marketplace("amazon").value("search_suppression")
    assert "COMPRESSED" not in marketplace("etsy").value("search_suppression", [])


def _mesh_on_white(seed: int, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A faint grey texture crossed by a grid of pure white lines (a mesh or a lattice on a
    white backdrop): most blocks hold a white line, which the decoder clips at 255, and those
    blocks hold the largest coefficients."""
    rng = np.random.default_rng(seed)
    w, h = size
    tex = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 2.5)
    prod = 100 + 12 * tex / tex.std()
    yy, xx = np.mgrid[:h, :w]
    prod[((xx % 20) < 3) | ((yy % 20) < 3)] = 255
    img = np.full((h, w), 255, np.float32)
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (w // 3, h // 3), 0, 0, 360, 1, -1)
    img[mask > 0] = prod[mask > 0]
    return np.repeat(np.clip(img, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


@pytest.mark.parametrize("q", [20, 40])
def test_blocks_clipped_at_white_are_left_out_when_they_hide_the_steps(q):
    decoded = _decoded(_jpeg(_decoded(_jpeg(_mesh_on_white(1), q)), 95))
    blocks = jpeg.grid_blocks(decoded)
    clipped = jpeg.clipped_blocks(blocks)
    assert 0.2 < clipped.mean() < 1.0
    coefs = jpeg.grid_coefficients(blocks)
    # read on every block, the clipped ones drown the lattice: no answer ...
    assert jpeg.steps_quality(coefs, 0.6, 24, 0.25) is None
    # ... read on the others, the earlier save's quality
    hist = jpeg.history_quality(decoded)
    assert hist is not None and abs(hist - q) <= 8
