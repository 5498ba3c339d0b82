"""Edge blur width on an object's own edges (Zhuo & Sim, "Defocus map estimation from a single
image", Pattern Recognition 44(9), 2011): the sharpness check grades it, and the search
simulation measures a product's blur with it to deblur the cut-out it shoots shoppers' photos
from. One measure, one set of settings (``segmentation.edge_blur`` in thresholds.yaml).

A step edge of contrast ``A`` blurred by a Gaussian of sigma ``s`` has a gradient peak
``A / (s sqrt(2 pi))``; blurring it again by a known ``s_r`` lowers the peak to
``A / (sqrt(s^2 + s_r^2) sqrt(2 pi))``. The ratio ``R`` of the two gradient magnitudes at the edge
gives ``s = s_r / sqrt(R^2 - 1)``, independent of the edge's contrast.

Noise adds to both gradients: with white noise of sd ``n``, ``E|grad I|^2 = |grad I_0|^2 +
k1 n^2`` and the re-blurred image's the same with ``k2 n^2`` (``k1``, ``k2``: the squared
weights of the Sobel kernel and of Sobel after the re-blur, :func:`noise_gains`; 0.375 and 0.041
at ``s_r`` = 1), so grain inflates ``R`` and makes a blurred edge read sharp (edges blurred by
1.6 px under grain of sd 5 grey levels measured 0.27 px, crisper than a sharp picture's 0.77).
Given the noise's sd, both squared gradients lose its expected share before the ratio (the
noise-power subtraction of spectral estimation, Boll, IEEE TASSP 27(2), 1979), and an edge the
noise could account for (corrected gradient under ``noise_min_snr`` noise sds) is not measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import cv2
import numpy as np

from analyzer.config import segmentation, settings_from
from analyzer.vision.mask_ops import grow


@dataclass(frozen=True)
class EdgeBlurSettings:
    """How edges are found and summarised (``segmentation.edge_blur``)."""

    canonical_long_side: int = 512  # the object's box is resampled (down only) to this
    reblur_sigma: float = 1.0       # the known re-blur, canonical px
    min_edge_contrast: float = 0.06  # gradient (grey 0..1 per px) for an edge to count ...
    min_edge_floor: float = 0.015   # ... lowered to 30% of the 99.5th pct, not below this
    mask_dilate_frac: float = 0.02  # object mask grown by this share of the long side
    min_edges: int = 50             # fewer edge pixels: not measurable
    percentile: float = 30.0        # the sharpest part decides (depth of field is not blur)
    noise_min_snr: float = 5.0      # with the noise known: an edge stands this many noise sds out

    @staticmethod
    def load() -> EdgeBlurSettings:
        """The settings in thresholds.yaml (read once); an unknown key is a typo and raises."""
        return _settings()


@cache
def _settings() -> EdgeBlurSettings:
    return settings_from(EdgeBlurSettings, segmentation("edge_blur"), "segmentation.edge_blur")


@dataclass
class EdgeBlur:
    """Per-edge blur widths of a canonical view and where they are.

    ``sigma``: blur width (Gaussian sigma, canonical px) of each edge pixel; ``ys``/``xs``: their
    coordinates in the canonical view; ``scale``: canonical px per working px; ``box``: the
    working-size region (x0, y0, x1, y1) the view was cut from.
    """

    sigma: np.ndarray
    ys: np.ndarray
    xs: np.ndarray
    theta: np.ndarray  # each edge's normal direction (gradient angle), radians in [0, pi)
    shape: tuple[int, int]
    scale: float
    box: tuple[int, int, int, int]
    region_fraction: float
    lapvar: float
    # blur widths of the edges more than ``inside_px`` inside the region's outline, found with
    # their own contrast floor (:func:`measure_edge_blur`); empty unless asked for
    inside_sigma: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    # ... their normals and where they are (as ``theta``, ``ys``, ``xs``)
    inside_theta: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    inside_ys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    inside_xs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # for each edge of the whole view (``sigma``): whether it is the outline's own, within
    # ``inside_px`` of the outline (or in the margin outside it) and running along it; empty
    # unless the surface was read
    on_outline: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # the surface's contrast floor (grey 0..1 per px): how strong its strongest edges are
    inside_floor: float = 0.0
    # the outline's coverage by the edges read (:func:`outline_coverage`), per orientation
    # sector of its normal (``COVER_SECTORS`` of 180 / COVER_SECTORS deg): the outline points
    # with contrast across them, and how many of those lie on an edge; empty unless the surface
    # was read
    cover_points: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cover_hits: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def _grads(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel derivatives (x, y) normalised to grey levels per pixel."""
    return (cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3) / 8.0,
            cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3) / 8.0)


