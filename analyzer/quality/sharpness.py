"""Sharpness of the product, measured on the product's own edges at a fixed product size.

Measure: the edge blur width by re-blurring (Zhuo & Sim, "Defocus map estimation from a single
image", Pattern Recognition 44(9), 2011). A step edge of contrast ``A`` blurred by a Gaussian of
sigma ``s`` has a gradient peak ``A / (s sqrt(2 pi))``; blurring it again by a known ``s_r`` lowers
the peak to ``A / (sqrt(s^2 + s_r^2) sqrt(2 pi))``. The ratio ``R`` of the two gradient magnitudes
at the edge gives ``s = s_r / sqrt(R^2 - 1)``, independent of the edge's contrast, so a plain
low-contrast product is not mistaken for a blurry one (the failure of the variance of the
Laplacian, Pech-Pacheco et al., ICPR 2000, and of Tenengrad). Edges are Canny edges (thin,
non-maximum suppressed) with enough contrast, inside the product mask grown a little so the
product's outline counts; a white studio background has no edges and so no say.

Scale: the product's bounding box is resampled (down only) to ``canonical_long_side`` px first, so
the same photo at 800 and 2000 px gives the same blur width. A small photo is measured at its own
size: it is judged on the pixels it has (the resolution check judges how many).

Score: the ``percentile``-th percentile of the edge blur widths (the sharpest part decides, so the
soft edge of a fold is not blur), mapped linearly from ``sigma_good`` (100) to ``sigma_bad`` (0);
the lowest of that, the worst direction's, the worst half's (:func:`regional_blur`: a product
half out of focus), the surface's when it is past its line (:func:`surface_cause`: the edges
well inside the outline, read with their own contrast floor, so a blurred photo cut out onto
white by an app, its outline crisp, is read by its blurred surface), the missing-detail and the
sensor-noise scores
(``noise_sigma``: ``NOISY``, a grainy high-ISO or brightened dark photo) and the JPEG-compression
score is the check's score. Where the outline reads clearly softer than a sharp surface, and
alike all round (:func:`cut_edge_only`: an app's feathered cut), the readings the outline
carries are set aside for the surface's.

Pixel repetition (``UPSCALED``, pixelated): a photo enlarged by repeating pixels (nearest
neighbour) keeps hard steps that read as sharp edges and fine detail, so neither the edge blur nor
the detail share sees it; the comb its blocks leave in the column and row profiles does
(:mod:`analyzer.io.resampling`, read by the loader on the file's own pixels), scored from
``repeat_depth_good`` (100) to ``repeat_depth_bad`` (0).

Missing detail (``UPSCALED``, smoothly enlarged): the share of the fine detail that survives a
round trip through a smaller size (:func:`detail_spectrum`), read at the photo's own resolution.
A photo no larger than the working size is its working copy, read on the product; a larger one is
read on windows of its original pixels that the loader keeps (:func:`full_res_detail`), because
the working copy's shrink averages an enlargement away: a 1,300 px photo enlarged to 3,000 px to
pass a zoom rule reads as sharp at 1,024 px, and only its own pixels show the missing band.
Sensor noise is detail at every scale, so its expected share (from the noise measure below) is
taken out of both reads first (:func:`without_noise`), where the noise is under ``NOISY``'s line.

JPEG compression (``COMPRESSED``): the lower of the IJG quality of the file's own tables and of an
earlier save read from the pixels' 8 x 8 grid (:mod:`analyzer.io.jpeg`, measured by the loader on
the original pixels, since the working copy's resize erases the grid), ramped from
``jpeg_quality_good`` (100) to ``jpeg_quality_bad`` (0). A photo saved at quality 30 and then
re-saved at 95 has the detail of the first save: its file says 95, its grid says 30.
"""

from __future__ import annotations

from enum import Enum
from functools import cache
from typing import NamedTuple

import cv2
import numpy as np

from analyzer.codes import MapKind
from analyzer.io.resampling import LOSSLESS_FORMATS
from analyzer.quality.context import ImageContext
from analyzer.quality.registry import register
from analyzer.quality.scoring import ramp
from analyzer.results import CheckResult, Flag
from analyzer.vision.edge_blur import EdgeBlur, EdgeBlurSettings, measure_edge_blur

NAME = "sharpness"


def _region(ctx: ImageContext, th: dict, eb_cfg: EdgeBlurSettings
            ) -> tuple[np.ndarray, tuple[int, int, int, int], float]:
    """The product mask, the box around it grown by the outline margin, and that margin (px)."""
    h, w = ctx.gray.shape
    m = ctx.mask_bool_or_none
    bbox = ctx.mask_result.bbox if m is not None else None
    if m is None or bbox is None or m.mean() < float(th["min_mask_fraction"]):
        return np.ones((h, w), bool), (0, 0, w, h), 0.0
    r = max(1.0, eb_cfg.mask_dilate_frac * max(h, w))
    x0, y0, x1, y1 = bbox
    ri = int(np.ceil(r))
    box = (max(0, x0 - ri), max(0, y0 - ri), min(w, x1 + ri), min(h, y1 + ri))
    return m, box, r


def directional_blur(sigma: np.ndarray, theta: np.ndarray, percentile: float, n_bins: int,
                     min_edges: int, min_share: float) -> tuple[float, float, int, float]:
    """The blur of the worst edge orientation: ``(stat, angle in degrees, edges, the best
    orientation's stat)``.

    Edges are binned by their normal's direction into ``n_bins`` sectors of 180 / ``n_bins``
    degrees; each sector with at least ``min_edges`` edges and ``min_share`` of all of them gets
    the ``percentile``-th percentile of its blur widths, and the largest decides. A motion smear
    widens only the edges whose normal runs along the motion (a box of length L along direction
    d widens an edge with normal n by L |cos(n - d)|, sigma L / sqrt(12)), so the pooled
    percentile, dominated by the crisp edges across the motion, hides it and the worst sector
    does not (the orientation-selective analysis of blur, cf. Tong et al., "Blur detection for
    digital images using wavelet transform", ICME 2004, and Chakrabarti et al., "Analyzing
    spatially-varying blur", CVPR 2010).
    """
    if len(sigma) == 0:
        return 0.0, 0.0, 0, 0.0
    b = np.minimum((theta * (n_bins / np.pi)).astype(np.int32), n_bins - 1)
    need = max(min_edges, int(min_share * len(sigma)))
    worst, ang, cnt, best = -1.0, 0.0, 0, float("inf")
    for i in range(n_bins):
        v = sigma[b == i]
        if len(v) < need:
            continue
        st = float(np.percentile(v, percentile))
        best = min(best, st)
        if st > worst:
            worst, ang, cnt = st, (i + 0.5) * 180.0 / n_bins, len(v)
    if worst < 0:
        pooled = float(np.percentile(sigma, percentile))
        return pooled, 0.0, len(sigma), pooled
    return worst, ang, cnt, best


