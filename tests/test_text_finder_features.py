"""The text finder's word features, computed for all words of a threshold at once, must equal
the plain per-word definition they replaced (kept here as the reference: the verifier was fitted
on it; colour is now read from the float Lab image in 8-bit Lab's units, not from an 8-bit Lab
conversion). Synthetic, seeded; no shared data needed."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from analyzer.config import check_thresholds
from analyzer.quality.overlays import text as text_mod
from analyzer.vision.backdrop import lab_of

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


# ------------------------------------------------------------ reference (one word at a time)
def _ref_edge_sides(g: np.ndarray, lab8: np.ndarray, labels: np.ndarray, w: text_mod.Word
                    ) -> tuple[np.ndarray, ...]:
    """For each of the word's first 12 glyph components with both sides, one glyph at a time
    with plain numpy: the mean Lab colour of its darker and of its brighter side (pixels beyond a
    quarter of the 10-90% range from the middle: the anti-aliased middle left out), the grey-level
    spread of each side, and the range; glyphs in component-id order."""
    x0, y0, x1, y1 = w.box
    lab_box = labels[y0:y1, x0:x1]
    g_box, l_box = g[y0:y1, x0:x1], lab8[y0:y1, x0:x1]
    dk, bt, sdk, sbt, cons = [], [], [], [], []
    for cid in np.unique(lab_box[np.isin(lab_box, w.members[:12])]):
        m = lab_box == cid
        v, lv = g_box[m].astype(np.float64), l_box[m].astype(np.float64)
        p10, p90 = np.percentile(v, [10, 90])
        mid, q = (p10 + p90) / 2, 0.25 * (p90 - p10)
        d, b = v < mid - q, v > mid + q
        if d.sum() < 2 or b.sum() < 2:
            continue
        dk.append(lv[d].mean(axis=0))
        bt.append(lv[b].mean(axis=0))
        sdk.append(v[d].std())
        sbt.append(v[b].std())
        cons.append(p90 - p10)
    return (np.reshape(dk, (-1, 3)), np.reshape(bt, (-1, 3)), np.asarray(sdk),
            np.asarray(sbt), np.asarray(cons))


def _ref_word_features(g: np.ndarray, lab8: np.ndarray, w: text_mod.Word, grad: np.ndarray,
                  strong: np.ndarray, labels: np.ndarray, st: np.ndarray,
                  zone: np.ndarray, sobel: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """The verifier's features of one candidate word (see the module docstring)."""
    H, W = g.shape
    x0, y0, x1, y1 = w.box
    s = st[w.members]
    hm = s[:, 3].astype(np.float64)
    med = float(np.median(hm))
    bw, bh = x1 - x0, y1 - y0
    box = g[y0:y1, x0:x1]
    compmask = np.isin(labels[y0:y1, x0:x1], w.members)
    vals = box[compmask]
    t, _ = cv2.threshold(vals.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    hi = box > t
    ink = hi if hi.mean() < 0.5 else ~hi  # strokes are thin: the smaller class is the ink
    k3 = np.ones((3, 3), np.uint8)
    er = cv2.erode(ink.view(np.uint8), k3).view(bool)
    core = er if er.sum() >= 10 else ink
    bger = cv2.erode((~ink).view(np.uint8), k3).view(bool)
    bgc = bger if bger.sum() >= 10 else ~ink
    gi = box[core].astype(np.float64)
    gb = box[bgc].astype(np.float64)
    if len(gi) and len(gb):
        contrast = abs(gi.mean() - gb.mean()) + 1e-3
        w0 = float(ink.mean())
        eta = w0 * (1 - w0) * (gi.mean() - gb.mean()) ** 2 / (float(box.var()) + 1e-6)
        ink_std, bg_std = gi.std() / contrast, gb.std() / contrast
        ink_abs, bg_abs = gi.std(), gb.std()
    else:
        contrast, eta, ink_std, bg_std, ink_abs, bg_abs = 1e-3, 0.0, 9.0, 9.0, 0.0, 0.0
    sharp = float(np.percentile(grad[y0:y1, x0:x1][compmask], 90)) / contrast
    pad = max(2, int(round(0.6 * med)))
    rx0, ry0, rx1, ry1 = max(0, x0 - pad), max(0, y0 - pad), min(W, x1 + pad), min(H, y1 + pad)
    outer = int(strong[ry0:ry1, rx0:rx1].sum())
    inner = int(strong[y0:y1, x0:x1].sum())
    ring_area = (ry1 - ry0) * (rx1 - rx0) - bw * bh
    bottoms = s[:, 1] + s[:, 3]
    # Each glyph's edge: its darker and brighter side (outside the anti-aliased middle).
    dk, bt, sdk, sbt, cons = _ref_edge_sides(g, lab8, labels, w)
    if len(dk):
        c = float(np.mean(cons)) + 1e-3
        if len(dk) > 1:
            spd = float(np.sqrt(np.var(dk, axis=0).sum())) / c
            spb = float(np.sqrt(np.var(bt, axis=0).sum())) / c
        else:
            spd, spb = float(np.median(sdk)) / c, float(np.median(sbt)) / c
        ink_spread, bg_spread = min(spd, spb), max(spd, spb)
        flat_abs = min(float(np.median(sdk)), float(np.median(sbt)))
        flat = flat_abs / c
        con_cv = float(np.std(cons)) / c
    else:
        ink_spread = bg_spread = flat = con_cv = 9.0
        flat_abs = 0.0
    inside = float(zone[y0:y1, x0:x1][compmask].mean()) if zone.any() else 0.0
    return {"h": med, "contrast": float(contrast), "ink_std": float(ink_std),
            "bg_std": float(bg_std), "eta": float(eta), "sharp": sharp,
            "ring": (outer - inner) / max(ring_area, 1), "dens": float(strong[y0:y1, x0:x1].mean()),
            "aspect": bw / max(bh, 1), "hstd": float(np.std(hm)) / med,
            "bot": float(np.median(np.abs(bottoms - np.median(bottoms)))) / med,
            "glyphs": float(w.glyphs), "n": float(len(w.members)), "ink_spread": ink_spread,
            "bg_spread": bg_spread, "flat": flat, "con_cv": con_cv, "inside": inside,
            "ink_abs": float(ink_abs), "bg_abs": float(bg_abs), "flat_abs": flat_abs,
            "coh": text_mod._coherence(*sobel, (rx0, ry0, rx1, ry1))}


# ------------------------------------------------------------------------------ the tests
def _scene(seed: int) -> np.ndarray:
    """Wood-like grain with a product blob and words of several sizes, colours and angles."""
    g = np.random.default_rng(seed)
    h, w = 600, 800
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    grain = (0.5 + 0.5 * np.sin(2 * np.pi * (xx + 6 * np.sin(yy / 50.0)) / g.uniform(7, 14))) ** 4
    arr = np.array([176, 128, 84], np.float32)[None, None] - 60 * grain[..., None]
    arr = np.clip(arr + g.normal(0, 4, arr.shape), 0, 255).astype(np.uint8)
    im = Image.fromarray(arr)
    d = ImageDraw.Draw(im)
    d.rounded_rectangle([240, 120, 560, 510], radius=40, fill=tuple(int(c) for c in
                                                                     g.integers(30, 220, 3)))
    for txt, size, xy in (("SALE 50% OFF", 40, (30, 30)), ("www.myshop.com", 24, (300, 300)),
                          ("Best Seller", 60, (60, 480))):
        f = ImageFont.truetype(FONT, size) if __import__("os").path.isfile(FONT) else \
            ImageFont.load_default(size=size)
        d.text(xy, txt, font=f, fill=tuple(int(c) for c in g.integers(0, 256, 3)))
    return np.asarray(im)


def test_batched_word_features_equal_the_per_word_definition():
    th = check_thresholds("overlays")
    checked = 0
    for seed in range(3):
        rgb = _scene(seed)
        g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        lab = lab_of(rgb)
        # the reference reads colour in 8-bit Lab's units (L* x 2.55, a* + 128, b* + 128)
        lab8 = lab.astype(np.float64) * [2.55, 1.0, 1.0] + [0.0, 128.0, 128.0]
        zone = np.zeros(g.shape, bool)
        zone[120:510, 240:560] = True
        grad = cv2.morphologyEx(g, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        sobel = (cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3))
        for t in th["gradient_thresholds"]:
            words, strong, labels, st = text_mod.candidate_words(grad, float(t), th)
            fast = text_mod.word_features(words, g, lab, grad, strong, labels, st, zone, sobel)
            for w, f in zip(words, fast, strict=True):
                ref = _ref_word_features(g, lab8, w, grad, strong, labels, st, zone, sobel)
                assert set(f) == set(text_mod.FEATURES) and set(ref) <= set(f)
                for k in ref:
                    assert np.isclose(f[k], ref[k], rtol=1e-12, atol=1e-12), (k, f[k], ref[k])
                checked += 1
    assert checked >= 30  # texture words and the added words, at three thresholds


def test_more_components_than_16_bit_labels_hold():
    """A fine speckle makes over 65,535 components: the finder falls back to 32-bit labels."""
    th = check_thresholds("overlays")
    grad = np.zeros((800, 800), np.uint8)
    grad[::2, ::2] = 255
    words, strong, labels, st = text_mod.candidate_words(grad, 25.0, th)
    assert len(st) > 65536 and labels.max() == len(st) - 1
    found = text_mod.find_text(np.dstack([255 - grad] * 3), np.zeros((1, 1), bool), th)
    assert found.n_words == 0


def test_grouped_median_and_percentile_match_numpy_with_empty_groups():
    """A word none of whose glyphs has two sides leaves an empty group, also the last one."""
    rng = np.random.default_rng(0)
    gid = np.repeat([0, 2, 3], [5, 4, 1])
    v = rng.normal(size=len(gid)).round(1)  # ties included
    med = text_mod._median(*text_mod._sorted_groups(gid, v, 5))
    p90 = text_mod._percentile(*text_mod._sorted_groups(gid, v, 5), 0.9)
    for k in (0, 2, 3):
        assert med[k] == np.median(v[gid == k]) and p90[k] == np.percentile(v[gid == k], 90)
    assert med[1] == med[4] == 0.0
    assert (text_mod._median(*text_mod._sorted_groups(np.zeros(0, np.int64), np.zeros(0), 3))
            == 0).all()


def test_stroke_width_and_colour_step_features():
    """Stroke width: a 7 px pen gives ~7 px with little spread, a ragged blob a larger spread;
    the chroma step across red letters on grey is large, across dark grey ones on grey nil."""
    k3 = np.ones((3, 3), np.uint8)
    pen = np.zeros((60, 200), np.uint8)
    for x in range(10, 190, 30):  # strokes of a 7 px pen: vertical bars and a bar across
        pen[10:50, x:x + 7] = 1
    pen[27:34, 10:190] = 1
    sw, cv = text_mod._stroke_width(pen, k3)
    assert 6 <= sw <= 8 and cv < 0.35
    rng = np.random.default_rng(1)
    blob = (cv2.GaussianBlur(rng.random((60, 200)).astype(np.float32), (0, 0), 3) > 0.5)
    assert text_mod._stroke_width(blob.astype(np.uint8), k3)[1] > cv
    assert text_mod._stroke_width(np.zeros((20, 20), np.uint8), k3) == (0.0, 9.0)

    th = check_thresholds("overlays")
    found = {}
    for name, ink in (("red", (200, 20, 30)), ("grey", (40, 40, 40))):
        im = Image.new("RGB", (640, 360), (150, 150, 150))
        f = ImageFont.truetype(FONT, 48) if __import__("os").path.isfile(FONT) else \
            ImageFont.load_default(size=48)
        ImageDraw.Draw(im).text((40, 150), "SALE TODAY", font=f, fill=ink)
        s, words, feats, _ = text_mod.candidates(np.asarray(im), np.zeros((1, 1), bool), th)
        found[name] = max(ft["dab"] for ft in feats)
    assert found["red"] > 40 > 10 > found["grey"]


def test_a_word_pasted_on_a_jpeg_breaks_its_grid_where_the_photo_keeps_it():
    """grid_break: blocks under a word drawn after the JPEG save lie off the save's steps; the
    rest of the photo, and a photo never saved as JPEG, read about 0."""
    import io

    g = np.random.default_rng(1)
    tex = cv2.GaussianBlur(g.normal(128, 40, (400, 400)).astype(np.float32), (0, 0), 1.5)
    rgb = np.dstack([np.clip(tex, 0, 255).astype(np.uint8)] * 3)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=60)
    im = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    ImageDraw.Draw(im).text((40, 40), "SALE 50%", font=ImageFont.truetype(FONT, 48) if
                            __import__("os").path.isfile(FONT) else ImageFont.load_default(48),
                            fill=(250, 30, 30))
    m = text_mod.grid_break(np.asarray(im))
    word, rest = m[5:12, 5:40], m[20:, :]
    assert np.nanmean(word) > 0.08 and abs(np.nanmean(rest)) < 0.03, (np.nanmean(word),
                                                                       np.nanmean(rest))
    assert not np.any(text_mod.grid_break(rgb))  # never compressed: no steps, no evidence
    # the word's candidates carry it as the ``grid`` feature; not when told the grid is gone
    th = check_thresholds("overlays")
    zone = np.zeros((1, 1), bool)
    on = [f["grid"] for f in text_mod.candidates(np.asarray(im), zone, th)[2]]
    off = [f["grid"] for f in text_mod.candidates(np.asarray(im), zone, th, on_grid=False)[2]]
    assert max(on) > 0.08 and off and not any(off)


