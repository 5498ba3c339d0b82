"""A light product cut out of a light backdrop: the backdrop grown from the frame's border.

The salient-object mask (u2netp) often finds only a detail of a white product on a light-grey
backdrop (a zip, a logo, a dark trim) and calls the white body around it backdrop. A studio
backdrop is something the mask does not need to find it: a smooth light surface that reaches the
frame's border. So the backdrop is grown from there instead (region growing / seeded flood fill,
Adams & Bischof, "Seeded region growing", IEEE TPAMI 16(6), 1994):

1. The smooth backdrop estimate B (:func:`analyzer.fix.ops.backdrop_field`, from what the mask
   left out) and, per pixel, its deviation d = max over channels |I - B| and the local edge
   strength g (Sobel magnitude of the luma, lightly blurred), at ``cut_side`` px.
2. Seeds: the pixels of the frame's outer band (``seed_band_frac`` of the short side) that the mask
   calls backdrop (p < 0.1), that are light (darkest channel >= ``light_px``) and plain
   (d <= ``unplain_rgb``). When they are under ``seed_min`` of the band, the border is mostly not
   a plain backdrop (a product filling the frame): no cut is made; nor when the seeds' luma is
   two flat levels (:func:`analyzer.fix.ops.otsu_two_levels`: a backdrop and the body of a light
   product that runs off the frame, which cannot be told apart).
3. The tolerances are learned from the seeds: t_d = clip(``tol_gain`` * q99(d_seeds),
   ``tol_min``, ``unplain_rgb``), t_g = ``tol_gain`` * q99(g_seeds) + ``edge_min``. A pixel is
   backdrop-like when d <= t_d and g <= t_g (the product's outline, folds and seams stop the
   growth); the backdrop is the union of the backdrop-like connected components that hold a seed.
4. The product is the rest, cleaned (opened; specks under ``speck_frac`` of the frame that the
   mask did not find go back to the backdrop), unioned with the mask: max(p, product). So a pixel
   is whitened only when the mask *and* the grown backdrop both call it backdrop.

The caller (:func:`analyzer.fix.guard.product_doubt`) keeps the product-erased guard as the last
safety: the cut is used only when the guard, asked again with it, no longer doubts the mask, and
when the product it leaves does not run off the frame on two or more sides (a light garment
filling the frame: what lies at the border may be more of it), and when the solid part of that
product holds the folds and seams that made the guard doubt
(:func:`analyzer.fix.guard.cut_explains`: growth over a garment's flat parts leaves them as a
thin network). Steps 2-4 run twice, the second time with the backdrop estimated from the first
cut. Not used: GrabCut (Rother et al. 2004), which would need the same seeds and safety.

Also here, for the background fix: :func:`keep_unlike_unsure`, what the mask was unsure of and
does not look like the backdrop (a model's skin next to a garment) is kept whole, not half
whitened.
"""

from __future__ import annotations

import cv2
import numpy as np

from analyzer.fix.ops import backdrop_field, otsu_two_levels, resize_to
from analyzer.vision.mask_ops import fill_holes


def _deviation(small: np.ndarray, field: np.ndarray) -> np.ndarray:
    return np.abs(small.astype(np.float32) - field).max(axis=2)


def _edges(small: np.ndarray) -> np.ndarray:
    y = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.GaussianBlur(cv2.magnitude(gx, gy), (0, 0), 1.0)