@cache
def noise_gains(reblur_sigma: float) -> tuple[float, float]:
    """(k1, k2): the expected squared gradient magnitude (:func:`_grads`, both directions) of
    white noise of unit sd, as it is and after the re-blur: the kernels' summed squared weights,
    read off their response to one impulse."""
    imp = np.zeros((41, 41), np.float32)
    imp[20, 20] = 1.0

    def gain(img: np.ndarray) -> float:
        gx, gy = _grads(img)
        return float((gx * gx).sum() + (gy * gy).sum())

    return gain(imp), gain(cv2.GaussianBlur(imp, (0, 0), reblur_sigma))


def measure_edge_blur(gray: np.ndarray, region: np.ndarray, box: tuple[int, int, int, int],
                      canonical_long_side: int = 512, reblur_sigma: float = 1.0,
                      min_edge_contrast: float = 0.06,
                      min_edge_floor: float = 0.015, grow_px: float = 0.0,
                      noise: float = 0.0, noise_min_snr: float = 5.0,
                      inside_px: float = 0.0) -> EdgeBlur:
    """Edge blur widths (Zhuo & Sim 2011) of ``gray`` (float 0..1) inside ``region``.

    The box is cut out and shrunk so its long side is at most ``canonical_long_side``; the
    region is then grown by ``grow_px`` working px (at the canonical scale, which is cheaper).
    Gradients are Sobel derivatives normalised to grey levels per pixel. ``noise``: the sd of
    the image's white noise (grey 0..1, at ``gray``'s size) whose share the ratio leaves out
    (module docstring); 0 leaves the gradients as they are.

    ``inside_px`` > 0 also reads the edges more than that many canonical px inside the region's
    outline (before it is grown), with a contrast floor of their own: 30% of *their* 99.5th
    percentile gradient (not below ``min_edge_floor``). A product cut out of a blurred photo by
    an app and laid on white keeps an outline as crisp as the cut, the strongest edges of the
    view, which set the floor and, being many, the percentile: its blurred surface's weak edges
    fall under that floor, and what is left reads sharp. Read on its own, the surface shows the
    blur (``EdgeBlur.inside_sigma``). The outline's own edges are marked too
    (``EdgeBlur.on_outline``: within ``inside_px`` of it or outside it, their normal within
    ``OUTLINE_DEG`` of the outline's, read off the gradient of the signed distance to it), so a
    cut's outline can be read apart from the surface it bounds.
    """
    x0, y0, x1, y1 = box
    crop = gray[y0:y1, x0:x1]
    reg = region[y0:y1, x0:x1]
    s = min(1.0, canonical_long_side / max(crop.shape))
    if s < 1.0:
        size = (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        reg = cv2.resize(reg.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    inside = signed = None
    if inside_px > 0.0 and reg.any() and not reg.all():
        # distance to the outline, at the canonical scale, before the outline margin is added
        r8 = reg.astype(np.uint8)
        d_in = cv2.distanceTransform(r8, cv2.DIST_L2, 3)
        inside = d_in > inside_px
        signed = d_in - cv2.distanceTransform(1 - r8, cv2.DIST_L2, 3)
    reg = grow(reg, grow_px * s)
    crop = crop.astype(np.float32)
    gx, gy = _grads(crop)
    m1 = cv2.magnitude(gx, gy)
    m2 = cv2.magnitude(*_grads(cv2.GaussianBlur(crop, (0, 0), reblur_sigma)))
    u8 = np.clip(crop * 255.0, 0, 255).astype(np.uint8)
    canny: dict[float, np.ndarray] = {}  # by threshold: the surface's floor is often the same
    n2 = (noise * s) ** 2  # the shrink averages 1 / s^2 pixels: the noise's sd falls by s
    ys, xs, sigma, _ = _edge_widths(u8, m1, m2, reg, min_edge_contrast, min_edge_floor,
                                    reblur_sigma, n2, noise_min_snr, canny)
    inside_floor = 0.0
    inside_sigma = inside_theta = np.zeros(0, np.float32)
    iys = ixs = np.zeros(0, np.int64)
    on_outline = np.zeros(0, bool)
    if inside is not None and inside.any():
        iys, ixs, inside_sigma, inside_floor = _edge_widths(
            u8, m1, m2, inside, min_edge_contrast, min_edge_floor, reblur_sigma, n2,
            noise_min_snr, canny)
        inside_theta = _angle(gx, gy, iys, ixs)
    theta = _angle(gx, gy, ys, xs)
    if signed is not None and len(inside_sigma):
        # the outline's own edges: near it and running along it (normal within OUTLINE_DEG of
        # the outline's, the signed distance's gradient by central differences at those edges
        # only), not the print or seams that reach it across
        near = np.flatnonzero(~inside[ys, xs])
        y, x = ys[near], xs[near]
        h, w = signed.shape
        dx = signed[y, np.minimum(x + 1, w - 1)] - signed[y, np.maximum(x - 1, 0)]
        dy = signed[np.minimum(y + 1, h - 1), x] - signed[np.maximum(y - 1, 0), x]
        off = np.abs(theta[near] - np.mod(np.arctan2(dy, dx), np.pi).astype(np.float32))
        off = np.minimum(off, np.float32(np.pi) - off)
        on_outline = np.zeros(len(ys), bool)
        on_outline[near] = off <= np.float32(np.deg2rad(OUTLINE_DEG))
    lap = cv2.Laplacian(crop, cv2.CV_32F)
    lapvar = float(lap[reg].var()) if reg.any() else 0.0
    frac = float(reg.sum() / max(s * s, 1e-9) / region.size)
    points = hits = np.zeros(0, np.int64)
    if signed is not None:
        points, hits = outline_coverage(crop, signed, ys, xs)
    return EdgeBlur(sigma=sigma, ys=ys, xs=xs, theta=theta, shape=crop.shape, scale=s, box=box,
                    region_fraction=frac, lapvar=lapvar, inside_sigma=inside_sigma,
                    inside_theta=inside_theta, inside_ys=iys, inside_xs=ixs,
                    on_outline=on_outline, inside_floor=inside_floor, cover_points=points,
                    cover_hits=hits)


# Outline coverage (outline_coverage): sectors of the outline's normal over 180 deg, how far
# (canonical px) either side of the outline its contrast is read, the contrast (grey 0..1) an
# outline point needs to count, and how near (px, a square) an edge must be to cover it.
COVER_SECTORS = 6
COVER_PROBE_PX = 8.0
COVER_MIN_CONTRAST = 0.08
COVER_NEAR_PX = 2


def outline_coverage(crop: np.ndarray, signed: np.ndarray, ys: np.ndarray, xs: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(points, hits) per sector of the outline's normal direction: the outline points (the
    region's own boundary pixels, ``signed`` = distance inside minus outside, the view's edge
    left out) with a contrast of ``COVER_MIN_CONTRAST`` or more across the outline (the grey
    ``crop`` ``COVER_PROBE_PX`` either side along the normal), and how many of them lie within
    ``COVER_NEAR_PX`` of an edge the measure reads (``ys``, ``xs``).

    A motion smear of length L spreads an edge whose normal runs along it into a ramp of
    gradient contrast / L: past a few px it falls under the contrast floor and the edge is no
    longer read at all, so the edges left to measure are the crisp ones across the motion and
    the photo reads sharp (a bottle smeared 25-40 px up and down graded A, sharpness 100, in a
    thirteenth new user's try, where 9-15 px were caught). The outline itself is still there
    (the product against its backdrop, as the mask sees it): along the motion it has contrast
    but no edge."""
    h, w = signed.shape
    inner = signed > 0
    bnd = inner & (cv2.erode(inner.astype(np.uint8), np.ones((3, 3), np.uint8)) == 0)
    bnd[[0, -1], :] = False  # the view's own edge is not the outline
    bnd[:, [0, -1]] = False
    by, bx = np.nonzero(bnd)
    zero = np.zeros(COVER_SECTORS, np.int64)
    if len(by) == 0 or len(ys) == 0:
        return zero, zero
    sd = cv2.GaussianBlur(signed.astype(np.float32), (0, 0), 2.0)  # a smooth normal
    nx = cv2.Sobel(sd, cv2.CV_32F, 1, 0, ksize=3)[by, bx]
    ny = cv2.Sobel(sd, cv2.CV_32F, 0, 1, ksize=3)[by, bx]
    nn = np.hypot(nx, ny)
    ok = nn > 1e-6
    by, bx, nx, ny = by[ok], bx[ok], nx[ok] / nn[ok], ny[ok] / nn[ok]
    d = np.float32(COVER_PROBE_PX)
    px = np.concatenate([bx + d * nx, bx - d * nx]).astype(np.float32).reshape(1, -1)
    py = np.concatenate([by + d * ny, by - d * ny]).astype(np.float32).reshape(1, -1)
    g = cv2.remap(crop, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).ravel()
    contrast = np.abs(g[: len(by)] - g[len(by):]) >= COVER_MIN_CONTRAST
    edges = np.zeros((h, w), np.uint8)
    edges[ys, xs] = 1
    k = 2 * COVER_NEAR_PX + 1
    near = cv2.dilate(edges, np.ones((k, k), np.uint8))[by, bx] > 0
    sector = np.minimum((np.mod(np.arctan2(ny, nx), np.pi) * (COVER_SECTORS / np.pi))
                        .astype(np.int64), COVER_SECTORS - 1)
    points = np.bincount(sector[contrast], minlength=COVER_SECTORS)
    hits = np.bincount(sector[contrast & near], minlength=COVER_SECTORS)
    return points.astype(np.int64), hits.astype(np.int64)


# How far (degrees) an edge's normal may turn from the outline's to count as the outline's.
OUTLINE_DEG = 30.0


def _angle(gx: np.ndarray, gy: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Each edge's normal direction (the gradient's angle), radians in [0, pi)."""
    return np.mod(np.arctan2(gy[ys, xs], gx[ys, xs]), np.pi).astype(np.float32)


def _edge_widths(u8: np.ndarray, m1: np.ndarray, m2: np.ndarray, reg: np.ndarray,
                 min_edge_contrast: float, min_edge_floor: float, reblur_sigma: float,
                 n2: float, noise_min_snr: float, canny: dict[float, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(ys, xs, sigma, floor)`` of the Canny edges in ``reg`` with enough contrast (gradient
    ``floor`` or more): gradient ``m1`` and its re-blurred ``m2``, ``n2`` the noise's variance
    at this scale (0: none); ``canny`` keeps the edge maps already found, by threshold."""
    # A strong blur flattens every edge below a fixed contrast threshold, which would leave a
    # very blurry photo "unmeasurable": the threshold follows the region's strongest gradients.
    n = int(np.count_nonzero(reg))
    # The 99.5th percentile interpolates from its lower order statistic, the lo-th smallest: at
    # least n - lo values at or above min_edge_contrast / 0.3 put it there, and the threshold
    # stays as it is without sorting (most studio photos; the same result).
    if n:
        lo = int(np.floor(0.995 * (n - 1)))
        if np.count_nonzero(reg & (m1 >= min_edge_contrast / 0.3 * (1 + 1e-6))) < n - lo:
            min_edge_contrast = min(min_edge_contrast, 0.3 * float(np.percentile(m1[reg], 99.5)))
        min_edge_contrast = max(min_edge_floor, min_edge_contrast)
    # Canny's magnitude is the L1 norm of the unnormalised Sobel (8x a per-pixel derivative):
    # thresholds follow min_edge_contrast so low-contrast products keep their edges.
    hi = 8.0 * 255.0 * min_edge_contrast
    if hi not in canny:
        canny[hi] = cv2.Canny(u8, hi / 2, hi) > 0
    sel = canny[hi] & reg & (m1 >= min_edge_contrast)
    ys, xs = np.nonzero(sel)
    if n2 > 0.0:
        k1, k2 = noise_gains(reblur_sigma)
        p1 = m1[ys, xs] ** 2 - k1 * n2
        keep = p1 >= (noise_min_snr ** 2) * k1 * n2
        ys, xs = ys[keep], xs[keep]
        # a re-blurred gradient under the noise's own (a few edges in thousands, at grain of sd
        # 4-10) reads as a sharp edge: the side that never calls a photo blurry
        r = np.sqrt(p1[keep] / np.maximum(m2[ys, xs] ** 2 - k2 * n2, 1e-12))
    else:
        r = m1[ys, xs] / np.maximum(m2[ys, xs], 1e-6)
    sigma = reblur_sigma / np.sqrt(np.maximum(r * r - 1.0, 1e-6))
    return ys, xs, np.minimum(sigma, 10.0).astype(np.float32), min_edge_contrast


def edge_blur_sigma(rgb: np.ndarray, alpha: np.ndarray,
                    cfg: EdgeBlurSettings | None = None) -> float | None:
    """An object's edge blur width (Gaussian sigma, px at this size) over the whole frame, its
    outline included; None when there are too few edges to tell."""
    cfg = cfg or EdgeBlurSettings.load()
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    h, w = alpha.shape
    eb = measure_edge_blur(gray, alpha >= 0.5, (0, 0, w, h), max(h, w), cfg.reblur_sigma,
                           cfg.min_edge_contrast, cfg.min_edge_floor,
                           grow_px=cfg.mask_dilate_frac * max(h, w))
    if len(eb.sigma) < cfg.min_edges:
        return None
    return float(np.percentile(eb.sigma, cfg.percentile))