def test_grid_break_reads_the_same_coefficients_as_the_full_block_transform():
    """grid_break applies only the two DCT basis vectors its three coefficients need, on the
    image as it lies: the same map as the whole 8 x 8 transform of every block (to float32
    rounding), the same flat (NaN) blocks, on a re-saved JPEG with a word and an odd size."""
    import io

    from analyzer.io.jpeg import DCT8, HISTORY_COEFS, estimated_step, luma

    def reference(rgb_u8):
        h, w = rgb_u8.shape[0] // 8 * 8, rgb_u8.shape[1] // 8 * 8
        y = luma(rgb_u8[:h, :w].astype(np.float64)) - 128.0
        blocks = y.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
        coef = DCT8 @ blocks @ DCT8.T
        num, den = np.zeros(len(blocks)), np.zeros(len(blocks))
        for r, c in HISTORY_COEFS[:3]:
            v = coef[:, r, c]
            q = estimated_step(v, 0.6, 24)
            if q is None or q < 3:
                continue
            keep = np.abs(v) > q / 2
            num += np.where(keep, np.abs(v / q - np.round(v / q)), 0.0)
            den += keep
        res = np.where(den > 0, num / np.maximum(den, 1), np.nan).reshape(h // 8, w // 8)
        return res - np.nanmedian(res)

    g = np.random.default_rng(4)
    tex = cv2.GaussianBlur(g.normal(128, 45, (301, 397, 3)).astype(np.float32), (0, 0), 1.2)
    tex[:, :120] = 250  # a flat backdrop: blocks with no coefficient over half a step
    buf = io.BytesIO()
    Image.fromarray(np.clip(tex, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=50)
    im = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    ImageDraw.Draw(im).text((150, 100), "NEW", fill=(20, 20, 240))
    rgb = np.asarray(im)
    got, ref = text_mod.grid_break(rgb), reference(rgb)
    assert got.shape == ref.shape == (37, 49)
    assert np.array_equal(np.isnan(got), np.isnan(ref)) and np.isnan(ref).any()
    ok = ~np.isnan(ref)
    assert np.abs(ref[ok]).max() > 0.05  # the map is not all zeros: there is a grid to read
    assert np.allclose(got[ok], ref[ok], rtol=0, atol=1e-4)


def test_grid_mean_from_summed_area_tables_equals_the_direct_mean():
    """A word's ``grid`` feature: the mean of grid_break over its blocks, now four lookups in
    summed-area tables; the same as the direct mean over the finite blocks (to rounding), 0
    with fewer than two of them, boxes past the grid clipped as a slice clips them."""
    rng = np.random.default_rng(5)
    grid = rng.normal(0, 0.1, (40, 30))
    grid[rng.random(grid.shape) < 0.3] = np.nan
    tables = text_mod._grid_tables(grid)
    for _ in range(500):
        scale = float(rng.choice([1.0, 0.75, 0.5]))
        x0, y0 = (int(v) for v in rng.integers(0, 260, 2))
        box = (x0, y0, x0 + int(rng.integers(1, 80)), y0 + int(rng.integers(1, 80)))
        X0, Y0, X1, Y1 = (int(v / scale) for v in box)
        b = grid[Y0 // 8:(Y1 + 7) // 8, X0 // 8:(X1 + 7) // 8]
        ok = np.isfinite(b)
        ref = float(b[ok].mean()) if ok.sum() >= 2 else 0.0
        assert np.isclose(text_mod._grid_mean(tables, box, scale), ref, rtol=1e-9, atol=1e-12)
    assert text_mod._grid_mean(None, (0, 0, 10, 10), 1.0) == 0.0


def test_the_first_stage_keeps_its_best_words_and_those_over_its_margin() -> None:
    pf = text_mod.Prefilter(margin=0.0, keep_top=2)
    m = np.array([-5.0, 1.0, -1.0, -3.0, 0.0, -0.5])
    assert text_mod.prefilter_keep(m, pf).tolist() == [1, 4]      # over the margin: already 2
    pf = text_mod.Prefilter(margin=0.5, keep_top=3)
    assert text_mod.prefilter_keep(m, pf).tolist() == [1, 4, 5]   # the three best
    assert text_mod.prefilter_keep(np.zeros(0), pf).tolist() == []


def test_screened_words_keep_the_features_of_the_full_search() -> None:
    """The cascade only leaves words out: every word it keeps has exactly the features the full
    search gives it, and the shipped first stage was fitted on the cheap features."""
    import json

    d = json.loads(text_mod.PREFILTER.read_text())
    assert tuple(d["features"]) == text_mod.CHEAP_FEATURES and len(d["trees"]) >= 10
    th = check_thresholds("overlays")
    im = Image.new("RGB", (700, 500), (235, 228, 215))
    rng = np.random.default_rng(4)
    px = np.asarray(im).astype(np.int16) + rng.integers(-40, 40, (500, 700, 1))
    im = Image.fromarray(np.clip(px, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    for k, txt in enumerate(("FREE SHIPPING", "50% OFF", "BEST SELLER", "NEW IN", "SALE")):
        d.text((40 + 60 * (k % 2), 30 + 90 * k), txt, fill=(200, 20, 30),
               font=ImageFont.load_default(size=36 + 6 * k))
    rgb = np.asarray(im)
    zone = np.zeros((1, 1), bool)
    _, words, feats, _ = text_mod.candidates(rgb, zone, th)
    pf = text_mod.Prefilter(margin=10.0, keep_top=3)   # keeps the top 3 only
    _, kw, kf, _ = text_mod.candidates(rgb, zone, th, prefilter=pf)
    assert 1 <= len(kw) <= 3 < len(words)
    full = list(zip(words, feats, strict=True))
    for w, f in zip(kw, kf, strict=True):  # the same box may come at two thresholds
        assert any(f == g for w2, g in full if w2.box == w.box and w2.glyphs == w.glyphs)
    assert text_mod.find_text(rgb, zone, th).n_words >= 1