def outline_cover(points: np.ndarray, hits: np.ndarray, min_points: int
                  ) -> tuple[float, float, float, int]:
    """The outline's least covered orientation: ``(coverage, coverage across it, angle in
    degrees, points)`` over each two neighbouring sectors of :func:`~analyzer.vision.edge_blur.
    outline_coverage` (a 60 deg band of the outline's normal) holding ``min_points`` contrasty
    outline points or more, the band whose points lie least often on an edge; the coverage
    across it is the perpendicular band's. ``(nan, nan, 0, 0)`` when no band has the points.

    A smear's cosine falloff widens the edges along it and, less, those within 30 deg of it, so
    a band of two sectors holds the erased outline where one sector may split it."""
    n = len(points)
    best = (float("nan"), float("nan"), 0.0, 0)
    if n < 4 or n % 2:
        return best
    for i in range(n):
        band = [i, (i + 1) % n]
        cnt = int(points[band].sum())
        if cnt < min_points:
            continue
        cover = float(hits[band].sum()) / cnt
        if np.isnan(best[0]) or cover < best[0]:
            across = [(i + n // 2) % n, (i + 1 + n // 2) % n]
            cross = float(hits[across].sum()) / max(int(points[across].sum()), 1)
            best = (cover, cross, (i + 1) * 180.0 / n % 180.0, cnt)
    return best


def smear_words(normal_deg: float) -> str:
    """Which way a smear runs, in words, from the normal (degrees, image axes) of the outline
    it erased: a smear runs along the normal of the edges it spreads."""
    d = float(normal_deg) % 180.0
    if d < 22.5 or d >= 157.5:
        return "side to side"
    if 67.5 <= d < 112.5:
        return "up and down"
    return "diagonally"


def smeared_away(m: dict[str, float], th: dict) -> bool:
    """Whether one direction's outline lost its edges to a smear: its least covered band
    (:func:`outline_cover`) at ``smear_cover_max`` or under while the band across it keeps
    ``smear_cover_across`` or more (the photo's contrast is read there; a product plain
    against its backdrop all round leaves both bands uncovered)."""
    cover = m.get("outline_cover_worst", float("nan"))
    return bool(np.isfinite(cover) and cover <= float(th["smear_cover_max"])
                and m.get("outline_cover_across", 0.0) >= float(th["smear_cover_across"]))


HALVES = ("left", "right", "top", "bottom")
BANDS = ("left side", "right side", "top", "bottom", "middle")


def _half_name(metrics: dict[str, float]) -> str:
    i = int(metrics.get("worst_half", -1.0))
    return HALVES[i] if 0 <= i < len(HALVES) else "worst"


def _band_name(metrics: dict[str, float]) -> str:
    i = int(metrics.get("worst_band", -1.0))
    return BANDS[i] if 0 <= i < len(BANDS) else "worst part"


def regional_blur(sigma: np.ndarray, ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int],
                  percentile: float, min_edges: int, min_share: float
                  ) -> tuple[float, str, float]:
    """The blur of the product's worst half and of its best: ``(worst, which half, best)``.

    The product's view is cut into its left, right, top and bottom halves; each half with at
    least ``min_edges`` edges and ``min_share`` of all of them gets the ``percentile``-th
    percentile of its blur widths. The pooled percentile lets the sharpest part decide (so the
    soft edge of a fold is not blur), and so did a product half out of focus (a phone that
    focused on the near end): 0.82 AUROC on half-defocused tune shots against 0.98 for the worst
    half. A focus that falls off across the product is what a depth-of-field map shows
    (Zhuo & Sim 2011, the measure's own paper, reads it per edge); halves keep enough edges in
    each part to be stable."""
    if len(sigma) == 0:
        return 0.0, "", 0.0
    h, w = shape
    parts = (xs < w / 2, xs >= w / 2, ys < h / 2, ys >= h / 2)
    return _worst_and_best(sigma, dict(zip(HALVES, parts, strict=True)), percentile,
                           max(min_edges, int(min_share * len(sigma))))


def _worst_and_best(sigma: np.ndarray, parts: dict[str, np.ndarray], percentile: float,
                    need: int) -> tuple[float, str, float]:
    """``(worst, which, best)`` of the ``percentile``-th blur percentile over the ``parts``
    (bool masks over the edges) holding ``need`` edges or more; the pooled one when none does."""
    stats = {k: float(np.percentile(sigma[m], percentile)) for k, m in parts.items()
             if int(m.sum()) >= need}
    if not stats:
        v = float(np.percentile(sigma, percentile))
        return v, "", v
    worst = max(stats, key=lambda k: stats[k])
    return stats[worst], worst, min(stats.values())


def band_blur(sigma: np.ndarray, ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int],
              percentile: float, min_edges: int, min_share: float, frac: float
              ) -> tuple[float, str, float]:
    """The blur of the product's worst band and of its best: ``(worst, which, best)``.

    The bands are the outer ``frac`` of the product's view on each side and its middle (the
    central half of each axis); each with at least ``min_edges`` edges and ``min_share`` of all
    of them gets the ``percentile``-th percentile of its blur widths. A focus that falls off
    across the product (a tilted focal plane: sharp up to a line, softer and softer past it)
    blurs its far side most, where a half would average it with the part still near the focus;
    the bands read it there (the ``focus_falloff`` family, README)."""
    if len(sigma) == 0:
        return 0.0, "", 0.0
    h, w = shape
    masks = (xs < frac * w, xs >= (1.0 - frac) * w, ys < frac * h, ys >= (1.0 - frac) * h,
             (np.abs(xs - w / 2) < 0.25 * w) & (np.abs(ys - h / 2) < 0.25 * h))
    return _worst_and_best(sigma, dict(zip(BANDS, masks, strict=True)), percentile,
                           max(min_edges, int(min_share * len(sigma))))


def _central_window(box: tuple[int, int, int, int], max_side: int,
                    *arrays: np.ndarray) -> list[np.ndarray]:
    """Each array cut to ``box`` and then to its central window at most ``max_side`` long on
    each axis (the same window for all)."""
    x0, y0, x1, y1 = box
    out = [a[y0:y1, x0:x1] for a in arrays]
    h, w = out[0].shape[:2]
    if max(h, w) > max_side:
        cy, cx = h // 2, w // 2
        hh, hw = min(h, max_side) // 2, min(w, max_side) // 2
        out = [a[cy - hh:cy + hh, cx - hw:cx + hw] for a in out]
    return out


def detail_spectrum(gray: np.ndarray, box: tuple[int, int, int, int],
                    factors: tuple[float, ...], max_side: int = 640, noise: float = 0.0
                    ) -> tuple[np.ndarray, float]:
    """Share of the fine detail that survives a round trip through each size in ``factors``.

    ``D(f)`` is the mean squared difference between the crop and the crop shrunk to ``f`` of its
    size (area) and enlarged back (bicubic): the detail finer than ``f`` x its resolution. Returns
    ``D(f) / D(f_min)`` per factor (the share of the detail between ``f_min`` and full
    resolution that lies above ``f``) and ``D(f_min)``. A photo with a natural 1/f^2 power
    spectrum (Field, JOSA A 4(12), 1987) keeps about ``ln(1/f) / ln(1/f_min)`` of it above
    ``f``; a photo enlarged from ``f0`` of its size has next to none above ``f0``: the
    resampling detection of Popescu & Farid ("Exposing digital forgeries by detecting traces of
    resampling", IEEE TSP 53(2), 2005) reduced to the one question a seller needs answered.

    ``noise``: the sensor noise's sd (grey 0..1) at this resolution, whose share of each
    ``D(f)`` is taken out (:func:`without_noise`).
    """
    # a central window at most max_side long keeps the cost fixed; the detail is local anyway
    (crop,) = _central_window(box, max_side, gray)
    h, w = crop.shape
    if min(h, w) < 32:
        return np.ones(len(factors)), 0.0
    d_arr = np.asarray([without_noise(_round_trip(crop, f), f, noise) for f in factors])
    ref = float(d_arr[-1])
    return d_arr / max(ref, 1e-12), ref


@cache
def white_noise_detail(f: float) -> float:
    """``D(f)`` of white noise of unit variance: the share of its power a round trip through
    ``f`` of the size removes (0.87 at 0.4, 0.99 at 0.125; within 1% for any crop of 97-512
    px), read once on a fixed draw of 256 x 256."""
    g = np.random.default_rng(0).normal(0.0, 1.0, (256, 256)).astype(np.float32)
    return _round_trip(g, f)


def without_noise(d: float, f: float, noise: float) -> float:
    """``D(f)`` less the part of it that sensor noise of sd ``noise`` (grey 0..1) makes:
    ``max(0, D(f) - noise^2 k(f))``, ``k`` = :func:`white_noise_detail`. Noise is detail at
    every scale, so a blurred or enlarged photo with a camera's grain reads as holding fine
    detail it does not have (a held photo blurred by 2.5 px with noise of sd 2: sharpness 0 ->
    91); independent noise adds its power to the image's, so its expected share is subtracted
    (the noise-power subtraction of spectral estimation: Boll, "Suppression of acoustic noise
    in speech using spectral subtraction", IEEE TASSP 27(2), 1979)."""
    if noise <= 0.0:
        return d
    return max(0.0, d - noise * noise * white_noise_detail(f))


def _round_trip(crop: np.ndarray, f: float) -> float:
    """``D(f)``: the mean squared difference between ``crop`` and ``crop`` shrunk to ``f`` of its
    size (area) and enlarged back (bicubic), its 4 px border left out (it resamples badly)."""
    h, w = crop.shape
    small = cv2.resize(crop, (max(4, round(w * f)), max(4, round(h * f))),
                       interpolation=cv2.INTER_AREA)
    back = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    diff = (crop - back)[4:-4, 4:-4]
    return float(np.mean(diff * diff))


def full_res_detail(tiles: np.ndarray, test: float, ref: float, noise: float = 0.0
                    ) -> tuple[float, float]:
    """(share, energy) of the detail of the original pixels (``LoadedImage.full_res_tiles``,
    grey uint8 windows spread over the frame): ``sum D(test) / sum D(ref)`` over the tiles (the
    :func:`detail_spectrum` round trip; a plain tile adds next to nothing to either sum) and the
    mean ``D(ref)``. A photo enlarged ``k`` times holds nothing above ``1 / k`` of its
    resolution, so ``D(test)`` vanishes once ``k >= 1 / test``; ``ref`` is low (0.125) so that a
    photo enlarged up to 5x still has its content in the reference band. ``noise``: the sensor
    noise's sd (grey 0..1) at the original's resolution, taken out of each tile's reads
    (:func:`without_noise`)."""
    num = den = 0.0
    for t in tiles:
        crop = t.astype(np.float32) * np.float32(1 / 255)
        num += without_noise(_round_trip(crop, test), test, noise)
        den += without_noise(_round_trip(crop, ref), ref, noise)
    energy = den / max(len(tiles), 1)
    return num / max(den, 1e-12), energy


