"""Family generators of scripts/quality_families.py: ``banner`` (the photo padded with its own
border colour to a banner 2.8-4:1, wide or tall, its pixels unchanged), ``thin_frame`` (a 1-4 px
stroke of one colour around the photo), ``drawing`` (the photo in a few flat colours),
``focus_falloff``, ``blur_cutout`` (a blurred photo cut out onto white), ``feathered`` (a sharp
photo cut out onto white with a feathered edge), ``blur_feathered``, ``glare`` (a hotspot
blown to white on the product), ``denoise`` (a phone's night mode), ``sticker`` (an emoji
over the product), ``emoji`` (a phone's shaded emoji, its second recipe) and ``halo`` (a sloppy
background removal: a band of the floor left around the product), ``cast`` (white balance far
off under a bulb or in shade) and ``blur_sharpened`` (a blurred photo sharpened)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import quality_families as qf  # noqa: E402

from analyzer.vision.mask import model_available  # noqa: E402


def test_banner_pads_the_photo_with_its_border_colour_to_a_long_strip() -> None:
    rng_np = np.random.default_rng(0)
    a = np.full((300, 240, 3), (200, 190, 180), np.uint8)
    a[60:240, 50:190] = rng_np.integers(0, 255, (180, 140, 3))  # the "product"
    im = Image.fromarray(a)
    shapes = set()
    for seed in range(30):
        out = np.asarray(qf.banner(im, random.Random(seed)))
        h, w = out.shape[:2]
        ratio = max(w, h) / min(w, h)
        assert 2.7 <= ratio <= 4.05, f"seed {seed}: {w} x {h}"
        shapes.add("wide" if w > h else "tall")
        # the photo is in it unchanged, once, and the rest is the border's colour
        ys, xs = np.nonzero((out != (200, 190, 180)).any(axis=2))
        y0, x0 = ys.min() - 60, xs.min() - 50
        assert (out[y0:y0 + 300, x0:x0 + 240] == a).all(), f"seed {seed}"
        assert (min(h, w) == 300) if w > h else (min(h, w) == 240)
    assert shapes == {"wide", "tall"}
    assert (np.asarray(qf.banner(im, random.Random(3)))
            == np.asarray(qf.banner(im, random.Random(3)))).all()
    assert "banner" in qf.GENERATORS


def test_thin_frame_strokes_every_side_with_one_colour_1_to_4_px_deep() -> None:
    im = Image.new("RGB", (200, 160), (255, 255, 255))
    widths = set()
    for seed in range(30):
        out = np.asarray(qf.thin_frame(im, random.Random(seed))).astype(int)
        h, w = out.shape[:2]
        pad = (w - 200) // 2
        assert (w, h) in ((200, 160), (200 + 2 * pad, 160 + 2 * pad)) and pad <= 4
        colour = out[0, 0]
        assert (colour != 255).any(), f"seed {seed}: a white stroke is no frame"
        depth = next(k for k in range(6) if (out[k, w // 2] != colour).any())
        widths.add(depth)
        # the same colour all round, the photo inside it
        for side in (out[:depth], out[-depth:], out[:, :depth], out[:, -depth:]):
            assert (side == colour).all(), f"seed {seed}"
        assert (out[depth:h - depth, depth:w - depth] == 255).all()
    assert widths <= {1, 2, 3, 4} and len(widths) >= 3


def test_drawing_redraws_a_noisy_photo_in_a_few_flat_colours() -> None:
    rng_np = np.random.default_rng(1)
    yy, xx = np.mgrid[:240, :200]
    a = np.stack([xx, yy, xx + yy], -1) / 2 + rng_np.normal(0, 6, (240, 200, 3))  # grain
    im = Image.fromarray(np.clip(a + 40, 0, 255).astype(np.uint8))
    for seed in range(6):
        out = np.asarray(qf.drawing(im, random.Random(seed)))
        assert out.shape == (240, 200, 3)
        colours = np.unique(out.reshape(-1, 3), axis=0)
        assert len(colours) <= 12, f"seed {seed}: {len(colours)} colours"  # fills + an outline
        # flat: most pixels equal their right-hand neighbour (the grain made none equal)
        assert (out[:, 1:] == out[:, :-1]).all(axis=2).mean() > 0.8
    assert (np.asarray(qf.drawing(im, random.Random(2)))
            == np.asarray(qf.drawing(im, random.Random(2)))).all()


def test_rotated_fill_turns_the_photo_and_fills_its_corners() -> None:
    """``rotated_fill``: turned 1.5-15 degrees in its own canvas, the uncovered corners of one
    colour (black 6 times in 10); the corner finder reads the turn's angle back."""
    from analyzer.config import check_thresholds
    from analyzer.quality.overlays.corners import find_corner_fill
    from analyzer.vision.backdrop import lab_of

    a = np.full((400, 320, 3), 235, np.uint8)
    a[80:320, 70:250] = (40, 90, 170)
    im = Image.fromarray(a)
    th = check_thresholds("overlays")
    fills = []
    for seed in range(12):
        out = qf.rotated_fill(im, random.Random(seed))
        assert out.size == im.size
        corner = np.asarray(out)[0, 0]
        assert not (corner == 235).all(), f"seed {seed}: the corner was not filled"
        fills.append(tuple(int(v) for v in corner))
        found = find_corner_fill(lab_of(np.asarray(out)), th)
        assert found.found and 1.0 <= found.angle_deg <= 15.5, f"seed {seed}"
    assert (0, 0, 0) in fills and len(set(fills)) > 1
    assert "rotated_fill" in qf.GENERATORS


