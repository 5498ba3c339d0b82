"""Words on small photos (a store's 198 px icons, thumbnails under 300 px): searched on an enlarged
copy and read by a verifier fitted on such copies (text.VERIFIER_SMALL, its own margins)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from analyzer.config import check_thresholds
from analyzer.quality import overlays
from analyzer.quality.overlays import text as text_mod
from tests.test_quality_overlays import _ctx  # a photo through the loader as JPEG 92

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def _icon(side: int = 198, seed: int = 0) -> Image.Image:
    """A small studio icon: a shaded round fruit-like product on white, a camera's faint grain."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side].astype(np.float32)
    c, r = side / 2, side * 0.36
    d = np.hypot(yy - c, xx - c)
    shade = np.clip(1.0 - 0.35 * (xx + yy - side) / side, 0.6, 1.2)
    img = np.full((side, side, 3), 255.0, np.float32)
    body = d < r
    img[body] = np.array([230.0, 120.0, 30.0]) * shade[body][:, None]
    img += rng.normal(0, 1.5, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def test_a_small_photo_is_searched_on_a_copy_enlarged_by_a_whole_factor():
    th = check_thresholds("overlays")
    for (h, w), f in (((198, 150), 3.0), ((250, 200), 2.0), ((120, 100), 5.0)):
        rgb = np.zeros((h, w, 3), np.uint8)
        s, g, lab = text_mod.work_copies(rgb, th)
        assert text_mod.is_small(rgb.shape, th)
        assert s == f and g.shape == (h * int(f), w * int(f)) and lab.shape[:2] == g.shape
    big = np.zeros((300, 240, 3), np.uint8)  # at the line: searched as it is
    s, g, _ = text_mod.work_copies(big, th)
    assert not text_mod.is_small(big.shape, th) and s == 1.0 and g.shape == (300, 240)


def test_small_photos_take_their_own_verifier_and_margins():
    th = check_thresholds("overlays")
    d = json.loads(text_mod.VERIFIER_SMALL.read_text())
    assert tuple(d["features"]) == text_mod.FEATURES and len(d["trees"]) >= 10
    small = text_mod.small_thresholds(th)
    assert small["verify_margin"] == th["small_verify_margin"]
    assert small["verify_margin_inside"] == th["small_verify_margin_inside"]
    assert small["verify_margin_edge"] == th["small_verify_margin"]  # no corner rule at 200 px
    assert th["verify_margin"] == check_thresholds("overlays")["verify_margin"]  # not changed


SMALL_FACES = ["/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf", FONT]


def _outlined(im: Image.Image, txt: str, face: str, size: int, angle: float) -> Image.Image:
    """A dark word with a white outline (a common sticker style), turned by ``angle``."""
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((15, 40), txt, font=ImageFont.truetype(face, size),
                               fill=(20, 20, 20, 255), stroke_width=1,
                               stroke_fill=(255, 255, 255, 255))
    if angle:
        layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC)
    return Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")


def test_words_on_a_198_px_icon_are_found():
    """Outlined words 11-15 px tall across a 198 px icon (over the product and the backdrop):
    at native size the 3 x 3 gradient fills the 1 px gaps between their letters and a word is
    one blob; on the enlarged copy the glyphs come apart and the small verifier reads them (the
    code before the enlarged search found 2 of these 24, this one 10)."""
    faces = [f for f in SMALL_FACES if Path(f).is_file()]
    if len(faces) < 2:
        pytest.skip("DejaVu fonts not installed")
    found = [("TEXT_OR_WATERMARK" in {f.code for f in overlays.check(
        _ctx(_outlined(_icon(), txt, face, size, angle))).flags})
        for face in faces for txt in ("Premium Quality", "NEW ARRIVAL")
        for size in (11, 13, 15) for angle in (0.0, 20.0)]
    assert sum(found) >= 7, f"{sum(found)} of {len(found)} found"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_clean_or_grainy_198_px_icon_has_no_words(seed):
    """The product alone, and the same with a camera's grain (sd 8 levels): the grain's specks,
    enlarged 3x, are letter-sized blobs, which the small verifier was fitted to refuse."""
    clean = _icon(seed=seed)
    grain = np.asarray(clean).astype(np.float32)
    grain += np.random.default_rng(seed).normal(0, 8, grain.shape)
    grainy = Image.fromarray(np.clip(grain, 0, 255).astype(np.uint8))
    for im in (clean, grainy):
        res = overlays.check(_ctx(im))
        assert "TEXT_OR_WATERMARK" not in {f.code for f in res.flags}


def _finding(boxes: list[tuple[int, int, int, int]], evidence: float, glyphs: list[int],
             on: list[bool]) -> text_mod._Search:
    tmap = np.zeros((100, 100), np.float32)
    for x0, y0, x1, y1 in boxes:
        tmap[y0:y1, x0:x1] = 1.0
    return text_mod._Search(text_mod.TextFinding(float(tmap.mean()), len(boxes), sum(glyphs),
                                                 boxes, tmap, evidence, sum(on)), glyphs, on)


def test_the_two_searches_of_a_small_photo_count_each_word_once():
    """A word both searches found is counted once (the enlarged search's box); a word only the
    search as it is found (a sticker's letters) still counts; the evidence below the flag is the
    enlarged search's when the search as it is found nothing."""
    native = _finding([(10, 10, 40, 20), (60, 70, 90, 80)], 0.5, [4, 3], [False, True])
    big = _finding([(8, 8, 42, 22)], 1.2, [5], [False])
    m = text_mod._merged(native, big)
    assert m.boxes == [(8, 8, 42, 22), (60, 70, 90, 80)]
    assert (m.n_words, m.n_chars, m.n_on_product, m.evidence) == (2, 8, 1, 1.2)
    assert m.text_area == pytest.approx((34 * 14 + 30 * 10) / 1e4)
    quiet = _finding([], -2.0, [], [])
    assert text_mod._merged(quiet, big) is big.finding
    assert text_mod._merged(quiet, _finding([], -4.0, [], [])).evidence == -4.0