# Half of the full-resolution tiles, in a checkerboard over their 4 x 4 grid (the noise's robust
# median reads the same on 8 as on 16: equal to 1e-5 on the blur-with-noise photos tried).
_NOISE_TILES = [0, 2, 5, 7, 8, 10, 13, 15]


def tile_noise_sd(tiles: np.ndarray) -> float:
    """Sensor noise (grey levels) of the original pixels: :func:`noise_sigma`'s estimate on
    the full-resolution tiles (``LoadedImage.full_res_tiles``), a checkerboard half of them
    stacked into one image, the rows where two tiles meet left out."""
    t = tiles[[i for i in _NOISE_TILES if i < len(tiles)]] if len(tiles) > 1 else tiles
    n, h, w = t.shape
    if h < 8 or w < 8:
        return 0.0
    stack = t.reshape(n * h, w).astype(np.float32) * np.float32(1 / 255)
    keep = np.ones((n, h, w), bool)
    keep[:, :3] = keep[:, -3:] = False
    return _immerkaer([(stack, keep.reshape(n * h, w))])


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def _tile_boxes(box: tuple[int, int, int, int], max_side: int, tiles: int
                ) -> list[tuple[int, int, int, int]]:
    """``box`` itself when it fits in ``max_side``, else ``tiles`` x ``tiles`` windows of
    ``max_side // tiles`` px centred on an even grid over it (one central window of
    ``max_side`` when ``tiles`` is 1)."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    if max(bw, bh) <= max_side:
        return [box]
    if tiles <= 1:  # one central window (the measure before the spread windows)
        cx, cy, hw, hh = x0 + bw // 2, y0 + bh // 2, min(bw, max_side) // 2, min(bh, max_side) // 2
        return [(cx - hw, cy - hh, cx + hw, cy + hh)]
    t = max(8, max_side // tiles)
    out = []
    for i in range(tiles):
        for j in range(tiles):
            cx = x0 + (2 * j + 1) * bw // (2 * tiles)
            cy = y0 + (2 * i + 1) * bh // (2 * tiles)
            tx0, ty0 = max(x0, cx - t // 2), max(y0, cy - t // 2)
            out.append((tx0, ty0, min(x1, tx0 + t), min(y1, ty0 + t)))
    return out


def _noise_windows(gray: np.ndarray, region: np.ndarray, box: tuple[int, int, int, int],
                   max_side: int, tiles: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(grey 0..1, product region) of each window :func:`noise_sigma` reads."""
    out = []
    for bx0, by0, bx1, by1 in _tile_boxes(box, max_side, tiles):
        g = gray[by0:by1, bx0:bx1]
        if min(g.shape) >= 8:
            out.append((g, region[by0:by1, bx0:bx1]))
    return out