def test_watermark_light_stamps_a_light_grey_or_white_word() -> None:
    """``watermark_light``: a light mark lightens a dark product and greys a white backdrop,
    never darker than grey 170 over white; the same seed, the same copy."""
    a = np.full((400, 400, 3), 255, np.uint8)
    a[100:300, 60:340] = (30, 40, 120)
    im = Image.fromarray(a)
    for seed in range(8):
        out = np.asarray(qf.watermark_light(im, random.Random(seed))).astype(int)
        diff = out - a
        assert (diff != 0).any(), f"seed {seed}: nothing drawn"
        prod = diff[100:300, 60:340]
        assert (prod >= -1).all() and (prod > 0).any(), f"seed {seed}"  # lighter on the product
        assert out.min(axis=2)[a.min(axis=2) == 255].min() >= 255 - 0.35 * 85 - 1
    assert (np.asarray(qf.watermark_light(im, random.Random(3)))
            == np.asarray(qf.watermark_light(im, random.Random(3)))).all()


def test_focus_falloff_keeps_the_near_part_sharp_and_blurs_the_far_side() -> None:
    """``focus_falloff``: sharp up to a line 20-50% of the way across, then a blur growing to
    the far side, in any direction; seeded."""
    rng_np = np.random.default_rng(1)
    a = rng_np.integers(0, 255, (200, 300, 3)).astype(np.uint8)  # texture everywhere
    im = Image.fromarray(a)
    for seed in range(8):
        out = np.asarray(qf.focus_falloff(im, random.Random(seed))).astype(int)
        diff = np.abs(out - a).mean(axis=2)
        # some part of the frame is untouched, some far part strongly blurred
        assert (diff < 1.0).mean() >= 0.15, f"seed {seed}"
        assert np.percentile(diff, 97) > 20, f"seed {seed}"
    assert (np.asarray(qf.focus_falloff(im, random.Random(2)))
            == np.asarray(qf.focus_falloff(im, random.Random(2)))).all()
    assert "focus_falloff" in qf.BLUR_FAMILIES and "focus_falloff" in qf.GENERATORS