def grow_backdrop(rgb: np.ndarray, prob: np.ndarray, th: dict) -> np.ndarray | None:
    """The product's probability (``prob``'s size and range) extended to what the backdrop grown
    from the border leaves (steps 1-4), or None when the border holds too little plain backdrop
    to seed it. Two rounds: the second estimates the backdrop field from the first round's cut,
    so the field behind a light product the mask missed is the backdrop's, not a blur of both."""
    h, w = prob.shape
    s = min(1.0, float(th["cut_side"]) / max(h, w))
    size = (max(8, round(w * s)), max(8, round(h * s)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    p = cv2.resize(prob.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    lo, hi = float(th["alpha_low"]), float(th["alpha_high"])
    grad = _edges(small)
    b = max(1, round(float(th["seed_band_frac"]) * min(size)))
    band = np.zeros(p.shape, bool)
    band[:b] = band[-b:] = True
    band[:, :b] = band[:, -b:] = True
    light = small.min(axis=2) >= float(th["light_px"])
    product = None
    guess = np.clip((p - lo) / (hi - lo), 0, 1).astype(np.float32)
    for _ in range(2):
        product = _grow_once(small, p, guess, grad, band, light, th)
        if product is None:
            return None
        guess = np.maximum(guess, product.astype(np.float32))
    full = resize_to(product.astype(np.float32), (h, w))
    return np.maximum(prob.astype(np.float32), full).astype(np.float32)


def _grow_once(small: np.ndarray, p: np.ndarray, guess: np.ndarray, grad: np.ndarray,
               band: np.ndarray, light: np.ndarray, th: dict) -> np.ndarray | None:
    """One round of steps 1-4 with the product as ``guess`` (0..1): the product (uint8 0/1)."""
    field = backdrop_field(small, guess, int(th["backdrop_side"]))
    dev = _deviation(small, field)
    seeds = band & (p < 0.1) & light & (dev <= float(th["unplain_rgb"]))
    if seeds.sum() < max(16, float(th["seed_min"]) * band.sum()):
        return None
    # The seeds must be one surface: two flat light levels on the border are a backdrop and the
    # body of a light product running off the frame, and which is which cannot be told.
    if otsu_two_levels(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)[seeds].astype(np.float32), th):
        return None
    gain = float(th["tol_gain"])
    t_d = float(np.clip(gain * np.percentile(dev[seeds], 99), float(th["tol_min"]),
                        float(th["unplain_rgb"])))
    t_g = gain * float(np.percentile(grad[seeds], 99)) + float(th["edge_min"])
    like = ((dev <= t_d) & (grad <= t_g)).astype(np.uint8)
    n, labels = cv2.connectedComponents(like, connectivity=4)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[seeds & (like > 0)])] = True
    keep[0] = False  # label 0 is "not backdrop-like"
    product = (~keep[labels]).astype(np.uint8)
    product = cv2.morphologyEx(product, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    # Specks the mask did not find (noise on the backdrop) go back to it.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(product, connectivity=8)
    found = np.zeros(n, bool)
    found[np.unique(labels[(p >= 0.5) & (product > 0)])] = True
    drop = (stats[:, cv2.CC_STAT_AREA] < float(th["speck_frac"]) * product.size) & ~found
    drop[0] = False
    product[drop[labels]] = 0
    return product


def keep_unlike_unsure(alpha: np.ndarray, prob: np.ndarray, rgb: np.ndarray,
                       backdrop: np.ndarray, th: dict) -> np.ndarray:
    """``alpha`` set to 1 over the parts the mask was unsure of that are not backdrop: connected
    regions under alpha 1 whose colour is unlike the backdrop (RGB distance over
    ``plain_rgb``) *in hue* (chromaticity I / (R + G + B) more than ``unlike_chroma`` from the
    backdrop's; a shadow is the backdrop darkened, with its chromaticity), that touch the product
    and where the mask gave some probability (mean ``prob`` at least ``unsure_min``), over a
    light, near-neutral backdrop (the estimate's darkest channel at least ``light_px``, its
    chromaticity within ``unlike_chroma`` of grey). Without
    this the matte reads such a region (a model's skin next to a garment, at probability 0.1-0.3)
    as half transparent: it is brightened towards white and punched with white holes where the
    probability dips under ``alpha_low``."""
    h, w = alpha.shape
    s = min(1.0, 512 / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    a = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    pr = cv2.resize(prob.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    bd = cv2.resize(backdrop, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    c_bd = bd / (bd.sum(axis=2, keepdims=True) + 1.0)
    chroma = np.linalg.norm(small / (small.sum(axis=2, keepdims=True) + 1.0) - c_bd, axis=2)
    # Only over a studio-like backdrop, light and near neutral: on a red bed or a green bag the
    # hue says nothing about what is product.
    studio = (bd.min(axis=2) >= float(th["light_px"])) & (
        np.abs(c_bd - 1.0 / 3.0).max(axis=2) <= float(th["unlike_chroma"]))
    unlike = studio & (a < 1.0) & (
        np.linalg.norm(small - bd, axis=2) > float(th["plain_rgb"])) & (
        chroma > float(th["unlike_chroma"]))
    unlike = cv2.morphologyEx(unlike.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    # Broad regions only: a soft edge, hair or fur (a band a few pixels wide) keeps its matte.
    k = max(3, 2 * round(float(th["unlike_open_frac"]) * max(size) / 2) + 1)
    unlike = cv2.morphologyEx(unlike, cv2.MORPH_OPEN,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    n, labels = cv2.connectedComponents(unlike, connectivity=8)
    if n <= 1:
        return alpha
    near = cv2.dilate((a >= 1.0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    idx = labels.ravel()
    count = np.bincount(idx, minlength=n).astype(np.float64)
    mean_p = np.bincount(idx, weights=pr.ravel(), minlength=n) / np.maximum(count, 1)
    touch = np.bincount(idx, weights=near.ravel().astype(np.float64), minlength=n) > 0
    keep = touch & (mean_p >= float(th["unsure_min"]))
    keep[0] = False
    if not keep.any():
        return alpha
    kept = keep[labels].astype(np.uint8)
    # The dips under alpha_low inside a kept region (the white holes) are filled too.
    contours, _ = cv2.findContours(kept, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(kept, contours, -1, 1, thickness=cv2.FILLED)
    full = resize_to(kept.astype(np.float32), (h, w)) >= 0.5
    return np.where(full, 1.0, alpha).astype(np.float32)


def keep_enclosed_unlike(alpha: np.ndarray, rgb: np.ndarray, th: dict) -> np.ndarray:
    """``alpha`` set to 1 over the holes the product encloses that are not its backdrop.

    The salient-object mask can leave out a band of a product that resembles a plain floor (the
    light stripes across a striped tee on grey boards: u2netp's probability falls to ~0.1
    there), and the matte would whiten it, changing what is sold. The product's silhouette is
    the mask (alpha >= 0.5) closed by a disk ``hole_close_frac`` of the product's long side (a
    band that nearly reaches the outline is bridged) with its holes filled; each hole of at
    least ``hole_min_frac`` of the product's area whose median colour is more than ``hole_rgb``
    (RGB distance) from the backdrop there, estimated from around the silhouette only
    (:func:`analyzer.fix.ops.backdrop_field`; a median is steadier than the per-pixel
    ``plain_rgb``), and is not a shadow of it (darker with the backdrop's chromaticity, within
    ``unlike_chroma``), is the product's own and kept as shot.
    A hole that shows the backdrop (a handle's loop, the gap between a pair of shoes) matches the
    estimate and still goes white.
    """
    h, w = alpha.shape
    s = min(1.0, 512 / max(h, w))
    size = (max(1, round(w * s)), max(1, round(h * s)))
    a = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    prod = (a >= 0.5).astype(np.uint8)
    area = int(prod.sum())
    if area == 0:
        return alpha
    _, _, bw, bh = cv2.boundingRect(prod)
    k = max(3, 2 * round(float(th["hole_close_frac"]) * max(bw, bh) / 2) + 1)
    closed = cv2.morphologyEx(prod, cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0
    silhouette = fill_holes(closed).astype(np.uint8)
    holes = (silhouette.astype(bool) & (a < 0.5)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(holes, connectivity=8)
    if n <= 1:
        return alpha
    big = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA]
           >= float(th["hole_min_frac"]) * area]
    if not big:
        return alpha
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    # The backdrop as seen around the silhouette only: the caller's estimate took the holes
    # themselves for backdrop, so a missed stripe would match it by construction.
    outside = np.maximum(a, silhouette.astype(np.float32))
    bd = backdrop_field(small.astype(np.uint8), outside, int(th["backdrop_side"]))
    keep = np.zeros(n, bool)
    for i in big:
        comp = labels == i
        px, ref = np.median(small[comp], axis=0), np.median(bd[comp], axis=0)
        if float(np.linalg.norm(px - ref)) <= float(th["hole_rgb"]):
            continue  # the backdrop seen through the product
        chroma = float(np.abs(px / (px.sum() + 1.0) - ref / (ref.sum() + 1.0)).max())
        if px.sum() < ref.sum() and chroma <= float(th["unlike_chroma"]):
            continue  # a shadow: the backdrop darkened, with its hue
        keep[i] = True
    if not keep.any():
        return alpha
    # With the half-sure rim around each kept hole (inside the silhouette), which the matte
    # would otherwise still lighten towards white.
    kept = cv2.dilate(keep[labels].astype(np.uint8),
                      cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) & silhouette
    full = resize_to(kept.astype(np.float32), (h, w)) >= 0.5
    return np.where(full, 1.0, alpha).astype(np.float32)


def _chroma(x: np.ndarray) -> np.ndarray:
    """Chromaticity I / (R + G + B) of RGB values (any leading shape), float32."""
    x = x.astype(np.float32)
    return x / (x.sum(axis=-1, keepdims=True) + 1.0)


def backdrop_marks(rgb_px: np.ndarray, bd_px: np.ndarray, th: dict) -> np.ndarray:
    """Which pixels (N x 3, with the backdrop estimate there) are marks *of the backdrop*: its
    hue (chromaticity within ``unlike_chroma``) and at least ``mark_min_ratio`` of its light,
    as a shadow, a grout line, a crease or a knit's hole is. A black cord or a navy strap is
    darker than that, a coloured part is of another hue: neither is a mark."""
    d = np.linalg.norm(_chroma(rgb_px) - _chroma(bd_px), axis=1)
    ratio = (rgb_px.astype(np.float32).sum(axis=1) + 1.0) / (
        bd_px.astype(np.float32).sum(axis=1) + 1.0)
    return (d <= float(th["unlike_chroma"])) & (ratio >= float(th["mark_min_ratio"]))


def _clear_marks(alpha: np.ndarray, where: np.ndarray, rgb: np.ndarray, backdrop: np.ndarray,
                 th: dict) -> np.ndarray:
    """``alpha`` set to 0 on the pixels of ``where`` that are backdrop marks."""
    ys, xs = np.nonzero(where)
    if not len(ys):
        return alpha
    sel = backdrop_marks(rgb[ys, xs], backdrop[ys, xs], th)
    out = alpha.copy()
    out[ys[sel], xs[sel]] = 0.0
    return out


def within_reach(alpha: np.ndarray, rgb: np.ndarray, backdrop: np.ndarray,
                 th: dict) -> np.ndarray:
    """The matte without the backdrop marks (:func:`backdrop_marks`) it holds further than
    ``reach_frac`` of the long side from the product's body (alpha 1) or in stubs thinner than
    ``stub_frac`` of it. A soft edge (hair, fur, a blurred outline) is a band along the
    outline; what reaches further, or sticks out of the band as a thin stub, with the
    backdrop's hue and light is the mask's faint answer to lines *on the backdrop* that touch
    the product (floor-tile grout, a table edge, a crease in the sweep). Inside the matte they
    would stay as grey lines on the white, since an edge pixel keeps its difference from the
    backdrop estimate. A drawstring or a strap (darker, or of another hue) stays."""
    body = (alpha >= 1.0).astype(np.uint8)
    if not body.any():
        return alpha
    reach = float(th["reach_frac"]) * max(alpha.shape)
    far = cv2.distanceTransform(1 - body, cv2.DIST_L2, 3) > reach
    # An opening of the matte's support removes stubs and keeps the band along the outline;
    # run on a copy at most 1024 px long (a stub is a few pixels wide even there, and a large
    # elliptic opening at 4096 px costs half a second).
    support = (alpha > 0).astype(np.uint8)
    h, w = alpha.shape
    s = min(1.0, 1024 / max(h, w))
    small = support if s >= 1.0 else cv2.resize(
        support, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_NEAREST)
    k = max(3, int(round(float(th["stub_frac"]) * max(small.shape))) | 1)
    opened = cv2.morphologyEx(small, cv2.MORPH_OPEN,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    if s < 1.0:
        opened = cv2.resize(opened, (w, h), interpolation=cv2.INTER_NEAREST)
    stubs = (support > 0) & (opened == 0) & (body == 0)
    return _clear_marks(alpha, (far & (support > 0)) | stubs, rgb, backdrop, th)


def clear_backdrop_fringe(alpha: np.ndarray, rgb: np.ndarray, backdrop: np.ndarray,
                          th: dict) -> np.ndarray:
    """``alpha`` set to 0 on the soft edge's pixels (0 < alpha < 1) that are backdrop marks
    (:func:`backdrop_marks`), when the product's own hue is far from the backdrop's (median
    chromaticities at least ``fringe_contrast`` apart: a teal cardigan on a pink blanket, jeans
    on beige tiles).

    Compositing swaps an edge pixel's backdrop share for white using the *smooth* backdrop
    estimate; on a textured backdrop (a knit blanket's darker holes, grout lines) the texture
    in the edge band differs from that estimate and stays as a coloured fringe. Such a pixel has
    the backdrop's hue, while a real mix of product and backdrop moves away from it with the
    product's share, so on a product of another hue only the outer rim of the edge (coverage
    under about ``unlike_chroma / fringe_contrast``) is given to the backdrop, and so are the
    islands under ``speck_frac`` of the frame that clearing leaves, when they are marks too. A
    product of the backdrop's hue (black on grey, beige on beige) keeps its whole soft edge."""
    soft = (alpha > 0.0) & (alpha < 1.0)
    body = alpha >= 1.0
    if not soft.any() or not body.any():
        return alpha
    # The two hues from a grid of at most ~512 x 512 samples (the medians need no more).
    k = max(1, round(max(alpha.shape) / 512))
    body_s, soft_s = body[::k, ::k], soft[::k, ::k]
    bd_s = ~body_s & ~soft_s
    if not body_s.any():
        return alpha
    c_body = np.median(_chroma(rgb[::k, ::k][body_s]), axis=0)
    c_bd = np.median(_chroma(backdrop[::k, ::k][bd_s]), axis=0) if bd_s.any() \
        else _chroma(backdrop.reshape(-1, 3).mean(axis=0))
    if float(np.linalg.norm(c_body - c_bd)) < float(th["fringe_contrast"]):
        return alpha
    out = _clear_marks(alpha, soft, rgb, backdrop, th)
    # What the cleared edge cut off from the product (a speck of the backdrop's texture the
    # matte gave full alpha) goes too, when its mean colour is a mark of the backdrop.
    n, labels, stats, _ = cv2.connectedComponentsWithStats((out > 0).astype(np.uint8), 8)
    small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < float(th["speck_frac"]) * out.size)
    small = small[small > 0]
    if len(small):
        is_small = np.zeros(n, bool)
        is_small[small] = True
        where = is_small[labels]  # the small islands' pixels only: the sums stay cheap
        idx = labels[where]
        cnt = np.bincount(idx, minlength=n).astype(np.float64)[small, None]
        px, bp = rgb[where].astype(np.float64), backdrop[where].astype(np.float64)
        mean_rgb = np.stack([np.bincount(idx, weights=px[:, c], minlength=n)[small]
                             for c in range(3)], axis=1) / cnt
        mean_bd = np.stack([np.bincount(idx, weights=bp[:, c], minlength=n)[small]
                            for c in range(3)], axis=1) / cnt
        drop = np.zeros(n, bool)
        drop[small[backdrop_marks(mean_rgb, mean_bd, th)]] = True
        if drop.any():
            out[drop[labels]] = 0.0
    return out