def _immerkaer(windows: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Immerkaer's robust noise sd (grey levels) pooled over the windows' flatter product pixels
    (formula in :func:`noise_sigma`)."""
    rs, ms = [], []
    for gray, region in windows:
        g = gray * 255.0
        reg = cv2.erode(region.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        reg &= (g > 4.0) & (g < 251.0)
        if not reg.any():
            continue
        mag = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
        rs.append(np.abs(cv2.filter2D(g, -1, _IMMERKAER))[reg])
        ms.append(mag[reg])
    if not rs:
        return 0.0
    resp, mag = np.concatenate(rs), np.concatenate(ms)
    if len(resp) < 256:
        return 0.0
    # mag <= its median keeps the values <= the lower middle one (for an even count the median
    # lies between the two middle values, and no value lies strictly between them; only a
    # float32 mean rounded onto the upper one could differ): one rank found, not np.median's two
    k = (len(mag) - 1) // 2
    flat = resp[mag <= np.partition(mag, k)[k]]
    return float(np.median(flat) / (0.6745 * 6.0)) if len(flat) else 0.0


def noise_sigma(gray: np.ndarray, region: np.ndarray, box: tuple[int, int, int, int],
                max_side: int = 320, tiles: int = 4) -> float:
    """Sensor noise on the product: the standard deviation (grey levels 0..255) of the noise.

    Immerkaer's operator ``N = [[1, -2, 1], [-2, 4, -2], [1, -2, 1]]`` (the difference of two
    Laplacians: "Fast noise variance estimation", CVIU 64(2), 1996) cancels every smooth
    (planar and nearly planar) image structure and leaves white noise of sd ``sigma`` with sd
    ``6 sigma`` (the root sum of squares of ``N``). It is taken on the flatter half of the
    product (gradient below its median, so texture and edges count little) and its robust
    scale is the median absolute value over 0.6745 (Donoho & Johnstone, Biometrika 81(3),
    1994): ``sigma = median(|I * N|) / (0.6745 * 6)``. Clipped pixels (a white backdrop, a
    blown highlight, crushed black) carry no noise and are left out.

    Where it is read: the whole product box when it fits in ``max_side``, else ``tiles`` x
    ``tiles`` windows spread evenly over it (``max_side`` px of pixels either way, so the cost
    is fixed). Spread windows see the same parts of the product whatever its size in pixels,
    so a photo and its reframed copy (the product shown larger) are read on the same places;
    one central window read a different part at each size (noise 1.7 vs 3.7 grey levels on one
    photo and its crop) and on large products mostly the print or logo at the centre.
    """
    return _immerkaer(_noise_windows(gray, region, box, max_side, tiles))


def noise_scale_ratio(gray: np.ndarray, region: np.ndarray, box: tuple[int, int, int, int],
                      max_side: int = 320, tiles: int = 4, min_sigma: float = 0.0
                      ) -> tuple[float, float]:
    """(``noise_sigma``, the same estimate on the same windows at half size over it).

    Averaging 2 x 2 pixels halves white noise's sd, so sensor grain reads a ratio near 0.5
    (0.65-0.8 on the noise families, whose grain the JPEG save and the loader's resize have
    made a little coarser), while a print or pattern whose detail is coarser than a pixel
    reads *more* at half size, where its strokes are finer (1.4-2.9 on the amateur photos of
    aztec, palm, floral and check prints that read 4-12 grey levels of "noise"): the scale
    test of white noise (cf. the scale-space noise estimation of Zoran & Weiss, "Scale
    invariance and noise in natural images", ICCV 2009). Texture as fine as a pixel (a
    heathered jersey, a piqué weave) reads like noise at both sizes: this cannot tell it apart.
    The ratio is nan when there is no noise to compare (0 at full size), and when the noise at
    full size is at most ``min_sigma``: the caller's level under which the ratio cannot change a
    verdict (a third of the measure's cost, on most photos)."""
    wins = _noise_windows(gray, region, box, max_side, tiles)
    full = _immerkaer(wins)
    if full <= max(0.0, min_sigma):
        return full, float("nan")
    half = []
    for g, r in wins:
        size = (max(1, g.shape[1] // 2), max(1, g.shape[0] // 2))
        half.append((cv2.resize(g, size, interpolation=cv2.INTER_AREA),
                     cv2.resize(r.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0))
    return full, _immerkaer(half) / full


def texture_weight(ratio: float, th: dict) -> float:
    """How much of the read noise is believed to be noise: 1 up to ``noise_texture_ratio_lo``
    (grain), 0 from ``noise_texture_ratio_hi`` (a print), linear between; 1 when unknown."""
    if not np.isfinite(ratio):
        return 1.0
    return ramp(ratio, float(th["noise_texture_ratio_lo"]), float(th["noise_texture_ratio_hi"]))


def blur_map(eb: EdgeBlur, work_shape: tuple[int, int], sigma_good: float,
             sigma_bad: float) -> np.ndarray:
    """Blurriness in [0, 1] per working pixel (1 = as blurry as ``sigma_bad``, 0 = sharp or flat).

    Edge values are spread to their neighbourhood by normalised convolution (Knutsson & Westin,
    CVPR 1993) and faded out where there are no edges, so flat areas show nothing. The Gaussian
    (``k`` = long side / 64 canonical px) is wide, so it runs on a grid ``k // 2`` times coarser
    (edge values summed per cell): the box binning adds ~2% to its width and saves ~90% of the
    time this map, drawn only by the dashboard, used to take.
    """
    out = np.zeros(work_shape, np.float32)
    if len(eb.sigma) == 0:
        return out
    h, w = eb.shape
    k = max(2.0, max(h, w) / 64.0)
    f = max(1, int(k // 2))
    hc, wc = -(-h // f), -(-w // f)
    cell = (eb.ys // f) * wc + eb.xs // f
    b = np.clip((eb.sigma - sigma_good) / max(sigma_bad - sigma_good, 1e-6), 0, 1)
    val = np.bincount(cell, weights=b, minlength=hc * wc).reshape(hc, wc).astype(np.float32)
    wt = np.bincount(cell, minlength=hc * wc).reshape(hc, wc).astype(np.float32)
    num = cv2.GaussianBlur(val, (0, 0), k / f)
    den = cv2.GaussianBlur(wt, (0, 0), k / f)
    dense = num / np.maximum(den, 1e-6)
    # A straight edge through a neighbourhood gives a density (per canonical pixel) of
    # 1 / (sqrt(2 pi) k): full confidence from half of that on. A cell holds f * f pixels.
    conf = np.clip(den / (f * f) * 2.0 * np.sqrt(2.0 * np.pi) * k, 0, 1)
    dense *= conf
    if f > 1:
        dense = cv2.resize(dense, (wc * f, hc * f), interpolation=cv2.INTER_LINEAR)[:h, :w]
    x0, y0, x1, y1 = eb.box
    out[y0:y1, x0:x1] = cv2.resize(dense, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    return out


def score(sigma_stat: float, th: dict) -> float:
    return ramp(sigma_stat, float(th["sigma_good"]), float(th["sigma_bad"]), top=100.0)


def effective_factor(share: float, th: dict) -> float:
    """How much of its size the photo's detail fills: the detail share over that of a typical
    sharp studio photo (``detail_ref``, the tuning split's median), at most 1. Under the 1/f^2
    model the share above ``f`` grows with the photo's true resolution; the ratio is a rough,
    monotone estimate (an upscaled photo's true size varies by +-30% around it)."""
    return float(min(1.0, max(0.05, share / float(th["detail_ref"]))))


def jpeg_quality(ctx: ImageContext) -> float:
    """The coarsest JPEG save the original shows (IJG quality), nan when unknown."""
    qs = [q for q in (ctx.image.jpeg_quality, ctx.image.jpeg_history_quality) if q is not None]
    return float(min(qs)) if qs else float("nan")


def score_all(m: dict[str, float], th: dict) -> float:
    """The lowest of the pooled edge blur (or the surface's, when it flags), the worst
    direction's, the worst half's, the detail, the noise and the JPEG-compression scores."""
    pooled = score(m["edge_blur_px"], th)
    worst = ramp(m["edge_blur_worst_dir_px"], float(th["dir_sigma_good"]),
                 float(th["dir_sigma_bad"]), top=100.0)
    detail = min([100.0] + [ramp(r.share, r.good, r.bad, top=100.0) for r in detail_reads(m, th)])
    noise = ramp(m.get("noise_sd", 0.0), float(th["noise_good"]), float(th["noise_bad"]),
                 top=100.0)
    jpeg = m.get("jpeg_quality", float("nan"))
    compressed = 100.0 if not np.isfinite(jpeg) else ramp(
        jpeg, float(th["jpeg_quality_good"]), float(th["jpeg_quality_bad"]), top=100.0)
    half_good, half_bad = float(th["half_sigma_good"]), float(th["half_sigma_bad"])
    half = ramp(m.get("edge_blur_worst_half_px", 0.0), half_good, half_bad, top=100.0)
    if part_out_of_focus(m, th):  # flagged under the half line (uneven halves, bands): as at it
        half = min(half, ramp(float(th["half_sigma_flag"]), half_good, half_bad, top=100.0))
    cause = surface_cause(m, th, outline_read(m, th))
    surface = _surface_scores(m, th, cause)
    if cut_edge_only(m, th):  # the view's readings are the cut's: the surface's count
        pooled, worst = surface
        half = 100.0
    elif cause is not None:
        pooled, worst = min(pooled, surface[0]), min(worst, surface[1])
    if smeared_away(m, th) and not cut_edge_only(m, th):
        worst = 0.0  # the edges along the smear are gone: as blurred as the widths can read
    repeated = 100.0
    if pixelated(m, th):
        repeated = ramp(m["pixel_repeat_depth"], float(th["repeat_depth_good"]),
                        float(th["repeat_depth_bad"]), top=100.0)
    return min(pooled, worst, half, detail, noise, compressed, repeated)


def _surface_and_outline(eb: EdgeBlur, pct: float, th: dict, min_edges: int
                         ) -> dict[str, float]:
    """The surface's and the outline's readings (:func:`outline_read`, :func:`cut_edge_only`)
    as metrics: each one's ``pct``-th percentile blur and the surface's contrast floor; where
    the two disagree, the surface's worst and best orientation too, and where the outline is the
    softer, the surface's halves and bands and the outline's halves and orientations (nan where
    not read: each needs ``min_edges`` edges, and the rest is read only where a rule asks for it,
    a few percent of photos)."""
    nan = float("nan")
    on = eb.on_outline if len(eb.on_outline) else np.zeros(len(eb.sigma), bool)
    sigma = eb.sigma[on]  # the outline's own edges: near it and running along it
    out = {"edge_blur_inside_px": nan, "n_edges_inside": float(len(eb.inside_sigma)),
           "edge_blur_inside_worst_dir_px": nan, "edge_blur_inside_best_dir_px": nan,
           "inside_worst_dir_deg": nan, "inside_edge_floor": eb.inside_floor,
           "edge_blur_outline_px": nan, "n_edges_outline": float(len(sigma))}
    # every photo carries the same metrics (nan: not read)
    out |= {f"edge_blur_inside_{k}_px": nan for k in _PART_READS}
    out |= {f"edge_blur_outline_{k}_px": nan
            for k in ("worst_dir", "best_dir", "worst_half", "best_half")}
    if len(eb.inside_sigma) >= min_edges:
        out["edge_blur_inside_px"] = float(np.percentile(eb.inside_sigma, pct))
    if len(sigma) >= min_edges:
        out["edge_blur_outline_px"] = float(np.percentile(sigma, pct))
    read = outline_read(out, th)
    if read is None:
        return out
    dirs = (pct, int(th["dir_bins"]), int(th["dir_min_edges"]), float(th["dir_min_share"]))
    worst, ang, _, best = directional_blur(eb.inside_sigma, eb.inside_theta, *dirs)
    out |= {"edge_blur_inside_worst_dir_px": worst, "edge_blur_inside_best_dir_px": best,
            "inside_worst_dir_deg": ang}
    if read is OutlineRead.SOFTER:
        out |= _parts_metrics("inside", eb.inside_sigma, eb.inside_ys, eb.inside_xs, eb.shape,
                              pct, th)
        worst, _, _, best = directional_blur(sigma, eb.theta[on], *dirs)
        hw, _, hb = regional_blur(sigma, eb.ys[on], eb.xs[on], eb.shape, pct,
                                  int(th["half_min_edges"]), float(th["half_min_share"]))
        out |= {"edge_blur_outline_worst_dir_px": worst, "edge_blur_outline_best_dir_px": best,
                "edge_blur_outline_worst_half_px": hw, "edge_blur_outline_best_half_px": hb}
    return out


_PART_READS = ("worst_half", "best_half", "worst_band", "best_band")


def _parts_metrics(name: str, sigma: np.ndarray, ys: np.ndarray, xs: np.ndarray,
                   shape: tuple[int, int], pct: float, th: dict) -> dict[str, float]:
    """The worst and best half and band of these edges, as ``edge_blur_{name}_*`` metrics."""
    hw, _, hb = regional_blur(sigma, ys, xs, shape, pct, int(th["half_min_edges"]),
                              float(th["half_min_share"]))
    bw, _, bb = band_blur(sigma, ys, xs, shape, pct, int(th["half_min_edges"]),
                          float(th["band_min_share"]), float(th["band_frac"]))
    return {f"edge_blur_{name}_worst_half_px": hw, f"edge_blur_{name}_best_half_px": hb,
            f"edge_blur_{name}_worst_band_px": bw, f"edge_blur_{name}_best_band_px": bb}


def _surface_scores(m: dict[str, float], th: dict, cause: BlurCause | None
                    ) -> tuple[float, float]:
    """(pooled, worst orientation) scores of the surface's readings on the whole view's ramps,
    the one that flags (``cause``, :func:`surface_cause`) at most as high as a view reading at
    its line would score (the surface's lines are lower than the view's: a surface flagged at
    0.95 px would score 100 on the view's ramp); 100 for a reading that is missing."""
    good, bad = float(th["sigma_good"]), float(th["sigma_bad"])
    v = m.get("edge_blur_inside_px", float("nan"))
    pooled = ramp(v, good, bad, top=100.0) if np.isfinite(v) else 100.0
    if cause is BlurCause.INSIDE:
        pooled = min(pooled, ramp(float(th["sigma_flag"]), good, bad, top=100.0))
    good, bad = float(th["dir_sigma_good"]), float(th["dir_sigma_bad"])
    w = m.get("edge_blur_inside_worst_dir_px", float("nan"))
    worst = ramp(w, good, bad, top=100.0) if np.isfinite(w) else 100.0
    if cause in (BlurCause.SURFACE_ONE_DIRECTION, BlurCause.SURFACE_SOFT):
        worst = min(worst, ramp(float(th["dir_sigma_flag"]), good, bad, top=100.0))
    return pooled, worst


class DetailRead(NamedTuple):
    """One detail read: its share, full marks at / 0 at, UPSCALED under, and whether it is the
    original pixels' (full resolution) or the working copy's."""

    share: float
    good: float
    bad: float
    flag: float
    full_res: bool


def detail_reads(m: dict[str, float], th: dict) -> list[DetailRead]:
    """The detail read that counts (the check makes one): the working copy's (``detail_share``,
    a photo no larger than the working size) or the original pixels' (``detail_share_full``: a
    photo enlarged past the working size keeps its detail there and loses it only at full size,
    where a zoom looks); only with enough detail energy to read (a plain product has none to
    lose)."""
    lo = float(th["detail_min_energy"])
    out = []
    if m["detail_energy"] >= lo:
        out.append(DetailRead(m["detail_share"], float(th["detail_good"]),
                              float(th["detail_bad"]), float(th["upscale_flag_share"]), False))
    if m.get("detail_energy_full", 0.0) >= lo and np.isfinite(m.get("detail_share_full", np.nan)):
        out.append(DetailRead(m["detail_share_full"], float(th["full_detail_good"]),
                              float(th["full_detail_bad"]), float(th["full_detail_flag"]), True))
    return out


def full_effective_factor(share: float, th: dict) -> float:
    """:func:`effective_factor` of the full-resolution read (``full_detail_ref``: its tuning
    median on clean photos)."""
    return float(min(1.0, max(0.05, share / float(th["full_detail_ref"]))))


def upscaled_effective_size(m: dict[str, float], th: dict, long_side: int) -> float | None:
    """The size (px, of ``long_side``) the photo's detail would fill when a detail read is under
    its UPSCALED line (the lowest estimate of those that are), else None."""
    sizes = [(full_effective_factor(r.share, th) if r.full_res
              else effective_factor(r.share, th)) * long_side
             for r in detail_reads(m, th) if r.share < r.flag]
    return min(sizes) if sizes else None


def pixelated(m: dict[str, float], th: dict) -> bool:
    """Pixels repeated in blocks (:mod:`analyzer.io.resampling`): a comb in the profile deep and
    standing out enough, not the JPEG block grid's, on a file not already flagged ``COMPRESSED``
    (whose block grid makes a comb of its own). On a lossless file (PNG, BMP, TIFF, GIF) a
    shallow comb (under ``repeat_lossless_deep``) counts only with exact copies, at least
    ``repeat_exact_min`` of the profile exactly zero: a smoothly enlarged JPEG saved as PNG
    keeps its old block grid, whose harmonics read as a shallow comb with none (the "~502 px"
    message of a 1.49x enlargement, the sixth new user's try)."""
    q = m.get("jpeg_quality", float("nan"))
    if np.isfinite(q) and q < float(th["jpeg_quality_flag"]):
        return False
    if (m.get("lossless_file", 0.0)
            and m.get("pixel_repeat_depth", 0.0) < float(th["repeat_lossless_deep"])
            and m.get("pixel_repeat_exact", 0.0) < float(th["repeat_exact_min"])):
        return False
    return (not m.get("pixel_repeat_grid", 0.0)
            and m.get("pixel_repeat_depth", 0.0) >= float(th["repeat_depth_good"])
            and m.get("pixel_repeat_ratio", 0.0) >= float(th["repeat_ratio_min"]))


class BlurCause(Enum):
    """Which reading of the edges a ``BLURRY`` flag stands on, and so what its message says."""

    EVERYWHERE = "everywhere"        # the pooled percentile: the product's edges as a whole
    ONE_DIRECTION = "one_direction"  # the worst orientation, clearly worse than the best: a smear
    SOFT = "soft"                    # the worst orientation, the others about as soft
    PART = "part"                    # the worst half of the product: a part out of focus
    INSIDE = "inside"                # the product's surface (the edges inside its outline)
    # the surface's worst orientation, where the outline and the surface disagree (OutlineRead)
    SURFACE_ONE_DIRECTION = "surface_one_direction"  # ... clearly worse than its best: a smear
    SURFACE_SOFT = "surface_soft"                    # ... its other orientations about as soft
    # the outline soft alike all round around a surface too plain to vouch for the photo
    # (CutEdge.FAINT): a feathered cut and a photo out of focus read alike there
    SOFT_OUTLINE = "soft_outline"
    # the outline along one direction with contrast but no edge left: a smear so long that the
    # edges it crosses are no longer read (:func:`smeared_away`)
    SMEARED_AWAY = "smeared_away"


class CutEdge(Enum):
    """What a soft outline, alike all round, around a surface that reads sharp says
    (:func:`cut_edge_read`)."""

    CUT = "cut"      # the surface holds real detail: the outline's softness is the cut's
    FAINT = "faint"  # the surface is too plain to vouch for the photo: a cut's or a camera's


class OutlineRead(Enum):
    """How the product's outline reads against its surface, where the two disagree."""

    SOFTER = "softer"    # a feathered cut, an outline a remover softened: the surface decides
    CRISPER = "crisper"  # a hard cut of a blurred photo: the surface is read as well


def blur_cause(m: dict[str, float], th: dict, measurable: bool = True) -> BlurCause | None:
    """The reading that makes the photo ``BLURRY``, or None (not blurry, or too few edges).

    A soft outline around a sharp surface is no cause (:func:`cut_edge_only`); the surface's
    own readings (:func:`surface_cause`) name one where the whole view's do not.

    The worst orientation flags whenever it passes ``dir_sigma_flag``, but it is named a
    one-direction smear (camera shake or motion) only when it is at least ``dir_spread_min``
    times the best orientation's blur: a motion blur widens the edges along the motion and
    leaves those across it, while a defocus or an enlargement widens all of them, and the
    worst of six orientations then passes the line a little before the pooled percentile does
    (the enlarged milk-carton icon was told "smeared in one direction ... across 75 deg" with
    its orientations blurred over 0.92-1.13 px, a spread of 1.23). The flag is the same either
    way; only its cause, and so the seller's reading of it, changes.
    """
    if not measurable:
        return None
    cut = cut_edge_read(m, th)
    if cut is CutEdge.CUT:  # a soft outline around a sharp surface: the cut's, not the camera's
        return None
    cause = _view_cause(m, th)
    if cause is not None and cut is CutEdge.FAINT:
        return BlurCause.SOFT_OUTLINE  # the same readings flag; the message says what is unknown
    return cause if cause is not None else surface_cause(m, th, outline_read(m, th))


def cut_edge_only(m: dict[str, float], th: dict) -> bool:
    """Whether the blur the view reads is a feathered cut's: a soft outline around a sharp
    surface (:func:`cut_edge_read` is ``CutEdge.CUT``). The readings the view's outline carries
    (pooled, directional, halves) then do not make the photo blurry: a background remover's
    "soften edge" of 1-3 px called 37% of the amateur tune senders' sharp cut-outs blurry
    (README, "The outline and the surface compared")."""
    return cut_edge_read(m, th) is CutEdge.CUT


def cut_edge_read(m: dict[str, float], th: dict) -> CutEdge | None:
    """``CutEdge.CUT`` when all of these hold, ``CutEdge.FAINT`` when all but the floor do,
    else None:

    - the outline clearly softer than the surface (:func:`outline_read`);
    - the surface sharp by its own lines (:func:`surface_cause`), in each half and band too
      (:func:`part_out_of_focus` on the surface's edges);
    - the outline as soft in every half (under ``half_uneven_ratio`` times its sharpest) and
      direction (under ``dir_spread_min``): a feather softens the whole outline alike, where a
      focus missing part of the product or a motion softens part of it or one direction of it.
      (Not its bands: the middle band holds next to none of the outline.)
    - the surface holds real detail: its contrast floor (30% of its strongest gradients) at
      least ``surface_min_floor``. A blurred product's surface keeps only faint specks (JPEG
      noise, grain), which read sharp at any blur: the surface of a stability ball blurred by
      2-3 px read 0.77 px on a floor of 0.015-0.03, where sharp photos' floors are 0.05-0.06
      (tune medians; the ball is a held photo, where the floor's need was seen).

    Under the floor the surface cannot vouch for the photo: a plain garment's faint weave and a
    blurred one's specks read alike, so its feathered cut-out and its blurred one do too (on
    the amateur tune senders, 58 sharp feathered cut-outs and 40 blurred ones stood there). The
    photo stays flagged as the view reads it, and the flag says so (``BlurCause.SOFT_OUTLINE``)
    rather than naming a camera's blur it cannot tell from the cut."""
    outline = outline_read(m, th)
    if outline is not OutlineRead.SOFTER or surface_cause(m, th, outline) is not None:
        return None
    surface = {f"edge_blur_{k}_px": m.get(f"edge_blur_inside_{k}_px", float("nan"))
               for k in _PART_READS}
    if not np.isfinite(surface["edge_blur_worst_half_px"]) or part_out_of_focus(surface, th):
        return None
    if not (_even(m, "outline", "half", float(th["half_uneven_ratio"]))
            and _even(m, "outline", "dir", float(th["dir_spread_min"]))):
        return None
    if not m.get("inside_edge_floor", 0.0) >= float(th["surface_min_floor"]):
        return CutEdge.FAINT
    return CutEdge.CUT


def _even(m: dict[str, float], name: str, part: str, ratio: float) -> bool:
    """``name``'s worst ``part`` (half or dir) under ``ratio`` times its best."""
    worst = m.get(f"edge_blur_{name}_worst_{part}_px", float("nan"))
    best = m.get(f"edge_blur_{name}_best_{part}_px", float("nan"))
    return bool(np.isfinite(worst) and np.isfinite(best) and worst < ratio * best)


def _view_cause(m: dict[str, float], th: dict) -> BlurCause | None:
    """The cause the readings of the whole view (the outline with the surface) give."""
    # first: the edges the widths would read along the smear are gone, so every width, the
    # pooled one too, understates it (a milk carton smeared across read "blurred over about
    # 1.2 px; sharp photos measure 1.15 px or less" at sharpness 0, a thirteenth new user's try)
    if smeared_away(m, th):
        return BlurCause.SMEARED_AWAY
    if m["edge_blur_px"] > float(th["sigma_flag"]):
        return BlurCause.EVERYWHERE
    worst = m["edge_blur_worst_dir_px"]
    if worst > float(th["dir_sigma_flag"]):
        smear = _smear(worst, m.get("edge_blur_best_dir_px", 0.0), th)
        return BlurCause.ONE_DIRECTION if smear else BlurCause.SOFT
    if part_out_of_focus(m, th):
        return BlurCause.PART
    return None


def outline_read(m: dict[str, float], th: dict) -> OutlineRead | None:
    """Whether the outline (the edges within ``inside_px`` of the mask's outline or in the
    margin outside it, running along it: ``EdgeBlur.on_outline``) and the surface (the edges
    further in) disagree: one's 30th-percentile blur at least ``outline_ratio`` times the
    other's; None when they agree or either is unread.

    A camera's blur (defocus, motion, an enlargement) widens the outline and the surface alike,
    since both are the same product at the same distance. A background remover's cut does not:
    a hard cut leaves a crisp outline around a blurred surface (``blur_cutout``), a feathered
    one a soft outline around a sharp surface (``feathered``: an app's "soften edge" of 1-3 px
    called 37% of the amateur tune senders' sharp cut-outs blurry, the soft outline carrying
    the pooled, directional and half readings). Where they disagree, the outline says how the
    cut was made and the surface how the photo was taken."""
    o = m.get("edge_blur_outline_px", float("nan"))
    i = m.get("edge_blur_inside_px", float("nan"))
    if not (np.isfinite(o) and np.isfinite(i)) or min(o, i) <= 0.0:
        return None
    r = float(th["outline_ratio"])
    if o >= r * i:
        return OutlineRead.SOFTER
    if i >= r * o:
        return OutlineRead.CRISPER
    return None


def _surface_lines(th: dict, outline: OutlineRead | None) -> tuple[float, float | None]:
    """(the surface's pooled line, its worst orientation's line or None): the surface lines
    (``surface_sigma_flag``, ``surface_dir_sigma_flag``) where the outline disagrees, else
    ``inside_sigma_flag`` alone."""
    if outline is None:
        return float(th["inside_sigma_flag"]), None
    return float(th["surface_sigma_flag"]), float(th["surface_dir_sigma_flag"])


def surface_cause(m: dict[str, float], th: dict, outline: OutlineRead | None = None
                  ) -> BlurCause | None:
    """The cause the surface's own readings give (``INSIDE``, ``SURFACE_ONE_DIRECTION``,
    ``SURFACE_SOFT``), or None: its pooled blur past its line, or, where the outline disagrees
    with it, its worst orientation past ``surface_dir_sigma_flag`` (named a smear as
    :func:`blur_cause` names the whole view's).

    The surface is the edges more than ``inside_px`` canonical px inside the outline, read with
    their own contrast floor (:func:`~analyzer.vision.edge_blur.measure_edge_blur`). A blurred
    phone photo whose background an app removed keeps an outline as crisp as the cut, and the
    outline, the view's strongest and most numerous edges, then carries every other reading
    (the amateur tune senders' blurred cut-outs: found 50% before this read)."""
    v = m.get("edge_blur_inside_px", float("nan"))
    if not np.isfinite(v):  # no surface read (a mask not found, too few edges inside)
        return None
    pooled_line, dir_line = _surface_lines(th, outline)
    if v > pooled_line:
        return BlurCause.INSIDE
    worst = m.get("edge_blur_inside_worst_dir_px", float("nan"))
    if dir_line is None or not (np.isfinite(worst) and worst > dir_line):
        return None
    smear = _smear(worst, m.get("edge_blur_inside_best_dir_px", 0.0), th)
    return BlurCause.SURFACE_ONE_DIRECTION if smear else BlurCause.SURFACE_SOFT


def _smear(worst: float, best: float, th: dict) -> bool:
    """A worst orientation at least ``dir_spread_min`` times the best one's blur (any, when the
    best reads 0): a one-direction smear, not an even blur (:func:`blur_cause`)."""
    spread = worst / best if best > 0 else float("inf")
    return spread >= float(th["dir_spread_min"])


def uneven_halves(m: dict[str, float], th: dict) -> bool:
    """One half of the product clearly softer than another (``half_uneven_ratio`` times its
    blur at least) and past ``half_uneven_flag``: a focus that missed part of the product.

    A photo in focus reads about the same in every half (tune: the worst half at most 1.26
    times the best for 9 in 10 clean studio shots); a photo soft all over is the other readings'
    to flag, and they name it so. A phone photo half out of focus is often softer than the
    studio shots' line on its worst half by only a little (the amateur tune senders' copies:
    median 1.15 px against a line of 1.1, found 52%), while its halves differ by 1.5x."""
    return _uneven(m.get("edge_blur_worst_half_px", 0.0), m.get("edge_blur_best_half_px", 0.0),
                   float(th["half_uneven_flag"]), float(th["half_uneven_ratio"]))


def uneven_bands(m: dict[str, float], th: dict) -> bool:
    """The product's worst band (:func:`band_blur`: a side or its middle) past the half's line
    (``half_sigma_flag``) and ``half_uneven_ratio`` times as blurred as its sharpest band: a
    focus falling off across the product, read where it is softest. No line was chosen for the
    bands: the halves' lines, which on tune flag no clean photo more here."""
    return _uneven(m.get("edge_blur_worst_band_px", 0.0), m.get("edge_blur_best_band_px", 0.0),
                   float(th["half_sigma_flag"]), float(th["half_uneven_ratio"]))


def _uneven(worst: float, best: float, line: float, ratio: float) -> bool:
    """The worst part past ``line`` and at least ``ratio`` times the best part's blur."""
    return best > 0.0 and worst > line and worst >= ratio * best


def half_out_of_focus(m: dict[str, float], th: dict) -> bool:
    """The product's worst half past ``half_sigma_flag``, or past the lower line of
    :func:`uneven_halves` when its halves differ that much."""
    return (m.get("edge_blur_worst_half_px", 0.0) > float(th["half_sigma_flag"])
            or uneven_halves(m, th))


def part_out_of_focus(m: dict[str, float], th: dict) -> bool:
    """A half out of focus (:func:`half_out_of_focus`) or a band (:func:`uneven_bands`)."""
    return half_out_of_focus(m, th) or uneven_bands(m, th)


def past_line(value: float, line: float) -> str:
    """``value`` with two decimals, or three when two would round it onto ``line`` or under:
    a reading just past its line (1.104 px against 1.1) then does not print as the line itself
    (one within 0.0005 of it still does)."""
    text = f"{value:.2f}"
    return text if value <= line or float(text) > line else f"{value:.3f}"


def _half_line_text(m: dict[str, float], th: dict) -> str:
    """The line a part out of focus passed, in the seller's words (after the halves' blur)."""
    if m["edge_blur_worst_half_px"] > float(th["half_sigma_flag"]):
        return (f"; sharp photos measure {th['half_sigma_flag']} px or less everywhere on the "
                "product")
    ratio = m["edge_blur_worst_half_px"] / m["edge_blur_best_half_px"]
    return (f": {ratio:.1f} times as blurred, where a photo in focus reads about the same in "
            "every half")


def _surface_flag(ctx: ImageContext, m: dict[str, float], th: dict, cause: BlurCause,
                  side: int) -> Flag:
    """``BLURRY`` read on the product's surface (:func:`surface_cause`), its message naming how
    the outline reads: crisp as a cut, soft as a feathered one, or like the surface."""
    outline = outline_read(m, th)
    pooled_line, dir_line = _surface_lines(th, outline)
    what = "the product itself is blurred"
    if outline is OutlineRead.CRISPER:
        what += " though its outline is crisp, as when the background of a blurred photo is removed"
    elif outline is OutlineRead.SOFTER:
        what += ", not only its soft outline"
    if cause is BlurCause.INSIDE:
        how = (f"the edges inside its outline are blurred over about "
               f"{past_line(m['edge_blur_inside_px'], pooled_line)} px (at {side} px product "
               f"size), while sharp photos measure {pooled_line:g} px or less there")
    else:
        smear = cause is BlurCause.SURFACE_ONE_DIRECTION
        worst = past_line(m["edge_blur_inside_worst_dir_px"], float(dir_line or 0.0))
        # the way the smear runs in words: a degree figure read as noise to sellers, and one
        # smear got 15 deg on one photo and 165 on another (a fourteenth new user's try)
        way = smear_words(m.get("inside_worst_dir_deg", 0.0))
        how = ((f"it is smeared {way} (camera shake or motion): " if smear else "")
               + ("the edges inside its outline that run across that way "
                  if smear else "its surface's softest edges ")
               + f"are blurred over about {worst} px, its crispest over "
               f"{m['edge_blur_inside_best_dir_px']:.2f} px (at {side} px product size), while "
               f"sharp photos measure {dir_line:g} px or less in every direction")
    fix = ("Retake it in focus before removing the background: a background remover cannot "
           "sharpen the product. Tap to focus on the product, steady the camera and add light."
           if outline is not None else
           "Retake it in focus: tap to focus on the product, steady the camera (tripod or "
           "timer) and add light so the shutter is faster.")
    return ctx.flag("BLURRY", f"{what}: {how}", fix, NAME)


def flags(ctx: ImageContext, metrics: dict[str, float], th: dict) -> list[Flag]:
    out: list[Flag] = []
    s = metrics["edge_blur_px"]
    sd = metrics["edge_blur_worst_dir_px"]
    eb_cfg = EdgeBlurSettings.load()
    side = eb_cfg.canonical_long_side
    cause = blur_cause(metrics, th, metrics["n_edges"] >= eb_cfg.min_edges)
    fix = ("Retake it in focus: tap to focus on the product, steady the camera (tripod or timer) "
           "and add light so the shutter is faster; never upscale a small photo.")
    if cause is BlurCause.EVERYWHERE:
        out.append(ctx.flag(
            "BLURRY",
            f"the product's edges are blurred over about {s:.1f} px (at "
            f"{side} px product size); sharp photos measure "
            f"{th['sigma_flag']} px or less", fix, NAME))
    elif cause is BlurCause.ONE_DIRECTION:
        out.append(ctx.flag(
            "BLURRY",
            f"the product is smeared {smear_words(metrics['worst_dir_deg'])} (camera shake or "
            f"motion): the edges that run across that way are blurred over about {sd:.1f} px, "
            f"the crispest over {metrics['edge_blur_best_dir_px']:.1f} px (at {side} px product "
            f"size), while sharp photos measure {th['dir_sigma_flag']} px or less in every "
            "direction", fix, NAME))
    elif cause is BlurCause.SMEARED_AWAY:
        out.append(ctx.flag(
            "BLURRY",
            f"the product is smeared {smear_words(metrics['outline_cover_deg'])} (camera shake "
            f"or motion): where its outline runs across the smear, "
            f"{1.0 - metrics['outline_cover_worst']:.0%} of it has no sharp edge left (spread "
            f"into a gradual fade), while {metrics['outline_cover_across']:.0%} of it is crisp "
            "the other way", fix, NAME))
    elif cause is BlurCause.SOFT:
        out.append(ctx.flag(
            "BLURRY",
            f"the product's edges are soft in every direction: its softest edges are blurred "
            f"over about {past_line(sd, float(th['dir_sigma_flag']))} px, its crispest over "
            f"{metrics['edge_blur_best_dir_px']:.2f} px (at {side} px product size), while "
            f"sharp photos measure {th['dir_sigma_flag']} px or less in every direction", fix,
            NAME))
    elif cause is BlurCause.PART:
        if half_out_of_focus(metrics, th):
            # two decimals where the ratio is the point (1.0 over 0.7 px would not read 1.5x)
            d = 1 if metrics["edge_blur_worst_half_px"] > float(th["half_sigma_flag"]) else 2
            where = (f"its {_half_name(metrics)} half's edges are blurred over about "
                     f"{metrics['edge_blur_worst_half_px']:.{d}f} px (at {side} px product "
                     f"size), its sharpest half's over {metrics['edge_blur_best_half_px']:.{d}f} "
                     f"px{_half_line_text(metrics, th)}")
        else:
            ratio = metrics["edge_blur_worst_band_px"] / metrics["edge_blur_best_band_px"]
            where = (f"the edges of its {_band_name(metrics)} are blurred over about "
                     f"{metrics['edge_blur_worst_band_px']:.2f} px (at {side} px product size), "
                     f"its sharpest part's over {metrics['edge_blur_best_band_px']:.2f} px: "
                     f"{ratio:.1f} times as blurred, where a photo in focus reads about the same "
                     "everywhere on the product")
        out.append(ctx.flag(
            "BLURRY", f"part of the product is out of focus: {where}",
            "Retake it with the whole product in focus: step back a little or focus on its "
            "middle, and add light so the camera can close the aperture.", NAME))
    elif cause in (BlurCause.INSIDE, BlurCause.SURFACE_ONE_DIRECTION, BlurCause.SURFACE_SOFT):
        out.append(_surface_flag(ctx, metrics, th, cause, side))
    elif cause is BlurCause.SOFT_OUTLINE:
        out.append(ctx.flag(
            "BLURRY",
            # the outline against the surface, the reading that names this cause (its ratio is
            # at least outline_ratio by construction; the view's own line may be a direction's
            # or a half's, which the outline's pooled blur need not pass)
            f"the product's outline is soft all round: its edges are blurred over about "
            f"{metrics['edge_blur_outline_px']:.1f} px (at {side} px product size), "
            f"{metrics['edge_blur_outline_px'] / metrics['edge_blur_inside_px']:.1f} times its "
            f"surface's {metrics['edge_blur_inside_px']:.2f} px, and its surface is too plain "
            "to show whether the photo itself is sharp. A background remover's feathered "
            "(\"soften edge\") cut looks like this, and so does a photo out of focus",
            "If you removed the background with an app, export the cut-out again with a hard "
            "edge (feather or soften edge off) and upload that; otherwise retake it in focus: "
            "tap to focus on the product, steady the camera and add light.", NAME))
    long_side = max(ctx.image.width, ctx.image.height)
    if (not out and pixelated(metrics, th)
            and metrics["pixel_repeat_depth"] >= float(th["repeat_depth_flag"])):
        per = max(metrics["pixel_repeat_period"], 1.0)
        out.append(ctx.flag(
            "UPSCALED",
            f"the photo is pixelated: its pixels repeat in blocks of about {per:.1f} px, as when "
            f"a ~{long_side / per:.0f} px photo is enlarged to {long_side} px without smoothing",
            "Upload the original camera file, not an enlarged copy; shoot at the camera's full "
            "resolution and never enlarge a small photo.", NAME))
    eff = upscaled_effective_size(metrics, th, long_side)
    if not out and eff is not None:
        out.append(ctx.flag(
            "UPSCALED",
            f"the photo holds less detail than its size claims: it looks like a ~{eff:.0f} px "
            f"photo enlarged to {long_side} px (or one out of focus, or very strongly "
            "compressed)",
            # The detail read cannot tell an enlargement from a soft original (a grainy photo
            # from a dim room reads the same), so the fix names both.
            "Upload the original camera file, not a resized or re-saved copy; if this is the "
            "original, retake it in focus: tap to focus on the product, steady the camera and "
            "add light.", NAME))
    if metrics.get("noise_sd", 0.0) > float(th["noise_flag"]):
        out.append(ctx.flag(
            "NOISY",
            f"the product is grainy: sensor noise of about {metrics['noise_sd']:.1f} grey "
            f"levels on its smooth parts (clean studio photos: {th['noise_good']} or less)",
            "Add light instead of raising the camera's ISO or brightening a dark photo "
            "afterwards; a tripod allows a longer exposure at low ISO.", NAME))
    q = metrics.get("jpeg_quality", float("nan"))
    if np.isfinite(q) and q < float(th["jpeg_quality_flag"]):
        file_q = ctx.image.jpeg_quality
        resaved = (f", then re-saved at quality {file_q:.0f}, which keeps the damage"
                   if file_q is not None and file_q - q >= 10 else "")
        out.append(ctx.flag(
            "COMPRESSED",
            f"the photo was saved as a heavily compressed JPEG (quality about {q:.0f} of 100"
            f"{resaved}): fine detail and texture are lost to 8 x 8 pixel blocks",
            "Upload the camera's original file, or export again from the original at JPEG "
            "quality 85-95; re-saving a compressed copy at a higher quality does not bring the "
            "detail back.", NAME))
    return out


@register(NAME, maps=(MapKind.BLUR,))
def check(ctx: ImageContext) -> CheckResult:
    th = ctx.thresholds(NAME)
    eb_cfg = EdgeBlurSettings.load()
    region, box, r = _region(ctx, th, eb_cfg)
    # Read noise at or under noise_good (and noise_flag) scores full marks and flags nothing
    # whatever the scale test says, so the test is skipped there (noise_sd is then the read noise).
    quiet = min(float(th["noise_good"]), float(th["noise_flag"]))
    noise_raw, noise_ratio = noise_scale_ratio(ctx.gray, region, box, int(th["noise_max_side"]),
                                               int(th["noise_tiles"]), quiet)
    print_weight = texture_weight(noise_ratio, th)
    noise_judged = noise_raw * print_weight
    # The grain's share of the edge gradients is taken out (edge_blur's docstring) from
    # edge_noise_min on: under it the read "noise" is as much fine texture as grain.
    edge_noise = (noise_judged / 255.0 if noise_judged >= float(th["edge_noise_min"])
                  else 0.0)
    eb = measure_edge_blur(ctx.gray, region, box, eb_cfg.canonical_long_side,
                           eb_cfg.reblur_sigma, eb_cfg.min_edge_contrast, eb_cfg.min_edge_floor,
                           grow_px=r, noise=edge_noise, noise_min_snr=eb_cfg.noise_min_snr,
                           inside_px=float(th["inside_px"]) if r > 0.0 else 0.0)
    n = len(eb.sigma)
    pct = eb_cfg.percentile
    surface = _surface_and_outline(eb, pct, th, eb_cfg.min_edges)
    if n >= eb_cfg.min_edges:
        stat = float(np.percentile(eb.sigma, pct))
        median = float(np.median(eb.sigma))
        worst, ang, n_dir, best_dir = directional_blur(
            eb.sigma, eb.theta, pct, int(th["dir_bins"]), int(th["dir_min_edges"]),
            float(th["dir_min_share"]))
        half_worst, half_name, half_best = regional_blur(
            eb.sigma, eb.ys, eb.xs, eb.shape, pct, int(th["half_min_edges"]),
            float(th["half_min_share"]))
        band_worst, band_name, band_best = band_blur(
            eb.sigma, eb.ys, eb.xs, eb.shape, pct, int(th["half_min_edges"]),
            float(th["band_min_share"]), float(th["band_frac"]))
    else:  # nothing with edges to judge (a blank frame): do not call it blurry
        stat = median = worst = best_dir = half_worst = half_best = float(th["sigma_good"])
        band_worst = band_best = float(th["sigma_good"])
        ang, n_dir, half_name, band_name = 0.0, 0, "", ""
    cover, cover_across, cover_deg, cover_points = outline_cover(
        eb.cover_points, eb.cover_hits, int(th["smear_cover_min_points"]))
    factors = tuple(float(f) for f in th["detail_factors"])
    ref_i = factors.index(float(th["detail_test_factor"]))
    # The noise's share is taken out of the detail reads (without_noise) where the judged noise
    # is under NOISY's line; above it the noise outweighs the fine detail it would be taken out
    # of, a small error in its estimate then decides the share (measured: the noise and
    # low-light families read as enlarged), and NOISY names the photo instead. Nor under
    # detail_noise_min, the noise of a clean studio photo: there the read "noise" is as much the
    # finest texture and JPEG's ringing as grain.
    noise_out = (noise_judged / 255.0 if float(th["detail_noise_min"]) <= noise_judged
                 <= float(th["noise_flag"]) else 0.0)
    # The detail at the photo's own resolution: on the original pixels the loader kept when the
    # working copy is smaller (where the shrink hides an enlargement), else on the working copy,
    # which then is the original. One read, never both (the other's metrics: nan / 0).
    share_full, energy_full = float("nan"), 0.0
    tiles = ctx.image.full_res_tiles
    if tiles is not None and len(tiles):
        # the noise at the original's resolution, read on the tiles themselves (the working
        # copy's shrink averages it down; an enlarged photo's noise was smoothed with it), less
        # what the scale test calls a print, as on the working copy
        if noise_out > 0.0:
            noise_out = tile_noise_sd(tiles) * print_weight / 255.0
        share_full, energy_full = full_res_detail(tiles, *map(float, th["full_detail_factors"]),
                                                  noise=noise_out)
        shares, energy = np.full(len(factors), np.nan), 0.0
    else:
        shares, energy = detail_spectrum(ctx.gray, box, factors, int(th["detail_max_side"]),
                                         noise=noise_out)
    metrics = {
        "edge_blur_px": stat,
        "edge_blur_median_px": median,
        "edge_blur_worst_dir_px": worst,
        "edge_blur_best_dir_px": best_dir,
        "edge_blur_worst_half_px": half_worst,
        "edge_blur_best_half_px": half_best,
        "worst_half": float(HALVES.index(half_name)) if half_name else -1.0,  # HALVES' index
        "edge_blur_worst_band_px": band_worst,
        "edge_blur_best_band_px": band_best,
        "worst_band": float(BANDS.index(band_name)) if band_name else -1.0,  # BANDS' index
        **surface,
        "worst_dir_deg": ang,
        "n_edges_worst_dir": float(n_dir),
        # the outline's least covered band of orientations and the band across it
        "outline_cover_worst": cover,
        "outline_cover_across": cover_across,
        "outline_cover_deg": cover_deg,
        "outline_cover_points": float(cover_points),
        "n_edges": float(n),
        "detail_share": float(shares[ref_i]),
        "detail_energy": energy,
        "detail_share_full": share_full,
        "detail_energy_full": energy_full,
        # the noise sd (grey levels, at the read's resolution) whose share the detail read took out
        "detail_noise_sd": noise_out * 255.0,
        "effective_factor": 1.0,  # below, from the read that calls it upscaled, if one does
        # the noise that is judged: the read noise less what the scale test calls a print
        "noise_sd": noise_judged,
        "noise_sd_read": noise_raw,
        "noise_scale_ratio": noise_ratio,
        "jpeg_quality": jpeg_quality(ctx),
        "pixel_repeat_depth": ctx.image.repetition.depth,
        "pixel_repeat_ratio": ctx.image.repetition.ratio,
        "pixel_repeat_period": ctx.image.repetition.period,
        "pixel_repeat_grid": float(ctx.image.repetition.grid_like),
        "pixel_repeat_exact": ctx.image.repetition.exact,
        "lossless_file": float((ctx.image.format or "").upper() in LOSSLESS_FORMATS),
        "laplacian_var_product": eb.lapvar,
        "measure_scale": float(eb.scale),
        "region_fraction": eb.region_fraction,
    }
    eff = upscaled_effective_size(metrics, th, 1)
    metrics["effective_factor"] = (1.0 if eff is None else eff)
    return CheckResult(
        name=NAME, score=score_all(metrics, th), metrics=metrics,
        flags=flags(ctx, metrics, th),
        maps={MapKind.BLUR: blur_map(eb, ctx.gray.shape, float(th["sigma_good"]),
                               float(th["sigma_bad"]))},
    )