def _garment_on_floor() -> tuple[np.ndarray, np.ndarray]:
    """(a printed garment on a grey floor, its oval)."""
    import cv2

    rng_np = np.random.default_rng(2)
    a = np.full((360, 300, 3), 120, np.uint8) + rng_np.integers(0, 20, (360, 300, 3)).astype(
        np.uint8)  # a grey floor
    tex = rng_np.integers(0, 255, (360, 300)).astype(np.uint8)
    oval = np.zeros((360, 300), np.uint8)
    cv2.ellipse(oval, (150, 180), (90, 130), 0, 0, 360, 1, -1)
    a[oval > 0] = np.stack([tex, tex // 2, 255 - tex], axis=2)[oval > 0]  # a printed garment
    return a, oval


def _pasted_on(im: Image.Image, a: np.ndarray, oval: np.ndarray, lo: float, hi: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """(the copy, its changed pixels) of ``a`` with something pasted: ``lo``-``hi`` of the
    frame changed, centred over the product (``oval``)."""
    out = np.asarray(im).astype(int)
    changed = np.abs(out - a).max(axis=2) > 30
    assert lo < changed.mean() < hi
    ys, xs = np.nonzero(changed)
    assert oval[int(ys.mean()), int(xs.mean())]  # over the product
    return out, changed


@pytest.mark.skipif(not model_available(), reason="u2netp (the family's background remover)")
def test_blur_cutout_blurs_the_photo_then_lays_the_product_on_white() -> None:
    """``blur_cutout``: one of the four blurs, then the background removed (u2netp) and the
    product laid on pure white: the floor gone, the product's texture softened; seeded."""
    import cv2

    a, oval = _garment_on_floor()
    im = Image.fromarray(a)
    for seed in range(4):
        out = np.asarray(qf.blur_cutout(im, random.Random(seed))).astype(np.float32)
        assert out[:20, :20].min() >= 250 and out[-20:, -20:].min() >= 250, f"seed {seed}"
        inner = cv2.erode(oval, np.ones((15, 15), np.uint8)) > 0
        lap_in = np.abs(cv2.Laplacian(out.mean(axis=2), cv2.CV_32F))[inner].mean()
        lap_src = np.abs(cv2.Laplacian(a.astype(np.float32).mean(axis=2), cv2.CV_32F))[inner]
        assert lap_in < 0.5 * lap_src.mean(), f"seed {seed}"
    assert (np.asarray(qf.blur_cutout(im, random.Random(3)))
            == np.asarray(qf.blur_cutout(im, random.Random(3)))).all()
    assert "blur_cutout" in qf.GENERATORS


@pytest.mark.skipif(not model_available(), reason="u2netp (the family's background remover)")
def test_halo_leaves_a_band_of_the_floor_around_the_product_on_white() -> None:
    """``halo``: the product as it was, pure white far from it, and between them a band of the
    floor's own pixels hugging the product's outline (0.5-3% of the short side wide: the mask
    was grown before the cut); seeded."""
    import cv2

    a, oval = _garment_on_floor()
    im = Image.fromarray(a)
    inner = cv2.erode(oval, np.ones((25, 25), np.uint8)) > 0
    far = cv2.dilate(oval, np.ones((61, 61), np.uint8)) == 0
    floor = (a.astype(np.int16) >= 120).all(axis=2) & (a <= 140).all(axis=2) & (oval == 0)
    widths = []
    for seed in range(6):
        out = np.asarray(qf.halo(im, random.Random(seed))).astype(np.int16)
        assert (np.abs(out[inner] - a[inner]) <= 1).all(), f"seed {seed}"
        assert out[far].min() >= 254, f"seed {seed}"
        kept = floor & (np.abs(out - a).max(axis=2) <= 1)  # floor pixels left as they were
        assert kept.any(), f"seed {seed}"
        # every kept floor pixel lies near the product: a band around it, not the whole floor
        d = cv2.distanceTransform((oval == 0).astype(np.uint8), cv2.DIST_L2, 5)
        assert d[kept].max() <= 0.03 * 300 + 30, f"seed {seed}"  # the band, a jagged step more
        widths.append(float(np.percentile(d[kept], 90)))
    assert max(widths) > 1.5 * min(widths)  # the band's width is drawn, not fixed
    assert (np.asarray(qf.halo(im, random.Random(3)))
            == np.asarray(qf.halo(im, random.Random(3)))).all()
    assert "halo" in qf.GENERATORS


@pytest.mark.skipif(not model_available(), reason="u2netp (the family's background remover)")
def test_feathered_keeps_the_product_sharp_and_fades_its_outline_into_white() -> None:
    """``feathered``: the product as it was deep inside, pure white far outside, and a ramp
    between them several px wide (a hard cut has none); ``blur_feathered`` blurs the product
    first; both seeded."""
    import cv2

    a, oval = _garment_on_floor()
    im = Image.fromarray(a)
    inner = cv2.erode(oval, np.ones((25, 25), np.uint8)) > 0
    far = cv2.dilate(oval, np.ones((41, 41), np.uint8)) == 0
    ring = (cv2.dilate(oval, np.ones((7, 7), np.uint8)) > 0) & (cv2.erode(oval, np.ones(
        (7, 7), np.uint8)) == 0)
    for seed in range(4):
        out = np.asarray(qf.feathered(im, random.Random(seed))).astype(np.int16)
        assert (np.abs(out[inner] - a[inner]) <= 1).all(), f"seed {seed}"
        assert out[far].min() >= 254, f"seed {seed}"
        # around the outline, pixels that are a blend of the photo's and white (t of white,
        # fitted per pixel): the fade (a hard cut has none; a tried one: 0 of the ring's pixels)
        src, got = a[ring].astype(np.float32), out[ring].astype(np.float32)
        t = ((got - src) * (255 - src)).sum(1) / np.maximum(((255 - src) ** 2).sum(1), 1.0)
        assert ((t > 0.15) & (t < 0.85)).mean() > 0.2, f"seed {seed}"
        soft = np.asarray(qf.blur_feathered(im, random.Random(seed))).astype(np.float32)
        lap_in = np.abs(cv2.Laplacian(soft.mean(axis=2), cv2.CV_32F))[inner].mean()
        lap_src = np.abs(cv2.Laplacian(a.astype(np.float32).mean(axis=2), cv2.CV_32F))[inner]
        assert lap_in < 0.5 * lap_src.mean(), f"seed {seed}"
    assert (np.asarray(qf.feathered(im, random.Random(3)))
            == np.asarray(qf.feathered(im, random.Random(3)))).all()
    assert {"feathered", "blur_feathered"} <= set(qf.GENERATORS)


@pytest.mark.skipif(not model_available(), reason="u2netp (places the spot on the product)")
def test_glare_blows_a_spot_on_the_product_to_white_and_leaves_the_rest() -> None:
    """``glare``: a hotspot whose core clips to white, on the product (not the backdrop), its
    light fading out around it; the pixels far from it are the photo's."""
    a = np.full((320, 320, 3), 255, np.uint8)
    yy, xx = np.mgrid[0:320, 0:320]
    oval = ((xx - 160) / 90.0) ** 2 + ((yy - 160) / 120.0) ** 2 <= 1.0
    a[oval] = (30, 60, 150)
    im = Image.fromarray(a)
    for seed in range(4):
        out = np.asarray(qf.glare(im, random.Random(seed))).astype(int)
        changed = (np.abs(out - a).max(axis=2) > 8)
        clipped = (out.min(axis=2) >= 250) & oval
        assert clipped.sum() >= 10, seed  # a core blown to white on the product
        assert changed.sum() > 2 * clipped.sum(), seed  # ... and a fading halo around it
        ys, xs = np.nonzero(clipped)
        assert oval[int(ys.mean()), int(xs.mean())], seed
        assert changed.mean() < 0.3, seed  # the rest of the photo as it was


def test_denoise_flattens_texture_and_keeps_strong_edges() -> None:
    """``denoise`` (a phone's night mode): fine texture wiped, a strong edge kept where it was."""
    rng_np = np.random.default_rng(1)
    a = np.full((300, 300, 3), 120, np.float32)
    a += rng_np.normal(0, 12, (300, 300, 1))  # a grainy, textured surface
    a[:, 150:] += 90  # a strong edge down the middle
    a = np.clip(a, 0, 255).astype(np.uint8)
    out = np.asarray(qf.denoise(Image.fromarray(a), random.Random(0))).astype(float)
    grey = out.mean(axis=2)
    assert grey[:, 20:130].std() < 0.5 * a[:, 20:130, 0].std()  # the texture flattened
    step = grey[:, 160:].mean() - grey[:, :140].mean()
    assert step > 80  # ... the edge kept
    assert np.abs(np.diff(grey[150, 140:160])).max() > 40  # ... and still a step, not a ramp


def _blue_oval() -> tuple[np.ndarray, np.ndarray]:
    """A 320 px white frame with a blue oval product on it, and the oval."""
    a = np.full((320, 320, 3), 255, np.uint8)
    yy, xx = np.mgrid[0:320, 0:320]
    oval = ((xx - 160) / 90.0) ** 2 + ((yy - 160) / 120.0) ** 2 <= 1.0
    a[oval] = (30, 60, 150)
    return a, oval


@pytest.mark.skipif(not model_available(), reason="u2netp (places the sticker on the product)")
def test_sticker_pastes_a_flat_shape_with_no_letters_on_the_product() -> None:
    a, oval = _blue_oval()
    for seed in range(6):
        _pasted_on(qf.sticker(Image.fromarray(a), random.Random(seed)), a, oval, 0.0005, 0.2)


@pytest.mark.skipif(not model_available(), reason="u2netp (places the emoji on the product)")
def test_emoji_pastes_a_shape_on_the_product_shaded_or_flat() -> None:
    a, oval = _blue_oval()
    spreads = []
    for seed in range(12):
        out, changed = _pasted_on(qf.emoji(Image.fromarray(a), random.Random(seed)), a, oval,
                                  0.0002, 0.25)
        # the fill's lightness spread (p90 - p10 of luma; the darkest 15%, marks and shadow, out)
        luma = out[changed & (np.abs(out - a).max(axis=2) > 60)].mean(axis=1)
        luma = luma[luma > np.percentile(luma, 15)]
        spreads.append(float(np.percentile(luma, 90) - np.percentile(luma, 10)))
    # shaded (a light across it) on some draws, about one flat colour on others
    assert max(spreads) > 15 and min(spreads) < 10, spreads


def test_cast_tints_white_as_a_wrong_white_balance_does() -> None:
    """``cast``: per-channel gains in linear light, so a white surface takes the gains' colour
    (warm: red highest, blue lowest; cool: blue highest, red lowest), black stays black and a
    mid grey leans the same way; the strength drawn; seeded."""
    a = np.zeros((60, 90, 3), np.uint8)
    a[:, :30] = 255
    a[:, 30:60] = 128
    im = Image.fromarray(a)
    kinds, blues = set(), []
    for seed in range(24):
        out = np.asarray(qf.cast(im, random.Random(seed))).astype(int)
        white = out[5, 5]
        assert (out[:, 60:] == 0).all(), f"seed {seed}"  # black stays black
        assert white.max() == 255, f"seed {seed}"  # the strongest channel's gain is 1
        assert (np.abs(out[:, :30] - white).max()) == 0
        if white[0] == 255:
            assert white[0] > white[1] > white[2], f"seed {seed}: {white}"
            kinds.add("warm")
        else:
            assert white[2] == 255 and white[2] > white[1] > white[0], f"seed {seed}: {white}"
            kinds.add("cool")
        blues.append(int(white[2]))
        grey = out[5, 45]  # a mid grey is tinted the same way
        assert (grey[0] - grey[2]) * (white[0] - white[2]) > 0, f"seed {seed}: {grey}"
    assert kinds == {"warm", "cool"}
    assert max(blues) - min(blues) > 60  # the strength is drawn
    assert (np.asarray(qf.cast(im, random.Random(3)))
            == np.asarray(qf.cast(im, random.Random(3)))).all()
    assert "cast" in qf.GENERATORS


def test_blur_sharpened_rings_at_edges_and_leaves_the_fine_detail_lost() -> None:
    """``blur_sharpened``: one of the four blurs, then an unsharp mask, so a step edge rings
    (over- and undershoot past its two sides) while the finest texture the blur took stays
    gone; seeded, and a blur family."""
    a = np.zeros((1000, 1000, 3), np.float32)
    a[:, :500] = 60.0
    a[:, 500:] = 190.0
    yy, xx = np.mgrid[:1000, :1000]
    checker = np.where((yy + xx) % 2 == 0, 12.0, -12.0)[..., None]  # the finest detail there is
    a = np.clip(a + checker, 0, 255).astype(np.uint8)

    def fine(g: np.ndarray) -> float:  # what is left of the checker on the flat dark side
        p = g[100:900, 100:400]
        return float(np.abs(p[1:-1, 1:-1] - (p[:-2, 1:-1] + p[2:, 1:-1]
                                                + p[1:-1, :-2] + p[1:-1, 2:]) / 4).mean())

    base = fine(a[..., 0].astype(float))
    ringing = 0
    for seed in range(8):
        out = np.asarray(qf.blur_sharpened(Image.fromarray(a), random.Random(seed)))
        g = out[..., 0].astype(float)
        assert fine(g) < 0.6 * base, f"seed {seed}"
        row = g[300:700].mean(axis=0)  # the checker averages out along the edge
        # ringing: the bright side peaks over its plateau, the dark side dips under its own
        # (a phone's small radius barely touches a wide blur: not every draw rings)
        ringing += bool(row[500:560].max() > row[700:900].mean() + 0.5
                        and row[440:500].min() < row[100:300].mean() - 0.5)
    assert ringing >= 5
    assert (np.asarray(qf.blur_sharpened(Image.fromarray(a), random.Random(3)))
            == np.asarray(qf.blur_sharpened(Image.fromarray(a), random.Random(3)))).all()
    assert "blur_sharpened" in qf.GENERATORS


@pytest.mark.skipif(not model_available(), reason="u2netp (the family's product mask)")
def test_flash_shadow_darkens_the_white_backdrop_beside_the_product_only() -> None:
    """``flash_shadow``: the product untouched, and on the white backdrop a darker, neutral
    copy of its silhouette moved to a side or below it (never above it), 25-55% of the light
    taken; seeded."""
    import cv2

    a = np.full((400, 400, 3), 255, np.uint8)
    oval = np.zeros((400, 400), np.uint8)
    cv2.ellipse(oval, (200, 200), (70, 110), 0, 0, 360, 1, -1)
    a[oval > 0] = (30, 60, 160)  # a blue product on white
    inner = cv2.erode(oval, np.ones((15, 15), np.uint8)) > 0
    for seed in range(6):
        out = np.asarray(qf.flash_shadow(Image.fromarray(a), random.Random(seed))).astype(int)
        assert (np.abs(out[inner] - a[inner]) <= 1).all(), f"seed {seed}"
        shade = (oval == 0) & (out.max(axis=2) < 245)  # backdrop pixels the shadow darkened
        assert shade.sum() > 300, f"seed {seed}"
        grey = out[shade]
        assert (grey.max(axis=1) - grey.min(axis=1)).max() <= 3, f"seed {seed}"  # neutral
        level = np.median(grey[:, 0])
        assert 255 * 0.45 ** (1 / 2.2) - 6 <= level <= 255 * 0.75 ** (1 / 2.2) + 6, f"seed {seed}"
        ys, xs = np.nonzero(shade)  # from the product's middle to the shadow's: never upward
        ang = np.degrees(np.arctan2(ys.mean() - 200, xs.mean() - 200))
        assert not -145 < ang < -35, f"seed {seed}"
    assert (np.asarray(qf.flash_shadow(Image.fromarray(a), random.Random(3)))
            == np.asarray(qf.flash_shadow(Image.fromarray(a), random.Random(3)))).all()
    assert "flash_shadow" in qf.GENERATORS
